/* target-heap: allocates a known pattern in four arenas (main and three
 * threads alive at once), frees part of it so that fastbins, the tcache,
 * the unsorted, small and large bins all hold chunks, keeps some chunks
 * big enough to be mmapped, then asks glibc itself: mallinfo2 and the
 * number of arenas malloc_info lists. It writes "ARENA HBLKHD UORDBLKS
 * ARENAS" to FILE and sleeps until killed, allocating nothing after
 * mallinfo2, so the heap as read from outside is the one it measured.
 *
 *   target-heap FILE */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 3

static pthread_barrier_t all_alive, done;

/* Allocate n chunks of size bytes, then free every other one (the odd
 * ones stay): the freed ones go to the tcache first, then to the
 * fastbins or the unsorted bin. */
static void
pattern(void **keep, size_t n, size_t size)
{
	void **p = malloc(n * sizeof *p);

	for (size_t i = 0; i < n; i++) {
		p[i] = malloc(size);
		memset(p[i], (int)i, size);
	}
	for (size_t i = 0; i < n; i += 2)
		free(p[i]);
	keep[0] = p;
}

static void
work(void **keep)
{
	pattern(&keep[0], 400, 24);    /* fastbins past the tcache's 7 */
	pattern(&keep[1], 200, 1000);  /* small bins */
	pattern(&keep[2], 60, 6000);   /* large bins */
	keep[3] = malloc(300 * 1024);  /* mmapped */
	memset(keep[3], 1, 300 * 1024);
	/* A large request sorts the unsorted chunks into their bins; what
	 * the next frees leave is in the unsorted bin. */
	keep[4] = malloc(20000);
	free(malloc(3000));
	free(malloc(5000));
}

static void *
thread_main(void *arg)
{
	/* Alive at once, each thread gets an arena of its own. */
	pthread_barrier_wait(&all_alive);
	work(arg);
	pthread_barrier_wait(&done);
	pthread_barrier_wait(&done);
	return NULL;
}

static int
count_arenas(void)
{
	char *text = NULL, *s;
	size_t len = 0;
	int n = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return -1;
	malloc_info(0, f);
	fclose(f);
	for (s = text; (s = strstr(s, "<heap nr=")) != NULL; s++)
		n++;
	free(text);
	return n;
}

int
main(int argc, char **argv)
{
	static void *keep[THREADS + 1][5];
	pthread_t t[THREADS];
	struct mallinfo2 mi;
	char line[128];
	int fd, arenas, len;

	if (argc != 2) {
		fprintf(stderr, "usage: target-heap FILE\n");
		return 2;
	}
	pthread_barrier_init(&all_alive, NULL, THREADS + 1);
	pthread_barrier_init(&done, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, thread_main, keep[i + 1]);
	pthread_barrier_wait(&all_alive);
	work(keep[THREADS]);
	pthread_barrier_wait(&done);
	/* The threads have done their allocations; they wait, alive. */
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	arenas = count_arenas();
	mi = mallinfo2();
	/* snprintf and write: nothing allocated from here on. */
	len = snprintf(line, sizeof line, "%zu %zu %zu %d\n", mi.arena, mi.hblkhd, mi.uordblks,
		       arenas);
	if (write(fd, line, (size_t)len) != len)
		return 1;
	close(fd);
	for (;;)
		pause();
}
