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
	double duration_s;       /* end sampling this long after the first tick
				  * (wall time, gaps included); 0: no end */
	bool children;           /* follow the processes they start, and theirs */
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
	uint64_t threads_matched; /* threads the thread filter ever selected
				   * (every thread sampled, without one) */
	bool behind; /* the last tick came late */
	struct hold_hist held;
};

/* A sample handed to the consumer. */
struct sample_item {
	uint64_t t_ns;     /* monotonic time of the tick */
	pid_t pid, tid;
	uint8_t cls;
	int16_t sysnr;
	int16_t callnr;    /* the system call it was in as /proc or the stop
			    * showed it (restart_syscall included), -1: none */
	bool reuse;        /* count this thread's previous stack again */
	uint32_t count;    /* samples this item stands for (ticks) */
	unsigned exec_gen; /* its process's exec generation at the sample */
	struct snapshot *snap; /* !reuse: unwind it, then sampler_recycle it */
	char *maps;        /* the first item of a process (and after each of
			    * its execs): its /proc/PID/maps as it was then,
			    * owned by whoever holds the item */
	char comm[PROCFS_COMM_MAX];
};

/* A sampler for the processes pids (attach) or for argv (launch; no
 * pids). With opts->children, the processes they start are sampled too. */
struct sampler *sampler_new(const pid_t *pids, size_t n_pids, char *const *argv,
			    const struct sampler_opts *opts);
void sampler_free(struct sampler *s);
/* Call fn, from the sampling thread, for each thread a traced process
 * creates, before it runs (NULL: none). fn may still be running when
 * this returns with NULL: what arg points to lives until sampler_stop. */
void sampler_on_thread(struct sampler *s, void (*fn)(void *arg, pid_t pid, pid_t tid), void *arg);

/* Start the sampling thread and wait for the attach. Returns a
 * tracer_status; on failure *cause says why. */
int sampler_start(struct sampler *s, char **cause);
/* The first process (the command, for a launch). */
pid_t sampler_pid(const struct sampler *s);

/* Take up to max samples, waiting up to timeout_ms for the first. Returns
 * the number taken; 0 with *ended set when sampling is over (the process
 * exited, or sampler_stop was called) and the queue is empty. */
size_t sampler_take(struct sampler *s, struct sample_item *items, size_t max,
		    int timeout_ms, bool *ended);
/* A descriptor that polls readable while samples are queued or sampling
 * has ended, for a consumer that waits on other descriptors too (the live
 * view's keyboard); it then takes with timeout_ms 0. It stays readable
 * until a sampler_take leaves the queue empty. */
int sampler_notify_fd(const struct sampler *s);
/* Give back a snapshot taken from an item. */
void sampler_recycle(struct sampler *s, struct snapshot *snap);
/* The unwind of tid's copy of had bytes wanted more: copy that thread with
 * twice as much from the next tick on, up to SNAPSHOT_GROW_MAX (or the
 * configured size, if larger). Called from the consumer. */
void sampler_grow_copy(struct sampler *s, pid_t tid, size_t had);
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
/* When sampling began (monotonic ns): the moment the first attach (or
 * launch) succeeded, just before the first tick; 0 before. --duration runs
 * from it. */
uint64_t sampler_start_ns(struct sampler *s);
/* When the sampling thread ended (monotonic ns): the process exited,
 * opts.duration_s was reached, or it was stopped or suspended; 0 while it
 * runs. */
uint64_t sampler_end_ns(struct sampler *s);
/* How the process ended (waitpid status), or -1 if it did not. */
int sampler_exit_status(struct sampler *s);

#endif
