/* panel-stack.c: the call tree and the flat list, the live view's panels
 * of functions.
 *
 * Tree state (what is expanded, where the cursor is) is kept by path, not
 * by row, so it survives the rebuilds. */
#include "config.h"

#include "panel.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "names.h"
#include "text.h"

static uint64_t
path_of(uint64_t parent, const struct tree_node *n)
{
	return hash_mix(parent ^ hash_mix(((uint64_t)n->function << 32) | n->module));
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
release_model(struct tui *t)
{
	tree_free(t->tree);
	t->tree = NULL;
	func_table_release(&t->flat);
	t->n_rows = 0;
	t->total = 0;
}

/* Keep the cursor on the same node. */
static void
keep_cursor(struct tui *t)
{
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
}

static void
tree_build(struct tui *t)
{
	struct selection sel;

	live_selection(t->r, &t->view, &sel);
	release_model(t);
	t->tree = analyze_tree(&t->r->prof, &sel, &t->total);
	tree_sort(t->tree);
	/* Until the user takes over the tree, follow the hot spot. */
	if (t->follow && t->total > 0) {
		hashmap_release(&t->expanded);
		expand_hottest(t, t->tree, 0);
	}
	tree_rows(t, t->tree, 0, 0);
	keep_cursor(t);
}

/* The callers of t->callee: from it out to the roots, each sample that
 * went through it once (at its innermost call, for recursion). */
#define CALLERS_DEPTH 1024

static struct tree_node *
caller_of(const struct profile *p, struct tree_node *parent, const struct pframe *f)
{
	uint64_t key = profile_func_key(p, f->function, f->module);
	struct tree_node *c;

	for (size_t i = 0; i < parent->n; i++)
		if (profile_func_key(p, parent->children[i]->function,
				     parent->children[i]->module) == key)
			return parent->children[i];
	c = xcalloc(1, sizeof *c);
	c->function = f->function;
	c->module = f->module;
	c->file = f->file;
	c->line = f->line;
	GROW(parent->children, parent->cap, parent->n + 1);
	parent->children[parent->n++] = c;
	return c;
}

static void
callers_build(struct tui *t)
{
	const struct profile *p = &t->r->prof;
	uint64_t want = profile_func_key(p, t->callee, t->callee_module);
	struct selection sel;
	uint32_t frames[CALLERS_DEPTH];

	live_selection(t->r, &t->view, &sel);
	release_model(t);
	t->tree = xcalloc(1, sizeof *t->tree);
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct psample *ps = &p->samples[i];
		struct tree_node *node = t->tree;
		size_t depth, k;

		if (!selection_match(p, &sel, ps))
			continue;
		t->total += ps->value;
		depth = stack_frames(p, ps->stack, frames, ARRAY_SIZE(frames));
		for (k = 0; k < depth; k++)
			if (profile_func_key(p, p->frames[frames[k]].function,
					     p->frames[frames[k]].module) == want)
				break;
		if (k == depth)
			continue;
		for (; k < depth; k++) {
			node = caller_of(p, node, &p->frames[frames[k]]);
			node->total += ps->value;
			node->total_count += ps->count;
		}
		/* The outermost frame: where the chain of callers starts. */
		node->self += ps->value;
		node->self_count += ps->count;
	}
	tree_sort(t->tree);
	if (t->follow && t->total > 0) {
		hashmap_release(&t->expanded);
		expand_hottest(t, t->tree, 0);
	}
	tree_rows(t, t->tree, 0, 0);
	keep_cursor(t);
}

static void
flat_build(struct tui *t)
{
	struct selection sel;

	live_selection(t->r, &t->view, &sel);
	release_model(t);
	analyze_functions(&t->r->prof, &sel, t->view.by_line, t->view.sort_total, &t->flat);
	t->total = t->flat.total;
	for (size_t i = 0; i < t->flat.n; i++) {
		const struct func_stat *f = &t->flat.funcs[i];

		if (t->search[0] != '\0' && !name_matches(t, f->function))
			continue;
		add_row(t, (struct row){ .func = f, .path = ((uint64_t)f->function << 32) ^
					 ((uint64_t)f->file << 16) ^ (uint64_t)f->line,
					 .match = name_matches(t, f->function) });
	}
	keep_cursor(t);
}

bool
stack_search(struct tui *t)
{
	if (t->search[0] != '\0')
		t->follow = false;
	if (t->tree != NULL && t->search[0] != '\0' && !expand_matches(t, t->tree, 0))
		return false;
	return true;
}

/* "function (file:line) [module]" in buf, in width bytes when it can be:
 * a long name has its template arguments collapsed (*shortened says so). */
static void
format_function(const struct tui *t, uint32_t function, uint32_t file, int32_t line,
		uint32_t module, size_t width, char *buf, size_t n, bool *shortened)
{
	const struct profile *p = &t->r->prof;
	const char *f = profile_str(p, file), *name = profile_str(p, function), *shown;
	char rest[600], shortbuf[1024];
	size_t len = 0;

	len = format_frame_where(rest, sizeof rest, f, line,
				 module != 0 ? profile_str(p, p->modules[module].path) : NULL);
	shown = names_short(name, width > len + 24 ? width - len : 24, shortbuf, sizeof shortbuf);
	*shortened = shown != name;
	snprintf(buf, n, "%s%s", text_safe(shown), rest);
}

/* The third column: thread-samples, or bytes on a memory tab ("12.3M"). */
static void
format_count(const struct tui *t, uint64_t v, char *buf, size_t n)
{
	static const char units[] = "BKMGT";
	double b = (double)v;
	size_t u = 0;

	if (!live_memory_tab(t->view.cls)) {
		snprintf(buf, n, "%8llu", (unsigned long long)v);
		return;
	}
	while (b >= 1024 && u + 1 < sizeof units - 1) {
		b /= 1024;
		u++;
	}
	snprintf(buf, n, u == 0 ? "%7.0f%c" : "%7.1f%c", b, units[u]);
}

/* Row i's columns (prefix) and text, fitted to the screen's width. */
static void
format_row(const struct tui *t, size_t i, char *prefix, size_t plen, char *text, size_t tlen,
	   bool *shortened)
{
	const struct row *rw = &t->rows[i];
	char count[32];
	size_t width;

	if (rw->func != NULL) {
		const struct func_stat *f = rw->func;

		format_count(t, t->view.sort_total ? f->total : f->self, count, sizeof count);
		snprintf(prefix, plen, "%6.1f%% %6.1f%% %s  ", tui_pct(f->self, t->total),
			 tui_pct(f->total, t->total), count);
		width = (size_t)COLS > strlen(prefix) ? (size_t)COLS - strlen(prefix) : 0;
		format_function(t, f->function, f->file, f->line, f->module, width, text, tlen,
				shortened);
	} else {
		const struct tree_node *n = rw->node;
		char fn[1000];

		format_count(t, n->total, count, sizeof count);
		snprintf(prefix, plen, "%6.1f%% %6.1f%% %s  ", tui_pct(n->total, t->total),
			 tui_pct(n->self, t->total), count);
		width = strlen(prefix) + (size_t)rw->depth * 2 + 2;
		width = (size_t)COLS > width ? (size_t)COLS - width : 0;
		format_function(t, n->function, n->file, n->line, n->module, width, fn, sizeof fn,
				shortened);
		snprintf(text, tlen, "%*s%s %s", rw->depth * 2, "",
			 rw->has_children ? (rw->expanded ? "\u25be" : "\u25b8") : " ", fn);
	}
}

/* The cursor's function in whole, for a line of its own,
 * when its row shows it shortened. */
static void
cursor_fullname(const struct tui *t, char *buf, size_t n)
{
	char text[1024], prefix[64];
	bool shortened = false;

	buf[0] = '\0';
	if (t->cursor >= t->n_rows)
		return;
	format_row(t, t->cursor, prefix, sizeof prefix, text, sizeof text, &shortened);
	if (shortened) {
		const struct row *rw = &t->rows[t->cursor];
		uint32_t fn = rw->func != NULL ? rw->func->function : rw->node->function;

		snprintf(buf, n, "%s",
			 text_safe(profile_str(&t->r->prof, fn)));
	}
}

/* The nearest row above row i with less depth: its parent. */
static size_t
parent_row(const struct tui *t, size_t i)
{
	for (size_t k = i; k-- > 0;)
		if (t->rows[k].depth < t->rows[i].depth)
			return k;
	return i;
}

/* The first row shown. The list scrolls only when the user moves the
 * cursor, or to keep the row the user put it on in sight: following the
 * hot spot (after a class, a window, a panel changed) keeps the roots on
 * the screen and the cursor on the deepest node of the hottest path that
 * fits. True when the cursor moved for it. */
static bool
place(struct tui *t, int height)
{
	size_t was = t->cursor;

	if (t->follow || t->n_rows == 0) {
		t->top = 0;
		while (t->cursor >= (size_t)height && t->cursor < t->n_rows) {
			size_t up = parent_row(t, t->cursor);

			if (up == t->cursor)
				break;
			t->cursor = up;
		}
		if (t->cursor >= (size_t)height)
			t->cursor = (size_t)height - 1;
		if (t->cursor < t->n_rows)
			t->cursor_path = t->rows[t->cursor].path;
	} else {
		t->top = tui_scroll(t->cursor, t->top, height);
		/* Rows that went away leave no blank screen below the last. */
		if (t->top > 0 && t->top + (size_t)height > t->n_rows)
			t->top = t->n_rows > (size_t)height ? t->n_rows - (size_t)height : 0;
	}
	return t->cursor != was;
}

/* The rows, and below them the cursor's function in whole when its row
 * shows it shortened. */
static void
stack_draw(struct tui *t, int height, const char *columns)
{
	const int first = t->body + 1;
	char text[1024], prefix[64], full[1024];
	bool shortened = false;

	char head[160];
	const char *unit = strstr(columns, "samples");

	/* The memory tabs count bytes. */
	if (unit != NULL && live_memory_tab(t->view.cls))
		snprintf(head, sizeof head, "%.*s  bytes%s", (int)(unit - columns), columns,
			 unit + strlen("samples"));
	else
		snprintf(head, sizeof head, "%s", columns);
	move(t->body, 0);
	clrtoeol();
	tui_put(t->body, 0, A_UNDERLINE, head);
	cursor_fullname(t, full, sizeof full);
	if (full[0] != '\0' && height > 1) {
		height--;
		tui_put(first + height, 0, 0, full);
	}
	if (height < 1)
		return;
	if (place(t, height))
		cursor_fullname(t, full, sizeof full);
	for (int y = 0; y < height; y++) {
		size_t i = t->top + (size_t)y;
		int attr = 0;

		move(first + y, 0);
		clrtoeol();
		if (i >= t->n_rows) {
			if (i == 0)
				tui_put(first, 2, A_DIM, t->total ? "(nothing matches)"
					: live_memory_tab(t->view.cls)
						? "(no allocations probed yet in this window: "
						  "5 shows the probing)"
						: "(no samples yet in this window and class)");
			continue;
		}
		format_row(t, i, prefix, sizeof prefix, text, sizeof text, &shortened);
		if (i == t->cursor)
			attr = tui_color(t, C_SEL, A_BOLD);
		else if (t->rows[i].match)
			attr = tui_color(t, C_MATCH, A_BOLD);
		attron(attr);
		mvaddnstr(first + y, 0, prefix, tui_bytes(prefix, COLS));
		if ((int)strlen(prefix) < COLS)
			addnstr(text, tui_bytes(text, COLS - (int)strlen(prefix)));
		if (i == t->cursor) /* the whole line, for a visible bar */
			for (int x = getcurx(stdscr); x < COLS && x > 0; x++)
				addch(' ');
		attroff(attr);
	}
}

static void
tree_draw(struct tui *t, int height)
{
	stack_draw(t, height, " total%   self%  samples  function (file:line) [module]");
}

static void
callers_draw(struct tui *t, int height)
{
	stack_draw(t, height, " total%  start%  samples  function <- its callers (file:line) [module]");
}

static const char *
callers_describe(const struct tui *t)
{
	static char buf[96];

	snprintf(buf, sizeof buf, "callers of %.60s",
		 text_safe(profile_str(&t->r->prof, t->callee)));
	return buf;
}

static void
flat_draw(struct tui *t, int height)
{
	stack_draw(t, height, "  self%  total%  samples  function (file:line) [module]");
}

static void
stack_move(struct tui *t, long delta)
{
	long c = (long)t->cursor + delta;

	t->follow = false;
	if (t->n_rows == 0)
		return;
	c = c < 0 ? 0 : c >= (long)t->n_rows ? (long)t->n_rows - 1 : c;
	t->cursor = (size_t)c;
	t->cursor_path = t->rows[t->cursor].path;
}

static const char *
flat_describe(const struct tui *t)
{
	static const char *const names[2][2] = {
		{ "list by self", "list by total" },
		{ "lines by self", "lines by total" },
	};

	return names[t->view.by_line][t->view.sort_total];
}

/* Keys of the tree. */

static bool
key_expand(struct tui *t, int ch)
{
	(void)ch;
	t->follow = false;
	if (t->cursor < t->n_rows && t->rows[t->cursor].has_children) {
		hashmap_put(&t->expanded, t->rows[t->cursor].path, (void *)1);
		return true;
	}
	return false;
}

static bool
key_fold(struct tui *t, int ch)
{
	(void)ch;
	t->follow = false;
	if (t->cursor >= t->n_rows)
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
}

static bool
key_hottest(struct tui *t, int ch)
{
	(void)ch;
	t->follow = false;
	if (t->cursor < t->n_rows) {
		hashmap_put(&t->expanded, t->rows[t->cursor].path, (void *)1);
		expand_hottest(t, t->rows[t->cursor].node, t->rows[t->cursor].path);
	} else if (t->tree != NULL) {
		expand_hottest(t, t->tree, 0);
	}
	return true;
}

static bool
key_collapse(struct tui *t, int ch)
{
	(void)ch;
	t->follow = false;
	hashmap_release(&t->expanded);
	t->cursor = 0;
	if (t->n_rows > 0)
		t->cursor_path = t->rows[0].path;
	return true;
}

static bool
key_to_flat(struct tui *t, int ch)
{
	(void)ch;
	t->cursor = 0;
	tui_show(t, &panel_flat);
	return true;
}

/* The callers of the function under the cursor, in the tree, the list
 * or the callers themselves. */
static bool
key_callers(struct tui *t, int ch)
{
	const struct row *rw;

	(void)ch;
	if (t->cursor >= t->n_rows)
		return false;
	rw = &t->rows[t->cursor];
	t->callee = rw->func != NULL ? rw->func->function : rw->node->function;
	t->callee_module = rw->func != NULL ? rw->func->module : rw->node->module;
	if (t->panel != &panel_callers)
		t->callers_from = t->panel;
	t->follow = true;
	t->cursor = 0;
	tui_show(t, &panel_callers);
	return true;
}

static bool
key_callers_back(struct tui *t, int ch)
{
	(void)ch;
	t->follow = true;
	t->cursor = 0;
	tui_show(t, t->callers_from != NULL ? t->callers_from : &panel_tree);
	return true;
}

/* Keys of the flat list. */

static bool
key_sort(struct tui *t, int ch)
{
	(void)ch;
	t->view.sort_total = !t->view.sort_total;
	return true;
}

static bool
key_lines(struct tui *t, int ch)
{
	(void)ch;
	t->view.by_line = !t->view.by_line;
	return true;
}

static bool
key_to_tree(struct tui *t, int ch)
{
	(void)ch;
	t->cursor = 0;
	tui_show(t, &panel_tree);
	return true;
}

/* The search, in both. */

static bool
key_search(struct tui *t, int ch)
{
	(void)ch;
	t->mode = MODE_SEARCH;
	t->input[0] = '\0';
	t->input_at = 0;
	return false;
}

static bool
key_next_match(struct tui *t, int ch)
{
	(void)ch;
	for (size_t k = 1; k <= t->n_rows; k++) {
		size_t i = (t->cursor + k) % t->n_rows;

		if (t->rows[i].match) {
			t->cursor = i;
			t->cursor_path = t->rows[i].path;
			break;
		}
	}
	return false;
}

static bool
key_clear_search(struct tui *t, int ch)
{
	(void)ch;
	t->search[0] = '\0';
	return true;
}

static const struct key_binding tree_keys[] = {
	{ { KEY_RIGHT, '\n', KEY_ENTER }, "Right, Enter", "expand",
	  "expand the node under the cursor", key_expand },
	{ { KEY_LEFT }, "Left", "fold", "collapse it, or go to its parent", key_fold },
	{ { 'e' }, "e", "hottest", "expand the hottest path below the cursor", key_hottest },
	{ { 'c' }, "c", "collapse", "collapse everything", key_collapse },
	{ { 'v', KEY_F(5) }, "v, F5", "list", "the flat list instead", key_to_flat },
	{ { 'p' }, "p", "callers", "the callers of the function under the cursor", key_callers },
};

static const struct key_binding callers_keys[] = {
	{ { KEY_RIGHT, '\n', KEY_ENTER }, "Right, Enter", "expand",
	  "expand the node under the cursor: its callers", key_expand },
	{ { KEY_LEFT }, "Left", "fold", "collapse it, or go to its parent", key_fold },
	{ { 'e' }, "e", "hottest", "expand the hottest path below the cursor", key_hottest },
	{ { 'p' }, "p", "callers", "the callers of the function under the cursor", key_callers },
	{ { 27, 'v', KEY_F(5) }, "Esc, v, F5", "back", "back to the tree or the list",
	  key_callers_back },
};

static const struct key_binding flat_keys[] = {
	{ { 's', KEY_F(6) }, "s, F6", "sort", "sort by self or by total", key_sort },
	{ { 'l' }, "l", "lines", "functions or source lines", key_lines },
	{ { 'v', KEY_F(5) }, "v, F5", "tree", "the call tree instead", key_to_tree },
	{ { 'p' }, "p", "callers", "the callers of the function under the cursor", key_callers },
};

static const struct key_binding search_keys[] = {
	{ { '/', KEY_F(3) }, "/, F3", "search", "search functions by name (Esc cancels)",
	  key_search },
	{ { 'n' }, "n", NULL, "the next match", key_next_match },
	{ { 27 }, "Esc", NULL, "clear the search", key_clear_search },
};

static const struct key_table tree_table = KEY_TABLE("in the tree", tree_keys);
static const struct key_table flat_table = KEY_TABLE("in the list", flat_keys);
static const struct key_table search_table = KEY_TABLE("search", search_keys);
static const struct key_table callers_table = KEY_TABLE("in the callers", callers_keys);

const struct panel panel_tree = {
	.name = "tree",
	.keys = { '1' },
	.key_names = "1",
	.help = "the call tree, the hottest path expanded",
	.build = tree_build,
	.draw = tree_draw,
	.move_cursor = stack_move,
	.tables = { &tree_table, &search_table, &keys_move },
};

const struct panel panel_flat = {
	.name = "list",
	.keys = { '2' },
	.key_names = "2",
	.help = "functions or source lines, by self or total",
	.build = flat_build,
	.draw = flat_draw,
	.move_cursor = stack_move,
	.describe = flat_describe,
	.tables = { &flat_table, &search_table, &keys_move },
};

/* Not among tui_panels[]: p opens it on the function under the cursor. */
const struct panel panel_callers = {
	.name = "callers",
	.key_names = "p",
	.help = "the callers of a function, from it out to the roots",
	.build = callers_build,
	.draw = callers_draw,
	.move_cursor = stack_move,
	.describe = callers_describe,
	.tables = { &callers_table, &keys_move },
};
