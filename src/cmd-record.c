/* cmd-record.c: `siprof record`, a session file of a live process. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "probes.h"
#include "procfs.h"
#include "recorder.h"
#include "signals.h"
#include "text.h"
#include "tracer.h"
#include "util.h"

const char cmd_record_usage[] =
	"usage: siprof record -o FILE [OPTIONS] -p PID[,PID...]\n"
	"       siprof record -o FILE [OPTIONS] -- COMMAND [ARGS...]\n"
	"\n"
	"Sample every thread of a running process (or of COMMAND, from its first\n"
	"instruction to its exit) and record a session file: stacks with their class\n"
	"(cpu, lock, net, disk, ...), health metrics, and the context. Ends at\n"
	"Ctrl-C, after --duration, or when the process exits; with COMMAND, siprof\n"
	"exits with COMMAND's exit status, or as a shell does when COMMAND cannot\n"
	"run: 127 not found, 126 not executable. Ctrl-Z lets the process go,\n"
	"untraced, until siprof is continued (fg): the session marks the gap.\n"
	"\n"
	"Options:\n"
	"  -o, --output=FILE      the session file to create (mode 0600)\n"
	"  -p, --pid=PID[,PID...] the process to attach to; several (-p again, or\n"
	"                         ids separated by commas) go in one session\n"
	"      --children         also follow the processes they start (fork, exec),\n"
	"                         each with its own pid in the session\n"
	"  -d, --duration=SECS    stop SECS seconds (wall time) after the first sample\n"
	"                         (default: until Ctrl-C or exit)\n"
	"  -r, --rate=HZ          samples per second per thread (default " CMD_STR(CMD_RATE_DEFAULT) ", 1 to 1000)\n"
	"      --jitter           move each tick by up to a quarter period, at random\n"
	"      --threads=LIST     only threads whose id or name matches LIST\n"
	"                         (comma-separated ids and name patterns, e.g.\n"
	"                         'worker*,1234'); if it matches no thread, exit 9\n"
	"  -u, --unwinder=KIND    dw (default), libunwind, or fp\n"
	"  -s, --stack-size=SIZE  bytes of stack copied per sample (default " CMD_STR(CMD_STACK_SIZE_DEFAULT_K) "K)\n"
	"      --max-memory=SIZE  memory for samples waiting to be unwound (default\n"
	"                         " CMD_STR(CMD_MAX_MEMORY_DEFAULT_M) "M); past it samples are dropped and counted\n"
	CMD_ALLOC_HELP
	"  -t, --tag=KEY=VALUE    store a tag in the session (app, version, environment...)\n"
	"      --force            replace FILE if it exists, and FILE-wal, FILE-shm and\n"
	"                         FILE-journal if they are your own files\n"
	"      --upload=URL       when done, upload the session as 'siprof upload' does\n"
	"                         (credentials from the environment, see siprof upload;\n"
	"                         COMMAND does not inherit them)\n"
	"  -q, --quiet            no status line\n"
	"  -h, --help             show this help\n";

struct record_opts {
	struct recorder_opts rec;
	struct cmd_sampling sampling;
	struct cmd_pids pids;
	double duration;
	bool quiet;
	char **argv;
	char **tags;
	size_t n_tags;
	const char *upload;
	struct cmd_alloc alloc;
};

/* Parse the record options; returns 0, -1 after --help, or an exit code. */
static int
parse(int argc, char **argv, struct record_opts *o)
{
	enum { OPT_JITTER = 256, OPT_UPLOAD, OPT_FORCE, OPT_CHILDREN };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "pid", required_argument, NULL, 'p' },
		{ "children", no_argument, NULL, OPT_CHILDREN },
		CMD_ALLOC_OPTIONS,
		{ "duration", required_argument, NULL, 'd' },
		{ "jitter", no_argument, NULL, OPT_JITTER },
		{ "upload", required_argument, NULL, OPT_UPLOAD },
		CMD_SAMPLING_OPTIONS,
		{ "tag", required_argument, NULL, 't' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	size_t cap_tags = 0;
	int ch, rc;

	memset(o, 0, sizeof *o);
	cmd_sampling_init(&o->sampling, false);
	cmd_alloc_init(&o->alloc);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:o:p:d:r:u:s:t:qh", longopts, NULL)) != -1) {
		if ((rc = cmd_opt_sampling("record", ch, optarg, &o->sampling)) != 0 ||
		    (rc = cmd_opt_alloc("record", ch, optarg, &o->alloc)) != 0) {
			if (rc != 1)
				return rc;
			continue;
		}
		switch (ch) {
		case 'o':
			o->rec.output = optarg;
			break;
		case 'p':
			if (!cmd_parse_pids("record", optarg, &o->pids))
				return EXIT_USAGE;
			break;
		case OPT_CHILDREN:
			o->rec.sampler.children = true;
			break;
		case 'd':
			if (!parse_number(optarg, NUM_FRACTION, 0, 4e9, &o->duration, NULL) ||
			    o->duration <= 0)
				return cmd_usage_error("record", "--duration takes a number of seconds above 0, such as 10 or 0.5, not '%s'", optarg);
			break;
		case OPT_JITTER:
			o->rec.sampler.jitter = true;
			break;
		case 't':
			if (strchr(optarg, '=') == NULL || optarg[0] == '=')
				return cmd_usage_error("record", "--tag takes KEY=VALUE, not '%s'", optarg);
			GROW(o->tags, cap_tags, o->n_tags + 2);
			o->tags[o->n_tags++] = optarg;
			o->tags[o->n_tags] = NULL;
			break;
		case OPT_FORCE:
			o->rec.force = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_UPLOAD:
			if (cmd_upload_check_url("record", optarg) != 0)
				return EXIT_USAGE;
			o->upload = optarg;
			break;
		case 'h':
			fputs(cmd_record_usage, stdout);
			return -1;
		default:
			/* -f is export's --format, and --force is long-only here. */
			if (ch == '?' && optopt == 'f')
				return cmd_usage_error("record", "-f is not an option of record; "
						       "to replace FILE use --force");
			return cmd_bad_option("record", ch, argv);
		}
	}
	if (optind < argc)
		o->argv = argv + optind;
	if (o->rec.output == NULL)
		return cmd_usage_error("record", "-o FILE is needed: where to write the session");
	if ((rc = cmd_sampling_check("record", &o->sampling)) != 0)
		return rc;
	if ((o->pids.n != 0) == (o->argv != NULL))
		return cmd_usage_error("record", o->pids.n ? "give -p PID or a COMMAND, not both"
							  : "give -p PID, or -- COMMAND [ARGS...]");
	if (o->argv != NULL && o->argv[0][0] != '\0' &&
	    strspn(o->argv[0], "0123456789") == strlen(o->argv[0]))
		/* A command is looked up in PATH, where no program is named
		 * with digits alone: this is a process id given without -p. */
		return cmd_usage_error("record", "'%s' looks like a process id: to record it, "
				       "use -p %s; to run a program named %s, give its path (./%s)",
				       o->argv[0], o->argv[0], o->argv[0], o->argv[0]);
	if ((rc = cmd_alloc_check("record", &o->alloc)) != 0)
		return rc;
	cmd_sampling_apply(&o->sampling, &o->rec);
	cmd_alloc_apply(&o->alloc, &o->rec);
	/* The sampler ends itself: the ticks are those of the duration,
	 * however far behind the unwinding is. */
	o->rec.sampler.duration_s = o->duration;
	o->rec.tags = o->tags;
	return 0;
}

static void
status_line(struct recorder *r, bool final)
{
	struct sampler_stats st;
	const struct metric_row *m = metrics_last(&r->metrics);
	double el = recorder_elapsed(r), sampled = recorder_sampled(r);
	uint64_t end = sampler_end_ns(r->sampler);

	if (end > r->start_ns && r->stop_ns == 0 && !final) {
		/* Sampling is over, the unwinding is not: time stands still. */
		el -= (double)(now_ns() - end) / 1e9;
		sampled -= (double)(now_ns() - end) / 1e9;
	}
	sampler_get_stats(r->sampler, &st);
	fprintf(stderr, "\r\033[K%5.0fs  %llu samples  %.1f Hz  held p50 %.0f us",
		el, (unsigned long long)st.samples, sampled > 0 ? (double)st.ticks / sampled : 0.0,
		hold_hist_percentile(&st.held, 50));
	if (m != NULL)
		fprintf(stderr, "  CPU %.0f%%  RSS %.1f MiB", m->cpu_percent,
			(double)(m->m.rss_anon + m->m.rss_file + m->m.rss_shmem) / (1 << 20));
	if (st.missed_ticks > 0)
		fprintf(stderr, "  \033[31mbehind: %llu missed ticks\033[0m",
			(unsigned long long)st.missed_ticks);
	if (st.dropped > 0)
		fprintf(stderr, "  \033[31m%llu dropped\033[0m", (unsigned long long)st.dropped);
	if (!final && end > r->start_ns && r->stop_ns == 0 && st.samples > r->done)
		/* Sampling is over: what is left is the queue. */
		fprintf(stderr, "  unwinding %llu samples...",
			(unsigned long long)(st.samples - r->done));
	else if (!final && r->lag_ns >= 1000000000u)
		fprintf(stderr, "  \033[31munwinding %.0f s behind\033[0m",
			(double)r->lag_ns / 1e9);
	if (final)
		fputc('\n', stderr);
}

/* Ctrl-Z: let go of the process, stop, and trace it again once continued. */
static int
suspend(struct recorder *r, bool quiet, bool tty, char **cause)
{
	int rc;

	if (!recorder_suspend(r, cause))
		return TRACER_ERROR;
	if (!quiet)
		fprintf(stderr, "%ssiprof: suspended; process %d runs untraced until siprof "
			"is continued (fg)\n", tty ? "\r\033[K" : "", (int)r->pid);
	signals_suspend_self();
	rc = recorder_resume(r, cause);
	if (rc == TRACER_NOPROC) {
		/* Sampling is over; the recording ends as if it exited now. */
		if (!quiet)
			fprintf(stderr, "siprof: %s\n", *cause);
		return TRACER_OK;
	}
	if (rc == TRACER_OK && !quiet && !signals_stop_requested())
		fprintf(stderr, "siprof: continued; tracing process %d again\n", (int)r->pid);
	return rc;
}

/* Seconds of sampling after which a --threads filter that matched no
 * thread is worth a warning: threads a program starts at once have been
 * seen by then. */
#define FILTER_WARN_S 3.0
/* Threads named in that warning. */
#define FILTER_WARN_SHOW 5

/* The --threads list as the user gave it, comma-separated. */
static char *
filter_text(char **filter)
{
	char *out = xstrdup(""), *t;

	for (char **f = filter; *f != NULL; f++) {
		t = xasprintf("%s%s%s", out, f == filter ? "" : ",", *f);
		free(out);
		out = t;
	}
	return out;
}

/* "1234 (redis-server), 1240 (io_thd_1), ... (12 in all)": what the user
 * could have given --threads instead. NULL when /proc shows none. */
static char *
threads_text(pid_t pid)
{
	char comm[PROCFS_COMM_MAX], *out = NULL, *t;
	pid_t *tids = NULL;
	size_t n = 0;

	if (!procfs_tasks(pid, &tids, &n) || n == 0) {
		free(tids);
		return NULL;
	}
	for (size_t i = 0; i < n && i < FILTER_WARN_SHOW; i++) {
		procfs_task_comm(pid, tids[i], comm, sizeof comm);
		t = xasprintf("%s%s%d (%s)", out ? out : "", out ? ", " : "", (int)tids[i], comm);
		free(out);
		out = t;
	}
	if (n > FILTER_WARN_SHOW) {
		t = xasprintf("%s, ... (%zu in all)", out, n);
		free(out);
		out = t;
	}
	free(tids);
	return out;
}

/* Once, after FILTER_WARN_S seconds of ticks: a --threads filter that has
 * matched no thread records nothing; say so while there is time to act. */
static void
filter_check(struct recorder *r, char **filter, bool tty, bool *warned)
{
	struct sampler_stats st;
	char *want, *have;

	if (filter == NULL || *warned || recorder_sampled(r) < FILTER_WARN_S)
		return;
	sampler_get_stats(r->sampler, &st);
	if (st.ticks == 0 || st.threads_matched > 0)
		return;
	*warned = true;
	want = filter_text(filter);
	have = threads_text(r->pid);
	if (tty)
		fputs("\r\033[K", stderr);
	warn_msg("--threads '%s' has matched no thread of process %d in %.0f s: nothing is "
		 "recorded until one does; its threads are %s", want, (int)r->pid,
		 recorder_sampled(r), have ? have : "gone");
	free(want);
	free(have);
}

int
cmd_record(int argc, char **argv)
{
	struct record_opts o;
	struct recorder r;
	char *cause = NULL;
	bool tty, ok = true, filter_warned = false, nomatch = false;
	int rc, ret = EXIT_OK, early;
	uint64_t last_status = 0;

	rc = parse(argc, argv, &o);
	if (rc != 0) {
		free(o.tags);
		cmd_pids_release(&o.pids);
		cmd_sampling_release(&o.sampling);
		return rc < 0 ? EXIT_OK : rc;
	}
	if (o.upload != NULL && (rc = cmd_upload_prepare()) != EXIT_OK) {
		free(o.tags);
		cmd_pids_release(&o.pids);
		cmd_sampling_release(&o.sampling);
		return rc;
	}
	/* Before attaching: nothing is touched when probes cannot be. */
	if ((rc = cmd_alloc_probes_check(&o.alloc)) != EXIT_OK) {
		free(o.tags);
		cmd_pids_release(&o.pids);
		cmd_sampling_release(&o.sampling);
		return rc;
	}
	signals_catch_suspend();
	rc = recorder_start(&r, o.pids.v, o.pids.n, o.argv, &o.rec, &cause, &early);
	if (rc != TRACER_OK) {
		/* A command that could not run has said why; pass its status on. */
		if (o.argv != NULL && early >= 0)
			rc = WIFEXITED(early) ? WEXITSTATUS(early) : 128 + WTERMSIG(early);
		else
			err_msg("%s", cause), rc = cmd_exit_for_tracer(rc);
		free(cause);
		free(o.tags);
		cmd_pids_release(&o.pids);
		cmd_sampling_release(&o.sampling);
		return rc;
	}
	tty = !o.quiet && isatty(STDERR_FILENO);
	if (!o.quiet) {
		char more[48] = "";

		if (o.pids.n > 1)
			snprintf(more, sizeof more, " and %zu more", o.pids.n - 1);
		fprintf(stderr, "siprof: recording process %d (%s)%s%s to %s; Ctrl-C ends\n",
			(int)r.pid, text_safe(r.comm), more,
			o.rec.sampler.children ? " and the processes started" : "",
			o.rec.output);
	}
	while (ok) {
		if (!recorder_step(&r, 100, &cause)) {
			ok = r.ended;
			break;
		}
		if (signals_stop_requested())
			break;
		if (signals_suspend_requested()) {
			if ((rc = suspend(&r, o.quiet, tty, &cause)) != TRACER_OK) {
				/* Not traced again: what was recorded is kept. */
				err_msg("%s", cause);
				ret = cmd_exit_for_tracer(rc);
				break;
			}
			continue;
		}
		if (tty && now_ns() - last_status >= 1000000000u) {
			status_line(&r, false);
			last_status = now_ns();
		}
		filter_check(&r, o.sampling.threads, tty, &filter_warned);
	}
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
	if (tty)
		status_line(&r, true);
	if (ret == EXIT_OK) {
		struct sampler_stats st;
		int status = sampler_exit_status(r.sampler);

		sampler_get_stats(r.sampler, &st);
		if (!o.quiet)
			fprintf(stderr, "siprof: recorded %.1f s, %llu samples of %zu threads to %s%s\n",
				recorder_elapsed(&r), (unsigned long long)st.samples,
				r.prof.n_threads, o.rec.output,
				status >= 0 ? " (the process exited)" : "");
		if (st.dropped > 0)
			warn_msg("%llu samples dropped: unwinding fell behind and the "
				 "samples waiting reached --max-memory (%zuM); a lower --rate, "
				 "--stack-size or --threads selection takes fewer",
				 (unsigned long long)st.dropped, o.rec.sampler.max_memory >> 20);
		if (o.sampling.threads != NULL && st.threads_matched == 0) {
			char *want = filter_text(o.sampling.threads);

			err_msg("--threads '%s' matched no thread of process %d (%llu seen): "
				"%s holds no samples%s", want, (int)r.pid,
				(unsigned long long)st.threads_seen, o.rec.output,
				o.upload ? " and is not uploaded" : "");
			free(want);
			nomatch = true;
		}
		if (o.argv != NULL && status >= 0)
			ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		/* A command's own failure says more than the filter's. */
		if (nomatch && ret == EXIT_OK)
			ret = EXIT_NOMATCH;
	}
	recorder_release(&r);
	signals_release_suspend();
	if (o.upload != NULL && !nomatch && (ret == EXIT_OK || o.argv != NULL)) {
		/* The session is complete on disk: send it. A failure to send
		 * is reported (exit 8) unless a command's own status is due. */
		int up;

		signals_clear_stop();
		up = cmd_upload_file(o.rec.output, o.upload, o.quiet);

		if (ret == EXIT_OK)
			ret = up;
	}
	free(cause);
	free(o.tags);
	cmd_pids_release(&o.pids);
	cmd_sampling_release(&o.sampling);
	return ret;
}
