/* metrics.c: CPU% as a share of the CPUs the process may use. */
#include "config.h"

#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void
metrics_init(struct metrics_series *s, pid_t pid)
{
	memset(s, 0, sizeof *s);
	s->pid = pid;
	s->capacity = procfs_cpu_capacity(pid);
}

void
metrics_release(struct metrics_series *s)
{
	free(s->rows);
	memset(s, 0, sizeof *s);
}

bool
metrics_sample(struct metrics_series *s, uint32_t t)
{
	struct metric_row row = { .t = t };
	uint64_t now = now_ns(), cpu;

	if (!procfs_metrics(s->pid, &row.m))
		return false;
	cpu = row.m.utime_ns + row.m.stime_ns;
	if (s->last_wall_ns != 0 && now > s->last_wall_ns && cpu >= s->last_cpu_ns)
		row.cpu_percent = 100.0 * (double)(cpu - s->last_cpu_ns) /
				  (double)(now - s->last_wall_ns) / s->capacity;
	s->last_cpu_ns = cpu;
	s->last_wall_ns = now;
	GROW(s->rows, s->cap, s->n + 1);
	s->rows[s->n++] = row;
	return true;
}

const struct metric_row *
metrics_last(const struct metrics_series *s)
{
	return s->n > 0 ? &s->rows[s->n - 1] : NULL;
}
