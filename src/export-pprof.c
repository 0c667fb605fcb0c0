/* export-pprof.c: profile.proto written by hand (the wire format is a handful of
 * varints and length-prefixed fields), gzipped with zlib. */
#include "config.h"

#include "export-pprof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "classes.h"
#include "hashmap.h"
#include "text.h"
#include "util.h"

/* ---- protobuf wire format ---- */

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

void
pb_raw(struct pb *b, const void *p, size_t n)
{
	GROW(b->buf, b->cap, b->len + n);
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

void
pb_varint(struct pb *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
	pb_raw(b, tmp, n);
}

void
pb_uint(struct pb *b, unsigned field, uint64_t v)
{
	if (v == 0)
		return; /* the default: omitted */
	pb_varint(b, (uint64_t)field << 3 | WIRE_VARINT);
	pb_varint(b, v);
}

void
pb_int(struct pb *b, unsigned field, int64_t v)
{
	pb_uint(b, field, (uint64_t)v);
}

void
pb_bytes(struct pb *b, unsigned field, const void *p, size_t n)
{
	pb_varint(b, (uint64_t)field << 3 | WIRE_LEN);
	pb_varint(b, n);
	pb_raw(b, p, n);
}

/* Append sub as a nested message and empty it for reuse. */
void
pb_msg(struct pb *b, unsigned field, struct pb *sub)
{
	pb_bytes(b, field, sub->buf, sub->len);
	sub->len = 0;
}

void
pb_packed(struct pb *b, unsigned field, const uint64_t *v, size_t n)
{
	struct pb tmp = { 0 };

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		pb_varint(&tmp, v[i]);
	pb_bytes(b, field, tmp.buf, tmp.len);
	free(tmp.buf);
}

/* ---- profile.proto field numbers (see REFERENCE) ---- */

enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9, PROFILE_DURATION_NANOS = 10, PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12, PROFILE_COMMENT = 13, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
};
enum { VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2 };
enum { SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3 };
enum { LABEL_KEY = 1, LABEL_STR = 2 };
enum { MAPPING_ID = 1, MAPPING_FILENAME = 5, MAPPING_BUILD_ID = 6, MAPPING_HAS_FUNCTIONS = 7,
       MAPPING_HAS_FILENAMES = 8, MAPPING_HAS_LINE_NUMBERS = 9, MAPPING_HAS_INLINE_FRAMES = 10 };
enum { LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_LINE = 4 };
enum { LINE_FUNCTION_ID = 1, LINE_LINE = 2 };
enum { FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4 };

/* ---- the encoder's tables ---- */

struct strtab {
	struct pb out;  /* the string_table fields, in order */
	struct strset set;
};

/* The index of text in the string table, added on first use. Protobuf
 * strings must be valid UTF-8 (readers reject the profile otherwise). */
static int64_t
str_text(struct strtab *t, const char *raw)
{
	const char *text = text_utf8(raw);
	bool added;
	size_t id = strset_add(&t->set, text, &added);

	if (added)
		pb_bytes(&t->out, PROFILE_STRING_TABLE, text, strlen(text));
	return (int64_t)id;
}

/* A profile string's index; 0 ("") for none. */
static int64_t
str_index(struct strtab *t, const struct profile *p, uint32_t id, const char *text)
{
	if (text != NULL)
		return str_text(t, text);
	return id ? str_text(t, profile_str(p, id)) : 0;
}

struct loc {
	uint32_t *frames; /* innermost first */
	size_t n;
	uint32_t module;
};

struct enc {
	const struct profile *p;
	struct strtab strs;
	struct pb body;            /* everything but the string table */
	struct pb tmp, tmp2, fn;   /* scratch: values, lines, functions */
	struct hashmap functions;  /* (name << 32 | file) -> function id */
	uint64_t n_functions;
	struct hashmap locations;  /* hash of frames -> location index + 1 */
	struct loc *locs;
	size_t n_locs, cap_locs;
	bool *module_used;
	uint64_t *mapping;         /* module id -> mapping id */
};

static uint64_t
function_id(struct enc *e, const struct pframe *f)
{
	uint64_t key = (uint64_t)f->function << 32 | f->file;
	void *v = hashmap_get(&e->functions, key);
	int64_t name;

	if (v != NULL)
		return (uint64_t)(uintptr_t)v;
	e->n_functions++;
	hashmap_put(&e->functions, key, (void *)(uintptr_t)e->n_functions);
	name = str_index(&e->strs, e->p, f->function, f->function ? NULL : "[unknown]");
	pb_uint(&e->fn, FUNCTION_ID, e->n_functions);
	pb_int(&e->fn, FUNCTION_NAME, name);
	pb_int(&e->fn, FUNCTION_SYSTEM_NAME, name);
	pb_int(&e->fn, FUNCTION_FILENAME, str_index(&e->strs, e->p, f->file, NULL));
	pb_msg(&e->body, PROFILE_FUNCTION, &e->fn);
	return e->n_functions;
}

static uint64_t
hash_frames(const uint32_t *f, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		h ^= f[i];
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

/* The location of frames[0..n) (one physical frame and the frames inlined
 * into it, innermost first), made on first use. */
static uint64_t
location_id(struct enc *e, const uint32_t *frames, size_t n)
{
	uint64_t h = hash_frames(frames, n);
	void *v;

	/* Open addressing over the hash: equal frames end the probe. */
	while ((v = hashmap_get(&e->locations, h)) != NULL) {
		const struct loc *l = &e->locs[(uintptr_t)v - 1];

		if (l->n == n && memcmp(l->frames, frames, n * sizeof *frames) == 0)
			return (uint64_t)(uintptr_t)v;
		h = h + 1 ? h + 1 : 1;
	}
	GROW(e->locs, e->cap_locs, e->n_locs + 1);
	e->locs[e->n_locs].frames = xmalloc(n * sizeof *frames);
	memcpy(e->locs[e->n_locs].frames, frames, n * sizeof *frames);
	e->locs[e->n_locs].n = n;
	e->locs[e->n_locs].module = e->p->frames[frames[n - 1]].module;
	e->n_locs++;
	hashmap_put(&e->locations, h, (void *)(uintptr_t)e->n_locs);
	return e->n_locs;
}

/* Locations and functions go out once every sample is known. */
static void
write_locations(struct enc *e)
{
	for (size_t i = 0; i < e->n_locs; i++) {
		const struct loc *l = &e->locs[i];

		pb_uint(&e->tmp, LOCATION_ID, i + 1);
		pb_uint(&e->tmp, LOCATION_MAPPING_ID, e->mapping[l->module]);
		for (size_t k = 0; k < l->n; k++) {
			const struct pframe *f = &e->p->frames[l->frames[k]];

			pb_uint(&e->tmp2, LINE_FUNCTION_ID, function_id(e, f));
			pb_int(&e->tmp2, LINE_LINE, f->line > 0 ? f->line : 0);
			pb_msg(&e->tmp, LOCATION_LINE, &e->tmp2);
		}
		pb_msg(&e->body, PROFILE_LOCATION, &e->tmp);
		if (l->module)
			e->module_used[l->module] = true;
	}
}

/* The module that is the program itself: the one with its build-id, else
 * the one at its path; 0 when neither is known. */
static uint32_t
main_module(const struct profile *p, const struct pprof_info *info)
{
	for (int by_path = 0; by_path < 2; by_path++) {
		const char *want = by_path ? info->main_path : info->main_build_id;

		if (want == NULL || *want == '\0')
			continue;
		for (uint32_t m = 1; m < p->n_modules; m++) {
			uint32_t id = by_path ? p->modules[m].path : p->modules[m].build_id;

			if (id != 0 && strcmp(profile_str(p, id), want) == 0)
				return m;
		}
	}
	return 0;
}

/* Mapping ids: the program's module first, as readers take the first
 * mapping for the program (go tool pprof's "File:"), then the others in
 * module order. Every module is listed, numbered 1..N in the order
 * written (readers such as Parca want id == index + 1). */
static void
number_mappings(struct enc *e, const struct pprof_info *info)
{
	uint32_t prog = main_module(e->p, info);
	uint64_t next = 1;

	e->mapping = xcalloc(e->p->n_modules ? e->p->n_modules : 1, sizeof *e->mapping);
	if (prog != 0)
		e->mapping[prog] = next++;
	for (uint32_t m = 1; m < e->p->n_modules; m++)
		if (m != prog)
			e->mapping[m] = next++;
}

static void
write_mappings(struct enc *e)
{
	uint32_t *order = xcalloc(e->p->n_modules ? e->p->n_modules : 1, sizeof *order);

	for (uint32_t m = 1; m < e->p->n_modules; m++)
		order[e->mapping[m]] = m;
	for (size_t i = 1; i < e->p->n_modules; i++) {
		uint32_t m = order[i];
		const struct pmodule *pm = &e->p->modules[m];

		pb_uint(&e->tmp, MAPPING_ID, i);
		pb_int(&e->tmp, MAPPING_FILENAME, str_index(&e->strs, e->p, pm->path, NULL));
		pb_int(&e->tmp, MAPPING_BUILD_ID, str_index(&e->strs, e->p, pm->build_id, NULL));
		pb_uint(&e->tmp, MAPPING_HAS_FUNCTIONS, e->module_used[m]);
		pb_uint(&e->tmp, MAPPING_HAS_FILENAMES, e->module_used[m]);
		pb_uint(&e->tmp, MAPPING_HAS_LINE_NUMBERS, e->module_used[m]);
		pb_uint(&e->tmp, MAPPING_HAS_INLINE_FRAMES, e->module_used[m]);
		pb_msg(&e->body, PROFILE_MAPPING, &e->tmp);
	}
	free(order);
}

static void
value_type(struct enc *e, unsigned field, const char *type, const char *unit)
{
	pb_int(&e->tmp, VALUE_TYPE_TYPE, str_index(&e->strs, e->p, 0, type));
	pb_int(&e->tmp, VALUE_TYPE_UNIT, str_index(&e->strs, e->p, 0, unit));
	pb_msg(&e->body, field, &e->tmp);
}

static void
label(struct enc *e, struct pb *sample, int64_t key, const char *value)
{
	pb_int(&e->tmp2, LABEL_KEY, key);
	pb_int(&e->tmp2, LABEL_STR, str_index(&e->strs, e->p, 0, value));
	pb_msg(sample, SAMPLE_LABEL, &e->tmp2);
}

/* Samples of one (stack, thread, class), summed over the selection, by
 * member of the type's group (slot 0 for a type of its own); next: the
 * index + 1 of the same stack and thread in another class. */
struct agg {
	uint32_t stack, tid, cls;
	uint64_t count[PT_COUNT], value[PT_COUNT];
	size_t next;
};

static bool
gzip_buf(const unsigned char *in, size_t n, unsigned char **out, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap = deflateBound(&z, (uLong)n) + 64;
	int r;

	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	cap = deflateBound(&z, (uLong)n) + 64;
	*out = xmalloc(cap);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)n;
	z.next_out = *out;
	z.avail_out = (uInt)cap;
	r = deflate(&z, Z_FINISH);
	*out_len = cap - z.avail_out;
	deflateEnd(&z);
	if (r != Z_STREAM_END) {
		free(*out);
		*out = NULL;
		return false;
	}
	return true;
}

uint64_t
pprof_encode(const struct profile *p, const struct selection *sel,
	     const struct pprof_info *info, unsigned char **out, size_t *out_len)
{
	struct enc e = { .p = p };
	struct hashmap agg_index;
	struct agg *aggs = NULL;
	size_t n_aggs = 0, cap_aggs = 0;
	uint32_t *frames = xmalloc(4096 * sizeof *frames);
	uint64_t *locs = xmalloc(4096 * sizeof *locs);
	const struct ptype *pt = ptype_get(sel->type);
	uint64_t period = pt->classed ? (uint64_t)(1e9 / (info->rate_hz > 0 ? info->rate_hz : 99)) : 0;
	uint64_t written = 0;
	/* The types this profile holds: the selection's, or every member of
	 * its group (alloc and inuse: one heap profile), each a slot. */
	unsigned members[PT_COUNT], n_members = ptype_group_members(sel->type, members);
	struct selection msel = *sel;
	size_t n_values;
	int64_t k_tid, k_pid, k_thread, k_class;
	struct pb all = { 0 };
	/* info->every_class: the value column of each class present (0:
	 * none), and the column of wall. */
	size_t col[CLASS_COUNT] = { 0 }, col_wall = 0;
	bool present[CLASS_COUNT] = { false };
	enum sample_class dflt;

	strset_init(&e.strs.set);
	hashmap_init(&e.functions);
	hashmap_init(&e.locations);
	hashmap_init(&agg_index);
	e.module_used = xcalloc(p->n_modules ? p->n_modules : 1, sizeof *e.module_used);
	number_mappings(&e, info);
	str_text(&e.strs, ""); /* string_table[0] is "" */

	/* The sample types of the selection's profile type: thread-samples
	 * weigh one sampling period each; a weighted type has its count and
	 * its value in its unit; others count. default_sample_type says which
	 * a reader shows first. */
	if (pt->classed && info->every_class) {
		for (size_t i = 0; i < p->n_samples; i++)
			if (selection_match(p, sel, &p->samples[i]) && p->samples[i].class < CLASS_COUNT)
				present[p->samples[i].class] = true;
		if (class_parse(info->class_name, &dflt))
			present[dflt] = true;
		value_type(&e, PROFILE_SAMPLE_TYPE, "samples", "count");
		n_values = 1;
		for (int c = 0; c < CLASS_COUNT; c++) {
			if (!present[c])
				continue;
			value_type(&e, PROFILE_SAMPLE_TYPE, class_name((enum sample_class)c), "nanoseconds");
			col[c] = n_values++;
		}
		value_type(&e, PROFILE_SAMPLE_TYPE, "wall", "nanoseconds");
		col_wall = n_values++;
	} else if (pt->classed) {
		value_type(&e, PROFILE_SAMPLE_TYPE, "samples", "count");
		value_type(&e, PROFILE_SAMPLE_TYPE, info->class_name, "nanoseconds");
		n_values = 2;
	} else if (pt->group != NULL) {
		/* Go's heap profile: each member's objects and bytes, in
		 * table order (alloc_objects, alloc_space, inuse_objects,
		 * inuse_space), so that go tool pprof and Pyroscope take it
		 * for what it is. */
		for (unsigned k = 0; k < n_members; k++) {
			const struct ptype *m = ptype_get(members[k]);

			value_type(&e, PROFILE_SAMPLE_TYPE, m->pprof_count, "count");
			value_type(&e, PROFILE_SAMPLE_TYPE, m->pprof_value, m->unit);
		}
		n_values = 2 * n_members;
	} else if (pt->weighted) {
		char count_name[64];

		snprintf(count_name, sizeof count_name, "%s_%s", pt->name, pt->count_unit);
		value_type(&e, PROFILE_SAMPLE_TYPE, count_name, "count");
		value_type(&e, PROFILE_SAMPLE_TYPE, pt->name, pt->unit);
		n_values = 2;
	} else {
		value_type(&e, PROFILE_SAMPLE_TYPE, pt->name, "count");
		n_values = 1;
	}
	k_class = pt->classed ? str_index(&e.strs, p, 0, "class") : 0;
	k_thread = str_index(&e.strs, p, 0, "thread");
	k_tid = str_index(&e.strs, p, 0, "thread_id");
	k_pid = str_index(&e.strs, p, 0, "pid");

	for (size_t i = 0; i < p->n_samples; i++) {
		const struct psample *s = &p->samples[i];
		uint64_t key = (uint64_t)s->stack << 32 | s->tid;
		uint32_t cls = pt->classed ? s->class : 0;
		unsigned slot = 0;
		void *v;
		size_t at;

		while (slot < n_members && members[slot] != s->type)
			slot++;
		if (slot == n_members)
			continue;
		msel.type = s->type;
		if (!selection_match(p, &msel, s))
			continue;
		v = hashmap_get(&agg_index, key);
		/* The thread's stack in this class, down the chain of classes. */
		for (at = (uintptr_t)v; at != 0 && aggs[at - 1].cls != cls; at = aggs[at - 1].next)
			;
		if (at == 0) {
			GROW(aggs, cap_aggs, n_aggs + 1);
			aggs[n_aggs] = (struct agg){ .stack = s->stack, .tid = s->tid, .cls = cls,
						     .next = (uintptr_t)v };
			hashmap_put(&agg_index, key, (void *)(uintptr_t)++n_aggs);
			at = n_aggs;
		}
		aggs[at - 1].count[slot] += s->count;
		aggs[at - 1].value[slot] += s->value;
	}
	for (size_t i = 0; i < n_aggs; i++) {
		const struct agg *a = &aggs[i];
		size_t depth = stack_frames(p, a->stack, frames, 4096), nlocs = 0, start = 0;
		uint64_t values[CLASS_COUNT + 2 + 2 * PT_COUNT] = {
			a->count[0], pt->classed ? a->count[0] * period : a->value[0]
		};
		struct pb sample = { 0 };
		char tid[16], pid[16];

		if (col_wall != 0) {
			memset(values + 1, 0, (n_values - 1) * sizeof *values);
			if (a->cls < CLASS_COUNT && col[a->cls] != 0)
				values[col[a->cls]] = a->count[0] * period;
			values[col_wall] = a->count[0] * period;
		}
		/* A stack that only one member has: zeros in the others'. */
		if (pt->group != NULL)
			for (unsigned k = 0; k < n_members; k++) {
				values[2 * k] = a->count[k];
				values[2 * k + 1] = a->value[k];
			}

		/* Group each physical frame with the frames inlined into it. */
		for (size_t k = 0; k < depth; k++) {
			if (p->frames[frames[k]].inlined && k + 1 < depth)
				continue;
			locs[nlocs++] = location_id(&e, frames + start, k + 1 - start);
			start = k + 1;
		}
		pb_packed(&sample, SAMPLE_LOCATION_ID, locs, nlocs);
		pb_packed(&sample, SAMPLE_VALUE, values, n_values);
		if (pt->classed)
			label(&e, &sample, k_class, class_name((enum sample_class)a->cls));
		label(&e, &sample, k_thread, profile_thread_name(p, a->tid));
		snprintf(tid, sizeof tid, "%u", a->tid);
		label(&e, &sample, k_tid, tid);
		snprintf(pid, sizeof pid, "%u", profile_thread_pid(p, a->tid));
		label(&e, &sample, k_pid, pid);
		pb_msg(&e.body, PROFILE_SAMPLE, &sample);
		free(sample.buf);
		for (unsigned k = 0; k < n_members; k++)
			written += a->count[k];
	}
	write_locations(&e);
	write_mappings(&e);
	pb_int(&e.body, PROFILE_TIME_NANOS, (int64_t)info->start_unix_ns);
	pb_int(&e.body, PROFILE_DURATION_NANOS, (int64_t)info->duration_ns);
	if (pt->classed) {
		value_type(&e, PROFILE_PERIOD_TYPE, info->class_name, "nanoseconds");
		pb_int(&e.body, PROFILE_PERIOD, (int64_t)period);
	} else if (pt->group != NULL) {
		/* As Go's heap profile: space in bytes. Every allocation a
		 * probe saw is in the profile, none stands for others: no
		 * period (Go's is its sampling rate in bytes). */
		value_type(&e, PROFILE_PERIOD_TYPE, pt->pprof_period, pt->unit);
	} else {
		/* Every call, allocation or event is in the profile: no period. */
		value_type(&e, PROFILE_PERIOD_TYPE, pt->name, pt->weighted ? pt->unit : "count");
	}
	if (info->comment != NULL)
		pb_int(&e.body, PROFILE_COMMENT, str_index(&e.strs, p, 0, info->comment));
	pb_int(&e.body, PROFILE_DEFAULT_SAMPLE_TYPE,
	       str_index(&e.strs, p, 0, pt->classed ? info->class_name
				      : pt->group != NULL ? pt->pprof_value : pt->name));

	/* Field order does not matter to readers: strings last. */
	pb_raw(&all, e.body.buf, e.body.len);
	pb_raw(&all, e.strs.out.buf, e.strs.out.len);
	if (!gzip_buf(all.buf, all.len, out, out_len))
		fatal("cannot compress the profile (zlib)");

	for (size_t i = 0; i < e.n_locs; i++)
		free(e.locs[i].frames);
	free(e.locs);
	free(e.module_used);
	free(e.mapping);
	free(e.body.buf);
	free(e.tmp.buf);
	free(e.tmp2.buf);
	free(e.fn.buf);
	free(e.strs.out.buf);
	strset_release(&e.strs.set);
	free(all.buf);
	free(aggs);
	free(frames);
	free(locs);
	hashmap_release(&e.functions);
	hashmap_release(&e.locations);
	hashmap_release(&agg_index);
	return written;
}
