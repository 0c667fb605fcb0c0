/* signals.h: siprof's own signal handling.
 *
 * SIGINT, SIGTERM and SIGHUP ask siprof to stop (signals_stop_requested);
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
/* Mask for ppoll/pselect: everything blocked now except the stop signals, so
 * that a wait returns EINTR when one arrives. */
const sigset_t *signals_wait_mask(void);
/* In a forked child about to exec: restore the signal mask and
 * dispositions siprof started with. */
void signals_restore_for_exec(void);
/* Run hook (async-signal-safe code only) before siprof dies of a crash or
 * another fatal signal. */
void signals_set_crash_hook(void (*hook)(void));

#endif
