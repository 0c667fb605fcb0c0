/* cmd-attach.c: `siprof attach PID`, the live view. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "live.h"
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
	"  -c, --class=CLASS      the class shown first (default cpu; wall for all)\n"
	"      --window=WINDOW    5s (default), 60s, or all: the time shown\n"
	"      --record=FILE      also record everything to a session file\n"
	"  -f, --force            replace the --record file if it exists\n"
	"  -b, --batch            print text frames instead of the live view\n"
	"  -n, --iterations=N     with --batch: how many frames (default 1)\n"
	"  -d, --delay=SECS       with --batch: seconds between frames (default 1)\n"
	"  -h, --help             show this help\n";

struct attach_opts {
	struct recorder_opts rec;
	struct cmd_sampling sampling;
	struct live_view view;
	struct cmd_pids pids;
	bool batch;
	long iterations;
	double delay;
};

static int
parse(int argc, char **argv, struct attach_opts *o)
{
	enum { OPT_WINDOW = 256, OPT_RECORD, OPT_CHILDREN };
	static const struct option longopts[] = {
		CMD_SAMPLING_OPTIONS,
		{ "pid", required_argument, NULL, 'p' },
		{ "children", no_argument, NULL, OPT_CHILDREN },
		{ "class", required_argument, NULL, 'c' },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "force", no_argument, NULL, 'f' },
		{ "batch", no_argument, NULL, 'b' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "delay", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum sample_class cls;
	int ch, rc;

	memset(o, 0, sizeof *o);
	cmd_sampling_init(&o->sampling, false);
	live_view_init(&o->view);
	o->view.cls = CLASS_CPU;
	o->iterations = 1;
	o->delay = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:p:r:u:s:c:fbn:d:h", longopts, NULL)) != -1) {
		if ((rc = cmd_opt_sampling("attach", ch, optarg, &o->sampling)) != 0) {
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
		case 'f':
			o->rec.force = true;
			break;
		case 'b':
			o->batch = true;
			break;
		case 'n':
			if (!parse_long(optarg, 1, 1000000, &o->iterations))
				return cmd_usage_error("attach", "--iterations takes a number from 1, not '%s'", optarg);
			break;
		case 'd':
			if (!parse_number(optarg, NUM_FRACTION, 0.1, 3600, &o->delay, NULL))
				return cmd_usage_error("attach", "--delay takes seconds from 0.1 to 3600, not '%s'", optarg);
			break;
		case 'h':
			fputs(cmd_attach_usage, stdout);
			return -1;
		default:
			return cmd_bad_option("attach", ch, argv);
		}
	}
	if ((rc = cmd_sampling_check("attach", &o->sampling)) != 0)
		return rc;
	for (; optind < argc; optind++)
		if (!cmd_parse_pids("attach", argv[optind], &o->pids))
			return EXIT_USAGE;
	if (o->pids.n == 0)
		return cmd_usage_error("attach", "a PID is needed");
	cmd_sampling_apply(&o->sampling, &o->rec);
	return 0;
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
		live_print_frame(stdout, r, &o->view, 20);
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
		err_msg("the live view needs a terminal; for text use 'siprof attach --batch -n N %d', "
			"or record with 'siprof record'", o.pids.v[0]);
		cmd_sampling_release(&o.sampling);
		cmd_pids_release(&o.pids);
		return EXIT_USAGE;
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
