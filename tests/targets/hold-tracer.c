/* Traces process argv[1] with PTRACE_SEIZE (which does not stop it) and
 * sleeps until killed: makes "already traced" for the tests. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	if (ptrace(PTRACE_SEIZE, atoi(argv[1]), NULL, NULL) != 0) {
		perror("hold-tracer: PTRACE_SEIZE");
		return 1;
	}
	puts("tracing");
	fflush(stdout);
	for (;;)
		pause();
}
