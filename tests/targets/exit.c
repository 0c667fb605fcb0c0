/* A target that exits on its own after argv[1] milliseconds, while a
 * second thread spins: for "the process exited during the dump". */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static void *
spin(void *arg)
{
	volatile unsigned long x = 1;

	(void)arg;
	for (;;)
		x = x * 31 + 7;
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t t;

	if (argc != 2)
		return 2;
	pthread_create(&t, NULL, spin, NULL);
	usleep((useconds_t)atoi(argv[1]) * 1000);
	return 0;
}
