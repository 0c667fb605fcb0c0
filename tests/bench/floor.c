/* The floor for held time: the least a ptrace sampler can do per sample.
 * Interrupt one thread, wait for the stop, read its registers, copy its
 * stack from sp (at most SIZE bytes, not past the stack's mapping), restart
 * it; nothing else. Held time is measured as siprof measures it: from
 * seeing the stop to the restart returning.
 *
 * usage: bench-floor RATE SECONDS SIZE PID TID...
 * Runs SECONDS, or until SIGINT or SIGTERM (even where the shell started
 * it with SIGINT ignored); prints: stops N held_p50_us X held_p99_us Y
 *
 * The floor for thread creation: bench-floor clone PID seizes every thread
 * of PID with PTRACE_O_TRACECLONE, as siprof does, and does nothing but
 * restart every stop (a new thread's, its creator's, a signal's) until
 * SIGINT or SIGTERM; prints: clones N */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TIDS 64
#define HIST 10000

static unsigned long hist[HIST], n_held;
static volatile sig_atomic_t stop;

static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* End of the mapping that holds addr, from /proc/PID/maps; 0 if none. */
static uint64_t
mapping_end(pid_t pid, uint64_t addr)
{
	char path[64], line[512];
	uint64_t lo, hi, end = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &lo, &hi) == 2 && addr >= lo && addr < hi) {
			end = hi;
			break;
		}
	fclose(f);
	return end;
}

/* Wait for tid's interrupt stop, passing on any signal that comes first. */
static int
wait_stop(pid_t tid)
{
	int status;

	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!WIFSTOPPED(status))
			return -1;
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		ptrace(PTRACE_CONT, tid, 0, WSTOPSIG(status));
	}
}

static void
on_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int
clone_floor(pid_t pid)
{
	char path[64];
	unsigned long clones = 0;
	int added;

	on_signals();
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	/* Threads created meanwhile are seized through their creator, or
	 * found by the next pass. */
	do {
		struct dirent *de;
		DIR *d = opendir(path);

		if (d == NULL) {
			fprintf(stderr, "bench-floor: no process %d\n", (int)pid);
			return 1;
		}
		added = 0;
		while ((de = readdir(d)) != NULL) {
			pid_t tid = atoi(de->d_name);

			if (tid > 0 && ptrace(PTRACE_SEIZE, tid, 0, (void *)PTRACE_O_TRACECLONE) == 0)
				added++;
		}
		closedir(d);
	} while (added > 0);
	while (!stop) {
		int status, sig, event;
		pid_t tid = waitpid(-1, &status, __WALL);

		if (tid < 0) {
			if (errno == EINTR)
				continue;
			break; /* no tracee left */
		}
		if (!WIFSTOPPED(status))
			continue;
		event = status >> 16;
		sig = WSTOPSIG(status);
		if (event == PTRACE_EVENT_CLONE)
			clones++;
		if (event == PTRACE_EVENT_STOP &&
		    (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU))
			ptrace(PTRACE_LISTEN, tid, 0, 0);
		else
			ptrace(PTRACE_CONT, tid, 0, (void *)(long)(event == 0 ? sig : 0));
	}
	printf("clones %lu\n", clones);
	return 0;
}

int
main(int argc, char **argv)
{
	double rate, seconds;
	size_t size;
	pid_t pid, tids[MAX_TIDS];
	uint64_t ends[MAX_TIDS] = { 0 };
	int ntids = 0;
	unsigned char *buf;
	uint64_t period, deadline, stop_at;

	if (argc == 3 && strcmp(argv[1], "clone") == 0)
		return clone_floor(atoi(argv[2]));
	if (argc < 6) {
		fprintf(stderr, "usage: bench-floor RATE SECONDS SIZE PID TID... | clone PID\n");
		return 2;
	}
	rate = atof(argv[1]);
	seconds = atof(argv[2]);
	size = strtoul(argv[3], NULL, 10);
	pid = atoi(argv[4]);
	for (int i = 5; i < argc && ntids < MAX_TIDS; i++)
		tids[ntids++] = atoi(argv[i]);
	on_signals();
	buf = malloc(size);
	memset(buf, 0, size); /* pre-faulted, as siprof's are */
	for (int i = 0; i < ntids; i++)
		if (ptrace(PTRACE_SEIZE, tids[i], 0, 0) != 0) {
			fprintf(stderr, "bench-floor: cannot seize %d: %s\n", (int)tids[i],
				strerror(errno));
			return 1;
		}
	period = (uint64_t)(1e9 / rate);
	deadline = now_ns();
	stop_at = deadline + (uint64_t)(seconds * 1e9);
	while (deadline < stop_at && !stop) {
		struct timespec ts = { (time_t)(deadline / 1000000000u),
				       (long)(deadline % 1000000000u) };

		if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0 && stop)
			break;
		for (int i = 0; i < ntids; i++) {
			struct user_regs_struct regs;
			struct iovec local, remote;
			uint64_t t1, t2, len;

			if (ptrace(PTRACE_INTERRUPT, tids[i], 0, 0) != 0 || wait_stop(tids[i]) != 0)
				return 1;
			t1 = now_ns();
			ptrace(PTRACE_GETREGS, tids[i], 0, &regs);
			if (ends[i] == 0 || regs.rsp >= ends[i])
				ends[i] = mapping_end(pid, regs.rsp);
			len = ends[i] > regs.rsp ? ends[i] - regs.rsp : 0;
			if (len > size)
				len = size;
			local.iov_base = buf;
			local.iov_len = len;
			remote.iov_base = (void *)(uintptr_t)regs.rsp;
			remote.iov_len = len;
			process_vm_readv(pid, &local, 1, &remote, 1, 0);
			ptrace(PTRACE_CONT, tids[i], 0, 0);
			t2 = now_ns();
			hist[(t2 - t1) / 1000 < HIST ? (t2 - t1) / 1000 : HIST - 1]++;
			n_held++;
		}
		deadline += period;
	}
	/* Exiting detaches every thread without stopping it. */
	{
		unsigned long seen = 0;
		double p50 = 0, p99 = 0;

		for (int i = 0; i < HIST; i++) {
			if (seen <= n_held / 2 && seen + hist[i] > n_held / 2)
				p50 = i + 0.5;
			if (seen <= n_held * 99 / 100 && seen + hist[i] > n_held * 99 / 100)
				p99 = i + 0.5;
			seen += hist[i];
		}
		printf("stops %lu held_p50_us %.1f held_p99_us %.1f\n", n_held, p50, p99);
	}
	return 0;
}
