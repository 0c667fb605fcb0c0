// C++ new and delete at two known call sites, for record --alloc: 16
// objects of 64 bytes (new Small) and 3 of 1024 bytes (new Big[...]) per
// step, 64 steps a second, so the bytes split 25/75 and the objects 84/16.
//
// usage: target-alloc-cxx DIR. Counters go to DIR/counts.json on SIGUSR1
// and at exit: {"pid", "elapsed_s", "loops", "sites": {NAME: {"line",
// "size", "bytes", "objects"}}}, NAME the function that calls new.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <unistd.h>

struct Small {
	char b[64];
};
struct Big {
	char b[1024];
};

struct Site {
	const char *name;
	int line;
	unsigned long size, bytes, objects;
};
static Site sites[2] = { { "make_small", 0, 64, 0, 0 }, { "make_big", 0, 1024, 0, 0 } };
static volatile sig_atomic_t dump_wanted, stop_wanted;
static char dir[4096];

__attribute__((noinline)) static Small *
make_small()
{
	sites[0].line = __LINE__ + 1;
	Small *p = new Small; // SITE_NEW_SMALL
	p->b[0] = 1;
	sites[0].bytes += sizeof(Small);
	sites[0].objects++;
	return p;
}

__attribute__((noinline)) static Big *
make_big()
{
	sites[1].line = __LINE__ + 1;
	Big *p = new Big; // SITE_NEW_BIG
	p->b[0] = 1;
	sites[1].bytes += sizeof(Big);
	sites[1].objects++;
	return p;
}

static double
now_s()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
write_counts(double elapsed, unsigned long loops)
{
	char tmp[4200], path[4200];
	snprintf(tmp, sizeof tmp, "%s/counts.json.tmp", dir);
	snprintf(path, sizeof path, "%s/counts.json", dir);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "{\"pid\": %d, \"elapsed_s\": %.6f, \"loops\": %lu, \"sites\": {", (int)getpid(),
		elapsed, loops);
	for (int i = 0; i < 2; i++)
		fprintf(f, "%s\"%s\": {\"line\": %d, \"size\": %lu, \"bytes\": %lu, \"objects\": %lu}",
			i ? ", " : "", sites[i].name, sites[i].line, sites[i].size, sites[i].bytes,
			sites[i].objects);
	fprintf(f, "}}\n");
	fclose(f);
	rename(tmp, path);
}

/* Two overloads of one name, for the tests of functions found by name
 * (tests/unit-probes.c). */
__attribute__((noinline)) int
overloaded(int x)
{
	return x + 1;
}

__attribute__((noinline)) double
overloaded(double x)
{
	return x * 2;
}

static volatile int call_overloads;

int
main(int argc, char **argv)
{
	if (call_overloads)
		return overloaded(1) + (int)overloaded(1.0);
	if (argc != 2) {
		fprintf(stderr, "usage: target-alloc-cxx DIR\n");
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[1]);
	signal(SIGUSR1, [](int) { dump_wanted = 1; });
	signal(SIGTERM, [](int) { stop_wanted = 1; });
	signal(SIGINT, [](int) { stop_wanted = 1; });
	char path[4200];
	snprintf(path, sizeof path, "%s/ready", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	double t0 = now_s(), next = t0;
	unsigned long loops = 0;
	while (!stop_wanted) {
		Small *s[16];
		Big *b[3];
		for (auto &x : s)
			x = make_small();
		for (auto &x : b)
			x = make_big();
		for (auto x : s)
			delete x;
		for (auto x : b)
			delete x;
		loops++;
		if (dump_wanted) {
			dump_wanted = 0;
			write_counts(now_s() - t0, loops);
		}
		next += 1.0 / 64;
		timespec ts = { (time_t)next, (long)((next - (time_t)next) * 1e9) };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) != 0 && !stop_wanted)
			;
	}
	write_counts(now_s() - t0, loops);
	return 0;
}
