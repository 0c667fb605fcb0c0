/* alloc-common.h: what the allocation targets share: the state directory's
 * files (ready, counts.json), the counters written on SIGUSR1 and at exit,
 * and pacing by an absolute clock. Included by alloc-*.c only. */
#ifndef ALLOC_COMMON_H
#define ALLOC_COMMON_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One call site: its function, its line (the line of its allocation call,
 * from __LINE__ there), and what it allocated. */
struct site {
	const char *name;
	int line;
	unsigned long size;
	volatile unsigned long bytes, objects;
};

static char state_dir[4096];
static volatile sig_atomic_t dump_wanted, stop_wanted;

static void
on_usr1(int sig)
{
	(void)sig;
	dump_wanted = 1;
}

static void
on_term(int sig)
{
	(void)sig;
	stop_wanted = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep until the absolute monotonic time T (seconds). */
static void
sleep_until(double t)
{
	struct timespec ts = { (time_t)t, (long)((t - (double)(time_t)t) * 1e9) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0 && !stop_wanted)
		;
}

/* The counters as JSON, written to DIR/counts.json through a temporary
 * file, so that a reader never sees half of them:
 * {"pid", "elapsed_s", "loops", "loops_per_s", "sites": {NAME: {"line",
 * "size", "bytes", "objects"}}}. loops is the target's own throughput
 * counter (iterations of its main loop). */
static void
write_counts(const struct site *sites, int n, double elapsed, unsigned long loops)
{
	char tmp[4200], path[4200];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s/counts.json.tmp", state_dir);
	snprintf(path, sizeof path, "%s/counts.json", state_dir);
	f = fopen(tmp, "w");
	if (f == NULL)
		return;
	fprintf(f, "{\"pid\": %d, \"elapsed_s\": %.6f, \"loops\": %lu, \"loops_per_s\": %.1f, \"sites\": {",
		(int)getpid(), elapsed, loops, elapsed > 0 ? (double)loops / elapsed : 0.0);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s\"%s\": {\"line\": %d, \"size\": %lu, \"bytes\": %lu, \"objects\": %lu}",
			i ? ", " : "", sites[i].name, sites[i].line, sites[i].size, sites[i].bytes,
			sites[i].objects);
	fprintf(f, "}}\n");
	fclose(f);
	rename(tmp, path);
}

/* Set up the state directory and the signals, and write DIR/ready (the
 * pid) last. */
static void
start_state(const char *dir)
{
	char path[4200];
	FILE *f;

	snprintf(state_dir, sizeof state_dir, "%s", dir);
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	snprintf(path, sizeof path, "%s/ready", dir);
	f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

#endif
