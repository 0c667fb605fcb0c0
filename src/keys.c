/* keys.c: the live view's keys, as tables (htop's Action.c is the model):
 * the keys every panel has, the panels' own (panel-*.c) and the keys that
 * select a panel, which come from tui_panels[]. The dispatch, the help
 * screen and the footer all read these tables, so the help and the footer
 * say what the keys do. */
#include "config.h"

#include "panel.h"

#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool
key_quit(struct tui *t, int ch)
{
	(void)ch;
	t->quit = true;
	return false;
}

static bool
key_help(struct tui *t, int ch)
{
	(void)ch;
	t->mode = MODE_HELP;
	return false;
}

static bool
key_class(struct tui *t, int ch)
{
	int at = 0;

	if (t->n_tabs == 0)
		return false;
	for (int i = 0; i < t->n_tabs; i++)
		if (t->tabs[i] == t->view.cls)
			at = i;
	at = (at + (ch == KEY_BTAB ? t->n_tabs - 1 : 1)) % t->n_tabs;
	t->view.cls = t->tabs[at];
	t->follow = true;
	return true;
}

static bool
key_window(struct tui *t, int ch)
{
	(void)ch;
	t->view.window = (enum live_window)((t->view.window + 1) % WINDOW_COUNT);
	return true;
}

static bool
key_reset(struct tui *t, int ch)
{
	(void)ch;
	t->view.reset_bucket = recorder_bucket(t->r);
	tui_message(t, "reset: the window starts now");
	return true;
}

static bool
key_pause(struct tui *t, int ch)
{
	(void)ch;
	t->paused = !t->paused;
	sampler_pause(t->r->sampler, t->paused);
	/* The achieved rate is of the time sampled, not of the pauses. */
	if (t->paused)
		t->paused_at = now_ns();
	else
		t->paused_ns += now_ns() - t->paused_at;
	tui_message(t, t->paused ? "sampling paused (space resumes)" : "sampling resumed");
	return false;
}

static bool
key_freeze(struct tui *t, int ch)
{
	(void)ch;
	if (t->view.frozen != 0) {
		t->view.frozen = 0;
		tui_message(t, "the view follows the samples again");
	} else {
		t->view.frozen = recorder_bucket(t->r) + 1;
		tui_message(t, "view frozen; sampling goes on (z again follows it)");
	}
	return true;
}

/* The prompt for a file name, a default in it, the cursor at its end. */
static void
prompt_file(struct tui *t, enum tui_mode mode, const char *ext)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];

	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	snprintf(t->input, sizeof t->input, "siprof-%d-%s.%s", (int)t->r->pid, stamp, ext);
	t->input_at = strlen(t->input);
	t->mode = mode;
}

static bool
key_write(struct tui *t, int ch)
{
	(void)ch;
	prompt_file(t, MODE_WRITE, "siprof");
	return false;
}

static bool
key_svg(struct tui *t, int ch)
{
	(void)ch;
	prompt_file(t, MODE_SVG, "svg");
	return false;
}

static bool
key_resize(struct tui *t, int ch)
{
	(void)t;
	(void)ch;
	return true;
}

static bool
key_move(struct tui *t, int ch)
{
	long page = LINES > 7 ? LINES - 6 : 1, delta;

	switch (ch) {
	case KEY_UP:
	case 'k': delta = -1; break;
	case KEY_DOWN:
	case 'j': delta = 1; break;
	case KEY_PPAGE: delta = -page; break;
	case KEY_NPAGE: delta = page; break;
	case KEY_HOME: delta = -(1L << 30); break;
	default: delta = 1L << 30; break;
	}
	t->panel->move_cursor(t, delta);
	return false;
}

/* The wheel moves the cursor three rows; a click on a row puts the
 * cursor on it, a click on a class tab shows that class. */
static bool
key_mouse(struct tui *t, int ch)
{
	MEVENT ev;
	size_t top, at;
	int row;

	(void)ch;
	if (getmouse(&ev) != OK)
		return false;
	if (ev.bstate & BUTTON4_PRESSED) {
		t->panel->move_cursor(t, -3);
		return false;
	}
	if (ev.bstate & BUTTON5_PRESSED) {
		t->panel->move_cursor(t, 3);
		return false;
	}
	if (!(ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED)))
		return false;
	if (ev.y == t->body - 1) { /* a class tab */
		for (int i = 0; i < t->n_tabs; i++) {
			if (t->tab_to[i] > 0 && ev.x >= t->tab_from[i] && ev.x < t->tab_to[i]) {
				t->view.cls = t->tabs[i];
				t->follow = true;
				return true;
			}
		}
		return false;
	}
	row = ev.y - t->body - 1;
	if (row < 0 || row >= tui_rows(t))
		return false;
	top = t->panel->picker ? t->pick_top : t->top;
	at = t->panel->picker ? t->pick : t->cursor;
	t->panel->move_cursor(t, (long)(top + (size_t)row) - (long)at);
	/* The rows did not move: the cursor is where the click was. */
	if (t->panel->picker)
		t->pick_top = top;
	else
		t->top = top;
	return false;
}

/* q and ? first: the footer shows what fits, in this order. */
static const struct key_binding global_keys[] = {
	{ { 'q', 'Q', KEY_F(10) }, "q, F10, Ctrl-C", "quit",
	  "quit (detach; the process keeps running)", key_quit },
	{ { '?', 'h', KEY_F(1) }, "?, h, F1", "help", "this help (any key closes it)", key_help },
	{ { '\t', KEY_BTAB }, "Tab, Shift-Tab", "class",
	  "next or previous class: CPU, Wall, Lock, ...", key_class },
	{ { 'i' }, "i", "window", "window: last 5 s, 60 s, since start or reset", key_window },
	{ { 'r' }, "r", "reset", "reset: the window starts now", key_reset },
	{ { ' ' }, "space", "pause", "pause or resume sampling", key_pause },
	{ { 'z', 'Z' }, "z", "freeze", "freeze the view (sampling goes on) or follow again",
	  key_freeze },
	{ { 'w' }, "w", "write", "write all seen so far to a session file", key_write },
	{ { 'g' }, "g", "svg", "write what is shown as an SVG flame graph", key_svg },
	{ { KEY_RESIZE }, NULL, NULL, NULL, key_resize },
};

static const struct key_binding move_keys[] = {
	{ { KEY_UP, KEY_DOWN, KEY_PPAGE, KEY_NPAGE }, "Up, Down, PgUp, PgDn, Home, End", NULL,
	  "move the cursor", key_move },
	{ { KEY_HOME, KEY_END }, NULL, NULL, NULL, key_move },
	{ { 'j', 'k' }, "j, k", NULL, "down, up (as in vi and htop)", key_move },
	{ { KEY_MOUSE }, "wheel, click", NULL, "scroll; a click: the cursor on a row, or a class tab",
	  key_mouse },
};

static const struct key_table global_table = KEY_TABLE("everywhere", global_keys);
const struct key_table keys_move = KEY_TABLE("move", move_keys);

static bool
binds(const struct key_binding *b, int ch)
{
	for (size_t i = 0; i < ARRAY_SIZE(b->keys) && b->keys[i] != 0; i++)
		if (b->keys[i] == ch)
			return true;
	return false;
}

#define CTRL(c) ((c) & 0x1f)

/* Remove the bytes [from, to) of the input; the cursor goes to from. */
static void
input_cut(struct tui *t, size_t from, size_t to)
{
	size_t len = strlen(t->input);

	if (to > len)
		to = len;
	if (from >= to)
		return;
	memmove(t->input + from, t->input + to, len - to + 1);
	t->input_at = from;
}

/* A prompt's line editing, with readline's keys: Ctrl-A and Home, Ctrl-E
 * and End, Left and Right, Backspace, Delete and Ctrl-D, Ctrl-U (to the
 * start), Ctrl-K (to the end), Ctrl-W (the word before the cursor). */
static void
text_input(struct tui *t, int ch)
{
	size_t len = strlen(t->input), at = t->input_at > len ? len : t->input_at;

	switch (ch) {
	case KEY_BACKSPACE:
	case 127:
	case CTRL('H'):
		if (at > 0)
			input_cut(t, at - 1, at);
		return;
	case KEY_DC:
	case CTRL('D'):
		input_cut(t, at, at + 1);
		return;
	case CTRL('U'):
		input_cut(t, 0, at);
		return;
	case CTRL('K'):
		input_cut(t, at, len);
		t->input_at = at;
		return;
	case CTRL('W'): {
		size_t from = at;

		while (from > 0 && t->input[from - 1] == ' ')
			from--;
		while (from > 0 && t->input[from - 1] != ' ' && t->input[from - 1] != '/')
			from--;
		if (from == at && from > 0) /* a slash right before the cursor */
			from--;
		input_cut(t, from, at);
		return;
	}
	case CTRL('A'):
	case KEY_HOME:
		t->input_at = 0;
		return;
	case CTRL('E'):
	case KEY_END:
		t->input_at = len;
		return;
	case KEY_LEFT:
		t->input_at = at > 0 ? at - 1 : 0;
		return;
	case KEY_RIGHT:
		t->input_at = at < len ? at + 1 : len;
		return;
	default:
		break;
	}
	if (ch >= 32 && ch < 127 && len + 1 < sizeof t->input) {
		memmove(t->input + at + 1, t->input + at, len - at + 1);
		t->input[at] = (char)ch;
		t->input_at = at + 1;
	}
}

static void
write_session(struct tui *t)
{
	char *cause = NULL;

	if (t->input[0] == '\0') {
		tui_message(t, "not written: no file name");
		return;
	}
	if (recorder_save(t->r, t->input, &cause))
		tui_message(t, "wrote %s", t->input);
	else
		tui_message(t, "not written: %s", cause);
	free(cause);
}

/* The search and file prompts; Esc and Ctrl-G cancel. */
static bool
prompt_key(struct tui *t, int ch)
{
	if (ch == 27 || ch == CTRL('G')) {
		t->mode = MODE_NORMAL;
		return false;
	}
	if (ch != '\n' && ch != '\r' && ch != KEY_ENTER) {
		text_input(t, ch);
		return false;
	}
	if (t->mode == MODE_WRITE) {
		write_session(t);
	} else if (t->mode == MODE_SVG) {
		tui_write_svg(t);
	} else {
		snprintf(t->search, sizeof t->search, "%.*s", (int)sizeof t->search - 1, t->input);
		if (!stack_search(t))
			tui_message(t, "no function matches '%s'", t->search);
	}
	t->mode = MODE_NORMAL;
	return true;
}

bool
keys_handle(struct tui *t, int ch)
{
	const struct panel *p = t->panel;

	switch (t->mode) {
	case MODE_HELP:
		/* A help taller than the terminal scrolls; any other key
		 * closes it. */
		if (t->help_more && (ch == KEY_DOWN || ch == 'j' || ch == KEY_NPAGE || ch == ' ')) {
			t->help_top += ch == KEY_NPAGE || ch == ' ' ? (size_t)(LINES > 6 ? LINES - 4 : 1) : 1;
			return false;
		}
		if (t->help_more && (ch == KEY_UP || ch == 'k' || ch == KEY_PPAGE)) {
			size_t d = ch == KEY_PPAGE ? (size_t)(LINES > 6 ? LINES - 4 : 1) : 1;

			t->help_top = t->help_top > d ? t->help_top - d : 0;
			return false;
		}
		if (ch == KEY_RESIZE)
			return true;
		t->mode = MODE_NORMAL;
		t->help_top = 0;
		return false;
	case MODE_SEARCH:
	case MODE_WRITE:
	case MODE_SVG:
		return prompt_key(t, ch);
	case MODE_NORMAL:
		break;
	}
	for (size_t k = 0; k < ARRAY_SIZE(p->tables) && p->tables[k] != NULL; k++)
		for (size_t i = 0; i < p->tables[k]->n; i++)
			if (binds(&p->tables[k]->b[i], ch))
				return p->tables[k]->b[i].run(t, ch);
	for (size_t i = 0; i < tui_n_panels; i++) {
		for (size_t k = 0; k < ARRAY_SIZE(tui_panels[i]->keys) && tui_panels[i]->keys[k]; k++) {
			if (tui_panels[i]->keys[k] == ch) {
				if (tui_panels[i] != t->panel)
					tui_show(t, tui_panels[i]);
				return true;
			}
		}
	}
	for (size_t i = 0; i < global_table.n; i++)
		if (binds(&global_table.b[i], ch))
			return global_table.b[i].run(t, ch);
	return false;
}

/* The first of a binding's names: what the footer shows. */
static size_t
first_name(const char *names)
{
	const char *comma = strchr(names, ',');

	return comma ? (size_t)(comma - names) : strlen(names);
}

static bool
footer_add(char *buf, size_t n, size_t width, size_t *len, const char *key, size_t klen,
	   const char *label)
{
	size_t need = (*len ? 2 : 0) + klen + 1 + strlen(label);

	if (*len + need > width || *len + need >= n)
		return false;
	*len += (size_t)snprintf(buf + *len, n - *len, "%s%.*s %s", *len ? "  " : "", (int)klen,
				 key, label);
	return true;
}

static bool
footer_table(const struct key_table *kt, char *buf, size_t n, size_t width, size_t *len,
	     size_t from, size_t to)
{
	for (size_t i = from; i < kt->n && i < to; i++) {
		const struct key_binding *b = &kt->b[i];

		if (b->label != NULL &&
		    !footer_add(buf, n, width, len, b->names, first_name(b->names), b->label))
			return false;
	}
	return true;
}

void
keys_footer(const struct tui *t, char *buf, size_t n, size_t width)
{
	const struct panel *p = t->panel;
	size_t len = 0;
	bool fits;

	buf[0] = '\0';
	/* Quit and help, the panel's own keys, the panels, the rest. */
	fits = footer_table(&global_table, buf, n, width, &len, 0, 2);
	for (size_t k = 0; fits && k < ARRAY_SIZE(p->tables) && p->tables[k] != NULL; k++)
		fits = footer_table(p->tables[k], buf, n, width, &len, 0, SIZE_MAX);
	for (size_t i = 0; fits && i < tui_n_panels; i++)
		if (tui_panels[i] != p)
			fits = footer_add(buf, n, width, &len, tui_panels[i]->key_names,
					  first_name(tui_panels[i]->key_names), tui_panels[i]->name);
	if (fits)
		footer_table(&global_table, buf, n, width, &len, 2, SIZE_MAX);
}

static size_t
help_line(char *buf, size_t n, size_t *used, const char **lines, size_t count, size_t max,
	  const char *fmt, ...) ATTR_PRINTF(7, 8);

static size_t
help_line(char *buf, size_t n, size_t *used, const char **lines, size_t count, size_t max,
	  const char *fmt, ...)
{
	va_list ap;
	int len;

	if (count >= max || *used >= n)
		return count;
	va_start(ap, fmt);
	len = vsnprintf(buf + *used, n - *used, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= n - *used)
		return count;
	lines[count] = buf + *used;
	*used += (size_t)len + 1;
	return count + 1;
}

static size_t
help_table(const struct key_table *kt, char *buf, size_t n, size_t *used, const char **lines,
	   size_t count, size_t max)
{
	count = help_line(buf, n, used, lines, count, max, "%s:", kt->title);
	for (size_t i = 0; i < kt->n; i++)
		if (kt->b[i].names != NULL)
			count = help_line(buf, n, used, lines, count, max, "  %-15s  %s",
					  kt->b[i].names, kt->b[i].help);
	return count;
}

size_t
keys_help(const struct tui *t, char *buf, size_t n, const char **lines, size_t max)
{
	const struct panel *p = t->panel;
	size_t used = 0, count = 0;

	count = help_line(buf, n, &used, lines, count, max, "siprof attach: keys (%s panel)",
			  p->name);
	count = help_line(buf, n, &used, lines, count, max, "panels:");
	for (size_t i = 0; i < tui_n_panels; i++)
		count = help_line(buf, n, &used, lines, count, max, "%s %-15s  %s: %s",
				  tui_panels[i] == p ? "*" : " ", tui_panels[i]->key_names,
				  tui_panels[i]->name, tui_panels[i]->help);
	count = help_table(&global_table, buf, n, &used, lines, count, max);
	for (size_t k = 0; k < ARRAY_SIZE(p->tables) && p->tables[k] != NULL; k++)
		count = help_table(p->tables[k], buf, n, &used, lines, count, max);
	return count;
}
