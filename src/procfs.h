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
	uint64_t minflt, majflt;     /* page faults (minor, major) */
	uint64_t utime, stime;       /* clock ticks */
	uint64_t starttime;          /* clock ticks after boot */
	int processor;               /* the CPU it last ran on, -1: unknown */
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

/* The processes pid started that are still its children (each thread's
 * /proc/PID/task/TID/children), ascending; *pids is heap-allocated. */
bool procfs_children(pid_t pid, pid_t **pids, size_t *n);

/* Open /proc/PID/task/TID/NAME (stat, schedstat) read-only, to be read again
 * and again with the _fd readers below without a path walk; -1 on failure. */
int procfs_task_open(pid_t pid, pid_t tid, const char *name);

bool procfs_task_stat(pid_t pid, pid_t tid, struct task_stat *st);
/* Through fd (from procfs_task_open) when it is open (>= 0), else by path. */
bool procfs_task_stat_fd(pid_t pid, pid_t tid, int fd, struct task_stat *st);
/* Parse the text of a stat file. The name may hold spaces and ')': it runs
 * from the first '(' to the last ')'. False (errno EINVAL) when malformed. */
bool procfs_parse_stat(char *buf, struct task_stat *st);
bool procfs_task_syscall(pid_t pid, pid_t tid, struct task_syscall *sc);
/* Parse the text of a syscall file: "running", "-1 SP PC" (blocked outside
 * a call) or "NR ARG1..ARG6 SP PC". False (errno EINVAL) when malformed. */
bool procfs_parse_syscall(const char *buf, struct task_syscall *sc);
/* /proc/PID/task/TID/schedstat: CPU time, time spent runnable waiting for
 * a CPU (added when the wait ends), and how many times it got a CPU. */
struct schedstat {
	uint64_t runtime_ns, rundelay_ns, pcount;
};
/* Parse "RUNTIME RUNDELAY PCOUNT"; false unless all three are there. */
bool procfs_parse_schedstat(const char *buf, struct schedstat *ss);
/* Through fd when it is open (>= 0), else by path. */
bool procfs_task_schedstat(pid_t pid, pid_t tid, int fd, struct schedstat *ss);
bool procfs_status(pid_t pid, struct proc_status *st);
/* Parse the text of a status file (modified in place). */
void procfs_parse_status(char *buf, struct proc_status *st);
/* A thread's name; "?" when unreadable. */
void procfs_task_comm(pid_t pid, pid_t tid, char *buf, size_t n);
/* comm of a process (its main thread's name); "?" when unreadable. */
void procfs_comm(pid_t pid, char *buf, size_t n);
/* NUL-separated argv joined with spaces; NULL when unreadable or empty. */
char *procfs_cmdline(pid_t pid);
/* Target of /proc/PID/exe; NULL when unreadable. */
char *procfs_exe(pid_t pid);

/* The text of /proc/PID/maps (the caller frees it); NULL when unreadable. */
char *procfs_maps_text(pid_t pid);
/* /proc/PID/exe opened read-only; -1 on failure. */
int procfs_exe_open(pid_t pid);

bool procfs_maps_read(pid_t pid, struct maps *m);
/* Copy len bytes at addr of pid's memory (process_vm_readv, no stop):
 * false unless every byte was read. */
bool procfs_read_memory(pid_t pid, uint64_t addr, void *buf, size_t len);
/* Parse the text of a maps file (modified in place) into m, replacing what
 * it held; lines that do not parse are skipped. */
void procfs_parse_maps(char *buf, struct maps *m);
void procfs_maps_release(struct maps *m);
/* The entry containing addr, or NULL. */
const struct map_entry *procfs_maps_find(const struct maps *m, uint64_t addr);

/* What file descriptor fd of pid refers to. */
enum fd_kind procfs_fd_kind(pid_t pid, int fd);

/* What a blocked thread waits on, for people (dump, the live view's
 * detail line): the descriptors its call takes, each described from
 * /proc. These read /proc/PID/fd, fdinfo and net/ and the process's
 * memory: cheap for one thread now and then, not for every sample. */
#define PROCFS_WAIT_FDS 16

/* One file descriptor. Text fields are the kernel's, unescaped. */
struct fd_info {
	int fd;
	char type[16];   /* tcp, tcp6, udp, udp6, unix, socket (another family),
			  * pipe, file, device, epoll, eventfd, timerfd, ...;
			  * "?" when /proc/PID/fd/N cannot be read */
	char state[16];  /* tcp: listening, established, close-wait, ...;
			  * unix: listening, connected; else "" */
	char addr[256];  /* socket: its local address (127.0.0.1:80, [::1]:80;
			  * unix: its path, @name when abstract); file, device,
			  * named pipe: the path (cut to fit); else "" */
	char peer[112];  /* socket: the peer's address (unix: its path, given
			  * only for a socket without a path of its own);
			  * "" when none is known */
	uint64_t inode;  /* socket, pipe: the inode in its name */
};

struct fd_wait {
	int epfd;        /* epoll_wait: the epoll instance, whose set is fds;
			  * else -1 */
	size_t n;        /* fds described */
	size_t total;    /* fds waited on; more than n when they did not fit */
	struct fd_info fds[PROCFS_WAIT_FDS];
};

/* What file descriptor fd of pid is, into *fi (always filled). */
void procfs_fd_info(pid_t pid, int fd, struct fd_info *fi);
/* The type (and inode or address) of a descriptor from its link's target
 * alone: socket:[N], pipe:[N], anon_inode:..., other non-paths. False for a
 * path, whose type needs a stat. fi must be zeroed by the caller. */
bool procfs_parse_fd_link(const char *target, struct fd_info *fi);
/* The descriptors a thread of pid blocked in system call sc waits on: the
 * first argument of read, write, recv, send, accept, connect, fsync ...;
 * the pollfd array of poll and ppoll and the fd_sets of select and
 * pselect6, read from the process's memory (at most 64 entries); the set
 * of the epoll instance of epoll_wait (its fdinfo's tfd lines). False when
 * the call takes none or they cannot be read. */
bool procfs_fd_wait(pid_t pid, const struct task_syscall *sc, struct fd_wait *w);
/* "tcp 127.0.0.1:80 (listening)", "tcp 10.0.0.2:51234 -> 10.0.0.1:5432",
 * "pipe:[1234]", "file /var/lib/x.db", ... */
void procfs_fd_info_text(const struct fd_info *fi, char *buf, size_t n);
/* The whole of w on one line: "fd 4: pipe:[1234]", "epoll fd 5 (2 fds):
 * fd 3 tcp ... (listening); fd 7 tcp ... -> ...". */
void procfs_fd_wait_text(const struct fd_wait *w, char *buf, size_t n);

/* /proc/sys/kernel/yama/ptrace_scope, or -1 when Yama is absent. */
int procfs_ptrace_scope(void);

/* True when the process has exited or is exiting (a zombie, or no address
 * space left to read). */
bool procfs_process_gone(pid_t pid);

/* True when pid lives in a different mount namespace than siprof. */
bool procfs_other_mntns(pid_t pid);
/* "/proc/PID/root" in buf: the process's root directory, through which
 * siprof opens the files of a process in another mount namespace. Returns
 * buf. */
const char *procfs_root(pid_t pid, char *buf, size_t n);

/* Health figures of a process at one moment (cumulative counters are as
 * the kernel gives them; rates are the caller's business). */
struct proc_metrics {
	uint64_t utime_ns, stime_ns;            /* CPU time, all threads */
	uint64_t vm_size, rss_anon, rss_file, rss_shmem, rss_peak; /* bytes */
	uint64_t threads;
	/* Not read by procfs_metrics: /proc/PID/status has the main thread's
	 * alone; metrics.c sums procfs_task_ctxsw over the threads. */
	uint64_t ctx_voluntary, ctx_involuntary;
	uint64_t minflt, majflt;
	uint64_t io_rchar, io_wchar, io_read_bytes, io_write_bytes;
	uint64_t fds;
	bool have_io; /* /proc/PID/io needs more privilege than the rest */
};

bool procfs_metrics(pid_t pid, struct proc_metrics *m);
/* Parsers of procfs_metrics: the memory and thread lines of
 * /proc/PID/status, and /proc/PID/io (sets have_io); both modify buf. */
void procfs_parse_metrics_status(char *buf, struct proc_metrics *m);
void procfs_parse_io(char *buf, struct proc_metrics *m);

/* A thread's context switches since it started, from
 * /proc/PID/task/TID/status (the kernel's nvcsw and nivcsw). False when the
 * thread is gone. */
bool procfs_task_ctxsw(pid_t pid, pid_t tid, uint64_t *voluntary, uint64_t *involuntary);
/* Parse the two counters out of a status file's text. */
bool procfs_parse_ctxsw(const char *buf, uint64_t *voluntary, uint64_t *involuntary);

/* Seconds since boot, from /proc/uptime. */
bool procfs_uptime(double *seconds);

/* How many CPUs pid may use: its affinity mask, capped by its cgroup's
 * cpu.max quota (may be fractional). */
double procfs_cpu_capacity(pid_t pid);

/* Host facts for a session's context. */
void procfs_kernel_release(char *buf, size_t n);

#endif
