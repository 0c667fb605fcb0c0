/* siprof-demo: a small multi-threaded service to point siprof at.
 *
 *   checksum  burns CPU in crc_block (3/4) and parse_block (1/4)
 *   locker-1, locker-2  contend for one mutex, each holding it for a while
 *   logger    writes a file and fsyncs it
 *   client    waits for replies on a socket from `server`, which answers slowly
 *   timer     sleeps
 *   main      waits for SIGINT or SIGTERM, then stops every thread and exits
 *
 * usage: siprof-demo [SECONDS]   (runs until interrupted, or for SECONDS;
 * exits 0 either way) */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static int sv[2];
static uint64_t sink;

__attribute__((noinline)) static uint32_t
crc_block(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

__attribute__((noinline)) static uint64_t
parse_block(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static void *
checksum_main(void *arg)
{
	unsigned char buf[4096];

	(void)arg;
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 7);
	while (!stop) {
		sink += crc_block(buf, sizeof buf);
		/* crc_block costs about 8x parse_block per byte: 3:1 in time. */
		for (int i = 0; i < 3; i++)
			sink += parse_block(buf, sizeof buf);
	}
	return NULL;
}

__attribute__((noinline)) static void
update_shared_state(void)
{
	pthread_mutex_lock(&shared);
	usleep(20000);
	pthread_mutex_unlock(&shared);
}

static void *
locker_main(void *arg)
{
	(void)arg;
	while (!stop)
		update_shared_state();
	return NULL;
}

__attribute__((noinline)) static void
flush_log(int fd)
{
	static const char line[] = "demo: a line of log that must reach the disk\n";

	if (write(fd, line, sizeof line - 1) < 0 || fsync(fd) < 0)
		perror("siprof-demo: log");
}

static void *
logger_main(void *arg)
{
	char path[] = "/tmp/siprof-demo.XXXXXX";
	int fd = mkstemp(path);

	(void)arg;
	if (fd < 0)
		return NULL;
	unlink(path);
	while (!stop) {
		flush_log(fd);
		usleep(50000);
	}
	close(fd);
	return NULL;
}

__attribute__((noinline)) static void
await_reply(void)
{
	char c = 'q';

	/* send, not write: once main shuts the socket down, a write would
	 * raise SIGPIPE and end the demo with 141 instead of 0. */
	if (send(sv[0], &c, 1, MSG_NOSIGNAL) == 1)
		while (read(sv[0], &c, 1) < 0 && errno == EINTR)
			;
}

static void *
client_main(void *arg)
{
	(void)arg;
	while (!stop)
		await_reply();
	return NULL;
}

static void *
server_main(void *arg)
{
	char c;

	(void)arg;
	while (!stop && read(sv[1], &c, 1) == 1) {
		usleep(30000);
		if (send(sv[1], &c, 1, MSG_NOSIGNAL) != 1)
			break;
	}
	return NULL;
}

static void *
timer_main(void *arg)
{
	(void)arg;
	while (!stop)
		usleep(100000);
	return NULL;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	static const struct { const char *name; void *(*fn)(void *); } threads[] = {
		{ "checksum", checksum_main }, { "locker-1", locker_main },
		{ "locker-2", locker_main }, { "logger", logger_main },
		{ "client", client_main }, { "server", server_main },
		{ "timer", timer_main },
	};
	pthread_t tids[sizeof threads / sizeof threads[0]];
	struct sigaction sa;
	int seconds = argc > 1 ? atoi(argv[1]) : 0; /* 0: until a signal */

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		perror("siprof-demo: socketpair");
		return 1;
	}
	for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
		pthread_create(&tids[i], NULL, threads[i].fn, NULL);
		pthread_setname_np(tids[i], threads[i].name);
	}
	printf("siprof-demo: pid %d\n", (int)getpid());
	fflush(stdout);
	for (int left = seconds; !stop && (seconds <= 0 || left > 0); left--)
		sleep(1);
	stop = 1;
	shutdown(sv[0], SHUT_RDWR);
	shutdown(sv[1], SHUT_RDWR);
	for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++)
		pthread_join(tids[i], NULL);
	return 0;
}
