/* sampler.h: the sampling clock and the thread that stops threads.
 *
 * The sampler runs in a thread of its own, which owns the tracer (so its
 * end detaches everything). Each tick, at absolute deadlines:
 *  - a thread whose CPU time did not move since its last sample has the
 *    same stack: it is counted again, untouched (one pread of schedstat);
 *  - a blocked thread is copied without a stop where a stop would disturb
 *    it (snapshot.h), and stopped briefly otherwise;
 *  - a running thread is stopped, copied and released, one at a time;
 *  - a thread of a stopped process (SIGSTOP) is counted as class stopped
 *    with the stack it had, untouched: an interrupt would wake it.
 * Snapshots go to the consumer through a queue; unwinding and symbols
 * happen there, never while a thread is held. Falling behind is counted
 * as missed ticks, never as drift. A suspend request (Ctrl-Z) ends the
 * thread, detaching everything; sampler_resume attaches again. */
#ifndef SIPROF_SAMPLER_H
#define SIPROF_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "classes.h"
#include "snapshot.h"

struct sampler;

/* The default max_memory, and the smallest for a stack size: 16 copies. */
#define SAMPLER_DEFAULT_MAX_MEMORY ((size_t)256 << 20)
#define SAMPLER_MIN_COPIES 16

struct sampler_opts {
	double rate_hz;          /* ticks a second */
	bool jitter;             /* random offset of each tick, up to a quarter period */
	size_t stack_size;       /* bytes of stack copied */
	size_t max_memory;       /* bytes for samples waiting to be unwound (the
				  * snapshot pool and the queue); past it they
				  * are dropped and counted */
	char **thread_filter;    /* NULL-terminated: tids or name patterns (fnmatch) */
	unsigned extra_hold_us;  /* tests only */
};

/* Held-time distribution, microsecond resolution below 1 ms. */
struct hold_hist {
	uint32_t us[1000];
	uint32_t ms[1001]; /* 1 ms .. 1 s, the last bucket for everything longer */
	uint64_t n, max_ns;
};
double hold_hist_percentile(const struct hold_hist *h, double pct); /* in us */

struct sampler_stats {
	uint64_t ticks, samples, missed_ticks, stops, nonstop, reused;
	uint64_t failed;
	uint64_t dropped; /* samples left out: max_memory was reached */
	uint64_t late; /* stops that did not arrive in time (previous stack reused
			* if the thread had not run since, else left out) */
	uint64_t threads_seen, threads_exited, signals_passed;
	bool behind; /* the last tick came late */
	struct hold_hist held;
};

/* A sample handed to the consumer. */
struct sample_item {
	uint64_t t_ns;     /* monotonic time of the tick */
	pid_t tid;
	uint8_t cls;
	int16_t sysnr;
	bool reuse;        /* count this thread's previous stack again */
	uint32_t count;    /* samples this item stands for (ticks) */
	unsigned exec_gen; /* the tracer's exec generation at the sample */
	struct snapshot *snap; /* !reuse: unwind it, then sampler_recycle it */
	char comm[PROCFS_COMM_MAX];
};

/* A sampler for pid (attach) or for argv (launch; pid is then 0). */
struct sampler *sampler_new(pid_t pid, char *const *argv, const struct sampler_opts *opts);
void sampler_free(struct sampler *s);

/* Start the sampling thread and wait for the attach. Returns a
 * tracer_status; on failure *cause says why. */
int sampler_start(struct sampler *s, char **cause);
pid_t sampler_pid(const struct sampler *s);

/* Take up to max samples, waiting up to timeout_ms for the first. Returns
 * the number taken; 0 with *ended set when sampling is over (the process
 * exited, or sampler_stop was called) and the queue is empty. */
size_t sampler_take(struct sampler *s, struct sample_item *items, size_t max,
		    int timeout_ms, bool *ended);
/* Give back a snapshot taken from an item. */
void sampler_recycle(struct sampler *s, struct snapshot *snap);
/* Ask the sampling thread to end, and wait for it; a suspended sampler
 * ends too. */
void sampler_stop(struct sampler *s);
/* After a suspend request (signals_suspend_requested), which makes the
 * sampling thread leave, wait for it: its exit detaches every thread of
 * the process, which runs on untraced, none of them stopped or woken.
 * True when it left for the suspend; false when sampling had ended. */
bool sampler_suspend(struct sampler *s);
/* Attach again in a new sampling thread, after sampler_suspend. Returns a
 * tracer_status (TRACER_NOPROC when the process ended meanwhile, then
 * sampling is over); on failure *cause says why. */
int sampler_resume(struct sampler *s, char **cause);
/* Pause or resume sampling (the live view's space key). */
void sampler_pause(struct sampler *s, bool paused);
/* A copy of the statistics so far. */
void sampler_get_stats(struct sampler *s, struct sampler_stats *out);
/* How the process ended (waitpid status), or -1 if it did not. */
int sampler_exit_status(struct sampler *s);

#endif
