/* snapshot.h: a thread's registers and the top of its stack, taken in
 * microseconds, to be unwound later without the thread.
 *
 * A thread is either held (interrupted, registers read, stack copied,
 * released) or, when it is blocked in a call that a stop would disturb,
 * copied without being stopped: /proc/.../syscall gives its sp and pc, and
 * re-reading it and the thread's CPU time after the copy proves the stack
 * did not move. */
#ifndef SIPROF_SNAPSHOT_H
#define SIPROF_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch.h"
#include "procfs.h"

struct tracer;
struct tracer_held;

/* Why a thread has no snapshot (how is SNAP_NONE). */
enum snapshot_error {
	SNAP_ERR_NONE,
	SNAP_ERR_EXITED,  /* the thread exited */
	SNAP_ERR_MOVING,  /* it kept running while its stack was copied */
	SNAP_ERR_REGS,    /* its registers could not be read */
	SNAP_ERR_LATE,    /* it did not stop in time (waiting for a CPU) */
	SNAP_ERR_COUNT
};
/* The error as shown to users: "the thread exited", ... */
const char *snapshot_error_name(enum snapshot_error e);

enum snapshot_how {
	SNAP_NONE,    /* no snapshot: see error */
	SNAP_STOPPED, /* held: every register is known */
	SNAP_NONSTOP, /* not stopped: only sp and pc are known */
};

struct snapshot {
	pid_t pid, tid;
	enum snapshot_how how;
	struct task_stat stat;      /* read before the snapshot */
	struct task_syscall sc;     /* the call it was blocked in, if any */
	arch_regs regs;             /* SNAP_STOPPED only */
	uint64_t sp, pc;
	uint64_t stack_start;       /* address of stack[0] */
	size_t stack_len;
	uint64_t stack_end;         /* end of the stack's mapping (or of the copy) */
	unsigned char *stack;       /* pre-faulted, stack_cap bytes */
	size_t stack_cap;
	uint64_t asked_ns;          /* when PTRACE_INTERRUPT was sent */
	uint64_t stop_latency_ns;   /* from PTRACE_INTERRUPT to seeing the stop */
	uint64_t held_ns;           /* from seeing the stop to the restart */
	struct schedstat ask;       /* schedstat read just before the interrupt
				     * (or, copied without a stop, at the copy) */
	struct schedstat held;      /* schedstat read while held (held_sched) */
	bool held_sched;
	uint64_t seen_ns;           /* when the stop was seen */
	int sched_fd;               /* the caller's schedstat fd, or -1 */
	int tick_cpu;               /* the caller's CPU at the tick, -1: unknown */
	bool stopped;               /* in a group-stop: the process was stopped */
	/* Found blocked where it must not be stopped, it left the call while
	 * it was copied, and was stopped instead (SNAP_STOPPED): the call
	 * /proc found it in at the tick, and the state then. */
	bool left_call;
	struct task_stat call_stat;
	struct task_syscall call_sc;
	enum snapshot_error error;  /* why how is SNAP_NONE */
};

/* Cached knowledge of the target's stack mappings, refreshed when a stack
 * pointer falls outside it. */
struct snapshot_maps {
	pid_t pid;
	struct maps maps;
};

/* A thread whose stack did not fit in the copy gets a larger one next
 * time, doubling, up to this much (or the configured size, if larger). */
#define SNAPSHOT_GROW_MAX (1024u * 1024)

void snapshot_init(struct snapshot *s, size_t stack_cap);
void snapshot_release(struct snapshot *s);

void snapshot_maps_init(struct snapshot_maps *m, pid_t pid);
void snapshot_maps_release(struct snapshot_maps *m);

/* Whether stopping tid now would disturb it (EINTR), judged from st and sc. */
bool snapshot_must_not_stop(pid_t pid, const struct task_stat *st,
			    const struct task_syscall *sc);

/* Take a snapshot of tid. Returns 1 on success (s->how set), 0 when the
 * thread is gone or could not be captured (s->error says why), -1 when a
 * stop signal asked siprof to end. extra_hold_us keeps the thread stopped
 * longer, for tests of what happens while a thread is held. */
int snapshot_take(struct tracer *t, struct snapshot_maps *m, pid_t tid,
		  struct snapshot *s, unsigned extra_hold_us);
/* The same, waiting at most stop_timeout_ms for a stop to arrive; a thread
 * that does not stop in time is waiting for a CPU (s->error says so). */
int snapshot_take_within(struct tracer *t, struct snapshot_maps *m, pid_t tid,
			 struct snapshot *s, unsigned extra_hold_us, int stop_timeout_ms);
/* A thread's /proc/PID/task/TID/stat and schedstat, kept open by the
 * caller (-1 where not), so that each snapshot does not open them. */
struct task_files {
	int stat_fd, sched_fd;
};

/* The same in steps, for many threads at once, tf optional: snapshot_begin returns 1
 * when the snapshot is taken already (copied without a stop), 0 when it
 * cannot be (s->error says why), 2 when tid was interrupted; then, once
 * tracer_next_held hands the thread out, snapshot_finish copies it and
 * lets it go; or, if it does not stop in time, snapshot_late_or_gone
 * gives up on it (s->error says which). */
int snapshot_begin(struct tracer *t, struct snapshot_maps *m, pid_t tid,
		   const struct task_files *tf, struct snapshot *s);
void snapshot_finish(struct tracer *t, struct snapshot_maps *m, struct snapshot *s,
		     const struct tracer_held *h, unsigned extra_hold_us);
void snapshot_late_or_gone(struct tracer *t, struct snapshot *s);

/* Read target memory at addr: from the snapshot's stack copy when it holds
 * it, else from the live process. Stack memory beyond the copy is refused:
 * it has changed since, and unwinding through it would invent frames. */
bool snapshot_read(const struct snapshot *s, uint64_t addr, void *buf, size_t len);

#endif
