/* Short-lived threads that allocate as soon as they start: 50 a second,
 * one at a time, each calling thread_site 40 times (1 KiB objects, freed
 * at once) and exiting, for the test that record --alloc probes a thread
 * from its first instruction (the tracer's clone event) rather than from
 * the next look at /proc, which a thread this short never meets.
 *
 * usage: target-alloc-threads DIR. Counters (tests/targets/alloc-common.h)
 * go to DIR/counts.json on SIGUSR1 and at exit; loops counts threads. */
#include <pthread.h>

#include "alloc-common.h"

static struct site sites[1] = { { "thread_site", 0, 1024, 0, 0 } };

__attribute__((noinline)) static void
thread_site(void)
{
	sites[0].line = __LINE__ + 1;
	char *p = malloc(1024); /* SITE_THREAD */
	if (p == NULL)
		abort();
	p[0] = 1;
	__asm__ volatile("" : : "r"(p) : "memory");
	free(p);
	/* The creator waits in pthread_join: one writer at a time. */
	sites[0].bytes += 1024;
	sites[0].objects++;
}

static void *
worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 40; i++)
		thread_site();
	return NULL;
}

int
main(int argc, char **argv)
{
	double t0, next;
	unsigned long loops = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: target-alloc-threads DIR\n");
		return 2;
	}
	start_state(argv[1]);
	t0 = next = now_s();
	while (!stop_wanted) {
		pthread_t th;

		if (pthread_create(&th, NULL, worker, NULL) != 0)
			abort();
		pthread_join(th, NULL);
		loops++;
		if (dump_wanted) {
			dump_wanted = 0;
			write_counts(sites, 1, now_s() - t0, loops);
		}
		next += 1.0 / 50;
		sleep_until(next);
	}
	write_counts(sites, 1, now_s() - t0, loops);
	return 0;
}
