/* syscalls.h: names of system calls and what stopping a thread in one does. */
#ifndef SIPROF_SYSCALLS_H
#define SIPROF_SYSCALLS_H

#include <stdbool.h>
#include <sys/types.h>

/* "epoll_wait" for 232 on x86_64; NULL when unknown. */
const char *syscall_name(long nr);

/* True when a ptrace stop of a thread blocked in system call nr would make
 * the call fail with EINTR in the program (signal(7), "Interruption of system
 * calls ... by stop signals"). fd_is_socket tells whether the call's first
 * argument is a socket (read() on a socket with SO_RCVTIMEO returns EINTR). */
bool syscall_eintr_on_stop(long nr, bool fd_is_socket);

/* True when the call's first argument is a file descriptor worth looking at. */
bool syscall_takes_fd(long nr);

#endif
