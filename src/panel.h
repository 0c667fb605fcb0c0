/* panel.h: the live view's panels and keys, as tables.
 *
 * A panel is what the main part of the screen shows (the call tree, the
 * flat list, the classes, the threads, the memory probes): its model, rebuilt from the
 * profile once a second and after a key, its drawing, and its own keys.
 * Keys are data: each binding has its key codes, the names help and the
 * footer write them with, a footer label and a help line, so that the
 * help screen and the footer are generated from the tables that dispatch
 * the keys (keys.c). Adding a panel is an entry in tui_panels[] with its
 * build and draw functions and a key table. */
#ifndef SIPROF_PANEL_H
#define SIPROF_PANEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyze.h"
#include "hashmap.h"
#include "live.h"
#include "recorder.h"
#include "util.h"

struct tui;

/* One key binding. keys: the ncurses codes, 0-terminated (the first name
 * in `names` is the one the footer shows); label: the footer's word for
 * it, NULL to leave it out of the footer; run: true when the panel must
 * be rebuilt. */
struct key_binding {
	int keys[4];
	const char *names; /* "Right, Enter" */
	const char *label;
	const char *help;
	bool (*run)(struct tui *t, int ch);
};

struct key_table {
	const char *title; /* the help screen's heading for it */
	const struct key_binding *b;
	size_t n;
};

#define KEY_TABLE(title, arr) { title, arr, sizeof(arr) / sizeof((arr)[0]) }

struct panel {
	const char *name;  /* "tree": the header's "view:" and the help */
	int keys[3];       /* the keys that select it, 0-terminated */
	const char *key_names; /* "4, t" */
	const char *help;  /* what it shows, for the help screen */
	/* The model, from the profile and t->view. */
	void (*build)(struct tui *t);
	/* Rows t->body .. t->body + height: its column header, then its
	 * rows. */
	void (*draw)(struct tui *t, int height);
	/* When it is shown (may be NULL). */
	void (*open)(struct tui *t);
	/* Move its cursor by delta rows (the shared movement keys). */
	void (*move_cursor)(struct tui *t, long delta);
	/* The header's "view:" text when more than its name; may be NULL. */
	const char *(*describe)(const struct tui *t);
	/* A picker goes back to the panel it was opened from. */
	bool picker;
	const struct key_table *tables[4]; /* its keys, NULL-terminated */
};

/* Tree and flat list rows. */
struct row {
	const struct tree_node *node; /* tree */
	const struct func_stat *func; /* flat list */
	int depth;
	uint64_t path;
	bool expanded, has_children, match;
};

enum tui_mode { MODE_NORMAL, MODE_HELP, MODE_SEARCH, MODE_WRITE, MODE_SVG };

enum { C_HEAD = 1, C_WARN, C_SEL, C_TAB, C_MATCH, C_DIM };

/* The live view's state, shared by the panels. */
struct tui {
	struct recorder *r;
	struct live_view view;
	const struct panel *panel; /* shown */
	const struct panel *back;  /* the panel a picker returns to */
	/* The tree and the flat list. */
	struct tree_node *tree;
	uint64_t total;
	struct func_table flat;
	struct hashmap expanded; /* path -> 1 */
	struct row *rows;
	size_t n_rows, cap_rows, cursor, top;
	uint64_t cursor_path;
	bool follow; /* re-expand the hottest path at every rebuild */
	/* The callers panel: of this function (profile_func_key). */
	uint32_t callee, callee_module;
	const struct panel *callers_from; /* the panel Esc goes back to */
	char search[128];
	/* The class tabs (and the classes panel). */
	/* CPU, Wall, the blocking classes with samples (n_class_tabs in
	 * all), then with --alloc the memory tabs (their counts in bytes). */
#define TUI_MAX_TABS (CLASS_COUNT + 3)
	int tabs[TUI_MAX_TABS];
	uint64_t tab_count[TUI_MAX_TABS];
	int n_tabs, n_class_tabs;
	int tab_from[TUI_MAX_TABS], tab_to[TUI_MAX_TABS]; /* columns drawn, for the
							     * mouse (to 0: not shown) */
	uint64_t class_total;
	/* The threads panel: all threads, then each one; pick 0 is all. */
	struct thread_table threads;
	size_t pick, pick_top;
	uint32_t pick_tid; /* the thread under the cursor, 0: all */
	struct hashmap order; /* tid -> its row + 1: the order, kept while
			       * the panel is open, so that rows do not move
			       * under the cursor */
	size_t n_order;
	bool paused, quit;
	uint64_t paused_ns, paused_at; /* time paused before, since when */
	bool mono;     /* NO_COLOR or a terminal without colours */
	int body;      /* the first row below the header: the panel's */
	enum tui_mode mode;
	size_t help_top; /* the help's first line shown, when it scrolls */
	bool help_more;  /* the help is taller than the terminal */
	char input[512];
	size_t input_at; /* the prompt's cursor, a byte offset in input */
	char message[512];
	uint64_t message_until;
	uint64_t last_build, last_draw;
	/* The memory panel (attach --alloc). */
	struct live_memory mem;
	struct recorder_leak *leaks;
	size_t n_leaks;
	char detail[1024];   /* the picked thread, now: what it waits on */
	uint32_t detail_tid;
	uint64_t detail_ns;
};

/* The panels, in the order of their keys; the first is the one shown at
 * the start. */
extern const struct panel *const tui_panels[];
extern const size_t tui_n_panels;
extern const struct panel panel_tree, panel_flat, panel_callers, panel_classes, panel_threads,
	panel_memory;

/* Show panel p; a picker remembers the panel to go back to. */
void tui_show(struct tui *t, const struct panel *p);
/* Leave a picker for the panel it was opened from. */
void tui_back(struct tui *t);

/* keys.c: run the key ch in the current mode and panel; true when the
 * view must be rebuilt. */
bool keys_handle(struct tui *t, int ch);
/* The footer's keys, as many as fit in width: "q quit  ? help ...". */
void keys_footer(const struct tui *t, char *buf, size_t n, size_t width);
/* The help screen's lines for the current panel (*n of them, at most
 * max), each at most width bytes; they point into buf. */
size_t keys_help(const struct tui *t, char *buf, size_t n, const char **lines, size_t max);
/* The movement keys every panel with rows shares. */
extern const struct key_table keys_move;

/* tui.c helpers for the panels. */
/* Put s at (y, x), cut at the right edge (by columns, not bytes). */
void tui_put(int y, int x, int attr, const char *s);
/* The bytes of s's first cols characters (UTF-8): what fits. */
int tui_bytes(const char *s, int cols);
void tui_message(struct tui *t, const char *fmt, ...) ATTR_PRINTF(2, 3);
double tui_pct(uint64_t a, uint64_t b);
/* A list's first row shown, so that cursor is in the height rows. */
size_t tui_scroll(size_t cursor, size_t top, int height);
/* The attribute of colour pair `pair` with `attr`, or attr alone without
 * colours (NO_COLOR, TERM=dumb). */
int tui_color(const struct tui *t, int pair, int attr);
/* The rows a panel has for its rows, below its column header. */
int tui_rows(const struct tui *t);

/* Write the flame graph of what the view shows (its class, thread and
 * window) to the file the prompt holds, and say so in the message line. */
void tui_write_svg(struct tui *t);

/* panel-stack.c, for keys.c: the search, applied to the tree. */
bool stack_search(struct tui *t);

#endif
