/* A target that spends a share of its time in PLT stubs: one thread calls
 * a tiny libc function (labs) through its PLT entry in a tight loop.
 *
 * usage: target-plt DIR. Writes DIR/ready ("PID") once the loop runs. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	volatile long sink = 0;
	long s = 0;
	char path[4096];
	FILE *f;

	if (argc != 2)
		return 2;
	snprintf(path, sizeof path, "%s/ready", argv[1]);
	f = fopen(path, "w");
	if (f == NULL)
		return 1;
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	/* The sum stays in a register: a load of sink in every round is where
	 * the machine stops the thread, nearly always, and the stub would be
	 * missed by the samples. labs is declared const: storing the sum now
	 * and then keeps the calls. */
	for (long i = 0;; i++) {
		s += labs(i - s); /* PLT-CALL */
		if ((i & 0xfffff) == 0)
			sink = s;
	}
}
