/* tui.h: the ncurses live view of `siprof attach`. */
#ifndef SIPROF_TUI_H
#define SIPROF_TUI_H

#include "live.h"
#include "recorder.h"

/* Run the live view on the terminal until the user quits (q, Ctrl-C) or
 * the terminal goes away. The terminal is restored on every way out,
 * crashes included. Returns false with *cause on a fatal error. */
bool tui_run(struct recorder *r, const struct live_view *initial, char **cause);

#endif
