/* classes.c: the system-call table behind the sample classes (x86_64). */
#include "config.h"

#include "classes.h"

#include <string.h>
#include <sys/syscall.h>

#include "syscalls.h"
#include "util.h"

static const char *const names[CLASS_COUNT] = {
	[CLASS_CPU] = "cpu", [CLASS_LOCK] = "lock", [CLASS_NET] = "net",
	[CLASS_DISK] = "disk", [CLASS_IPC] = "ipc", [CLASS_POLL] = "poll",
	[CLASS_SLEEP] = "sleep", [CLASS_CHILD] = "child", [CLASS_AIO] = "aio",
	[CLASS_SYSCALL] = "syscall", [CLASS_FAULT] = "fault",
	[CLASS_STOPPED] = "stopped",
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
		if (strcmp(s, names[i]) == 0) {
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
	 * The sampler keeps a thread's earlier class when it has one; without
	 * one, sleeping is by far the most common case. */
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
