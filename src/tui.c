/* tui.c: the live view, drawn with ncursesw.
 *
 * The screen is rebuilt from the profile once a second and after every
 * key; ncurses sends only what changed, so nothing flickers. Tree state
 * (what is expanded, where the cursor is) is kept by path, not by row, so
 * it survives the rebuilds. */
#include "config.h"

#include "tui.h"

#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hashmap.h"
#include "signals.h"
#include "text.h"
#include "tracer.h"
#include "util.h"

enum { C_HEAD = 1, C_WARN, C_SEL, C_TAB, C_MATCH, C_DIM };

struct row {
	const struct tree_node *node;   /* tree view */
	const struct func_stat *func;   /* flat view */
	int depth;
	uint64_t path;
	bool expanded, has_children, match;
};

struct tui {
	struct recorder *r;
	struct live_view view;
	struct tree_node *tree;
	uint64_t total;
	struct func_table flat;
	struct hashmap expanded; /* path -> 1 */
	struct row *rows;
	size_t n_rows, cap_rows, cursor, top;
	uint64_t cursor_path;
	bool follow; /* re-expand the hottest path at every rebuild */
	int tabs[CLASS_COUNT + 1];
	uint64_t tab_count[CLASS_COUNT + 1];
	int n_tabs;
	uint64_t class_total;
	char search[128];
	bool paused, quit;
	enum { MODE_NORMAL, MODE_HELP, MODE_THREADS, MODE_SEARCH, MODE_WRITE } mode;
	char input[512];
	struct thread_table threads;
	size_t pick;
	char message[512];
	uint64_t message_until;
	uint64_t last_build;
};

static struct termios saved_termios;
static bool have_termios;

/* Async-signal-safe: put the terminal back if siprof crashes or is killed
 * (Ctrl-\). CAN first ends an escape sequence the signal cut short. */
static void
crash_restore(void)
{
	static const char reset[] = "\030\033[0m\033[?25h\033[?1049l\r\n";

	if (have_termios)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
	(void)!write(STDOUT_FILENO, reset, sizeof reset - 1);
}

static void
fatal_restore(void)
{
	endwin();
}

/* Ctrl-S is a key here, not XOFF: with flow control on, it stops the
 * terminal's output, the next refresh blocks and q is never read. Ctrl-C,
 * Ctrl-Z and Ctrl-\ keep their signals (cbreak, not raw). ncurses keeps
 * the mode as the program's own, and endwin restores the user's. */
static void
no_flow_control(void)
{
	struct termios tio;

	if (tcgetattr(STDIN_FILENO, &tio) != 0)
		return;
	tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &tio) == 0)
		def_prog_mode();
}

static uint64_t
path_of(uint64_t parent, const struct tree_node *n)
{
	return hash_mix(parent ^ hash_mix(((uint64_t)n->function << 32) | n->module));
}

static void
set_message(struct tui *t, const char *fmt, ...) ATTR_PRINTF(2, 3);

static void
set_message(struct tui *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->message, sizeof t->message, fmt, ap);
	va_end(ap);
	t->message_until = now_ns() + 4000000000u;
}

static bool
name_matches(const struct tui *t, uint32_t function)
{
	return t->search[0] != '\0' && strstr(profile_str(&t->r->prof, function), t->search) != NULL;
}

static void
add_row(struct tui *t, struct row row)
{
	GROW(t->rows, t->cap_rows, t->n_rows + 1);
	t->rows[t->n_rows++] = row;
}

static void
tree_rows(struct tui *t, const struct tree_node *n, int depth, uint64_t parent)
{
	for (size_t i = 0; i < n->n; i++) {
		const struct tree_node *c = n->children[i];
		uint64_t path = path_of(parent, c);
		bool open = hashmap_get(&t->expanded, path) != NULL;

		add_row(t, (struct row){ .node = c, .depth = depth, .path = path,
					 .expanded = open, .has_children = c->n > 0,
					 .match = name_matches(t, c->function) });
		if (open)
			tree_rows(t, c, depth + 1, path);
	}
}

/* Expand the hottest path below n (its most sampled child, and so on). */
static void
expand_hottest(struct tui *t, const struct tree_node *n, uint64_t path)
{
	while (n->n > 0) {
		const struct tree_node *best = n->children[0];

		for (size_t i = 1; i < n->n; i++)
			if (n->children[i]->total > best->total)
				best = n->children[i];
		if (n != t->tree)
			hashmap_put(&t->expanded, path, (void *)1);
		path = path_of(path, best);
		t->cursor_path = path;
		n = best;
	}
}

/* Expand every path that leads to a function matching the search. */
static bool
expand_matches(struct tui *t, const struct tree_node *n, uint64_t path)
{
	bool any = false;

	for (size_t i = 0; i < n->n; i++) {
		uint64_t p = path_of(path, n->children[i]);
		bool below = expand_matches(t, n->children[i], p);

		if (below)
			hashmap_put(&t->expanded, p, (void *)1);
		any = any || below || name_matches(t, n->children[i]->function);
	}
	return any;
}

static void
build(struct tui *t)
{
	struct selection sel, all;
	struct thread_table tt;

	live_selection(t->r, &t->view, &sel);
	/* Tabs: CPU, Wall, then every blocking class with samples. */
	all = sel;
	all.cls = -1;
	analyze_threads(&t->r->prof, &all, &tt);
	t->n_tabs = 0;
	t->class_total = tt.total;
	t->tabs[t->n_tabs] = CLASS_CPU;
	t->tab_count[t->n_tabs++] = tt.by_class[CLASS_CPU];
	t->tabs[t->n_tabs] = -1;
	t->tab_count[t->n_tabs++] = tt.total;
	for (int c = 0; c < CLASS_COUNT; c++) {
		if (c == CLASS_CPU || (tt.by_class[c] == 0 && t->view.cls != c))
			continue;
		t->tabs[t->n_tabs] = c;
		t->tab_count[t->n_tabs++] = tt.by_class[c];
	}
	thread_table_release(&tt);

	tree_free(t->tree);
	func_table_release(&t->flat);
	t->n_rows = 0;
	if (t->view.flat) {
		analyze_functions(&t->r->prof, &sel, t->view.by_line, t->view.sort_total, &t->flat);
		t->total = t->flat.total;
		t->tree = NULL;
		for (size_t i = 0; i < t->flat.n; i++) {
			const struct func_stat *f = &t->flat.funcs[i];

			if (t->search[0] != '\0' && !name_matches(t, f->function))
				continue;
			add_row(t, (struct row){ .func = f, .path = ((uint64_t)f->function << 32) ^
						 ((uint64_t)f->file << 16) ^ (uint64_t)f->line,
						 .match = name_matches(t, f->function) });
		}
	} else {
		t->tree = analyze_tree(&t->r->prof, &sel, &t->total);
		tree_sort(t->tree);
		/* Until the user takes over the tree, follow the hot spot. */
		if (t->follow && t->total > 0) {
			hashmap_release(&t->expanded);
			expand_hottest(t, t->tree, 0);
		}
		tree_rows(t, t->tree, 0, 0);
	}
	/* Keep the cursor on the same node. */
	for (size_t i = 0; i < t->n_rows; i++) {
		if (t->rows[i].path == t->cursor_path) {
			t->cursor = i;
			break;
		}
	}
	if (t->cursor >= t->n_rows)
		t->cursor = t->n_rows ? t->n_rows - 1 : 0;
	if (t->n_rows > 0)
		t->cursor_path = t->rows[t->cursor].path;
	t->last_build = now_ns();
}

static void
put(int y, int x, int attr, const char *s)
{
	if (y >= LINES || x >= COLS)
		return;
	attron(attr);
	mvaddnstr(y, x, s, COLS - x);
	attroff(attr);
}

static double
pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

static void
format_function(const struct tui *t, uint32_t function, uint32_t file, int32_t line,
		uint32_t module, char *buf, size_t n)
{
	const struct profile *p = &t->r->prof;
	const char *f = profile_str(p, file);
	size_t len = (size_t)snprintf(buf, n, "%s", text_safe(profile_str(p, function)));

	if (*f != '\0' && len < n)
		len += (size_t)snprintf(buf + len, n - len, line > 0 ? " (%s:%d)" : " (%s)",
					text_safe(path_basename(f)), line);
	if (module != 0 && len < n)
		snprintf(buf + len, n - len, " [%s]",
			 text_safe(path_basename(profile_str(p, p->modules[module].path))));
}

static void
draw_header(struct tui *t)
{
	const struct metric_row *m = metrics_last(&t->r->metrics);
	char line[1024], warning[256], spark_cpu[256], spark_rss[256];
	bool warn;
	int x;

	live_header(t->r, line, sizeof line, &warn, warning, sizeof warning);
	move(0, 0);
	clrtoeol();
	put(0, 0, COLOR_PAIR(C_HEAD) | A_BOLD, " siprof ");
	put(0, 8, 0, line);
	x = 9 + (int)strlen(line);
	if (t->paused) {
		put(0, x, COLOR_PAIR(C_WARN) | A_BOLD, " PAUSED ");
		x += 9;
	}
	if (warn)
		put(0, x, COLOR_PAIR(C_WARN) | A_BOLD, warning);

	live_spark(t->r, false, spark_cpu, sizeof spark_cpu);
	live_spark(t->r, true, spark_rss, sizeof spark_rss);
	move(1, 0);
	clrtoeol();
	if (m != NULL) {
		snprintf(line, sizeof line, "CPU %5.1f%% ", m->cpu_percent);
		put(1, 0, A_BOLD, line);
		put(1, 12, 0, spark_cpu);
		snprintf(line, sizeof line, "  RSS %.1f MiB ",
			 (double)(m->m.rss_anon + m->m.rss_file + m->m.rss_shmem) / (1 << 20));
		x = 12 + (int)(strlen(spark_cpu) / 3);
		put(1, x, A_BOLD, line);
		x += (int)strlen(line);
		put(1, x, 0, spark_rss);
		x += (int)(strlen(spark_rss) / 3);
		snprintf(line, sizeof line, "  threads %llu  window: %s  thread: %s%s  view: %s%s",
			 (unsigned long long)m->m.threads, live_window_name(t->view.window),
			 t->view.tid ? text_safe(profile_thread_name(&t->r->prof, t->view.tid)) : "all",
			 "", t->view.flat ? (t->view.by_line ? "lines" : "functions") : "tree",
			 t->view.flat ? (t->view.sort_total ? " by total" : " by self") : "");
		put(1, x, 0, line);
	}
	move(2, 0);
	clrtoeol();
	x = 0;
	for (int i = 0; i < t->n_tabs; i++) {
		int c = t->tabs[i];
		const char *name = c < 0 ? "Wall" : class_name((enum sample_class)c);

		bool on = c == t->view.cls;

		/* Brackets mark the active tab even without colours. */
		if (c < 0)
			snprintf(line, sizeof line, "%sWall%s", on ? "[" : " ", on ? "]" : " ");
		else
			snprintf(line, sizeof line, "%s%c%s %.0f%%%s", on ? "[" : " ", name[0] - 32,
				 name + 1, pct(t->tab_count[i], t->class_total), on ? "]" : " ");
		put(2, x, on ? COLOR_PAIR(C_TAB) | A_BOLD : A_DIM, line);
		x += (int)strlen(line) + 1;
	}
}

static void
draw_rows(struct tui *t)
{
	int first = 4, height = LINES - first - 1;
	char text[1024], prefix[64];

	move(3, 0);
	clrtoeol();
	put(3, 0, A_UNDERLINE, t->view.flat ? "  self%  total%  samples  function (file:line) [module]"
					   : " total%   self%  samples  function (file:line) [module]");
	if (height < 1)
		return;
	if (t->cursor < t->top)
		t->top = t->cursor;
	if (t->cursor >= t->top + (size_t)height)
		t->top = t->cursor - (size_t)height + 1;
	for (int y = 0; y < height; y++) {
		size_t i = t->top + (size_t)y;
		int attr = 0;

		move(first + y, 0);
		clrtoeol();
		if (i >= t->n_rows) {
			if (i == 0)
				put(first, 2, A_DIM, t->total ? "(nothing matches)" : "(no samples yet in this window and class)");
			continue;
		}
		if (t->view.flat) {
			const struct func_stat *f = t->rows[i].func;

			snprintf(prefix, sizeof prefix, "%6.1f%% %6.1f%% %8llu  ", pct(f->self, t->total),
				 pct(f->total, t->total), (unsigned long long)(t->view.sort_total ? f->total : f->self));
			format_function(t, f->function, f->file, f->line, f->module, text, sizeof text);
		} else {
			const struct row *rw = &t->rows[i];
			const struct tree_node *n = rw->node;
			char fn[1000];

			snprintf(prefix, sizeof prefix, "%6.1f%% %6.1f%% %8llu  ", pct(n->total, t->total),
				 pct(n->self, t->total), (unsigned long long)n->total);
			format_function(t, n->function, n->file, n->line, n->module, fn, sizeof fn);
			snprintf(text, sizeof text, "%*s%s %s", rw->depth * 2, "",
				 rw->has_children ? (rw->expanded ? "\u25be" : "\u25b8") : " ", fn);
		}
		if (i == t->cursor)
			attr = COLOR_PAIR(C_SEL) | A_BOLD;
		else if (t->rows[i].match)
			attr = COLOR_PAIR(C_MATCH) | A_BOLD;
		attron(attr);
		mvaddnstr(first + y, 0, prefix, COLS);
		if ((int)strlen(prefix) < COLS)
			addnstr(text, COLS - (int)strlen(prefix));
		if (i == t->cursor) /* the whole line, for a visible bar */
			for (int x = getcurx(stdscr); x < COLS && x > 0; x++)
				addch(' ');
		attroff(attr);
	}
}

static void
draw_footer(struct tui *t)
{
	char line[1024];
	int y = LINES - 1;

	move(y, 0);
	clrtoeol();
	if (t->mode == MODE_SEARCH) {
		snprintf(line, sizeof line, "search: %s", t->input);
		put(y, 0, A_BOLD, line);
		return;
	}
	if (t->mode == MODE_WRITE) {
		snprintf(line, sizeof line, "write the session to: %s", t->input);
		put(y, 0, A_BOLD, line);
		return;
	}
	if (t->message[0] != '\0' && now_ns() < t->message_until) {
		put(y, 0, A_BOLD, t->message);
		return;
	}
	put(y, 0, A_DIM, "q quit  ? help  Tab class  v tree/list  \u2190\u2192 fold  e hottest  "
			 "c collapse  i window  r reset  t thread  / search  space pause  w write");
	if (t->search[0] != '\0') {
		snprintf(line, sizeof line, "  [search: %s, n next]", t->search);
		put(y, COLS - (int)strlen(line) > 0 ? COLS - (int)strlen(line) : 0, A_BOLD, line);
	}
}

static const char *const help_lines[] = {
	"siprof attach: keys",
	"",
	"  q, Ctrl-C      quit (siprof detaches; the process keeps running)",
	"  ?              this help (any key closes it)",
	"  Tab, Shift-Tab next or previous class: CPU, Wall, Lock, Net, Disk, ...",
	"  v              call tree or flat list of functions",
	"  Up, Down, PgUp, PgDn, Home, End   move",
	"  Right, Enter   expand (tree); Left: collapse, or go to the parent",
	"  e              expand the hottest path below the cursor",
	"  c              collapse everything",
	"  s              flat list: sort by self or by total",
	"  l              flat list: functions or source lines",
	"  i              window: last 5 s, last 60 s, since start (or reset)",
	"  r              reset: the window starts now",
	"  t              pick a thread (or all)",
	"  /              search functions by name; n: next match; Esc clears",
	"  space          pause or resume sampling",
	"  w              write everything seen so far to a session file",
};

static void
draw_help(void)
{
	int w = 0, h = (int)ARRAY_SIZE(help_lines) + 2, y0, x0;

	for (size_t i = 0; i < ARRAY_SIZE(help_lines); i++)
		if ((int)strlen(help_lines[i]) > w)
			w = (int)strlen(help_lines[i]);
	w += 4;
	y0 = (LINES - h) / 2 > 0 ? (LINES - h) / 2 : 0;
	x0 = (COLS - w) / 2 > 0 ? (COLS - w) / 2 : 0;
	for (int y = 0; y < h && y0 + y < LINES; y++) {
		move(y0 + y, x0);
		attron(COLOR_PAIR(C_HEAD));
		for (int x = 0; x < w && x0 + x < COLS; x++)
			addch(' ');
		if (y > 0 && y - 1 < (int)ARRAY_SIZE(help_lines))
			mvaddnstr(y0 + y, x0 + 2, help_lines[y - 1], COLS - x0 - 2);
		attroff(COLOR_PAIR(C_HEAD));
	}
}

static void
draw_threads(struct tui *t)
{
	int h = (int)t->threads.n + 3, w = 60, y0 = 4, x0 = 2;
	const int selected = (int)(COLOR_PAIR(C_SEL) | A_BOLD);
	char line[256];

	if (h > LINES - y0 - 1)
		h = LINES - y0 - 1;
	for (int y = 0; y < h; y++) {
		size_t i = (size_t)y;
		int attr = COLOR_PAIR(C_HEAD);

		move(y0 + y, x0);
		if (y == 0) {
			snprintf(line, sizeof line, " pick a thread (Enter, Esc)      cpu share");
		} else if (y == 1) {
			snprintf(line, sizeof line, "   all threads");
			attr = t->pick == 0 ? selected : attr;
		} else if (i - 2 < t->threads.n) {
			const struct thread_stat *s = &t->threads.threads[i - 2];

			snprintf(line, sizeof line, "   %-8u %-20s %6.1f%%", s->tid,
				 text_safe(profile_thread_name(&t->r->prof, s->tid)),
				 pct(s->by_class[CLASS_CPU], t->threads.by_class[CLASS_CPU]));
			attr = t->pick == i - 1 ? selected : attr;
		} else {
			line[0] = '\0';
		}
		attron(attr);
		for (int x = 0; x < w && x0 + x < COLS; x++)
			mvaddch(y0 + y, x0 + x, ' ');
		mvaddnstr(y0 + y, x0, line, COLS - x0);
		attroff(attr);
	}
}

static void
draw(struct tui *t)
{
	erase();
	draw_header(t);
	draw_rows(t);
	draw_footer(t);
	if (t->mode == MODE_HELP)
		draw_help();
	else if (t->mode == MODE_THREADS)
		draw_threads(t);
	refresh();
}

static void
move_cursor(struct tui *t, long delta)
{
	long c = (long)t->cursor + delta;

	if (t->n_rows == 0)
		return;
	c = c < 0 ? 0 : c >= (long)t->n_rows ? (long)t->n_rows - 1 : c;
	t->cursor = (size_t)c;
	t->cursor_path = t->rows[t->cursor].path;
}

static void
write_session(struct tui *t)
{
	char *cause = NULL;

	if (t->input[0] == '\0') {
		set_message(t, "not written: no file name");
		return;
	}
	if (recorder_save(t->r, t->input, &cause))
		set_message(t, "wrote %s", t->input);
	else
		set_message(t, "not written: %s", cause);
	free(cause);
}

static int
cmp_cpu(const void *a, const void *b)
{
	const struct thread_stat *x = a, *y = b;

	if (x->by_class[CLASS_CPU] != y->by_class[CLASS_CPU])
		return x->by_class[CLASS_CPU] < y->by_class[CLASS_CPU] ? 1 : -1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static void
open_thread_picker(struct tui *t)
{
	struct selection sel;

	live_selection(t->r, &t->view, &sel);
	sel.tid = 0;
	thread_table_release(&t->threads);
	analyze_threads(&t->r->prof, &sel, &t->threads);
	/* Busiest first. */
	if (t->threads.n > 1)
		qsort(t->threads.threads, t->threads.n, sizeof *t->threads.threads, cmp_cpu);
	t->pick = 0;
	t->mode = MODE_THREADS;
}

static bool
text_input(struct tui *t, int ch)
{
	size_t len = strlen(t->input);

	if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (len > 0)
			t->input[len - 1] = '\0';
		return true;
	}
	if (ch >= 32 && ch < 127 && len + 1 < sizeof t->input) {
		t->input[len] = (char)ch;
		t->input[len + 1] = '\0';
		return true;
	}
	return false;
}

/* Returns true when the screen must be rebuilt. */
static bool
handle_key(struct tui *t, int ch)
{
	switch (t->mode) {
	case MODE_HELP:
		t->mode = MODE_NORMAL;
		return false;
	case MODE_THREADS:
		if (ch == KEY_UP && t->pick > 0)
			t->pick--;
		else if (ch == KEY_DOWN && t->pick < t->threads.n)
			t->pick++;
		else if (ch == '\n' || ch == KEY_ENTER) {
			t->view.tid = t->pick == 0 ? 0 : t->threads.threads[t->pick - 1].tid;
			t->mode = MODE_NORMAL;
			return true;
		} else if (ch == 27 || ch == 'q')
			t->mode = MODE_NORMAL;
		return false;
	case MODE_SEARCH:
	case MODE_WRITE:
		if (ch == 27) {
			t->mode = MODE_NORMAL;
		} else if (ch == '\n' || ch == KEY_ENTER) {
			if (t->mode == MODE_WRITE) {
				write_session(t);
			} else {
				snprintf(t->search, sizeof t->search, "%s", t->input);
				if (t->search[0] != '\0')
					t->follow = false;
				if (t->tree != NULL && t->search[0] != '\0' &&
				    !expand_matches(t, t->tree, 0))
					set_message(t, "no function matches '%s'", t->search);
			}
			t->mode = MODE_NORMAL;
			return true;
		} else {
			text_input(t, ch);
		}
		return false;
	case MODE_NORMAL:
		break;
	}
	switch (ch) {
	case 'q': case 'Q':
		t->quit = true;
		return false;
	case '?': case 'h':
		t->mode = MODE_HELP;
		return false;
	case '\t': case KEY_BTAB: {
		int at = 0;

		for (int i = 0; i < t->n_tabs; i++)
			if (t->tabs[i] == t->view.cls)
				at = i;
		at = (at + (ch == '\t' ? 1 : t->n_tabs - 1)) % t->n_tabs;
		t->view.cls = t->tabs[at];
		t->follow = true;
		return true;
	}
	case 'v':
		t->view.flat = !t->view.flat;
		t->cursor = 0;
		return true;
	case 's':
		t->view.sort_total = !t->view.sort_total;
		return true;
	case 'l':
		t->view.by_line = !t->view.by_line;
		return true;
	case 'i':
		t->view.window = (enum live_window)((t->view.window + 1) % WINDOW_COUNT);
		return true;
	case 'r':
		t->view.reset_bucket = recorder_bucket(t->r);
		set_message(t, "reset: the window starts now");
		return true;
	case 't':
		open_thread_picker(t);
		return false;
	case '/':
		t->mode = MODE_SEARCH;
		t->input[0] = '\0';
		return false;
	case 27:
		t->search[0] = '\0';
		return true;
	case 'n':
		for (size_t k = 1; k <= t->n_rows; k++) {
			size_t i = (t->cursor + k) % t->n_rows;

			if (t->rows[i].match) {
				t->cursor = i;
				t->cursor_path = t->rows[i].path;
				break;
			}
		}
		return false;
	case ' ':
		t->paused = !t->paused;
		sampler_pause(t->r->sampler, t->paused);
		set_message(t, t->paused ? "sampling paused (space resumes)" : "sampling resumed");
		return false;
	case 'w': {
		time_t now = time(NULL);
		struct tm tm;
		char stamp[32];

		localtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
		snprintf(t->input, sizeof t->input, "siprof-%d-%s.siprof", (int)t->r->pid, stamp);
		t->mode = MODE_WRITE;
		return false;
	}
	case KEY_UP: t->follow = false; move_cursor(t, -1); return false;
	case KEY_DOWN: t->follow = false; move_cursor(t, 1); return false;
	case KEY_PPAGE: t->follow = false; move_cursor(t, -(LINES - 6)); return false;
	case KEY_NPAGE: t->follow = false; move_cursor(t, LINES - 6); return false;
	case KEY_HOME: t->follow = false; move_cursor(t, -(long)t->n_rows); return false;
	case KEY_END: t->follow = false; move_cursor(t, (long)t->n_rows); return false;
	case KEY_RIGHT: case '\n': case KEY_ENTER:
		t->follow = false;
		if (!t->view.flat && t->cursor < t->n_rows && t->rows[t->cursor].has_children) {
			hashmap_put(&t->expanded, t->rows[t->cursor].path, (void *)1);
			return true;
		}
		return false;
	case KEY_LEFT:
		t->follow = false;
		if (t->view.flat || t->cursor >= t->n_rows)
			return false;
		if (t->rows[t->cursor].expanded) {
			hashmap_remove(&t->expanded, t->rows[t->cursor].path);
		} else {
			/* To the parent: the nearest row above with less depth. */
			for (size_t i = t->cursor; i-- > 0;) {
				if (t->rows[i].depth < t->rows[t->cursor].depth) {
					t->cursor = i;
					t->cursor_path = t->rows[i].path;
					break;
				}
			}
		}
		return true;
	case 'e':
		t->follow = false;
		if (!t->view.flat && t->cursor < t->n_rows) {
			hashmap_put(&t->expanded, t->rows[t->cursor].path, (void *)1);
			expand_hottest(t, t->rows[t->cursor].node, t->rows[t->cursor].path);
		} else if (!t->view.flat && t->tree != NULL) {
			expand_hottest(t, t->tree, 0);
		}
		return true;
	case 'c':
		t->follow = false;
		hashmap_release(&t->expanded);
		t->cursor = 0;
		if (t->n_rows > 0)
			t->cursor_path = t->rows[0].path;
		return true;
	case KEY_RESIZE:
		return true;
	default:
		return false;
	}
}

/* Ctrl-Z: siprof owns SIGTSTP (ncurses leaves it alone then), so the
 * terminal is given back here, after the process is let go and before
 * siprof stops, and the screen is redrawn in full once it is continued. */
static bool
suspend(struct tui *t, char **cause)
{
	uint64_t since = now_ns();
	int rc;

	if (!recorder_suspend(t->r, cause))
		return false;
	endwin();
	signals_suspend_self();
	clearok(curscr, TRUE);
	refresh();
	rc = recorder_resume(t->r, cause);
	if (rc == TRACER_NOPROC) {
		set_message(t, "%s", *cause);
		return true;
	}
	if (rc != TRACER_OK)
		return false;
	set_message(t, "suspended for %.1f s: the process was not traced meanwhile",
		    (double)(now_ns() - since) / 1e9);
	return true;
}

bool
tui_run(struct recorder *r, const struct live_view *initial, char **cause)
{
	struct tui t;
	bool rebuild = true, ok = true;

	memset(&t, 0, sizeof t);
	t.r = r;
	t.view = *initial;
	t.follow = true;
	hashmap_init(&t.expanded);
	setlocale(LC_ALL, "");
	if (tcgetattr(STDIN_FILENO, &saved_termios) == 0)
		have_termios = true;
	signals_set_crash_hook(crash_restore);
	util_set_fatal_hook(fatal_restore);
	if (initscr() == NULL) {
		set_cause(cause, "cannot start the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
		return false;
	}
	cbreak();
	noecho();
	no_flow_control();
	keypad(stdscr, TRUE);
	curs_set(0);
	timeout(50);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(C_HEAD, COLOR_BLACK, COLOR_CYAN);
		init_pair(C_WARN, COLOR_RED, -1);
		init_pair(C_SEL, COLOR_BLACK, COLOR_WHITE);
		init_pair(C_TAB, COLOR_BLACK, COLOR_GREEN);
		init_pair(C_MATCH, COLOR_YELLOW, -1);
		init_pair(C_DIM, COLOR_BLUE, -1);
	}
	while (!t.quit) {
		int ch;
		char *err = NULL;

		if (!r->ended && !recorder_step(r, 50, &err) && !r->ended) {
			set_message(&t, "recording failed: %s", err ? err : "?");
			free(err);
		}
		if (signals_stop_requested())
			break;
		if (signals_suspend_requested() && !suspend(&t, cause)) {
			ok = false;
			break;
		}
		ch = getch();
		if (ch != ERR)
			rebuild = handle_key(&t, ch) || rebuild;
		if (rebuild || now_ns() - t.last_build >= 1000000000u) {
			build(&t);
			rebuild = false;
		}
		draw(&t);
	}
	endwin();
	util_set_fatal_hook(NULL);
	signals_set_crash_hook(NULL);
	tree_free(t.tree);
	func_table_release(&t.flat);
	thread_table_release(&t.threads);
	hashmap_release(&t.expanded);
	free(t.rows);
	return ok;
}
