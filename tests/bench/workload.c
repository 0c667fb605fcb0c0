/* The programs `make bench` profiles, one per measurement:
 *
 *   busy N        N threads doing work through a short call chain; the
 *                 result is work units per second (the throughput counter)
 *   idle N        one busy thread and N threads blocked in a condition
 *                 wait; the result is the busy thread's units per second
 *   gaps          one thread reading the clock in a loop; the result is the
 *                 distribution of the gaps in its progress (how long it was
 *                 stopped, as the thread itself saw it)
 *   heartbeat N   N threads, 8 calls deep, each sleeping 2 ms at a time; the
 *                 result is the longest time any thread went without waking
 *   deep N        N threads running 30 to 60 calls deep, for unwinding
 *   split         one thread that splits its work 50:30:20 between split_a,
 *                 split_b and split_c (by work, not time)
 *   spawn N       one thread that creates N short-lived threads (each returns
 *                 at once), joins them all, and starts again; the result is
 *                 threads created per second (units_per_s)
 *   blocked N     one busy thread and N threads 10 to 25 calls deep in
 *                 frame-pointer code, blocked in epoll_wait, accept4 or a
 *                 socket read (in turn): calls that are copied without a
 *                 stop, in glibc leaves that do not save rbp
 *
 * Threads are named for what they do (busy, idle, gaps, heartbeat, deep,
 * split, spawn, blocked). Protocol, on stdin and stdout: the program prints "ready PID TID..." (the
 * busy threads) once every thread runs, then obeys lines: "start" begins a
 * measuring window, "stop" ends it and prints one result line, "quit" (or
 * end of input) exits. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BARRIER() __asm__ volatile("" ::: "memory")
#define MAX_THREADS 1024
#define UNIT 20000 /* iterations in one work unit: about 20 us */

static volatile unsigned long sink;
static atomic_int running;
static atomic_bool quit;
static pid_t tids[MAX_THREADS];
static int n_busy;

struct counter {
	_Alignas(64) atomic_ulong units;
};
static struct counter counters[MAX_THREADS];

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static atomic_int n_announced;

/* A busy thread is running: its id goes in the ready line. */
static void
announce(void)
{
	tids[atomic_fetch_add(&n_announced, 1)] = (pid_t)syscall(SYS_gettid);
	atomic_fetch_add(&running, 1);
}

/* A unit of work, three calls deep so that stacks have some shape. */
__attribute__((noinline)) static void
work_leaf(int n)
{
	unsigned long s = sink;

	for (int i = 0; i < n; i++)
		s = s * 31 + 7;
	sink = s;
	BARRIER();
}

__attribute__((noinline)) static void
work_mid(int n)
{
	work_leaf(n);
	BARRIER();
}

__attribute__((noinline)) static void
work_unit(void)
{
	work_mid(UNIT);
	BARRIER();
}

static void *
busy_main(void *arg)
{
	struct counter *c = arg;

	announce();
	while (!atomic_load_explicit(&quit, memory_order_relaxed)) {
		work_unit();
		atomic_fetch_add_explicit(&c->units, 1, memory_order_relaxed);
	}
	return NULL;
}

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;

static void *
idle_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&idle_lock);
	atomic_fetch_add(&running, 1);
	while (!atomic_load(&quit))
		pthread_cond_wait(&idle_cond, &idle_lock);
	pthread_mutex_unlock(&idle_lock);
	return NULL;
}

/* Threads blocked in calls that siprof copies without a stop. Each waits
 * on descriptors of its own that nothing ever makes ready; the process
 * ends without joining them. */
__attribute__((noinline)) static void
blocked_wait(int kind)
{
	char buf[64];
	int fd, sv[2];

	switch (kind % 3) {
	case 0: {
		struct epoll_event ev[4];

		fd = epoll_create1(0);
		atomic_fetch_add(&running, 1);
		for (;;)
			epoll_wait(fd, ev, 4, -1);
	}
	case 1:
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || listen(fd, 1) != 0)
			abort();
		atomic_fetch_add(&running, 1);
		for (;;)
			accept4(fd, NULL, NULL, 0);
	default:
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
			abort();
		atomic_fetch_add(&running, 1);
		for (;;)
			if (read(sv[0], buf, sizeof buf) <= 0)
				abort();
	}
}

__attribute__((noinline)) static void
blocked_down(int depth, int kind)
{
	char pad[32 + 16 * (depth % 4)];

	pad[0] = (char)depth;
	BARRIER();
	if (depth > 0)
		blocked_down(depth - 1, kind);
	else
		blocked_wait(kind);
	sink += (unsigned long)pad[0];
	BARRIER();
}

static void *
blocked_main(void *arg)
{
	int i = (int)(intptr_t)arg;

	blocked_down(10 + (i * 7) % 16, i);
	return NULL;
}

/* Gaps in a thread's progress, by microsecond up to 100 ms. */
#define GAP_MIN_NS 3000
#define GAP_BINS 100000
static atomic_uint gap_hist[GAP_BINS];
static atomic_ulong gap_count;

static void *
gaps_main(void *arg)
{
	uint64_t last, t;

	(void)arg;
	announce();
	last = now_ns();
	while (!atomic_load_explicit(&quit, memory_order_relaxed)) {
		t = now_ns();
		if (t - last >= GAP_MIN_NS) {
			uint64_t us = (t - last) / 1000;

			atomic_fetch_add_explicit(&gap_hist[us < GAP_BINS ? us : GAP_BINS - 1], 1,
						  memory_order_relaxed);
			atomic_fetch_add_explicit(&gap_count, 1, memory_order_relaxed);
		}
		last = t;
	}
	return NULL;
}

static double
gap_percentile(unsigned long n, double pct)
{
	unsigned long want = (unsigned long)((double)n * pct / 100.0), seen = 0;

	for (int i = 0; i < GAP_BINS; i++) {
		seen += atomic_load(&gap_hist[i]);
		if (seen > want)
			return i + 0.5;
	}
	return GAP_BINS;
}

/* Heartbeats: the longest gap between two wake-ups of any thread. */
#define BEAT_NS 2000000
static atomic_ulong beat_max_ns;

__attribute__((noinline)) static void
beat_loop(void)
{
	struct timespec d = { 0, BEAT_NS };
	uint64_t last = now_ns(), t, gap, max;

	while (!atomic_load_explicit(&quit, memory_order_relaxed)) {
		nanosleep(&d, NULL);
		t = now_ns();
		gap = t - last;
		last = t;
		max = atomic_load_explicit(&beat_max_ns, memory_order_relaxed);
		while (gap > max && !atomic_compare_exchange_weak(&beat_max_ns, &max, gap))
			;
	}
}

__attribute__((noinline)) static void
beat_down(int depth)
{
	if (depth > 0)
		beat_down(depth - 1);
	else
		beat_loop();
	BARRIER();
}

static void *
heartbeat_main(void *arg)
{
	(void)arg;
	announce();
	beat_down(8);
	return NULL;
}

/* Deep stacks: two functions that recurse into each other to a depth that
 * changes, doing a little work at every level. */
__attribute__((noinline)) static void deep_b(int depth, int max);

__attribute__((noinline)) static void
deep_a(int depth, int max)
{
	work_leaf(50);
	if (depth < max)
		deep_b(depth + 1, max);
	else
		work_mid(UNIT);
	BARRIER();
}

__attribute__((noinline)) static void
deep_b(int depth, int max)
{
	work_leaf(30);
	if (depth < max)
		deep_a(depth + 1, max);
	else
		work_unit();
	BARRIER();
}

static void *
deep_main(void *arg)
{
	struct counter *c = arg;
	unsigned seed = (unsigned)(c - counters) + 1;

	announce();
	while (!atomic_load_explicit(&quit, memory_order_relaxed)) {
		seed = seed * 1103515245u + 12345u;
		deep_a(0, 30 + (int)((seed >> 16) % 31));
		atomic_fetch_add_explicit(&c->units, 1, memory_order_relaxed);
	}
	return NULL;
}

/* The known split: 5, 3 and 2 units of the same loop. */
#define SPLIT_FN(name, units)                                \
	__attribute__((noinline)) static void name(void)     \
	{                                                    \
		unsigned long s = sink;                      \
		for (int i = 0; i < (units) * UNIT; i++)     \
			s = s * 31 + 7;                      \
		sink = s;                                    \
		BARRIER();                                   \
	}
SPLIT_FN(split_a, 5)
SPLIT_FN(split_b, 3)
SPLIT_FN(split_c, 2)

static void *
split_main(void *arg)
{
	struct counter *c = arg;

	announce();
	while (!atomic_load_explicit(&quit, memory_order_relaxed)) {
		split_a();
		split_b();
		split_c();
		atomic_fetch_add_explicit(&c->units, 10, memory_order_relaxed);
	}
	return NULL;
}

/* Thread churn: batches of threads that do nothing, created and joined. */
static int spawn_batch;

static void *
spawned_main(void *arg)
{
	return arg;
}

static void *
spawn_main(void *arg)
{
	struct counter *c = arg;
	pthread_t *batch = calloc((size_t)spawn_batch, sizeof *batch);

	if (batch == NULL)
		abort();
	announce();
	while (!atomic_load_explicit(&quit, memory_order_relaxed)) {
		int made = 0;

		while (made < spawn_batch && pthread_create(&batch[made], NULL, spawned_main, NULL) == 0)
			made++;
		for (int i = 0; i < made; i++)
			pthread_join(batch[i], NULL);
		atomic_fetch_add_explicit(&c->units, (unsigned long)made, memory_order_relaxed);
	}
	free(batch);
	return NULL;
}

static unsigned long
total_units(void)
{
	unsigned long n = 0;

	for (int i = 0; i < MAX_THREADS; i++)
		n += atomic_load(&counters[i].units);
	return n;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench-workload busy N | idle N | gaps | heartbeat N | "
			"deep N | split | spawn N | blocked N\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int n = argc > 2 ? atoi(argv[2]) : 1, want;
	void *(*fn)(void *) = NULL;
	pthread_t th[MAX_THREADS];
	int n_idle = 0, n_blocked = 0, n_threads;
	char line[64];
	uint64_t t0 = now_ns();
	unsigned long u0 = 0;

	if (n < 1 || n > MAX_THREADS - 1)
		usage();
	if (strcmp(mode, "busy") == 0)
		fn = busy_main;
	else if (strcmp(mode, "idle") == 0)
		fn = busy_main, n_idle = n, n = 1;
	else if (strcmp(mode, "gaps") == 0)
		fn = gaps_main, n = 1;
	else if (strcmp(mode, "heartbeat") == 0)
		fn = heartbeat_main;
	else if (strcmp(mode, "deep") == 0)
		fn = deep_main;
	else if (strcmp(mode, "split") == 0)
		fn = split_main, n = 1;
	else if (strcmp(mode, "spawn") == 0)
		fn = spawn_main, spawn_batch = n, n = 1;
	else if (strcmp(mode, "blocked") == 0)
		fn = busy_main, n_blocked = n, n = 1;
	else
		usage();
	n_busy = n;
	n_threads = n + n_idle;
	for (int i = 0; i < n; i++) {
		if (pthread_create(&th[i], NULL, fn, &counters[i]) != 0)
			return 1;
		pthread_setname_np(th[i], fn == busy_main ? "busy" : mode);
	}
	for (int i = 0; i < n_idle; i++) {
		if (pthread_create(&th[n + i], NULL, idle_main, NULL) != 0)
			return 1;
		pthread_setname_np(th[n + i], "idle");
	}
	for (int i = 0; i < n_blocked; i++) {
		pthread_t b;

		if (pthread_create(&b, NULL, blocked_main, (void *)(intptr_t)i) != 0)
			return 1;
		pthread_setname_np(b, "blocked");
		pthread_detach(b);
	}
	want = n_threads + n_blocked;
	while (atomic_load(&running) < want)
		usleep(1000);
	printf("ready %d", (int)getpid());
	for (int i = 0; i < n_busy; i++)
		printf(" %d", (int)tids[i]);
	printf("\n");
	fflush(stdout);

	while (fgets(line, sizeof line, stdin) != NULL) {
		if (strncmp(line, "start", 5) == 0) {
			for (int i = 0; i < GAP_BINS; i++)
				atomic_store(&gap_hist[i], 0);
			atomic_store(&gap_count, 0);
			atomic_store(&beat_max_ns, 0);
			u0 = total_units();
			t0 = now_ns();
		} else if (strncmp(line, "stop", 4) == 0) {
			double secs = (double)(now_ns() - t0) / 1e9;
			unsigned long g = atomic_load(&gap_count);

			printf("units_per_s %.1f gaps_per_s %.1f gap_p50_us %.1f gap_p99_us %.1f "
			       "beat_max_us %.1f\n",
			       (double)(total_units() - u0) / secs, (double)g / secs,
			       g ? gap_percentile(g, 50) : 0.0, g ? gap_percentile(g, 99) : 0.0,
			       (double)atomic_load(&beat_max_ns) / 1e3);
			fflush(stdout);
		} else if (strncmp(line, "quit", 4) == 0) {
			break;
		}
	}
	atomic_store(&quit, true);
	pthread_mutex_lock(&idle_lock);
	pthread_cond_broadcast(&idle_cond);
	pthread_mutex_unlock(&idle_lock);
	for (int i = 0; i < n_threads; i++)
		pthread_join(th[i], NULL);
	return 0;
}
