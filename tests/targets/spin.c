/* A process that spins in a function named for its role, for the tests of
 * the processes of record --children.
 *
 * usage: target-spin alpha|beta DIR. Writes DIR/ROLE.pid (its own pid, as
 * getpid gives it), then spins in spin_alpha or spin_beta until DIR/stop
 * exists (looked for every 50 ms), and exits 0. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static char stop_path[4096];

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether it is time to stop; the file is looked for every 50 ms. */
static int
stop(void)
{
	static double next;
	double t = now();

	if (t < next)
		return 0;
	next = t + 0.05;
	return access(stop_path, F_OK) == 0;
}

__attribute__((noinline)) static void
spin_alpha(void)
{
	while (!stop())
		for (int i = 0; i < 100000; i++)
			sink += (unsigned long)i;
}

__attribute__((noinline)) static void
spin_beta(void)
{
	while (!stop())
		for (int i = 0; i < 100000; i++)
			sink ^= (unsigned long)i;
}

int
main(int argc, char **argv)
{
	char path[4096];
	FILE *f;

	if (argc != 3 || (strcmp(argv[1], "alpha") != 0 && strcmp(argv[1], "beta") != 0)) {
		fprintf(stderr, "usage: target-spin alpha|beta DIR\n");
		return 2;
	}
	snprintf(stop_path, sizeof stop_path, "%s/stop", argv[2]);
	snprintf(path, sizeof path, "%s/%s.pid", argv[2], argv[1]);
	f = fopen(path, "w");
	if (f == NULL)
		return 1;
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	if (strcmp(argv[1], "alpha") == 0)
		spin_alpha();
	else
		spin_beta();
	return 0;
}
