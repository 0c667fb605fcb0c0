/* tracer.c: ptrace, and nothing else does ptrace.
 *
 * Events are collected by one waitpid(-1, __WALL | WNOHANG) loop, woken by
 * SIGCHLD through a signalfd, so a stop that nobody asked for (a new
 * thread, a signal on its way to the program) is let go within microseconds
 * whenever siprof is waiting, which is most of the time. */
#include "config.h"

#include "tracer.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hashmap.h"
#include "procfs.h"
#include "signals.h"
#include "util.h"

#define TF_WANT_STOP 0x1 /* PTRACE_INTERRUPT sent, the stop not yet seen */
#define TF_HELD 0x2      /* in a ptrace-stop that the caller owns */
#define TF_GROUP 0x4     /* in a group-stop (SIGSTOP etc.), kept with PTRACE_LISTEN */

struct tthread {
	pid_t tid;
	pid_t pid; /* its process */
	unsigned flags;
	enum hold_kind kind;
	int sig; /* signal to re-inject on release (HOLD_SIGNAL) */
	uint64_t held_since; /* when the stop was seen */
};

/* A traced process: those attached to, and with follow_children every
 * process they start. */
struct tproc {
	pid_t pid;
	size_t n_threads;
	unsigned exec_gen;
};

struct tracer {
	pid_t pid; /* the first process */
	void (*born)(void *arg, pid_t pid, pid_t tid); /* tracer_on_thread */
	void *born_arg;
	struct hashmap threads; /* tid -> struct tthread * */
	struct hashmap procs;   /* pid -> struct tproc * */
	pid_t *plist;
	size_t plist_cap;
	bool children;          /* follow forks (follow_children) */
	pid_t *list;
	size_t list_cap;
	int sigfd;
	unsigned exec_gen;
	bool attached;
	int exit_status;
	struct tracer_stats stats;
	pid_t *held_q;   /* threads that took a wanted stop, in order */
	size_t held_head, held_len, held_cap;
};

static const long seize_options = PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;
/* With follow_children: new processes are traced from their first
 * instruction. A vfork parent waits in the kernel until its child execs
 * or exits whatever siprof does; the child is restarted at its first stop
 * like any new thread. */
static const long children_options = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;

static int cmp_pid(const void *a, const void *b);

static long
options_of(const struct tracer *t)
{
	return seize_options | (t->children ? children_options : 0);
}

struct tracer *
tracer_new(void)
{
	struct tracer *t = xcalloc(1, sizeof *t);
	sigset_t chld;

	hashmap_init(&t->threads);
	hashmap_init(&t->procs);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	t->exit_status = -1;
	t->sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (t->sigfd < 0)
		fatal("cannot create a signalfd: %s", strerror(errno));
	return t;
}

void
tracer_free(struct tracer *t)
{
	struct tthread *th;
	struct tproc *pr;
	size_t it = 0;

	if (t == NULL)
		return;
	while (hashmap_next(&t->threads, &it, NULL, (void **)&th)) {
		if (th->flags & TF_HELD)
			tracer_release(t, th->tid);
		free(th);
	}
	hashmap_release(&t->threads);
	it = 0;
	while (hashmap_next(&t->procs, &it, NULL, (void **)&pr))
		free(pr);
	hashmap_release(&t->procs);
	close(t->sigfd);
	free(t->list);
	free(t->plist);
	free(t->held_q);
	free(t);
}

pid_t
tracer_pid(const struct tracer *t)
{
	return t->pid;
}

const struct tracer_stats *
tracer_stats(const struct tracer *t)
{
	return &t->stats;
}

unsigned
tracer_exec_generation(const struct tracer *t)
{
	return t->exec_gen;
}

unsigned
tracer_process_exec_generation(const struct tracer *t, pid_t pid)
{
	const struct tproc *pr = hashmap_get(&t->procs, (uint64_t)pid);

	return pr != NULL ? pr->exec_gen : 0;
}

void
tracer_follow_children(struct tracer *t, bool on)
{
	t->children = on;
}

pid_t
tracer_thread_pid(const struct tracer *t, pid_t tid)
{
	const struct tthread *th = hashmap_get(&t->threads, (uint64_t)tid);

	return th != NULL ? th->pid : 0;
}

bool
tracer_process_alive(const struct tracer *t, pid_t pid)
{
	return hashmap_get(&t->procs, (uint64_t)pid) != NULL;
}

const pid_t *
tracer_processes(struct tracer *t, size_t *n)
{
	struct tproc *pr;
	size_t it = 0;

	*n = 0;
	GROW(t->plist, t->plist_cap, t->procs.n + 1);
	while (hashmap_next(&t->procs, &it, NULL, (void **)&pr))
		t->plist[(*n)++] = pr->pid;
	qsort(t->plist, *n, sizeof *t->plist, cmp_pid);
	return t->plist;
}

bool
tracer_thread_alive(const struct tracer *t, pid_t tid)
{
	return hashmap_get(&t->threads, (uint64_t)tid) != NULL;
}

bool
tracer_thread_stopped(const struct tracer *t, pid_t tid)
{
	const struct tthread *th = hashmap_get(&t->threads, (uint64_t)tid);

	return th != NULL && (th->flags & TF_GROUP) && !(th->flags & TF_WANT_STOP);
}

bool
tracer_process_exited(const struct tracer *t)
{
	return t->attached && t->threads.n == 0;
}

static int
cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

const pid_t *
tracer_threads(struct tracer *t, size_t *n)
{
	struct tthread *th;
	size_t it = 0;

	*n = 0;
	GROW(t->list, t->list_cap, t->threads.n + 1);
	while (hashmap_next(&t->threads, &it, NULL, (void **)&th))
		t->list[(*n)++] = th->tid;
	qsort(t->list, *n, sizeof *t->list, cmp_pid);
	return t->list;
}

static struct tthread *
add_thread(struct tracer *t, pid_t pid, pid_t tid)
{
	struct tthread *th = xcalloc(1, sizeof *th);
	struct tproc *pr = hashmap_get(&t->procs, (uint64_t)pid);

	if (pr == NULL) {
		pr = xcalloc(1, sizeof *pr);
		pr->pid = pid;
		hashmap_put(&t->procs, (uint64_t)pid, pr);
	}
	pr->n_threads++;
	th->tid = tid;
	th->pid = pid;
	hashmap_put(&t->threads, (uint64_t)tid, th);
	t->stats.threads_seen++;
	return th;
}

/* Forget a thread; its process goes with its last thread. */
static void
drop_thread(struct tracer *t, pid_t tid)
{
	struct tthread *th = hashmap_remove(&t->threads, (uint64_t)tid);
	struct tproc *pr;

	if (th == NULL)
		return;
	pr = hashmap_get(&t->procs, (uint64_t)th->pid);
	if (pr != NULL && --pr->n_threads == 0)
		free(hashmap_remove(&t->procs, (uint64_t)th->pid));
	free(th);
	t->stats.threads_exited++;
}

/* Whether tid is a thread of the target, a zombie whose exit status is
 * still to come included: signal 0 checks without a path walk in /proc.
 * Only ESRCH says no; EPERM (no right to signal it) still means it exists. */
static bool
task_exists(pid_t pid, pid_t tid)
{
	return syscall(SYS_tgkill, pid, tid, 0) == 0 || errno != ESRCH;
}

/* After an exec only the leader is left; a thread that called exec from
 * outside the leader took the leader's id and reports no exit of its own. */
static void
prune_threads(struct tracer *t, pid_t pid)
{
	struct tthread *th;
	pid_t *gone = NULL;
	size_t it = 0, n = 0, cap = 0;

	while (hashmap_next(&t->threads, &it, NULL, (void **)&th)) {
		if (th->pid == pid && !task_exists(pid, th->tid)) {
			GROW(gone, cap, n + 1);
			gone[n++] = th->tid;
		}
	}
	for (size_t i = 0; i < n; i++)
		drop_thread(t, gone[i]);
	free(gone);
}

/* Restart a thread from a stop nobody asked for; ESRCH means it died. */
static void
restart(pid_t tid, int sig)
{
	if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig) < 0 && errno != ESRCH)
		warn_msg("cannot restart thread %d: %s", (int)tid, strerror(errno));
}

static void
listen_group_stop(pid_t tid)
{
	if (ptrace(PTRACE_LISTEN, tid, NULL, NULL) < 0 && errno != ESRCH)
		warn_msg("cannot keep thread %d in its group-stop: %s", (int)tid,
			 strerror(errno));
}

static bool
is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* The process of a new tracee, from its own status; 0 if gone. */
static pid_t
tgid_of(pid_t tid)
{
	struct proc_status ps;

	return procfs_status(tid, &ps) ? ps.tgid : 0;
}

/* A new process that the tracer follows (its first thread). */
static struct tthread *
add_process(struct tracer *t, pid_t pid)
{
	t->stats.forks++;
	return add_thread(t, pid, pid);
}

/* A stop from a thread the tracer does not know yet: a new thread (or,
 * following children, a new process) whose first stop came before its
 * creator's clone or fork event. It is handled as any other thread's stop
 * from then on; NULL when there is nothing to handle. */
static struct tthread *
handle_unknown(struct tracer *t, pid_t tid, int status)
{
	pid_t pid;

	if (!WIFSTOPPED(status))
		return NULL; /* the exit of a thread already forgotten */
	pid = tgid_of(tid);
	if (pid != 0 && hashmap_get(&t->procs, (uint64_t)pid) != NULL && task_exists(pid, tid)) {
		t->stats.clones++;
		return add_thread(t, pid, tid);
	}
	if (t->children && pid == tid)
		return add_process(t, pid);
	/* Not one of the targets' threads (a process made by clone without
	 * CLONE_THREAD, not followed): let it go untouched. */
	ptrace(PTRACE_DETACH, tid, NULL, NULL);
	return NULL;
}

/* A thread that took the stop it was interrupted for, to be handed out by
 * tracer_next_held. */
static void
queue_held(struct tracer *t, struct tthread *th)
{
	th->held_since = now_ns();
	if (t->held_head + t->held_len == t->held_cap) {
		if (t->held_head > 0) {
			memmove(t->held_q, t->held_q + t->held_head, t->held_len * sizeof *t->held_q);
			t->held_head = 0;
		} else {
			GROW(t->held_q, t->held_cap, t->held_len + 1);
		}
	}
	t->held_q[t->held_head + t->held_len++] = th->tid;
}

static void
handle_status(struct tracer *t, pid_t tid, int status)
{
	struct tthread *th = hashmap_get(&t->threads, (uint64_t)tid);
	int event, sig;

	if (th == NULL && (th = handle_unknown(t, tid, status)) == NULL)
		return;
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		if (tid == t->pid)
			t->exit_status = status;
		drop_thread(t, tid);
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	event = (unsigned)status >> 16;
	sig = WSTOPSIG(status);
	/* Any stop but a group-stop's says the thread left its group-stop. */
	th->flags &= ~TF_GROUP;

	switch (event) {
	case PTRACE_EVENT_CLONE: {
		unsigned long msg = 0;
		bool got = ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0 && msg != 0;

		/* The creator waits in this stop: let it go before the
		 * bookkeeping. waitpid does not hand out statuses in the order
		 * they arose: the new thread's first stop, even its exit, may
		 * have been handled already. Add it only if it still exists (a
		 * zombie does; its exit status is still to come). */
		restart(tid, 0);
		if (got && hashmap_get(&t->threads, (uint64_t)msg) == NULL) {
			if (task_exists(th->pid, (pid_t)msg)) {
				add_thread(t, th->pid, (pid_t)msg);
				t->stats.clones++;
				/* It has not run yet: its first stop is to come,
				 * or waits in reap_all's later list. */
				if (t->born != NULL)
					t->born(t->born_arg, th->pid, (pid_t)msg);
			} else if (t->children && tgid_of((pid_t)msg) == (pid_t)msg) {
				/* clone without CLONE_THREAD: a process. */
				add_process(t, (pid_t)msg);
			}
		}
		return;
	}
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK: {
		unsigned long msg = 0;
		bool got = ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0 && msg != 0;

		/* The same as a clone: the parent goes on first. (Without
		 * follow_children these events are not asked for.) */
		restart(tid, 0);
		if (got && hashmap_get(&t->threads, (uint64_t)msg) == NULL &&
		    kill((pid_t)msg, 0) == 0)
			add_process(t, (pid_t)msg);
		return;
	}
	case PTRACE_EVENT_EXEC: {
		struct tproc *pr = hashmap_get(&t->procs, (uint64_t)th->pid);

		t->exec_gen++;
		if (pr != NULL)
			pr->exec_gen++;
		t->stats.execs++;
		prune_threads(t, th->pid);
		restart(tid, 0);
		return;
	}
	case PTRACE_EVENT_STOP:
		if (th->flags & TF_WANT_STOP) {
			/* The first stop after our interrupt is the one to sample. */
			th->flags = (th->flags & ~TF_WANT_STOP) | TF_HELD;
			queue_held(t, th);
			th->kind = is_stop_signal(sig) ? HOLD_GROUP : HOLD_INTERRUPT;
			th->sig = 0;
			if (th->kind == HOLD_GROUP) {
				t->stats.group_stops++;
				th->flags |= TF_GROUP;
			}
		} else if (is_stop_signal(sig)) {
			t->stats.group_stops++;
			th->flags |= TF_GROUP;
			listen_group_stop(tid);
		} else {
			/* A new thread's first stop, or the end of a group-stop. */
			restart(tid, 0);
		}
		return;
	case 0:
		/* Signal-delivery-stop: the signal goes on to the program. */
		if (th->flags & TF_WANT_STOP) {
			th->flags = (th->flags & ~TF_WANT_STOP) | TF_HELD;
			queue_held(t, th);
			th->kind = HOLD_SIGNAL;
			th->sig = sig;
		} else {
			t->stats.signals_passed++;
			restart(tid, sig);
		}
		return;
	default:
		restart(tid, 0);
		return;
	}
}

/* Read every SIGCHLD queued on the signalfd; whether there was any. One
 * read takes them all: SIGCHLD does not queue (one pending for the
 * process, one for the thread at most). */
static bool
drain_sigfd(struct tracer *t)
{
	struct signalfd_siginfo si[8];

	return read(t->sigfd, si, sizeof si) > 0;
}

#define REAP_BATCH 64

struct wait_status {
	pid_t tid;
	int status;
};

static void
handle_later(struct tracer *t, struct wait_status *later, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		handle_status(t, later[i].tid, later[i].status);
	*n = 0;
}

/* Collect every pending wait status without blocking, each handled as it
 * comes but for the stops of threads not known yet, which wait for the
 * next clone event or the end of what is pending. waitpid(-1) looks at the
 * newest tracee first, so it hands out a new thread's first stop before
 * the clone event its creator waits in: the creator is restarted the
 * moment that event is seen, and the new thread, known by then, next. */
static void
reap_all(struct tracer *t)
{
	struct wait_status later[REAP_BATCH];
	size_t n = 0;
	int status;
	pid_t tid;

	while ((tid = waitpid(-1, &status, __WALL | WNOHANG)) > 0) {
		if (WIFSTOPPED(status) && hashmap_get(&t->threads, (uint64_t)tid) == NULL) {
			later[n].tid = tid;
			later[n++].status = status;
			if (n == REAP_BATCH)
				handle_later(t, later, &n);
			continue;
		}
		handle_status(t, tid, status);
		if (n > 0 && WIFSTOPPED(status) &&
		    ((unsigned)status >> 16 == PTRACE_EVENT_CLONE ||
		     (unsigned)status >> 16 == PTRACE_EVENT_FORK ||
		     (unsigned)status >> 16 == PTRACE_EVENT_VFORK))
			handle_later(t, later, &n);
	}
	handle_later(t, later, &n);
}

/* The same, only when a SIGCHLD said there is something: waitpid(-1)
 * looks at every tracee, which for a process with hundreds of threads
 * costs more than the rest of a tick. The signal is drained before the
 * statuses are collected, so one that arrives meanwhile is seen next time. */
static void
reap(struct tracer *t)
{
	if (drain_sigfd(t))
		reap_all(t);
}

/* Wait up to timeout_ns for a SIGCHLD (or a signal of siprof's) and
 * handle what it brought. */
static void
wait_events(struct tracer *t, uint64_t timeout_ns)
{
	struct pollfd pfd = { .fd = t->sigfd, .events = POLLIN };
	struct timespec ts;

	ts.tv_sec = (time_t)(timeout_ns / 1000000000u);
	ts.tv_nsec = (long)(timeout_ns % 1000000000u);
	ppoll(&pfd, 1, &ts, signals_wait_mask());
	reap(t);
}

bool
tracer_poll(struct tracer *t, uint64_t timeout_ns)
{
	reap(t);
	if (timeout_ns > 0 && signals_pending() == 0)
		wait_events(t, timeout_ns);
	return signals_pending() == 0;
}

static bool
can_ptrace_cap(void)
{
	struct proc_status self;

	/* CAP_SYS_PTRACE is bit 19. */
	return procfs_status(getpid(), &self) && (self.cap_effective & (1ULL << 19));
}

static void
explain_eperm(pid_t pid, const char *comm, char **cause)
{
	struct proc_status ps;
	int scope = procfs_ptrace_scope();
	bool cap = can_ptrace_cap();
	uid_t me = geteuid();

	if (scope == 3) {
		set_cause(cause, "cannot attach to %d (%s): operation not permitted "
			  "(kernel.yama.ptrace_scope is 3: ptrace is disabled until reboot)",
			  (int)pid, comm);
	} else if (procfs_status(pid, &ps) && ps.uid_real != me && !cap) {
		set_cause(cause, "cannot attach to %d (%s): operation not permitted "
			  "(it runs as uid %u and siprof as uid %u; run siprof as root or "
			  "as that user, or grant it CAP_SYS_PTRACE)",
			  (int)pid, comm, (unsigned)ps.uid_real, (unsigned)me);
	} else if (scope >= 1 && !cap) {
		set_cause(cause, "cannot attach to %d (%s): operation not permitted "
			  "(kernel.yama.ptrace_scope is %d; run as root or grant "
			  "CAP_SYS_PTRACE, or allow it with 'sysctl kernel.yama.ptrace_scope=0')",
			  (int)pid, comm, scope);
	} else if (cap) {
		set_cause(cause, "cannot attach to %d (%s): operation not permitted "
			  "even with CAP_SYS_PTRACE (in a container, run it with "
			  "--cap-add=SYS_PTRACE and a seccomp profile that allows ptrace; "
			  "or a security module such as AppArmor or SELinux forbids it)",
			  (int)pid, comm);
	} else {
		set_cause(cause, "cannot attach to %d (%s): operation not permitted "
			  "(the process may be non-dumpable, e.g. set-uid; run as root "
			  "or grant CAP_SYS_PTRACE)", (int)pid, comm);
	}
}

static bool
traced_by_us(pid_t tid)
{
	struct proc_status ps;

	/* TracerPid names the tracing thread. */
	return procfs_status(tid, &ps) && ps.tracer_pid == (pid_t)syscall(SYS_gettid);
}

/* Whether thread tid of pid has a tracer other than siprof (TracerPid in
 * the thread's own status); then *cause names it and what to do. */
static bool
thread_tracer_busy(pid_t pid, pid_t tid, const char *comm, char **cause)
{
	struct proc_status ps;
	char tcomm[PROCFS_COMM_MAX];

	if (!procfs_status(tid, &ps) || ps.tracer_pid == 0 ||
	    ps.tracer_pid == (pid_t)syscall(SYS_gettid))
		return false;
	procfs_comm(ps.tracer_pid, tcomm, sizeof tcomm);
	if (tid == pid)
		set_cause(cause, "process %d (%s) is already traced by %d (%s); a process "
			  "can have one tracer only: stop that one first",
			  (int)pid, comm, (int)ps.tracer_pid, tcomm);
	else
		set_cause(cause, "thread %d of process %d (%s) is already traced by %d (%s); "
			  "a thread can have one tracer only: stop that one first, or "
			  "profile another process", (int)tid, (int)pid, comm,
			  (int)ps.tracer_pid, tcomm);
	return true;
}

/* One pass over /proc/PID/task: seize what is new. Returns the number of
 * threads seized, or -1 with *cause set. */
static int
seize_new(struct tracer *t, pid_t pid, const char *comm, enum tracer_status *st, char **cause)
{
	const struct tproc *pr = hashmap_get(&t->procs, (uint64_t)pid);
	bool first = pr == NULL || pr->n_threads == 0;
	pid_t *tids;
	size_t n;
	int added = 0;

	if (!procfs_tasks(pid, &tids, &n)) {
		*st = TRACER_NOPROC;
		set_cause(cause, "process %d (%s) exited", (int)pid, comm);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (hashmap_get(&t->threads, (uint64_t)tids[i]) != NULL)
			continue;
		if (ptrace(PTRACE_SEIZE, tids[i], NULL, (void *)options_of(t)) == 0) {
			add_thread(t, pid, tids[i]);
			added++;
			continue;
		}
		if (errno == ESRCH)
			continue; /* the thread exited meanwhile */
		if (errno == EPERM && traced_by_us(tids[i])) {
			/* Created by a seized thread since the scan began: already
			 * ours through PTRACE_O_TRACECLONE, its events still queued. */
			add_thread(t, pid, tids[i]);
			added++;
			continue;
		}
		if (errno == EPERM && thread_tracer_busy(pid, tids[i], comm, cause)) {
			/* Another tracer holds this thread (strace -p TID). */
			*st = TRACER_BUSY;
			free(tids);
			return -1;
		}
		if (errno == EPERM && first) {
			*st = TRACER_PERM;
			explain_eperm(pid, comm, cause);
			free(tids);
			return -1;
		}
		*st = errno == EPERM ? TRACER_PERM : TRACER_ERROR;
		set_cause(cause, "cannot attach to thread %d of %d (%s): %s",
			  (int)tids[i], (int)pid, comm, strerror(errno));
		free(tids);
		return -1;
	}
	free(tids);
	return added;
}

enum tracer_status
tracer_attach(struct tracer *t, pid_t pid, char **cause)
{
	enum tracer_status st = TRACER_ERROR;
	char comm[PROCFS_COMM_MAX];
	struct proc_status ps;
	struct task_stat ts;
	int added;

	if (pid == getpid()) {
		set_cause(cause, "%d is siprof itself; give the id of another process",
			  (int)pid);
		return TRACER_NOTARGET;
	}
	if (!procfs_status(pid, &ps)) {
		if (errno == EACCES) {
			set_cause(cause, "cannot read /proc/%d: permission denied "
				  "(run siprof as root or as the process's user)", (int)pid);
			return TRACER_PERM;
		}
		set_cause(cause, "no process with id %d", (int)pid);
		return TRACER_NOPROC;
	}
	procfs_comm(pid, comm, sizeof comm);
	if (ps.tgid != pid) {
		set_cause(cause, "%d is a thread of process %d (%s); give the process id",
			  (int)pid, (int)ps.tgid, comm);
		return TRACER_NOTARGET;
	}
	if (procfs_task_stat(pid, pid, &ts)) {
		if (ts.flags & PROCFS_PF_KTHREAD) {
			set_cause(cause, "%d (%s) is a kernel thread; siprof profiles "
				  "user-space processes", (int)pid, comm);
			return TRACER_NOTARGET;
		}
		if (ts.state == 'Z' || ts.state == 'X') {
			set_cause(cause, "process %d (%s) has exited (it is a zombie "
				  "waiting for its parent)", (int)pid, comm);
			return TRACER_NOPROC;
		}
	}
	if (ps.tracer_pid != 0) {
		char tcomm[PROCFS_COMM_MAX];

		procfs_comm(ps.tracer_pid, tcomm, sizeof tcomm);
		set_cause(cause, "process %d (%s) is already traced by %d (%s); a process "
			  "can have one tracer only: stop that one first",
			  (int)pid, comm, (int)ps.tracer_pid, tcomm);
		return TRACER_BUSY;
	}

	if (hashmap_get(&t->procs, (uint64_t)pid) != NULL)
		return TRACER_OK; /* followed already (a child of another target) */
	if (t->pid == 0)
		t->pid = pid;
	/* Threads created between two scans are caught by PTRACE_O_TRACECLONE
	 * once their creator is seized, or by the next scan. */
	do {
		added = seize_new(t, pid, comm, &st, cause);
		if (added < 0)
			return st;
		reap_all(t);
	} while (added > 0);
	if (hashmap_get(&t->procs, (uint64_t)pid) == NULL) {
		set_cause(cause, "process %d (%s) exited", (int)pid, comm);
		return TRACER_NOPROC;
	}
	t->attached = true;
	return TRACER_OK;
}

int
tracer_exit_status(const struct tracer *t)
{
	return t->exit_status;
}

enum tracer_status
tracer_launch(struct tracer *t, char *const argv[], char **cause)
{
	int status, go[2];
	pid_t child;
	char c = 0;

	/* The child waits for a byte on a pipe, not in a stop: seized while
	 * it waits (a seize stops nothing), it execs once it has the byte.
	 * If siprof dies first, the pipe's end brings EOF and the child
	 * exits without running the program; so whenever siprof dies, the
	 * child is either gone or running the program untraced, never left
	 * in a stop that nobody will end. */
	if (pipe2(go, O_CLOEXEC) != 0) {
		set_cause(cause, "cannot start %s: %s", argv[0], strerror(errno));
		return TRACER_ERROR;
	}
	child = fork();
	if (child < 0) {
		set_cause(cause, "cannot start %s: %s", argv[0], strerror(errno));
		close(go[0]);
		close(go[1]);
		return TRACER_ERROR;
	}
	if (child == 0) {
		ssize_t n;
		int e;

		close(go[1]);
		/* The program gets the signal state siprof was given. */
		signals_restore_for_exec();
		while ((n = read(go[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (n != 1)
			_exit(127);
		execvp(argv[0], argv);
		/* A shell's statuses: 127 not found, 126 found but not run. */
		e = errno;
		if (e == ENOENT && strchr(argv[0], '/') == NULL)
			fprintf(stderr, "siprof: cannot run '%s': no such command in PATH\n", argv[0]);
		else
			fprintf(stderr, "siprof: cannot run '%s': %s\n", argv[0], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	close(go[0]);
	if (ptrace(PTRACE_SEIZE, child, NULL, (void *)options_of(t)) != 0) {
		int e = errno;

		set_cause(cause, "cannot trace %s (pid %d): %s", argv[0], (int)child, strerror(e));
		close(go[1]);
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		return e == EPERM ? TRACER_PERM : TRACER_ERROR;
	}
	t->pid = child;
	add_thread(t, child, child);
	t->attached = true;
	/* A child that died already says so below, through its exit. */
	(void)!write(go[1], &c, 1);
	close(go[1]);
	/* Return once it runs the program (or failed to start it), so that
	 * what the caller reads of it is the program's, not siprof's copy.
	 * A suspend request waits until then. */
	reap(t);
	while (t->exec_gen == 0 && !tracer_process_exited(t) && signals_stop_requested() == 0)
		wait_events(t, 100000000u);
	if (t->exec_gen == 0 && tracer_process_exited(t)) {
		/* The child said why on stderr; its exit status says the rest. */
		set_cause(cause, "%s did not start", argv[0]);
		return TRACER_NOPROC;
	}
	return TRACER_OK;
}

bool
tracer_interrupt(struct tracer *t, pid_t tid)
{
	struct tthread *th = hashmap_get(&t->threads, (uint64_t)tid);

	if (th == NULL)
		return false;
	if (th->flags & (TF_WANT_STOP | TF_HELD))
		return true;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
		if (errno != ESRCH)
			warn_msg("cannot interrupt thread %d: %s", (int)tid, strerror(errno));
		return false;
	}
	th->flags |= TF_WANT_STOP;
	return true;
}

int
tracer_next_held(struct tracer *t, uint64_t deadline_ns, struct tracer_held *out)
{
	struct pollfd pfd = { .fd = t->sigfd, .events = POLLIN };

	for (;;) {
		uint64_t now;
		struct timespec ts;

		reap(t);
		while (t->held_len > 0) {
			pid_t id = t->held_q[t->held_head];
			struct tthread *th = hashmap_get(&t->threads, (uint64_t)id);

			t->held_head++;
			if (--t->held_len == 0)
				t->held_head = 0;
			/* Skip threads that exited or were let go since. */
			if (th != NULL && (th->flags & TF_HELD)) {
				out->tid = id;
				out->kind = th->kind;
				out->since_ns = th->held_since;
				return 1;
			}
		}
		if (signals_pending())
			return -1;
		now = now_ns();
		if (now >= deadline_ns)
			return 0;
		ts.tv_sec = (time_t)((deadline_ns - now) / 1000000000u);
		ts.tv_nsec = (long)((deadline_ns - now) % 1000000000u);
		ppoll(&pfd, 1, &ts, signals_wait_mask());
	}
}

void
tracer_cancel(struct tracer *t, pid_t tid)
{
	struct tthread *th = hashmap_get(&t->threads, (uint64_t)tid);

	if (th == NULL)
		return;
	/* If it stops later (it was in uninterruptible sleep), handle_status
	 * restarts the stray stop. */
	th->flags &= ~TF_WANT_STOP;
	if (th->flags & TF_HELD)
		tracer_release(t, tid);
}

int
tracer_hold(struct tracer *t, pid_t tid, int timeout_ms, enum hold_kind *kind)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct tracer_held h;
	int r;

	if (!tracer_interrupt(t, tid))
		return 0;
	while ((r = tracer_next_held(t, deadline, &h)) == 1 && h.tid != tid)
		tracer_release(t, h.tid); /* not asked for here */
	if (r == 1) {
		*kind = h.kind;
		return 1;
	}
	tracer_cancel(t, tid);
	return r;
}

bool
tracer_get_regs(struct tracer *t, pid_t tid, arch_regs *regs)
{
	struct iovec iov = { .iov_base = regs, .iov_len = sizeof *regs };

	(void)t;
	return ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) == 0;
}

void
tracer_release(struct tracer *t, pid_t tid)
{
	struct tthread *th = hashmap_get(&t->threads, (uint64_t)tid);

	if (th == NULL || !(th->flags & TF_HELD))
		return;
	th->flags &= ~TF_HELD;
	switch (th->kind) {
	case HOLD_GROUP:
		listen_group_stop(tid);
		break;
	case HOLD_SIGNAL:
		t->stats.signals_passed++;
		restart(tid, th->sig);
		break;
	case HOLD_INTERRUPT:
		restart(tid, 0);
		break;
	}
	th->sig = 0;
}

void
tracer_on_thread(struct tracer *t, void (*fn)(void *arg, pid_t pid, pid_t tid), void *arg)
{
	t->born = fn;
	t->born_arg = arg;
}
