/* unit-session: a session written and read back holds what was counted,
 * for every profile type, threads with their processes, metric rows with
 * and without glibc's heap figures; sessions of schema 1 and 2 still read
 * (their threads in the session's process, their metrics without heap
 * figures); a loaded profile interns each text once.
 *
 * The file is checked twice: with SQL straight from its tables (not
 * through siprof's reader), and through session_load, each against the
 * table of samples below that the test counted. */
#include "config.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze.h"
#include "profile.h"
#include "ptypes.h"
#include "session.h"
#include "util.h"
#include "unit.h"


/* A sample as the test means it: its leaf function by name. */
struct want {
	uint32_t bucket, tid;
	const char *leaf;
	unsigned type;
	uint16_t cls, sysnr;
	uint32_t count;
	uint64_t value, max;
};

/* What was written, after adding up rows of the same key: each type at
 * least twice, a distribution with its largest value, values past 32 bits. */
static const struct want want[] = {
	{ 0, 101, "compute", PT_SAMPLES, CLASS_CPU, 0, 7, 7, 0 },
	{ 0, 102, "wait_work", PT_SAMPLES, CLASS_SYSCALL, 202, 3, 3, 0 },
	{ 1, 101, "compute", PT_SAMPLES, CLASS_LOCK, 0, 2, 2, 0 },
	{ 0, 101, "alloc_buf", PT_ALLOC, 0, 0, 12, 6000000000ULL, 0 },
	{ 1, 102, "alloc_buf", PT_ALLOC, 0, 0, 1, 4096, 0 },
	{ 1, 101, "alloc_buf", PT_INUSE, 0, 0, 5, 81920, 0 },
	{ 1, 102, "compute", PT_INUSE, 0, 0, 1, 64, 0 },
	{ 0, 102, "wait_work", PT_DURATION, 0, 0, 4, 4000000, 2500000 },
	{ 1, 101, "compute", PT_DURATION, 0, 0, 2, 30, 20 },
	{ 0, 101, "compute", PT_ERRORS, 0, 0, 3, 3, 0 },
	{ 1, 102, "wait_work", PT_ERRORS, 0, 0, 1, 1, 0 },
	{ 1, 101, "alloc_buf", PT_CRASHES, 0, 0, 1, 1, 0 },
	{ 1, 102, "compute", PT_CRASHES, 0, 0, 1, 1, 0 },
};

/* The stack main > run > leaf, in p. */
static uint32_t
stack_of(struct profile *p, const char *leaf)
{
	uint32_t mod = profile_module(p, "/usr/bin/app", "0123abcd");
	const char *path[] = { "main", "run", leaf };
	uint32_t node = 0;

	for (size_t i = 0; i < ARRAY_SIZE(path); i++) {
		struct pframe f = { .function = profile_string(p, path[i]),
				    .file = profile_string(p, "app.c"),
				    .line = 10 * (int)(i + 1), .module = mod };

		node = profile_push_frame(p, node, &f);
	}
	return node;
}

/* The profile of want[]: every row but the first of each type added in
 * two parts, so that rows of one key add up (max as the larger). */
static void
fill(struct profile *p)
{
	profile_thread(p, 101, "main");
	profile_thread(p, 102, "worker");
	/* Schema 4: each thread's process (the worker a child's). */
	profile_thread_set_pid(p, 101, 101);
	profile_thread_set_pid(p, 102, 4000);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const struct want *w = &want[i];
		struct psample s = { .bucket = w->bucket, .tid = w->tid,
				     .stack = stack_of(p, w->leaf), .class = w->cls,
				     .sysnr = w->sysnr, .type = (uint16_t)w->type,
				     .count = w->count, .value = w->value, .max = w->max };

		if (w->count > 1) {
			struct psample a = s;

			a.count = 1;
			a.value = w->type == PT_DURATION ? w->max : w->value / w->count;
			s.count -= 1;
			s.value -= a.value;
			s.max = w->type == PT_DURATION ? w->max / 2 : 0;
			CHECK(profile_add_sample(p, &a), "sample %zu refused", i);
		}
		CHECK(profile_add_sample(p, &s), "sample %zu refused", i);
	}
}

static const struct want *
find_want(const char *type, uint32_t bucket, uint32_t tid, const char *leaf, int cls)
{
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (strcmp(ptype_get(want[i].type)->name, type) == 0 && want[i].bucket == bucket &&
		    want[i].tid == tid && strcmp(want[i].leaf, leaf) == 0 && want[i].cls == cls)
			return &want[i];
	return NULL;
}

/* The file's samples by SQL, against want[]. */
static void
check_sql(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	size_t rows = 0;

	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "cannot open %s",
	      path);
	CHECK(sqlite3_prepare_v2(db,
				 "SELECT t.name, s.bucket, s.tid, f.function, s.class, s.syscall,"
				 " sum(s.count), sum(s.value), max(s.max), t.unit, t.aggregation"
				 " FROM samples s JOIN types t ON t.id = s.type"
				 " JOIN stacks st ON st.id = s.stack JOIN frame_names f ON f.id = st.frame"
				 " GROUP BY s.type, s.bucket, s.tid, s.stack, s.class, s.syscall",
				 -1, &st, NULL) == SQLITE_OK,
	      "query: %s", sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const struct want *w = find_want(type, (uint32_t)sqlite3_column_int64(st, 1),
						 (uint32_t)sqlite3_column_int64(st, 2),
						 (const char *)sqlite3_column_text(st, 3),
						 sqlite3_column_int(st, 4));
		const struct ptype *pt;

		rows++;
		CHECK(w != NULL, "a %s row in the file that was not written", type);
		if (w == NULL)
			continue;
		pt = ptype_get(w->type);
		CHECK(sqlite3_column_int(st, 5) == w->sysnr, "syscall of a %s row", type);
		CHECK((uint64_t)sqlite3_column_int64(st, 6) == w->count, "count of a %s row: %lld, not %u",
		      type, sqlite3_column_int64(st, 6), w->count);
		CHECK((uint64_t)sqlite3_column_int64(st, 7) == w->value,
		      "value of a %s row: %lld, not %" PRIu64, type, sqlite3_column_int64(st, 7), w->value);
		CHECK((uint64_t)sqlite3_column_int64(st, 8) == w->max, "max of a %s row", type);
		CHECK(strcmp((const char *)sqlite3_column_text(st, 9), pt->unit) == 0, "unit of %s",
		      type);
		CHECK(strcmp((const char *)sqlite3_column_text(st, 10),
			     pt->agg == PT_DIST ? "distribution" : "sum") == 0, "aggregation of %s", type);
	}
	sqlite3_finalize(st);
	CHECK(rows == ARRAY_SIZE(want), "%zu sample keys in the file, %zu written", rows,
	      ARRAY_SIZE(want));
	sqlite3_close(db);
}

/* How many of p's strings are s. */
static size_t
strings_equal(const struct profile *p, const char *s)
{
	size_t n = 0;

	for (size_t i = 1; i < p->n_strings; i++)
		n += strcmp(p->strings[i], s) == 0;
	return n;
}

/* Interning holds after a load: the same text, frame and stack get the
 * ids they were read with, and nothing is added. */
static void
check_interned(struct profile *p, bool stacks)
{
	size_t ns = p->n_strings, nf = p->n_frames, nn = p->n_nodes;
	uint32_t worker = 0;

	for (size_t i = 0; i < p->n_threads; i++)
		if (p->threads[i].tid == 102)
			worker = p->threads[i].name;
	CHECK(strings_equal(p, "worker") == 1, "\"worker\" is %zu strings after a load",
	      strings_equal(p, "worker"));
	CHECK(strings_equal(p, "main") == 1, "\"main\" (a thread and a function) is %zu strings",
	      strings_equal(p, "main"));
	CHECK(profile_string(p, "worker") == worker && worker != 0,
	      "the thread name is not the interned string");
	profile_thread(p, 102, "worker");
	profile_string(p, "compute");
	profile_string(p, "/usr/bin/app");
	if (stacks)
		stack_of(p, "compute");
	CHECK(p->n_strings == ns && p->n_frames == nf && p->n_nodes == nn,
	      "interning after a load added %zu strings, %zu frames, %zu stacks", p->n_strings - ns,
	      p->n_frames - nf, p->n_nodes - nn);
}

/* The loaded samples against want[], through the profile's own arrays. */
static void
check_loaded(const struct profile *p)
{
	size_t seen = 0;

	for (size_t i = 0; i < p->n_samples; i++) {
		const struct psample *s = &p->samples[i];
		const char *fn[1];
		const struct want *w;

		CHECK(profile_stack_functions(p, s->stack, fn, 1) == 1, "a sample without a stack");
		w = find_want(ptype_get(s->type)->name, s->bucket, s->tid, fn[0], s->class);
		CHECK(w != NULL, "a loaded %s sample of %s that was not written",
		      ptype_get(s->type)->name, fn[0]);
		if (w == NULL)
			continue;
		seen++;
		CHECK(s->sysnr == w->sysnr && s->count == w->count && s->value == w->value &&
			      s->max == w->max,
		      "loaded %s sample of %s: count %u value %" PRIu64 " max %" PRIu64
		      ", written %u %" PRIu64 " %" PRIu64, ptype_get(s->type)->name, fn[0], s->count,
		      s->value, s->max, w->count, w->value, w->max);
	}
	CHECK(seen == ARRAY_SIZE(want), "%zu samples loaded, %zu written", seen, ARRAY_SIZE(want));
	CHECK(strcmp(profile_thread_name(p, 101), "main") == 0 &&
		      strcmp(profile_thread_name(p, 102), "worker") == 0,
	      "thread names read back wrong");
}

/* Each type's total through analyze, against want[]. */
static void
check_totals(const struct profile *p)
{
	for (unsigned t = 0; t < PT_COUNT; t++) {
		struct selection sel;
		struct func_table ft;
		uint64_t value = 0, count = 0, max = 0;

		for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
			if (want[i].type != t)
				continue;
			value += want[i].value;
			count += want[i].count;
			max = want[i].max > max ? want[i].max : max;
		}
		selection_init(&sel);
		sel.type = t;
		analyze_functions(p, &sel, false, false, &ft);
		CHECK(ft.total == value && ft.count == count, "%s: total %" PRIu64 " of %" PRIu64
		      ", written %" PRIu64 " of %" PRIu64, ptype_get(t)->name, ft.total, ft.count,
		      value, count);
		/* main is on every stack: its total is the type's, its max the largest. */
		for (size_t i = 0; i < ft.n; i++)
			if (strcmp(profile_str(p, ft.funcs[i].function), "main") == 0)
				CHECK(ft.funcs[i].total == value && ft.funcs[i].max == max,
				      "%s: main's total %" PRIu64 " max %" PRIu64, ptype_get(t)->name,
				      ft.funcs[i].total, ft.funcs[i].max);
		func_table_release(&ft);
	}
}

/* Two metric rows: one with glibc's heap figures, one where they were not
 * read (schema 5). */
static void
fill_metrics(struct metrics_series *ms)
{
	memset(ms, 0, sizeof *ms);
	GROW(ms->rows, ms->cap, 2);
	ms->rows[0] = (struct metric_row){ .t = 0, .cpu_percent = 12.5, .m.threads = 2,
					   .m.fds = 7, .have_heap = true,
					   .heap = { .system = 3743744, .inuse = 2537168,
						     .arenas = 4 } };
	ms->rows[1] = (struct metric_row){ .t = 1, .cpu_percent = 50, .m.threads = 3, .m.fds = 8 };
	ms->n = 2;
}

static void
check_metrics(const struct metrics_series *ms)
{
	CHECK(ms->n == 2, "%zu metric rows read, 2 written", ms->n);
	if (ms->n != 2)
		return;
	CHECK(ms->rows[0].have_heap && ms->rows[0].heap.system == 3743744 &&
		      ms->rows[0].heap.inuse == 2537168 && ms->rows[0].heap.arenas == 4,
	      "heap of second 0 read as %d %" PRIu64 " %" PRIu64 " %u", ms->rows[0].have_heap,
	      ms->rows[0].heap.system, ms->rows[0].heap.inuse, ms->rows[0].heap.arenas);
	CHECK(!ms->rows[1].have_heap, "second 1 has heap figures, none were written");
	CHECK(ms->rows[1].cpu_percent == 50 && ms->rows[1].m.threads == 3 &&
		      ms->rows[1].m.fds == 8,
	      "metrics of second 1 read back wrong");
}

static void
round_trip(const char *dir)
{
	char *path = xasprintf("%s/all.siprof", dir), *cause = NULL;
	struct session_writer *w;
	struct session_data d;
	struct profile p;
	struct metrics_series ms;

	profile_init(&p);
	fill(&p);
	fill_metrics(&ms);
	w = session_create(path, false, &cause);
	CHECK(w != NULL, "session_create: %s", cause);
	if (w == NULL)
		exit(1);
	/* Two commits: the first bucket, then the rest. */
	CHECK(session_flush(w, &p, 1, &ms, NULL, 0, &cause), "flush: %s", cause);
	p.n_sealed = session_samples_written(w);
	CHECK(session_close(w, &p, &ms, NULL, 0, &cause), "close: %s", cause);
	profile_release(&p);
	metrics_release(&ms);
	check_sql(path);
	CHECK(session_load(path, &d, &cause) == SESSION_OK, "load: %s", cause);
	CHECK(strcmp(session_meta(&d, "schema_version"), "5") == 0, "schema_version %s",
	      session_meta(&d, "schema_version"));
	check_metrics(&d.metrics);
	CHECK(profile_thread_pid(&d.prof, 101) == 101 && profile_thread_pid(&d.prof, 102) == 4000,
	      "thread processes read as %u and %u, written 101 and 4000",
	      profile_thread_pid(&d.prof, 101), profile_thread_pid(&d.prof, 102));
	check_loaded(&d.prof);
	check_totals(&d.prof);
	check_interned(&d.prof, true);
	session_data_release(&d);
	unlink(path);
	free(path);
}

/* A session as siprof wrote it at schema 1 (and 2, which added gaps):
 * thread-samples only, no types table, six columns of samples. */
static const char old_schema[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE strings(id INTEGER PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE modules(id INTEGER PRIMARY KEY, path INTEGER NOT NULL,"
	" build_id INTEGER NOT NULL);"
	"CREATE TABLE frames(id INTEGER PRIMARY KEY, function INTEGER NOT NULL,"
	" file INTEGER NOT NULL, line INTEGER NOT NULL, module INTEGER NOT NULL,"
	" inlined INTEGER NOT NULL);"
	"CREATE TABLE stacks(id INTEGER PRIMARY KEY, parent INTEGER NOT NULL,"
	" frame INTEGER NOT NULL);"
	"CREATE TABLE threads(tid INTEGER PRIMARY KEY, name INTEGER NOT NULL);"
	"CREATE TABLE classes(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
	"CREATE TABLE samples(bucket INTEGER NOT NULL, tid INTEGER NOT NULL,"
	" stack INTEGER NOT NULL, class INTEGER NOT NULL, syscall INTEGER NOT NULL,"
	" count INTEGER NOT NULL);"
	"CREATE TABLE metrics(t INTEGER PRIMARY KEY, cpu_percent REAL NOT NULL,"
	" utime_ns INTEGER, stime_ns INTEGER, vm_size INTEGER, rss_anon INTEGER,"
	" rss_file INTEGER, rss_shmem INTEGER, rss_peak INTEGER, threads INTEGER,"
	" ctx_voluntary INTEGER, ctx_involuntary INTEGER, minflt INTEGER,"
	" majflt INTEGER, io_rchar INTEGER, io_wchar INTEGER, io_read_bytes INTEGER,"
	" io_write_bytes INTEGER, fds INTEGER);"
	"CREATE TABLE stats(key TEXT PRIMARY KEY, value REAL NOT NULL);"
	"INSERT INTO strings VALUES(1, 'main'), (2, 'app.c'), (3, '/usr/bin/app'),"
	" (4, 'run'), (5, 'compute'), (6, 'worker'), (7, 'wait_work');"
	"INSERT INTO modules VALUES(1, 3, 0);"
	"INSERT INTO frames VALUES(1, 1, 2, 10, 1, 0), (2, 4, 2, 20, 1, 0),"
	" (3, 5, 2, 30, 1, 1), (4, 7, 2, 30, 1, 2);"
	"INSERT INTO stacks VALUES(1, 0, 1), (2, 1, 2), (3, 2, 3), (4, 2, 4);"
	"INSERT INTO threads VALUES(101, 1), (102, 6);"
	/* Two rows of one key (the second came after the first was committed). */
	"INSERT INTO samples VALUES(0, 101, 3, 0, 0, 5), (0, 101, 3, 0, 0, 2),"
	" (0, 102, 4, 9, 202, 3), (1, 101, 3, 1, 0, 2);"
	/* Before schema 5: no heap columns. */
	"INSERT INTO metrics VALUES(0, 25, 1, 2, 3, 4, 5, 6, 7, 2, 8, 9, 10, 11, 12, 13, 14, 15, 16);";

static void
old_version(const char *dir, int version)
{
	char *path = xasprintf("%s/v%d.siprof", dir, version), *cause = NULL;
	char *sql = sqlite3_mprintf("%s INSERT INTO meta VALUES('schema_version', '%d');"
				    " INSERT INTO meta VALUES('pid', '4242');%s",
				    old_schema, version,
				    version >= 2 ? "CREATE TABLE gaps(id INTEGER PRIMARY KEY, start REAL"
						   " NOT NULL, end REAL, reason TEXT NOT NULL);"
						   "INSERT INTO gaps VALUES(1, 0.5, 0.75, 'suspended');"
						 : "");
	struct session_data d;
	sqlite3 *db;
	char *err = NULL;

	CHECK(sqlite3_open(path, &db) == SQLITE_OK &&
		      sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK,
	      "cannot write a version %d session: %s", version, err ? err : sqlite3_errmsg(db));
	sqlite3_free(err);
	sqlite3_free(sql);
	sqlite3_close(db);
	CHECK(session_load(path, &d, &cause) == SESSION_OK, "version %d: %s", version, cause);
	/* Read as thread-samples, value their count, in want[]'s terms. */
	for (size_t i = 0; i < d.prof.n_samples; i++) {
		const struct psample *s = &d.prof.samples[i];

		CHECK(s->type == PT_SAMPLES && s->value == s->count && s->max == 0,
		      "version %d: a sample of type %u, value %" PRIu64 " of %u", version, s->type,
		      s->value, s->count);
	}
	{
		struct selection sel;
		struct func_table ft;

		selection_init(&sel);
		analyze_functions(&d.prof, &sel, false, false, &ft);
		CHECK(ft.total == 12, "version %d: %" PRIu64 " thread-samples, 12 written", version,
		      ft.total);
		func_table_release(&ft);
		sel.cls = CLASS_SYSCALL;
		analyze_functions(&d.prof, &sel, false, false, &ft);
		CHECK(ft.total == 3 && ft.n > 0 &&
			      strcmp(profile_str(&d.prof, ft.funcs[0].function), "wait_work") == 0,
		      "version %d: the syscall class reads wrong", version);
		func_table_release(&ft);
	}
	CHECK(d.prof.n_frames == 5 && d.prof.frames[4].tailcall && d.prof.frames[3].inlined,
	      "version %d: frames read wrong", version);
	CHECK(d.n_gaps == (version >= 2 ? 1u : 0u), "version %d: %zu gaps", version, d.n_gaps);
	CHECK(d.metrics.n == 1 && !d.metrics.rows[0].have_heap && d.metrics.rows[0].m.fds == 16 &&
		      d.metrics.rows[0].m.threads == 2,
	      "version %d: the metrics row read wrong (%zu rows)", version, d.metrics.n);
	/* Before schema 4, every thread was in the session's one process. */
	CHECK(profile_thread_pid(&d.prof, 101) == 4242 && profile_thread_pid(&d.prof, 102) == 4242,
	      "version %d: threads in processes %u and %u, not the session's 4242", version,
	      profile_thread_pid(&d.prof, 101), profile_thread_pid(&d.prof, 102));
	check_interned(&d.prof, false);
	session_data_release(&d);
	unlink(path);
	free(path);
}

/* A type this siprof does not know (from a later one) is left out. */
static void
unknown_type(const char *dir)
{
	char *path = xasprintf("%s/unknown.siprof", dir), *cause = NULL;
	struct session_writer *w = session_create(path, false, &cause);
	struct session_data d;
	struct profile p;
	sqlite3 *db;

	profile_init(&p);
	fill(&p);
	CHECK(w != NULL && session_close(w, &p, NULL, NULL, 0, &cause), "write: %s", cause);
	profile_release(&p);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK &&
		      sqlite3_exec(db, "INSERT INTO types VALUES(40, 'future', 'x', 'x', 'sum');"
				       " INSERT INTO samples SELECT bucket, tid, stack, 0, 0, 99, 40,"
				       " 99, 0 FROM samples",
				   NULL, NULL, NULL) == SQLITE_OK,
	      "cannot add a type");
	sqlite3_close(db);
	CHECK(session_load(path, &d, &cause) == SESSION_OK, "load: %s", cause);
	check_loaded(&d.prof);
	session_data_release(&d);
	unlink(path);
	free(path);
}

int
main(void)
{
	char dir[] = "/tmp/unit-session.XXXXXX";

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	round_trip(dir);
	old_version(dir, 1);
	old_version(dir, 2);
	unknown_type(dir);
	rmdir(dir);
	return unit_exit("unit-session");
}
