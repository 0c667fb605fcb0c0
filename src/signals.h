/* signals.h: siprof's own signal handling.
 *
 * SIGINT, SIGTERM and SIGHUP ask siprof to stop (signals_stop_requested);
 * SIGTSTP and the other stop signals, where caught, ask it to suspend;
 * SIGPIPE is ignored so that writes report EPIPE; a crash, SIGQUIT (Ctrl-\)
 * or any other signal that would kill siprof runs the fatal hook (the live
 * view restores the terminal) and re-raises. SIGCHLD is blocked in
 * every thread: the tracer reads it from a signalfd. Call signals_init from
 * main before any thread is created. */
#ifndef SIPROF_SIGNALS_H
#define SIPROF_SIGNALS_H

#include <signal.h>
#include <stdbool.h>

void signals_init(void);
/* The signal that asked siprof to stop, or 0. */
int signals_stop_requested(void);
/* How many stop requests came (since signals_clear_stop): a second one asks
 * to stop at once rather than after the step in progress. */
int signals_stop_count(void);
/* Forget a stop request: the next phase (an upload after the recording a
 * Ctrl-C ended) ends at the next one; the count starts again. */
void signals_clear_stop(void);
/* record and attach: SIGTSTP, SIGTTIN and SIGTTOU (Ctrl-Z) ask siprof to
 * suspend (signals_suspend_requested) instead of stopping it at once, so
 * that it can first let go of the target; those ignored at start stay so. */
void signals_catch_suspend(void);
/* Give the suspend signals their dispositions back (nothing is traced any
 * more); a request still pending stops siprof now. */
void signals_release_suspend(void);
/* The signal that asked siprof to suspend, or 0. */
int signals_suspend_requested(void);
/* Stop siprof with the signal that asked (its default action), and return
 * once it is continued (SIGCONT); the request is then forgotten. */
void signals_suspend_self(void);
/* A stop or a suspend request (its signal), or 0: what ends the tracer's
 * waits early. */
int signals_pending(void);
/* Mask for ppoll/pselect: everything blocked now except the stop signals, so
 * that a wait returns EINTR when one arrives (or a suspend signal, which is
 * not blocked). */
const sigset_t *signals_wait_mask(void);
/* In a forked child about to exec: restore the signal mask and
 * dispositions siprof started with. */
void signals_restore_for_exec(void);
/* Run hook (async-signal-safe code only) before siprof dies of a crash or
 * another fatal signal. */
void signals_set_crash_hook(void (*hook)(void));

#endif
