/* metrics.c: the process's health once a second: CPU% as a share of the CPUs
 * the process may use, context switches summed over its threads, and glibc
 * malloc's accounting (heap.c). */
#include "config.h"

#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "util.h"

void
metrics_init(struct metrics_series *s, pid_t pid)
{
	memset(s, 0, sizeof *s);
	s->pid = pid;
	s->capacity = procfs_cpu_capacity(pid);
	s->heap = heap_reader_new(pid);
}

void
metrics_release(struct metrics_series *s)
{
	free(s->rows);
	free(s->threads);
	heap_reader_free(s->heap);
	memset(s, 0, sizeof *s);
}

/* The kernel's /proc/PID/status has the main thread's counts alone, and a
 * thread that exits takes its own with it (they go to the process's signal
 * struct, which only getrusage from inside reads). So: every thread's
 * status, matched by tid with the last reading; a thread no longer listed,
 * or no longer readable, keeps what it had then, and the total never goes
 * back. About 9 us a thread (1000 threads: 9 ms a second); keeping the
 * files open would save a third of that at the cost of one descriptor per
 * thread, which a process of thousands of threads cannot spare. */
static void
sum_ctxsw(struct metrics_series *s, struct proc_metrics *m)
{
	pid_t *tids = NULL;
	size_t n = 0, old = 0, kept = 0;
	struct metrics_thread *next;
	uint64_t vol = 0, invol = 0;

	if (!procfs_tasks(s->pid, &tids, &n))
		n = 0;
	next = n > 0 ? xcalloc(n, sizeof *next) : NULL;
	for (size_t i = 0; i < n; i++) {
		struct metrics_thread t = { .tid = tids[i] }, *was = NULL;

		/* Both lists are sorted: the threads before this tid are gone. */
		while (old < s->n_threads && s->threads[old].tid < tids[i]) {
			s->exited_voluntary += s->threads[old].voluntary;
			s->exited_involuntary += s->threads[old].involuntary;
			old++;
		}
		if (old < s->n_threads && s->threads[old].tid == tids[i])
			was = &s->threads[old++];
		if (!procfs_task_ctxsw(s->pid, tids[i], &t.voluntary, &t.involuntary)) {
			if (was != NULL) {
				/* Exited since the listing. */
				s->exited_voluntary += was->voluntary;
				s->exited_involuntary += was->involuntary;
			}
			continue;
		}
		if (was != NULL && (t.voluntary < was->voluntary || t.involuntary < was->involuntary)) {
			/* Counts only grow: this is a new thread with the tid of
			 * one that exited since the last reading. */
			s->exited_voluntary += was->voluntary;
			s->exited_involuntary += was->involuntary;
		}
		next[kept++] = t;
		vol += t.voluntary;
		invol += t.involuntary;
	}
	for (; old < s->n_threads; old++) {
		s->exited_voluntary += s->threads[old].voluntary;
		s->exited_involuntary += s->threads[old].involuntary;
	}
	free(tids);
	free(s->threads);
	s->threads = next;
	s->n_threads = kept;
	m->ctx_voluntary = vol + s->exited_voluntary;
	m->ctx_involuntary = invol + s->exited_involuntary;
}

bool
metrics_sample(struct metrics_series *s, uint32_t t)
{
	struct metric_row row = { .t = t };
	uint64_t now = now_ns(), cpu;

	if (!procfs_metrics(s->pid, &row.m))
		return false;
	sum_ctxsw(s, &row.m);
	cpu = row.m.utime_ns + row.m.stime_ns;
	if (s->last_wall_ns != 0 && now > s->last_wall_ns && cpu >= s->last_cpu_ns)
		row.cpu_percent = 100.0 * (double)(cpu - s->last_cpu_ns) /
				  (double)(now - s->last_wall_ns) / s->capacity;
	s->last_cpu_ns = cpu;
	s->last_wall_ns = now;
	if (s->heap != NULL)
		row.have_heap = heap_read(s->heap, &row.heap);
	GROW(s->rows, s->cap, s->n + 1);
	s->rows[s->n++] = row;
	return true;
}

const char *
metrics_heap_why(const struct metrics_series *s)
{
	return s->heap != NULL ? heap_reader_why(s->heap) : NULL;
}

const struct metric_row *
metrics_last(const struct metrics_series *s)
{
	return s->n > 0 ? &s->rows[s->n - 1] : NULL;
}

uint64_t
metrics_rss(const struct metric_row *r)
{
	return r->m.rss_anon + r->m.rss_file + r->m.rss_shmem;
}

void
metrics_rss_range(const struct metrics_series *s, size_t from, size_t to,
		  struct metrics_range *out)
{
	const struct metric_row *first, *last;

	memset(out, 0, sizeof *out);
	if (to > s->n)
		to = s->n;
	if (from >= to)
		return;
	out->min = out->max = (double)metrics_rss(&s->rows[from]);
	for (size_t i = from + 1; i < to; i++) {
		double v = (double)metrics_rss(&s->rows[i]);

		out->min = v < out->min ? v : out->min;
		out->max = v > out->max ? v : out->max;
	}
	first = &s->rows[from];
	last = &s->rows[to - 1];
	if (last->t > first->t) {
		out->seconds = last->t - first->t;
		out->rate = ((double)metrics_rss(last) - (double)metrics_rss(first)) /
			    (double)out->seconds;
	}
}

void
metrics_format_bytes(double b, char *buf, size_t n)
{
	format_bytes(b, buf, n);
}

void
metrics_format_rate(double bytes_per_s, char *buf, size_t n)
{
	format_rate(bytes_per_s, buf, n);
}
