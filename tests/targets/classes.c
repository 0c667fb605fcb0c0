/* A target whose threads each do one known thing, for the record tests.
 *
 *   spinner   burns CPU: burn_three does 3 units of work, burn_one 1 (3:1)
 *   locked    blocked on a mutex that `holder` keeps while it sleeps
 *   netreader read() on a socket that never receives data
 *   syncer    write() + fsync() of a file in DIR, over and over
 *   sleeper   nanosleep
 *   poller    epoll_wait(-1), counting EINTR
 *   churn-*   (with --churn) threads created and exiting all the time
 *
 * usage: target-classes DIR [--churn]. Writes DIR/ready when every thread
 * is in place; on SIGTERM writes DIR/result and exits 0. Program signals
 * (SIGUSR1, SIGRTMIN) are handled on the main thread only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BARRIER() __asm__ volatile("" ::: "memory")

static const char *dir;
static char spin_dir[64]; /* the tmpfs directory of DIR/spin; "" for DIR */
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static int sv[2], poll_pipe[2];
static atomic_int in_place, eintr_count, churned;
static volatile sig_atomic_t usr1_count, rt_count, term;
static volatile unsigned long sink;
static unsigned long long three_ns, one_ns; /* the spinner's own clock, per function */

/* Work, not time, so that the split stays the same however the thread is
 * preempted on a loaded machine. It is near 3:1 but not exactly (measured
 * with perf on one VM: 80:20), so the spinner also measures the CPU time
 * of each function itself and writes both totals to DIR/spin every few
 * dozen rounds: the split over any window is their difference. DIR/spin
 * is a symbolic link to a file in a tmpfs (/dev/shm): written in DIR, next
 * to the syncer's fsyncs, the spinner's own writes waited for the disk's
 * journal (some 15% of its time on this VM), and the spinner would no
 * longer be a thread that only runs. */
#define UNIT 300000

__attribute__((noinline)) static void
burn_three(void)
{
	for (int i = 0; i < 3 * UNIT; i++)
		sink = sink * 31 + 7;
	BARRIER();
}

__attribute__((noinline)) static void
burn_one(void)
{
	for (int i = 0; i < UNIT; i++)
		sink = sink * 31 + 7;
	BARRIER();
}

static void write_file(const char *name, const char *text);
static void write_file_in(const char *d, const char *name, const char *text);

/* The monotonic clock, read in the vDSO: CLOCK_THREAD_CPUTIME_ID would be a
 * system call, whose return is where a preempted thread waits for its CPU,
 * and would draw the samples. Preemption strikes the two functions in
 * proportion to their time, so their split in time is their split in CPU. */
static unsigned long long
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void *
spinner_main(void *arg)
{
	(void)arg;
	atomic_fetch_add(&in_place, 1);
	for (unsigned long n = 1;; n++) {
		unsigned long long a = mono_ns(), b, c;
		char text[64];

		burn_three();
		b = mono_ns();
		burn_one();
		c = mono_ns();
		three_ns += b - a;
		one_ns += c - b;
		if (n % 32 == 0) {
			snprintf(text, sizeof text, "three_ns=%llu one_ns=%llu\n", three_ns, one_ns);
			write_file_in(spin_dir[0] != '\0' ? spin_dir : dir, "spin", text);
		}
	}
	return NULL;
}

static void *
holder_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&held);
	atomic_fetch_add(&in_place, 1);
	for (;;)
		pause();
	return NULL;
}

__attribute__((noinline)) static void
wait_for_lock(void)
{
	pthread_mutex_lock(&held);
	pthread_mutex_unlock(&held);
	BARRIER();
}

static void *
locked_main(void *arg)
{
	(void)arg;
	atomic_fetch_add(&in_place, 1);
	for (;;)
		wait_for_lock();
	return NULL;
}

__attribute__((noinline)) static void
wait_for_data(void)
{
	char c;

	while (read(sv[0], &c, 1) < 0 && errno == EINTR)
		;
	BARRIER();
}

static void *
netreader_main(void *arg)
{
	(void)arg;
	atomic_fetch_add(&in_place, 1);
	for (;;)
		wait_for_data();
	return NULL;
}

__attribute__((noinline)) static void
write_and_sync(int fd)
{
	char block[4096];

	memset(block, 'x', sizeof block);
	if (pwrite(fd, block, sizeof block, 0) < 0 || fsync(fd) < 0)
		abort();
	BARRIER();
}

static void *
syncer_main(void *arg)
{
	char path[PATH_MAX];
	int fd;

	(void)arg;
	snprintf(path, sizeof path, "%s/synced", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	atomic_fetch_add(&in_place, 1);
	for (;;)
		write_and_sync(fd);
	return NULL;
}

__attribute__((noinline)) static void
nap(void)
{
	struct timespec ts = { 0, 50000000 };

	nanosleep(&ts, NULL);
	BARRIER();
}

static void *
sleeper_main(void *arg)
{
	(void)arg;
	atomic_fetch_add(&in_place, 1);
	for (;;)
		nap();
	return NULL;
}

static void *
poller_main(void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(0);

	(void)arg;
	epoll_ctl(ep, EPOLL_CTL_ADD, poll_pipe[0], &ev);
	atomic_fetch_add(&in_place, 1);
	for (;;) {
		if (epoll_wait(ep, &ev, 1, -1) < 0 && errno == EINTR)
			atomic_fetch_add(&eintr_count, 1);
	}
	return NULL;
}

static void *
short_life(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++)
		sink = sink * 13 + 1;
	atomic_fetch_add(&churned, 1);
	return NULL;
}

static void *
churn_main(void *arg)
{
	(void)arg;
	atomic_fetch_add(&in_place, 1);
	for (;;) {
		pthread_t t;
		char name[16];

		if (pthread_create(&t, NULL, short_life, NULL) == 0) {
			snprintf(name, sizeof name, "churn-%d", atomic_load(&churned) % 100);
			pthread_setname_np(t, name);
			pthread_join(t, NULL);
		}
		usleep(2000);
	}
	return NULL;
}

static void on_usr1(int sig) { (void)sig; usr1_count++; }
static void on_rt(int sig) { (void)sig; rt_count++; }
static void on_term(int sig) { (void)sig; term = 1; }

static void
write_file_in(const char *d, const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", d, name);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", d, name);
	f = fopen(tmp, "w");
	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	rename(tmp, path);
}

static void
write_file(const char *name, const char *text)
{
	write_file_in(dir, name, text);
}

/* DIR/spin as a link into a directory of a tmpfs, if there is one. */
static void
spin_link(void)
{
	char link[PATH_MAX], target[PATH_MAX];

	snprintf(spin_dir, sizeof spin_dir, "/dev/shm/target-classes.XXXXXX");
	if (mkdtemp(spin_dir) == NULL) {
		spin_dir[0] = '\0';
		return;
	}
	snprintf(link, sizeof link, "%s/spin", dir);
	snprintf(target, sizeof target, "%s/spin", spin_dir);
	if (symlink(target, link) != 0) {
		rmdir(spin_dir);
		spin_dir[0] = '\0';
	}
}

static void
spin_unlink(void)
{
	char path[PATH_MAX];

	if (spin_dir[0] == '\0')
		return;
	snprintf(path, sizeof path, "%s/spin", spin_dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/.spin.tmp", spin_dir);
	unlink(path);
	rmdir(spin_dir);
}

static void
start(const char *name, void *(*fn)(void *))
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, NULL) != 0)
		abort();
	pthread_setname_np(t, name);
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t sigs, old;
	char text[256];
	int want = 6;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [--churn]\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_rt;
	sigaction(SIGRTMIN, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || pipe(poll_pipe) != 0)
		abort();
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGRTMIN);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	spin_link();
	start("holder", holder_main);
	while (atomic_load(&in_place) < 1)
		usleep(1000);
	start("spinner", spinner_main);
	start("locked", locked_main);
	start("netreader", netreader_main);
	start("syncer", syncer_main);
	start("sleeper", sleeper_main);
	start("poller", poller_main);
	want = 7;
	if (argc > 2 && strcmp(argv[2], "--churn") == 0) {
		start("churner", churn_main);
		want++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	while (atomic_load(&in_place) < want)
		usleep(1000);
	usleep(100000);
	snprintf(text, sizeof text, "%d\n", (int)getpid());
	write_file("ready", text);
	while (!term)
		pause();
	snprintf(text, sizeof text, "usr1=%d rt=%d eintr=%d churned=%d\n", (int)usr1_count,
		 (int)rt_count, atomic_load(&eintr_count), atomic_load(&churned));
	write_file("result", text);
	spin_unlink();
	return 0;
}
