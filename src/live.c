/* live.c: the live view's figures, independent of ncurses. */
#include "config.h"

#include "live.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "text.h"
#include "util.h"

static const char *const window_names[WINDOW_COUNT] = { "last 5 s", "last 60 s", "since start" };

void
live_view_init(struct live_view *v)
{
	memset(v, 0, sizeof *v);
	v->window = WINDOW_5S;
	v->cls = -1;
}

const char *
live_window_name(enum live_window w)
{
	return window_names[w];
}

void
live_selection(const struct recorder *r, const struct live_view *v, struct selection *sel)
{
	uint32_t now = recorder_bucket(r), span;

	selection_init(sel);
	sel->cls = v->cls;
	sel->tid = v->tid;
	span = v->window == WINDOW_5S ? 5 : v->window == WINDOW_60S ? 60 : UINT32_MAX;
	sel->since = span != UINT32_MAX && now + 1 > span ? now + 1 - span : 0;
	if (sel->since < v->reset_bucket)
		sel->since = v->reset_bucket;
}

static void
uptime(pid_t pid, char *buf, size_t n)
{
	struct task_stat st;
	char up[64];
	double secs, boot;

	if (!procfs_task_stat(pid, pid, &st) || read_file_buf("/proc/uptime", up, sizeof up) <= 0) {
		snprintf(buf, n, "?");
		return;
	}
	boot = strtod(up, NULL);
	secs = boot - (double)st.starttime / (double)sysconf(_SC_CLK_TCK);
	if (secs >= 86400)
		snprintf(buf, n, "%dd %02d:%02d", (int)(secs / 86400), (int)(secs / 3600) % 24,
			 (int)(secs / 60) % 60);
	else
		snprintf(buf, n, "%d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60) % 60,
			 (int)secs % 60);
}

void
live_header(const struct recorder *r, char *buf, size_t n, bool *warn, char *warning, size_t wn)
{
	struct sampler_stats st;
	char up[32];
	double el = recorder_sampled(r);

	sampler_get_stats(r->sampler, &st);
	uptime(r->pid, up, sizeof up);
	snprintf(buf, n, "pid %d %s  up %s  rate %g/%.1f Hz  samples %llu  held p50 %.0f us p99 %.0f us",
		 (int)r->pid, text_safe(r->comm), up, r->opts.sampler.rate_hz,
		 el > 0 ? (double)st.ticks / el : 0.0, (unsigned long long)st.samples,
		 hold_hist_percentile(&st.held, 50), hold_hist_percentile(&st.held, 99));
	*warn = false;
	warning[0] = '\0';
	if (r->ended) {
		*warn = true;
		snprintf(warning, wn, "the process exited");
	} else if (st.behind || st.missed_ticks > 0) {
		*warn = true;
		snprintf(warning, wn, "behind: %llu missed ticks", (unsigned long long)st.missed_ticks);
	} else if (st.failed > 0 || st.dropped > 0) {
		*warn = true;
		snprintf(warning, wn, "%llu failed, %llu dropped samples",
			 (unsigned long long)st.failed, (unsigned long long)st.dropped);
	}
}

void
live_spark(const struct recorder *r, bool rss, char *buf, size_t n)
{
	static const char *const bars[] = { "\u2581", "\u2582", "\u2583", "\u2584",
					    "\u2585", "\u2586", "\u2587", "\u2588" };
	const struct metrics_series *m = &r->metrics;
	size_t from = m->n > 60 ? m->n - 60 : (m->n > 0 ? 1 : 0), len = 0;
	double max = rss ? 0 : 100;

	if (rss)
		for (size_t i = from; i < m->n; i++) {
			double v = (double)(m->rows[i].m.rss_anon + m->rows[i].m.rss_file + m->rows[i].m.rss_shmem);
			if (v > max)
				max = v;
		}
	buf[0] = '\0';
	for (size_t i = from; i < m->n && len + 4 < n; i++) {
		double v = rss ? (double)(m->rows[i].m.rss_anon + m->rows[i].m.rss_file + m->rows[i].m.rss_shmem)
			       : m->rows[i].cpu_percent;
		int level = max > 0 ? (int)(v / max * 7.99) : 0;

		level = level < 0 ? 0 : level > 7 ? 7 : level;
		len += (size_t)snprintf(buf + len, n - len, "%s", bars[level]);
	}
}

void
live_print_frame(FILE *f, const struct recorder *r, const struct live_view *v, size_t rows)
{
	const struct metric_row *m = metrics_last(&r->metrics);
	struct selection sel;
	struct thread_table tt;
	struct func_table ft;
	char head[512], warning[128];
	bool warn;

	live_header(r, head, sizeof head, &warn, warning, sizeof warning);
	fprintf(f, "siprof %s%s%s\n", head, warn ? "  !! " : "", warning);
	if (m != NULL)
		fprintf(f, "CPU %.0f%%  RSS %.1f MiB  threads %llu  window %s  class %s\n",
			m->cpu_percent,
			(double)(m->m.rss_anon + m->m.rss_file + m->m.rss_shmem) / (1 << 20),
			(unsigned long long)m->m.threads, live_window_name(v->window),
			v->cls < 0 ? "wall" : class_name((enum sample_class)v->cls));
	live_selection(r, v, &sel);
	analyze_threads(&r->prof, &sel, &tt);
	fprintf(f, "classes:");
	for (int c = 0; c < CLASS_COUNT; c++)
		if (tt.by_class[c] > 0)
			fprintf(f, " %s %.1f%%", class_name((enum sample_class)c),
				100.0 * (double)tt.by_class[c] / (double)tt.total);
	fputc('\n', f);
	thread_table_release(&tt);
	analyze_functions(&r->prof, &sel, v->by_line, v->sort_total, &ft);
	fprintf(f, "  self%%  total%%  function (file:line) [module]\n");
	for (size_t i = 0; i < ft.n && i < rows; i++) {
		const struct func_stat *fs = &ft.funcs[i];
		const char *file = profile_str(&r->prof, fs->file);

		fprintf(f, "%6.1f%% %6.1f%%  %s", 100.0 * (double)fs->self / (double)ft.total,
			100.0 * (double)fs->total / (double)ft.total,
			text_safe(profile_str(&r->prof, fs->function)));
		if (*file != '\0')
			fprintf(f, " (%s:%d)", text_safe(path_basename(file)), fs->line);
		if (fs->module != 0)
			fprintf(f, " [%s]", text_safe(path_basename(profile_str(&r->prof,
					    r->prof.modules[fs->module].path))));
		fputc('\n', f);
	}
	if (ft.n == 0)
		fprintf(f, "  (no samples yet)\n");
	fputc('\n', f);
	func_table_release(&ft);
}
