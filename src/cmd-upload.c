/* cmd-upload.c: siprof upload [--url URL] FILE... | --spool */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cmd.h"
#include "credentials.h"
#include "session.h"
#include "signals.h"
#include "spool.h"
#include "text.h"
#include "upload.h"
#include "util.h"

const char cmd_upload_usage[] =
	"usage: siprof upload [OPTIONS] [FILE...]\n"
	"       siprof upload --list [--json] [--spool-dir=DIR]\n"
	"       siprof upload --purge [--older-than=AGE] [--spool-dir=DIR]\n"
	"\n"
	"Send session files to a Grafana Pyroscope-compatible server (POST /ingest),\n"
	"one pprof profile per class, named APP.CLASS with the session's host and\n"
	"tags as labels (the pid and build-id go in the profile's comments). Each\n"
	"profile is spooled for that server and tenant, and sent there alone:\n"
	"failures are retried, what still fails waits in the spool for the next\n"
	"upload to the same server and tenant (without FILE: the spool's profiles\n"
	"for them alone). A profile the server refuses for good (a 4xx but 401,\n"
	"403, 407, 408 and 429) is moved aside, never sent again. An acknowledged\n"
	"profile is never sent again.\n"
	"\n"
	"Options:\n"
	"  -u, --url=URL          the server, http:// or https:// (default: $SIPROF_UPLOAD_URL)\n"
	"  -a, --app=NAME         the application name (default: the session's app tag,\n"
	"                         else the program's name)\n"
	"      --spool            send what earlier uploads left in the spool for URL\n"
	"                         and the tenant (the same as giving no FILE)\n"
	"      --adopt            also send the profiles an older siprof spooled, which\n"
	"                         have no destination, to URL and the tenant\n"
	"      --list             list the spool's profiles: state, age, tries, size,\n"
	"                         profile, destination (and why a server refused one)\n"
	"      --purge            remove the spool's profiles (waiting or refused)\n"
	"      --older-than=AGE   with --purge: only those queued AGE ago or more\n"
	"                         (AGE: 90s, 30m, 12h, 7d; a bare number is seconds)\n"
	"  -j, --json             print JSON on stdout: what was sent, kept, refused,\n"
	"                         and what waits for other servers; with --list, the items\n"
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
	"Credentials never go on the command line, in a URL or in the spool:\n"
	"SIPROF_UPLOAD_TENANT (sent as X-Scope-OrgID), SIPROF_UPLOAD_USER and\n"
	"SIPROF_UPLOAD_PASSWORD (HTTP Basic), SIPROF_UPLOAD_TOKEN (bearer token), or\n"
	"the same in --auth-file.\n"
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
	bool spool_only, quiet, json, list, purge;
	double older_than_s; /* --older-than; -1: not given */
	char **files;
	int n_files;
};

/* What the user sees of an upload: every event but the progress line and
 * what goes well with --quiet; the progress line on a terminal. */
struct upload_view {
	bool quiet, tty;
	bool shown; /* a progress line is on screen */
	json_t *items; /* --json: what became of each profile */
};

/* --json: one entry of what became of a profile. */
static void
json_item(struct upload_view *v, const struct upload_event *ev, const char *state)
{
	json_t *o;

	if (v->items == NULL)
		return;
	o = json_pack("{s:s, s:s}", "id", text_utf8(ev->id), "state", state);
	if (ev->name != NULL)
		json_object_set_new(o, "name", json_string(text_utf8(ev->name)));
	if (ev->cls != NULL)
		json_object_set_new(o, "type", json_string(text_utf8(ev->cls)));
	if (ev->kind == UPLOAD_SENT)
		json_object_set_new(o, "bytes", json_integer((json_int_t)ev->bytes));
	if (ev->status != 0)
		json_object_set_new(o, "status", json_integer(ev->status));
	if (ev->reason != NULL)
		json_object_set_new(o, "error", json_string(text_utf8(ev->reason)));
	json_array_append_new(v->items, o);
}

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
		json_item(v, ev, "uploaded-before");
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
		json_item(v, ev, "sent");
		if (!v->quiet)
			fprintf(stderr, "upload: %s sent (%zu bytes)\n", text_safe(ev->name), ev->bytes);
		break;
	case UPLOAD_FOREIGN:
		json_item(v, ev, "foreign");
		fprintf(stderr, "upload: skipped %s: %s, not a file siprof made; it is neither sent "
				"nor removed\n", text_safe(ev->id), text_safe(ev->reason));
		break;
	case UPLOAD_DAMAGED:
		json_item(v, ev, "damaged");
		fprintf(stderr, "upload: %s is damaged in the spool; removed\n", text_safe(ev->id));
		break;
	case UPLOAD_STOPPED:
		json_item(v, ev, "kept");
		fprintf(stderr, "upload: %s: stopped; kept in %s for the next upload\n",
			text_safe(ev->cls), text_safe(ev->spool));
		break;
	case UPLOAD_GAVE_UP:
		json_item(v, ev, "kept");
		fprintf(stderr, "upload: %s not sent: %s; kept in %s for the next upload\n",
			text_safe(ev->cls), ev->reason, text_safe(ev->spool));
		break;
	case UPLOAD_UNTRIED:
		fprintf(stderr, "upload: %u not tried: %g s went on failed requests and waits "
				"(--retry-budget); kept in %s for the next upload\n",
			ev->count, ev->wait_s, text_safe(ev->spool));
		break;
	case UPLOAD_REJECTED:
		json_item(v, ev, "rejected");
		fprintf(stderr, "upload: %s refused: %s; moved aside in %s, never sent again "
				"(upload --list shows it, upload --purge removes it)\n",
			text_safe(ev->cls), ev->reason, text_safe(ev->spool));
		break;
	case UPLOAD_REFUSED_BEFORE:
		json_item(v, ev, "refused-before");
		if (!v->quiet)
			fprintf(stderr, "upload: %s was refused by the server before; it stays aside, "
					"not sent again (upload --list shows why, upload --purge "
					"removes it)\n", text_safe(ev->id));
		break;
	case UPLOAD_ADOPTED:
		if (!v->quiet)
			fprintf(stderr, "upload: %s, spooled by an older siprof without a destination, "
					"goes to this server (--adopt)\n", text_safe(ev->id));
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

/* An age: a number of seconds, or of minutes, hours, days with m, h, d. */
static int
parse_age(const char *arg, double *out)
{
	const char *unit;
	double v;

	if (!parse_number(arg, NUM_FRACTION, 0, 1e9, &v, &unit) ||
	    (*unit != '\0' && (strchr("smhdw", *unit) == NULL || unit[1] != '\0')))
		return cmd_usage_error("upload", "--older-than takes an age such as 90s, 30m, 12h or "
						 "7d, not '%s'", arg);
	*out = v * (*unit == 'm' ? 60 : *unit == 'h' ? 3600 : *unit == 'd' ? 86400
		    : *unit == 'w' ? 604800 : 1);
	return 0;
}

static void
defaults(struct upload_cmd *o)
{
	memset(o, 0, sizeof *o);
	o->older_than_s = -1;
	o->up.attempts = 4;
	o->up.backoff_s = 1;
	o->up.retry_budget_s = 120;
	o->up.timeout_s = 30;
}

static int
parse(int argc, char **argv, struct upload_cmd *o)
{
	enum { OPT_SPOOL = 256, OPT_SPOOL_DIR, OPT_AUTH_FILE, OPT_ATTEMPTS, OPT_RETRY_WAIT,
	       OPT_RETRY_BUDGET, OPT_TIMEOUT, OPT_ADOPT, OPT_LIST, OPT_PURGE, OPT_OLDER_THAN };
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "app", required_argument, NULL, 'a' },
		{ "spool", no_argument, NULL, OPT_SPOOL },
		{ "spool-dir", required_argument, NULL, OPT_SPOOL_DIR },
		{ "adopt", no_argument, NULL, OPT_ADOPT },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "purge", no_argument, NULL, OPT_PURGE },
		{ "older-than", required_argument, NULL, OPT_OLDER_THAN },
		{ "json", no_argument, NULL, 'j' },
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
	while ((ch = getopt_long(argc, argv, ":u:a:jqh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u': o->up.url = optarg; break;
		case 'a': o->up.app = optarg; break;
		case OPT_SPOOL: o->spool_only = true; break;
		case OPT_SPOOL_DIR: o->spool_dir = optarg; break;
		case OPT_ADOPT: o->up.adopt = true; break;
		case OPT_LIST: o->list = true; break;
		case OPT_PURGE: o->purge = true; break;
		case OPT_OLDER_THAN:
			if (parse_age(optarg, &o->older_than_s) != 0)
				return EXIT_USAGE;
			break;
		case 'j': o->json = true; break;
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
	if (o->older_than_s >= 0 && !o->purge)
		return cmd_usage_error("upload", "--older-than goes with --purge");
	if (o->list || o->purge) {
		if (o->list && o->purge)
			return cmd_usage_error("upload", "--list or --purge: one at a time");
		if (o->n_files > 0 || o->spool_only || o->up.adopt)
			return cmd_usage_error("upload", "%s works on the spool alone: give no FILE, "
						 "--spool or --adopt with it", o->list ? "--list" : "--purge");
		return 0;
	}
	if (o->up.url == NULL || *o->up.url == '\0')
		return cmd_usage_error("upload", "where to? give --url URL (or set SIPROF_UPLOAD_URL)");
	if (check_url("upload", o->up.url) != 0)
		return EXIT_USAGE;
	if (o->n_files > 0 && o->spool_only)
		return cmd_usage_error("upload", "--spool sends the spool alone: give no FILE with it");
	return 0;
}

/* "http://a (tenant x)", or the URL alone, for messages. */
static void
destination_text(char *out, size_t n, const char *url, const char *tenant)
{
	if (tenant != NULL && *tenant != '\0')
		snprintf(out, n, "%s (tenant %s)", text_safe(url), text_safe(tenant));
	else
		snprintf(out, n, "%s", text_safe(url));
}

/* What the spool keeps for later, said once at the end of a run. */
static void
say_waiting(const struct upload_cmd *o, const struct upload_result *r)
{
	char where[1200];

	if (o->quiet)
		return;
	for (size_t i = 0; i < r->n_waits; i++) {
		destination_text(where, sizeof where, r->waits[i].url, r->waits[i].tenant);
		if (r->waits[i].tenant != NULL)
			fprintf(stderr, "upload: %u profile%s wait%s for %s; upload --url %s to send "
					"them, with the credentials of tenant %s\n",
				r->waits[i].count, r->waits[i].count == 1 ? "" : "s",
				r->waits[i].count == 1 ? "s" : "", where, text_safe(r->waits[i].url),
				text_safe(r->waits[i].tenant));
		else
			fprintf(stderr, "upload: %u profile%s wait%s for %s; upload --url %s to send "
					"them\n", r->waits[i].count, r->waits[i].count == 1 ? "" : "s",
				r->waits[i].count == 1 ? "s" : "", where, text_safe(r->waits[i].url));
	}
	if (r->legacy > 0)
		fprintf(stderr, "upload: %u profile%s spooled by an older siprof %s no destination "
				"and %s not sent; upload --adopt --url URL sends them to URL (with this "
				"tenant), upload --purge removes them\n",
			r->legacy, r->legacy == 1 ? "" : "s", r->legacy == 1 ? "has" : "have",
			r->legacy == 1 ? "is" : "are");
	if (r->refused > 0)
		fprintf(stderr, "upload: %u profile%s this server refused before %s aside (upload "
				"--list shows why, upload --purge removes them)\n",
			r->refused, r->refused == 1 ? "" : "s", r->refused == 1 ? "stays" : "stay");
}

static json_t *
json_result(const struct upload_cmd *o, const struct upload_result *r, json_t *items, int rc)
{
	json_t *waits = json_array(), *doc;
	char *cause = NULL, *dest = upload_destination(o->up.url, &cause);

	for (size_t i = 0; i < r->n_waits; i++) {
		json_t *w = json_pack("{s:s, s:I}", "url", text_utf8(r->waits[i].url), "count",
				      (json_int_t)r->waits[i].count);

		json_object_set_new(w, "tenant", r->waits[i].tenant ? json_string(text_utf8(r->waits[i].tenant))
								    : json_null());
		json_array_append_new(waits, w);
	}
	doc = json_pack("{s:s, s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:i}",
			"url", text_utf8(dest ? dest : o->up.url), "tenant",
			o->up.auth.tenant && *o->up.auth.tenant ? json_string(text_utf8(o->up.auth.tenant))
								: json_null(),
			"spool", text_utf8(o->up.spool_dir), "sent", (json_int_t)r->sent,
			"uploaded_before", (json_int_t)r->skipped, "kept", (json_int_t)r->kept,
			"rejected", (json_int_t)r->rejected, "refused_before", (json_int_t)r->refused,
			"no_destination", (json_int_t)r->legacy, "waiting", waits, "items",
			json_incref(items), "exit", rc);
	free(dest);
	free(cause);
	return doc;
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
	if (o->json)
		view.items = json_array();
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
	say_waiting(o, &total);
	if (!o->quiet)
		fprintf(stderr, "upload: %u sent, %u uploaded before, %u kept, %u refused, in %s\n",
			total.sent, total.skipped, total.kept, total.rejected, o->up.spool_dir);
	if (rc == EXIT_OK && (total.kept > 0 || total.rejected > 0))
		rc = EXIT_UPLOAD;
	if (o->json) {
		json_t *doc = json_result(o, &total, view.items, rc);

		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(doc);
		json_decref(view.items);
	}
	upload_result_release(&total);
	curl_global_cleanup();
	credentials_release(&o->up.auth);
	free((char *)o->up.spool_dir);
	return rc;
}

/* "12 s", "5 min", "3 h", "2 d". */
static void
age_text(char *out, size_t n, long long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(out, n, "%lld s", secs);
	else if (secs < 7200)
		snprintf(out, n, "%lld min", secs / 60);
	else if (secs < 172800)
		snprintf(out, n, "%lld h", secs / 3600);
	else
		snprintf(out, n, "%lld d", secs / 86400);
}

/* The profile's name without its labels: APP.CLASS. */
static void
profile_text(char *out, size_t n, const struct spool_item *it)
{
	if (it->app != NULL)
		snprintf(out, n, "%s.%s", it->app, it->cls);
	else
		snprintf(out, n, "%.*s", (int)strcspn(it->name, "{"), it->name);
}

static json_t *
json_entry(const struct spool_entry *e, const struct spool_item *it, long long now)
{
	json_t *o = json_pack("{s:s, s:s}", "id", text_utf8(e->id), "state", spool_state_name(e->state));

	json_object_set_new(o, "url", it->url ? json_string(text_utf8(it->url)) : json_null());
	json_object_set_new(o, "tenant", it->tenant ? json_string(text_utf8(it->tenant)) : json_null());
	json_object_set_new(o, "app", it->app ? json_string(text_utf8(it->app)) : json_null());
	json_object_set_new(o, "type", json_string(text_utf8(it->cls)));
	json_object_set_new(o, "name", json_string(text_utf8(it->name)));
	json_object_set_new(o, "size", json_integer((json_int_t)it->len));
	json_object_set_new(o, "queued", json_integer(it->queued));
	json_object_set_new(o, "age_s", json_integer(now - it->queued));
	json_object_set_new(o, "attempts", json_integer(it->attempts));
	json_object_set_new(o, "status", it->status ? json_integer(it->status) : json_null());
	json_object_set_new(o, "error", it->error ? json_string(text_utf8(it->error)) : json_null());
	return o;
}

/* upload --list and upload --purge: the exit code. */
static int
spool_cmd(struct upload_cmd *o)
{
	char *dir = spool_default_dir(o->spool_dir), *cause = NULL;
	long long now = (long long)time(NULL);
	json_t *items = json_array();
	struct spool_entry *e;
	struct spool spool;
	unsigned removed[3] = { 0 }, left = 0, foreign = 0;
	size_t n;
	int rc = EXIT_OK;

	if (!spool_open(&spool, dir, &cause) || (e = spool_list(&spool, &n, &cause)) == NULL) {
		err_msg("%s", cause);
		free(cause);
		free(dir);
		json_decref(items);
		return EXIT_ERROR;
	}
	if (o->list && !o->json && n > 0)
		printf("%-14s %7s %5s %8s  %-22s %s\n", "STATE", "AGE", "TRIES", "SIZE", "PROFILE",
		       "DESTINATION");
	for (size_t i = 0; i < n; i++) {
		struct spool_item it;
		char age[32], prof[300], where[1200], size[32];
		enum spool_status st;

		st = spool_item_read_meta(&spool, e[i].id, e[i].state, &it, &cause);
		if (st != SPOOL_OK) {
			/* Neither listed as an item nor removed: not siprof's. */
			if (st == SPOOL_FOREIGN) {
				warn_msg("%s: %s, not a file siprof made; left alone", text_safe(e[i].id),
					 text_safe(cause));
				foreign++;
			}
			free(cause);
			cause = NULL;
			continue;
		}
		if (o->purge) {
			if (o->older_than_s < 0 || (double)(now - it.queued) >= o->older_than_s) {
				spool_item_remove(&spool, e[i].id);
				removed[e[i].state]++;
				if (o->json)
					json_array_append_new(items, json_entry(&e[i], &it, now));
			} else {
				left++;
			}
		} else if (o->json) {
			json_array_append_new(items, json_entry(&e[i], &it, now));
		} else {
			age_text(age, sizeof age, now - it.queued);
			profile_text(prof, sizeof prof, &it);
			snprintf(size, sizeof size, "%zu kB", (it.len + 1023) / 1024);
			if (it.url != NULL)
				destination_text(where, sizeof where, it.url, it.tenant);
			else
				snprintf(where, sizeof where, "(none: upload --adopt --url URL sends it)");
			printf("%-14s %7s %5u %8s  %-22s %s\n", spool_state_name(e[i].state), age,
			       it.attempts, size, text_safe(prof), where);
			if (it.error != NULL)
				printf("%14s %s: %s\n", "",
				       e[i].state == SPOOL_REJECTED ? "refused" : "last", text_safe(it.error));
		}
		spool_item_release(&it);
	}
	if (o->json) {
		json_t *doc = o->list ? json_pack("{s:s, s:o}", "spool", text_utf8(dir), "items",
						  json_incref(items))
				      : json_pack("{s:s, s:o, s:I}", "spool", text_utf8(dir), "purged",
						  json_incref(items), "left", (json_int_t)left);

		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(doc);
	} else if (o->purge && !o->quiet) {
		fprintf(stderr, "upload: purged %u profiles (%u pending, %u refused, %u without a "
				"destination), %u left, in %s\n",
			removed[0] + removed[1] + removed[2], removed[SPOOL_PENDING],
			removed[SPOOL_REJECTED], removed[SPOOL_LEGACY], left, dir);
	} else if (o->list && n == 0 && !o->quiet) {
		fprintf(stderr, "upload: the spool %s is empty\n", dir);
	}
	if (foreign > 0)
		rc = EXIT_UPLOAD;
	json_decref(items);
	spool_list_free(e, n);
	spool_close(&spool);
	free(dir);
	return rc;
}

int
cmd_upload(int argc, char **argv)
{
	struct upload_cmd o;
	int rc = parse(argc, argv, &o);

	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (o.list || o.purge)
		return spool_cmd(&o);
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
