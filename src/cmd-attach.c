/* cmd-attach.c: `siprof attach PID`, the live view. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classes.h"
#include "cmd.h"
#include "format.h"
#include "live.h"
#include "ptypes.h"
#include "recorder.h"
#include "signals.h"
#include "text.h"
#include "tracer.h"
#include "tui.h"
#include "util.h"

const char cmd_attach_usage[] =
	"usage: siprof attach [OPTIONS] PID[,PID...]\n"
	"       siprof attach [OPTIONS] -p PID[,PID...]\n"
	"\n"
	"Attach to a running process and show, live, where its threads spend their\n"
	"time and what they wait for: a call tree or a flat list per class (CPU,\n"
	"Wall, Lock, Net, Disk, ...), with health figures. Press ? for the keys.\n"
	"Quitting detaches; the process keeps running. Ctrl-Z lets it go, untraced,\n"
	"until siprof is continued (fg).\n"
	"\n"
	"Options:\n"
	"  -p, --pid=PID[,PID...] the process to attach to (or give it as PID); several\n"
	"                         are shown together\n"
	"      --children         also follow the processes they start (fork, exec)\n"
	"  -r, --rate=HZ          samples per second per thread (default " CMD_STR(CMD_RATE_DEFAULT) ")\n"
	"  -u, --unwinder=KIND    dw (default), libunwind, or fp\n"
	"  -s, --stack-size=SIZE  bytes of stack copied per sample (default " CMD_STR(CMD_STACK_SIZE_DEFAULT_K) "K)\n"
	"      --max-memory=SIZE  memory for samples waiting to be unwound (default\n"
	"                         " CMD_STR(CMD_MAX_MEMORY_DEFAULT_M) "M); past it samples are dropped and counted\n"
	"      --threads=LIST     only threads whose id or name matches LIST\n"
	"  -c, --class=CLASS      the class shown first (default cpu; wall for all;\n"
	"                         with --alloc, alloc or inuse for the memory tabs)\n"
	"      --window=WINDOW    5s (default), 60s, or all: the time shown\n"
	CMD_ALLOC_HELP
	"      --record=FILE      also record everything to a session file\n"
	"      --force            replace the --record file if it exists\n"
	"  -b, --batch            print text frames instead of the live view\n"
	"      --json             with --batch: each frame as one line of JSON\n"
	"      --iterations=N     with --batch: how many frames (default 1)\n"
	"      --delay=SECS       with --batch: seconds between frames (default 1)\n"
	"  -h, --help             show this help\n";

struct attach_opts {
	struct recorder_opts rec;
	struct cmd_sampling sampling;
	struct live_view view;
	struct cmd_pids pids;
	struct cmd_alloc alloc;
	bool batch;
	bool json;
	long iterations;
	double delay;
};

/* -f, -n and -d mean --format, --top and --duration elsewhere: here
 * their options are long-only, and the old letters say so. 0 when c is
 * not one of them. */
static int
removed_option(int c)
{
	switch (c) {
	case 'f':
		return cmd_usage_error("attach", "-f is not an option of attach; "
				       "to replace the --record file use --force");
	case 'n':
		return cmd_usage_error("attach", "-n is not an option of attach; "
				       "for the number of --batch frames use --iterations=N");
	case 'd':
		return cmd_usage_error("attach", "-d is not an option of attach; "
				       "for the seconds between frames use --delay=SECS");
	default:
		return 0;
	}
}

static int
parse(int argc, char **argv, struct attach_opts *o)
{
	enum { OPT_WINDOW = 256, OPT_RECORD, OPT_FORCE, OPT_ITERATIONS, OPT_DELAY, OPT_JSON,
	       OPT_CHILDREN };
	static const struct option longopts[] = {
		CMD_SAMPLING_OPTIONS,
		CMD_ALLOC_OPTIONS,
		{ "pid", required_argument, NULL, 'p' },
		{ "children", no_argument, NULL, OPT_CHILDREN },
		{ "class", required_argument, NULL, 'c' },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "batch", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "iterations", required_argument, NULL, OPT_ITERATIONS },
		{ "delay", required_argument, NULL, OPT_DELAY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum sample_class cls;
	int ch, rc;

	memset(o, 0, sizeof *o);
	cmd_sampling_init(&o->sampling, false);
	cmd_alloc_init(&o->alloc);
	live_view_init(&o->view);
	o->view.cls = CLASS_CPU;
	o->iterations = 1;
	o->delay = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:p:r:u:s:c:bh", longopts, NULL)) != -1) {
		if ((rc = cmd_opt_sampling("attach", ch, optarg, &o->sampling)) != 0 ||
		    (rc = cmd_opt_alloc("attach", ch, optarg, &o->alloc)) != 0) {
			if (rc != 1)
				return rc;
			continue;
		}
		switch (ch) {
		case 'p':
			if (!cmd_parse_pids("attach", optarg, &o->pids))
				return EXIT_USAGE;
			break;
		case OPT_CHILDREN:
			o->rec.sampler.children = true;
			break;
		case 'c':
			if (strcmp(optarg, "wall") == 0)
				o->view.cls = -1;
			else if (strcmp(optarg, "alloc") == 0)
				o->view.cls = LIVE_ALLOC;
			else if (strcmp(optarg, "inuse") == 0)
				o->view.cls = LIVE_INUSE;
			else if (class_parse(optarg, &cls))
				o->view.cls = (int)cls;
			else
				return cmd_usage_error("attach", "unknown class '%s'", optarg);
			break;
		case OPT_WINDOW:
			if (strcmp(optarg, "5s") == 0)
				o->view.window = WINDOW_5S;
			else if (strcmp(optarg, "60s") == 0)
				o->view.window = WINDOW_60S;
			else if (strcmp(optarg, "all") == 0)
				o->view.window = WINDOW_ALL;
			else
				return cmd_usage_error("attach", "--window takes 5s, 60s or all, not '%s'", optarg);
			break;
		case OPT_RECORD:
			o->rec.output = optarg;
			break;
		case OPT_FORCE:
			o->rec.force = true;
			break;
		case 'b':
			o->batch = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_ITERATIONS:
			if (!parse_long(optarg, 1, 1000000, &o->iterations))
				return cmd_usage_error("attach", "--iterations takes a number from 1, not '%s'", optarg);
			break;
		case OPT_DELAY:
			if (!parse_number(optarg, NUM_FRACTION, 0.1, 3600, &o->delay, NULL))
				return cmd_usage_error("attach", "--delay takes seconds from 0.1 to 3600, not '%s'", optarg);
			break;
		case 'h':
			fputs(cmd_attach_usage, stdout);
			return -1;
		default:
			if (ch == '?' && (rc = removed_option(optopt)) != 0)
				return rc;
			return cmd_bad_option("attach", ch, argv);
		}
	}
	if ((rc = cmd_sampling_check("attach", &o->sampling)) != 0 ||
	    (rc = cmd_alloc_check("attach", &o->alloc)) != 0)
		return rc;
	if (o->view.cls <= LIVE_ALLOC && !o->alloc.on)
		return cmd_usage_error("attach", "-c %s shows what --alloc profiles: give --alloc too",
				       o->view.cls == LIVE_ALLOC ? "alloc" : "inuse");
	if (o->json && !o->batch)
		return cmd_usage_error("attach", "--json is the form of --batch frames: give --batch too");
	for (; optind < argc; optind++)
		if (!cmd_parse_pids("attach", argv[optind], &o->pids))
			return EXIT_USAGE;
	if (o->pids.n == 0)
		return cmd_usage_error("attach", "a PID is needed");
	cmd_sampling_apply(&o->sampling, &o->rec);
	cmd_alloc_apply(&o->alloc, &o->rec);
	return 0;
}

/* Rows of functions in a --batch frame, as the live view fits a screen. */
#define BATCH_ROWS 20

static json_t *
share_json(uint64_t part, uint64_t whole)
{
	return json_pack("{s:I, s:f}", "samples", (json_int_t)part, "percent",
			 format_share(part, whole));
}

/* attach --alloc: the memory figures of the view's window, how the
 * probing goes, and the leak suspects. */
static json_t *
memory_json(struct recorder *r, const struct live_view *v)
{
	const struct profile *p = &r->prof;
	struct live_memory m;
	struct recorder_leak *leaks;
	json_t *doc, *arr = json_array();
	size_t n;

	live_memory(r, v, &m);
	doc = json_pack("{s:I, s:I, s:I, s:I, s:i, s:f, s:f, s:f, s:I, s:I, s:f, s:f, s:f, s:f, s:s, s:s, s:s?}",
		"alloc_bytes", (json_int_t)m.alloc_bytes, "alloc_objects", (json_int_t)m.alloc_objects,
		"inuse_bytes", (json_int_t)m.inuse_bytes, "inuse_objects", (json_int_t)m.inuse_objects,
		"windows", (int)m.stats.windows, "window_s", m.stats.window_s,
		"period_s", m.stats.period_s, "duty", m.stats.duty,
		"hits", (json_int_t)m.stats.hits, "lost", (json_int_t)m.stats.lost,
		"cost_per_hit_us", m.stats.cost_per_hit_us, "budget", m.stats.budget,
		"overhead_estimated", m.stats.estimated, "overhead_measured", m.stats.measured,
		"probes", m.stats.mechanism, "probing", m.probing,
		"error", m.error[0] != '\0' ? text_utf8(m.error) : NULL);
	n = recorder_leaks(r, &leaks);
	for (size_t i = 0; i < n; i++) {
		uint32_t frames[1];
		const struct pframe *f;

		if (stack_frames(p, leaks[i].stack, frames, 1) == 0)
			continue;
		f = &p->frames[frames[0]];
		json_array_append_new(arr, json_pack("{s:s, s:s?, s:i, s:f, s:I, s:I, s:i}",
			"function", text_utf8(profile_str(p, f->function)),
			"file", f->file ? text_utf8(profile_str(p, f->file)) : NULL,
			"line", (int)f->line,
			"rate_bytes_per_minute", leaks[i].bytes_per_s * 60,
			"live_bytes", (json_int_t)leaks[i].live_bytes,
			"live_objects", (json_int_t)leaks[i].live_objects,
			"windows", (int)leaks[i].windows));
	}
	free(leaks);
	json_object_set_new(doc, "leaks", arr);
	return doc;
}

/* --batch --json: what the text frame shows, as one line of JSON (JSON
 * Lines, man siprof: attach). */
static void
print_json_frame(FILE *f, struct recorder *r, const struct attach_opts *o, long frame)
{
	const struct metric_row *m = metrics_last(&r->metrics);
	const struct profile *p = &r->prof;
	struct sampler_stats st;
	struct selection sel;
	struct thread_table tt;
	struct func_table ft;
	json_t *doc, *cls, *threads, *funcs;
	double sampled = recorder_sampled(r);
	static const char *const window_arg[WINDOW_COUNT] = { "5s", "60s", "all" }; /* --window */

	sampler_get_stats(r->sampler, &st);
	doc = json_pack("{s:I, s:f, s:f, s:i, s:s, s:b, s:s, s:s, s:f, s:f, s:I, s:I, s:I, s:I}",
		"frame", (json_int_t)frame,
		"time", (double)(r->start_unix_ns + (now_ns() - r->start_ns)) / 1e9,
		"elapsed", recorder_elapsed(r),
		"pid", (int)r->pid, "command", text_utf8(r->comm),
		"exited", r->ended,
		"window", window_arg[o->view.window],
		"class", live_view_class(o->view.cls),
		"rate_hz", r->opts.sampler.rate_hz,
		"ticks_hz", sampled > 0 ? (double)st.ticks / sampled : 0.0,
		"samples", (json_int_t)st.samples, "missed_ticks", (json_int_t)st.missed_ticks,
		"failed", (json_int_t)st.failed, "dropped", (json_int_t)st.dropped);
	json_object_set_new(doc, "held_us", json_pack("{s:f, s:f, s:f}",
		"p50", hold_hist_percentile(&st.held, 50), "p99", hold_hist_percentile(&st.held, 99),
		"max", (double)st.held.max_ns / 1e3));
	if (m != NULL)
		json_object_set_new(doc, "process", json_pack("{s:f, s:f, s:I, s:I}",
			"cpu_percent", m->cpu_percent, "cpus", r->metrics.capacity,
			"rss_bytes", (json_int_t)metrics_rss(m),
			"threads", (json_int_t)m->m.threads));

	live_selection(r, &o->view, &sel);
	{
		struct selection samples = sel;

		samples.type = PT_SAMPLES;
		samples.cls = -1;
		analyze_threads(p, &samples, &tt);
	}
	cls = json_object();
	for (int c = 0; c < CLASS_COUNT; c++)
		if (tt.by_class[c] > 0)
			json_object_set_new(cls, class_name((enum sample_class)c),
					    share_json(tt.by_class[c], tt.total));
	json_object_set_new(doc, "thread_samples", json_integer((json_int_t)tt.total));
	json_object_set_new(doc, "classes", cls);
	threads = json_array();
	for (size_t i = 0; i < tt.n; i++) {
		const struct thread_stat *t = &tt.threads[i];
		json_t *tc = json_object();

		for (int c = 0; c < CLASS_COUNT; c++)
			if (t->by_class[c] > 0)
				json_object_set_new(tc, class_name((enum sample_class)c),
						    share_json(t->by_class[c], t->total));
		json_array_append_new(threads, json_pack("{s:i, s:s, s:I, s:f, s:o}",
			"tid", (int)t->tid, "name", text_utf8(profile_thread_name(p, t->tid)),
			"samples", (json_int_t)t->total, "percent", format_share(t->total, tt.total),
			"classes", tc));
	}
	json_object_set_new(doc, "threads", threads);
	thread_table_release(&tt);

	if (r->alloc != NULL)
		json_object_set_new(doc, "memory", memory_json(r, &o->view));
	analyze_functions(p, &sel, o->view.by_line, o->view.sort_total, &ft);
	/* Of the class tabs, thread-samples; of the memory tabs, bytes. */
	json_object_set_new(doc, "function_unit",
			    json_string(live_memory_tab(o->view.cls) ? "bytes" : "samples"));
	json_object_set_new(doc, "function_samples", json_integer((json_int_t)ft.total));
	funcs = json_array();
	for (size_t i = 0; i < ft.n && i < BATCH_ROWS; i++) {
		const struct func_stat *fs = &ft.funcs[i];

		json_array_append_new(funcs, json_pack("{s:s, s:s?, s:i, s:s?, s:I, s:I, s:f, s:f, s:I, s:I}",
			"function", text_utf8(profile_str(p, fs->function)),
			"file", fs->file ? text_utf8(profile_str(p, fs->file)) : NULL,
			"line", (int)fs->line,
			"module", fs->module ? text_utf8(profile_str(p, p->modules[fs->module].path)) : NULL,
			"self", (json_int_t)fs->self, "total", (json_int_t)fs->total,
			"self_percent", format_share(fs->self, ft.total),
			"total_percent", format_share(fs->total, ft.total),
			"self_count", (json_int_t)fs->self_count,
			"total_count", (json_int_t)fs->total_count));
	}
	json_object_set_new(doc, "functions", funcs);
	func_table_release(&ft);

	json_dumpf(doc, f, JSON_COMPACT);
	fputc('\n', f);
	json_decref(doc);
}

/* --batch: N text frames, DELAY seconds of sampling each. */
static bool
run_batch(struct recorder *r, const struct attach_opts *o, char **cause)
{
	int rc;

	for (long i = 0; i < o->iterations && !signals_stop_requested(); i++) {
		double until = recorder_elapsed(r) + o->delay;

		while (!r->ended && recorder_elapsed(r) < until && !signals_stop_requested()) {
			if (!recorder_step(r, 50, cause) && !r->ended)
				return false;
			if (signals_suspend_requested()) {
				/* Ctrl-Z: the process runs untraced while siprof is stopped. */
				if (!recorder_suspend(r, cause))
					return false;
				signals_suspend_self();
				rc = recorder_resume(r, cause);
				if (rc != TRACER_OK && rc != TRACER_NOPROC)
					return false; /* an exit shows in the next frame */
			}
		}
		if (o->json)
			print_json_frame(stdout, r, o, i + 1);
		else
			live_print_frame(stdout, r, &o->view, BATCH_ROWS);
		if (fflush(stdout) != 0)
			break;
		if (r->ended)
			break;
	}
	return true;
}

int
cmd_attach(int argc, char **argv)
{
	struct attach_opts o;
	struct recorder r;
	char *cause = NULL;
	int rc, early, ret = EXIT_OK;
	bool ok;

	rc = parse(argc, argv, &o);
	if (rc != 0) {
		cmd_sampling_release(&o.sampling);
		cmd_pids_release(&o.pids);
		return rc < 0 ? EXIT_OK : rc;
	}
	if (!o.batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		err_msg("the live view needs a terminal; for text use 'siprof attach --batch --iterations=N %d', "
			"or record with 'siprof record'", o.pids.v[0]);
		cmd_sampling_release(&o.sampling);
		cmd_pids_release(&o.pids);
		return EXIT_USAGE;
	}
	/* Before attaching: nothing is touched when probes cannot be. */
	if ((rc = cmd_alloc_probes_check(&o.alloc)) != EXIT_OK) {
		cmd_sampling_release(&o.sampling);
		cmd_pids_release(&o.pids);
		return rc;
	}
	signals_catch_suspend();
	rc = recorder_start(&r, o.pids.v, o.pids.n, NULL, &o.rec, &cause, &early);
	if (rc != TRACER_OK) {
		err_msg("%s", cause);
		free(cause);
		cmd_sampling_release(&o.sampling);
		cmd_pids_release(&o.pids);
		return cmd_exit_for_tracer(rc);
	}
	ok = o.batch ? run_batch(&r, &o, &cause) : tui_run(&r, &o.view, &cause);
	if (!ok) {
		err_msg("%s", cause);
		ret = EXIT_ERROR;
	}
	free(cause);
	cause = NULL;
	if (!recorder_finish(&r, &cause)) {
		err_msg("%s", cause);
		ret = EXIT_ERROR;
	}
	{
		struct sampler_stats st;

		sampler_get_stats(r.sampler, &st);
		if (sampler_exit_status(r.sampler) >= 0)
			fprintf(stderr, "siprof: process %d (%s) exited; %llu samples\n", (int)r.pid,
				text_safe(r.comm), (unsigned long long)st.samples);
		else
			fprintf(stderr, "siprof: detached from process %d (%s)%s, which keep%s running; "
				"%llu samples%s%s\n", (int)r.pid, text_safe(r.comm),
				o.pids.n > 1 || o.rec.sampler.children ? " and the others" : "",
				o.pids.n > 1 || o.rec.sampler.children ? "" : "s",
				(unsigned long long)st.samples, o.rec.output ? ", recorded to " : "",
				o.rec.output ? o.rec.output : "");
	}
	recorder_release(&r);
	free(cause);
	cmd_sampling_release(&o.sampling);
	cmd_pids_release(&o.pids);
	return ret;
}
