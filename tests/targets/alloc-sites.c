/* Three call sites allocating 60, 30 and 10 percent of the bytes with
 * objects of 32 B, 4 KiB and 1 MiB, for the tests of record --alloc.
 *
 * usage: target-alloc-sites DIR [CALLS-PER-S | flat] [SMALL,PAGE,HUGE] [gated]
 *
 * Each step allocates at the site furthest behind its share of the bytes
 * (so the mix is the same at any moment, down to one large object), and
 * frees the object allocated 16 steps before, so objects live briefly.
 * Paced at CALLS-PER-S allocations a second (default 5000; each is also a
 * free); "flat" runs unpaced, as fast as it can, for the throughput
 * checks. SMALL,PAGE,HUGE changes the sizes (bytes; the shares stay): with
 * 32 B and 1 MiB, 60/10 percent of the bytes means one huge object every
 * 196,608 small ones, 39 s apart at 5000 calls a second, so a test of a
 * few seconds passes a smaller HUGE. "gated" starts with the allocations
 * paused, and each SIGUSR2 starts or pauses them: a test opens the gate
 * once the probes are in, and closes it before they go, so that its
 * counts and the probes cover the same calls. The sites' counters (tests/targets/alloc-common.h) go to
 * DIR/counts.json on SIGUSR1 and at exit (SIGTERM, SIGINT). The same
 * source is built against glibc and against jemalloc. */
#include "alloc-common.h"

#define RING 16

static struct site sites[3] = {
	{ "site_small", 0, 32, 0, 0 },
	{ "site_page", 0, 4096, 0, 0 },
	{ "site_huge", 0, 1048576, 0, 0 },
};
static const double share[3] = { 0.6, 0.3, 0.1 };
static void *ring[RING];
static unsigned ring_at;

static void
keep(void *p)
{
	if (p == NULL)
		abort();
	/* Touch it, as a program would; the compiler may not drop the call. */
	memset(p, 1, 16);
	free(ring[ring_at]);
	ring[ring_at] = p;
	ring_at = (ring_at + 1) % RING;
}

__attribute__((noinline)) static void
site_small(void)
{
	sites[0].line = __LINE__ + 1;
	void *p = malloc(sites[0].size); /* SITE_SMALL */
	sites[0].bytes += sites[0].size;
	sites[0].objects++;
	keep(p);
}

__attribute__((noinline)) static void
site_page(void)
{
	sites[1].line = __LINE__ + 1;
	void *p = malloc(sites[1].size); /* SITE_PAGE */
	sites[1].bytes += sites[1].size;
	sites[1].objects++;
	keep(p);
}

__attribute__((noinline)) static void
site_huge(void)
{
	sites[2].line = __LINE__ + 1;
	void *p = malloc(sites[2].size); /* SITE_HUGE */
	sites[2].bytes += sites[2].size;
	sites[2].objects++;
	keep(p);
}

/* The site furthest behind its share once its next object is counted. */
static int
next_site(void)
{
	int best = 0;
	double best_v = 0;

	for (int i = 0; i < 3; i++) {
		double v = (double)(sites[i].bytes + sites[i].size) / share[i];

		if (i == 0 || v < best_v) {
			best = i;
			best_v = v;
		}
	}
	return best;
}

static volatile sig_atomic_t gate_open = 1;

static void
on_usr2(int sig)
{
	(void)sig;
	gate_open = !gate_open;
}

int
main(int argc, char **argv)
{
	double rate = 5000, t0, next;
	int flat = 0;
	unsigned long loops = 0;

	if (argc < 2 || argc > 5) {
		fprintf(stderr, "usage: target-alloc-sites DIR [CALLS-PER-S | flat] [SMALL,PAGE,HUGE] [gated]\n");
		return 2;
	}
	if (argc >= 4 && sscanf(argv[3], "%lu,%lu,%lu", &sites[0].size, &sites[1].size,
				&sites[2].size) != 3)
		return 2;
	if (argc == 5) {
		if (strcmp(argv[4], "gated") != 0)
			return 2;
		gate_open = 0;
	}
	signal(SIGUSR2, on_usr2);
	if (argc >= 3 && strcmp(argv[2], "flat") == 0)
		flat = 1;
	else if (argc >= 3 && (rate = atof(argv[2])) <= 0)
		return 2;
	start_state(argv[1]);
	t0 = next = now_s();
	while (!stop_wanted) {
		/* Paced by the millisecond: the steps due by now, then sleep. */
		int due = !gate_open ? 0 : flat ? 1000 : (int)(rate / 1000.0 + 0.5);

		for (int i = 0; i < due; i++) {
			switch (next_site()) {
			case 0: site_small(); break;
			case 1: site_page(); break;
			default: site_huge(); break;
			}
			loops++;
		}
		if (dump_wanted) {
			dump_wanted = 0;
			write_counts(sites, 3, now_s() - t0, loops);
		}
		if (!flat || !gate_open) {
			next += 0.001;
			if (next < now_s() - 0.1)
				next = now_s(); /* fell behind: do not burst to catch up */
			sleep_until(next);
		}
	}
	write_counts(sites, 3, now_s() - t0, loops);
	return 0;
}
