/* unit-hashmap: the hashmap and the string set against a plain reference
 * (an array searched linearly), through growth, deletion and every kind
 * of key: 0, 1, UINT64_MAX and its neighbours, keys that share a slot. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "hashmap.h"
#include "unit.h"

struct ref {
	uint64_t *keys;
	uintptr_t *values;
	size_t n, cap;
};

static long
ref_find(const struct ref *r, uint64_t key)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->keys[i] == key)
			return (long)i;
	return -1;
}

static void
ref_put(struct ref *r, uint64_t key, uintptr_t value)
{
	long i = ref_find(r, key);

	if (i >= 0) {
		r->values[i] = value;
		return;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->keys = realloc(r->keys, r->cap * sizeof *r->keys);
		r->values = realloc(r->values, r->cap * sizeof *r->values);
		if (r->keys == NULL || r->values == NULL)
			abort();
	}
	r->keys[r->n] = key;
	r->values[r->n++] = value;
}

static uintptr_t
ref_remove(struct ref *r, uint64_t key)
{
	long i = ref_find(r, key);
	uintptr_t v;

	if (i < 0)
		return 0;
	v = r->values[i];
	r->keys[i] = r->keys[r->n - 1];
	r->values[i] = r->values[r->n - 1];
	r->n--;
	return v;
}

/* The map holds exactly what the reference holds. */
static void
same(const struct hashmap *h, const struct ref *r, const char *when)
{
	size_t seen = 0;
	uint64_t k;
	void *v;

	CHECK(h->n == r->n, "%s: %zu keys in the map, %zu in the reference", when, h->n, r->n);
	for (size_t i = 0; i < r->n; i++) {
		void *got = hashmap_get(h, r->keys[i]);

		CHECK((uintptr_t)got == r->values[i], "%s: key %#llx gives %p, not %#lx", when,
		      (unsigned long long)r->keys[i], got, (unsigned long)r->values[i]);
	}
	for (size_t it = 0; hashmap_next(h, &it, &k, &v);) {
		long i = ref_find(r, k);

		seen++;
		CHECK(i >= 0 && r->values[i] == (uintptr_t)v, "%s: iteration gives key %#llx, value %p",
		      when, (unsigned long long)k, v);
	}
	CHECK(seen == r->n, "%s: iteration visits %zu keys of %zu", when, seen, r->n);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
next_random(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

/* A key from a small pool, so that puts replace and removes hit: the
 * extremes, small numbers, and random wide ones. */
static uint64_t
pool_key(void)
{
	static const uint64_t extremes[] = { 0, 1, 2, UINT64_MAX, UINT64_MAX - 1,
					     UINT64_MAX - 2, 1ull << 63, (1ull << 63) - 1,
					     0xffffffffull, 0x100000000ull };
	uint64_t r = next_random();

	switch (r % 4) {
	case 0:
		return extremes[(r >> 8) % (sizeof extremes / sizeof *extremes)];
	case 1:
		return (r >> 8) % 512;
	default:
		return hash_mix((r >> 8) % 3000);
	}
}

static void
test_extremes(void)
{
	struct hashmap h;
	static int a, b, c;

	hashmap_init(&h);
	CHECK(hashmap_get(&h, 0) == NULL && hashmap_get(&h, UINT64_MAX) == NULL, "empty map");
	CHECK(hashmap_remove(&h, UINT64_MAX) == NULL && h.n == 0, "remove from an empty map");
	hashmap_put(&h, UINT64_MAX, &a);
	hashmap_put(&h, 0, &b);
	hashmap_put(&h, UINT64_MAX - 1, &c);
	CHECK(h.n == 3, "three keys, %zu counted", h.n);
	CHECK(hashmap_get(&h, UINT64_MAX) == &a, "UINT64_MAX");
	CHECK(hashmap_get(&h, 0) == &b, "0");
	CHECK(hashmap_get(&h, UINT64_MAX - 1) == &c, "UINT64_MAX - 1");
	hashmap_put(&h, UINT64_MAX, &c);
	CHECK(h.n == 3 && hashmap_get(&h, UINT64_MAX) == &c, "UINT64_MAX replaced");
	CHECK(hashmap_remove(&h, UINT64_MAX) == &c && h.n == 2, "UINT64_MAX removed");
	CHECK(hashmap_get(&h, UINT64_MAX) == NULL, "UINT64_MAX gone");
	CHECK(hashmap_get(&h, 0) == &b && hashmap_get(&h, UINT64_MAX - 1) == &c, "others kept");
	hashmap_release(&h);
	CHECK(h.n == 0 && hashmap_get(&h, 0) == NULL, "released");
}

/* Many keys in one probe run: keys whose mixes land in the same slot of a
 * 64-slot table, then removed from the middle of the run. */
static void
test_collisions(void)
{
	struct hashmap h;
	struct ref r = { 0 };
	uint64_t keys[40];
	size_t n = 0;

	for (uint64_t k = 0; n < 40; k++)
		if ((hash_mix(k) & 63) == 5)
			keys[n++] = k;
	hashmap_init(&h);
	for (size_t i = 0; i < n; i++) {
		hashmap_put(&h, keys[i], (void *)(uintptr_t)(i + 1));
		ref_put(&r, keys[i], i + 1);
	}
	same(&h, &r, "one probe run");
	for (size_t i = 0; i < n; i += 3) {
		CHECK((uintptr_t)hashmap_remove(&h, keys[i]) == ref_remove(&r, keys[i]),
		      "removing key %zu of the run", i);
		same(&h, &r, "after a removal inside the run");
	}
	hashmap_release(&h);
	free(r.keys);
	free(r.values);
}

static void
test_random(void)
{
	struct hashmap h;
	struct ref r = { 0 };

	hashmap_init(&h);
	for (int round = 0; round < 60000; round++) {
		uint64_t key = pool_key(), op = next_random() % 10;

		if (op < 6) {
			uintptr_t v = (uintptr_t)(round + 1);

			hashmap_put(&h, key, (void *)v);
			ref_put(&r, key, v);
		} else if (op < 9) {
			uintptr_t want = ref_remove(&r, key);
			uintptr_t got = (uintptr_t)hashmap_remove(&h, key);

			CHECK(got == want, "remove %#llx gave %#lx, not %#lx", (unsigned long long)key,
			      (unsigned long)got, (unsigned long)want);
		} else {
			long i = ref_find(&r, key);
			uintptr_t got = (uintptr_t)hashmap_get(&h, key);

			CHECK(got == (i >= 0 ? r.values[i] : 0), "get %#llx", (unsigned long long)key);
		}
		if (round % 5000 == 0)
			same(&h, &r, "random operations");
		if (unit_failed > 20)
			break;
	}
	same(&h, &r, "after the random operations");
	hashmap_release(&h);
	free(r.keys);
	free(r.values);
}

/* Growth: 100,000 keys (the reference is the arithmetic that made them),
 * all there once grown; every other one removed, the rest still there;
 * then none. */
static void
test_growth(void)
{
	struct hashmap h;
	const uint64_t n = 100000, step = 0x9e3779b97f4a7c15ull;

	hashmap_init(&h);
	for (uint64_t k = 0; k < n; k++)
		hashmap_put(&h, k * step, (void *)(uintptr_t)(k + 7));
	CHECK(h.n == n, "after growth: %zu keys of %llu", h.n, (unsigned long long)n);
	CHECK(h.cap * 3 >= h.n * 4 && (h.cap & (h.cap - 1)) == 0, "capacity %zu for %zu keys", h.cap, h.n);
	for (uint64_t k = 0; k < n && unit_failed < 20; k++)
		CHECK((uintptr_t)hashmap_get(&h, k * step) == k + 7, "grown key %llu", (unsigned long long)k);
	CHECK(hashmap_get(&h, n * step) == NULL, "a key never put");
	for (uint64_t k = 0; k < n && unit_failed < 20; k += 2)
		CHECK((uintptr_t)hashmap_remove(&h, k * step) == k + 7, "removing %llu", (unsigned long long)k);
	for (uint64_t k = 1; k < n && unit_failed < 20; k += 2)
		CHECK((uintptr_t)hashmap_get(&h, k * step) == k + 7, "odd key %llu kept", (unsigned long long)k);
	for (uint64_t k = 1; k < n && unit_failed < 20; k += 2)
		CHECK((uintptr_t)hashmap_remove(&h, k * step) == k + 7, "removing %llu", (unsigned long long)k);
	CHECK(h.n == 0, "%zu keys left after removing all", h.n);
	for (size_t it = 0; hashmap_next(&h, &it, NULL, NULL);)
		CHECK(0, "a key is left to iterate");
	hashmap_release(&h);
}

static void
test_strset(void)
{
	struct strset t;
	char buf[32];
	bool added;

	strset_init(&t);
	CHECK(strset_add(&t, "", &added) == 0 && added, "the empty string");
	CHECK(strset_add(&t, "main", &added) == 1 && added, "a new string");
	CHECK(strset_add(&t, "main", &added) == 1 && !added, "the same string again");
	CHECK(strset_find(&t, "mai") == -1 && strset_find(&t, "main") == 1, "find");
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof buf, "f%d", i);
		CHECK(strset_add(&t, buf, NULL) == (size_t)i + 2, "string %d", i);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof buf, "f%d", i);
		CHECK(strset_find(&t, buf) == i + 2 && strcmp(t.strs[i + 2], buf) == 0, "string %d kept", i);
	}
	CHECK(t.n == 5002, "%zu strings", t.n);
	strset_release(&t);
}

int
main(void)
{
	test_extremes();
	test_collisions();
	test_random();
	test_growth();
	test_strset();
	return unit_exit("unit-hashmap");
}
