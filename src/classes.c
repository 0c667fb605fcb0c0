/* classes.c: the system-call table behind the sample classes (x86_64). */
#include "config.h"

#include "classes.h"

#include <string.h>
#include <strings.h>
#include <sys/syscall.h>

#include "syscalls.h"
#include "util.h"

static const char *const names[CLASS_COUNT] = {
	[CLASS_CPU] = "cpu", [CLASS_LOCK] = "lock", [CLASS_NET] = "net",
	[CLASS_DISK] = "disk", [CLASS_IPC] = "ipc", [CLASS_POLL] = "poll",
	[CLASS_SLEEP] = "sleep", [CLASS_CHILD] = "child", [CLASS_AIO] = "aio",
	[CLASS_SYSCALL] = "syscall", [CLASS_FAULT] = "fault",
	[CLASS_STOPPED] = "stopped", [CLASS_RUNQ] = "runq", [CLASS_WAIT] = "wait",
};

const char *
class_name(enum sample_class c)
{
	return (unsigned)c < CLASS_COUNT ? names[c] : "?";
}

bool
class_parse(const char *s, enum sample_class *c)
{
	for (int i = 0; i < CLASS_COUNT; i++) {
		/* Any case: the live view writes "Cpu", a shell habit "CPU". */
		if (strcasecmp(s, names[i]) == 0) {
			*c = (enum sample_class)i;
			return true;
		}
	}
	return false;
}

static enum sample_class
by_fd(pid_t pid, int fd)
{
	switch (procfs_fd_kind(pid, fd)) {
	case FD_SOCKET: return CLASS_NET;
	case FD_FILE: case FD_BLOCKDEV: return CLASS_DISK;
	case FD_PIPE: return CLASS_IPC;
	default: return CLASS_SYSCALL;
	}
}

enum sample_class
class_of(pid_t pid, const struct task_stat *st, const struct task_syscall *sc)
{
	if (st->state == 'R')
		return CLASS_CPU;
	if (st->state == 'T')
		return CLASS_STOPPED;
	if (sc->nr == SYSCALL_NONE)
		return st->state == 'D' ? CLASS_FAULT : CLASS_SYSCALL;
	if (sc->nr < 0)
		return CLASS_CPU; /* it was running when /proc was read */
	switch (sc->nr) {
	case SYS_futex:
#ifdef SYS_futex_waitv
	case SYS_futex_waitv:
#endif
		return CLASS_LOCK;
	case SYS_poll: case SYS_select: case SYS_ppoll: case SYS_pselect6:
	case SYS_epoll_wait: case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
#endif
		return CLASS_POLL;
	case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_pause:
	/* The kernel continues an interrupted timed wait (nanosleep, timed
	 * futex or poll) as restart_syscall; which one it was is not shown.
	 * The sampler keeps a thread's earlier class when it has one, and
	 * class_refine reads it from the stack; without either, sleep. */
	case SYS_restart_syscall:
		return CLASS_SLEEP;
	case SYS_wait4: case SYS_waitid:
		return CLASS_CHILD;
	case SYS_io_getevents: case SYS_io_pgetevents: case SYS_io_uring_enter:
		return CLASS_AIO;
	case SYS_accept: case SYS_accept4: case SYS_connect:
	case SYS_recvfrom: case SYS_recvmsg: case SYS_recvmmsg:
	case SYS_sendto: case SYS_sendmsg: case SYS_sendmmsg:
		return CLASS_NET;
	case SYS_fsync: case SYS_fdatasync: case SYS_sync: case SYS_syncfs:
	case SYS_sync_file_range:
		return CLASS_DISK;
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_pread64: case SYS_pwrite64: case SYS_preadv: case SYS_pwritev:
	case SYS_preadv2: case SYS_pwritev2:
		return by_fd(pid, (int)sc->args[0]);
	default:
		return st->state == 'D' ? CLASS_DISK : CLASS_SYSCALL;
	}
}

/* Functions that decide what a futex (or a restarted call) waits for,
 * matched on names without their leading underscores and glibc's
 * internal prefixes (__GI___pthread_mutex_lock is pthread_mutex_lock). */
enum match { EXACT, PREFIX, SUBSTR };

struct frame_rule {
	const char *name;
	unsigned char how;     /* enum match */
	unsigned char cls;     /* enum sample_class */
};

static const struct frame_rule frame_rules[] = {
	/* Contention: glibc's mutexes (lll_lock_wait, the PI and timed
	 * paths) and rwlocks, C11, C++ and Rust locks, Go's runtime lock. */
	{ "pthread_mutex_", PREFIX, CLASS_LOCK },
	{ "pthread_rwlock_", PREFIX, CLASS_LOCK },
	{ "lll_", PREFIX, CLASS_LOCK },
	{ "futex_lock_pi", PREFIX, CLASS_LOCK },
	{ "futex_clocklock", PREFIX, CLASS_LOCK },
	{ "mtx_", PREFIX, CLASS_LOCK },
	{ "gthread_mutex_", PREFIX, CLASS_LOCK },
	{ "gthread_recursive_mutex_", PREFIX, CLASS_LOCK },
	{ "mutex::lock", SUBSTR, CLASS_LOCK },
	{ "mutex::try_lock_", SUBSTR, CLASS_LOCK },
	{ "Mutex::lock", SUBSTR, CLASS_LOCK },
	{ "RwLock::", SUBSTR, CLASS_LOCK },
	{ "runtime.lock2", EXACT, CLASS_LOCK },
	/* Waiting for work: condition variables (not their signal, whose
	 * futex is contention for the condition's own lock), semaphores,
	 * joins, barriers, C++ atomic waits, Go's idle Ms. */
	{ "pthread_cond_wait", PREFIX, CLASS_WAIT },
	{ "pthread_cond_timedwait", PREFIX, CLASS_WAIT },
	{ "pthread_cond_clockwait", PREFIX, CLASS_WAIT },
	{ "cnd_wait", PREFIX, CLASS_WAIT },
	{ "cnd_timedwait", PREFIX, CLASS_WAIT },
	{ "sem_wait", PREFIX, CLASS_WAIT },
	{ "sem_timedwait", PREFIX, CLASS_WAIT },
	{ "sem_clockwait", PREFIX, CLASS_WAIT },
	{ "new_sem_wait", PREFIX, CLASS_WAIT },
	{ "do_futex_wait", PREFIX, CLASS_WAIT },
	{ "pthread_join", PREFIX, CLASS_WAIT },
	{ "pthread_timedjoin", PREFIX, CLASS_WAIT },
	{ "pthread_clockjoin", PREFIX, CLASS_WAIT },
	{ "thrd_join", PREFIX, CLASS_WAIT },
	{ "pthread_barrier_wait", PREFIX, CLASS_WAIT },
	{ "condition_variable::wait", SUBSTR, CLASS_WAIT },
	{ "condition_variable_any::wait", SUBSTR, CLASS_WAIT },
	{ "__condvar::wait", SUBSTR, CLASS_WAIT },
	{ "__platform_wait", SUBSTR, CLASS_WAIT },
	{ "__atomic_wait_address", SUBSTR, CLASS_WAIT },
	{ "Condvar::wait", SUBSTR, CLASS_WAIT },
	{ "runtime.notesleep", EXACT, CLASS_WAIT },
	{ "runtime.notetsleep", PREFIX, CLASS_WAIT },
	/* The wrappers a restart_syscall continues, besides the futex's. */
	{ "poll", EXACT, CLASS_POLL },
	{ "ppoll", PREFIX, CLASS_POLL },
	{ "select", PREFIX, CLASS_POLL },
	{ "pselect", PREFIX, CLASS_POLL },
	{ "epoll_wait", PREFIX, CLASS_POLL },
	{ "epoll_pwait", PREFIX, CLASS_POLL },
	{ "nanosleep", PREFIX, CLASS_SLEEP },
	{ "clock_nanosleep", PREFIX, CLASS_SLEEP },
	{ "sleep", EXACT, CLASS_SLEEP },
	{ "usleep", EXACT, CLASS_SLEEP },
	{ "thrd_sleep", EXACT, CLASS_SLEEP },
	{ "::__sleep_for", SUBSTR, CLASS_SLEEP },
	{ "runtime.usleep", EXACT, CLASS_SLEEP },
};

/* A restarted call's own wrapper is the innermost function or next to it
 * (an inlined frame first). */
#define WRAPPER_FRAMES 3

static const char *
plain_name(const char *s)
{
	static const char *const prefixes[] = { "GI_", "libc_" };

	while (*s == '_')
		s++;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t len = strlen(prefixes[i]);

		if (strncmp(s, prefixes[i], len) == 0) {
			s += len;
			while (*s == '_')
				s++;
		}
	}
	return s;
}

static const struct frame_rule *
rule_for(const char *function)
{
	const char *plain = plain_name(function);

	for (size_t i = 0; i < ARRAY_SIZE(frame_rules); i++) {
		const struct frame_rule *r = &frame_rules[i];
		bool hit;

		switch (r->how) {
		case EXACT: hit = strcmp(plain, r->name) == 0; break;
		case PREFIX: hit = strncmp(plain, r->name, strlen(r->name)) == 0; break;
		default: hit = strstr(function, r->name) != NULL; break;
		}
		if (hit)
			return r;
	}
	return NULL;
}

enum sample_class
class_refine(enum sample_class cls, int callnr, const char *const *fn, size_t n)
{
	bool restarted = callnr == SYS_restart_syscall;

	if (cls != CLASS_LOCK && !restarted)
		return cls;
	if (n > CLASS_REFINE_FRAMES)
		n = CLASS_REFINE_FRAMES;
	/* The innermost function that says decides. */
	for (size_t i = 0; i < n; i++) {
		const struct frame_rule *r;

		if (fn[i] == NULL || fn[i][0] == '\0' || (r = rule_for(fn[i])) == NULL)
			continue;
		if (r->cls == CLASS_LOCK || r->cls == CLASS_WAIT)
			return (enum sample_class)r->cls;
		if (restarted && i < WRAPPER_FRAMES)
			return (enum sample_class)r->cls;
	}
	/* A restarted futex whose callers are not known: the futex's class. */
	for (size_t i = 0; restarted && i < n && i < WRAPPER_FRAMES; i++)
		if (fn[i] != NULL && strstr(fn[i], "futex") != NULL)
			return CLASS_LOCK;
	return cls;
}
