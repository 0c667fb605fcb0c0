/* session.h: the session file, one SQLite database.
 *
 * Written in WAL mode and committed every second, so that a recording
 * killed at any moment leaves a readable file missing at most the last
 * second; created 0600. The schema is documented in siprof-session(5) and
 * versioned: a reader refuses a newer major version. */
#ifndef SIPROF_SESSION_H
#define SIPROF_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "profile.h"

#define SESSION_SCHEMA_VERSION 5

struct session_writer;

/* A named number kept in the stats table. */
struct session_stat {
	const char *key;
	double value;
};

/* A time nobody sampled (siprof was suspended), in seconds since the
 * start; end is -1 while it lasts. */
struct session_gap {
	double start, end;
	const char *reason; /* "suspended" */
};

/* Create path, refusing to replace an existing file unless force: an empty
 * session is renamed into place whole (path is readable from the moment it
 * exists), and its -wal and -shm are made by siprof, mode 0600, before
 * SQLite opens them. Side files already there are refused, except the
 * user's own, which force removes. */
struct session_writer *session_create(const char *path, bool force, char **cause);
/* Set a context value (meta table); written with the next flush. */
void session_set_meta(struct session_writer *w, const char *key, const char *value);
/* Record a gap, or (same start) its end; written with the next flush. */
void session_mark_gap(struct session_writer *w, const struct session_gap *gap);
/* Write what is new in p (samples of buckets before `before` only, the
 * newest bucket being still open), in metrics, and the stats; one commit. */
bool session_flush(struct session_writer *w, const struct profile *p, uint32_t before,
		   const struct metrics_series *metrics, const struct session_stat *stats,
		   size_t nstats, char **cause);
/* How many of the profile's samples, from the first, are on disk: rows
 * that must not change any more (profile.n_sealed). */
size_t session_samples_written(const struct session_writer *w);
/* Flush everything, fold the WAL back into the file and close it. */
bool session_close(struct session_writer *w, const struct profile *p,
		   const struct metrics_series *metrics, const struct session_stat *stats,
		   size_t nstats, char **cause);
/* Close without finishing (after an error). */
void session_abandon(struct session_writer *w);

/* Why a session could not be read. */
enum session_error {
	SESSION_OK,
	SESSION_MISSING,     /* cannot open the file */
	SESSION_NOT_SESSION, /* not SQLite, or SQLite without siprof's tables */
	SESSION_NEWER,       /* written by a newer siprof */
	SESSION_CORRUPT,     /* damaged or truncated */
};

/* A leak suspect: a call site whose allocations not freed kept rising
 * from one probing window to the next (alloc.h). */
struct session_leak {
	uint32_t stack;     /* the allocating stack, the call site innermost */
	double bytes_per_s; /* its estimated growth */
	uint64_t live_bytes; /* allocated there, seen and not freed */
	unsigned windows;   /* windows it rose over */
};

/* The leak suspects now, replacing the last list; written with the next
 * flush. */
void session_set_leaks(struct session_writer *w, const struct session_leak *leaks, size_t n);

struct session_meta {
	char *key, *value;
};

/* A session read back. */
struct session_data {
	struct profile prof;
	struct metrics_series metrics;
	struct session_meta *meta;
	size_t n_meta, cap_meta;
	struct session_meta *stats; /* value as text */
	size_t n_stats, cap_stats;
	struct session_gap *gaps; /* in the order they happened */
	size_t n_gaps, cap_gaps;
	struct session_leak *leaks; /* fastest-growing first */
	size_t n_leaks, cap_leaks;
};

/* Read the session at path, a regular file (anything else is refused
 * before SQLite opens it: a FIFO would block). */
enum session_error session_load(const char *path, struct session_data *d, char **cause);
void session_data_release(struct session_data *d);
/* A meta value, or NULL. */
const char *session_meta(const struct session_data *d, const char *key);
/* A stats value: a finite number from 0 to 1e15 (counts and times are
 * never negative), or 0 when it is missing or anything else. */
double session_stat(const struct session_data *d, const char *key);
/* The duration_s stat, from 0 to 4e9 seconds (so that it converts to
 * nanoseconds in 64 bits), or 0. */
double session_duration(const struct session_data *d);
/* A meta value that is a whole number from 0 (start_unix_ns, pid), or 0. */
uint64_t session_meta_u64(const struct session_data *d, const char *key);

#endif
