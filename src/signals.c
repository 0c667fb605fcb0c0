/* signals.c: stop requests and crash handling for siprof itself.
 *
 * A crash inside siprof needs no ptrace clean-up: when the tracing thread
 * dies the kernel detaches every tracee and restarts it (only threads in a
 * group-stop stay stopped, as they should). What a crash must do is restore
 * the terminal, which the fatal hook does. */
#include "config.h"

#include "signals.h"

#include <string.h>
#include <unistd.h>

#include "util.h"

static volatile sig_atomic_t stop_signal, stop_count, suspend_signal;
static sigset_t wait_mask, original_mask;
static struct sigaction original_pipe;
static void (*crash_hook)(void);

static void
on_stop(int sig)
{
	stop_signal = sig;
	if (stop_count < 1000)
		stop_count++;
}

static void
on_suspend(int sig)
{
	suspend_signal = sig;
}

static void
on_crash(int sig)
{
	static const char crashed[] = "siprof: crashed; the target was detached and keeps running\n";
	static const char killed[] =
		"siprof: killed by a signal; any process it traced was detached and keeps running\n";
	bool crash = sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
		     sig == SIGABRT;
	struct sigaction sa;

	if (crash_hook != NULL)
		crash_hook();
	if (crash)
		(void)!write(STDERR_FILENO, crashed, sizeof crashed - 1);
	else
		(void)!write(STDERR_FILENO, killed, sizeof killed - 1);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigaction(sig, &sa, NULL);
	raise(sig);
}

void
signals_init(void)
{
	static const int stops[] = { SIGINT, SIGTERM, SIGHUP };
	/* Every other signal that kills siprof and can be caught (Ctrl-\ is
	 * SIGQUIT) must also give the terminal back. */
	static const int crashes[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGQUIT, SIGSYS,
				       SIGXCPU, SIGXFSZ, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM,
				       SIGPROF, SIGPWR };
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking wait must return so the flag is seen. */
	sa.sa_handler = on_stop;
	for (size_t i = 0; i < ARRAY_SIZE(stops); i++)
		sigaction(stops[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &original_pipe);
	/* Inherited SIG_IGN for SIGCHLD would silence ptrace notifications. */
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND;
	for (size_t i = 0; i < ARRAY_SIZE(crashes); i++)
		sigaction(crashes[i], &sa, NULL);

	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	original_mask = wait_mask;
	for (size_t i = 0; i < ARRAY_SIZE(stops); i++)
		sigdelset(&wait_mask, stops[i]);
	sigaddset(&wait_mask, SIGCHLD);
}

void
signals_restore_for_exec(void)
{
	sigaction(SIGPIPE, &original_pipe, NULL);
	sigprocmask(SIG_SETMASK, &original_mask, NULL);
}

void
signals_set_crash_hook(void (*hook)(void))
{
	crash_hook = hook;
}

static const int suspends[] = { SIGTSTP, SIGTTIN, SIGTTOU };
static struct sigaction original_suspend[ARRAY_SIZE(suspends)];
static bool suspend_caught;

void
signals_catch_suspend(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_suspend;
	for (size_t i = 0; i < ARRAY_SIZE(suspends); i++) {
		sigaction(suspends[i], NULL, &original_suspend[i]);
		/* Ignored when siprof was started: it stays so, as for ncurses. */
		if (original_suspend[i].sa_handler == SIG_IGN)
			continue;
		sigaction(suspends[i], &sa, NULL);
	}
	suspend_caught = true;
}

void
signals_release_suspend(void)
{
	if (!suspend_caught)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(suspends); i++)
		sigaction(suspends[i], &original_suspend[i], NULL);
	suspend_caught = false;
	/* A Ctrl-Z that came too late to be handled takes effect now. */
	signals_suspend_self();
}

int
signals_suspend_requested(void)
{
	return suspend_signal;
}

void
signals_suspend_self(void)
{
	int sig = suspend_signal;
	struct sigaction dfl, old;

	if (sig == 0)
		return;
	suspend_signal = 0;
	memset(&dfl, 0, sizeof dfl);
	sigemptyset(&dfl.sa_mask);
	dfl.sa_handler = SIG_DFL;
	/* The same signal with its default action, so that the shell sees
	 * the job stopped as it asked; returns once siprof is continued. */
	sigaction(sig, &dfl, &old);
	raise(sig);
	sigaction(sig, &old, NULL);
}

int
signals_pending(void)
{
	return stop_signal != 0 ? stop_signal : suspend_signal;
}

int
signals_stop_requested(void)
{
	return stop_signal;
}

int
signals_stop_count(void)
{
	return stop_count;
}

void
signals_clear_stop(void)
{
	stop_signal = 0;
	stop_count = 0;
}

const sigset_t *
signals_wait_mask(void)
{
	return &wait_mask;
}
