/* recorder.h: a profiling session in progress.
 *
 * Wires the sampler (its own thread) to the consumer side that runs in the
 * caller's thread: unwinding, symbols, the profile, health metrics once a
 * second, and, when a file is given, the session writer (one commit a
 * second). `siprof record` and `siprof attach` both drive one. */
#ifndef SIPROF_RECORDER_H
#define SIPROF_RECORDER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "alloc.h"
#include "metrics.h"
#include "profile.h"
#include "sampler.h"
#include "session.h"
#include "stackcache.h"
#include "unwind.h"

struct recorder_opts {
	struct sampler_opts sampler;
	enum unwind_kind unwinder;
	const char *output;  /* session file, or NULL */
	bool force;          /* replace an existing output file */
	char **tags;         /* NULL-terminated KEY=VALUE */
	unsigned extra_unwind_us; /* tests only: a consumer that falls behind */
	bool alloc;          /* probe the allocator of the first process too */
	struct alloc_opts alloc_opts;
};

/* What the consumer keeps per process: each has its own address space. */
struct recorder_proc {
	pid_t pid;
	struct symbols *sym;       /* NULL: it was gone before they could be read */
	struct unwinder *uw;
	struct stackcache stacks;  /* pcs to the profile's stacks */
	struct hashmap last_stack; /* tid -> stack id + 1 */
	unsigned exec_gen;
	uint64_t retry_ns;         /* sym NULL: when to try to read them again */
	uint64_t gone_ns;          /* when it was seen gone (0: not yet) */
	char *maps;                /* its mappings as the sampler read them */
};

struct recorder {
	struct recorder_opts opts;
	struct sampler *sampler;
	struct symbols *sym;       /* the first process's (main's) */
	struct unwinder *uw;
	struct session_writer *writer;
	struct profile prof;
	struct hashmap procs;      /* pid -> struct recorder_proc * */
	struct metrics_series metrics; /* of the first process */
	struct unwind_result ur;   /* scratch for one unwind */
	uint64_t start_ns, start_unix_ns;
	uint64_t stop_ns;          /* when sampling ended (0: still going) */
	uint64_t lag_ns;           /* how far unwinding is behind sampling: the
				    * age of the newest sample done with */
	uint32_t next_second;      /* the next metrics/flush second */
	uint64_t truncated, unwind_failures;
	uint64_t done;             /* samples unwound and counted */
	uint64_t newest_ns;        /* the tick of the newest sample done with */
	size_t take;               /* queue items a step takes (0: as many as fit) */
	pid_t pid;
	bool ended;
	char comm[PROCFS_COMM_MAX];
	struct alloc *alloc;       /* allocation probes (opts.alloc), or NULL */
	uint64_t leaks_ns;         /* when the leak suspects were last written */
	struct session_gap *gaps;  /* times siprof was suspended */
	size_t n_gaps, cap_gaps;
};

/* With opts->alloc, recorder_start also starts the allocation probes; when
 * they cannot be used it fails with RECORDER_NOPROBES (and *cause). */
#define RECORDER_NOPROBES 100

/* Attach to the processes pids (argv NULL) or launch argv, and start
 * sampling (opts->sampler.children: the processes they start too, each
 * with its own symbols). Returns a tracer_status (0 on success) with
 * *cause set on failure; then r is released and need not be freed, and
 * *exit_status holds the wait status of a launched command that ended
 * before it could be profiled (else -1). */
int recorder_start(struct recorder *r, const pid_t *pids, size_t n_pids, char *const *argv,
		   const struct recorder_opts *opts, char **cause, int *exit_status);
/* Process what the sampler produced, waiting up to timeout_ms; does the
 * once-a-second work when its time has come. Returns false when sampling
 * has ended and everything was processed, or on a write error (*cause). */
bool recorder_step(struct recorder *r, int timeout_ms, char **cause);
/* Seconds of sampling: since the start, or until sampling ended. */
double recorder_elapsed(const struct recorder *r);
/* The same, without the gaps (the time that was sampled). */
double recorder_sampled(const struct recorder *r);
/* The bucket (second) samples are being counted in now. */
uint32_t recorder_bucket(const struct recorder *r);
/* Ctrl-Z (signals_suspend_requested): end the sampling thread, which
 * detaches every thread of the process without stopping one, process what
 * was sampled, and mark the start of a gap in the session. The caller then
 * stops siprof (signals_suspend_self) and calls recorder_resume. False on a
 * write error (*cause). */
bool recorder_suspend(struct recorder *r, char **cause);
/* After recorder_suspend: the gap ends now, and (unless siprof was asked
 * to stop meanwhile) the process is attached again. Returns a
 * tracer_status; unless TRACER_OK, sampling is over and *cause says why:
 * TRACER_NOPROC when the process exited meanwhile (not an error). */
int recorder_resume(struct recorder *r, char **cause);
/* Stop sampling (detaching), process the rest, finish the file. */
bool recorder_finish(struct recorder *r, char **cause);
void recorder_release(struct recorder *r);

/* The process of a thread sampled (the first process if not known). */
pid_t recorder_thread_pid(const struct recorder *r, pid_t tid);
/* The stack of a thread's last sample, plus 1; 0 when there is none. */
uint32_t recorder_last_stack(const struct recorder *r, pid_t tid);

/* Write everything seen so far to a new session file (the live view's w). */
bool recorder_save(struct recorder *r, const char *path, char **cause);

/* A leak suspect of the allocation probes, its stack interned in r->prof. */
struct recorder_leak {
	uint32_t stack;       /* innermost frame: the call site */
	double bytes_per_s;
	uint64_t live_bytes, live_objects;
	unsigned windows;
};
/* The leak suspects now (opts.alloc), fastest growth first; *out is
 * heap-allocated (NULL when none). */
size_t recorder_leaks(struct recorder *r, struct recorder_leak **out);

#endif
