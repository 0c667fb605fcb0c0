/* alloc.h: allocation profiling through probes on the allocator.
 *
 * malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign get
 * an entry probe (the size, and a copy of the stack: the call site) and a
 * return probe (the address); free an entry probe. The functions are the
 * ones the process's dynamic linking uses: glibc's, jemalloc's, tcmalloc's,
 * or an allocator linked into the executable.
 *
 * Every probed call traps into the kernel (several microseconds here), so
 * probing runs in windows under a budget: a first short window measures the
 * hit rate and the cost per hit (from the target's own CPU time), then
 * windows of a fixed length start at uniformly random moments, one per
 * period, the period chosen so that the expected extra CPU time of the
 * target stays within the budget. Each moment of the session is inside a
 * window with the same probability (the duty), so what windows see,
 * divided by the duty, estimates the whole session without bias.
 *
 * The module runs in a thread of its own: it opens and closes the windows,
 * reads the hits, unwinds the entry hits (with symbols of its own) and
 * hands the consumer finished items: allocations by call stack (pcs), and
 * at each window's end what it allocated and had not freed by then.
 * Allocations seen are followed across windows (a free, or the address
 * handed out again, ends one): call sites whose followed bytes keep rising
 * from window to window are the leak suspects. */
#ifndef SIPROF_ALLOC_H
#define SIPROF_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "unwind.h"

/* The defaults: a budget of 1% and 8 KiB of stack per allocation. */
#define ALLOC_OVERHEAD_DEFAULT 1.0
#define ALLOC_STACK_DEFAULT 8192

struct alloc_opts {
	double overhead;     /* budget: the target's extra CPU time, a fraction */
	unsigned window_ms;  /* window length; 0: chosen */
	bool always;         /* probe all the time */
	bool pmu_only;       /* never define probes in tracefs */
	size_t stack_bytes;  /* stack copied per allocation */
	enum unwind_kind unwinder;
};

enum alloc_item_kind { ALLOC_ITEM_ALLOC, ALLOC_ITEM_INUSE };

/* What the consumer gets: bytes and objects at a call stack. */
struct alloc_item {
	enum alloc_item_kind kind;
	uint64_t t_ns;
	pid_t tid;
	uint64_t bytes, objects;
	size_t n;
	bool truncated;
	uint64_t pcs[UNWIND_MAX_FRAMES]; /* innermost first: the call site */
};

/* A call site whose followed bytes kept rising. */
struct alloc_leak {
	size_t n;
	uint64_t pcs[UNWIND_MAX_FRAMES];
	double bytes_per_s; /* estimated growth */
	uint64_t live_bytes, live_objects; /* followed, not freed */
	unsigned windows;   /* windows it rose over */
};

struct alloc_stats {
	unsigned windows;
	double window_s;          /* length of each (after the first) */
	double period_s;          /* one window per period */
	double probed_s;          /* time inside windows */
	double duty;              /* probed_s / the time since the start */
	uint64_t hits, lost;
	uint64_t refused;         /* threads a window could not probe */
	uint64_t allocs, frees;
	double cost_per_hit_us;   /* measured: the target's extra CPU per hit */
	double budget;            /* opts.overhead */
	double estimated;         /* expected extra CPU fraction at the chosen duty */
	double measured;          /* extra CPU in windows over the target's CPU */
	uint64_t followed;        /* allocations followed now */
	uint64_t born;            /* threads probed from their first instruction
				   * (the tracer saw them born in a window) */
	char functions[256];      /* probed: "malloc, free, ... in /lib/...libc.so.6" */
	char mechanism[32];       /* probes_mechanism */
};

struct alloc;

/* Resolve the allocator of pid, check probes can be used, and start the
 * thread. NULL with *cause on failure, and *status a probes_status. */
struct alloc *alloc_start(pid_t pid, const struct alloc_opts *opts, int *status, char **cause);
/* End the windows (probes closed) and the thread; what was seen stays to
 * be taken. */
void alloc_finish(struct alloc *a);
/* alloc_finish, and free everything. */
void alloc_stop(struct alloc *a);

/* A thread of process pid was born (the tracer's clone event, before it
 * ran): in a window, its probes are opened now. Any thread may call it. */
void alloc_thread_born(struct alloc *a, pid_t pid, pid_t tid);
/* Take up to max finished items; returns how many. */
size_t alloc_take(struct alloc *a, struct alloc_item *items, size_t max);
/* The leak suspects now; *out is heap-allocated. */
size_t alloc_leaks(struct alloc *a, struct alloc_leak **out);
void alloc_get_stats(struct alloc *a, struct alloc_stats *out);
/* An error that ended probing (NULL: none); owned by a. */
const char *alloc_error(struct alloc *a);

#endif
