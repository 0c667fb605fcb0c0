/* live.h: what the live view shows, computed from a recording in progress,
 * for both the ncurses screen (tui.c) and the text frames of --batch. */
#ifndef SIPROF_LIVE_H
#define SIPROF_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "analyze.h"
#include "recorder.h"

enum live_window { WINDOW_5S, WINDOW_60S, WINDOW_ALL, WINDOW_COUNT };

/* The memory tabs of attach --alloc, in live_view.cls beside the classes
 * and wall (-1): the bytes the probes saw allocated, and those still in
 * use at the end of their window. */
enum { LIVE_ALLOC = -2, LIVE_INUSE = -3 };

/* What the user chose to look at. */
struct live_view {
	enum live_window window;
	uint32_t reset_bucket; /* "since start" means since the last reset */
	int cls;               /* a class, -1 for wall, or LIVE_ALLOC, LIVE_INUSE */
	uint32_t tid;          /* 0: every thread */
	bool by_line;          /* flat list by source line */
	bool sort_total;       /* flat list by total rather than self */
	uint32_t frozen;       /* frozen at this bucket + 1 (0: not frozen):
				* the seconds before it, as they were */
};

void live_view_init(struct live_view *v);
const char *live_window_name(enum live_window w);
/* The selection the view stands for, at this moment: the window ends
 * now, when the process exited, or where the view was frozen. */
void live_selection(const struct recorder *r, const struct live_view *v, struct selection *sel);
/* What cls names, as -c takes it: "cpu", "wall", "alloc", "inuse". */
const char *live_view_class(int cls);
/* Whether cls is one of the memory tabs (its values are bytes). */
bool live_memory_tab(int cls);
/* "last 5 s" and the like, or "5 s" when short. */
const char *live_window_short(enum live_window w);

/* The header's facts, each its own string, for a screen to lay out as
 * its width allows. */
struct live_facts {
	char ident[128];   /* "pid 1234 comm" */
	char ended[96];    /* "exit status 0", "killed by SIGKILL", or "" */
	char warning[256]; /* missed ticks, failures, lag, or "" */
	char up[48];       /* "up 0:01:02" */
	char rate[48];     /* "rate 99/98.7 Hz" */
	char samples[48];  /* "samples 1234" */
	char held[96];     /* "held p50 20 us p99 80 us max 900 us" */
};
void live_facts(const struct recorder *r, struct live_facts *f);

/* One line of header facts: pid, command, uptime, rates, samples, how long
 * threads were held (median, 99th percentile, longest). */
void live_header(const struct recorder *r, char *buf, size_t n, bool *warn, char *warning,
		 size_t wn);
/* CPU% (from 0 to 100) or RSS (from its lowest to its highest) over the
 * last `seconds` seconds as a line of block characters (UTF-8). */
void live_spark(const struct recorder *r, bool rss, size_t seconds, char *buf, size_t n);
/* The scale of the RSS sparkline over the same seconds and its rate of
 * change: "68.0..70.1 MiB +256.0 KiB/s", with span " over 59 s" after it. */
void live_rss_range(const struct recorder *r, size_t seconds, bool span, char *buf, size_t n);

/* attach --alloc: what the probes saw in the view's window, and how the
 * probing goes. */
struct live_memory {
	bool on;                          /* --alloc */
	struct alloc_stats stats;
	uint64_t alloc_bytes, alloc_objects; /* allocated, in the window */
	uint64_t inuse_bytes, inuse_objects; /* not freed by their window's end */
	char probing[256];                /* "12 windows of 0.3 s, one per 1.2 s ..." */
	char error[256];                  /* why probing ended, or "" */
};
void live_memory(const struct recorder *r, const struct live_view *v, struct live_memory *m);
/* A leak suspect's call site: "function (file:line)". */
void live_leak_site(const struct recorder *r, const struct recorder_leak *l, char *buf,
		    size_t n);

/* A text frame (--batch), as top -b prints one. */
void live_print_frame(FILE *f, struct recorder *r, const struct live_view *v, size_t rows);

#endif
