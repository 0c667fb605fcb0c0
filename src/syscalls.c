/* syscalls.c: the x86_64 system call table (generated from the kernel
 * headers at build time) and the calls a stop would disturb. */
#include "config.h"

#include "syscalls.h"

#include <sys/syscall.h>

#include "util.h"

static const char *const names[] = {
#include "syscall-names.h"
};

const char *
syscall_name(long nr)
{
	if (nr < 0 || (size_t)nr >= ARRAY_SIZE(names))
		return NULL;
	return names[nr];
}

bool
syscall_takes_fd(long nr)
{
	switch (nr) {
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_pread64: case SYS_pwrite64: case SYS_preadv: case SYS_pwritev:
	case SYS_preadv2: case SYS_pwritev2:
	case SYS_recvfrom: case SYS_recvmsg: case SYS_recvmmsg:
	case SYS_sendto: case SYS_sendmsg: case SYS_sendmmsg:
	case SYS_accept: case SYS_accept4: case SYS_connect:
	case SYS_fsync: case SYS_fdatasync: case SYS_sendfile:
		return true;
	default:
		return false;
	}
}

bool
syscall_eintr_on_stop(long nr, bool fd_is_socket)
{
	switch (nr) {
	case SYS_epoll_wait: case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
#endif
	case SYS_semop: case SYS_semtimedop:
	case SYS_rt_sigtimedwait:
	case SYS_io_getevents: case SYS_io_pgetevents:
	case SYS_io_uring_enter:
	/* Socket calls fail with EINTR when a timeout is set on the socket,
	 * which cannot be seen from outside: never stop them. */
	case SYS_accept: case SYS_accept4: case SYS_connect:
	case SYS_recvfrom: case SYS_recvmsg: case SYS_recvmmsg:
	case SYS_sendto: case SYS_sendmsg: case SYS_sendmmsg:
		return true;
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
		return fd_is_socket;
	default:
		return false;
	}
}
