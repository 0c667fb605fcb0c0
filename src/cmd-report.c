/* cmd-report.c: `siprof report FILE`, what a session says. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "cmd.h"
#include "export.h"
#include "format.h"
#include "metrics.h"
#include "names.h"
#include "session.h"
#include "syscalls.h"
#include "text.h"
#include "util.h"

const char cmd_report_usage[] =
	"usage: siprof report [OPTIONS] FILE\n"
	"\n"
	"Show what a session file recorded. By default: the context, sampling\n"
	"statistics, health metrics, the share of each class, and the top functions\n"
	"of the cpu class by self and total time with their hottest source line\n"
	"(-c wall: every class, the wall-clock time). Percentages are of the\n"
	"class's thread-samples: however many threads, they add up to 100%.\n"
	"\n"
	"Views (one at a time):\n"
	"      --tree             the call tree, root first, with total and self shares\n"
	"      --folded           one line per stack, 'root;...;leaf COUNT' (flame graphs)\n"
	"      --threads          per thread: samples, share, and the share of each class\n"
	"      --metrics          health metrics over time: a table and text charts\n"
	"      --leaks            the leak suspects of record --alloc: call sites whose\n"
	"                         allocations not freed kept rising, with their rate\n"
	"\n"
	"Options:\n"
	"      --alloc            allocation hot spots (--type=alloc), how the probing\n"
	"                         went, and the leak suspects\n"
	"      --type=TYPE        the profile type: samples (thread-samples, the default),\n"
	"                         alloc, inuse (bytes), duration (calls), errors, crashes\n"
	"  -c, --class=CLASS      only samples of CLASS: " CMD_CLASS_DEFAULT_NAME " (default), runq, lock, wait,\n"
	"                         net, disk, ipc, poll, sleep, child, aio, syscall, fault,\n"
	"                         stopped; wall is every class (thread-samples only)\n"
	"  -T, --thread=TID|NAME  only one thread, by id or name pattern\n"
	"      --pid=PID          only the threads of process PID (a session of several)\n"
	"      --since=TIME       only from TIME after the start (seconds; or 30s, 2m, 1h)\n"
	"      --until=TIME       only until TIME after the start\n"
	"  -n, --top=N            functions to list (default 20)\n"
	"      --by-line          list source lines instead of functions\n"
	"      --sort=KEY         order the list by self (default) or total\n"
	"      --min-percent=P    in --tree, fold children under P percent (default 1)\n"
	"  -j, --json             print JSON (the default view, --tree, --threads, --metrics)\n"
	"  -h, --help             show this help\n";

enum view { VIEW_TOP, VIEW_TREE, VIEW_FOLDED, VIEW_THREADS, VIEW_METRICS, VIEW_LEAKS };

struct report_opts {
	enum view view;
	struct selection sel;
	size_t top;
	bool by_line, sort_total, json, alloc;
	double min_percent;
	const char *file;
};

static int
parse(int argc, char **argv, struct report_opts *o)
{
	enum { OPT_TREE = 256, OPT_FOLDED, OPT_THREADS, OPT_METRICS, OPT_BY_LINE, OPT_SORT,
	       OPT_MIN, OPT_LEAKS, OPT_ALLOC };
	static const struct option longopts[] = {
		{ "tree", no_argument, NULL, OPT_TREE },
		{ "folded", no_argument, NULL, OPT_FOLDED },
		{ "threads", no_argument, NULL, OPT_THREADS },
		{ "metrics", no_argument, NULL, OPT_METRICS },
		{ "leaks", no_argument, NULL, OPT_LEAKS },
		{ "alloc", no_argument, NULL, OPT_ALLOC },
		{ "type", required_argument, NULL, CMD_OPT_TYPE },
		{ "class", required_argument, NULL, 'c' },
		{ "thread", required_argument, NULL, 'T' },
		{ "pid", required_argument, NULL, CMD_OPT_PID },
		{ "since", required_argument, NULL, CMD_OPT_SINCE },
		{ "until", required_argument, NULL, CMD_OPT_UNTIL },
		{ "top", required_argument, NULL, 'n' },
		{ "by-line", no_argument, NULL, OPT_BY_LINE },
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "min-percent", required_argument, NULL, OPT_MIN },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc, views = 0;
	long v;

	memset(o, 0, sizeof *o);
	cmd_selection_init(&o->sel);
	o->top = 20;
	o->min_percent = 1.0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:T:n:jh", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_TREE: o->view = VIEW_TREE; views++; break;
		case OPT_FOLDED: o->view = VIEW_FOLDED; views++; break;
		case OPT_THREADS: o->view = VIEW_THREADS; views++; break;
		case OPT_METRICS: o->view = VIEW_METRICS; views++; break;
		case OPT_LEAKS: o->view = VIEW_LEAKS; views++; break;
		case OPT_ALLOC:
			o->alloc = true;
			o->sel.type = PT_ALLOC;
			break;
		case 'n':
			if (!parse_long(optarg, 1, 1000000, &v))
				return cmd_usage_error("report", "--top takes a number from 1, not '%s'", optarg);
			o->top = (size_t)v;
			break;
		case OPT_BY_LINE: o->by_line = true; break;
		case OPT_SORT:
			if (strcmp(optarg, "self") == 0)
				o->sort_total = false;
			else if (strcmp(optarg, "total") == 0)
				o->sort_total = true;
			else
				return cmd_usage_error("report", "--sort takes self or total, not '%s'", optarg);
			break;
		case OPT_MIN:
			if (!parse_number(optarg, NUM_FRACTION, 0, 100, &o->min_percent, NULL))
				return cmd_usage_error("report", "--min-percent takes a number from 0 to 100, not '%s'", optarg);
			break;
		case 'j': o->json = true; break;
		case 'h':
			fputs(cmd_report_usage, stdout);
			return -1;
		default:
			rc = cmd_opt_selection("report", ch, optarg, &o->sel);
			if (rc == 0)
				return cmd_bad_option("report", ch, argv);
			if (rc != 1)
				return rc;
			break;
		}
	}
	if (views > 1)
		return cmd_usage_error("report", "--tree, --folded, --threads, --metrics and --leaks are separate views: give one");
	if (o->json && o->view == VIEW_FOLDED)
		return cmd_usage_error("report", "--folded is text; --json goes with the other views");
	if (o->sel.until <= o->sel.since)
		return cmd_usage_error("report", "--until must come after --since");
	if ((rc = cmd_selection_check("report", &o->sel, argc - optind)) != 0)
		return rc;
	if (optind != argc - 1)
		return cmd_usage_error("report", optind >= argc ? "a session FILE is needed" : "one FILE, please");
	o->file = argv[optind];
	return 0;
}

/* What the selection counts: the class of thread-samples, else the type. */
static const char *
class_label(const struct selection *sel)
{
	const struct ptype *pt = ptype_get(sel->type);

	if (!pt->classed)
		return pt->desc;
	return sel->cls < 0 ? "wall (all classes)" : class_name((enum sample_class)sel->cls);
}

/* The selection's class for JSON ("wall"), or its type's name. */
static const char *
class_key(const struct selection *sel)
{
	if (!ptype_get(sel->type)->classed)
		return ptype_get(sel->type)->name;
	return sel->cls < 0 ? "wall" : class_name((enum sample_class)sel->cls);
}

/* A value of the type as text: bytes as a size ("1.5 MiB"), others as
 * the number. */
static const char *
value_text(unsigned type, uint64_t value, char *buf, size_t n)
{
	if (strcmp(ptype_get(type)->unit, "bytes") == 0)
		format_bytes((double)value, buf, n);
	else
		snprintf(buf, n, "%llu", (unsigned long long)value);
	return buf;
}

/* An amount of the type: "120 thread-samples", "1.5 MiB in 3 objects",
 * "4000 nanoseconds in 3 calls". */
static const char *
amount(unsigned type, uint64_t value, uint64_t count, char *buf, size_t n)
{
	const struct ptype *pt = ptype_get(type);
	char v[32];

	if (pt->weighted && strcmp(pt->unit, "bytes") == 0)
		snprintf(buf, n, "%s in %llu %s", value_text(type, value, v, sizeof v),
			 (unsigned long long)count, pt->count_unit);
	else if (pt->weighted)
		snprintf(buf, n, "%llu %s in %llu %s", (unsigned long long)value, pt->unit,
			 (unsigned long long)count, pt->count_unit);
	else
		snprintf(buf, n, "%llu %s", (unsigned long long)value, pt->desc);
	return buf;
}

/* Memory types (bytes over objects) list each function's objects and
 * their share beside its bytes. */
static bool
is_sized(unsigned type)
{
	return ptype_get(type)->weighted && strcmp(ptype_get(type)->unit, "bytes") == 0;
}

static double
pct(uint64_t part, uint64_t whole)
{
	return format_share(part, whole);
}

static void
human_bytes(double b, char *buf, size_t n)
{
	format_bytes(b, buf, n);
}

/* " (file:line) [module]" of a function or line. */
static const char *
func_location(const struct profile *p, uint32_t file, int32_t line, uint32_t module, char *buf,
	      size_t n)
{
	format_frame_where(buf, n, file ? profile_str(p, file) : NULL, line,
			   module ? profile_str(p, p->modules[module].path) : NULL);
	return buf;
}

/* ---- the default view ---- */

static const char *
meta_or(const struct session_data *d, const char *key)
{
	const char *v = session_meta(d, key);

	return v != NULL ? text_safe(v) : "?";
}

static void
print_context(const struct session_data *d, const char *file)
{
	const char *v;
	bool tags = false;

	printf("session   %s (schema %s, siprof %s)\n", text_safe(file),
	       meta_or(d, "schema_version"),
	       meta_or(d, "siprof_version"));
	printf("process   %s %s: %s\n", meta_or(d, "pid"),
	       meta_or(d, "comm"),
	       meta_or(d, "command"));
	if ((v = session_meta(d, "executable")) != NULL)
		printf("binary    %s%s%s\n", text_safe(v), session_meta(d, "build_id") ? " build-id " : "",
		       session_meta(d, "build_id") ? meta_or(d, "build_id") : "");
	printf("host      %s, kernel %s\n", meta_or(d, "host"),
	       meta_or(d, "kernel"));
	printf("time      %s .. %s (%.1f s), %s Hz, unwinder %s\n",
	       meta_or(d, "start"), meta_or(d, "end"),
	       session_duration(d), meta_or(d, "rate_hz"),
	       meta_or(d, "unwinder"));
	for (size_t i = 0; i < d->n_meta; i++) {
		if (strncmp(d->meta[i].key, "tag.", 4) != 0)
			continue;
		printf("%s%s=%s", tags ? " " : "tags      ", text_safe(d->meta[i].key + 4),
		       text_safe(d->meta[i].value));
		tags = true;
	}
	if (tags)
		putchar('\n');
	for (size_t i = 0; i < d->n_gaps; i++) {
		const struct session_gap *g = &d->gaps[i];

		/* A gap with no end lasted until the end of the session. */
		printf("%s%s from %.1f s to %.1f s", i ? ", " : "gaps      ", text_safe(g->reason),
		       g->start, g->end >= 0 ? g->end : session_duration(d));
		if (i + 1 == d->n_gaps)
			printf(": not sampled\n");
	}
}

static void
print_sampling(const struct session_data *d)
{
	double dur = session_duration(d);

	/* The rate is over the time that was sampled, without the gaps. */
	for (size_t i = 0; i < d->n_gaps; i++)
		dur -= (d->gaps[i].end >= 0 ? d->gaps[i].end : session_duration(d)) -
		       d->gaps[i].start;
	printf("\nsampling  %.0f ticks (%.1f Hz achieved), %.0f thread-samples, %.0f missed ticks\n",
	       session_stat(d, "ticks"), dur > 0 ? session_stat(d, "ticks") / dur : 0.0,
	       session_stat(d, "samples"), session_stat(d, "missed_ticks"));
	printf("          %.0f stops (held p50 %.0f us, p99 %.0f us, max %.0f us), "
	       "%.0f not stopped, %.0f reused\n",
	       session_stat(d, "stops"), session_stat(d, "held_p50_us"),
	       session_stat(d, "held_p99_us"), session_stat(d, "held_max_us"),
	       session_stat(d, "nonstop_snapshots"), session_stat(d, "reused_stacks"));
	printf("          %.0f truncated stacks, %.0f unwind failures, %.0f failed, %.0f dropped; "
	       "%.0f threads seen, %.0f exited\n",
	       session_stat(d, "truncated_stacks"), session_stat(d, "unwind_failures"),
	       session_stat(d, "failed_snapshots"), session_stat(d, "dropped_samples"),
	       session_stat(d, "threads_seen"), session_stat(d, "threads_exited"));
}

/* How many CPUs the process may use, as the live view prints it ("2",
 * "1.5"); "?" in a session without it. */
static const char *
cpu_capacity(const struct session_data *d, char *buf, size_t n)
{
	const char *v = session_meta(d, "cpu_capacity");
	double cpus;

	if (v == NULL || !parse_number(v, NUM_FRACTION, 0, 1e6, &cpus, NULL))
		return "?";
	snprintf(buf, n, "%g", cpus);
	return buf;
}

/* Rows of the metrics series inside the selection's window. */
static void
metric_window(const struct session_data *d, const struct selection *sel, size_t *from,
	      size_t *to)
{
	*from = 0;
	while (*from < d->metrics.n && d->metrics.rows[*from].t < sel->since)
		(*from)++;
	*to = *from;
	while (*to < d->metrics.n && d->metrics.rows[*to].t < sel->until)
		(*to)++;
}

/* glibc malloc's own figures over rows [from, to), or why there are none. */
static void
print_heap_summary(const struct session_data *d, size_t from, size_t to)
{
	const struct metric_row *last = NULL;
	double lo = 0, hi = 0;
	char sys[32], use[32], a[32], b[32];
	const char *why = session_meta(d, "heap_unavailable");

	for (size_t i = from; i < to; i++) {
		const struct metric_row *r = &d->metrics.rows[i];

		if (!r->have_heap)
			continue;
		if (last == NULL || (double)r->heap.inuse < lo)
			lo = (double)r->heap.inuse;
		if (last == NULL || (double)r->heap.inuse > hi)
			hi = (double)r->heap.inuse;
		last = r;
	}
	if (last == NULL) {
		/* Sessions before schema 5 did not read the heap: nothing said. */
		if (why != NULL)
			printf("          heap not read: %s\n", why);
		return;
	}
	human_bytes((double)last->heap.system, sys, sizeof sys);
	human_bytes((double)last->heap.inuse, use, sizeof use);
	human_bytes(lo, a, sizeof a);
	human_bytes(hi, b, sizeof b);
	printf("          heap (glibc malloc) %s in use of %s from the system, %u arenas; "
	       "in use %s .. %s\n", use, sys, last->heap.arenas, a, b);
}

static void
print_metrics_summary(const struct session_data *d, const struct selection *sel)
{
	size_t from, to;
	double cpu_sum = 0, cpu_max = 0;
	uint64_t threads_max = 0;
	char lo[32], hi[32], b[32], c[32], e[32], rate[32];
	const struct metric_row *first, *last;
	struct metrics_range rss;
	double secs;
	char cpus[32];
	const char *cap = cpu_capacity(d, cpus, sizeof cpus);

	metric_window(d, sel, &from, &to);
	if (to - from < 2) {
		printf("\nmetrics   not enough of them in this window\n");
		return;
	}
	for (size_t i = from + 1; i < to; i++) {
		const struct metric_row *r = &d->metrics.rows[i];

		cpu_sum += r->cpu_percent;
		if (r->cpu_percent > cpu_max)
			cpu_max = r->cpu_percent;
		if (r->m.threads > threads_max)
			threads_max = r->m.threads;
	}
	first = &d->metrics.rows[from];
	last = &d->metrics.rows[to - 1];
	secs = last->t > first->t ? (double)(last->t - first->t) : 1;
	metrics_rss_range(&d->metrics, from, to, &rss);
	human_bytes(rss.min, lo, sizeof lo);
	human_bytes(rss.max, hi, sizeof hi);
	human_bytes((double)last->m.rss_peak, b, sizeof b);
	metrics_format_rate(rss.rate, rate, sizeof rate);
	/* Not the cpu class: that one is a share of thread-samples. */
	printf("\nmetrics   CPU %.0f%% average, %.0f%% highest (share of the %s CPUs it may use)\n",
	       cpu_sum / (double)(to - from - 1), cpu_max, cap);
	printf("          RSS %s .. %s, %s over %u s (peak %s); %llu threads at most\n", lo, hi,
	       rate, rss.seconds, b, (unsigned long long)threads_max);
	human_bytes((double)(last->m.io_read_bytes - first->m.io_read_bytes) / secs, c, sizeof c);
	human_bytes((double)(last->m.io_write_bytes - first->m.io_write_bytes) / secs, e, sizeof e);
	printf("          %.0f voluntary and %.0f involuntary context switches/s (all threads), "
	       "%.0f minor and %.0f major faults/s\n",
	       (double)(last->m.ctx_voluntary - first->m.ctx_voluntary) / secs,
	       (double)(last->m.ctx_involuntary - first->m.ctx_involuntary) / secs,
	       (double)(last->m.minflt - first->m.minflt) / secs,
	       (double)(last->m.majflt - first->m.majflt) / secs);
	if (last->m.have_io)
		printf("          storage read %s/s, written %s/s; %llu open fds\n", c, e,
		       (unsigned long long)last->m.fds);
	else
		printf("          %llu open fds\n", (unsigned long long)last->m.fds);
	print_heap_summary(d, from, to);
}

/* The cpu class against the CPU time the kernel accounted to the process
 * (utime + stime) over the session, for the whole process and session
 * only. False when there is nothing to compare. */
static bool
cpu_time_check(const struct session_data *d, const struct selection *sel,
	       const struct thread_table *tt, double *class_s, double *kernel_s)
{
	const struct metric_row *first, *last;
	const char *rate = session_meta(d, "rate_hz");
	double hz = rate != NULL ? strtod(rate, NULL) : 0, secs;

	if (sel->tid != 0 || sel->thread != NULL || sel->since != 0 || sel->until != UINT32_MAX ||
	    d->metrics.n < 2 || hz <= 0)
		return false;
	first = &d->metrics.rows[0];
	last = &d->metrics.rows[d->metrics.n - 1];
	secs = (double)(last->t - first->t);
	if (secs <= 0)
		return false;
	*class_s = (double)tt->by_class[CLASS_CPU] / hz;
	/* The metrics' seconds, brought to the session's length. */
	*kernel_s = (double)(last->m.utime_ns + last->m.stime_ns - first->m.utime_ns -
			     first->m.stime_ns) / 1e9 * session_duration(d) / secs;
	return true;
}

static void
print_cpu_time(const struct session_data *d, const struct selection *sel,
	       const struct thread_table *tt)
{
	double ours, kernel;

	if (!cpu_time_check(d, sel, tt, &ours, &kernel))
		return;
	printf("cpu time  %.2f s in the cpu class, %.2f s of CPU time by the kernel", ours, kernel);
	if (kernel >= 0.5 && ours < 0.8 * kernel)
		printf(" (%.0f%%: the samples found it running less than it ran; see siprof(1), "
		       "CPU TIME)", 100 * ours / kernel);
	putchar('\n');
}

/* The types with samples besides thread-samples, with their totals. */
static void
print_types(const struct profile *p)
{
	uint64_t value[PT_COUNT], count[PT_COUNT];
	char buf[128];
	bool any = false;

	analyze_type_totals(p, value, count);
	for (unsigned t = 0; t < PT_COUNT; t++) {
		if (count[t] == 0 || t == PT_SAMPLES)
			continue;
		printf("%s%s: %s", any ? ", " : "\ntypes     ", ptype_get(t)->name,
		       amount(t, value[t], count[t], buf, sizeof buf));
		any = true;
	}
	if (any)
		printf(" (--type)\n");
}

static json_t *
types_json(const struct profile *p)
{
	uint64_t value[PT_COUNT], count[PT_COUNT];
	json_t *o = json_object();

	analyze_type_totals(p, value, count);
	for (unsigned t = 0; t < PT_COUNT; t++)
		if (count[t] > 0)
			json_object_set_new(o, ptype_get(t)->name,
					    json_pack("{s:s, s:I, s:I}", "unit", ptype_get(t)->unit,
						      "value", (json_int_t)value[t],
						      "count", (json_int_t)count[t]));
	return o;
}

/* Every class's share of the thread-samples in the selection's threads
 * and window, whichever class the view shows: the wall-clock time the cpu
 * view leaves out is in sight. */
static void
print_classes(const struct thread_table *tt)
{
	char buf[512];

	printf("classes   %s  (of %llu thread-samples)\n",
	       thread_table_class_shares(tt, buf, sizeof buf), (unsigned long long)tt->total);
}

/* What share of every class the view's class is, and how to see them
 * all: " (6.1% of all; -c wall for every class)"; "" for wall. */
static const char *
class_note(const struct selection *sel, const struct thread_table *tt, char *buf, size_t n)
{
	if (!ptype_get(sel->type)->classed || sel->cls < 0)
		buf[0] = '\0';
	else
		snprintf(buf, n, " (%.1f%% of all; -c wall for every class)",
			 pct(tt->by_class[sel->cls], tt->total));
	return buf;
}

/* Per process, from the threads' table: a session of several processes
 * (record -p PID,PID or --children) shows how the samples split. */
struct proc_stat {
	uint32_t pid, threads;
	uint64_t total;
};

static size_t
group_processes(const struct profile *p, const struct thread_table *tt, struct proc_stat **out)
{
	struct proc_stat *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < tt->n; i++) {
		uint32_t pid = profile_thread_pid(p, tt->threads[i].tid);
		size_t k;

		for (k = 0; k < n && v[k].pid != pid; k++)
			;
		if (k == n) {
			GROW(v, cap, n + 1);
			v[n++] = (struct proc_stat){ pid, 0, 0 };
		}
		v[k].threads++;
		v[k].total += tt->threads[i].total;
	}
	/* Most samples first (the thread table is in that order already,
	 * but a process's threads add up). */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j].total > v[j - 1].total; j--) {
			struct proc_stat t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	return n;
}

/* A process's name: its main thread's, else its first thread's. */
static const char *
process_name(const struct profile *p, uint32_t pid)
{
	const char *name = profile_thread_name(p, pid);

	for (size_t i = 0; *name == '\0' && i < p->n_threads; i++)
		if (p->threads[i].pid == pid)
			name = profile_str(p, p->threads[i].name);
	return name;
}

static void
print_processes(const struct profile *p, const struct thread_table *tt)
{
	struct proc_stat *v;
	size_t n = group_processes(p, tt, &v);

	if (n > 1) {
		printf("\nprocesses %zu (--pid=PID selects one)\n", n);
		printf("  %8s  %-16s %7s %8s %6s\n", "pid", "name", "threads", "samples", "share");
		for (size_t i = 0; i < n; i++)
			printf("  %8u  %-16s %7u %8llu %5.1f%%\n", v[i].pid,
			       text_safe(process_name(p, v[i].pid)), v[i].threads,
			       (unsigned long long)v[i].total, pct(v[i].total, tt->total));
	}
	free(v);
}

static json_t *
processes_json(const struct profile *p, const struct thread_table *tt)
{
	struct proc_stat *v;
	size_t n = group_processes(p, tt, &v);
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:i, s:s, s:i, s:I, s:f}",
			"pid", (int)v[i].pid, "name", text_utf8(process_name(p, v[i].pid)),
			"threads", (int)v[i].threads, "samples", (json_int_t)v[i].total,
			"percent", pct(v[i].total, tt->total)));
	free(v);
	return arr;
}

/* A function's name for a text report: long template and generic
 * argument lists collapsed to <…> so that file:line stays in sight (the
 * JSON has the whole name). */
#define REPORT_NAME_WIDTH 60

static const char *
short_name(const char *name, char *buf, size_t len)
{
	return text_safe(names_short(name, REPORT_NAME_WIDTH, buf, len));
}

static void
print_functions(const struct profile *p, const struct report_opts *o,
		const struct thread_table *tt)
{
	const struct ptype *pt = ptype_get(o->sel.type);
	struct func_table ft;
	char loc[512], name[1024], buf[128], note[128];

	analyze_functions(p, &o->sel, o->by_line, o->sort_total, &ft);
	printf("\ntop %s by %s: %s, %s%s\n", o->by_line ? "lines" : "functions",
	       o->sort_total ? "total" : "self", class_label(&o->sel),
	       amount(o->sel.type, ft.total, ft.count, buf, sizeof buf),
	       class_note(&o->sel, tt, note, sizeof note));
	/* Weighted types also show how many things the value is over
	 * (objects, calls), and distributions their largest value; sizes,
	 * the objects a function allocated itself (or with its callees, by
	 * total) and their share of all objects. */
	if (is_sized(o->sel.type))
		printf("  self%%  total%%       self      total   objects objs%%  function (file:line) [module]\n");
	else
		printf("  self%%  total%%     self    total%s%s  function (file:line) [module]\n",
		       pt->weighted ? "    count" : "", pt->agg == PT_DIST ? "      max" : "");
	for (size_t i = 0; i < ft.n && i < o->top; i++) {
		const struct func_stat *f = &ft.funcs[i];

		if (is_sized(o->sel.type)) {
			char self[32], total[32];
			uint64_t objs = o->sort_total ? f->total_count : f->self_count;

			printf("%6.1f%% %6.1f%% %10s %10s %9llu %5.1f%%", pct(f->self, ft.total),
			       pct(f->total, ft.total), value_text(o->sel.type, f->self, self, sizeof self),
			       value_text(o->sel.type, f->total, total, sizeof total),
			       (unsigned long long)objs, pct(objs, ft.count));
			printf("  %s%s\n", short_name(profile_str(p, f->function), name, sizeof name),
			       func_location(p, f->file, f->line, f->module, loc, sizeof loc));
			continue;
		}
		printf("%6.1f%% %6.1f%% %8llu %8llu", pct(f->self, ft.total), pct(f->total, ft.total),
		       (unsigned long long)f->self, (unsigned long long)f->total);
		if (pt->weighted)
			printf(" %8llu", (unsigned long long)f->total_count);
		if (pt->agg == PT_DIST)
			printf(" %8llu", (unsigned long long)f->max);
		printf("  %s%s\n", short_name(profile_str(p, f->function), name, sizeof name),
		       func_location(p, f->file, f->line, f->module, loc, sizeof loc));
	}
	if (ft.n == 0)
		printf("  (no samples in this selection)\n");
	func_table_release(&ft);
}

static json_t *
functions_json(const struct profile *p, const struct report_opts *o)
{
	struct func_table ft;
	json_t *arr = json_array();

	analyze_functions(p, &o->sel, o->by_line, o->sort_total, &ft);
	for (size_t i = 0; i < ft.n && i < o->top; i++) {
		const struct func_stat *f = &ft.funcs[i];

		json_array_append_new(arr, json_pack("{s:s, s:s?, s:i, s:s?, s:I, s:I, s:f, s:f}",
			"function", text_utf8(profile_str(p, f->function)),
			"file", f->file ? text_utf8(profile_str(p, f->file)) : NULL,
			"line", (int)f->line,
			"module", f->module ? text_utf8(profile_str(p, p->modules[f->module].path)) : NULL,
			"self", (json_int_t)f->self, "total", (json_int_t)f->total,
			"self_percent", pct(f->self, ft.total), "total_percent", pct(f->total, ft.total)));
		if (ptype_get(o->sel.type)->weighted) {
			json_t *last = json_array_get(arr, json_array_size(arr) - 1);

			json_object_set_new(last, "self_count", json_integer((json_int_t)f->self_count));
			json_object_set_new(last, "total_count", json_integer((json_int_t)f->total_count));
			/* The objects' (calls') shares beside the values'. */
			json_object_set_new(last, "self_count_percent", json_real(pct(f->self_count, ft.count)));
			json_object_set_new(last, "total_count_percent",
					    json_real(pct(f->total_count, ft.count)));
			if (ptype_get(o->sel.type)->agg == PT_DIST)
				json_object_set_new(last, "max", json_integer((json_int_t)f->max));
		}
	}
	func_table_release(&ft);
	return arr;
}

static json_t *
context_json(const struct session_data *d)
{
	json_t *ctx = json_object(), *stats = json_object(), *tags = json_object();
	json_t *gaps = json_array();

	for (size_t i = 0; i < d->n_meta; i++) {
		const char *value = text_utf8(d->meta[i].value);

		if (strncmp(d->meta[i].key, "tag.", 4) == 0)
			json_object_set_new(tags, text_utf8(d->meta[i].key + 4), json_string(value));
		else
			json_object_set_new(ctx, text_utf8(d->meta[i].key), json_string(value));
	}
	json_object_set_new(ctx, "tags", tags);
	for (size_t i = 0; i < d->n_stats; i++)
		json_object_set_new(stats, text_utf8(d->stats[i].key),
				    json_real(session_stat(d, d->stats[i].key)));
	json_object_set_new(ctx, "stats", stats);
	for (size_t i = 0; i < d->n_gaps; i++) {
		const struct session_gap *g = &d->gaps[i];

		json_array_append_new(gaps, json_pack("{s:f, s:f, s:s}", "start", g->start, "end",
						      g->end >= 0 ? g->end : session_duration(d),
						      "reason", text_utf8(g->reason)));
	}
	json_object_set_new(ctx, "gaps", gaps);
	return ctx;
}

/* "classes": each class's thread-samples, "class_percent": its share. */
static void
classes_json(json_t *doc, const struct thread_table *tt)
{
	json_t *o = json_object(), *share = json_object();

	for (int c = 0; c < CLASS_COUNT; c++) {
		if (tt->by_class[c] == 0)
			continue;
		json_object_set_new(o, class_name((enum sample_class)c),
				    json_integer((json_int_t)tt->by_class[c]));
		json_object_set_new(share, class_name((enum sample_class)c),
				    json_real(pct(tt->by_class[c], tt->total)));
	}
	json_object_set_new(doc, "classes", o);
	json_object_set_new(doc, "class_percent", share);
}

/* ---- --tree ---- */

static void
print_tree_node(const struct profile *p, const struct tree_node *n, uint64_t total, int depth,
		double min_percent, unsigned type)
{
	char loc[512], name[1024], size[32];
	size_t shown = 0, hidden = 0;
	uint64_t hidden_total = 0;

	/* Memory: the bytes under each node beside its shares. */
	printf("%6.1f%% %6.1f%%", pct(n->total, total), pct(n->self, total));
	if (is_sized(type))
		printf(" %10s", value_text(type, n->total, size, sizeof size));
	printf("  %*s%s%s\n", depth * 2, "", short_name(profile_str(p, n->function), name, sizeof name),
	       func_location(p, n->file, n->line, n->module, loc, sizeof loc));
	for (size_t i = 0; i < n->n; i++) {
		if (pct(n->children[i]->total, total) >= min_percent) {
			print_tree_node(p, n->children[i], total, depth + 1, min_percent, type);
			shown++;
		} else {
			hidden++;
			hidden_total += n->children[i]->total;
		}
	}
	if (hidden > 0)
		printf("%6.1f%%        %s  %*s... %zu more under %.1f%%\n", pct(hidden_total, total),
		       is_sized(type) ? "           " : "", (depth + 1) * 2, "", hidden, min_percent);
}

static json_t *
tree_json(const struct profile *p, const struct tree_node *n, uint64_t total, double min_percent)
{
	json_t *o = json_pack("{s:s, s:s?, s:i, s:s?, s:I, s:I, s:f, s:f}",
		"function", text_utf8(profile_str(p, n->function)),
		"file", n->file ? text_utf8(profile_str(p, n->file)) : NULL, "line", (int)n->line,
		"module", n->module ? text_utf8(profile_str(p, p->modules[n->module].path)) : NULL,
		"total", (json_int_t)n->total, "self", (json_int_t)n->self,
		"total_percent", pct(n->total, total), "self_percent", pct(n->self, total));
	json_t *children = json_array();

	json_object_set_new(o, "tail_call", json_boolean(n->tailcall));
	for (size_t i = 0; i < n->n; i++)
		if (pct(n->children[i]->total, total) >= min_percent)
			json_array_append_new(children, tree_json(p, n->children[i], total, min_percent));
	json_object_set_new(o, "children", children);
	return o;
}

static void
report_tree(const struct profile *p, const struct report_opts *o)
{
	bool classed = ptype_get(o->sel.type)->classed;
	uint64_t total;
	struct tree_node *root = analyze_tree(p, &o->sel, &total);
	struct thread_table tt;

	analyze_threads(p, &o->sel, &tt);
	tree_sort(root);
	if (o->json) {
		json_t *doc = json_object(), *roots = json_array();

		for (size_t i = 0; i < root->n; i++)
			if (pct(root->children[i]->total, total) >= o->min_percent)
				json_array_append_new(roots, tree_json(p, root->children[i], total,
								       o->min_percent));
		json_object_set_new(doc, "type", json_string(ptype_get(o->sel.type)->name));
		json_object_set_new(doc, "unit", json_string(ptype_get(o->sel.type)->unit));
		json_object_set_new(doc, "class", json_string(class_key(&o->sel)));
		if (classed)
			classes_json(doc, &tt);
		json_object_set_new(doc, "total", json_integer((json_int_t)total));
		json_object_set_new(doc, "count", json_integer((json_int_t)root->total_count));
		json_object_set_new(doc, "roots", roots);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(doc);
	} else {
		char buf[128], note[128];

		printf("call tree: %s, %s%s; children under %.1f%% folded\n", class_label(&o->sel),
		       amount(o->sel.type, total, root->total_count, buf, sizeof buf),
		       class_note(&o->sel, &tt, note, sizeof note), o->min_percent);
		if (classed)
			print_classes(&tt);
		printf(" total%%   self%%%s  function (file:line) [module]\n",
		       is_sized(o->sel.type) ? "      total" : "");
		for (size_t i = 0; i < root->n; i++)
			if (pct(root->children[i]->total, total) >= o->min_percent)
				print_tree_node(p, root->children[i], total, 0, o->min_percent,
						o->sel.type);
		if (total == 0)
			printf("  (no samples in this selection)\n");
	}
	thread_table_release(&tt);
	tree_free(root);
}

/* ---- --threads ---- */

static void
report_threads(const struct profile *p, const struct report_opts *o)
{
	bool classed = ptype_get(o->sel.type)->classed;
	struct thread_table tt;
	char buf[128];

	analyze_threads(p, &o->sel, &tt);
	if (o->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < tt.n; i++) {
			const struct thread_stat *t = &tt.threads[i];
			json_t *cls = json_object();

			for (int c = 0; classed && c < CLASS_COUNT; c++)
				if (t->by_class[c] > 0)
					json_object_set_new(cls, class_name((enum sample_class)c),
							    json_integer((json_int_t)t->by_class[c]));
			json_array_append_new(arr, json_pack("{s:i, s:s, s:I, s:f, s:o}",
				"tid", (int)t->tid, "name", text_utf8(profile_thread_name(p, t->tid)),
				"samples", (json_int_t)t->total, "percent", pct(t->total, tt.total),
				"classes", cls));
			if (ptype_get(o->sel.type)->weighted)
				json_object_set_new(json_array_get(arr, json_array_size(arr) - 1),
						    "count", json_integer((json_int_t)t->count));
		}
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
		thread_table_release(&tt);
		return;
	}
	printf("threads: %zu, %s%s\n", tt.n, amount(o->sel.type, tt.total, tt.count, buf, sizeof buf),
	       classed ? " of every class; each class as a share of the thread's samples" : "");
	if (classed)
		print_classes(&tt);
	printf("%8s  %-16s %8s %6s ", "tid", "name", classed ? "samples" : ptype_get(o->sel.type)->unit,
	       "share");
	for (int c = 0; classed && c < CLASS_COUNT; c++)
		if (tt.by_class[c] > 0)
			printf(" %7s", class_name((enum sample_class)c));
	putchar('\n');
	for (size_t i = 0; i < tt.n; i++) {
		const struct thread_stat *t = &tt.threads[i];

		char v[32];

		printf("%8u  %-16s %8s %5.1f%% ", t->tid, text_safe(profile_thread_name(p, t->tid)),
		       value_text(o->sel.type, t->total, v, sizeof v), pct(t->total, tt.total));
		for (int c = 0; classed && c < CLASS_COUNT; c++) {
			if (tt.by_class[c] == 0)
				continue;
			if (t->by_class[c] > 0)
				printf(" %6.1f%%", pct(t->by_class[c], t->total));
			else
				printf(" %7s", "-");
		}
		putchar('\n');
	}
	thread_table_release(&tt);
}

/* ---- --metrics ---- */

/* One block character a value, scaled to [lo, hi]: from 0 for the CPU, to
 * the data's own range for RSS (growth from 68 to 70 MiB drawn from zero
 * would look flat). A value at lo is the lowest bar, not a blank, when the
 * scale does not start at zero. */
static void
spark(const double *v, size_t n, double lo, double hi)
{
	char buf[256];

	/* A chunk at a time: the rows are not bounded. */
	while (n > 0) {
		size_t drawn = format_spark(v, n, lo, hi, lo <= 0, buf, sizeof buf);

		fputs(buf, stdout);
		v += drawn;
		n -= drawn;
	}
}

static void
report_metrics(const struct session_data *d, const struct report_opts *o)
{
	size_t from, to, rows, group;
	double *cpu, *rss, *heap, cpu_max = 0, heap_max = 0;
	bool have_heap = false;
	const char *why = session_meta(d, "heap_unavailable");
	struct metrics_range range;
	char lo[32], hi[32], rate[32], cpus[32];
	const char *cap = cpu_capacity(d, cpus, sizeof cpus);

	metric_window(d, &o->sel, &from, &to);
	if (o->json) {
		json_t *arr = json_array();

		for (size_t i = from; i < to; i++) {
			const struct metric_row *r = &d->metrics.rows[i];
			json_t *row = json_pack("{s:i, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				"t", (int)r->t, "cpu_percent", r->cpu_percent,
				"utime_ns", (json_int_t)r->m.utime_ns, "stime_ns", (json_int_t)r->m.stime_ns,
				"vm_size", (json_int_t)r->m.vm_size, "rss_anon", (json_int_t)r->m.rss_anon,
				"rss_file", (json_int_t)r->m.rss_file, "rss_shmem", (json_int_t)r->m.rss_shmem,
				"rss_peak", (json_int_t)r->m.rss_peak, "threads", (json_int_t)r->m.threads,
				"ctx_voluntary", (json_int_t)r->m.ctx_voluntary,
				"ctx_involuntary", (json_int_t)r->m.ctx_involuntary,
				"minflt", (json_int_t)r->m.minflt, "majflt", (json_int_t)r->m.majflt,
				"fds", (json_int_t)r->m.fds);

			if (r->m.have_io) {
				json_object_set_new(row, "io_read_bytes", json_integer((json_int_t)r->m.io_read_bytes));
				json_object_set_new(row, "io_write_bytes", json_integer((json_int_t)r->m.io_write_bytes));
			}
			/* null where the heap was not read (see heap_unavailable). */
			json_object_set_new(row, "heap_system", r->have_heap ? json_integer((json_int_t)r->heap.system) : json_null());
			json_object_set_new(row, "heap_inuse", r->have_heap ? json_integer((json_int_t)r->heap.inuse) : json_null());
			json_object_set_new(row, "heap_arenas", r->have_heap ? json_integer((json_int_t)r->heap.arenas) : json_null());
			json_array_append_new(arr, row);
		}
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
		return;
	}
	if (to - from < 2) {
		printf("no metrics in this window\n");
		return;
	}
	/* At most 60 rows: group seconds, rates per second within each group. */
	group = (to - from - 1 + 59) / 60;
	rows = (to - from - 1 + group - 1) / group;
	cpu = xcalloc(rows, sizeof *cpu);
	rss = xcalloc(rows, sizeof *rss);
	heap = xcalloc(rows, sizeof *heap);
	printf("CPU%% is a share of the %s CPUs the process may use (not of thread-samples);\n"
	       "context switches are every thread's, those that exited included\n\n",
	       cap);
	printf("%7s %6s %10s %7s %9s %9s %9s %11s %11s %5s %10s %10s\n", "t(s)", "CPU%", "RSS",
	       "threads", "vctx/s", "ivctx/s", "minflt/s", "read/s", "written/s", "fds", "heap",
	       "heap-used");
	for (size_t r = 0; r < rows; r++) {
		size_t a = from + r * group, b = a + group < to - 1 ? a + group : to - 1;
		const struct metric_row *x = &d->metrics.rows[a], *y = &d->metrics.rows[b];
		double secs = y->t > x->t ? (double)(y->t - x->t) : 1, c = 0;
		char m[32], rd[32], wr[32], hs[32] = "-", hu[32] = "-";

		for (size_t i = a + 1; i <= b; i++)
			c += d->metrics.rows[i].cpu_percent;
		cpu[r] = c / (double)(b - a);
		rss[r] = (double)metrics_rss(y);
		cpu_max = cpu[r] > cpu_max ? cpu[r] : cpu_max;
		human_bytes(rss[r], m, sizeof m);
		if (y->m.have_io) {
			human_bytes((double)(y->m.io_read_bytes - x->m.io_read_bytes) / secs, rd, sizeof rd);
			human_bytes((double)(y->m.io_write_bytes - x->m.io_write_bytes) / secs, wr, sizeof wr);
		} else {
			snprintf(rd, sizeof rd, "-");
			snprintf(wr, sizeof wr, "-");
		}
		if (y->have_heap) {
			human_bytes((double)y->heap.system, hs, sizeof hs);
			human_bytes((double)y->heap.inuse, hu, sizeof hu);
			have_heap = true;
		}
		heap[r] = y->have_heap ? (double)y->heap.inuse : 0;
		printf("%7u %6.1f %10s %7llu %9.0f %9.0f %9.0f %11s %11s %5llu %10s %10s\n", y->t,
		       cpu[r], m, (unsigned long long)y->m.threads,
		       (double)(y->m.ctx_voluntary - x->m.ctx_voluntary) / secs,
		       (double)(y->m.ctx_involuntary - x->m.ctx_involuntary) / secs,
		       (double)(y->m.minflt - x->m.minflt) / secs, rd, wr,
		       (unsigned long long)y->m.fds, hs, hu);
	}
	/* The RSS chart spans the data's range, which its label gives. */
	metrics_rss_range(&d->metrics, from, to, &range);
	human_bytes(range.min, lo, sizeof lo);
	human_bytes(range.max, hi, sizeof hi);
	metrics_format_rate(range.rate, rate, sizeof rate);
	printf("\nCPU%%  |");
	spark(cpu, rows, 0, cpu_max);
	printf("|  0 .. %.1f%% of %s CPUs\nRSS   |", cpu_max, cap);
	spark(rss, rows, range.min, range.max);
	printf("|  %s .. %s, %s over %u s\n", lo, hi, rate, range.seconds);
	if (have_heap) {
		/* In use from zero: a second with no reading is a blank. */
		for (size_t r = 0; r < rows; r++)
			heap_max = heap[r] > heap_max ? heap[r] : heap_max;
		human_bytes(heap_max, hi, sizeof hi);
		printf("heap  |");
		spark(heap, rows, 0, heap_max);
		printf("|  0 .. %s in use (glibc malloc's own count)\n", hi);
	} else if (why != NULL) {
		printf("\nheap: not read: %s\n", why);
	}
	free(cpu);
	free(rss);
	free(heap);
}

/* The innermost frame of a stack as "function (file:line) [module]". */
static void
stack_site(const struct profile *p, uint32_t stack, char *buf, size_t n, json_t *o)
{
	const struct pframe *f = &p->frames[p->nodes[stack].frame];
	const char *fn = f->function ? p->strings[f->function] : "";
	const char *file = f->file ? p->strings[f->file] : "";
	const char *mod = f->module ? p->strings[p->modules[f->module].path] : "";

	format_frame_label(buf, n, text_safe(fn[0] ? fn : "??"), file, f->line, mod);
	if (o != NULL) {
		json_object_set_new(o, "function", json_string(text_utf8(fn)));
		json_object_set_new(o, "file", json_string(text_utf8(file)));
		json_object_set_new(o, "line", json_integer(f->line));
		json_object_set_new(o, "module", json_string(text_utf8(mod)));
	}
}

/* How record --alloc probed: windows, duty, hits and what they cost. */
static void
print_probing(const struct session_data *d)
{
	double windows = session_stat(d, "alloc_windows");

	const char *fns = session_meta(d, "alloc_functions") != NULL
				  ? session_meta(d, "alloc_functions")
				  : "the allocator";

	if (windows == 0)
		return;
	if (session_stat(d, "alloc_period_s") == 0)
		printf("\nprobing   %s; all the time (a window's end every second: %.0f)\n", fns,
		       windows);
	else
		printf("\nprobing   %s; %.0f windows of %.2f s, one every %.1f s: %.2f%% of the time\n",
		       fns, windows, session_stat(d, "alloc_window_s"),
		       session_stat(d, "alloc_period_s"), 100 * session_stat(d, "alloc_duty"));
	printf("          %.0f probe hits, %.0f lost; %.1f us each (the target's extra CPU time)%s%s\n",
	       session_stat(d, "alloc_hits"), session_stat(d, "alloc_lost"),
	       session_stat(d, "alloc_cost_per_hit_us"),
	       session_meta(d, "alloc_probes") != NULL ? "; probes through " : "",
	       session_meta(d, "alloc_probes") != NULL ? session_meta(d, "alloc_probes") : "");
	printf("          budget %.2f%% of the target's CPU time: estimated %.2f%%, measured %.2f%%\n",
	       100 * session_stat(d, "alloc_budget"), 100 * session_stat(d, "alloc_overhead_estimated"),
	       100 * session_stat(d, "alloc_overhead_measured"));
	printf("          figures are what the windows saw; divided by the duty they estimate\n"
	       "          the whole session\n");
}

static void
print_leaks(const struct session_data *d, size_t top)
{
	char label[1024], rate[64], live[64];

	if (session_stat(d, "alloc_windows") == 0) {
		printf("\nleaks     none looked for: the session was recorded without --alloc\n");
		return;
	}
	if (d->n_leaks == 0) {
		printf("\nleaks     no suspects: no call site's allocations not freed kept rising "
		       "(%.0f windows)\n", session_stat(d, "alloc_windows"));
		return;
	}
	printf("\nleak suspects (allocations not freed kept rising from window to window)\n");
	printf("     rate/min   not freed  windows  call site\n");
	for (size_t i = 0; i < d->n_leaks && i < top; i++) {
		const struct session_leak *l = &d->leaks[i];

		stack_site(&d->prof, l->stack, label, sizeof label, NULL);
		format_bytes(l->bytes_per_s * 60, rate, sizeof rate);
		format_bytes((double)l->live_bytes, live, sizeof live);
		printf("  %11s  %10s  %7u  %s\n", rate, live, l->windows, label);
	}
}

static json_t *
leaks_json(const struct session_data *d)
{
	json_t *a = json_array();

	for (size_t i = 0; i < d->n_leaks; i++) {
		const struct session_leak *l = &d->leaks[i];
		json_t *o = json_object();
		char label[1024];

		stack_site(&d->prof, l->stack, label, sizeof label, o);
		json_object_set_new(o, "rate_bytes_per_minute", json_real(l->bytes_per_s * 60));
		json_object_set_new(o, "live_bytes", json_integer((json_int_t)l->live_bytes));
		json_object_set_new(o, "windows", json_integer(l->windows));
		json_array_append_new(a, o);
	}
	return a;
}

int
cmd_report(int argc, char **argv)
{
	struct report_opts o;
	struct session_data d;
	struct thread_table tt;
	int rc;

	rc = parse(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (cmd_load_session(o.file, &d) != EXIT_OK)
		return EXIT_BADFILE;
	switch (o.view) {
	case VIEW_TREE:
		report_tree(&d.prof, &o);
		break;
	case VIEW_FOLDED:
		export_folded(stdout, &d.prof, &o.sel, &(struct export_prefix){ 0 });
		break;
	case VIEW_THREADS:
		report_threads(&d.prof, &o);
		break;
	case VIEW_METRICS:
		report_metrics(&d, &o);
		break;
	case VIEW_LEAKS:
		if (o.json) {
			json_t *doc = json_pack("{s:o, s:b, s:f}", "leaks", leaks_json(&d), "probed",
						session_stat(&d, "alloc_windows") > 0, "windows",
						session_stat(&d, "alloc_windows"));

			json_dumpf(doc, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(doc);
		} else {
			print_leaks(&d, o.top);
		}
		break;
	case VIEW_TOP:
		analyze_threads(&d.prof, &o.sel, &tt);
		if (o.json) {
			json_t *doc = json_object();

			json_object_set_new(doc, "context", context_json(&d));
			json_object_set_new(doc, "type", json_string(ptype_get(o.sel.type)->name));
			json_object_set_new(doc, "unit", json_string(ptype_get(o.sel.type)->unit));
			json_object_set_new(doc, "types", types_json(&d.prof));
			json_object_set_new(doc, "class", json_string(class_key(&o.sel)));
			if (ptype_get(o.sel.type)->classed)
				classes_json(doc, &tt);
			json_object_set_new(doc, "processes", processes_json(&d.prof, &tt));
			{
				double ours, kernel;

				if (ptype_get(o.sel.type)->classed &&
				    cpu_time_check(&d, &o.sel, &tt, &ours, &kernel))
					json_object_set_new(doc, "cpu_time",
							    json_pack("{s:f, s:f}", "class_s", ours,
								      "kernel_s", kernel));
			}
			json_object_set_new(doc, "functions", functions_json(&d.prof, &o));
			if (o.alloc)
				json_object_set_new(doc, "leaks", leaks_json(&d));
			json_dumpf(doc, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(doc);
		} else {
			print_context(&d, o.file);
			print_sampling(&d);
			print_metrics_summary(&d, &o.sel);
			print_types(&d.prof);
			if (ptype_get(o.sel.type)->classed) {
				putchar('\n');
				print_classes(&tt);
				print_cpu_time(&d, &o.sel, &tt);
			}
			print_processes(&d.prof, &tt);
			if (o.alloc)
				print_probing(&d);
			print_functions(&d.prof, &o, &tt);
			if (o.alloc)
				print_leaks(&d, o.top);
		}
		thread_table_release(&tt);
		break;
	}
	session_data_release(&d);
	return cmd_finish_output() ? EXIT_OK : EXIT_ERROR;
}
