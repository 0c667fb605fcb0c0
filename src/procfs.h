/* procfs.h: every read of /proc: threads, states, system calls, maps, fds. */
#ifndef SIPROF_PROCFS_H
#define SIPROF_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCFS_COMM_MAX 64

/* Fields of /proc/PID/task/TID/stat that siprof uses. */
struct task_stat {
	char state;                  /* R, S, D, T, t, Z, X, I ... */
	char comm[PROCFS_COMM_MAX];  /* thread name, without parentheses */
	pid_t ppid;
	unsigned long flags;         /* PF_* */
	uint64_t utime, stime;       /* clock ticks */
	uint64_t starttime;          /* clock ticks after boot */
};

#define PROCFS_PF_KTHREAD 0x00200000UL

/* The system call a thread is blocked in, from /proc/.../syscall.
 * nr is SYSCALL_RUNNING when it runs in user space, SYSCALL_NONE when it is
 * blocked outside a system call (a page fault); sp and pc are then valid
 * only for SYSCALL_NONE and nr >= 0. */
#define SYSCALL_RUNNING (-2)
#define SYSCALL_NONE (-1)
struct task_syscall {
	long nr;
	uint64_t args[6];
	uint64_t sp, pc;
};

/* Fields of /proc/PID/status. */
struct proc_status {
	pid_t tgid;
	pid_t tracer_pid;
	uid_t uid_real, uid_effective;
	char name[PROCFS_COMM_MAX];
	uint64_t cap_effective;
};

/* One line of /proc/PID/maps. */
struct map_entry {
	uint64_t start, end, offset;
	bool readable, writable, executable;
	char *path; /* "" for anonymous, "[stack]", "/usr/lib/..." (owned) */
};

struct maps {
	struct map_entry *entries;
	size_t n, cap;
};

enum fd_kind { FD_UNKNOWN, FD_FILE, FD_BLOCKDEV, FD_SOCKET, FD_PIPE, FD_OTHER };

/* All thread ids of pid, sorted ascending. Returns false (errno set) when
 * the process does not exist or cannot be read. *tids is heap-allocated. */
bool procfs_tasks(pid_t pid, pid_t **tids, size_t *n);

bool procfs_task_stat(pid_t pid, pid_t tid, struct task_stat *st);
/* Parse the text of a stat file (modified in place). */
bool procfs_parse_stat(char *buf, struct task_stat *st);
bool procfs_task_syscall(pid_t pid, pid_t tid, struct task_syscall *sc);
/* Time the thread has spent on a CPU, in ns (first field of schedstat). */
bool procfs_task_runtime(pid_t pid, pid_t tid, uint64_t *ns);
bool procfs_status(pid_t pid, struct proc_status *st);
/* A thread's name; "?" when unreadable. */
void procfs_task_comm(pid_t pid, pid_t tid, char *buf, size_t n);
/* comm of a process (its main thread's name); "?" when unreadable. */
void procfs_comm(pid_t pid, char *buf, size_t n);
/* NUL-separated argv joined with spaces; NULL when unreadable or empty. */
char *procfs_cmdline(pid_t pid);
/* Target of /proc/PID/exe; NULL when unreadable. */
char *procfs_exe(pid_t pid);

bool procfs_maps_read(pid_t pid, struct maps *m);
void procfs_maps_release(struct maps *m);
/* The entry containing addr, or NULL. */
const struct map_entry *procfs_maps_find(const struct maps *m, uint64_t addr);

/* What file descriptor fd of pid refers to. */
enum fd_kind procfs_fd_kind(pid_t pid, int fd);

/* /proc/sys/kernel/yama/ptrace_scope, or -1 when Yama is absent. */
int procfs_ptrace_scope(void);

/* True when the process has exited or is exiting (a zombie, or no address
 * space left to read). */
bool procfs_process_gone(pid_t pid);

/* True when pid lives in a different mount namespace than siprof. */
bool procfs_other_mntns(pid_t pid);

/* Health figures of a process at one moment (cumulative counters are as
 * the kernel gives them; rates are the caller's business). */
struct proc_metrics {
	uint64_t utime_ns, stime_ns;            /* CPU time, all threads */
	uint64_t vm_size, rss_anon, rss_file, rss_shmem, rss_peak; /* bytes */
	uint64_t threads;
	uint64_t ctx_voluntary, ctx_involuntary;
	uint64_t minflt, majflt;
	uint64_t io_rchar, io_wchar, io_read_bytes, io_write_bytes;
	uint64_t fds;
	bool have_io; /* /proc/PID/io needs more privilege than the rest */
};

bool procfs_metrics(pid_t pid, struct proc_metrics *m);

/* How many CPUs pid may use: its affinity mask, capped by its cgroup's
 * cpu.max quota (may be fractional). */
double procfs_cpu_capacity(pid_t pid);

/* Host facts for a session's context. */
void procfs_kernel_release(char *buf, size_t n);

#endif
