/* panel-list.c: the classes and the threads, the live view's pickers:
 * each lists what the window holds, and Enter shows the tree or the list
 * it was opened from for the class or the thread under the cursor; and
 * the memory panel of attach --alloc: the probing, the leak suspects. */
#include "config.h"

#include "panel.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "profile.h"
#include "ptypes.h"
#include "text.h"

static const char *
class_label(int cls)
{
	return cls < 0 ? "wall" : class_name((enum sample_class)cls);
}

/* The window's threads (or the picked one), with every class. */
static void
load_threads(struct tui *t, uint32_t tid)
{
	struct selection sel;

	live_selection(t->r, &t->view, &sel);
	sel.tid = tid;
	sel.cls = -1;
	sel.type = PT_SAMPLES;
	thread_table_release(&t->threads);
	analyze_threads(&t->r->prof, &sel, &t->threads);
}

static void
list_row(const struct tui *t, int y, bool selected, const char *text)
{
	int attr = selected ? tui_color(t, C_SEL, A_BOLD) : 0;

	move(y, 0);
	clrtoeol();
	attron(attr);
	mvaddnstr(y, 0, text, tui_bytes(text, COLS));
	if (selected)
		for (int x = getcurx(stdscr); x < COLS && x > 0; x++)
			addch(' ');
	attroff(attr);
}

static void
list_move(struct tui *t, long delta, size_t n)
{
	long c = (long)t->pick + delta;

	c = c < 0 ? 0 : c >= (long)n ? (long)n - 1 : c;
	t->pick = c < 0 ? 0 : (size_t)c;
}

/* The classes: one row per tab (CPU, Wall, then each blocking class with
 * samples), with its share of the thread-samples, its threads and the one
 * with most samples in it. */

static void
classes_open(struct tui *t)
{
	t->pick = 0;
	for (int i = 0; i < t->n_class_tabs; i++)
		if (t->tabs[i] == t->view.cls)
			t->pick = (size_t)i;
}

static void
classes_build(struct tui *t)
{
	load_threads(t, t->view.tid);
	if (t->pick >= (size_t)t->n_class_tabs)
		t->pick = t->n_class_tabs > 0 ? (size_t)t->n_class_tabs - 1 : 0;
}

static void
classes_draw(struct tui *t, int height)
{
	char line[512], most[256];

	move(t->body, 0);
	clrtoeol();
	tui_put(t->body, 0, A_UNDERLINE, "  class      share   samples  threads  most samples in it");
	t->pick_top = tui_scroll(t->pick, t->pick_top, height);
	for (int y = 0; y < height; y++) {
		size_t i = t->pick_top + (size_t)y;
		const struct thread_stat *busiest = NULL;
		size_t threads = 0;
		int c;

		if (i >= (size_t)t->n_class_tabs) {
			move(t->body + 1 + y, 0);
			clrtoeol();
			continue;
		}
		c = t->tabs[i];
		for (size_t k = 0; k < t->threads.n; k++) {
			const struct thread_stat *s = &t->threads.threads[k];
			uint64_t v = c < 0 ? s->total : s->by_class[c];
			uint64_t best = busiest == NULL ? 0 : c < 0 ? busiest->total
							    : busiest->by_class[c];

			if (v == 0)
				continue;
			threads++;
			if (v > best)
				busiest = s;
		}
		most[0] = '\0';
		if (busiest != NULL)
			snprintf(most, sizeof most, "%u %s", busiest->tid,
				 text_safe(profile_thread_name(&t->r->prof, busiest->tid)));
		snprintf(line, sizeof line, "  %-8s %6.1f%%  %8llu  %7zu  %s", class_label(c),
			 tui_pct(t->tab_count[i], t->class_total),
			 (unsigned long long)t->tab_count[i], threads, most);
		list_row(t, t->body + 1 + y, i == t->pick, line);
	}
}

static void
classes_move(struct tui *t, long delta)
{
	list_move(t, delta, (size_t)t->n_class_tabs);
}

static bool
key_pick_class(struct tui *t, int ch)
{
	(void)ch;
	if (t->pick < (size_t)t->n_class_tabs) {
		t->view.cls = t->tabs[t->pick];
		t->follow = true;
	}
	tui_back(t);
	return true;
}

/* The threads: all of them, then each one, busiest on a CPU first when
 * the panel opens; the rows keep that order while it is open. */

static int
cmp_cpu(const void *a, const void *b)
{
	const struct thread_stat *x = a, *y = b;

	if (x->by_class[CLASS_CPU] != y->by_class[CLASS_CPU])
		return x->by_class[CLASS_CPU] < y->by_class[CLASS_CPU] ? 1 : -1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Rows in the order they had, new threads after them, busiest first. */
static int
cmp_order(const void *a, const void *b, void *arg)
{
	const struct hashmap *order = arg;
	uintptr_t x = (uintptr_t)hashmap_get(order, ((const struct thread_stat *)a)->tid);
	uintptr_t y = (uintptr_t)hashmap_get(order, ((const struct thread_stat *)b)->tid);

	if (x != y)
		return x == 0 ? 1 : y == 0 ? -1 : x < y ? -1 : 1;
	return cmp_cpu(a, b);
}

static uint32_t
thread_at(const struct tui *t, size_t pick)
{
	return pick == 0 || pick > t->threads.n ? 0 : t->threads.threads[pick - 1].tid;
}

static void
threads_open(struct tui *t)
{
	t->pick = 0;
	t->pick_top = 0;
	t->pick_tid = t->view.tid;
	hashmap_release(&t->order);
	t->n_order = 0;
}

static void
threads_build(struct tui *t)
{
	load_threads(t, 0);
	if (t->threads.n > 1)
		qsort_r(t->threads.threads, t->threads.n, sizeof *t->threads.threads, cmp_order,
			&t->order);
	for (size_t i = 0; i < t->threads.n; i++)
		if (hashmap_get(&t->order, t->threads.threads[i].tid) == NULL)
			hashmap_put(&t->order, t->threads.threads[i].tid,
				    (void *)(uintptr_t)++t->n_order);
	/* The cursor stays on its thread as the order changes. */
	t->pick = 0;
	for (size_t i = 0; i < t->threads.n; i++)
		if (t->threads.threads[i].tid == t->pick_tid)
			t->pick = i + 1;
}

/* "wait 97% cpu 3%": the thread's classes, largest first, as many as fit. */
static void
thread_classes(const struct thread_stat *s, char *buf, size_t n)
{
	bool used[CLASS_COUNT] = { false };
	size_t len = 0;

	buf[0] = '\0';
	for (int k = 0; k < 3 && len < n; k++) {
		int best = -1;

		for (int c = 0; c < CLASS_COUNT; c++)
			if (!used[c] && s->by_class[c] > 0 &&
			    (best < 0 || s->by_class[c] > s->by_class[best]))
				best = c;
		if (best < 0)
			break;
		used[best] = true;
		len += (size_t)snprintf(buf + len, n - len, "%s%s %.0f%%", k ? " " : "",
					class_name((enum sample_class)best),
					tui_pct(s->by_class[best], s->total));
	}
}

static void
threads_draw(struct tui *t, int height)
{
	char line[512], classes[128];

	move(t->body, 0);
	clrtoeol();
	tui_put(t->body, 0, A_UNDERLINE, "   tid      thread                 cpu share   samples  classes");
	t->pick_top = tui_scroll(t->pick, t->pick_top, height);
	for (int y = 0; y < height; y++) {
		size_t i = t->pick_top + (size_t)y;

		if (i == 0) {
			snprintf(line, sizeof line, "   all threads %31llu",
				 (unsigned long long)t->threads.total);
		} else if (i - 1 < t->threads.n) {
			const struct thread_stat *s = &t->threads.threads[i - 1];

			thread_classes(s, classes, sizeof classes);
			snprintf(line, sizeof line, "   %-8u %-20s %6.1f%%  %8llu  %s", s->tid,
				 text_safe(profile_thread_name(&t->r->prof, s->tid)),
				 tui_pct(s->by_class[CLASS_CPU], t->threads.by_class[CLASS_CPU]),
				 (unsigned long long)s->total, classes);
		} else {
			move(t->body + 1 + y, 0);
			clrtoeol();
			continue;
		}
		list_row(t, t->body + 1 + y, i == t->pick, line);
	}
}

static void
threads_move(struct tui *t, long delta)
{
	list_move(t, delta, t->threads.n + 1);
	t->pick_tid = thread_at(t, t->pick);
}

static bool
key_pick_thread(struct tui *t, int ch)
{
	(void)ch;
	t->view.tid = thread_at(t, t->pick);
	tui_back(t);
	return true;
}

static bool
key_back(struct tui *t, int ch)
{
	(void)ch;
	tui_back(t);
	return true;
}

static const struct key_binding classes_keys[] = {
	{ { '\n', KEY_ENTER }, "Enter", "pick", "the tree or list of this class", key_pick_class },
	{ { 27 }, "Esc", "back", "back, the class unchanged", key_back },
};

static const struct key_binding threads_keys[] = {
	{ { '\n', KEY_ENTER }, "Enter", "pick",
	  "the tree or list of this thread (or all)",
	  key_pick_thread },
	{ { 27 }, "Esc", "back", "back, the thread unchanged", key_back },
};

/* The memory panel: how the probing goes, what the window's probes saw,
 * then the leak suspects, fastest growth first. */
#define MEMORY_HEAD_ROWS 3

static void
memory_open(struct tui *t)
{
	t->pick = 0;
	t->pick_top = 0;
}

static void
memory_build(struct tui *t)
{
	free(t->leaks);
	t->leaks = NULL;
	t->n_leaks = 0;
	live_memory(t->r, &t->view, &t->mem);
	if (t->mem.on)
		t->n_leaks = recorder_leaks(t->r, &t->leaks);
	if (t->pick >= t->n_leaks)
		t->pick = t->n_leaks > 0 ? t->n_leaks - 1 : 0;
}

static void
memory_draw(struct tui *t, int height)
{
	const struct live_memory *m = &t->mem;
	char line[1400], ab[32], ib[32], rate[32], live[32], site[1200];
	int y = t->body;

	for (int k = 0; k <= height; k++) {
		move(t->body + k, 0);
		clrtoeol();
	}
	if (!m->on) {
		tui_put(y, 2, A_DIM, "allocations are not profiled: attach with --alloc to probe "
				     "malloc and free");
		return;
	}
	format_bytes((double)m->alloc_bytes, ab, sizeof ab);
	format_bytes((double)m->inuse_bytes, ib, sizeof ib);
	snprintf(line, sizeof line, "probing (%s): %s", m->stats.mechanism, m->probing);
	tui_put(y++, 0, 0, line);
	snprintf(line, sizeof line, "%s: %s allocated in %llu objects, %s of them not freed by "
		 "their window's end (%llu objects)", live_window_name(t->view.window), ab,
		 (unsigned long long)m->alloc_objects, ib, (unsigned long long)m->inuse_objects);
	tui_put(y++, 0, 0, line);
	if (m->error[0] != '\0') {
		snprintf(line, sizeof line, "probing ended: %s", text_safe(m->error));
		tui_put(y, 0, tui_color(t, C_WARN, A_BOLD), line);
	}
	y++;
	if (height <= MEMORY_HEAD_ROWS)
		return;
	tui_put(y, 0, A_UNDERLINE, "  growth/min  not freed  windows  leak suspect (file:line) [module]");
	height -= MEMORY_HEAD_ROWS;
	if (t->n_leaks == 0) {
		snprintf(line, sizeof line, "(no leak suspects: no call site's allocations not freed "
			 "kept rising, over %u windows)", m->stats.windows);
		tui_put(y + 1, 2, A_DIM, line);
		return;
	}
	t->pick_top = tui_scroll(t->pick, t->pick_top, height);
	for (int k = 0; k < height; k++) {
		size_t i = t->pick_top + (size_t)k;
		const struct recorder_leak *l = &t->leaks[i];

		if (i >= t->n_leaks)
			break;
		format_bytes(l->bytes_per_s * 60, rate, sizeof rate);
		format_bytes((double)l->live_bytes, live, sizeof live);
		live_leak_site(t->r, l, site, sizeof site);
		snprintf(line, sizeof line, "  %10s %10s %8u  %s", rate, live, l->windows, site);
		list_row(t, y + 1 + k, i == t->pick, line);
	}
}

static void
memory_move(struct tui *t, long delta)
{
	list_move(t, delta, t->n_leaks);
}

/* Enter: the In use tree, where the suspect's bytes are by call stack. */
static bool
key_memory_tree(struct tui *t, int ch)
{
	(void)ch;
	if (!t->mem.on)
		return false;
	t->view.cls = LIVE_INUSE;
	t->follow = true;
	t->back = NULL;
	tui_show(t, &panel_tree);
	return true;
}

static const struct key_binding memory_keys[] = {
	{ { '\n', KEY_ENTER }, "Enter", "tree", "the tree of the bytes not freed (In use)",
	  key_memory_tree },
	{ { 27 }, "Esc", "back", "back to the panel it was opened from", key_back },
};

static const struct key_table memory_table = KEY_TABLE("in the memory panel", memory_keys);

static const struct key_table classes_table = KEY_TABLE("in the classes", classes_keys);
static const struct key_table threads_table = KEY_TABLE("in the threads", threads_keys);

const struct panel panel_classes = {
	.name = "classes",
	.keys = { '3' },
	.key_names = "3",
	.help = "each class: its share, threads, the busiest",
	.build = classes_build,
	.draw = classes_draw,
	.move_cursor = classes_move,
	.open = classes_open,
	.picker = true,
	.tables = { &classes_table, &keys_move },
};

const struct panel panel_threads = {
	.name = "threads",
	.keys = { '4', 't' },
	.key_names = "4, t",
	.help = "each thread: CPU share, classes; pick one",
	.build = threads_build,
	.draw = threads_draw,
	.move_cursor = threads_move,
	.open = threads_open,
	.picker = true,
	.tables = { &threads_table, &keys_move },
};

const struct panel panel_memory = {
	.name = "memory",
	.keys = { '5', 'm' },
	.key_names = "5, m",
	.help = "attach --alloc: the probing, what it saw, the leak suspects",
	.build = memory_build,
	.draw = memory_draw,
	.move_cursor = memory_move,
	.open = memory_open,
	.picker = true,
	.tables = { &memory_table, &keys_move },
};
