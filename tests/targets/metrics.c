/* A target whose health figures are known: for "the metrics add up".
 *
 * usage: target-metrics switch DIR
 *   Four worker threads in two pairs, pong-a0/pong-a1 and pong-b0/pong-b1,
 *   wait (a condition variable) until DIR/go exists; the main thread sleeps
 *   meanwhile, looking for it 20 times a second. Then each pair passes a
 *   byte to and fro over two pipes, thousands of voluntary context
 *   switches a second: pair a for 3 s, pair b for 2 s. Pair b's threads then
 *   sleep 1.5 s, write "TID VOLUNTARY INVOLUNTARY" (getrusage
 *   RUSAGE_THREAD, their whole life) as a line of DIR/exited, and exit;
 *   pair a's wait for ever. When both pairs are done the main thread
 *   writes DIR/done "rounds_a=N rounds_b=M" and sleeps until killed.
 *   Writes DIR/ready once every thread waits.
 *
 * usage: target-metrics grow DIR KIB_PER_S
 *   Touches 68 MiB of anonymous memory, writes DIR/ready, then touches
 *   KIB_PER_S / 4 KiB more every 250 ms (by the clock: a late step catches
 *   up), up to 120 MiB, and after each step appends "MONOTONIC_NS
 *   VMRSS_KIB" (its own /proc/self/status) as a line of DIR/rss. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static const char *dir;

static void
write_file(const char *name, const char *text)
{
	char path[4096], tmp[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s/.%s", dir, name);
	f = fopen(tmp, "w");
	if (f == NULL)
		exit(1);
	fputs(text, f);
	fclose(f);
	rename(tmp, path);
}

static void
append_line(const char *name, const char *line)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		exit(1);
	close(fd);
}

static bool
exists(const char *name)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- switch ---- */

struct pair {
	char name;
	double seconds;
	int to1[2], to0[2]; /* pipes: thread 0 -> thread 1, and back */
	long rounds;
	bool done;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int waiting;
static bool go;
static struct pair pairs[2] = { { .name = 'a', .seconds = 3 }, { .name = 'b', .seconds = 2 } };

struct worker {
	struct pair *p;
	int side;
};

static void
wait_for_go(void)
{
	pthread_mutex_lock(&lock);
	waiting++;
	pthread_cond_broadcast(&cond);
	while (!go)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct pair *p = w->p;
	char name[16], c = 'p';
	double end;

	snprintf(name, sizeof name, "pong-%c%d", p->name, w->side);
	prctl(PR_SET_NAME, name);
	wait_for_go();
	if (w->side == 0) {
		end = now_s() + p->seconds;
		for (long i = 0;; i++) {
			/* Every ten rounds a pause: thousands of switches a
			 * second without taking both CPUs. */
			if (i % 10 == 9) {
				if (now_s() >= end)
					break;
				sleep_s(0.002);
			}
			c = 'p';
			if (write(p->to1[1], &c, 1) != 1 || read(p->to0[0], &c, 1) != 1)
				exit(1);
			p->rounds++;
		}
		c = 'x';
		if (write(p->to1[1], &c, 1) != 1)
			exit(1);
	} else {
		while (read(p->to1[0], &c, 1) == 1 && c != 'x')
			if (write(p->to0[1], &c, 1) != 1)
				exit(1);
	}
	pthread_mutex_lock(&lock);
	if (w->side == 0)
		p->done = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	if (p->name == 'b') {
		struct rusage ru;
		char line[128];

		/* Quiet before the end: what the thread had at its last
		 * second is what it exits with. */
		sleep_s(1.5);
		getrusage(RUSAGE_THREAD, &ru);
		snprintf(line, sizeof line, "%ld %ld %ld\n", (long)syscall(SYS_gettid), ru.ru_nvcsw,
			 ru.ru_nivcsw);
		append_line("exited", line);
		return NULL;
	}
	for (;;)
		pause();
}

static int
run_switch(void)
{
	static struct worker workers[4];
	pthread_t b[2], t;
	char text[128];

	for (int i = 0; i < 2; i++)
		if (pipe(pairs[i].to1) != 0 || pipe(pairs[i].to0) != 0)
			return 1;
	for (int i = 0; i < 4; i++) {
		workers[i] = (struct worker){ &pairs[i / 2], i % 2 };
		if (pthread_create(i >= 2 ? &b[i - 2] : &t, NULL, worker_main, &workers[i]) != 0)
			return 1;
	}
	pthread_mutex_lock(&lock);
	while (waiting < 4)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	write_file("ready", "ready\n");
	while (!exists("go"))
		sleep_s(0.05);
	pthread_mutex_lock(&lock);
	go = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < 2; i++)
		pthread_join(b[i], NULL);
	pthread_mutex_lock(&lock);
	while (!pairs[0].done)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	snprintf(text, sizeof text, "rounds_a=%ld rounds_b=%ld\n", pairs[0].rounds, pairs[1].rounds);
	write_file("done", text);
	for (;;)
		pause();
}

/* ---- grow ---- */

static long
vmrss_kib(void)
{
	char buf[4096];
	FILE *f = fopen("/proc/self/status", "r");
	long v = -1;

	if (f == NULL)
		return -1;
	while (fgets(buf, sizeof buf, f) != NULL)
		if (sscanf(buf, "VmRSS: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int
run_grow(long kib_per_s)
{
	size_t cap = 120 * (size_t)MIB, used = 68 * (size_t)MIB;
	size_t step = (size_t)kib_per_s * 1024 / 4;
	char *mem = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct timespec next;

	if (mem == MAP_FAILED || step == 0)
		return 1;
	memset(mem, 1, used);
	write_file("ready", "ready\n");
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (used + step <= cap) {
		char line[128];

		next.tv_nsec += 250000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		memset(mem + used, 1, step);
		used += step;
		snprintf(line, sizeof line, "%.0f %ld\n", now_s() * 1e9, vmrss_kib());
		append_line("rss", line);
	}
	for (;;)
		pause();
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "switch") == 0) {
		dir = argv[2];
		return run_switch();
	}
	if (argc == 4 && strcmp(argv[1], "grow") == 0) {
		dir = argv[2];
		return run_grow(atol(argv[3]));
	}
	fprintf(stderr, "usage: target-metrics switch DIR | grow DIR KIB_PER_S\n");
	return 2;
}
