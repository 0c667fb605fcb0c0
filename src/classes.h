/* classes.h: what a thread was doing when sampled.
 *
 * cpu alone is the CPU profile (on a CPU at the tick); all classes together
 * are wall-clock time. Class ids are stored in sessions: new ones go last.
 * A class is decided from the thread's state, the system call it is
 * blocked in, and the kind of file descriptor that call waits on. */
#ifndef SIPROF_CLASSES_H
#define SIPROF_CLASSES_H

#include <stdbool.h>
#include <sys/types.h>

#include "procfs.h"

enum sample_class {
	CLASS_CPU,
	CLASS_LOCK,    /* futex: contention (mutex, rwlock) */
	CLASS_NET,     /* socket I/O, accept, connect */
	CLASS_DISK,    /* regular file or block device I/O, fsync */
	CLASS_IPC,     /* pipes */
	CLASS_POLL,    /* poll, select, epoll */
	CLASS_SLEEP,   /* nanosleep family, pause */
	CLASS_CHILD,   /* wait4, waitid */
	CLASS_AIO,     /* io_getevents, io_uring_enter */
	CLASS_SYSCALL, /* any other system call, kept by name */
	CLASS_FAULT,   /* uninterruptible sleep outside a system call (page fault) */
	CLASS_STOPPED, /* the process was stopped (SIGSTOP, SIGTSTP, ...) */
	CLASS_RUNQ,    /* runnable, waiting for a CPU (off-CPU) */
	CLASS_WAIT,    /* futex: waiting for work (condition variable,
			* semaphore, thread join) */
	CLASS_COUNT
};

/* "cpu", "lock", ... */
const char *class_name(enum sample_class c);
/* Parse a class name, in any case ("cpu", "CPU", "Cpu"); "wall" is not a
 * class (it means every class). */
bool class_parse(const char *s, enum sample_class *c);

/* The class of a thread in state st->state, blocked in sc (when not
 * running). fd kinds are looked up in /proc/PID/fd only for calls that
 * take a descriptor. */
enum sample_class class_of(pid_t pid, const struct task_stat *st,
			   const struct task_syscall *sc);

/* How many frames class_refine reads, innermost first. */
#define CLASS_REFINE_FRAMES 12

/* The class of a sample that class_of (or the sampler) classed cls, whose
 * thread was in system call callnr (-1: none), decided by the function
 * names of its innermost frames fn[0..n) (innermost first, as symbolized;
 * NULL or "" where unknown) where the call alone cannot tell: a futex
 * under pthread_mutex_lock, a rwlock or std::mutex is lock, one under
 * pthread_cond_wait, sem_wait, pthread_join or std::condition_variable is
 * wait; a restart_syscall is classed by the call it continues (a futex
 * wrapper as above, poll or select: poll, nanosleep: sleep). Any other
 * sample keeps cls. */
enum sample_class class_refine(enum sample_class cls, int callnr, const char *const *fn,
			       size_t n);

#endif
