/* The allocation benchmark's workload: a steady RATE malloc/free pairs a
 * second across THREADS threads (default 4), paced by the millisecond,
 * at two call sites: bench_site_a (64-byte objects, 3 pairs in 4) and
 * bench_site_b (256-byte objects, 1 in 4), so 3/7 of the bytes at a and
 * 4/7 at b.
 *
 * usage: bench-alloc-workload RATE [THREADS]
 *
 * Prints "ready PID" once its threads run. On SIGUSR1 it prints one line
 * of its own counters since it started: "pairs N cpu_s S wall_s W
 * a_pairs N a_bytes N b_pairs N b_bytes N", where cpu_s is the process's
 * user + system time (getrusage, so the kernel's time for any probe
 * trap is in it). The benchmark takes two such lines and divides. Exits
 * on SIGTERM or SIGINT. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double rate_per_thread;
static atomic_ulong a_pairs, b_pairs;
static volatile sig_atomic_t stop_wanted;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void
bench_site_a(void)
{
	char *p = malloc(64);

	if (p == NULL)
		abort();
	p[0] = 1;
	__asm__ volatile("" : : "r"(p) : "memory");
	free(p);
}

__attribute__((noinline)) static void
bench_site_b(void)
{
	char *p = malloc(256);

	if (p == NULL)
		abort();
	p[0] = 1;
	__asm__ volatile("" : : "r"(p) : "memory");
	free(p);
}

static void *
worker(void *arg)
{
	double next = now_s(), owed = 0;
	unsigned long n = 0, a = 0, b = 0;

	(void)arg;
	while (!stop_wanted) {
		owed += rate_per_thread / 1000.0;
		for (; owed >= 1.0; owed -= 1.0, n++) {
			if (n % 4 == 3) {
				bench_site_b();
				b++;
			} else {
				bench_site_a();
				a++;
			}
		}
		/* Published in batches: one atomic add a millisecond. */
		atomic_fetch_add(&a_pairs, a);
		atomic_fetch_add(&b_pairs, b);
		a = b = 0;
		next += 0.001;
		if (next < now_s() - 0.05) {
			/* Behind (probes made it slower than the pace): the
			 * achieved rate drops rather than bursting later. */
			next = now_s();
			owed = 0;
		}
		struct timespec ts = { (time_t)next, (long)((next - (double)(time_t)next) * 1e9) };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	int threads = argc > 2 ? atoi(argv[2]) : 4;
	double t0;
	sigset_t set;
	pthread_t tid[64];

	if (argc < 2 || atof(argv[1]) <= 0 || threads < 1 || threads > 64) {
		fprintf(stderr, "usage: bench-alloc-workload RATE [THREADS]\n");
		return 2;
	}
	rate_per_thread = atof(argv[1]) / threads;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* the workers inherit it */
	t0 = now_s();
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, NULL);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		int sig;
		struct rusage ru;

		sigwait(&set, &sig);
		if (sig != SIGUSR1)
			break;
		getrusage(RUSAGE_SELF, &ru);
		unsigned long a = atomic_load(&a_pairs), b = atomic_load(&b_pairs);
		printf("pairs %lu cpu_s %.6f wall_s %.6f a_pairs %lu a_bytes %lu b_pairs %lu b_bytes %lu\n",
		       a + b,
		       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
		       now_s() - t0, a, a * 64, b, b * 256);
		fflush(stdout);
	}
	stop_wanted = 1;
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	return 0;
}
