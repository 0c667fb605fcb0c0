/* live.c: the live view's figures, independent of ncurses. */
#include "config.h"

#include "live.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format.h"
#include "procfs.h"
#include "ptypes.h"
#include "text.h"
#include "util.h"

static const char *const window_names[WINDOW_COUNT] = { "last 5 s", "last 60 s", "since start" };
static const char *const window_short[WINDOW_COUNT] = { "5 s", "60 s", "all" };

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

const char *
live_window_short(enum live_window w)
{
	return window_short[w];
}

const char *
live_view_class(int cls)
{
	if (cls == LIVE_ALLOC)
		return "alloc";
	if (cls == LIVE_INUSE)
		return "inuse";
	return cls < 0 ? "wall" : class_name((enum sample_class)cls);
}

bool
live_memory_tab(int cls)
{
	return cls == LIVE_ALLOC || cls == LIVE_INUSE;
}

void
live_selection(const struct recorder *r, const struct live_view *v, struct selection *sel)
{
	uint32_t now = recorder_bucket(r), span;

	/* Once the process exited, the window stays where it ended: the
	 * last profile stays on screen. */
	if (r->ended && r->stop_ns > r->start_ns)
		now = (uint32_t)((r->stop_ns - r->start_ns) / 1000000000u);
	selection_init(sel);
	if (v->frozen != 0) {
		/* The whole seconds before the one it was frozen in: what
		 * comes after, in that second too, is left out. */
		uint32_t at = v->frozen - 1;

		sel->until = at > 0 ? at : 1;
		now = sel->until - 1;
	}
	sel->cls = v->cls >= 0 ? v->cls : -1;
	if (live_memory_tab(v->cls))
		sel->type = v->cls == LIVE_ALLOC ? PT_ALLOC : PT_INUSE;
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
	double secs, boot;

	if (!procfs_task_stat(pid, pid, &st) || !procfs_uptime(&boot)) {
		snprintf(buf, n, "?");
		return;
	}
	secs = boot - (double)st.starttime / (double)sysconf(_SC_CLK_TCK);
	if (secs >= 86400)
		snprintf(buf, n, "%dd %02d:%02d", (int)(secs / 86400), (int)(secs / 3600) % 24,
			 (int)(secs / 60) % 60);
	else
		snprintf(buf, n, "%d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60) % 60,
			 (int)secs % 60);
}

static void
append(char *buf, size_t n, size_t *len, const char *fmt, ...) ATTR_PRINTF(4, 5);

/* Add a warning to those in buf, after a "; ". */
static void
append(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*len + 3 >= n)
		return;
	if (*len > 0)
		*len += (size_t)snprintf(buf + *len, n - *len, "; ");
	va_start(ap, fmt);
	k = vsnprintf(buf + *len, n - *len, fmt, ap);
	va_end(ap);
	if (k > 0)
		*len = *len + (size_t)k < n ? *len + (size_t)k : n - 1;
}

/* "exit status 3", "killed by SIGKILL": a wait status. */
static void
exit_text(int status, char *buf, size_t n)
{
	if (WIFEXITED(status)) {
		snprintf(buf, n, "exit status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		const char *name = NULL;

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
		name = sigabbrev_np(WTERMSIG(status));
#endif

		if (name != NULL)
			snprintf(buf, n, "killed by SIG%s", name);
		else
			snprintf(buf, n, "killed by signal %d", WTERMSIG(status));
	} else {
		snprintf(buf, n, "exited");
	}
}

void
live_facts(const struct recorder *r, struct live_facts *f)
{
	struct sampler_stats st;
	char up[32];
	double el = recorder_sampled(r);
	size_t len = 0;

	sampler_get_stats(r->sampler, &st);
	snprintf(f->ident, sizeof f->ident, "pid %d %s", (int)r->pid, text_safe(r->comm));
	uptime(r->pid, up, sizeof up);
	snprintf(f->up, sizeof f->up, "up %s", up);
	snprintf(f->rate, sizeof f->rate, "rate %g/%.1f Hz", r->opts.sampler.rate_hz,
		 el > 0 ? (double)st.ticks / el : 0.0);
	snprintf(f->samples, sizeof f->samples, "samples %llu", (unsigned long long)st.samples);
	snprintf(f->held, sizeof f->held, "held p50 %.0f us p99 %.0f us max %.0f us",
		 hold_hist_percentile(&st.held, 50), hold_hist_percentile(&st.held, 99),
		 (double)st.held.max_ns / 1e3);
	f->ended[0] = '\0';
	f->warning[0] = '\0';
	if (r->ended) {
		int status = sampler_exit_status(r->sampler);

		if (status >= 0)
			exit_text(status, f->ended, sizeof f->ended);
		else
			snprintf(f->ended, sizeof f->ended, "sampling ended");
		/* An exited process has no uptime. */
		f->up[0] = '\0';
		return;
	}
	if (st.behind || st.missed_ticks > 0)
		append(f->warning, sizeof f->warning, &len, "behind: %llu missed ticks",
		       (unsigned long long)st.missed_ticks);
	if (st.failed > 0 || st.dropped > 0)
		append(f->warning, sizeof f->warning, &len, "%llu failed, %llu dropped samples",
		       (unsigned long long)st.failed, (unsigned long long)st.dropped);
	/* The consumer (unwinding, symbols) not keeping up with the
	 * sampler: what is shown is this old. */
	if (r->lag_ns >= 1000000000u)
		append(f->warning, sizeof f->warning, &len, "unwinding %.1f s behind sampling",
		       (double)r->lag_ns / 1e9);
}

void
live_header(const struct recorder *r, char *buf, size_t n, bool *warn, char *warning, size_t wn)
{
	struct live_facts f;

	live_facts(r, &f);
	snprintf(buf, n, "%s  %s%s%s  %s  %s", f.ident, f.up, f.up[0] ? "  " : "", f.rate,
		 f.samples, f.held);
	if (f.ended[0] != '\0')
		snprintf(warning, wn, "the process exited (%s)", f.ended);
	else
		snprintf(warning, wn, "%s", f.warning);
	*warn = warning[0] != '\0';
}

/* The rows of the last `seconds` seconds, the first row excepted (it has no
 * CPU% yet). */
static size_t
spark_from(const struct metrics_series *m, size_t seconds)
{
	if (m->n > seconds)
		return m->n - seconds;
	return m->n > 0 ? 1 : 0;
}

void
live_spark(const struct recorder *r, bool rss, size_t seconds, char *buf, size_t n)
{
	const struct metrics_series *m = &r->metrics;
	size_t from = spark_from(m, seconds), count = 0;
	struct metrics_range range = { .max = 100 };
	double v[256];

	/* CPU from 0 to 100%; RSS over its own range, as live_rss_range says,
	 * so that growth from 68 to 70 MiB does not look flat. Both draw a
	 * bar at their lowest: the row is a timeline. */
	if (rss)
		metrics_rss_range(m, from, m->n, &range);
	for (size_t i = from; i < m->n && count < ARRAY_SIZE(v); i++)
		v[count++] = rss ? (double)metrics_rss(&m->rows[i]) : m->rows[i].cpu_percent;
	format_spark(v, count, range.min, range.max, false, buf, n);
}

void
live_rss_range(const struct recorder *r, size_t seconds, bool span, char *buf, size_t n)
{
	const struct metrics_series *m = &r->metrics;
	struct metrics_range range;
	char lo[32], hi[32], rate[32];
	const char *lo_unit, *hi_unit;
	int len;

	metrics_rss_range(m, spark_from(m, seconds), m->n, &range);
	format_bytes(range.min, lo, sizeof lo);
	format_bytes(range.max, hi, sizeof hi);
	format_rate(range.rate, rate, sizeof rate);
	/* "68.0..70.1 MiB" when both are in one unit. */
	lo_unit = strchr(lo, ' ');
	hi_unit = strchr(hi, ' ');
	if (lo_unit != NULL && hi_unit != NULL && strcmp(lo_unit, hi_unit) == 0)
		len = snprintf(buf, n, "%.*s..%s %s", (int)(lo_unit - lo), lo, hi, rate);
	else
		len = snprintf(buf, n, "%s..%s %s", lo, hi, rate);
	if (span && len >= 0 && (size_t)len < n)
		snprintf(buf + len, n - (size_t)len, " over %u s", range.seconds);
}

void
live_memory(const struct recorder *r, const struct live_view *v, struct live_memory *m)
{
	const struct profile *p = &r->prof;
	const struct alloc_stats *st = &m->stats;
	struct selection sel;
	const char *err;
	size_t len = 0;

	memset(m, 0, sizeof *m);
	if (r->alloc == NULL)
		return;
	m->on = true;
	alloc_get_stats(r->alloc, &m->stats);
	if ((err = alloc_error(r->alloc)) != NULL)
		snprintf(m->error, sizeof m->error, "%s", err);
	live_selection(r, v, &sel);
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct psample *s = &p->samples[i];

		sel.type = s->type;
		if ((s->type != PT_ALLOC && s->type != PT_INUSE) || !selection_match(p, &sel, s))
			continue;
		if (s->type == PT_ALLOC) {
			m->alloc_bytes += s->value;
			m->alloc_objects += s->count;
		} else {
			m->inuse_bytes += s->value;
			m->inuse_objects += s->count;
		}
	}
	if (st->period_s <= 0 && st->windows <= 1 && st->probed_s <= 0)
		len = (size_t)snprintf(m->probing, sizeof m->probing,
				       "measuring the cost of a probe hit");
	else if (st->period_s <= 0)
		len = (size_t)snprintf(m->probing, sizeof m->probing,
				       "probing all the time (%u window ends, one a second)",
				       st->windows);
	else
		len = (size_t)snprintf(m->probing, sizeof m->probing,
				       "%u windows of %.2g s, one per %.3g s (duty %.1f%%)",
				       st->windows, st->window_s, st->period_s, 100 * st->duty);
	if (len < sizeof m->probing && st->cost_per_hit_us > 0 && st->period_s > 0)
		snprintf(m->probing + len, sizeof m->probing - len,
			 "; %.1f us a hit, the target's CPU +%.3g%% estimated, +%.3g%% measured "
			 "(budget %g%%); %llu lost",
			 st->cost_per_hit_us, 100 * st->estimated, 100 * st->measured,
			 100 * st->budget, (unsigned long long)st->lost);
	else if (len < sizeof m->probing && st->cost_per_hit_us > 0)
		snprintf(m->probing + len, sizeof m->probing - len,
			 "; %.1f us a hit, the target's CPU +%.3g%% measured (no budget); %llu lost",
			 st->cost_per_hit_us, 100 * st->measured, (unsigned long long)st->lost);
}

void
live_leak_site(const struct recorder *r, const struct recorder_leak *l, char *buf, size_t n)
{
	const struct profile *p = &r->prof;
	uint32_t frames[1];
	char where[1024];

	if (stack_frames(p, l->stack, frames, 1) == 0) {
		snprintf(buf, n, "?");
		return;
	}
	const struct pframe *f = &p->frames[frames[0]];

	format_frame_where(where, sizeof where, profile_str(p, f->file), f->line,
			   f->module != 0 ? profile_str(p, p->modules[f->module].path) : NULL);
	snprintf(buf, n, "%s%s", text_safe(profile_str(p, f->function)), where);
}

/* The memory lines of a text frame: the probed totals, how the probing
 * goes, and the leak suspects. */
static void
print_memory(FILE *f, struct recorder *r, const struct live_view *v)
{
	struct live_memory m;
	struct recorder_leak *leaks;
	char ab[32], ib[32], rate[32], live[32], site[1200];
	size_t n;

	live_memory(r, v, &m);
	if (!m.on)
		return;
	format_bytes((double)m.alloc_bytes, ab, sizeof ab);
	format_bytes((double)m.inuse_bytes, ib, sizeof ib);
	fprintf(f, "memory: %s in %llu allocations probed, %s in %llu still in use at their "
		"window's end; %s\n", ab, (unsigned long long)m.alloc_objects, ib,
		(unsigned long long)m.inuse_objects, m.probing);
	if (m.error[0] != '\0')
		fprintf(f, "memory: probing ended: %s\n", text_safe(m.error));
	n = recorder_leaks(r, &leaks);
	for (size_t i = 0; i < n; i++) {
		format_bytes(leaks[i].bytes_per_s * 60, rate, sizeof rate);
		format_bytes((double)leaks[i].live_bytes, live, sizeof live);
		live_leak_site(r, &leaks[i], site, sizeof site);
		fprintf(f, "leak suspect: %s a minute over %u windows, %s not freed: %s\n", rate,
			leaks[i].windows, live, site);
	}
	free(leaks);
}

void
live_print_frame(FILE *f, struct recorder *r, const struct live_view *v, size_t rows)
{
	const struct metric_row *m = metrics_last(&r->metrics);
	struct selection sel;
	struct thread_table tt;
	struct func_table ft;
	char head[512], warning[128];
	bool warn;

	live_header(r, head, sizeof head, &warn, warning, sizeof warning);
	fprintf(f, "siprof %s%s%s\n", head, warn ? "  !! " : "", warning);
	if (m != NULL) {
		char range[128];

		live_rss_range(r, 60, true, range, sizeof range);
		fprintf(f, "CPU %.0f%% of %g CPUs  RSS %.1f MiB (%s)  threads %llu  window %s  class %s\n",
			m->cpu_percent, r->metrics.capacity,
			(double)metrics_rss(m) / (1 << 20), range,
			(unsigned long long)m->m.threads, live_window_name(v->window),
			live_view_class(v->cls));
	}
	print_memory(f, r, v);
	live_selection(r, v, &sel);
	{
		struct selection samples = sel;

		samples.type = PT_SAMPLES;
		samples.cls = -1;
		analyze_threads(&r->prof, &samples, &tt);
	}
	fprintf(f, "classes:");
	for (int c = 0; c < CLASS_COUNT; c++)
		if (tt.by_class[c] > 0)
			fprintf(f, " %s %.1f%%", class_name((enum sample_class)c),
				format_share(tt.by_class[c], tt.total));
	fprintf(f, "  (of %llu thread-samples)\n", (unsigned long long)tt.total);
	thread_table_release(&tt);
	analyze_functions(&r->prof, &sel, v->by_line, v->sort_total, &ft);
	if (live_memory_tab(v->cls)) {
		char total[32];

		format_bytes((double)ft.total, total, sizeof total);
		fprintf(f, "%s by function: %s\n", v->cls == LIVE_ALLOC ? "allocated" : "in use",
			total);
	}
	fprintf(f, "  self%%  total%%  function (file:line) [module]\n");
	for (size_t i = 0; i < ft.n && i < rows; i++) {
		const struct func_stat *fs = &ft.funcs[i];
		const char *file = profile_str(&r->prof, fs->file);

		char where[1024];

		format_frame_where(where, sizeof where, file, fs->line,
				   fs->module != 0 ? profile_str(&r->prof,
								 r->prof.modules[fs->module].path)
						   : NULL);
		fprintf(f, "%6.1f%% %6.1f%%  %s%s\n", format_share(fs->self, ft.total),
			format_share(fs->total, ft.total),
			text_safe(profile_str(&r->prof, fs->function)), where);
	}
	if (ft.n == 0)
		fprintf(f, live_memory_tab(v->cls) ? "  (no allocations probed yet in this window)\n"
						   : "  (no samples yet)\n");
	fputc('\n', f);
	func_table_release(&ft);
}
