/* tui.c: the live view, drawn with ncursesw: the terminal, the loop, and
 * what every panel has around it (the header, the class tabs, the detail
 * line of a picked thread, the footer and the help screen).
 *
 * The screen is rebuilt from the profile once a second and after every
 * key; ncurses sends only what changed, so nothing flickers. The panels
 * are in panel-*.c, the keys in keys.c. */
#include "config.h"

#include "tui.h"
#include "panel.h"

#include <curses.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "hashmap.h"
#include "names.h"
#include "procfs.h"
#include "signals.h"
#include "syscalls.h"
#include "text.h"
#include "tracer.h"
#include "util.h"

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

/* The detail line of the picked thread: its state, the call it is blocked
 * in and what that call waits on (a socket's addresses, a file, a pipe,
 * an epoll set), read from /proc at most once a second. The thread's last
 * stack says whether a futex is lock or wait, and what a restart_syscall
 * continues: a poll that a stop interrupted goes on as restart_syscall
 * with its arguments where they were. */
static void
thread_detail(struct tui *t)
{
	struct recorder *r = t->r;
	uint32_t tid = t->view.tid;
	struct task_stat st;
	struct task_syscall sc;
	struct fd_wait w;
	char fds[768], nr[32], note[32] = "";
	const char *call;
	size_t len;

	if (tid == t->detail_tid && now_ns() - t->detail_ns < 1000000000u)
		return;
	t->detail_tid = tid;
	t->detail_ns = now_ns();
	t->detail[0] = '\0';
	if (tid == 0)
		return;
	if (!procfs_task_stat(recorder_thread_pid(r, (pid_t)tid), (pid_t)tid, &st) ||
	    !procfs_task_syscall(recorder_thread_pid(r, (pid_t)tid), (pid_t)tid, &sc)) {
		snprintf(t->detail, sizeof t->detail, "thread %u has exited", tid);
		return;
	}
	len = (size_t)snprintf(t->detail, sizeof t->detail, "thread %u %s: ", tid,
			       text_safe(st.comm));
	if (st.state == 'R' || sc.nr == SYSCALL_RUNNING) {
		snprintf(t->detail + len, sizeof t->detail - len, "running");
		return;
	}
	if (sc.nr == SYSCALL_NONE) {
		snprintf(t->detail + len, sizeof t->detail - len, "blocked outside a system call");
		return;
	}
	if (sc.nr == SYS_futex || sc.nr == SYS_restart_syscall) {
		uint32_t v = recorder_last_stack(r, (pid_t)tid);
		const char *fn[CLASS_REFINE_FRAMES];
		size_t n = v ? profile_stack_functions(&r->prof, v - 1, fn, ARRAY_SIZE(fn)) : 0;
		enum sample_class cls = class_refine(sc.nr == SYS_futex ? CLASS_LOCK : CLASS_SLEEP,
						     (int)sc.nr, fn, n);

		if (sc.nr == SYS_restart_syscall && cls == CLASS_POLL) {
			sc.nr = SYS_poll;
			snprintf(note, sizeof note, " (restarted)");
		} else if (n > 0) {
			snprintf(note, sizeof note, " (%s)", class_name(cls));
		}
	}
	if ((call = syscall_name(sc.nr)) == NULL) {
		snprintf(nr, sizeof nr, "syscall %ld", sc.nr);
		call = nr;
	}
	len += (size_t)snprintf(t->detail + len, sizeof t->detail - len, "in %s%s", call, note);
	if (len < sizeof t->detail && procfs_fd_wait(r->pid, &sc, &w)) {
		procfs_fd_wait_text(&w, fds, sizeof fds);
		snprintf(t->detail + len, sizeof t->detail - len, ", waits on %s", text_safe(fds));
	}
}

const struct panel *const tui_panels[] = { &panel_tree, &panel_flat, &panel_classes,
					  &panel_threads };
const size_t tui_n_panels = ARRAY_SIZE(tui_panels);

void
tui_show(struct tui *t, const struct panel *p)
{
	if (p->picker && !t->panel->picker)
		t->back = t->panel;
	t->panel = p;
	if (p->open != NULL)
		p->open(t);
}

void
tui_back(struct tui *t)
{
	t->panel = t->back != NULL ? t->back : tui_panels[0];
}

void
tui_message(struct tui *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->message, sizeof t->message, fmt, ap);
	va_end(ap);
	t->message_until = now_ns() + 4000000000u;
}

void
tui_put(int y, int x, int attr, const char *s)
{
	if (y >= LINES || x >= COLS)
		return;
	attron(attr);
	mvaddnstr(y, x, s, COLS - x);
	attroff(attr);
}

double
tui_pct(uint64_t a, uint64_t b)
{
	return format_share(a, b);
}

size_t
tui_scroll(size_t cursor, size_t top, int height)
{
	if (height < 1)
		return cursor;
	if (cursor < top)
		top = cursor;
	if (cursor >= top + (size_t)height)
		top = cursor - (size_t)height + 1;
	return top;
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

	t->panel->build(t);
	thread_detail(t);
	t->last_build = now_ns();
}

static void
draw_header(struct tui *t)
{
	const struct metric_row *m = metrics_last(&t->r->metrics);
	char line[1024], warning[256], spark_cpu[256], spark_rss[256], range[128];
	size_t spark_len;
	bool warn;
	int x;

	live_header(t->r, line, sizeof line, &warn, warning, sizeof warning);
	move(0, 0);
	clrtoeol();
	tui_put(0, 0, COLOR_PAIR(C_HEAD) | A_BOLD, " siprof ");
	tui_put(0, 8, 0, line);
	x = 9 + (int)strlen(line);
	if (t->paused) {
		tui_put(0, x, COLOR_PAIR(C_WARN) | A_BOLD, " PAUSED ");
		x += 9;
	}
	if (warn)
		tui_put(0, x, COLOR_PAIR(C_WARN) | A_BOLD, warning);

	move(1, 0);
	clrtoeol();
	if (m != NULL) {
		char cpu[64], rss[64], rest[512];
		size_t fixed;

		/* Of the CPUs the process may use: not the Cpu tab's share of
		 * thread-samples. */
		snprintf(cpu, sizeof cpu, "CPU %5.1f%% of %g CPUs ", m->cpu_percent,
			 t->r->metrics.capacity);
		snprintf(rss, sizeof rss, "  RSS %.1f MiB ", (double)metrics_rss(m) / (1 << 20));
		snprintf(rest, sizeof rest, "  threads %llu  window: %s  thread: %s  view: %s",
			 (unsigned long long)m->m.threads, live_window_name(t->view.window),
			 t->view.tid ? text_safe(profile_thread_name(&t->r->prof, t->view.tid)) : "all",
			 t->panel->describe ? t->panel->describe(t) : t->panel->name);
		/* The two sparklines share what the text leaves of the line:
		 * up to a minute each, at least a few seconds. */
		live_rss_range(t->r, 60, false, range, sizeof range);
		fixed = strlen(cpu) + strlen(rss) + 1 + strlen(range) + strlen(rest);
		spark_len = COLS > (int)fixed ? ((size_t)COLS - fixed) / 2 : 0;
		spark_len = spark_len < 5 ? 5 : spark_len > 60 ? 60 : spark_len;
		live_spark(t->r, false, spark_len, spark_cpu, sizeof spark_cpu);
		live_spark(t->r, true, spark_len, spark_rss, sizeof spark_rss);
		live_rss_range(t->r, spark_len, false, range, sizeof range);
		tui_put(1, 0, A_BOLD, cpu);
		x = (int)strlen(cpu);
		tui_put(1, x, 0, spark_cpu);
		x += (int)(strlen(spark_cpu) / 3);
		tui_put(1, x, A_BOLD, rss);
		x += (int)strlen(rss);
		tui_put(1, x, 0, spark_rss);
		x += (int)(strlen(spark_rss) / 3);
		snprintf(line, sizeof line, " %s%s", range, rest);
		tui_put(1, x, 0, line);
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
				 name + 1, tui_pct(t->tab_count[i], t->class_total), on ? "]" : " ");
		tui_put(2, x, on ? COLOR_PAIR(C_TAB) | A_BOLD : A_DIM, line);
		x += (int)strlen(line) + 1;
	}
	/* Not the CPU figure above: that one is of the CPUs. */
	snprintf(line, sizeof line, " (of %llu thread-samples)", (unsigned long long)t->class_total);
	tui_put(2, x, A_DIM, line);
}

static void
draw_footer(struct tui *t)
{
	char line[1024], keys[1024];
	int y = LINES - 1;
	size_t width;

	if (t->detail[0] != '\0' && y - 1 > 3) {
		move(y - 1, 0);
		clrtoeol();
		tui_put(y - 1, 0, A_BOLD, t->detail);
	}
	move(y, 0);
	clrtoeol();
	if (t->mode == MODE_SEARCH) {
		snprintf(line, sizeof line, "search: %s", t->input);
		tui_put(y, 0, A_BOLD, line);
		return;
	}
	if (t->mode == MODE_WRITE) {
		snprintf(line, sizeof line, "write the session to: %s", t->input);
		tui_put(y, 0, A_BOLD, line);
		return;
	}
	if (t->message[0] != '\0' && now_ns() < t->message_until) {
		tui_put(y, 0, A_BOLD, t->message);
		return;
	}
	line[0] = '\0';
	if (t->search[0] != '\0')
		snprintf(line, sizeof line, "  [search: %s, n next]", t->search);
	width = COLS > (int)strlen(line) ? (size_t)COLS - strlen(line) : 0;
	keys_footer(t, keys, sizeof keys, width);
	tui_put(y, 0, A_DIM, keys);
	if (line[0] != '\0')
		tui_put(y, COLS - (int)strlen(line) > 0 ? COLS - (int)strlen(line) : 0, A_BOLD, line);
}

static int
widest(const char *const *lines, size_t from, size_t to)
{
	int w = 0;

	for (size_t i = from; i < to; i++)
		if ((int)strlen(lines[i]) > w)
			w = (int)strlen(lines[i]);
	return w;
}

/* The help screen, from the key tables, over the panel; in two columns
 * (split where a section starts) when one is taller than the terminal. */
static void
draw_help(const struct tui *t)
{
	const char *lines[64];
	char buf[8192];
	size_t n = keys_help(t, buf, sizeof buf, lines, ARRAY_SIZE(lines)), split = n;
	int w, w1, h, y0, x0;

	if ((int)n + 2 > LINES) {
		/* At a heading: entries start with a space, or '*' for the panel shown. */
		for (split = (n + 1) / 2; split < n && (lines[split][0] == ' ' || lines[split][0] == '*');
		     split++)
			;
	}
	w1 = widest(lines, 0, split);
	w = w1 + 4 + (split < n ? widest(lines, split, n) + 3 : 0);
	if (w > COLS && split < n) { /* two do not fit: one, cut short */
		split = n;
		w1 = widest(lines, 0, n);
		w = w1 + 4;
	}
	h = (int)(split > n - split ? split : n - split) + 2;
	y0 = (LINES - h) / 2 > 0 ? (LINES - h) / 2 : 0;
	x0 = (COLS - w) / 2 > 0 ? (COLS - w) / 2 : 0;
	for (int y = 0; y < h && y0 + y < LINES; y++) {
		size_t left = (size_t)y - 1, right = split + (size_t)y - 1;

		move(y0 + y, x0);
		attron(COLOR_PAIR(C_HEAD));
		for (int x = 0; x < w && x0 + x < COLS; x++)
			addch(' ');
		if (y > 0 && left < split)
			mvaddnstr(y0 + y, x0 + 2, lines[left], COLS - x0 - 2);
		if (y > 0 && right < n && x0 + w1 + 5 < COLS)
			mvaddnstr(y0 + y, x0 + w1 + 5, lines[right], COLS - x0 - w1 - 5);
		attroff(COLOR_PAIR(C_HEAD));
	}
}

static void
draw(struct tui *t)
{
	/* Below the header and the column line, above the detail line and
	 * the footer. */
	int height = LINES - 4 - 1 - (t->detail[0] != '\0');

	erase();
	draw_header(t);
	t->panel->draw(t, height);
	draw_footer(t);
	if (t->mode == MODE_HELP)
		draw_help(t);
	refresh();
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
		tui_message(t, "%s", *cause);
		return true;
	}
	if (rc != TRACER_OK)
		return false;
	tui_message(t, "suspended for %.1f s: the process was not traced meanwhile",
		    (double)(now_ns() - since) / 1e9);
	return true;
}

/* The longest the intake goes on before the screen is drawn and the keys
 * are read again, and the longest a wait lasts (a stop signal that went to
 * another thread is seen within it). */
#define INTAKE_NS 150000000u
#define WAIT_MAX_MS 200
#define REDRAW_NS 200000000u
#define INTAKE_GAP_MS 25

static bool
fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/* Process what the sampler queued, all of it unless that takes longer
 * than INTAKE_NS; once a second's work is done even with nothing queued. */
static void
intake(struct tui *t)
{
	struct recorder *r = t->r;
	int fd = sampler_notify_fd(r->sampler);
	uint64_t until = now_ns() + INTAKE_NS;

	do {
		char *err = NULL;

		if (!recorder_step(r, 0, &err) && !r->ended) {
			tui_message(t, "recording failed: %s", err ? err : "?");
			free(err);
			return;
		}
	} while (!r->ended && now_ns() < until && fd_readable(fd));
}

/* Wait for a key, for samples, or for the next rebuild, whichever comes
 * first (at most WAIT_MAX_MS). Samples wait for INTAKE_GAP_MS after an
 * intake, keys do not: at 99 Hz the view wakes for every few ticks, not
 * for each one. */
static void
wait_input(struct tui *t, uint64_t intake_ns)
{
	struct pollfd p[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = sampler_notify_fd(t->r->sampler), .events = POLLIN },
	};
	uint64_t now = now_ns(), next = t->last_build + 1000000000u;
	uint64_t gap_end = intake_ns + INTAKE_GAP_MS * 1000000u;
	int ms = next > now ? (int)((next - now) / 1000000u) + 1 : 0;

	if (ms > WAIT_MAX_MS)
		ms = WAIT_MAX_MS;
	if (gap_end > now && !t->r->ended) {
		int gap = (int)((gap_end - now) / 1000000u) + 1;

		if (poll(p, 1, gap < ms ? gap : ms) != 0 || gap >= ms)
			return;
		ms -= gap;
	}
	/* Once sampling ended the eventfd stays readable: keys only. */
	poll(p, t->r->ended ? 1 : 2, ms);
}

bool
tui_run(struct recorder *r, const struct live_view *initial, char **cause)
{
	struct tui t;
	bool rebuild = true, redraw = true, ok = true;
	uint64_t intake_ns = 0;

	memset(&t, 0, sizeof t);
	t.r = r;
	t.view = *initial;
	t.panel = tui_panels[0];
	t.follow = true;
	hashmap_init(&t.expanded);
	hashmap_init(&t.order);
	setlocale(LC_ALL, "");
	if (tcgetattr(STDIN_FILENO, &saved_termios) == 0)
		have_termios = true;
	signals_set_crash_hook(crash_restore);
	util_set_fatal_hook(fatal_restore);
	if (initscr() == NULL) {
		set_cause(cause, "cannot start the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
		return false;
	}
	/* Esc alone is a key here (back, clear the search): wait for the
	 * rest of an escape sequence 25 ms, as htop does, not a second. */
	if (getenv("ESCDELAY") == NULL)
		set_escdelay(25);
	cbreak();
	noecho();
	no_flow_control();
	keypad(stdscr, TRUE);
	curs_set(0);
	nodelay(stdscr, TRUE);
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

		if (!r->ended) {
			intake(&t);
			intake_ns = now_ns();
		}
		if (signals_stop_requested())
			break;
		if (signals_suspend_requested() && !suspend(&t, cause)) {
			ok = false;
			break;
		}
		/* Every key typed meanwhile (ncurses may hold some read); the
		 * next one finds the model its predecessor asked for. */
		while (!t.quit && (ch = getch()) != ERR) {
			if (keys_handle(&t, ch))
				build(&t);
			redraw = true;
		}
		if (t.quit)
			break;
		if (rebuild || now_ns() - t.last_build >= 1000000000u) {
			build(&t);
			rebuild = false;
			redraw = true;
		}
		/* The header's figures move with every sample: a few times a
		 * second is enough for them. */
		if (redraw || now_ns() - t.last_draw >= REDRAW_NS) {
			draw(&t);
			t.last_draw = now_ns();
			redraw = false;
		}
		wait_input(&t, intake_ns);
	}
	endwin();
	util_set_fatal_hook(NULL);
	signals_set_crash_hook(NULL);
	tree_free(t.tree);
	func_table_release(&t.flat);
	thread_table_release(&t.threads);
	hashmap_release(&t.expanded);
	hashmap_release(&t.order);
	free(t.rows);
	return ok;
}
