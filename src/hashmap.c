/* hashmap.c: linear probing with backward-shift deletion. */
#include "config.h"

#include "hashmap.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void
hashmap_init(struct hashmap *h)
{
	h->keys = NULL;
	h->values = NULL;
	h->cap = h->n = 0;
	h->has_max = false;
	h->max_value = NULL;
}

void
hashmap_release(struct hashmap *h)
{
	free(h->keys);
	free(h->values);
	hashmap_init(h);
}

static size_t
slot_of(const struct hashmap *h, uint64_t key)
{
	return (size_t)hash_mix(key) & (h->cap - 1);
}

void *
hashmap_get(const struct hashmap *h, uint64_t key)
{
	size_t i;

	if (key == UINT64_MAX)
		return h->has_max ? h->max_value : NULL;
	if (h->cap == 0)
		return NULL;
	for (i = slot_of(h, key); h->keys[i] != 0; i = (i + 1) & (h->cap - 1))
		if (h->keys[i] == key + 1)
			return h->values[i];
	return NULL;
}

static void
grow(struct hashmap *h)
{
	struct hashmap bigger;

	bigger.cap = h->cap ? h->cap * 2 : 64;
	bigger.n = 0;
	bigger.has_max = false;
	bigger.keys = xcalloc(bigger.cap, sizeof *bigger.keys);
	bigger.values = xcalloc(bigger.cap, sizeof *bigger.values);
	for (size_t i = 0; i < h->cap; i++)
		if (h->keys[i] != 0)
			hashmap_put(&bigger, h->keys[i] - 1, h->values[i]);
	bigger.n += h->has_max;
	bigger.has_max = h->has_max;
	bigger.max_value = h->max_value;
	free(h->keys);
	free(h->values);
	*h = bigger;
}

void
hashmap_put(struct hashmap *h, uint64_t key, void *value)
{
	size_t i;

	if (key == UINT64_MAX) {
		h->n += !h->has_max;
		h->has_max = true;
		h->max_value = value;
		return;
	}
	if ((h->n + 1) * 4 > h->cap * 3)
		grow(h);
	for (i = slot_of(h, key); h->keys[i] != 0; i = (i + 1) & (h->cap - 1)) {
		if (h->keys[i] == key + 1) {
			h->values[i] = value;
			return;
		}
	}
	h->keys[i] = key + 1;
	h->values[i] = value;
	h->n++;
}

void *
hashmap_remove(struct hashmap *h, uint64_t key)
{
	size_t i, j, mask = h->cap - 1;
	void *value;

	if (key == UINT64_MAX) {
		value = h->has_max ? h->max_value : NULL;
		h->n -= h->has_max;
		h->has_max = false;
		h->max_value = NULL;
		return value;
	}
	if (h->cap == 0)
		return NULL;
	for (i = slot_of(h, key); h->keys[i] != key + 1; i = (i + 1) & mask)
		if (h->keys[i] == 0)
			return NULL;
	value = h->values[i];
	/* Shift later members of the probe run back so lookups still find them. */
	for (j = (i + 1) & mask; h->keys[j] != 0; j = (j + 1) & mask) {
		size_t home = slot_of(h, h->keys[j] - 1);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			h->keys[i] = h->keys[j];
			h->values[i] = h->values[j];
			i = j;
		}
	}
	h->keys[i] = 0;
	h->values[i] = NULL;
	h->n--;
	return value;
}

bool
hashmap_next(const struct hashmap *h, size_t *iter, uint64_t *key, void **value)
{
	while (*iter < h->cap) {
		size_t i = (*iter)++;

		if (h->keys[i] != 0) {
			if (key != NULL)
				*key = h->keys[i] - 1;
			if (value != NULL)
				*value = h->values[i];
			return true;
		}
	}
	/* The largest key comes last, at iter == cap. */
	if (*iter == h->cap && h->has_max) {
		(*iter)++;
		if (key != NULL)
			*key = UINT64_MAX;
		if (value != NULL)
			*value = h->max_value;
		return true;
	}
	return false;
}

uint64_t
hash_bytes(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *b = data;
	uint64_t h = 1469598103934665603ull ^ seed;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return hash_mix(h);
}

void
strset_init(struct strset *t)
{
	memset(t, 0, sizeof *t);
	hashmap_init(&t->index);
}

void
strset_release(struct strset *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->strs[i]);
	free(t->strs);
	hashmap_release(&t->index);
	memset(t, 0, sizeof *t);
}

/* The probe for s: stops at its slot, or at the free hash where it goes. */
static uint64_t
strset_probe(const struct strset *t, const char *s, void **found)
{
	uint64_t h = hash_bytes(s, strlen(s), 0);

	for (;; h = hash_mix(h + 1)) {
		*found = hashmap_get(&t->index, h);
		if (*found == NULL || strcmp(t->strs[(uintptr_t)*found - 1], s) == 0)
			return h;
	}
}

size_t
strset_add(struct strset *t, const char *s, bool *added)
{
	void *v;
	uint64_t h = strset_probe(t, s, &v);

	if (added != NULL)
		*added = v == NULL;
	if (v != NULL)
		return (size_t)(uintptr_t)v - 1;
	GROW(t->strs, t->cap, t->n + 1);
	t->strs[t->n++] = xstrdup(s);
	hashmap_put(&t->index, h, (void *)(uintptr_t)t->n);
	return t->n - 1;
}

long
strset_find(const struct strset *t, const char *s)
{
	void *v;

	strset_probe(t, s, &v);
	return v != NULL ? (long)(uintptr_t)v - 1 : -1;
}
