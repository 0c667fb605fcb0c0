/* One call site leaking a steady 64 KiB a second (1 KiB objects, never
 * freed) and one allocating and freeing as many bytes (1 KiB objects
 * freed at the next step), for the leak suspects of record --alloc.
 *
 * usage: target-alloc-leak DIR. Counters (tests/targets/alloc-common.h)
 * go to DIR/counts.json on SIGUSR1 and at exit; for leak_site, bytes and
 * objects are also those in use, since it frees nothing. */
#include "alloc-common.h"

static struct site sites[2] = {
	{ "leak_site", 0, 1024, 0, 0 },
	{ "churn_site", 0, 1024, 0, 0 },
};
static void *held;

__attribute__((noinline)) static void
leak_site(void)
{
	sites[0].line = __LINE__ + 1;
	char *p = malloc(1024); /* SITE_LEAK */
	if (p == NULL)
		abort();
	p[0] = 1;
	sites[0].bytes += 1024;
	sites[0].objects++;
	/* Kept out of the compiler's sight, so that it is truly never freed. */
	__asm__ volatile("" : : "r"(p) : "memory");
}

__attribute__((noinline)) static void
churn_site(void)
{
	sites[1].line = __LINE__ + 1;
	char *p = malloc(1024); /* SITE_CHURN */
	if (p == NULL)
		abort();
	p[0] = 1;
	sites[1].bytes += 1024;
	sites[1].objects++;
	free(held);
	held = p;
}

int
main(int argc, char **argv)
{
	double t0, next;
	unsigned long loops = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: target-alloc-leak DIR\n");
		return 2;
	}
	start_state(argv[1]);
	t0 = next = now_s();
	while (!stop_wanted) {
		/* 64 steps a second: 64 KiB a second at each site. */
		leak_site();
		churn_site();
		loops++;
		if (dump_wanted) {
			dump_wanted = 0;
			write_counts(sites, 2, now_s() - t0, loops);
		}
		next += 1.0 / 64;
		sleep_until(next);
	}
	write_counts(sites, 2, now_s() - t0, loops);
	return 0;
}
