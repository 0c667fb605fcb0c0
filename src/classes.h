/* classes.h: what a thread was doing when sampled.
 *
 * cpu alone is the CPU profile; all classes together are wall-clock time.
 * A class is decided from the thread's state, the system call it is
 * blocked in, and the kind of file descriptor that call waits on. */
#ifndef SIPROF_CLASSES_H
#define SIPROF_CLASSES_H

#include <stdbool.h>
#include <sys/types.h>

#include "procfs.h"

enum sample_class {
	CLASS_CPU,
	CLASS_LOCK,    /* futex */
	CLASS_NET,     /* socket I/O, accept, connect */
	CLASS_DISK,    /* regular file or block device I/O, fsync */
	CLASS_IPC,     /* pipes */
	CLASS_POLL,    /* poll, select, epoll */
	CLASS_SLEEP,   /* nanosleep family */
	CLASS_CHILD,   /* wait4, waitid */
	CLASS_AIO,     /* io_getevents, io_uring_enter */
	CLASS_SYSCALL, /* any other system call, kept by name */
	CLASS_FAULT,   /* uninterruptible sleep outside a system call (page fault) */
	CLASS_STOPPED, /* the process was stopped (SIGSTOP, SIGTSTP, ...) */
	CLASS_COUNT
};

/* "cpu", "lock", ... */
const char *class_name(enum sample_class c);
/* Parse a class name; "wall" is not a class (it means every class). */
bool class_parse(const char *s, enum sample_class *c);

/* The class of a thread in state st->state, blocked in sc (when not
 * running). fd kinds are looked up in /proc/PID/fd only for calls that
 * take a descriptor. */
enum sample_class class_of(pid_t pid, const struct task_stat *st,
			   const struct task_syscall *sc);

#endif
