/* hashmap.h: an open-addressing map from 64-bit keys to pointers.
 *
 * The map does not own its values. Any key may be used, 0 included. */
#ifndef SIPROF_HASHMAP_H
#define SIPROF_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashmap {
	uint64_t *keys;   /* key + 1; 0 marks an empty slot */
	void **values;
	size_t cap;       /* power of two */
	size_t n;         /* keys stored, the largest key included */
	bool has_max;     /* UINT64_MAX, whose key + 1 would be 0, is kept here */
	void *max_value;
};

void hashmap_init(struct hashmap *h);
void hashmap_release(struct hashmap *h);
/* The value stored for key, or NULL. */
void *hashmap_get(const struct hashmap *h, uint64_t key);
/* Store value for key, replacing any earlier value. */
void hashmap_put(struct hashmap *h, uint64_t key, void *value);
/* Remove key; returns its value or NULL. */
void *hashmap_remove(struct hashmap *h, uint64_t key);

/* Iterate: for (size_t i = 0; hashmap_next(h, &i, &k, &v);) */
bool hashmap_next(const struct hashmap *h, size_t *iter, uint64_t *key, void **value);

/* A 64-bit mix for building keys from several fields. */
static inline uint64_t
hash_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* A hash of n bytes (FNV-1a, mixed). */
uint64_t hash_bytes(const void *data, size_t n, uint64_t seed);

/* A set of strings, each with a dense id (0, 1, ... in order of first
 * appearance), owning copies of them. */
struct strset {
	struct hashmap index; /* hash (probed on collision) -> id + 1 */
	char **strs;
	size_t n, cap;
};

void strset_init(struct strset *t);
void strset_release(struct strset *t);
/* The id of s, adding a copy when it is new (*added says so; may be NULL). */
size_t strset_add(struct strset *t, const char *s, bool *added);
/* The id of s, or -1 when it is not in the set. */
long strset_find(const struct strset *t, const char *s);

#endif
