/* A target whose threads each wait in one known way, named by role, for
 * the tests of the lock and wait classes and of what a thread waits on.
 *
 * usage: target-waits DIR idle|timed|fds|paths
 *
 * idle (waiting for work, or for a lock):
 *   condwait  pthread_cond_wait on a condition nobody signals
 *   semwait   sem_wait on a semaphore nobody posts
 *   holder    takes `contended` for 20 ms at a time (sleeping with it),
 *             lets it go to mutexwait, takes it again
 *   mutexwait blocks on `contended` in pthread_mutex_lock; counts its
 *             acquisitions and the time it spent waiting for them, which
 *             the main thread writes to DIR/mutex every 100 ms
 *             ("acquired=N wait_ns=W at_ns=T", T the monotonic clock)
 *   rwwait    pthread_rwlock_wrlock on a lock the main thread reads
 * timed (one long timed wait each, for restart_syscall):
 *   timedcond pthread_cond_timedwait, an hour
 *   timedsem  sem_timedwait, an hour
 *   timedlock pthread_mutex_timedlock on a mutex the main thread holds
 *   timedpoll poll on a pipe that stays empty, an hour
 *   napper    nanosleep, an hour
 * fds (what a blocked call waits on):
 *   epoller   epoll_wait on a listening TCP socket and an accepted one
 *   pipereader read() on a pipe that stays empty
 *   pollsock  poll() on a connected TCP socket that receives nothing
 *   DIR/addrs says "listen=A:P accepted=A:P:PEER_A:PEER_P
 *   pollsock=A:P:PEER_A:PEER_P pipe=INODE epfd=N" from getsockname,
 *   getpeername and fstat, the target's own view.
 * paths (what a blocked call waits on, named by path or address):
 *   fiforeader read() on the FIFO DIR/fifo, which nobody writes
 *   flocker    flock(LOCK_EX) of the regular file DIR/locked, which the
 *              main thread holds locked through another open
 *   selector   select() on a pipe and the FIFO
 *   poller     poll() on a pipe and the UDP socket
 *   unixserver recv() on the accepted end of a unix stream socket bound to
 *              DIR/sock
 *   unixclient recv() on its client end (which has no path of its own)
 *   udpreader  recvfrom() on a UDP socket bound to 127.0.0.1
 *   DIR/paths says "fifo_fd=N lock_fd=N pipe_fd=N pipe=INODE
 *   udp_fd=N udp=A:P unix_server_fd=N unix_client_fd=N unix_server=INODE
 *   unix_client=INODE" from getsockname and fstat.
 *
 * Writes DIR/ready ("PID") when every thread is in place, DIR/tids
 * ("NAME TID" lines); on SIGTERM exits 0. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BARRIER() __asm__ volatile("" ::: "memory")
#define HOUR 3600

static const char *dir;
static atomic_int in_place;
static volatile sig_atomic_t term;
static char tids[4096];
static pthread_mutex_t tids_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;
static int work; /* never set: the waiters stay idle */
static sem_t idle_sem, go, taken;
static pthread_mutex_t contended = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t main_held = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int timed_pipe[2], read_pipe[2];
static int listen_fd, accepted_fd, poll_fd;
static atomic_ullong mutex_acquired, mutex_wait_ns;

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

static unsigned long long
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* Each thread says who it is, then it is counted in place. */
static void
in_place_as(void)
{
	char name[16], line[64];

	pthread_getname_np(pthread_self(), name, sizeof name);
	snprintf(line, sizeof line, "%s %ld\n", name, (long)syscall(SYS_gettid));
	pthread_mutex_lock(&tids_lock);
	strncat(tids, line, sizeof tids - strlen(tids) - 1);
	pthread_mutex_unlock(&tids_lock);
	atomic_fetch_add(&in_place, 1);
}

static struct timespec
in_an_hour(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_sec += HOUR;
	return ts;
}

__attribute__((noinline)) static void
wait_for_work(void)
{
	pthread_mutex_lock(&idle_lock);
	while (!work)
		pthread_cond_wait(&idle_cond, &idle_lock);
	pthread_mutex_unlock(&idle_lock);
	BARRIER();
}

static void *
condwait_main(void *arg)
{
	(void)arg;
	in_place_as();
	for (;;)
		wait_for_work();
	return NULL;
}

static void *
semwait_main(void *arg)
{
	(void)arg;
	in_place_as();
	for (;;)
		while (sem_wait(&idle_sem) != 0)
			;
	return NULL;
}

/* holder and mutexwait take turns: the holder takes the lock and says so
 * (go), sleeps with it, lets it go and waits until mutexwait has it
 * (taken). mutexwait, told the lock is taken, blocks on it. So mutexwait
 * waits for the lock nearly all the time, and in sem_wait(go) only for
 * the moment between two turns. */
static void *
holder_main(void *arg)
{
	struct timespec hold = { 0, 20000000 };

	(void)arg;
	in_place_as();
	for (;;) {
		pthread_mutex_lock(&contended);
		sem_post(&go);
		nanosleep(&hold, NULL);
		pthread_mutex_unlock(&contended);
		while (sem_wait(&taken) != 0)
			;
	}
	return NULL;
}

__attribute__((noinline)) static void
take_contended(void)
{
	pthread_mutex_lock(&contended);
	BARRIER();
}

static void *
mutexwait_main(void *arg)
{
	(void)arg;
	in_place_as();
	for (;;) {
		unsigned long long t0;

		while (sem_wait(&go) != 0)
			;
		t0 = mono_ns();
		take_contended();
		atomic_fetch_add(&mutex_wait_ns, mono_ns() - t0);
		atomic_fetch_add(&mutex_acquired, 1);
		sem_post(&taken);
		pthread_mutex_unlock(&contended);
	}
	return NULL;
}

static void *
rwwait_main(void *arg)
{
	(void)arg;
	in_place_as();
	pthread_rwlock_wrlock(&rw); /* the main thread reads it until the end */
	abort();
	return NULL;
}

static void *
timedcond_main(void *arg)
{
	(void)arg;
	in_place_as();
	pthread_mutex_lock(&idle_lock);
	for (;;) {
		struct timespec ts = in_an_hour(CLOCK_REALTIME);

		while (!work && pthread_cond_timedwait(&idle_cond, &idle_lock, &ts) == 0)
			;
	}
	return NULL;
}

static void *
timedsem_main(void *arg)
{
	(void)arg;
	in_place_as();
	for (;;) {
		struct timespec ts = in_an_hour(CLOCK_REALTIME);

		sem_timedwait(&idle_sem, &ts);
	}
	return NULL;
}

static void *
timedlock_main(void *arg)
{
	(void)arg;
	in_place_as();
	for (;;) {
		struct timespec ts = in_an_hour(CLOCK_REALTIME);

		if (pthread_mutex_timedlock(&main_held, &ts) == 0)
			abort();
	}
	return NULL;
}

static void *
timedpoll_main(void *arg)
{
	struct pollfd p = { .fd = timed_pipe[0], .events = POLLIN };

	(void)arg;
	in_place_as();
	for (;;)
		poll(&p, 1, HOUR * 1000);
	return NULL;
}

static void *
napper_main(void *arg)
{
	(void)arg;
	in_place_as();
	for (;;) {
		struct timespec ts = { HOUR, 0 };

		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void *
epoller_main(void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = (int)(long)arg;

	in_place_as();
	for (;;)
		epoll_wait(ep, &ev, 1, -1);
	return NULL;
}

static void *
pipereader_main(void *arg)
{
	char c;

	(void)arg;
	in_place_as();
	for (;;)
		if (read(read_pipe[0], &c, 1) == 0)
			abort();
	return NULL;
}

static void *
pollsock_main(void *arg)
{
	struct pollfd p = { .fd = poll_fd, .events = POLLIN };

	(void)arg;
	in_place_as();
	for (;;)
		poll(&p, 1, -1);
	return NULL;
}

static int fifo_fd, lock_fd, path_pipe[2], udp_fd, unix_server_fd, unix_client_fd;

static void *
fiforeader_main(void *arg)
{
	char c;

	(void)arg;
	in_place_as();
	for (;;)
		if (read(fifo_fd, &c, 1) == 0)
			abort();
	return NULL;
}

static void *
flocker_main(void *arg)
{
	char path[PATH_MAX];
	int fd;

	(void)arg;
	/* Its own open: a lock of another open file description waits. */
	snprintf(path, sizeof path, "%s/locked", dir);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		abort();
	lock_fd = fd;
	in_place_as();
	for (;;)
		if (flock(fd, LOCK_EX) == 0)
			abort();
	return NULL;
}

static void *
selector_main(void *arg)
{
	(void)arg;
	in_place_as();
	for (;;) {
		fd_set r;

		FD_ZERO(&r);
		FD_SET(path_pipe[0], &r);
		FD_SET(fifo_fd, &r);
		select((fifo_fd > path_pipe[0] ? fifo_fd : path_pipe[0]) + 1, &r, NULL, NULL, NULL);
	}
	return NULL;
}

static void *
poller_main(void *arg)
{
	(void)arg;
	in_place_as();
	for (;;) {
		struct pollfd p[2] = { { .fd = path_pipe[0], .events = POLLIN },
				       { .fd = udp_fd, .events = POLLIN } };

		poll(p, 2, -1);
	}
	return NULL;
}

static void *
unixreader_main(void *arg)
{
	int fd = (int)(long)arg;
	char c;

	in_place_as();
	for (;;)
		if (recv(fd, &c, 1, 0) == 0)
			abort();
	return NULL;
}

static void *
udpreader_main(void *arg)
{
	struct sockaddr_in from;
	char buf[64];

	(void)arg;
	in_place_as();
	for (;;) {
		socklen_t len = sizeof from;

		recvfrom(udp_fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
	}
	return NULL;
}

struct role {
	const char *name;
	void *(*fn)(void *);
	void *arg;
};

/* The thread names itself before it says who it is. */
static void *
role_main(void *arg)
{
	struct role r = *(struct role *)arg;

	free(arg);
	pthread_setname_np(pthread_self(), r.name);
	return r.fn(r.arg);
}

static void
start(const char *name, void *(*fn)(void *), void *arg)
{
	struct role *r = malloc(sizeof *r);
	pthread_t t;

	if (r == NULL)
		abort();
	*r = (struct role){ name, fn, arg };
	if (pthread_create(&t, NULL, role_main, r) != 0)
		abort();
}

static const char *
addr_of(int fd, bool peer, char *buf, size_t n)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	char a[INET_ADDRSTRLEN];

	if ((peer ? getpeername(fd, (struct sockaddr *)&sin, &len)
		  : getsockname(fd, (struct sockaddr *)&sin, &len)) != 0)
		abort();
	inet_ntop(AF_INET, &sin.sin_addr, a, sizeof a);
	snprintf(buf, n, "%s:%d", a, ntohs(sin.sin_port));
	return buf;
}

/* A listening socket on loopback, an accepted connection (for epoll) and a
 * second one whose client end pollsock waits on. */
static int
start_fds(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t len = sizeof sin;
	char text[512], a[64], b[64], c[64], d[64], e[64];
	struct stat st;
	int client, ep, other;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(listen_fd, 8) != 0 || getsockname(listen_fd, (struct sockaddr *)&sin, &len) != 0)
		abort();
	client = socket(AF_INET, SOCK_STREAM, 0);
	if (client < 0 || connect(client, (struct sockaddr *)&sin, sizeof sin) != 0)
		abort();
	accepted_fd = accept(listen_fd, NULL, NULL);
	poll_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (accepted_fd < 0 || poll_fd < 0 ||
	    connect(poll_fd, (struct sockaddr *)&sin, sizeof sin) != 0)
		abort();
	other = accept(listen_fd, NULL, NULL); /* kept open: poll_fd stays connected */
	if (other < 0 || pipe(read_pipe) != 0 || fstat(read_pipe[0], &st) != 0)
		abort();
	ep = epoll_create1(0);
	ev.data.fd = listen_fd;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) != 0)
		abort();
	ev.data.fd = accepted_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, accepted_fd, &ev) != 0)
		abort();
	snprintf(text, sizeof text,
		 "listen=%s accepted=%s:%s pollsock=%s:%s pipe=%lu epfd=%d listen_fd=%d "
		 "accepted_fd=%d poll_fd=%d pipe_fd=%d\n",
		 addr_of(listen_fd, false, a, sizeof a), addr_of(accepted_fd, false, b, sizeof b),
		 addr_of(accepted_fd, true, c, sizeof c), addr_of(poll_fd, false, d, sizeof d),
		 addr_of(poll_fd, true, e, sizeof e), (unsigned long)st.st_ino, ep, listen_fd,
		 accepted_fd, poll_fd, read_pipe[0]);
	write_file("addrs", text);
	(void)client;
	start("epoller", epoller_main, (void *)(long)ep);
	start("pipereader", pipereader_main, NULL);
	start("pollsock", pollsock_main, NULL);
	return 3;
}

static ino_t
inode_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		abort();
	return st.st_ino;
}

/* A FIFO, a locked file, a pipe, a UDP socket on loopback and both ends of
 * a unix stream connection. */
static int
start_paths(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len = sizeof sin;
	char path[PATH_MAX], text[512], a[64];
	int held, listener;

	snprintf(path, sizeof path, "%s/fifo", dir);
	/* Read and write: the reader never sees the end of the file. */
	if (mkfifo(path, 0600) != 0 || (fifo_fd = open(path, O_RDWR)) < 0)
		abort();
	snprintf(path, sizeof path, "%s/locked", dir);
	held = open(path, O_RDWR | O_CREAT, 0600);
	if (held < 0 || flock(held, LOCK_EX) != 0 || pipe(path_pipe) != 0)
		abort();
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (udp_fd < 0 || bind(udp_fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    getsockname(udp_fd, (struct sockaddr *)&sin, &len) != 0)
		abort();
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/sock", dir);
	listener = socket(AF_UNIX, SOCK_STREAM, 0);
	unix_client_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (listener < 0 || unix_client_fd < 0 ||
	    bind(listener, (struct sockaddr *)&sun, sizeof sun) != 0 || listen(listener, 1) != 0 ||
	    connect(unix_client_fd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
	    (unix_server_fd = accept(listener, NULL, NULL)) < 0)
		abort();
	close(listener);
	start("fiforeader", fiforeader_main, NULL);
	start("flocker", flocker_main, NULL);
	start("selector", selector_main, NULL);
	start("poller", poller_main, NULL);
	start("unixserver", unixreader_main, (void *)(long)unix_server_fd);
	start("unixclient", unixreader_main, (void *)(long)unix_client_fd);
	start("udpreader", udpreader_main, NULL);
	while (atomic_load(&in_place) < 7)
		usleep(1000);
	inet_ntop(AF_INET, &sin.sin_addr, a, sizeof a);
	snprintf(text, sizeof text,
		 "fifo_fd=%d lock_fd=%d pipe_fd=%d pipe=%lu udp_fd=%d udp=%s:%d unix_server_fd=%d "
		 "unix_client_fd=%d unix_server=%lu unix_client=%lu\n",
		 fifo_fd, lock_fd, path_pipe[0], (unsigned long)inode_of(path_pipe[0]), udp_fd, a,
		 ntohs(sin.sin_port), unix_server_fd, unix_client_fd,
		 (unsigned long)inode_of(unix_server_fd), (unsigned long)inode_of(unix_client_fd));
	write_file("paths", text);
	return 7;
}

static void on_term(int sig) { (void)sig; term = 1; }

int
main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t sigs, old;
	char text[128];
	int want;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DIR idle|timed|fds|paths\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	if (sem_init(&idle_sem, 0, 0) != 0 || sem_init(&go, 0, 0) != 0 ||
	    sem_init(&taken, 0, 0) != 0 || pipe(timed_pipe) != 0)
		abort();
	pthread_mutex_lock(&main_held);
	pthread_rwlock_rdlock(&rw);
	/* SIGTERM goes to the main thread. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	if (strcmp(argv[2], "idle") == 0) {
		start("condwait", condwait_main, NULL);
		start("semwait", semwait_main, NULL);
		start("holder", holder_main, NULL);
		start("mutexwait", mutexwait_main, NULL);
		start("rwwait", rwwait_main, NULL);
		want = 5;
	} else if (strcmp(argv[2], "timed") == 0) {
		start("timedcond", timedcond_main, NULL);
		start("timedsem", timedsem_main, NULL);
		start("timedlock", timedlock_main, NULL);
		start("timedpoll", timedpoll_main, NULL);
		start("napper", napper_main, NULL);
		want = 5;
	} else if (strcmp(argv[2], "fds") == 0) {
		want = start_fds();
	} else if (strcmp(argv[2], "paths") == 0) {
		want = start_paths();
	} else {
		fprintf(stderr, "%s: unknown mode %s\n", argv[0], argv[2]);
		return 2;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	while (atomic_load(&in_place) < want)
		usleep(1000);
	usleep(200000); /* until each is blocked where it waits */
	pthread_mutex_lock(&tids_lock);
	write_file("tids", tids);
	pthread_mutex_unlock(&tids_lock);
	snprintf(text, sizeof text, "%d\n", (int)getpid());
	write_file("ready", text);
	while (!term) {
		struct timespec tick = { 0, 100000000 };

		snprintf(text, sizeof text, "acquired=%llu wait_ns=%llu at_ns=%llu\n",
			 atomic_load(&mutex_acquired), atomic_load(&mutex_wait_ns), mono_ns());
		write_file("mutex", text);
		nanosleep(&tick, NULL);
	}
	return 0;
}
