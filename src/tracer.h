/* tracer.h: every ptrace call siprof makes.
 *
 * A tracer seizes every thread of one process or of several (PTRACE_SEIZE: no
 * stop), follows new threads and, when asked, new processes (fork, vfork, and
 * their exec), notices exits and exec, and stops at most one thread at a
 * time, on request, for as short as the caller keeps it. Signals that arrive
 * for a traced thread are passed on at once; group-stops are kept with
 * PTRACE_LISTEN. PTRACE_O_EXITKILL is never set.
 *
 * Tracing ends when the thread that called tracer_attach exits: the kernel then
 * detaches every thread and restarts it without stopping it, so no thread
 * blocked in epoll_wait and the like ever sees EINTR from a detach. The same
 * happens if siprof is killed. Run a tracer in a thread of its own when
 * siprof has work to do after tracing (signals_init must have blocked
 * SIGCHLD in every thread first). All calls on a tracer come from that thread. */
#ifndef SIPROF_TRACER_H
#define SIPROF_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch.h"

struct tracer;

/* Why an attach failed; cmd-*.c maps these to exit codes. */
enum tracer_status {
	TRACER_OK = 0,
	TRACER_NOPROC,   /* no such process, or it exited */
	TRACER_NOTARGET, /* a kernel thread, or siprof itself */
	TRACER_PERM,     /* permission denied */
	TRACER_BUSY,     /* already traced by another process */
	TRACER_ERROR,    /* anything else */
};

/* How a held thread was stopped. */
enum hold_kind {
	HOLD_INTERRUPT, /* our PTRACE_INTERRUPT */
	HOLD_GROUP,     /* the process was stopped (SIGSTOP etc.): stays stopped */
	HOLD_SIGNAL,    /* a signal was being delivered: re-injected on release */
};

/* Counters of what the tracer saw. */
struct tracer_stats {
	unsigned long threads_seen, threads_exited, clones, forks, execs;
	unsigned long signals_passed, group_stops;
};

struct tracer *tracer_new(void);
/* Call fn for each thread a traced process creates, at its creation
 * (the clone event), before the new thread has run an instruction. */
void tracer_on_thread(struct tracer *t, void (*fn)(void *arg, pid_t pid, pid_t tid), void *arg);
/* Follow the processes the targets start (PTRACE_O_TRACEFORK and
 * TRACEVFORK), and theirs: each is traced from its first instruction as a
 * process of its own. Set before tracer_attach or tracer_launch. */
void tracer_follow_children(struct tracer *t, bool on);
/* Forget the tracer's state; held threads are released first. Tracees stay
 * attached until the attaching thread exits (see above). */
void tracer_free(struct tracer *t);

/* Seize every thread of pid, re-scanning /proc/PID/task until no new thread
 * appears. On failure returns the reason and sets *cause to one line naming
 * the problem and what to do. Called again, it adds another process. */
enum tracer_status tracer_attach(struct tracer *t, pid_t pid, char **cause);

/* The first process attached to (or launched). */
pid_t tracer_pid(const struct tracer *t);
/* The process of a live thread, 0 when it is not known. */
pid_t tracer_thread_pid(const struct tracer *t, pid_t tid);
/* Live processes, ascending (owned by the tracer, valid until its next call). */
const pid_t *tracer_processes(struct tracer *t, size_t *n);
bool tracer_process_alive(const struct tracer *t, pid_t pid);
/* Live thread ids, ascending (owned by the tracer, valid until its next call). */
const pid_t *tracer_threads(struct tracer *t, size_t *n);
bool tracer_thread_alive(const struct tracer *t, pid_t tid);
/* True while tid is in a group-stop (the process was stopped with SIGSTOP
 * and the like, and not continued since): it does not run, and only an
 * interrupt would wake it. */
bool tracer_thread_stopped(const struct tracer *t, pid_t tid);
/* True once every thread of every process has exited. */
bool tracer_process_exited(const struct tracer *t);
/* Incremented by every exec: modules must be re-read. */
unsigned tracer_exec_generation(const struct tracer *t);
/* The same for one process: its execs alone. */
unsigned tracer_process_exec_generation(const struct tracer *t, pid_t pid);
const struct tracer_stats *tracer_stats(const struct tracer *t);

/* Handle whatever ptrace events are pending, waiting up to timeout_ns for
 * the first (0: do not wait). Returns false when a stop or suspend request
 * arrived (signals_pending). */
bool tracer_poll(struct tracer *t, uint64_t timeout_ns);

/* Start argv as a child that waits (not stopped) until it is seized, then
 * execs: the program is traced from its first instruction. A child whose
 * siprof dies before letting it go exits (127) without running the
 * program; none is ever left stopped. Returns once it runs the program;
 * TRACER_NOPROC when it could not (tracer_exit_status says how the child
 * ended, 127 for a program that cannot be run). */
enum tracer_status tracer_launch(struct tracer *t, char *const argv[], char **cause);
/* The wait status of the first process's main thread once it exited, as
 * waitpid gives it; -1 when unknown. */
int tracer_exit_status(const struct tracer *t);

/* Ask tid to stop (PTRACE_INTERRUPT) without waiting; several threads may
 * be asked at once. False when the thread is gone. */
bool tracer_interrupt(struct tracer *t, pid_t tid);
/* Wait until deadline_ns (now_ns clock) for the next interrupted thread to
 * stop, handling every other event meanwhile. Returns 1 with out filled
 * in (the thread is held), 0 at the deadline, -1 when a stop or suspend
 * request asked siprof to end. Threads come out in the order they stopped. */
struct tracer_held {
	pid_t tid;
	enum hold_kind kind;
	uint64_t since_ns; /* when the stop was seen */
};
int tracer_next_held(struct tracer *t, uint64_t deadline_ns, struct tracer_held *out);
/* Give up on an interrupted thread that has not been handed out: released
 * if it stopped, its stop restarted at once if it comes later. */
void tracer_cancel(struct tracer *t, pid_t tid);

/* Stop tid and wait up to timeout_ms for it. Returns 1 when it is held
 * (*kind says how), 0 when it exited or did not stop in time (the caller
 * skips it), -1 when a stop or suspend request asked siprof to end. Events from other
 * threads are handled while waiting. */
int tracer_hold(struct tracer *t, pid_t tid, int timeout_ms, enum hold_kind *kind);
/* Read a held thread's registers. */
bool tracer_get_regs(struct tracer *t, pid_t tid, arch_regs *regs);
/* Let a held thread go: PTRACE_LISTEN for a group-stop, the pending signal
 * re-injected for a signal stop, a plain restart otherwise. */
void tracer_release(struct tracer *t, pid_t tid);

#endif
