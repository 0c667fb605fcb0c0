/* A target with a known shape, for the dump tests.
 *
 *   worker  worker_main -> level1 -> level2 -> compute -> spin_inline (inlined)
 *   reader  reader_main -> do_read -> read() on a pipe nobody writes
 *   poller  poller_main -> do_poll -> epoll_wait(-1), counting EINTR
 *   locker  locker_main -> do_lock -> pthread_mutex_lock on a mutex main holds
 *   plugin  plugin_main -> plugin_spin -> plugin_leaf, from a dlopen'ed library
 *   main    pause() forever, counting SIGUSR1 and SIGRTMIN
 *
 * usage: target-chain DIR. Writes DIR/ready when every thread is in place;
 * on SIGTERM writes DIR/result ("usr1=N rt=N eintr=N progress=N") and exits. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#ifndef PLUGIN
#define PLUGIN "libplugin.so"
#endif

static const char *dir;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int read_pipe[2], poll_pipe[2];
static atomic_int in_place;
static atomic_ulong progress;
static atomic_int eintr_count;
static volatile sig_atomic_t usr1_count, rt_count, term;
/* Never set: keeps the loops below from being endless, so the compiler
 * gives their functions ordinary frames, as real code has. */
static volatile int never;

#define BARRIER() __asm__ volatile("" ::: "memory")

static inline __attribute__((always_inline)) void
spin_inline(volatile unsigned long *x)
{
	while (!never) { *x = *x * 31 + 7; atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed); } /* LEAF */
}

__attribute__((noinline)) static void
compute(volatile unsigned long *x)
{
	spin_inline(x); /* CALL-SPIN */
	BARRIER();
}

__attribute__((noinline)) static void
level2(volatile unsigned long *x)
{
	compute(x); /* CALL-COMPUTE */
	BARRIER();
}

__attribute__((noinline)) static void
level1(volatile unsigned long *x)
{
	level2(x);
	BARRIER();
}

__attribute__((noinline)) static void *
worker_main(void *arg)
{
	volatile unsigned long x = 1;

	(void)arg;
	atomic_fetch_add(&in_place, 1);
	level1(&x);
	BARRIER();
	return NULL;
}

__attribute__((noinline)) static void
do_read(void)
{
	char c;

	atomic_fetch_add(&in_place, 1);
	while (read(read_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	BARRIER();
}

__attribute__((noinline)) static void *
reader_main(void *arg)
{
	(void)arg;
	do_read();
	BARRIER();
	return NULL;
}

__attribute__((noinline)) static void
do_poll(int ep)
{
	struct epoll_event ev;

	atomic_fetch_add(&in_place, 1);
	for (;;) {
		int n = epoll_wait(ep, &ev, 1, -1);

		if (n < 0 && errno == EINTR)
			atomic_fetch_add(&eintr_count, 1);
		BARRIER();
	}
}

__attribute__((noinline)) static void *
poller_main(void *arg)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };

	(void)arg;
	epoll_ctl(ep, EPOLL_CTL_ADD, poll_pipe[0], &ev);
	do_poll(ep);
	BARRIER();
	return NULL;
}

__attribute__((noinline)) static void
do_lock(void)
{
	atomic_fetch_add(&in_place, 1);
	pthread_mutex_lock(&lock);
	BARRIER();
	pthread_mutex_unlock(&lock);
}

__attribute__((noinline)) static void *
locker_main(void *arg)
{
	(void)arg;
	do_lock();
	BARRIER();
	return NULL;
}

__attribute__((noinline)) static void *
plugin_main(void *arg)
{
	char path[PATH_MAX], *slash;
	ssize_t n;
	void *h;
	void (*spin)(void);

	(void)arg;
	n = readlink("/proc/self/exe", path, sizeof path - 64);
	if (n < 0)
		abort();
	path[n] = '\0';
	slash = strrchr(path, '/');
	strcpy(slash + 1, PLUGIN);
	h = dlopen(path, RTLD_NOW);
	if (h == NULL) {
		fprintf(stderr, "target: %s\n", dlerror());
		abort();
	}
	spin = (void (*)(void))dlsym(h, "plugin_spin");
	atomic_fetch_add(&in_place, 1);
	spin();
	BARRIER();
	return NULL;
}

static void
on_usr1(int sig)
{
	(void)sig;
	usr1_count++;
}

static void
on_rt(int sig)
{
	(void)sig;
	rt_count++;
}

static void
on_term(int sig)
{
	(void)sig;
	term = 1;
}

static void
write_file(const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
	f = fopen(tmp, "w");
	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	rename(tmp, path);
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
	char text[256];

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
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
	if (pipe(read_pipe) != 0 || pipe(poll_pipe) != 0)
		abort();
	pthread_mutex_lock(&lock);
	/* Program signals go to main only: an EINTR elsewhere is siprof's. */
	sigset_t sigs, old;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGRTMIN);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	start("worker", worker_main);
	start("reader", reader_main);
	start("poller", poller_main);
	start("locker", locker_main);
	start("plugin", plugin_main);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	while (atomic_load(&in_place) < 5)
		usleep(1000);
	usleep(100000); /* let the blocked threads reach their system calls */
	snprintf(text, sizeof text, "%d\n", (int)getpid());
	write_file("ready", text);
	while (!term)
		pause();
	snprintf(text, sizeof text, "usr1=%d rt=%d eintr=%d progress=%lu\n",
		 (int)usr1_count, (int)rt_count, atomic_load(&eintr_count),
		 atomic_load(&progress));
	write_file("result", text);
	return 0;
}
