/* metrics.h: the process's health, one row a second. */
#ifndef SIPROF_METRICS_H
#define SIPROF_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "heap.h"
#include "procfs.h"

struct metric_row {
	uint32_t t;         /* seconds since the session started */
	double cpu_percent; /* of the CPUs the process may use, over the last interval */
	/* ctx_voluntary and ctx_involuntary are every thread's: the live ones
	 * since they started, and those that exited during the session as
	 * last read (the kernel keeps no per-thread count of a thread gone). */
	struct proc_metrics m;
	/* glibc malloc's own accounting (heap.h), when it could be read. */
	bool have_heap;
	struct heap_stats heap;
};

/* The last context-switch counts read for one thread. */
struct metrics_thread {
	pid_t tid;
	uint64_t voluntary, involuntary;
};

struct metrics_series {
	struct metric_row *rows;
	size_t n, cap;
	/* For the next CPU%: */
	uint64_t last_cpu_ns, last_wall_ns;
	double capacity;
	pid_t pid;
	/* For the context switches: the live threads sorted by tid, and what
	 * the threads that exited had at their last reading. */
	struct metrics_thread *threads;
	size_t n_threads;
	uint64_t exited_voluntary, exited_involuntary;
	struct heap_reader *heap; /* NULL in a series read from a session */
};

void metrics_init(struct metrics_series *s, pid_t pid);
void metrics_release(struct metrics_series *s);
/* Read /proc now and append a row for second t. False when the process is
 * gone. */
bool metrics_sample(struct metrics_series *s, uint32_t t);
/* Why the newest row has no heap figures, or NULL when it has them. */
const char *metrics_heap_why(const struct metrics_series *s);
/* The newest row, or NULL. */
const struct metric_row *metrics_last(const struct metrics_series *s);

/* Resident memory of a row: anonymous, file and shared, in bytes. */
uint64_t metrics_rss(const struct metric_row *r);

/* RSS over rows [from, to): lowest, highest, and its rate of change from
 * the first row to the last in bytes a second (0 with fewer than two rows
 * or no time between them). */
struct metrics_range {
	double min, max, rate;
	uint32_t seconds; /* between the first row and the last */
};
void metrics_rss_range(const struct metrics_series *s, size_t from, size_t to,
		       struct metrics_range *out);

/* "+1.5 MiB/s", "-200.0 KiB/s", "+0 B/s": a rate of bytes a second, signed. */
void metrics_format_rate(double bytes_per_s, char *buf, size_t n);
/* "68.0 MiB": bytes in binary units. */
void metrics_format_bytes(double bytes, char *buf, size_t n);

#endif
