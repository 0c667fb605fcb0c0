/* A target with hostile names, for the tests of what siprof prints.
 *
 *   main thread  "\e]0;pwned\a" (would retitle the terminal)
 *   spinner      "\e[2J\e[H" (would clear the screen); burns CPU in a
 *                function whose symbol is "odd\e]0;sym\a"
 *   cut          "ééééééééé", which the kernel cuts to 15 bytes: 7 é and
 *                half of the 8th, not valid UTF-8
 *   c1           "x", CSI as a UTF-8 C1 control, "2J", a lone 0x9b byte, "y"
 *   bidi         "a", RIGHT-TO-LEFT OVERRIDE, "b", newline, "c", tab, "d"
 *
 * usage: target-names DIR [ARGS...]. ARGS only make the command line (a
 * test passes control characters there). Writes DIR/ready when every thread
 * has its name; runs until killed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#define ODD_SYMBOL "odd\033]0;sym\007"

/* spin_odd(n): n turns of a loop, in a function with a symbol no C
 * compiler would accept as a name. */
__attribute__((visibility("hidden"))) void spin_odd(unsigned long n)
	__asm__("\"" ODD_SYMBOL "\"");
#if defined(__x86_64__)
__asm__(".text\n"
	".globl \"" ODD_SYMBOL "\"\n"
	".hidden \"" ODD_SYMBOL "\"\n"
	".type \"" ODD_SYMBOL "\", @function\n"
	"\"" ODD_SYMBOL "\":\n"
	".cfi_startproc\n"
	"1: dec %rdi\n"
	"jnz 1b\n"
	"ret\n"
	".cfi_endproc\n"
	".size \"" ODD_SYMBOL "\", .-\"" ODD_SYMBOL "\"\n");
#elif defined(__aarch64__)
__asm__(".text\n"
	".globl \"" ODD_SYMBOL "\"\n"
	".hidden \"" ODD_SYMBOL "\"\n"
	".type \"" ODD_SYMBOL "\", %function\n"
	"\"" ODD_SYMBOL "\":\n"
	".cfi_startproc\n"
	"1: subs x0, x0, #1\n"
	"b.ne 1b\n"
	"ret\n"
	".cfi_endproc\n"
	".size \"" ODD_SYMBOL "\", .-\"" ODD_SYMBOL "\"\n");
#else
#error "spin_odd needs an assembly version for this architecture"
#endif

static atomic_int named;

static void
set_name(const char *name)
{
	/* PR_SET_NAME cuts to 15 bytes as the kernel does for every name;
	 * pthread_setname_np would refuse a longer one instead. */
	prctl(PR_SET_NAME, name, 0, 0, 0);
	atomic_fetch_add(&named, 1);
}

static void *
spinner_main(void *arg)
{
	(void)arg;
	set_name("\033[2J\033[H");
	for (;;) {
		spin_odd(30000000);
		usleep(10000);
	}
	return NULL;
}

static void *
sleeper_main(void *arg)
{
	set_name(arg);
	for (;;)
		pause();
	return NULL;
}

int
main(int argc, char **argv)
{
	static char cut[] = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
	static char c1[] = "x\xc2\x9b" "2J\x9by";
	static char bidi[] = "a\xe2\x80\xae" "b\nc\td";
	char *names[] = { cut, c1, bidi };
	char tmp[4096], ready[4096];
	pthread_t th;
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: target-names DIR [ARGS...]\n");
		return 2;
	}
	pthread_create(&th, NULL, spinner_main, NULL);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		pthread_create(&th, NULL, sleeper_main, names[i]);
	set_name("\033]0;pwned\007");
	while (atomic_load(&named) < 5)
		usleep(1000);
	snprintf(tmp, sizeof tmp, "%s/ready.tmp", argv[1]);
	snprintf(ready, sizeof ready, "%s/ready", argv[1]);
	if ((f = fopen(tmp, "w")) == NULL)
		return 1;
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	rename(tmp, ready);
	for (;;)
		pause();
}
