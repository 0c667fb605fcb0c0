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
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "export-svg.h"
#include "format.h"
#include "hashmap.h"
#include "names.h"
#include "procfs.h"
#include "ptypes.h"
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
	static const char reset[] = "\030\033[0m\033[?25h\033[?1000l\033[?1002l\033[?1006l\033[?1049l\r\n";

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
					  &panel_threads, &panel_memory };
const size_t tui_n_panels = ARRAY_SIZE(tui_panels);

void
tui_show(struct tui *t, const struct panel *p)
{
	if (p->picker && !t->panel->picker)
		t->back = t->panel;
	t->panel = p;
	/* A panel starts at its first row: scrolling is for the user. */
	t->top = 0;
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

int
tui_bytes(const char *s, int cols)
{
	int n = 0, i = 0;

	/* A character starts at every byte that is not a continuation. */
	for (; s[i] != '\0'; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n++ == cols)
			break;
	return i;
}

void
tui_put(int y, int x, int attr, const char *s)
{
	if (y >= LINES || x >= COLS)
		return;
	attron(attr);
	mvaddnstr(y, x, s, tui_bytes(s, COLS - x));
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
	all.type = PT_SAMPLES;
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
	t->n_class_tabs = t->n_tabs;
	/* attach --alloc: the bytes the window's probes saw. */
	if (t->r->alloc != NULL) {
		struct live_memory m;

		live_memory(t->r, &t->view, &m);
		t->tabs[t->n_tabs] = LIVE_ALLOC;
		t->tab_count[t->n_tabs++] = m.alloc_bytes;
		t->tabs[t->n_tabs] = LIVE_INUSE;
		t->tab_count[t->n_tabs++] = m.inuse_bytes;
	}

	t->panel->build(t);
	thread_detail(t);
	t->last_build = now_ns();
}

/* A tab's name: "Wall", or the class's with a capital. */
static const char *
tab_name(int cls)
{
	static char names[CLASS_COUNT][24];
	const char *name;

	if (cls == LIVE_ALLOC)
		return "Alloc";
	if (cls == LIVE_INUSE)
		return "In use";
	if (cls < 0 || cls >= CLASS_COUNT)
		return "Wall";
	name = class_name((enum sample_class)cls);
	snprintf(names[cls], sizeof names[cls], "%s", name);
	if (names[cls][0] >= 'a' && names[cls][0] <= 'z')
		names[cls][0] = (char)(names[cls][0] - 32);
	return names[cls];
}

int
tui_color(const struct tui *t, int pair, int attr)
{
	/* Without colours: reverse video for the bars, underlines for
	 * matches. */
	static const int mono[] = { [C_HEAD] = A_REVERSE, [C_WARN] = A_REVERSE, [C_SEL] = A_REVERSE,
				    [C_TAB] = A_REVERSE, [C_MATCH] = A_UNDERLINE, [C_DIM] = 0 };

	if (t->mono)
		return attr | (pair > 0 && pair < (int)ARRAY_SIZE(mono) ? mono[pair] : 0);
	return (int)COLOR_PAIR(pair) | attr;
}

/* Columns of a UTF-8 string (the sparklines' blocks are one each). */
static int
text_cols(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* A header line, filled from the left with what fits. */
struct hline {
	int y, x;
};

/* Add sep and s at the end of line l when they fit in the width (or
 * always, cut at the edge, when must). */
static bool
head_add(struct hline *l, int attr, const char *sep, const char *s, bool must)
{
	int w = text_cols(sep) + text_cols(s);

	if (s[0] == '\0' || (!must && l->x + w > COLS))
		return false;
	tui_put(l->y, l->x, 0, sep);
	tui_put(l->y, l->x + text_cols(sep), attr, s);
	l->x += w;
	return true;
}

/* The first line: who, its state (paused, frozen, ended, and how), the
 * warnings, then the facts, as many as fit. */
static void
head_process(struct tui *t, const struct live_facts *f)
{
	struct hline l = { 0, 0 };
	int warn = tui_color(t, C_WARN, A_BOLD);
	char ended[128];

	head_add(&l, tui_color(t, C_HEAD, A_BOLD), "", " siprof ", true);
	head_add(&l, 0, "", f->ident, true);
	if (f->ended[0] != '\0') {
		snprintf(ended, sizeof ended, "ENDED: %s", f->ended);
		head_add(&l, warn, "  ", ended, true);
	}
	if (t->paused)
		head_add(&l, warn, "  ", "PAUSED", true);
	if (t->view.frozen)
		head_add(&l, warn, "  ", "FROZEN", true);
	head_add(&l, warn, "  ", f->warning, true);
	if (head_add(&l, 0, "  ", f->up, false) || f->up[0] == '\0')
		if (head_add(&l, 0, "  ", f->samples, false))
			if (head_add(&l, 0, "  ", f->rate, false))
				head_add(&l, 0, "  ", f->held, false);
}

/* What is shown: the class, the panel, the thread and the window, which
 * always fit in 80 columns. Returns the columns used. */
static int
head_view(struct tui *t, int y)
{
	struct hline l = { y, 0 };
	char view[160], thread[96], window[48];
	const char *what = t->panel->describe ? t->panel->describe(t) : t->panel->name;

	if (t->panel->picker)
		snprintf(view, sizeof view, "view: %s", what);
	else
		snprintf(view, sizeof view, "view: %s %s", tab_name(t->view.cls), what);
	snprintf(thread, sizeof thread, "thread: %s",
		 t->view.tid ? text_safe(profile_thread_name(&t->r->prof, t->view.tid)) : "all");
	snprintf(window, sizeof window, "window: %s", live_window_short(t->view.window));
	head_add(&l, A_BOLD, "", view, true);
	head_add(&l, A_BOLD, "  ", thread, true);
	head_add(&l, A_BOLD, "  ", window, true);
	return l.x;
}

/* The health figures from column x of row y: CPU and RSS always, then
 * the threads, the CPUs, the RSS range; the sparklines get what is left,
 * up to a minute each. */
static void
head_health(struct tui *t, int y, int x)
{
	const struct metric_row *m = metrics_last(&t->r->metrics);
	char cpu[64], cpus[64], rss[64], threads[64], range[128], spark[2][256];
	int room, spark_len;
	bool with_threads, with_cpus, with_range;
	struct hline l = { y, x };

	if (m == NULL)
		return;
	snprintf(cpu, sizeof cpu, "CPU %5.1f%%", m->cpu_percent);
	/* Of the CPUs the process may use: not the Cpu tab's share of
	 * thread-samples. */
	snprintf(cpus, sizeof cpus, " of %g CPUs", t->r->metrics.capacity);
	snprintf(rss, sizeof rss, "RSS %.1f MiB", (double)metrics_rss(m) / (1 << 20));
	snprintf(threads, sizeof threads, "threads %llu", (unsigned long long)m->m.threads);
	live_rss_range(t->r, 60, false, range, sizeof range);
	/* The fixed text, two sparklines of at least 8 and the spaces. */
	room = COLS - x - text_cols(cpu) - text_cols(rss) - 2 * 8 - 6;
	with_threads = room >= 2 + text_cols(threads);
	room -= with_threads ? 2 + text_cols(threads) : 0;
	with_cpus = room >= text_cols(cpus);
	room -= with_cpus ? text_cols(cpus) : 0;
	with_range = room >= 1 + text_cols(range) + 4;
	room -= with_range ? 1 + text_cols(range) + 4 : 0;
	spark_len = 8 + (room > 0 ? room / 2 : 0);
	if (spark_len > 60)
		spark_len = 60;
	if (COLS - x - text_cols(cpu) - text_cols(rss) - 6 < 2 * 3)
		spark_len = 0;
	else if (room < 0)
		spark_len = (COLS - x - text_cols(cpu) - text_cols(rss) - 6) / 2;
	live_spark(t->r, false, (size_t)spark_len, spark[0], sizeof spark[0]);
	live_spark(t->r, true, (size_t)spark_len, spark[1], sizeof spark[1]);
	if (with_range) /* over the sparkline's seconds */
		live_rss_range(t->r, (size_t)spark_len, false, range, sizeof range);
	head_add(&l, A_BOLD, x > 0 ? "  " : "", cpu, true);
	if (with_cpus)
		head_add(&l, A_BOLD, "", cpus, true);
	if (spark_len > 0)
		head_add(&l, 0, " ", spark[0], false);
	head_add(&l, A_BOLD, "  ", rss, false);
	if (spark_len > 0)
		head_add(&l, 0, " ", spark[1], false);
	if (with_range)
		head_add(&l, 0, " ", range, false);
	if (with_threads)
		head_add(&l, 0, "  ", threads, false);
}

/* The class tabs, with their shares of the thread-samples: as many as
 * fit, from one that keeps the active tab in sight. */
static void
head_tabs(struct tui *t, int y)
{
	char text[TUI_MAX_TABS][48], line[96];
	int w[TUI_MAX_TABS], active = 0, from, x = 0, used;

	for (int i = 0; i < t->n_tabs; i++) {
		int c = t->tabs[i];
		bool on = c == t->view.cls;
		char share[40] = "";

		if (live_memory_tab(c)) {
			char b[32];

			format_bytes((double)t->tab_count[i], b, sizeof b);
			snprintf(share, sizeof share, " %s", b);
		} else if (c >= 0) {
			snprintf(share, sizeof share, " %.0f%%", tui_pct(t->tab_count[i], t->class_total));
		}
		/* Brackets mark the active tab even without colours. */
		snprintf(text[i], sizeof text[i], "%s%s%s%s", on ? "[" : "", tab_name(c), share,
			 on ? "]" : "");
		w[i] = text_cols(text[i]) + 1;
		if (on)
			active = i;
	}
	memset(t->tab_to, 0, sizeof t->tab_to);
	for (used = 0, from = active + 1; from > 0 && used + w[from - 1] + 2 <= COLS; from--)
		used += w[from - 1];
	if (from > 0) {
		tui_put(y, 0, A_DIM, "<");
		x = 1;
	}
	for (int i = from; i < t->n_tabs; i++) {
		bool on = t->tabs[i] == t->view.cls;

		if (x + w[i] > COLS && !(i + 1 == t->n_tabs && x + w[i] - 1 <= COLS)) {
			tui_put(y, COLS - 1, A_DIM, ">");
			return;
		}
		tui_put(y, x, on ? tui_color(t, C_TAB, A_BOLD) : (int)A_DIM, text[i]);
		t->tab_from[i] = x;
		t->tab_to[i] = x + w[i] - 1;
		x += w[i];
	}
	/* Not the CPU figure above: that one is of the CPUs. */
	snprintf(line, sizeof line, "(of %llu thread-samples)", (unsigned long long)t->class_total);
	if (x + text_cols(line) <= COLS)
		tui_put(y, x, A_DIM, line);
}

/* The header: the process, the view and the health figures (on one line
 * when the terminal is wide enough), the class tabs. */
static void
draw_header(struct tui *t)
{
	struct live_facts f;
	int x;

	live_facts(t->r, &f);
	if (t->paused_ns > 0 || t->paused) {
		/* The achieved rate over the time not paused. */
		struct sampler_stats st;
		double el = recorder_sampled(t->r) -
			    (double)(t->paused_ns + (t->paused ? now_ns() - t->paused_at : 0)) / 1e9;

		sampler_get_stats(t->r->sampler, &st);
		snprintf(f.rate, sizeof f.rate, "rate %g/%.1f Hz", t->r->opts.sampler.rate_hz,
			 el > 0 ? (double)st.ticks / el : 0.0);
	}
	head_process(t, &f);
	x = head_view(t, 1);
	head_health(t, t->body == 3 ? 1 : 2, t->body == 3 ? x : 0);
	head_tabs(t, t->body - 1);
}

void
tui_write_svg(struct tui *t)
{
	struct session_data d;
	struct session_meta meta[5], stats[1];
	struct selection sel;
	struct flame_opts o = { 0 };
	char pid[24], rate[24], start[40], title[160], host[256] = "?", secs_text[32];
	time_t secs = (time_t)(t->r->start_unix_ns / 1000000000u);
	struct tm tm;
	FILE *f;

	if (t->input[0] == '\0') {
		tui_message(t, "not written: no file name");
		return;
	}
	/* What the screen shows: the class, the thread, the window. */
	live_selection(t->r, &t->view, &sel);
	snprintf(pid, sizeof pid, "%d", (int)t->r->pid);
	snprintf(rate, sizeof rate, "%g", t->r->opts.sampler.rate_hz);
	gmtime_r(&secs, &tm);
	strftime(start, sizeof start, "%Y-%m-%dT%H:%M:%SZ", &tm);
	meta[0] = (struct session_meta){ "pid", pid };
	meta[1] = (struct session_meta){ "rate_hz", rate };
	meta[2] = (struct session_meta){ "start", start };
	meta[3] = (struct session_meta){ "comm", t->r->comm };
	if (gethostname(host, sizeof host - 1) != 0)
		snprintf(host, sizeof host, "?");
	meta[4] = (struct session_meta){ "host", host };
	snprintf(secs_text, sizeof secs_text, "%.1f", recorder_sampled(t->r));
	stats[0] = (struct session_meta){ "duration_s", secs_text };
	/* The recording's profile, read in place (the writer only reads). */
	memset(&d, 0, sizeof d);
	d.prof = t->r->prof;
	d.meta = meta;
	d.n_meta = ARRAY_SIZE(meta);
	d.stats = stats;
	d.n_stats = ARRAY_SIZE(stats);
	snprintf(title, sizeof title, "%s: %s, %s, %s", tab_name(t->view.cls),
		 text_safe(t->r->comm),
		 t->view.tid ? text_safe(profile_thread_name(&t->r->prof, t->view.tid)) : "all threads",
		 live_window_name(t->view.window));
	o.title = title;
	if ((f = fopen(t->input, "wx")) == NULL) {
		tui_message(t, "not written: cannot create '%s': %s", text_safe(t->input),
			    strerror(errno));
		return;
	}
	flame_write_svg(f, &d, &sel, &o);
	if (fclose(f) != 0) {
		tui_message(t, "not written: '%s': %s", text_safe(t->input), strerror(errno));
		unlink(t->input);
		return;
	}
	tui_message(t, "wrote %s", text_safe(t->input));
}

/* The prompt on the last line, its cursor where the editing is. */
static void
draw_prompt(struct tui *t, int y, const char *label)
{
	size_t at = t->input_at < strlen(t->input) ? t->input_at : strlen(t->input);
	int x = (int)strlen(label), from = 0;

	/* A long input scrolls to keep the cursor in sight. */
	if (x + (int)at >= COLS - 1)
		from = x + (int)at - (COLS - 1) + 1;
	tui_put(y, 0, A_BOLD, label);
	if (x < COLS)
		tui_put(y, x, A_BOLD, t->input + from);
	move(y, x + (int)at - from < COLS ? x + (int)at - from : COLS - 1);
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
		draw_prompt(t, y, "search: ");
		return;
	}
	if (t->mode == MODE_WRITE) {
		draw_prompt(t, y, "write the session to: ");
		return;
	}
	if (t->mode == MODE_SVG) {
		draw_prompt(t, y, "write an SVG flame graph to: ");
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
draw_help(struct tui *t)
{
	const char *lines[64];
	char buf[8192];
	size_t n = keys_help(t, buf, sizeof buf, lines, ARRAY_SIZE(lines)), split = n, skip = 0;
	int w, w1, h, y0, x0;

	if ((int)n + 2 > LINES) {
		/* At a heading: entries start with a space, or '*' for the panel shown. */
		for (split = (n + 1) / 2; split < n && (lines[split][0] == ' ' || lines[split][0] == '*');
		     split++)
			;
	}
	w1 = widest(lines, 0, split);
	w = w1 + 4 + (split < n ? widest(lines, split, n) + 3 : 0);
	if (w > COLS && split < n) { /* two do not fit: one, that scrolls */
		split = n;
		w1 = widest(lines, 0, n);
		w = w1 + 4;
	}
	t->help_more = split == n && (int)n + 2 > LINES && LINES > 4;
	if (t->help_more) {
		/* Below its title, from help_top, and a last line that says
		 * more follows. */
		size_t shown = (size_t)LINES - 3, max = n - 1 - shown;

		if (t->help_top > max)
			t->help_top = max;
		skip = t->help_top;
	} else {
		t->help_top = 0;
	}
	h = (int)(split > n - split ? split : n - split) + 2;
	y0 = (LINES - h) / 2 > 0 ? (LINES - h) / 2 : 0;
	x0 = (COLS - w) / 2 > 0 ? (COLS - w) / 2 : 0;
	for (int y = 0; y < h && y0 + y < LINES; y++) {
		size_t left = y <= 1 ? (size_t)y - 1 : (size_t)y - 1 + skip, right = split + (size_t)y - 1;
		const char *text = left < split ? lines[left] : NULL;

		if (t->help_more && y0 + y == LINES - 1)
			text = left < split ? "  (Down, PgDn: more; any other key closes)" : NULL;
		move(y0 + y, x0);
		attron(tui_color(t, C_HEAD, 0));
		for (int x = 0; x < w && x0 + x < COLS; x++)
			addch(' ');
		if (y > 0 && text != NULL)
			mvaddnstr(y0 + y, x0 + 2, text, tui_bytes(text, COLS - x0 - 2));
		if (y > 0 && right < n && x0 + w1 + 5 < COLS)
			mvaddnstr(y0 + y, x0 + w1 + 5, lines[right],
				  tui_bytes(lines[right], COLS - x0 - w1 - 5));
		attroff(tui_color(t, C_HEAD, 0));
	}
}

/* The header takes three lines on a wide terminal, four on one of 80
 * columns (the health figures on a line of their own). */
static void
layout(struct tui *t)
{
	t->body = COLS >= 120 ? 3 : 4;
}

int
tui_rows(const struct tui *t)
{
	/* Below the header and the column line, above the detail line and
	 * the footer. */
	return LINES - t->body - 1 - 1 - (t->detail[0] != '\0');
}

static void
draw(struct tui *t)
{
	int height;

	layout(t);
	height = tui_rows(t);
	erase();
	draw_header(t);
	t->panel->draw(t, height);
	/* The footer last but for the help over it, so that a prompt's
	 * cursor is where the editing is. */
	draw_footer(t);
	if (t->mode == MODE_HELP)
		draw_help(t);
	curs_set(t->mode == MODE_SEARCH || t->mode == MODE_WRITE || t->mode == MODE_SVG);
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

/* Text frames on a terminal that cannot move its cursor: one a second
 * until Ctrl-C, q and Enter, or the process's exit. */
static bool
text_frames(struct recorder *r, const struct live_view *v, char **cause)
{
	uint64_t next = now_ns() + 1000000000u;
	char line[64];

	printf("siprof: TERM=%s cannot show the live view; text frames follow, once a "
	       "second (q and Enter quit)\n", text_safe(getenv("TERM") ? getenv("TERM") : ""));
	fflush(stdout);
	while (!signals_stop_requested()) {
		if (!recorder_step(r, 50, cause) && !r->ended)
			return false;
		if (fd_readable(STDIN_FILENO)) {
			if (fgets(line, sizeof line, stdin) == NULL || line[0] == 'q')
				break;
		}
		if (r->ended || now_ns() >= next) {
			live_print_frame(stdout, r, v, 20);
			if (fflush(stdout) != 0 || r->ended)
				break;
			next += 1000000000u;
		}
	}
	return true;
}

bool
tui_run(struct recorder *r, const struct live_view *initial, char **cause)
{
	struct tui t;
	bool rebuild = true, redraw = true, ok = true;
	uint64_t intake_ns = 0;
	const char *term = getenv("TERM") ? getenv("TERM") : "";
	SCREEN *screen;
	char *cup;

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
	if ((screen = newterm(NULL, stdout, stdin)) == NULL) {
		signals_set_crash_hook(NULL);
		util_set_fatal_hook(NULL);
		set_cause(cause, "cannot use the terminal (TERM=%s): no terminfo entry for it; "
			  "for text use 'siprof attach --batch'", text_safe(term));
		return false;
	}
	set_term(screen);
	/* A terminal that cannot move the cursor (TERM=dumb, an editor's
	 * shell buffer) would get a screen of garbage: it gets text frames,
	 * as --batch prints them, once a second. */
	cup = tigetstr("cup");
	if (cup == NULL || cup == (char *)-1) {
		endwin();
		delscreen(screen);
		signals_set_crash_hook(NULL);
		util_set_fatal_hook(NULL);
		return text_frames(r, initial, cause);
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
	/* NO_COLOR (no-color.org): set and not empty, no colours at all. */
	t.mono = !has_colors() || (getenv("NO_COLOR") != NULL && getenv("NO_COLOR")[0] != '\0');
	/* The wheel and clicks, where the terminal reports them; the
	 * terminal's own selection then needs Shift, as in htop. */
	mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	mouseinterval(0);
	if (!t.mono) {
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
	delscreen(screen);
	util_set_fatal_hook(NULL);
	signals_set_crash_hook(NULL);
	tree_free(t.tree);
	free(t.leaks);
	func_table_release(&t.flat);
	thread_table_release(&t.threads);
	hashmap_release(&t.expanded);
	hashmap_release(&t.order);
	free(t.rows);
	return ok;
}
