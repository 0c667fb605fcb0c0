/* A target of five threads, busy and sleeping mixed, for "every sample
 * counted is in the file, and every total adds up":
 *
 *   main      blocked in pause() the whole time (a long-idle thread)
 *   spin-a/b  burn CPU without a pause
 *   mixed-a/b 2 ms of work, then 3 ms of nanosleep, over and over
 *
 * usage: target-threads5 DIR. Writes DIR/ready ("threads=5") once every
 * thread runs; exits 0 on SIGTERM. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static atomic_int in_place;

static unsigned long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void
work_for(unsigned long long ns)
{
	unsigned long long end = now_ns() + ns;

	while (now_ns() < end)
		for (int i = 0; i < 1000; i++)
			sink = sink * 31 + 7;
}

static void *
spin_main(void *arg)
{
	pthread_setname_np(pthread_self(), arg);
	atomic_fetch_add(&in_place, 1);
	for (;;)
		sink = sink * 31 + 7;
	return NULL;
}

static void *
mixed_main(void *arg)
{
	const struct timespec nap = { 0, 3000000 };

	pthread_setname_np(pthread_self(), arg);
	atomic_fetch_add(&in_place, 1);
	for (;;) {
		work_for(2000000);
		nanosleep(&nap, NULL);
	}
	return NULL;
}

static void
on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int
main(int argc, char **argv)
{
	static char *names[] = { "spin-a", "spin-b", "mixed-a", "mixed-b" };
	char path[4096], tmp[4096];
	pthread_t th;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: target-threads5 DIR\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	for (int i = 0; i < 4; i++)
		if (pthread_create(&th, NULL, i < 2 ? spin_main : mixed_main, names[i]) != 0)
			return 1;
	while (atomic_load(&in_place) < 4)
		usleep(1000);
	snprintf(path, sizeof path, "%s/ready", argv[1]);
	snprintf(tmp, sizeof tmp, "%s/.ready", argv[1]);
	f = fopen(tmp, "w");
	if (f == NULL)
		return 1;
	fputs("threads=5\n", f);
	fclose(f);
	rename(tmp, path);
	for (;;)
		pause();
}
