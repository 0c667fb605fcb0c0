/* session.c: SQLite schema, writer and reader. */
#include "config.h"

#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* How long a recording or a reader waits for the other to let go of a
 * lock (a checkpoint, the journal mode changed at the end) before it
 * gives up: SQLite's default is not to wait at all. */
#define SESSION_BUSY_MS 5000

static const char schema_sql[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE strings(id INTEGER PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE modules(id INTEGER PRIMARY KEY, path INTEGER NOT NULL,"
	" build_id INTEGER NOT NULL);"
	"CREATE TABLE frames(id INTEGER PRIMARY KEY, function INTEGER NOT NULL,"
	" file INTEGER NOT NULL, line INTEGER NOT NULL, module INTEGER NOT NULL,"
	" inlined INTEGER NOT NULL);"
	"CREATE TABLE stacks(id INTEGER PRIMARY KEY, parent INTEGER NOT NULL,"
	" frame INTEGER NOT NULL);"
	"CREATE TABLE threads(tid INTEGER PRIMARY KEY, name INTEGER NOT NULL,"
	" pid INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE classes(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
	"CREATE TABLE types(id INTEGER PRIMARY KEY, name TEXT NOT NULL, unit TEXT NOT NULL,"
	" count_unit TEXT NOT NULL, aggregation TEXT NOT NULL);"
	"CREATE TABLE samples(bucket INTEGER NOT NULL, tid INTEGER NOT NULL,"
	" stack INTEGER NOT NULL, class INTEGER NOT NULL, syscall INTEGER NOT NULL,"
	" count INTEGER NOT NULL, type INTEGER NOT NULL DEFAULT 0,"
	" value INTEGER NOT NULL DEFAULT 0, max INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE metrics(t INTEGER PRIMARY KEY, cpu_percent REAL NOT NULL,"
	" utime_ns INTEGER, stime_ns INTEGER, vm_size INTEGER, rss_anon INTEGER,"
	" rss_file INTEGER, rss_shmem INTEGER, rss_peak INTEGER, threads INTEGER,"
	" ctx_voluntary INTEGER, ctx_involuntary INTEGER, minflt INTEGER,"
	" majflt INTEGER, io_rchar INTEGER, io_wchar INTEGER, io_read_bytes INTEGER,"
	" io_write_bytes INTEGER, fds INTEGER, heap_system INTEGER, heap_inuse INTEGER,"
	" heap_arenas INTEGER);"
	"CREATE TABLE stats(key TEXT PRIMARY KEY, value REAL NOT NULL);"
	"CREATE TABLE gaps(id INTEGER PRIMARY KEY, start REAL NOT NULL, end REAL,"
	" reason TEXT NOT NULL);"
	"CREATE TABLE leaks(stack INTEGER PRIMARY KEY, bytes_per_second REAL NOT NULL,"
	" live_bytes INTEGER NOT NULL, windows INTEGER NOT NULL);"
	"CREATE VIEW frame_names AS SELECT f.id, fn.value AS function,"
	" fl.value AS file, f.line, mp.value AS module, f.inlined"
	" FROM frames f LEFT JOIN strings fn ON fn.id = f.function"
	" LEFT JOIN strings fl ON fl.id = f.file LEFT JOIN modules m ON m.id = f.module"
	" LEFT JOIN strings mp ON mp.id = m.path;";

enum { ST_META, ST_STRING, ST_MODULE, ST_FRAME, ST_STACK, ST_THREAD, ST_SAMPLE,
       ST_METRIC, ST_STAT, ST_GAP, ST_LEAK, ST_COUNT };

static const char *const insert_sql[ST_COUNT] = {
	[ST_META] = "INSERT OR REPLACE INTO meta VALUES(?, ?)",
	[ST_STRING] = "INSERT INTO strings VALUES(?, ?)",
	[ST_MODULE] = "INSERT INTO modules VALUES(?, ?, ?)",
	[ST_FRAME] = "INSERT INTO frames VALUES(?, ?, ?, ?, ?, ?)",
	[ST_STACK] = "INSERT INTO stacks VALUES(?, ?, ?)",
	[ST_THREAD] = "INSERT OR REPLACE INTO threads VALUES(?, ?, ?)",
	[ST_SAMPLE] = "INSERT INTO samples VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_METRIC] = "INSERT OR REPLACE INTO metrics VALUES(?, ?, ?, ?, ?, ?, ?, ?,"
		      " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_STAT] = "INSERT OR REPLACE INTO stats VALUES(?, ?)",
	[ST_GAP] = "INSERT OR REPLACE INTO gaps VALUES(?, ?, ?, ?)",
	[ST_LEAK] = "INSERT OR REPLACE INTO leaks VALUES(?, ?, ?, ?)",
};

struct session_writer {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *st[ST_COUNT];
	struct session_meta *meta;
	size_t n_meta, cap_meta;
	size_t done_strings, done_modules, done_frames, done_nodes, done_samples,
	       done_metrics;
	size_t threads_hash; /* cheap change detection for thread names */
	struct session_gap *gaps;
	bool *gap_dirty;
	size_t n_gaps, cap_gaps, cap_dirty;
	struct session_leak *leaks; /* the newest list, written with the next flush */
	size_t n_leaks, cap_leaks;
	bool leaks_dirty;
};

static void
db_cause(sqlite3 *db, char **cause, const char *what, const char *path)
{
	set_cause(cause, "cannot %s %s: %s", what, path, db ? sqlite3_errmsg(db) : "out of memory");
}


/* The files SQLite keeps beside a database while it is written. */
static const char *const side_suffix[] = { "-wal", "-shm", "-journal" };

/* What makes an existing file not one SQLite may be given: NULL when it is
 * a regular file of ours with no other name. */
static const char *
not_ours(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return "a symbolic link";
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (st->st_uid != geteuid())
		return "owned by another user";
	if (st->st_nlink != 1)
		return "a hard link to another file";
	return NULL;
}

/* SQLite opens side files that exist as it finds them: one planted in
 * advance would receive the session (a reader holding it open sees it
 * all), and a stale WAL would be applied to the new file. None may exist,
 * except ours, which force removes. */
static bool
check_side_files(const char *path, bool force, char **cause)
{
	for (size_t i = 0; i < ARRAY_SIZE(side_suffix); i++) {
		char *side = xasprintf("%s%s", path, side_suffix[i]);
		struct stat st;
		const char *why;

		if (lstat(side, &st) != 0) {
			if (errno != ENOENT) {
				set_cause(cause, "cannot check %s: %s", side, strerror(errno));
				free(side);
				return false;
			}
		} else if ((why = not_ours(&st)) != NULL) {
			set_cause(cause, "%s exists and is %s: siprof does not let SQLite use it; "
				  "remove it, or choose another name", side, why);
			free(side);
			return false;
		} else if (!force) {
			set_cause(cause, "%s exists, left by an earlier recording; remove it, or use "
				  "--force to replace it", side);
			free(side);
			return false;
		} else if (unlink(side) != 0 && errno != ENOENT) {
			set_cause(cause, "cannot remove %s: %s", side, strerror(errno));
			free(side);
			return false;
		}
		free(side);
	}
	return true;
}

/* Create the WAL and its index (the first two side files) ourselves,
 * empty, 0600, exclusively, so that the files SQLite opens are ours. */
static bool
create_side_files(const char *path, char **cause)
{
	for (size_t i = 0; i < 2; i++) {
		char *side = xasprintf("%s%s", path, side_suffix[i]);
		int fd = open(side, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd < 0) {
			if (errno == EEXIST)
				set_cause(cause, "%s appeared while siprof created %s: someone else "
					  "writes in this directory; choose one only you can change",
					  side, path);
			else
				set_cause(cause, "cannot create %s: %s", side, strerror(errno));
			free(side);
			while (i-- > 0) {
				side = xasprintf("%s%s", path, side_suffix[i]);
				unlink(side);
				free(side);
			}
			return false;
		}
		close(fd);
		free(side);
	}
	return true;
}

/* An empty session (the schema, the classes, the versions) as the
 * bytes of a database file, built in memory; sqlite3_free it. */
static unsigned char *
empty_session(sqlite3_int64 *size, char **cause)
{
	sqlite3 *db = NULL;
	unsigned char *img = NULL;
	char *sql_err = NULL;
	bool ok;

	ok = sqlite3_open(":memory:", &db) == SQLITE_OK &&
	     sqlite3_exec(db, "BEGIN", NULL, NULL, &sql_err) == SQLITE_OK &&
	     sqlite3_exec(db, schema_sql, NULL, NULL, &sql_err) == SQLITE_OK;
	for (int c = 0; ok && c < CLASS_COUNT; c++) {
		char *sql = sqlite3_mprintf("INSERT INTO classes VALUES(%d, %Q)", c,
					    class_name((enum sample_class)c));

		ok = sqlite3_exec(db, sql, NULL, NULL, &sql_err) == SQLITE_OK;
		sqlite3_free(sql);
	}
	for (unsigned t = 0; ok && t < PT_COUNT; t++) {
		const struct ptype *pt = ptype_get(t);
		char *sql = sqlite3_mprintf("INSERT INTO types VALUES(%u, %Q, %Q, %Q, %Q)", t,
					    pt->name, pt->unit, pt->count_unit,
					    pt->agg == PT_DIST ? "distribution" : "sum");

		ok = sqlite3_exec(db, sql, NULL, NULL, &sql_err) == SQLITE_OK;
		sqlite3_free(sql);
	}
	if (ok) {
		char *sql = sqlite3_mprintf("INSERT INTO meta VALUES('schema_version', '%d');"
					    " INSERT INTO meta VALUES('siprof_version', %Q); COMMIT",
					    SESSION_SCHEMA_VERSION, PACKAGE_VERSION);

		ok = sqlite3_exec(db, sql, NULL, NULL, &sql_err) == SQLITE_OK;
		sqlite3_free(sql);
	}
	if (ok)
		img = sqlite3_serialize(db, "main", size, 0);
	if (img == NULL || *size < 100) {
		set_cause(cause, "cannot build the session schema: %s",
			  sql_err ? sql_err : db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_free(img);
		img = NULL;
	} else {
		/* The header's write and read versions (bytes 18 and 19) say
		 * WAL: the file opens in WAL mode at once, without the rollback
		 * journal that switching to it would write. */
		img[18] = img[19] = 2;
	}
	sqlite3_free(sql_err);
	sqlite3_close(db);
	return img;
}

/* Put an empty session at path, whole: it is written to a temporary file
 * beside it and renamed into place, so that path is a readable session from
 * the moment it exists, and never replaces a file unless force. */
static bool
place_empty_session(const char *path, bool force, char **cause)
{
	sqlite3_int64 size;
	unsigned char *img = empty_session(&size, cause);
	char *tmp = NULL;
	int fd;
	bool ok;

	if (img == NULL)
		return false;
	fd = file_create_temp(path, &tmp, cause);
	if (fd < 0) {
		sqlite3_free(img);
		return false;
	}
	ok = write_all(fd, img, (size_t)size) && fsync(fd) == 0;
	if (!ok) {
		set_cause(cause, "cannot write %s: %s", path, strerror(errno));
		file_discard_temp(tmp);
	} else if (file_commit_temp(fd, tmp, path, force, cause) != 0) {
		if (errno == EEXIST)
			set_cause(cause, "%s exists; choose another name, or use --force to replace it",
				  path);
		ok = false;
	}
	close(fd);
	free(tmp);
	sqlite3_free(img);
	return ok;
}

/* Remove the session files session_create made. */
static void
remove_created(const char *path)
{
	unlink(path);
	for (size_t i = 0; i < 2; i++) {
		char *side = xasprintf("%s%s", path, side_suffix[i]);

		unlink(side);
		free(side);
	}
}

struct session_writer *
session_create(const char *path, bool force, char **cause)
{
	struct session_writer *w;
	struct stat st;

	if (!force && lstat(path, &st) == 0) {
		set_cause(cause, "%s exists; choose another name, or use --force to replace it", path);
		return NULL;
	}
	if (!check_side_files(path, force, cause) || !place_empty_session(path, force, cause))
		return NULL;
	if (!create_side_files(path, cause)) {
		unlink(path);
		return NULL;
	}
	w = xcalloc(1, sizeof *w);
	w->path = xstrdup(path);
	w->done_strings = w->done_modules = w->done_frames = w->done_nodes = 1;
	if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(w->db, SESSION_BUSY_MS) != SQLITE_OK ||
	    sqlite3_exec(w->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
			 NULL) != SQLITE_OK) {
		db_cause(w->db, cause, "open", path);
		session_abandon(w);
		remove_created(path);
		return NULL;
	}
	for (int i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v2(w->db, insert_sql[i], -1, &w->st[i], NULL) != SQLITE_OK) {
			db_cause(w->db, cause, "prepare statements for", path);
			session_abandon(w);
			remove_created(path);
			return NULL;
		}
	}
	return w;
}

void
session_set_meta(struct session_writer *w, const char *key, const char *value)
{
	for (size_t i = 0; i < w->n_meta; i++) {
		if (strcmp(w->meta[i].key, key) == 0) {
			free(w->meta[i].value);
			w->meta[i].value = xstrdup(value);
			return;
		}
	}
	GROW(w->meta, w->cap_meta, w->n_meta + 1);
	w->meta[w->n_meta].key = xstrdup(key);
	w->meta[w->n_meta].value = xstrdup(value);
	w->n_meta++;
}

void
session_set_leaks(struct session_writer *w, const struct session_leak *leaks, size_t n)
{
	GROW(w->leaks, w->cap_leaks, n + 1);
	memcpy(w->leaks, leaks, n * sizeof *leaks);
	w->n_leaks = n;
	w->leaks_dirty = true;
}

void
session_mark_gap(struct session_writer *w, const struct session_gap *gap)
{
	size_t i;

	for (i = 0; i < w->n_gaps && w->gaps[i].start != gap->start; i++)
		;
	if (i == w->n_gaps) {
		GROW(w->gaps, w->cap_gaps, w->n_gaps + 1);
		GROW(w->gap_dirty, w->cap_dirty, w->n_gaps + 1);
		w->n_gaps++;
	} else {
		free((char *)w->gaps[i].reason);
	}
	w->gaps[i] = *gap;
	w->gaps[i].reason = xstrdup(gap->reason);
	w->gap_dirty[i] = true;
}

static bool
step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE;
}

static bool
write_new(struct session_writer *w, const struct profile *p, uint32_t before,
	  const struct metrics_series *ms, const struct session_stat *stats, size_t nstats)
{
	sqlite3_stmt *st;
	size_t end;

	for (size_t i = 0; i < w->n_meta; i++) {
		st = w->st[ST_META];
		sqlite3_bind_text(st, 1, w->meta[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, w->meta[i].value, -1, SQLITE_STATIC);
		if (!step(st))
			return false;
	}
	for (; w->done_strings < p->n_strings; w->done_strings++) {
		st = w->st[ST_STRING];
		sqlite3_bind_int64(st, 1, (sqlite3_int64)w->done_strings);
		sqlite3_bind_text(st, 2, p->strings[w->done_strings], -1, SQLITE_STATIC);
		if (!step(st))
			return false;
	}
	for (; w->done_modules < p->n_modules; w->done_modules++) {
		const struct pmodule *m = &p->modules[w->done_modules];

		st = w->st[ST_MODULE];
		sqlite3_bind_int64(st, 1, (sqlite3_int64)w->done_modules);
		sqlite3_bind_int64(st, 2, m->path);
		sqlite3_bind_int64(st, 3, m->build_id);
		if (!step(st))
			return false;
	}
	for (; w->done_frames < p->n_frames; w->done_frames++) {
		const struct pframe *f = &p->frames[w->done_frames];

		st = w->st[ST_FRAME];
		sqlite3_bind_int64(st, 1, (sqlite3_int64)w->done_frames);
		sqlite3_bind_int64(st, 2, f->function);
		sqlite3_bind_int64(st, 3, f->file);
		sqlite3_bind_int64(st, 4, f->line);
		sqlite3_bind_int64(st, 5, f->module);
		/* The inlined column holds the frame's kind: 0 a machine frame,
		 * 1 inlined, 2 a tail call (readers before it take it for 1). */
		sqlite3_bind_int(st, 6, f->tailcall ? 2 : f->inlined);
		if (!step(st))
			return false;
	}
	for (; w->done_nodes < p->n_nodes; w->done_nodes++) {
		const struct pnode *n = &p->nodes[w->done_nodes];

		st = w->st[ST_STACK];
		sqlite3_bind_int64(st, 1, (sqlite3_int64)w->done_nodes);
		sqlite3_bind_int64(st, 2, n->parent);
		sqlite3_bind_int64(st, 3, n->frame);
		if (!step(st))
			return false;
	}
	/* Threads are few: rewrite them all (names change). */
	for (size_t i = 0; i < p->n_threads; i++) {
		st = w->st[ST_THREAD];
		sqlite3_bind_int64(st, 1, p->threads[i].tid);
		sqlite3_bind_int64(st, 2, p->threads[i].name);
		sqlite3_bind_int64(st, 3, p->threads[i].pid);
		if (!step(st))
			return false;
	}
	for (end = w->done_samples; end < p->n_samples && p->samples[end].bucket < before; end++)
		;
	for (; w->done_samples < end; w->done_samples++) {
		const struct psample *s = &p->samples[w->done_samples];

		st = w->st[ST_SAMPLE];
		sqlite3_bind_int64(st, 1, s->bucket);
		sqlite3_bind_int64(st, 2, s->tid);
		sqlite3_bind_int64(st, 3, s->stack);
		sqlite3_bind_int(st, 4, s->class);
		sqlite3_bind_int(st, 5, s->sysnr);
		sqlite3_bind_int64(st, 6, s->count);
		sqlite3_bind_int(st, 7, s->type);
		sqlite3_bind_int64(st, 8, (sqlite3_int64)(s->value <= INT64_MAX ? s->value : INT64_MAX));
		sqlite3_bind_int64(st, 9, (sqlite3_int64)(s->max <= INT64_MAX ? s->max : INT64_MAX));
		if (!step(st))
			return false;
	}
	for (; ms != NULL && w->done_metrics < ms->n; w->done_metrics++) {
		const struct metric_row *r = &ms->rows[w->done_metrics];
		const uint64_t v[] = {
			r->m.utime_ns, r->m.stime_ns, r->m.vm_size, r->m.rss_anon,
			r->m.rss_file, r->m.rss_shmem, r->m.rss_peak, r->m.threads,
			r->m.ctx_voluntary, r->m.ctx_involuntary, r->m.minflt, r->m.majflt,
			r->m.io_rchar, r->m.io_wchar, r->m.io_read_bytes, r->m.io_write_bytes,
			r->m.fds,
		};

		st = w->st[ST_METRIC];
		sqlite3_bind_int64(st, 1, r->t);
		sqlite3_bind_double(st, 2, r->cpu_percent);
		for (size_t k = 0; k < ARRAY_SIZE(v); k++) {
			bool io = k >= 12 && k <= 15;

			if (io && !r->m.have_io)
				sqlite3_bind_null(st, (int)k + 3);
			else
				sqlite3_bind_int64(st, (int)k + 3, (sqlite3_int64)v[k]);
		}
		/* Schema 5: glibc malloc's accounting, NULL where it was not read. */
		{
			const uint64_t heap[] = { r->heap.system, r->heap.inuse, r->heap.arenas };

			for (size_t k = 0; k < ARRAY_SIZE(heap); k++) {
				int col = (int)(ARRAY_SIZE(v) + 3 + k);

				if (r->have_heap)
					sqlite3_bind_int64(st, col, (sqlite3_int64)heap[k]);
				else
					sqlite3_bind_null(st, col);
			}
		}
		if (!step(st))
			return false;
	}
	for (size_t i = 0; i < w->n_gaps; i++) {
		if (!w->gap_dirty[i])
			continue;
		st = w->st[ST_GAP];
		sqlite3_bind_int64(st, 1, (sqlite3_int64)i + 1);
		sqlite3_bind_double(st, 2, w->gaps[i].start);
		if (w->gaps[i].end >= 0)
			sqlite3_bind_double(st, 3, w->gaps[i].end);
		else
			sqlite3_bind_null(st, 3);
		sqlite3_bind_text(st, 4, w->gaps[i].reason, -1, SQLITE_STATIC);
		if (!step(st))
			return false;
	}
	if (w->leaks_dirty) {
		/* The list as it is now: a site that stopped rising is no
		 * suspect any more. */
		if (sqlite3_exec(w->db, "DELETE FROM leaks", NULL, NULL, NULL) != SQLITE_OK)
			return false;
		for (size_t i = 0; i < w->n_leaks; i++) {
			st = w->st[ST_LEAK];
			sqlite3_bind_int64(st, 1, w->leaks[i].stack);
			sqlite3_bind_double(st, 2, w->leaks[i].bytes_per_s);
			sqlite3_bind_int64(st, 3, (sqlite3_int64)w->leaks[i].live_bytes);
			sqlite3_bind_int64(st, 4, w->leaks[i].windows);
			if (!step(st))
				return false;
		}
	}
	for (size_t i = 0; i < nstats; i++) {
		st = w->st[ST_STAT];
		sqlite3_bind_text(st, 1, stats[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 2, stats[i].value);
		if (!step(st))
			return false;
	}
	return true;
}

bool
session_flush(struct session_writer *w, const struct profile *p, uint32_t before,
	      const struct metrics_series *metrics, const struct session_stat *stats,
	      size_t nstats, char **cause)
{
	if (sqlite3_exec(w->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (!write_new(w, p, before, metrics, stats, nstats)) {
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
		goto fail;
	}
	if (sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < w->n_gaps; i++)
		w->gap_dirty[i] = false;
	w->leaks_dirty = false;
	return true;
fail:
	db_cause(w->db, cause, "write", w->path);
	return false;
}

size_t
session_samples_written(const struct session_writer *w)
{
	return w->done_samples;
}

static void
writer_free(struct session_writer *w)
{
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(w->st[i]);
	sqlite3_close(w->db);
	for (size_t i = 0; i < w->n_meta; i++) {
		free(w->meta[i].key);
		free(w->meta[i].value);
	}
	free(w->meta);
	for (size_t i = 0; i < w->n_gaps; i++)
		free((char *)w->gaps[i].reason);
	free(w->gaps);
	free(w->gap_dirty);
	free(w->leaks);
	free(w->path);
	free(w);
}

bool
session_close(struct session_writer *w, const struct profile *p,
	      const struct metrics_series *metrics, const struct session_stat *stats,
	      size_t nstats, char **cause)
{
	bool ok = session_flush(w, p, UINT32_MAX, metrics, stats, nstats, cause);
	int rc;

	/* Everything is committed; what is left folds the WAL into the file.
	 * A reader that keeps the session open past the busy wait leaves the
	 * WAL beside it, which SQLite (and siprof) read as part of the file. */
	if (ok && (rc = sqlite3_exec(w->db, "PRAGMA wal_checkpoint(TRUNCATE);"
				     " PRAGMA journal_mode=MEMORY;", NULL, NULL, NULL)) != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
			warn_msg("another program has %s open: its -wal file stays beside it "
				 "until the last reader closes it (the session is whole)", w->path);
		} else {
			db_cause(w->db, cause, "finish", w->path);
			ok = false;
		}
	}
	writer_free(w);
	return ok;
}

void
session_abandon(struct session_writer *w)
{
	if (w != NULL)
		writer_free(w);
}

/* ---- reading ---- */

static enum session_error
load_error(sqlite3 *db, const char *path, char **cause)
{
	int code = sqlite3_errcode(db) & 0xff;

	if (code == SQLITE_NOTADB) {
		set_cause(cause, "%s is not a siprof session (not an SQLite database)", path);
		return SESSION_NOT_SESSION;
	}
	/* SQLite may quote the damaged schema text, which comes from the file:
	 * messages escape what they print (util.c), so it stays one line. */
	set_cause(cause, "%s is damaged or truncated (%.200s); a recording that was killed "
		  "keeps what it committed, but this file cannot be read", path,
		  sqlite3_errmsg(db));
	return SESSION_CORRUPT;
}

#define LOAD_TABLE(db, sql, stmt, ...)                                          \
	do {                                                                     \
		int rc_;                                                         \
		if (sqlite3_prepare_v2((db), (sql), -1, &(stmt), NULL) != SQLITE_OK) \
			goto db_fail;                                            \
		while ((rc_ = sqlite3_step(stmt)) == SQLITE_ROW) {               \
			__VA_ARGS__                                              \
		}                                                                \
		sqlite3_finalize(stmt);                                          \
		stmt = NULL;                                                     \
		if (rc_ != SQLITE_DONE)                                          \
			goto db_fail;                                            \
	} while (0)

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

/* Ids must be dense from 1 (as written); anything else is damage. */
#define EXPECT_ID(st, have) \
	if (sqlite3_column_int64((st), 0) != (sqlite3_int64)(have)) goto bad_ids;

/* What a file that is not a regular file is, for a message. */
static const char *
file_kind(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/* Strings, modules, frames, stacks, threads and samples into p, through
 * the profile API (so that its indexes hold what was read), each id of the
 * file mapped to p's: equal entries that the file holds twice become one.
 * False on a database error (*sqlite_error set) or damage. */
static bool
load_profile(sqlite3 *db, long version, struct profile *p, bool *sqlite_error)
{
	struct { uint32_t *id; size_t n, cap; } str = { 0 }, mod = { 0 }, frm = { 0 }, node = { 0 };
	int type_of[64]; /* the file's type id -> ours, -1 unknown */
	size_t n_types = 0;
	sqlite3_stmt *st = NULL;
	bool ok = false;

	*sqlite_error = false;
#define MAP_PUSH(m, v)                              \
	do {                                        \
		GROW((m).id, (m).cap, (m).n + 1);   \
		(m).id[(m).n++] = (v);              \
	} while (0)
	/* Id 0 is none in every table. */
	MAP_PUSH(str, 0);
	MAP_PUSH(mod, 0);
	MAP_PUSH(frm, 0);
	MAP_PUSH(node, 0);
	LOAD_TABLE(db, "SELECT id, value FROM strings ORDER BY id", st, {
		EXPECT_ID(st, str.n);
		MAP_PUSH(str, profile_string(p, col_text(st, 1)));
	});
	LOAD_TABLE(db, "SELECT id, path, build_id FROM modules ORDER BY id", st, {
		sqlite3_int64 path = sqlite3_column_int64(st, 1), bid = sqlite3_column_int64(st, 2);

		EXPECT_ID(st, mod.n);
		if (path < 0 || (size_t)path >= str.n || bid < 0 || (size_t)bid >= str.n)
			goto bad_ids;
		MAP_PUSH(mod, profile_module(p, profile_str(p, str.id[path]),
					     profile_str(p, str.id[bid])));
	});
	LOAD_TABLE(db, "SELECT id, function, file, line, module, inlined FROM frames"
		   " ORDER BY id", st, {
		sqlite3_int64 fn = sqlite3_column_int64(st, 1), file = sqlite3_column_int64(st, 2);
		sqlite3_int64 m = sqlite3_column_int64(st, 4);
		int kind = sqlite3_column_int(st, 5);
		struct pframe f = { .line = sqlite3_column_int(st, 3),
				    .inlined = kind != 0 && kind != 2, .tailcall = kind == 2 };

		EXPECT_ID(st, frm.n);
		if (fn < 0 || (size_t)fn >= str.n || file < 0 || (size_t)file >= str.n || m < 0 ||
		    (size_t)m >= mod.n)
			goto bad_ids;
		f.function = str.id[fn];
		f.file = str.id[file];
		f.module = mod.id[m];
		MAP_PUSH(frm, profile_frame(p, &f));
	});
	LOAD_TABLE(db, "SELECT id, parent, frame FROM stacks ORDER BY id", st, {
		sqlite3_int64 parent = sqlite3_column_int64(st, 1), frame = sqlite3_column_int64(st, 2);

		EXPECT_ID(st, node.n);
		if (parent < 0 || (size_t)parent >= node.n || frame < 0 || (size_t)frame >= frm.n)
			goto bad_ids;
		MAP_PUSH(node, profile_node(p, node.id[parent], frm.id[frame]));
	});
	/* Version 4 says which process each thread was in; before, every
	 * thread was the session's one process (session_load sets it). */
	LOAD_TABLE(db, version >= 4 ? "SELECT tid, name, pid FROM threads"
				    : "SELECT tid, name, 0 FROM threads", st, {
		sqlite3_int64 name = sqlite3_column_int64(st, 1);
		sqlite3_int64 pid = sqlite3_column_int64(st, 2);

		profile_thread(p, (uint32_t)sqlite3_column_int64(st, 0),
			       name >= 0 && (size_t)name < str.n ? profile_str(p, str.id[name]) : "");
		if (pid > 0 && pid <= INT32_MAX)
			profile_thread_set_pid(p, (uint32_t)sqlite3_column_int64(st, 0),
					       (uint32_t)pid);
	});
	/* Types by name: a type this siprof does not know is left out. Before
	 * version 3 every sample counted thread-samples. */
	if (version >= 3) {
		for (size_t i = 0; i < ARRAY_SIZE(type_of); i++)
			type_of[i] = -1;
		LOAD_TABLE(db, "SELECT id, name FROM types ORDER BY id", st, {
			sqlite3_int64 id = sqlite3_column_int64(st, 0);

			if (id >= 0 && id < (sqlite3_int64)ARRAY_SIZE(type_of))
				type_of[id] = ptype_find(col_text(st, 1));
		});
		n_types = ARRAY_SIZE(type_of);
	}
	LOAD_TABLE(db, version >= 3 ? "SELECT bucket, tid, stack, class, syscall, count, type,"
				      " value, max FROM samples ORDER BY bucket"
				    : "SELECT bucket, tid, stack, class, syscall, count, 0, 0, 0"
				      " FROM samples ORDER BY bucket", st, {
		sqlite3_int64 stack = sqlite3_column_int64(st, 2), type = sqlite3_column_int64(st, 6);
		sqlite3_int64 value = sqlite3_column_int64(st, 7), max = sqlite3_column_int64(st, 8);
		struct psample s = {
			.bucket = (uint32_t)sqlite3_column_int64(st, 0),
			.tid = (uint32_t)sqlite3_column_int64(st, 1),
			.class = (uint16_t)sqlite3_column_int(st, 3),
			.sysnr = (uint16_t)sqlite3_column_int(st, 4),
			.count = (uint32_t)sqlite3_column_int64(st, 5) };
		const struct ptype *pt;

		if (stack < 0 || (size_t)stack >= node.n || sqlite3_column_int(st, 3) < 0 ||
		    sqlite3_column_int(st, 3) >= CLASS_COUNT)
			goto bad_ids;
		if (n_types > 0) {
			if (type < 0 || type >= (sqlite3_int64)n_types)
				goto bad_ids;
			if (type_of[type] < 0)
				continue;
			s.type = (uint16_t)type_of[type];
		}
		pt = ptype_get(s.type);
		s.stack = node.id[stack];
		/* A type that counts itself has its count for value. */
		s.value = pt->weighted ? (uint64_t)(value > 0 ? value : 0) : s.count;
		s.max = (uint64_t)(max > 0 ? max : 0);
		if (!profile_add_sample(p, &s))
			goto bad_ids;
	});
	ok = true;
	goto done;
bad_ids:
	sqlite3_finalize(st);
	goto done;
db_fail:
	sqlite3_finalize(st);
	*sqlite_error = true;
done:
#undef MAP_PUSH
	free(str.id);
	free(mod.id);
	free(frm.id);
	free(node.id);
	return ok;
}

enum session_error
session_load(const char *path, struct session_data *d, char **cause)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	enum session_error err;
	struct stat sb;
	long version;
	const char *v;
	int rc;

	memset(d, 0, sizeof *d);
	profile_init(&d->prof);
	/* Before SQLite opens it: opening a FIFO blocks until someone writes,
	 * and a device or a directory is no session either. */
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		set_cause(cause, "%s is %s, not a session file: siprof reads sessions from "
			  "regular files only", path, file_kind(sb.st_mode));
		return SESSION_NOT_SESSION;
	}
	if (access(path, R_OK) != 0) {
		set_cause(cause, "cannot read %s: %s", path, strerror(errno));
		return SESSION_MISSING;
	}
	/* Read-only first; a file left by a killed recording has a WAL that
	 * only a read-write open can apply (it changes no data). */
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db, SESSION_BUSY_MS);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_NOTADB && (rc & 0xff) != SQLITE_CORRUPT) {
		sqlite3_close(db);
		db = NULL;
		rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_busy_timeout(db, SESSION_BUSY_MS);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		err = load_error(db, path, cause);
		sqlite3_close(db);
		return err;
	}
	rc = sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_ERROR)
			set_cause(cause, "%s is an SQLite database but not a siprof session", path);
		err = (rc & 0xff) == SQLITE_ERROR ? SESSION_NOT_SESSION : load_error(db, path, cause);
		sqlite3_close(db);
		return err;
	}
	sqlite3_finalize(st);
	st = NULL;
	LOAD_TABLE(db, "SELECT key, value FROM meta", st, {
		GROW(d->meta, d->cap_meta, d->n_meta + 1);
		d->meta[d->n_meta].key = xstrdup(col_text(st, 0));
		d->meta[d->n_meta].value = xstrdup(col_text(st, 1));
		d->n_meta++;
	});
	v = session_meta(d, "schema_version");
	if (v == NULL || !parse_long(v, 1, 1000000, &version)) {
		set_cause(cause, "%s is an SQLite database but not a siprof session", path);
		sqlite3_close(db);
		return SESSION_NOT_SESSION;
	}
	if (version > SESSION_SCHEMA_VERSION) {
		set_cause(cause, "%s was written by a newer siprof (session schema %ld; this "
			  "siprof reads up to %d): upgrade siprof to read it", path, version,
			  SESSION_SCHEMA_VERSION);
		sqlite3_close(db);
		return SESSION_NEWER;
	}
	{
		bool sqlite_error;

		if (!load_profile(db, version, &d->prof, &sqlite_error)) {
			if (sqlite_error)
				goto db_fail;
			goto bad_ids;
		}
		if (version < 4) {
			uint64_t pid = session_meta_u64(d, "pid");

			for (size_t i = 0; i < d->prof.n_threads && pid <= INT32_MAX; i++)
				d->prof.threads[i].pid = (uint32_t)pid;
		}
		/* Read back, every row is on disk. */
		d->prof.n_sealed = d->prof.n_samples;
	}
	/* Before schema 5 the metrics had no heap columns. */
	LOAD_TABLE(db, version >= 5
		   ? "SELECT t, cpu_percent, utime_ns, stime_ns, vm_size, rss_anon, rss_file,"
		     " rss_shmem, rss_peak, threads, ctx_voluntary, ctx_involuntary, minflt, majflt,"
		     " io_rchar, io_wchar, io_read_bytes, io_write_bytes, fds, heap_system,"
		     " heap_inuse, heap_arenas FROM metrics ORDER BY t"
		   : "SELECT t, cpu_percent, utime_ns, stime_ns, vm_size, rss_anon, rss_file,"
		     " rss_shmem, rss_peak, threads, ctx_voluntary, ctx_involuntary, minflt, majflt,"
		     " io_rchar, io_wchar, io_read_bytes, io_write_bytes, fds, NULL, NULL, NULL"
		     " FROM metrics ORDER BY t",
		   st, {
		struct metric_row r = { .t = (uint32_t)sqlite3_column_int64(st, 0),
					.cpu_percent = sqlite3_column_double(st, 1) };
		uint64_t *col[] = { &r.m.utime_ns, &r.m.stime_ns, &r.m.vm_size, &r.m.rss_anon,
				  &r.m.rss_file, &r.m.rss_shmem, &r.m.rss_peak, &r.m.threads,
				  &r.m.ctx_voluntary, &r.m.ctx_involuntary, &r.m.minflt,
				  &r.m.majflt, &r.m.io_rchar, &r.m.io_wchar, &r.m.io_read_bytes,
				  &r.m.io_write_bytes, &r.m.fds };

		for (size_t k = 0; k < ARRAY_SIZE(col); k++)
			*col[k] = (uint64_t)sqlite3_column_int64(st, (int)k + 2);
		r.m.have_io = sqlite3_column_type(st, 14) != SQLITE_NULL;
		r.have_heap = sqlite3_column_type(st, 19) != SQLITE_NULL &&
			      sqlite3_column_type(st, 20) != SQLITE_NULL &&
			      sqlite3_column_type(st, 21) != SQLITE_NULL;
		if (r.have_heap) {
			r.heap.system = (uint64_t)sqlite3_column_int64(st, 19);
			r.heap.inuse = (uint64_t)sqlite3_column_int64(st, 20);
			r.heap.arenas = (uint32_t)sqlite3_column_int64(st, 21);
		}
		GROW(d->metrics.rows, d->metrics.cap, d->metrics.n + 1);
		d->metrics.rows[d->metrics.n++] = r;
	});
	/* Version 1 had no gaps. */
	if (version >= 2)
		LOAD_TABLE(db, "SELECT start, end, reason FROM gaps ORDER BY id", st, {
			double start = sqlite3_column_double(st, 0);
			double end = sqlite3_column_type(st, 1) == SQLITE_NULL
					     ? -1 : sqlite3_column_double(st, 1);

			/* A gap outside any session's time is damage: left out. */
			if (!(start >= 0 && start <= 4e9) || !(end == -1 || (end >= start && end <= 4e9)))
				continue;
			GROW(d->gaps, d->cap_gaps, d->n_gaps + 1);
			d->gaps[d->n_gaps++] = (struct session_gap){
				.start = start, .end = end, .reason = xstrdup(col_text(st, 2)) };
		});
	/* Version 5 added the leak suspects. */
	if (version >= 5)
		LOAD_TABLE(db, "SELECT stack, bytes_per_second, live_bytes, windows FROM leaks"
			       " ORDER BY bytes_per_second DESC", st, {
			sqlite3_int64 stack = sqlite3_column_int64(st, 0);

			/* A stack that is not the profile's is damage: left out. */
			if (stack <= 0 || (size_t)stack >= d->prof.n_nodes)
				continue;
			GROW(d->leaks, d->cap_leaks, d->n_leaks + 1);
			d->leaks[d->n_leaks++] = (struct session_leak){
				.stack = (uint32_t)stack,
				.bytes_per_s = sqlite3_column_double(st, 1),
				.live_bytes = (uint64_t)sqlite3_column_int64(st, 2),
				.windows = (unsigned)sqlite3_column_int64(st, 3) };
		});
	LOAD_TABLE(db, "SELECT key, value FROM stats", st, {
		GROW(d->stats, d->cap_stats, d->n_stats + 1);
		d->stats[d->n_stats].key = xstrdup(col_text(st, 0));
		d->stats[d->n_stats].value = xstrdup(col_text(st, 1));
		d->n_stats++;
	});
	sqlite3_close(db);
	return SESSION_OK;

bad_ids:
	sqlite3_finalize(st);
	set_cause(cause, "%s is damaged: its tables do not refer to each other correctly", path);
	sqlite3_close(db);
	return SESSION_CORRUPT;
db_fail:
	sqlite3_finalize(st);
	err = load_error(db, path, cause);
	sqlite3_close(db);
	return err;
}

void
session_data_release(struct session_data *d)
{
	profile_release(&d->prof);
	metrics_release(&d->metrics);
	for (size_t i = 0; i < d->n_meta; i++) {
		free(d->meta[i].key);
		free(d->meta[i].value);
	}
	free(d->meta);
	for (size_t i = 0; i < d->n_stats; i++) {
		free(d->stats[i].key);
		free(d->stats[i].value);
	}
	free(d->stats);
	for (size_t i = 0; i < d->n_gaps; i++)
		free((char *)d->gaps[i].reason);
	free(d->gaps);
	free(d->leaks);
	memset(d, 0, sizeof *d);
}

const char *
session_meta(const struct session_data *d, const char *key)
{
	for (size_t i = 0; i < d->n_meta; i++)
		if (strcmp(d->meta[i].key, key) == 0)
			return d->meta[i].value;
	return NULL;
}

double
session_stat(const struct session_data *d, const char *key)
{
	double v;

	for (size_t i = 0; i < d->n_stats; i++)
		if (strcmp(d->stats[i].key, key) == 0)
			return parse_number(d->stats[i].value, NUM_FRACTION | NUM_EXPONENT, 0, 1e15,
					    &v, NULL) ? v : 0;
	return 0;
}

double
session_duration(const struct session_data *d)
{
	double v = session_stat(d, "duration_s");

	return v <= 4e9 ? v : 0;
}

uint64_t
session_meta_u64(const struct session_data *d, const char *key)
{
	const char *s = session_meta(d, key);
	long v;

	return s != NULL && parse_long(s, 0, LONG_MAX, &v) ? (uint64_t)v : 0;
}
