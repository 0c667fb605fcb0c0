/* Unwind and symbolize throughput on recorded snapshots, with siprof's own
 * modules. A tracing thread takes snapshots of every thread of PID (as the
 * sampler does) and ends, which detaches it; then each pass unwinds and
 * symbolizes every snapshot, timed in this thread's CPU time.
 *
 * With "nonstop", only snapshots of threads copied without a stop are kept
 * (threads blocked in epoll_wait, accept and the like: bench-workload
 * blocked), so that the search for their frame pointer is measured.
 *
 * usage: bench-unwind PID SNAPSHOTS PASSES [dw|libunwind|fp] [stopped|nonstop]
 * prints: samples N frames_mean F first_pass_per_s X warm_per_s Y
 *         new_profile_per_s Z fp_found_pct P unremembered_per_s U
 * (U, nonstop only: warm, but each unwind without what the unwinder
 * remembers of threads copied without a stop: the search for the frame
 * record every time; stopped, it is the warm rate) */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile.h"
#include "signals.h"
#include "snapshot.h"
#include "stackcache.h"
#include "symbols.h"
#include "tracer.h"
#include "unwind.h"
#include "util.h"

struct job {
	pid_t pid;
	enum snapshot_how how;
	size_t want, n;
	struct snapshot *snaps;
	char *cause;
};

static void *
take_snapshots(void *arg)
{
	struct job *j = arg;
	struct tracer *t = tracer_new();
	struct snapshot_maps maps;

	if (tracer_attach(t, j->pid, &j->cause) != TRACER_OK) {
		tracer_free(t);
		return NULL;
	}
	snapshot_maps_init(&maps, j->pid);
	while (j->n < j->want) {
		size_t nt;
		const pid_t *tids = tracer_threads(t, &nt);

		for (size_t i = 0; i < nt && j->n < j->want; i++) {
			struct snapshot *s = &j->snaps[j->n];

			if (snapshot_take(t, &maps, tids[i], s, 0) == 1 && s->how == j->how)
				j->n++;
		}
		usleep(2000);
	}
	snapshot_maps_release(&maps);
	tracer_free(t);
	return NULL; /* the thread's exit detaches the target */
}

static uint64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One pass: every snapshot unwound and symbolized into prof. Returns
 * samples per second of this thread's CPU time (other load on the machine
 * does not count against it); *frames gets the frames seen. */
static double
pass(struct unwinder *uw, struct symbols *sym, struct profile *prof, struct stackcache *sc,
     const struct job *j, bool forget, size_t *frames, size_t *found)
{
	struct unwind_result *ur = xmalloc(sizeof *ur);
	uint64_t t0;

	*frames = 0;
	*found = 0;
	t0 = cpu_ns();
	for (size_t i = 0; i < j->n; i++) {
		uint32_t stack;

		if (forget)
			unwinder_forget(uw);
		unwinder_unwind(uw, &j->snaps[i], ur);
		stack = stackcache_stack(sc, prof, sym, ur->pcs, ur->n, ur->truncated);
		profile_add(prof, 0, (uint32_t)j->snaps[i].tid, stack, CLASS_CPU, -1, 1);
		*frames += ur->n;
		*found += ur->fp_found;
	}
	free(ur);
	return (double)j->n / ((double)(cpu_ns() - t0) / 1e9);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	struct job j = { 0 };
	enum unwind_kind kind = UNWIND_DW;
	struct symbols *sym;
	struct unwinder *uw;
	pthread_t th;
	size_t passes, frames, found;
	double first, *rates, *fresh, *unmemo;
	struct profile prof;
	struct stackcache sc;
	char *cause = NULL;

	j.how = SNAP_STOPPED;
	if (argc > 5 && strcmp(argv[5], "nonstop") == 0)
		j.how = SNAP_NONSTOP;
	else if (argc > 5 && strcmp(argv[5], "stopped") != 0)
		argc = 0;
	if (argc < 4 || (argc > 4 && !unwind_kind_parse(argv[4], &kind))) {
		fprintf(stderr, "usage: bench-unwind PID SNAPSHOTS PASSES [dw|libunwind|fp] "
				"[stopped|nonstop]\n");
		return 2;
	}
	signals_init();
	j.pid = atoi(argv[1]);
	j.want = strtoul(argv[2], NULL, 10);
	passes = strtoul(argv[3], NULL, 10);
	if (j.want == 0 || passes == 0)
		return 2;
	j.snaps = xcalloc(j.want, sizeof *j.snaps);
	for (size_t i = 0; i < j.want; i++)
		snapshot_init(&j.snaps[i], 64 * 1024);
	if (pthread_create(&th, NULL, take_snapshots, &j) != 0)
		return 1;
	pthread_join(th, NULL);
	if (j.n < j.want) {
		fprintf(stderr, "bench-unwind: %s\n", j.cause ? j.cause : "no snapshots");
		return 1;
	}
	sym = symbols_new(j.pid, &cause);
	uw = sym != NULL ? unwinder_new(kind, j.pid, sym, &cause) : NULL;
	if (uw == NULL) {
		fprintf(stderr, "bench-unwind: %s\n", cause);
		return 1;
	}
	/* Cold: new symbol tables and profile. Warm: as in a long recording,
	 * the same profile (its pc and stack caches) pass after pass. New
	 * profile: symbol tables warm, but every pc and stack interned anew. */
	profile_init(&prof);
	stackcache_init(&sc);
	first = pass(uw, sym, &prof, &sc, &j, false, &frames, &found);
	rates = xcalloc(passes, sizeof *rates);
	fresh = xcalloc(passes, sizeof *fresh);
	unmemo = xcalloc(passes, sizeof *unmemo);
	for (size_t p = 0; p < passes; p++)
		rates[p] = pass(uw, sym, &prof, &sc, &j, false, &frames, &found);
	for (size_t p = 0; p < passes; p++)
		unmemo[p] = j.how == SNAP_NONSTOP
				    ? pass(uw, sym, &prof, &sc, &j, true, &frames, &found)
				    : rates[p];
	stackcache_release(&sc);
	profile_release(&prof);
	for (size_t p = 0; p < passes; p++) {
		profile_init(&prof);
		stackcache_init(&sc);
		fresh[p] = pass(uw, sym, &prof, &sc, &j, false, &frames, &found);
		stackcache_release(&sc);
		profile_release(&prof);
	}
	qsort(rates, passes, sizeof *rates, cmp_double);
	qsort(fresh, passes, sizeof *fresh, cmp_double);
	qsort(unmemo, passes, sizeof *unmemo, cmp_double);
	printf("samples %zu frames_mean %.1f first_pass_per_s %.0f warm_per_s %.0f "
	       "new_profile_per_s %.0f fp_found_pct %.1f unremembered_per_s %.0f\n",
	       j.n, (double)frames / (double)j.n, first, rates[passes / 2], fresh[passes / 2],
	       100.0 * (double)found / (double)j.n, unmemo[passes / 2]);
	unwinder_free(uw);
	symbols_free(sym);
	for (size_t i = 0; i < j.want; i++)
		snapshot_release(&j.snaps[i]);
	free(j.snaps);
	free(rates);
	free(fresh);
	free(unmemo);
	return 0;
}
