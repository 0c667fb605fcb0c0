/* metrics.h: the process's health, one row a second. */
#ifndef SIPROF_METRICS_H
#define SIPROF_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procfs.h"

struct metric_row {
	uint32_t t;         /* seconds since the session started */
	double cpu_percent; /* of the CPUs the process may use, over the last interval */
	struct proc_metrics m;
};

struct metrics_series {
	struct metric_row *rows;
	size_t n, cap;
	/* For the next CPU%: */
	uint64_t last_cpu_ns, last_wall_ns;
	double capacity;
	pid_t pid;
};

void metrics_init(struct metrics_series *s, pid_t pid);
void metrics_release(struct metrics_series *s);
/* Read /proc now and append a row for second t. False when the process is
 * gone. */
bool metrics_sample(struct metrics_series *s, uint32_t t);
/* The newest row, or NULL. */
const struct metric_row *metrics_last(const struct metrics_series *s);

#endif
