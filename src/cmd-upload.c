/* cmd-upload.c: siprof upload [--url URL] FILE... | --spool */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cmd.h"
#include "credentials.h"
#include "session.h"
#include "signals.h"
#include "spool.h"
#include "text.h"
#include "upload.h"
#include "util.h"

const char cmd_upload_usage[] =
	"usage: siprof upload [OPTIONS] FILE...\n"
	"       siprof upload --spool [OPTIONS]\n"
	"\n"
	"Send session files to a Grafana Pyroscope-compatible server (POST /ingest),\n"
	"one pprof profile per class, named APP.CLASS with the session's host, pid,\n"
	"build-id and tags as labels. Failures are retried; what still fails waits\n"
	"in the spool and goes with the next upload. An acknowledged profile is\n"
	"never sent again.\n"
	"\n"
	"Options:\n"
	"  -u, --url=URL          the server, http:// or https:// (default: $SIPROF_UPLOAD_URL)\n"
	"  -a, --app=NAME         the application name (default: the session's app tag,\n"
	"                         else the program's name)\n"
	"      --spool            send what earlier uploads left in the spool\n"
	"      --spool-dir=DIR    the spool (default: $SIPROF_SPOOL_DIR, else\n"
	"                         ~/.local/state/siprof/spool)\n"
	"      --auth-file=FILE   credentials, lines tenant=, user=, password=, token=\n"
	"                         (default: $SIPROF_UPLOAD_AUTH_FILE; mode 0600)\n"
	"      --attempts=N       tries per profile (default 4)\n"
	"      --retry-wait=SECS  the first wait between tries, doubled each time, and\n"
	"                         longer if the server asks (Retry-After); 60 at most\n"
	"                         (default 1)\n"
	"      --retry-budget=SECS\n"
	"                         the time one upload may spend on failed requests and\n"
	"                         waits; then the rest stays in the spool (default 120)\n"
	"      --timeout=SECS     per request (default 30)\n"
	"  -q, --quiet            only errors\n"
	"  -h, --help             show this help\n"
	"\n"
	"Credentials never go on the command line: SIPROF_UPLOAD_TENANT (sent as\n"
	"X-Scope-OrgID), SIPROF_UPLOAD_USER and SIPROF_UPLOAD_PASSWORD (HTTP Basic),\n"
	"SIPROF_UPLOAD_TOKEN (bearer token), or the same in --auth-file.\n"
	"\n"
	"A server that never answers holds siprof for at most --retry-budget plus one\n"
	"--timeout (150 s with the defaults), however many profiles there are.\n"
	"Ctrl-C lets the request in flight finish (up to 5 s) so that it is\n"
	"acknowledged once; a second Ctrl-C gives it up. The spool must be a\n"
	"directory of the user's own, mode 0700; files in it that siprof did not\n"
	"make are neither sent nor removed.\n";

struct upload_cmd {
	struct upload_opts up;
	const char *auth_file, *spool_dir;
	bool spool_only, quiet;
	char **files;
	int n_files;
};

/* What the user sees of an upload: every event but the progress line and
 * what goes well with --quiet; the progress line on a terminal. */
struct upload_view {
	bool quiet, tty;
	bool shown; /* a progress line is on screen */
};

static void
on_event(const struct upload_event *ev, void *arg)
{
	struct upload_view *v = arg;

	if (ev->kind == UPLOAD_SENDING) {
		if (v->tty && !v->quiet) {
			fprintf(stderr, "\rupload: %s %3d%% of %lld kB ", ev->cls,
				(int)(100 * ev->bytes / ev->total), (long long)(ev->total + 1023) / 1024);
			v->shown = true;
		}
		return;
	}
	if (v->shown) {
		fputs("\r\033[K", stderr);
		v->shown = false;
	}
	switch (ev->kind) {
	case UPLOAD_SENDING:
		break;
	case UPLOAD_ACKED_BEFORE:
		if (!v->quiet)
			fprintf(stderr, "upload: %s was uploaded before; not sent again\n", text_safe(ev->id));
		break;
	case UPLOAD_STOPPING:
		if (!v->quiet)
			fprintf(stderr, "upload: stopping: waiting up to %g s for the answer to the "
					"request in flight (Ctrl-C again to give up)\n", ev->wait_s);
		break;
	case UPLOAD_ABANDONED:
		if (v->quiet)
			break;
		if (ev->second_stop)
			fprintf(stderr, "upload: gave up the request in flight (a second stop "
					"request); if the server stored it, the next upload sends "
					"it again\n");
		else
			fprintf(stderr, "upload: gave up the request in flight (no answer %g s after "
					"the stop request); if the server stored it, the next upload "
					"sends it again\n", ev->wait_s);
		break;
	case UPLOAD_RETRY_WAIT:
		if (v->quiet)
			break;
		if (ev->asked_s > 0)
			fprintf(stderr, "upload: %s: %s; trying again in %g s (%u of %u; the "
					"server asked for %g s, %g s at most)\n",
				text_safe(ev->cls), ev->reason, ev->wait_s, ev->attempt, ev->attempts,
				ev->asked_s, ev->cap_s);
		else
			fprintf(stderr, "upload: %s: %s; trying again in %g s (%u of %u)\n",
				text_safe(ev->cls), ev->reason, ev->wait_s, ev->attempt, ev->attempts);
		break;
	case UPLOAD_SENT:
		if (!v->quiet)
			fprintf(stderr, "upload: %s sent (%zu bytes)\n", text_safe(ev->name), ev->bytes);
		break;
	case UPLOAD_FOREIGN:
		fprintf(stderr, "upload: skipped %s: %s, not a file siprof made; it is neither sent "
				"nor removed\n", text_safe(ev->id), text_safe(ev->reason));
		break;
	case UPLOAD_DAMAGED:
		fprintf(stderr, "upload: %s is damaged in the spool; removed\n", text_safe(ev->id));
		break;
	case UPLOAD_STOPPED:
		fprintf(stderr, "upload: %s: stopped; kept in %s for the next upload\n",
			text_safe(ev->cls), text_safe(ev->spool));
		break;
	case UPLOAD_GAVE_UP:
		fprintf(stderr, "upload: %s not sent: %s; kept in %s for the next upload\n",
			text_safe(ev->cls), ev->reason, text_safe(ev->spool));
		break;
	case UPLOAD_UNTRIED:
		fprintf(stderr, "upload: %u not tried: %g s went on failed requests and waits "
				"(--retry-budget); kept in %s for the next upload\n",
			ev->count, ev->wait_s, text_safe(ev->spool));
		break;
	}
}

/* A server URL as siprof accepts it; 0, or a usage error. */
static int
check_url(const char *cmd, const char *url)
{
	const char *host;

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return cmd_usage_error(cmd, "the upload URL must start with http:// or https://");
	host = strstr(url, "://") + 3;
	if (memchr(host, '@', strcspn(host, "/?#")) != NULL)
		return cmd_usage_error(cmd, "credentials do not go on the command line: use "
					    "SIPROF_UPLOAD_USER and SIPROF_UPLOAD_PASSWORD, or --auth-file");
	return 0;
}

static int
parse_secs(const char *opt, const char *arg, double min, double max, double *out)
{
	double v;

	if (!parse_number(arg, NUM_FRACTION, min, max, &v, NULL))
		return cmd_usage_error("upload", "%s takes seconds from %g to %g, not '%s'", opt, min,
				       max, arg);
	*out = v;
	return 0;
}

static void
defaults(struct upload_cmd *o)
{
	memset(o, 0, sizeof *o);
	o->up.attempts = 4;
	o->up.backoff_s = 1;
	o->up.retry_budget_s = 120;
	o->up.timeout_s = 30;
}

static int
parse(int argc, char **argv, struct upload_cmd *o)
{
	enum { OPT_SPOOL = 256, OPT_SPOOL_DIR, OPT_AUTH_FILE, OPT_ATTEMPTS, OPT_RETRY_WAIT,
	       OPT_RETRY_BUDGET, OPT_TIMEOUT };
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "app", required_argument, NULL, 'a' },
		{ "spool", no_argument, NULL, OPT_SPOOL },
		{ "spool-dir", required_argument, NULL, OPT_SPOOL_DIR },
		{ "auth-file", required_argument, NULL, OPT_AUTH_FILE },
		{ "attempts", required_argument, NULL, OPT_ATTEMPTS },
		{ "retry-wait", required_argument, NULL, OPT_RETRY_WAIT },
		{ "retry-budget", required_argument, NULL, OPT_RETRY_BUDGET },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int ch;

	defaults(o);
	o->up.url = getenv("SIPROF_UPLOAD_URL");
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":u:a:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u': o->up.url = optarg; break;
		case 'a': o->up.app = optarg; break;
		case OPT_SPOOL: o->spool_only = true; break;
		case OPT_SPOOL_DIR: o->spool_dir = optarg; break;
		case OPT_AUTH_FILE: o->auth_file = optarg; break;
		case OPT_ATTEMPTS:
			if (!parse_long(optarg, 1, 100, &v))
				return cmd_usage_error("upload", "--attempts takes a number from 1 to 100, not '%s'", optarg);
			o->up.attempts = (unsigned)v;
			break;
		case OPT_RETRY_WAIT:
			if (parse_secs("--retry-wait", optarg, 0, UPLOAD_WAIT_MAX_S, &o->up.backoff_s) != 0)
				return EXIT_USAGE;
			break;
		case OPT_RETRY_BUDGET:
			if (parse_secs("--retry-budget", optarg, 0, 86400, &o->up.retry_budget_s) != 0)
				return EXIT_USAGE;
			break;
		case OPT_TIMEOUT:
			if (parse_secs("--timeout", optarg, 0.1, 3600, &o->up.timeout_s) != 0)
				return EXIT_USAGE;
			break;
		case 'q': o->quiet = true; break;
		case 'h':
			fputs(cmd_upload_usage, stdout);
			return -1;
		default:
			return cmd_bad_option("upload", ch, argv);
		}
	}
	o->files = argv + optind;
	o->n_files = argc - optind;
	if (o->up.url == NULL || *o->up.url == '\0')
		return cmd_usage_error("upload", "where to? give --url URL (or set SIPROF_UPLOAD_URL)");
	if (check_url("upload", o->up.url) != 0)
		return EXIT_USAGE;
	if (o->n_files == 0 && !o->spool_only)
		return cmd_usage_error("upload", "give session FILEs to upload, or --spool");
	if (o->n_files > 0 && o->spool_only)
		return cmd_usage_error("upload", "--spool sends the spool alone: give no FILE with it");
	return 0;
}

/* Upload files (none: the spool alone) with o; the exit code. */
static int
run(struct upload_cmd *o)
{
	struct upload_result total = { 0 };
	struct upload_view view = { .quiet = o->quiet, .tty = isatty(STDERR_FILENO) };
	char *cause = NULL;
	int rc = EXIT_OK;

	if (!credentials_load(&o->up.auth, o->auth_file ? o->auth_file : getenv("SIPROF_UPLOAD_AUTH_FILE"),
			      &cause)) {
		err_msg("%s", cause);
		free(cause);
		credentials_release(&o->up.auth);
		return EXIT_ERROR;
	}
	o->up.spool_dir = spool_default_dir(o->spool_dir);
	o->up.progress = (struct upload_progress){ .fn = on_event, .arg = &view };
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int i = 0; i < (o->n_files ? o->n_files : 1) && rc == EXIT_OK; i++) {
		struct session_data d;
		bool have = o->n_files > 0;

		if (have && cmd_load_session(o->files[i], &d) != EXIT_OK) {
			rc = EXIT_BADFILE;
			break;
		}
		if (have && (session_meta(&d, "run_id") == NULL ||
			     session_meta(&d, "start_unix_ns") == NULL)) {
			/* Both name what is spooled: a file without them is damaged. */
			err_msg("%s has no run id or start time (damaged): it cannot be uploaded",
				o->files[i]);
			session_data_release(&d);
			rc = EXIT_BADFILE;
			break;
		}
		if (!upload_run(&o->up, have ? &d : NULL, &total, &cause)) {
			err_msg("%s", cause);
			free(cause);
			cause = NULL;
			rc = EXIT_ERROR;
		}
		if (have)
			session_data_release(&d);
		if (signals_stop_requested())
			rc = EXIT_INTERRUPTED;
	}
	if (view.shown)
		fputs("\r\033[K", stderr);
	if (!o->quiet)
		fprintf(stderr, "upload: %u sent, %u uploaded before, %u kept in %s\n", total.sent,
			total.skipped, total.kept, o->up.spool_dir);
	if (rc == EXIT_OK && total.kept > 0)
		rc = EXIT_UPLOAD;
	curl_global_cleanup();
	credentials_release(&o->up.auth);
	free((char *)o->up.spool_dir);
	return rc;
}

int
cmd_upload(int argc, char **argv)
{
	struct upload_cmd o;
	int rc = parse(argc, argv, &o);

	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;
	return run(&o);
}

int
cmd_upload_file(const char *file, const char *url, bool quiet)
{
	struct upload_cmd o;
	char *files[1] = { (char *)file };

	defaults(&o);
	o.up.url = url;
	o.quiet = quiet;
	o.files = files;
	o.n_files = 1;
	return run(&o);
}

int
cmd_upload_prepare(void)
{
	char *cause = NULL;

	if (!credentials_hide(getenv("SIPROF_UPLOAD_AUTH_FILE"), &cause)) {
		err_msg("%s", cause);
		free(cause);
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

int
cmd_upload_check_url(const char *cmd, const char *url)
{
	return check_url(cmd, url);
}
