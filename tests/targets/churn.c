/* A target that creates and joins short-lived threads when told to, and
 * counts them itself: for "every new thread is traced, none is left
 * stopped".
 *
 * usage: target-churn DIR N. Two threads: main, which handles signals, and
 * "churner", which on SIGUSR1 creates N threads named churn-child, the
 * first half one at a time (create, join), the rest BATCH at a time (create
 * BATCH, join them), then writes DIR/done "created=C ran=R failed=F" (R
 * counted by the threads themselves). Writes DIR/ready once both threads
 * run; on SIGTERM writes DIR/result "exited" and exits 0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#define BATCH 100

static const char *dir;
static int total;
static atomic_int ran;
static volatile unsigned long sink;
static pthread_mutex_t go_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static int go, in_place;

static void
write_file(const char *name, const char *text)
{
	char path[4096], tmp[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s/.%s", dir, name);
	f = fopen(tmp, "w");
	if (f == NULL)
		exit(1);
	fputs(text, f);
	fclose(f);
	rename(tmp, path);
}

static void *
child_main(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "churn-child");
	for (int i = 0; i < 20000; i++)
		sink = sink * 31 + 7;
	atomic_fetch_add(&ran, 1);
	return NULL;
}

static void *
churner_main(void *arg)
{
	pthread_t batch[BATCH];
	int created = 0, failed = 0;
	char line[128];

	(void)arg;
	pthread_mutex_lock(&go_lock);
	in_place = 1;
	pthread_cond_broadcast(&go_cond);
	while (!go)
		pthread_cond_wait(&go_cond, &go_lock);
	pthread_mutex_unlock(&go_lock);
	while (created + failed < total / 2) {
		if (pthread_create(&batch[0], NULL, child_main, NULL) != 0) {
			failed++;
			continue;
		}
		created++;
		pthread_join(batch[0], NULL);
	}
	while (created + failed < total) {
		int n = 0;

		while (n < BATCH && created + failed < total) {
			if (pthread_create(&batch[n], NULL, child_main, NULL) == 0)
				n++, created++;
			else
				failed++;
		}
		for (int i = 0; i < n; i++)
			pthread_join(batch[i], NULL);
	}
	snprintf(line, sizeof line, "created=%d ran=%d failed=%d\n", created,
		 atomic_load(&ran), failed);
	write_file("done", line);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t churner;
	sigset_t set;
	int sig;

	if (argc != 3)
		return 2;
	dir = argv[1];
	total = atoi(argv[2]);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&churner, NULL, churner_main, NULL) != 0)
		return 1;
	pthread_setname_np(churner, "churner");
	pthread_mutex_lock(&go_lock);
	while (!in_place)
		pthread_cond_wait(&go_cond, &go_lock);
	pthread_mutex_unlock(&go_lock);
	write_file("ready", "ready\n");
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			return 1;
		if (sig == SIGUSR1) {
			pthread_mutex_lock(&go_lock);
			go = 1;
			pthread_cond_broadcast(&go_cond);
			pthread_mutex_unlock(&go_lock);
		} else if (sig == SIGTERM) {
			break;
		}
	}
	write_file("result", "exited\n");
	return 0;
}
