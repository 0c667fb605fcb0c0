/* hashmap.c: linear probing with backward-shift deletion. */
#include "config.h"

#include "hashmap.h"

#include <stdlib.h>

#include "util.h"

void
hashmap_init(struct hashmap *h)
{
	h->keys = NULL;
	h->values = NULL;
	h->cap = h->n = 0;
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
	bigger.keys = xcalloc(bigger.cap, sizeof *bigger.keys);
	bigger.values = xcalloc(bigger.cap, sizeof *bigger.values);
	for (size_t i = 0; i < h->cap; i++)
		if (h->keys[i] != 0)
			hashmap_put(&bigger, h->keys[i] - 1, h->values[i]);
	free(h->keys);
	free(h->values);
	*h = bigger;
}

void
hashmap_put(struct hashmap *h, uint64_t key, void *value)
{
	size_t i;

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
	return false;
}
