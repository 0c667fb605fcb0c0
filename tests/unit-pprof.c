/* unit-pprof: the protobuf writer against the bytes of the protobuf
 * encoding spec (protobuf.dev/programming-guides/encoding: 150 as field 1
 * is 08 96 01, "testing" as field 2 is 12 07 74 65 73 74 69 6e 67, ...),
 * and a whole profile from pprof_encode, inflated by zlib and read back by
 * the small reader below (itself checked against the same spec bytes
 * first): the string table, sample types and units per profile type, the
 * default sample type, every sample's values and its locations, functions
 * and inlined lines; a sample type per class in one profile, each sample's
 * class and thread labels, and the program's module as mapping 1 whatever
 * order the modules were met in. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "analyze.h"
#include "export-pprof.h"
#include "profile.h"
#include "ptypes.h"
#include "util.h"
#include "unit.h"


static void
check_bytes(struct pb *b, const unsigned char *want, size_t n, const char *what)
{
	bool same = b->len == n && memcmp(b->buf, want, n) == 0;

	if (!same) {
		fprintf(stderr, "unit-pprof: %s: got", what);
		for (size_t i = 0; i < b->len; i++)
			fprintf(stderr, " %02x", b->buf[i]);
		fprintf(stderr, ", want");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %02x", want[i]);
		fputc('\n', stderr);
		unit_failed++;
	}
	b->len = 0;
}
#define BYTES(b, what, ...)                                                          \
	do {                                                                         \
		static const unsigned char w_[] = { __VA_ARGS__ };                   \
		check_bytes((b), w_, sizeof w_, (what));                             \
	} while (0)

/* ---- a reader: the wire format as the spec describes it ---- */

struct field {
	unsigned num, wire;
	uint64_t v;              /* varint */
	const unsigned char *p;  /* length-delimited */
	size_t n;
};

static bool
rd_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; *p < end && shift < 70; shift += 7) {
		unsigned char c = *(*p)++;

		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return true;
	}
	return false;
}

/* The next field of [*p, end); false at the end or on a malformed field
 * (then *bad is set). */
static bool
rd_field(const unsigned char **p, const unsigned char *end, struct field *f, bool *bad)
{
	uint64_t tag;

	if (*p == end)
		return false;
	if (!rd_varint(p, end, &tag)) {
		*bad = true;
		return false;
	}
	f->num = (unsigned)(tag >> 3);
	f->wire = tag & 7;
	if (f->wire == 0)
		return rd_varint(p, end, &f->v) || (*bad = true, false);
	if (f->wire == 2 && rd_varint(p, end, &f->v) && f->v <= (uint64_t)(end - *p)) {
		f->p = *p;
		f->n = (size_t)f->v;
		*p += f->n;
		return true;
	}
	*bad = true;
	return false;
}

static void
test_reader(void)
{
	/* The spec's Test1 { a: 150 } and Test2 { b: "testing" }. */
	static const unsigned char t1[] = { 0x08, 0x96, 0x01 };
	static const unsigned char t2[] = { 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g' };
	static const unsigned char cut[] = { 0x12, 0x07, 't', 'e' };
	const unsigned char *p = t1;
	struct field f;
	bool bad = false;

	CHECK(rd_field(&p, t1 + sizeof t1, &f, &bad) && f.num == 1 && f.wire == 0 && f.v == 150,
	      "the reader does not read the spec's Test1");
	p = t2;
	CHECK(rd_field(&p, t2 + sizeof t2, &f, &bad) && f.num == 2 && f.wire == 2 && f.n == 7 &&
		      memcmp(f.p, "testing", 7) == 0 && !rd_field(&p, t2 + sizeof t2, &f, &bad) && !bad,
	      "the reader does not read the spec's Test2");
	p = cut;
	CHECK(!rd_field(&p, cut + sizeof cut, &f, &bad) && bad, "the reader takes a cut field");
}

/* ---- the writer ---- */

static void
test_writer(void)
{
	struct pb b = { 0 }, sub = { 0 };
	static const uint64_t packed[] = { 3, 270, 86942 };

	pb_varint(&b, 0);
	BYTES(&b, "varint 0", 0x00);
	pb_varint(&b, 1);
	BYTES(&b, "varint 1", 0x01);
	pb_varint(&b, 127);
	BYTES(&b, "varint 127", 0x7f);
	pb_varint(&b, 128);
	BYTES(&b, "varint 128", 0x80, 0x01);
	pb_varint(&b, 150);
	BYTES(&b, "varint 150 (the spec's)", 0x96, 0x01);
	pb_varint(&b, 300);
	BYTES(&b, "varint 300", 0xac, 0x02);
	pb_varint(&b, UINT64_MAX);
	BYTES(&b, "varint 2^64-1", 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	pb_varint(&b, (uint64_t)1 << 63);
	BYTES(&b, "varint 2^63", 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01);

	pb_uint(&b, 1, 150);
	BYTES(&b, "the spec's Test1 { a: 150 }", 0x08, 0x96, 0x01);
	pb_uint(&b, 1, 0);
	CHECK(b.len == 0, "a zero varint field is written (proto3 leaves defaults out)");
	pb_uint(&b, 16, 1);
	BYTES(&b, "field 16: a two-byte tag", 0x80, 0x01, 0x01);
	pb_int(&b, 1, -1);
	BYTES(&b, "int64 -1: ten bytes", 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	pb_int(&b, 1, -2);
	BYTES(&b, "int64 -2", 0x08, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);

	pb_bytes(&b, 2, "testing", 7);
	BYTES(&b, "the spec's Test2 { b: \"testing\" }", 0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69,
	      0x6e, 0x67);
	pb_bytes(&b, 6, "", 0);
	BYTES(&b, "an empty string is written", 0x32, 0x00);

	pb_uint(&sub, 1, 150);
	pb_msg(&b, 3, &sub);
	BYTES(&b, "the spec's Test3 { c: { a: 150 } }", 0x1a, 0x03, 0x08, 0x96, 0x01);
	CHECK(sub.len == 0, "pb_msg leaves the nested message in place");

	pb_packed(&b, 6, packed, 3);
	BYTES(&b, "the spec's Test5 { f: [3, 270, 86942] } packed", 0x32, 0x06, 0x03, 0x8e, 0x02,
	      0x9e, 0xa7, 0x05);
	pb_packed(&b, 6, packed, 0);
	CHECK(b.len == 0, "an empty packed field is written");
	free(b.buf);
	free(sub.buf);
}

/* ---- a whole profile ---- */

#define MAX_STRS 256

struct decoded {
	const char *strs[MAX_STRS];
	size_t n_strs[MAX_STRS], n_str;
	int64_t sample_type[4][2]; /* string ids: type, unit */
	size_t n_sample_types;
	int64_t default_type, period_type[2];
	uint64_t sums[4];          /* each value over every sample */
	size_t n_samples, n_locations, n_functions, max_lines;
	uint64_t leaf_value[8];    /* by leaf function id: the last value summed */
	int64_t function_name[16]; /* by function id */
	uint64_t location_function[16][4]; /* by location id: its lines' functions */
	size_t location_lines[16];
	uint64_t sample_leaf_loc[64];
	uint64_t sample_last_value[64];
	int64_t sample_label[64][4][2]; /* string ids: key, value */
	size_t sample_labels[64];
	int64_t mapping_file[16];       /* by mapping id */
	uint64_t first_mapping;         /* the id of the first written */
	uint64_t location_mapping[16];  /* by location id */
	bool bad;
};

static void
decode_profile(const unsigned char *p, size_t n, struct decoded *d)
{
	const unsigned char *end = p + n;
	struct field f, g, h;

	memset(d, 0, sizeof *d);
	while (rd_field(&p, end, &f, &d->bad)) {
		const unsigned char *q = f.p, *qe = f.p + f.n;

		switch (f.num) {
		case 1: /* sample_type */
			while (d->n_sample_types < 4 && rd_field(&q, qe, &g, &d->bad))
				if (g.num == 1 || g.num == 2)
					d->sample_type[d->n_sample_types][g.num - 1] = (int64_t)g.v;
			d->n_sample_types++;
			break;
		case 2: { /* sample */
			size_t k = 0;

			while (rd_field(&q, qe, &g, &d->bad)) {
				const unsigned char *r = g.p, *re = g.p + g.n;
				uint64_t v;

				if (g.num == 1 && g.wire == 2 && rd_varint(&r, re, &v) &&
				    d->n_samples < 64)
					d->sample_leaf_loc[d->n_samples] = v; /* the first: the leaf */
				if (g.num == 2 && g.wire == 2)
					for (k = 0; r < re && rd_varint(&r, re, &v) && k < 4; k++) {
						d->sums[k] += v;
						if (d->n_samples < 64)
							d->sample_last_value[d->n_samples] = v;
					}
				if (g.num == 3 && g.wire == 2 && d->n_samples < 64 &&
				    d->sample_labels[d->n_samples] < 4) {
					size_t l = d->sample_labels[d->n_samples]++;

					while (rd_field(&r, re, &h, &d->bad))
						if (h.num == 1 || h.num == 2)
							d->sample_label[d->n_samples][l][h.num - 1] = (int64_t)h.v;
				}
			}
			d->n_samples++;
			break;
		}
		case 3: { /* mapping */
			uint64_t id = 0;
			int64_t file = 0;

			while (rd_field(&q, qe, &g, &d->bad)) {
				if (g.num == 1)
					id = g.v;
				if (g.num == 5)
					file = (int64_t)g.v;
			}
			if (d->first_mapping == 0)
				d->first_mapping = id;
			if (id < 16)
				d->mapping_file[id] = file;
			break;
		}
		case 4: { /* location */
			uint64_t id = 0;

			while (rd_field(&q, qe, &g, &d->bad)) {
				if (g.num == 1)
					id = g.v;
				if (g.num == 2 && id < 16)
					d->location_mapping[id] = g.v;
				if (g.num == 4 && id < 16) {
					const unsigned char *r = g.p, *re = g.p + g.n;

					while (rd_field(&r, re, &h, &d->bad))
						if (h.num == 1 && d->location_lines[id] < 4)
							d->location_function[id][d->location_lines[id]] = h.v;
					d->location_lines[id]++;
				}
			}
			if (id < 16 && d->location_lines[id] > d->max_lines)
				d->max_lines = d->location_lines[id];
			d->n_locations++;
			break;
		}
		case 5: { /* function */
			uint64_t id = 0;
			int64_t name = 0;

			while (rd_field(&q, qe, &g, &d->bad)) {
				if (g.num == 1)
					id = g.v;
				if (g.num == 2)
					name = (int64_t)g.v;
			}
			if (id < 16)
				d->function_name[id] = name;
			d->n_functions++;
			break;
		}
		case 6: /* string_table */
			if (d->n_str < MAX_STRS) {
				d->strs[d->n_str] = (const char *)f.p;
				d->n_strs[d->n_str++] = f.n;
			}
			break;
		case 11: /* period_type */
			while (rd_field(&q, qe, &g, &d->bad))
				if (g.num == 1 || g.num == 2)
					d->period_type[g.num - 1] = (int64_t)g.v;
			break;
		case 14:
			d->default_type = (int64_t)f.v;
			break;
		}
	}
}

/* String id of the decoded profile equals text. */
static bool
str_is(const struct decoded *d, int64_t id, const char *text)
{
	return id >= 0 && (size_t)id < d->n_str && d->n_strs[id] == strlen(text) &&
	       memcmp(d->strs[id], text, d->n_strs[id]) == 0;
}

static unsigned char *
gunzip(const unsigned char *in, size_t n, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap = 1 << 20;
	unsigned char *out = xmalloc(cap);
	int r;

	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return NULL;
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	r = inflate(&z, Z_FINISH);
	*out_len = cap - z.avail_out;
	inflateEnd(&z);
	if (r != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

static void
test_profile(void)
{
	struct profile p;
	struct pframe f = { 0 };
	uint32_t mod, s_main, s_alloc, s_copy;
	struct psample s = { 0 };
	struct selection sel;
	struct pprof_info info = { .class_name = "wall", .rate_hz = 100 };
	unsigned char *gz, *raw;
	size_t gz_len, raw_len;
	struct decoded d;

	profile_init(&p);
	mod = profile_module(&p, "/usr/bin/prog", "abcd");
	f.module = mod;
	f.file = profile_string(&p, "prog.c");
	f.function = profile_string(&p, "main");
	f.line = 10;
	s_main = profile_push_frame(&p, 0, &f);
	f.function = profile_string(&p, "alloc_buf");
	f.line = 20;
	s_alloc = profile_push_frame(&p, s_main, &f);
	/* copy_in is inlined into alloc_buf: one location, two lines. */
	f.function = profile_string(&p, "copy_in");
	f.line = 30;
	f.inlined = true;
	s_copy = profile_push_frame(&p, s_alloc, &f);
	profile_thread(&p, 7, "worker");

	/* thread-samples: 5 on alloc_buf, 3 in copy_in */
	profile_add(&p, 0, 7, s_alloc, CLASS_CPU, -1, 5);
	profile_add(&p, 1, 7, s_copy, CLASS_LOCK, -1, 3);
	/* bytes allocated: 4 objects, 6e9 bytes in alloc_buf; 1 of 64 in copy_in */
	s = (struct psample){ .bucket = 0, .tid = 7, .stack = s_alloc, .type = PT_ALLOC,
			      .count = 4, .value = 6000000000ULL };
	CHECK(profile_add_sample(&p, &s), "cannot add an alloc sample");
	s = (struct psample){ .bucket = 0, .tid = 7, .stack = s_copy, .type = PT_ALLOC, .count = 1,
			      .value = 64 };
	CHECK(profile_add_sample(&p, &s), "cannot add an alloc sample");
	/* in use: 2 objects of 2048 bytes in alloc_buf, none in copy_in */
	s = (struct psample){ .bucket = 1, .tid = 7, .stack = s_alloc, .type = PT_INUSE, .count = 2,
			      .value = 4096 };
	CHECK(profile_add_sample(&p, &s), "cannot add an inuse sample");
	s = (struct psample){ .bucket = 0, .tid = 7, .stack = s_copy, .type = PT_ERRORS, .count = 2,
			      .value = 2 };
	CHECK(profile_add_sample(&p, &s), "cannot add an errors sample");

	/* Thread-samples: [samples/count, wall/nanoseconds], a period of 10 ms. */
	selection_init(&sel);
	CHECK(pprof_encode(&p, &sel, &info, &gz, &gz_len) == 8, "not 8 thread-samples written");
	raw = gunzip(gz, gz_len, &raw_len);
	CHECK(raw != NULL, "the profile is not gzip that zlib inflates");
	if (raw != NULL) {
		decode_profile(raw, raw_len, &d);
		CHECK(!d.bad, "the profile has a malformed field");
		CHECK(d.n_str > 0 && d.n_strs[0] == 0, "string_table[0] is not \"\"");
		CHECK(d.n_sample_types == 2 && str_is(&d, d.sample_type[0][0], "samples") &&
			      str_is(&d, d.sample_type[0][1], "count") &&
			      str_is(&d, d.sample_type[1][0], "wall") &&
			      str_is(&d, d.sample_type[1][1], "nanoseconds"),
		      "thread-samples: the sample types are not samples/count, wall/nanoseconds");
		CHECK(str_is(&d, d.default_type, "wall"), "thread-samples: the default type is not wall");
		CHECK(str_is(&d, d.period_type[0], "wall") && str_is(&d, d.period_type[1], "nanoseconds"),
		      "thread-samples: the period type is not wall/nanoseconds");
		CHECK(d.n_samples == 2 && d.sums[0] == 8 && d.sums[1] == 8 * 10000000ULL,
		      "thread-samples: %zu samples, values %llu and %llu", d.n_samples,
		      (unsigned long long)d.sums[0], (unsigned long long)d.sums[1]);
		/* Two locations: main, and alloc_buf with copy_in inlined (its
		 * first line, innermost first); three functions. */
		CHECK(d.n_locations == 3 && d.n_functions == 3 && d.max_lines == 2,
		      "%zu locations, %zu functions, at most %zu lines: not 3, 3, 2", d.n_locations,
		      d.n_functions, d.max_lines);
		for (size_t i = 0; i < d.n_samples && i < 64; i++) {
			uint64_t loc = d.sample_leaf_loc[i];
			uint64_t fn = loc < 16 ? d.location_function[loc][0] : 0;
			const char *want = d.location_lines[loc < 16 ? loc : 0] == 2 ? "copy_in" : "alloc_buf";

			CHECK(fn < 16 && str_is(&d, d.function_name[fn], want),
			      "sample %zu: its leaf is not %s", i, want);
		}
		free(raw);
	}
	free(gz);

	/* Memory, selected as alloc or as inuse: one heap profile as Go
	 * writes it, [alloc_objects/count, alloc_space/bytes,
	 * inuse_objects/count, inuse_space/bytes], period type space/bytes,
	 * the selected type's bytes the default; a sample per stack, zeros
	 * where a stack has none of a type (copy_in has nothing in use). */
	for (int k = 0; k < 2; k++) {
		const char *dflt = k == 0 ? "alloc_space" : "inuse_space";

		sel.type = k == 0 ? PT_ALLOC : PT_INUSE;
		CHECK(pprof_encode(&p, &sel, &info, &gz, &gz_len) == 7, "%s: not 7 objects written",
		      dflt);
		raw = gunzip(gz, gz_len, &raw_len);
		CHECK(raw != NULL, "the %s profile is not gzip", dflt);
		if (raw != NULL) {
			decode_profile(raw, raw_len, &d);
			CHECK(!d.bad, "the %s profile has a malformed field", dflt);
			CHECK(d.n_sample_types == 4 && str_is(&d, d.sample_type[0][0], "alloc_objects") &&
				      str_is(&d, d.sample_type[0][1], "count") &&
				      str_is(&d, d.sample_type[1][0], "alloc_space") &&
				      str_is(&d, d.sample_type[1][1], "bytes") &&
				      str_is(&d, d.sample_type[2][0], "inuse_objects") &&
				      str_is(&d, d.sample_type[2][1], "count") &&
				      str_is(&d, d.sample_type[3][0], "inuse_space") &&
				      str_is(&d, d.sample_type[3][1], "bytes"),
			      "%s: the sample types are not Go's heap profile's", dflt);
			CHECK(str_is(&d, d.default_type, dflt), "the default type is not %s", dflt);
			CHECK(str_is(&d, d.period_type[0], "space") && str_is(&d, d.period_type[1], "bytes"),
			      "%s: the period type is not space/bytes", dflt);
			CHECK(d.n_samples == 2 && d.sums[0] == 5 && d.sums[1] == 6000000064ULL &&
				      d.sums[2] == 2 && d.sums[3] == 4096,
			      "%s: %zu samples, values %llu %llu %llu %llu", dflt, d.n_samples,
			      (unsigned long long)d.sums[0], (unsigned long long)d.sums[1],
			      (unsigned long long)d.sums[2], (unsigned long long)d.sums[3]);
			free(raw);
		}
		free(gz);
	}

	/* Errors count themselves: one sample type. */
	sel.type = PT_ERRORS;
	pprof_encode(&p, &sel, &info, &gz, &gz_len);
	raw = gunzip(gz, gz_len, &raw_len);
	if (raw != NULL) {
		decode_profile(raw, raw_len, &d);
		CHECK(d.n_sample_types == 1 && str_is(&d, d.sample_type[0][0], "errors") &&
			      str_is(&d, d.sample_type[0][1], "count") && d.sums[0] == 2 && d.sums[1] == 0,
		      "errors: not one sample type errors/count with 2");
		free(raw);
	} else {
		CHECK(0, "the errors profile is not gzip");
	}
	free(gz);
	profile_release(&p);
}

/* The value of sample i's label key ("" when it has none). */
static const char *
label_of(const struct decoded *d, size_t i, const char *key, char *buf, size_t n)
{
	buf[0] = '\0';
	for (size_t l = 0; i < 64 && l < d->sample_labels[i]; l++) {
		int64_t v = d->sample_label[i][l][1];

		if (str_is(d, d->sample_label[i][l][0], key) && v >= 0 && (size_t)v < d->n_str)
			snprintf(buf, n, "%.*s", (int)d->n_strs[v], d->strs[v]);
	}
	return buf;
}

/* Every class in one profile (export -f pprof without -c): a sample type
 * per class present and wall, cpu the default; each sample's value in its
 * class's column and wall's; class and thread labels; and the program as
 * mapping 1, though libc was met first. */
static void
test_every_class(void)
{
	struct profile p;
	struct pframe f = { 0 };
	uint32_t libc, prog, s_start, s_main, s_wait;
	struct selection sel;
	struct pprof_info info = { .class_name = "cpu", .every_class = true, .rate_hz = 100,
				   .main_path = "/usr/bin/prog", .main_build_id = "abcd" };
	unsigned char *gz, *raw;
	size_t gz_len, raw_len;
	struct decoded d;

	profile_init(&p);
	libc = profile_module(&p, "/usr/lib/libc.so.6", "ffff");
	prog = profile_module(&p, "/usr/bin/prog", "abcd");
	f.module = libc;
	f.function = profile_string(&p, "__libc_start_main");
	s_start = profile_push_frame(&p, 0, &f);
	f.module = prog;
	f.function = profile_string(&p, "main");
	s_main = profile_push_frame(&p, s_start, &f);
	f.module = libc;
	f.function = profile_string(&p, "futex_wait");
	s_wait = profile_push_frame(&p, s_main, &f);
	profile_thread(&p, 7, "worker");
	profile_thread(&p, 8, "waiter");
	profile_add(&p, 0, 7, s_main, CLASS_CPU, -1, 5);
	profile_add(&p, 0, 8, s_wait, CLASS_LOCK, -1, 2);
	profile_add(&p, 1, 8, s_wait, CLASS_SLEEP, -1, 1);

	selection_init(&sel);
	CHECK(pprof_encode(&p, &sel, &info, &gz, &gz_len) == 8, "every class: not 8 thread-samples");
	raw = gunzip(gz, gz_len, &raw_len);
	CHECK(raw != NULL, "the every-class profile is not gzip");
	if (raw != NULL) {
		static const char *const want[] = { "samples", "cpu", "lock", "sleep" };
		char buf[64], buf2[64];

		decode_profile(raw, raw_len, &d);
		CHECK(!d.bad, "the every-class profile has a malformed field");
		/* Five: the reader keeps the first 4, wall is the fifth. */
		CHECK(d.n_sample_types == 5, "every class: %zu sample types, not 5", d.n_sample_types);
		for (size_t i = 0; i < 4; i++)
			CHECK(str_is(&d, d.sample_type[i][0], want[i]), "every class: sample type %zu is not %s",
			      i, want[i]);
		CHECK(str_is(&d, d.default_type, "cpu"), "every class: the default type is not cpu");
		CHECK(d.n_samples == 3 && d.sums[0] == 8 && d.sums[1] == 5 * 10000000ULL &&
			      d.sums[2] == 2 * 10000000ULL && d.sums[3] == 1 * 10000000ULL,
		      "every class: %zu samples, sums %llu %llu %llu %llu", d.n_samples,
		      (unsigned long long)d.sums[0], (unsigned long long)d.sums[1],
		      (unsigned long long)d.sums[2], (unsigned long long)d.sums[3]);
		for (size_t i = 0; i < d.n_samples && i < 64; i++) {
			const char *cls = label_of(&d, i, "class", buf, sizeof buf);
			const char *thread = label_of(&d, i, "thread", buf2, sizeof buf2);

			CHECK(strcmp(cls, "cpu") == 0 ? strcmp(thread, "worker") == 0
						      : (strcmp(cls, "lock") == 0 || strcmp(cls, "sleep") == 0) &&
							strcmp(thread, "waiter") == 0,
			      "sample %zu: labels class '%s', thread '%s'", i, cls, thread);
			/* wall, the fifth value, is past the reader: the last read
			 * is the sleep column, the sample's own for sleep only. */
			CHECK((strcmp(cls, "sleep") == 0) == (d.sample_last_value[i] != 0),
			      "sample %zu (%s): a value in the sleep column is %llu", i, cls,
			      (unsigned long long)d.sample_last_value[i]);
		}
		CHECK(d.first_mapping == 1 && str_is(&d, d.mapping_file[1], "/usr/bin/prog") &&
			      str_is(&d, d.mapping_file[2], "/usr/lib/libc.so.6"),
		      "mapping 1 is not the program");
		for (uint64_t l = 1; l < 16 && l <= d.n_locations; l++) {
			uint64_t fn = d.location_function[l][0];
			bool in_prog = fn < 16 && str_is(&d, d.function_name[fn], "main");

			CHECK(d.location_mapping[l] == (in_prog ? 1u : 2u),
			      "location %llu is in mapping %llu", (unsigned long long)l,
			      (unsigned long long)d.location_mapping[l]);
		}
		free(raw);
	}
	free(gz);
	profile_release(&p);
}

int
main(void)
{
	test_reader();
	test_writer();
	test_profile();
	test_every_class();
	return unit_exit("unit-pprof");
}
