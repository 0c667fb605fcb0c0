/* upload.c: credentials, the items of a session, and the HTTP requests
 * (libcurl) with their retries. */
#include "config.h"

#include "upload.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "export.h"
#include "pprof.h"
#include "signals.h"
#include "spool.h"
#include "text.h"
#include "util.h"

/* ---- credentials ---- */

static const char *const secret_vars[] = { "SIPROF_UPLOAD_TENANT", "SIPROF_UPLOAD_USER",
					   "SIPROF_UPLOAD_PASSWORD", "SIPROF_UPLOAD_TOKEN",
					   "SIPROF_UPLOAD_AUTH_FILE" };
/* What upload_auth_hide took out of the environment. */
static struct upload_auth hidden;
static bool have_hidden;

static void
set_secret(char **slot, const char *value)
{
	free(*slot);
	*slot = value != NULL && *value != '\0' ? xstrdup(value) : NULL;
}

bool
upload_auth_load(struct upload_auth *a, const char *file, char **cause)
{
	struct stat st;
	char line[4096];
	FILE *f;
	int n = 0;

	memset(a, 0, sizeof *a);
	if (have_hidden) {
		*a = hidden;
		memset(&hidden, 0, sizeof hidden);
		have_hidden = false;
	} else {
		set_secret(&a->tenant, getenv("SIPROF_UPLOAD_TENANT"));
		set_secret(&a->user, getenv("SIPROF_UPLOAD_USER"));
		set_secret(&a->password, getenv("SIPROF_UPLOAD_PASSWORD"));
		set_secret(&a->token, getenv("SIPROF_UPLOAD_TOKEN"));
	}
	if (file == NULL)
		return true;
	f = fopen(file, "r");
	if (f == NULL) {
		set_cause(cause, "cannot read the credentials file '%s': %s", file, strerror(errno));
		return false;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0) {
		fclose(f);
		set_cause(cause, "the credentials file '%s' can be read by others: chmod 600 it", file);
		return false;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		char *eq = strchr(line, '='), *v, *end;

		n++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (eq == NULL) {
			fclose(f);
			set_cause(cause, "%s:%d: expected KEY=VALUE (tenant, user, password, token)", file, n);
			return false;
		}
		*eq = '\0';
		v = eq + 1;
		for (end = eq; end > line && isspace((unsigned char)end[-1]); end--)
			end[-1] = '\0';
		if (strcmp(line, "tenant") == 0)
			set_secret(&a->tenant, v);
		else if (strcmp(line, "user") == 0)
			set_secret(&a->user, v);
		else if (strcmp(line, "password") == 0)
			set_secret(&a->password, v);
		else if (strcmp(line, "token") == 0)
			set_secret(&a->token, v);
		else {
			fclose(f);
			set_cause(cause, "%s:%d: unknown key '%s' (tenant, user, password, token)", file, n, line);
			return false;
		}
	}
	fclose(f);
	return true;
}

static void
wipe(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
upload_auth_release(struct upload_auth *a)
{
	wipe(a->tenant);
	wipe(a->user);
	wipe(a->password);
	wipe(a->token);
	memset(a, 0, sizeof *a);
}

bool
upload_auth_hide(const char *file, char **cause)
{
	struct upload_auth a;

	if (!upload_auth_load(&a, file, cause)) {
		upload_auth_release(&a);
		return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(secret_vars); i++) {
		char *v = getenv(secret_vars[i]);

		/* The initial environment is also what /proc/PID/environ
		 * shows, to anyone who may read siprof's memory: wipe it. */
		if (v != NULL)
			explicit_bzero(v, strlen(v));
		unsetenv(secret_vars[i]);
	}
	upload_auth_release(&hidden);
	hidden = a;
	have_hidden = true;
	return true;
}

char *
upload_spool_dir(const char *dir)
{
	const char *env = getenv("SIPROF_SPOOL_DIR"), *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (dir != NULL)
		return xstrdup(dir);
	if (env != NULL && *env != '\0')
		return xstrdup(env);
	if (state != NULL && *state == '/')
		return xasprintf("%s/siprof/spool", state);
	return xasprintf("%s/.local/state/siprof/spool", home != NULL && *home ? home : "/root");
}

/* ---- the items of a session ---- */

/* A label value as Pyroscope reads it: up to the next ',' or '}', no
 * escaping; so anything but a plain set of characters becomes '_'. */
static void
label_value(char *out, size_t n, const char *v)
{
	size_t i = 0;

	for (; v != NULL && *v != '\0' && i + 1 < n; v++)
		out[i++] = isalnum((unsigned char)*v) || strchr("._-:/@", *v) ? *v : '_';
	out[i] = '\0';
}

static void
add_label(char *name, size_t n, const char *key, const char *value)
{
	char v[256];
	size_t len = strlen(name);

	if (value == NULL || *value == '\0')
		return;
	label_value(v, sizeof v, value);
	snprintf(name + len, n - len, "%s%s=%s", name[len - 1] == '{' ? "" : ",", key, v);
}

/* Queue one item per class of the session, unless it is queued already or
 * was acknowledged before. */
static bool
spool_session(const struct upload_opts *o, const struct spool *spool, const struct session_data *d,
	      struct upload_result *r, char **cause)
{
	const char *run_id = session_meta(d, "run_id"), *start = session_meta(d, "start_unix_ns");
	const char *comm = session_meta(d, "comm");
	struct thread_table tt;
	struct selection all;
	uint64_t from, until;
	char app[128];

	if (run_id == NULL || start == NULL) {
		set_cause(cause, "the session has no run id or start time: it cannot be uploaded");
		return false;
	}
	from = session_meta_u64(d, "start_unix_ns") / 1000000000u;
	until = from + (uint64_t)(session_duration(d) + 0.999);
	label_value(app, sizeof app, o->app ? o->app : session_meta(d, "tag.app") ? session_meta(d, "tag.app") : comm ? comm : "siprof");
	selection_init(&all);
	analyze_threads(&d->prof, &all, &tt);
	for (int c = 0; c < CLASS_COUNT; c++) {
		struct selection sel;
		struct pprof_info info = { .class_name = class_name((enum sample_class)c),
					   .rate_hz = export_rate(d),
					   .start_unix_ns = session_meta_u64(d, "start_unix_ns"),
					   .duration_ns = (uint64_t)(session_duration(d) * 1e9) };
		char id[200], name[1024], file[220], *meta_text;
		unsigned char *body;
		size_t len;
		json_t *meta;
		bool ok;
		int acked;

		if (tt.by_class[c] == 0)
			continue;
		snprintf(id, sizeof id, "%s-%s-%llu-%llu", run_id, info.class_name,
			 (unsigned long long)from, (unsigned long long)until);
		if ((acked = spool_acked(spool, id, cause)) < 0)
			goto fail;
		if (acked) {
			if (!o->quiet)
				fprintf(stderr, "upload: %s was uploaded before; not sent again\n", text_safe(id));
			r->skipped++;
			continue;
		}
		snprintf(file, sizeof file, "%s.meta", id);
		if (spool_has(spool, file))
			continue; /* queued already */
		snprintf(name, sizeof name, "%s.%s{", app, info.class_name);
		add_label(name, sizeof name, "host", session_meta(d, "host"));
		add_label(name, sizeof name, "pid", session_meta(d, "pid"));
		add_label(name, sizeof name, "build_id", session_meta(d, "build_id"));
		for (size_t i = 0; i < d->n_meta; i++)
			if (strncmp(d->meta[i].key, "tag.", 4) == 0 && strcmp(d->meta[i].key, "tag.app") != 0)
				add_label(name, sizeof name, d->meta[i].key + 4, d->meta[i].value);
		strncat(name, "}", sizeof name - strlen(name) - 1);

		selection_init(&sel);
		sel.cls = c;
		pprof_encode(&d->prof, &sel, &info, &body, &len);
		snprintf(file, sizeof file, "%s.pb.gz", id);
		ok = spool_write(spool, file, body, len, cause);
		free(body);
		if (!ok)
			goto fail;
		meta = json_pack("{s:s, s:s, s:I, s:I}", "name", name, "class", info.class_name,
				 "from", (json_int_t)from, "until", (json_int_t)until);
		meta_text = json_dumps(meta, JSON_COMPACT);
		json_decref(meta);
		snprintf(file, sizeof file, "%s.meta", id);
		ok = spool_write(spool, file, meta_text, strlen(meta_text), cause);
		free(meta_text);
		if (!ok)
			goto fail;
	}
	thread_table_release(&tt);
	return true;
fail:
	thread_table_release(&tt);
	return false;
}

/* ---- HTTP ---- */

struct reply {
	char body[4096];
	size_t len;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n, room = sizeof r->body - 1 - r->len;

	memcpy(r->body + r->len, p, len < room ? len : room);
	r->len += len < room ? len : room;
	r->body[r->len] = '\0';
	return len;
}

struct progress {
	const char *what;
	bool show, shown, quiet;
	uint64_t stop_by; /* after a first stop request: when to give up */
};

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct progress *p = arg;

	(void)dltotal;
	(void)dlnow;
	if (signals_stop_count() > 1 || (p->stop_by != 0 && now_ns() >= p->stop_by)) {
		/* The item stays in the spool. */
		if (!p->quiet && signals_stop_count() > 1)
			fprintf(stderr, "upload: gave up the request in flight (a second stop "
					"request); if the server stored it, the next upload sends "
					"it again\n");
		else if (!p->quiet)
			fprintf(stderr, "upload: gave up the request in flight (no answer %d s after "
					"the stop request); if the server stored it, the next upload "
					"sends it again\n",
				UPLOAD_STOP_WAIT_S);
		return 1;
	}
	if (signals_stop_requested() && p->stop_by == 0) {
		/* The server may have stored the item already: let its answer
		 * come, so that the item is acknowledged rather than sent again. */
		p->stop_by = now_ns() + UPLOAD_STOP_WAIT_S * 1000000000ull;
		if (!p->quiet)
			fprintf(stderr, "%supload: stopping: waiting up to %d s for the answer to "
					"the request in flight (Ctrl-C again to give up)\n",
				p->shown ? "\r\033[K" : "", UPLOAD_STOP_WAIT_S);
		p->show = false;
	}
	if (p->show && ultotal > 0) {
		fprintf(stderr, "\rupload: %s %3d%% of %lld kB ", p->what, (int)(100 * ulnow / ultotal),
			(long long)(ultotal + 1023) / 1024);
		p->shown = true;
	}
	return 0;
}

/* The server's own words, from a JSON {code, message} body or its text. */
static void
server_message(const struct reply *r, char *out, size_t n)
{
	json_t *doc = json_loads(r->body, 0, NULL);
	const char *msg = doc != NULL ? json_string_value(json_object_get(doc, "message")) : NULL;
	size_t i = 0;

	if (msg == NULL)
		msg = r->body;
	for (; *msg != '\0' && i + 1 < n; msg++)
		out[i++] = *msg == '\n' || *msg == '\r' ? ' ' : *msg;
	while (i > 0 && out[i - 1] == ' ')
		i--;
	out[i] = '\0';
	json_decref(doc);
}

enum send_status { SENT, RETRY, FAILED, STOPPED };

/* One POST. *retry_after_s gets the server's Retry-After (or 0). */
static enum send_status
post(CURL *c, const struct upload_opts *o, const char *url, const void *body, size_t len,
     const char *what, double *retry_after_s, char *err, size_t errlen)
{
	struct curl_slist *headers = NULL;
	struct reply reply = { .len = 0 };
	struct progress prog = { .what = what, .show = o->progress, .quiet = o->quiet };
	struct curl_header *h;
	char *auth = NULL, *tenant = NULL, msg[512];
	long code = 0;
	CURLcode rc;

	*retry_after_s = 0;
	curl_easy_reset(c);
	headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
	if (o->auth.tenant != NULL) {
		tenant = xasprintf("X-Scope-OrgID: %s", o->auth.tenant);
		headers = curl_slist_append(headers, tenant);
	}
	if (o->auth.token != NULL) {
		auth = xasprintf("Authorization: Bearer %s", o->auth.token);
		headers = curl_slist_append(headers, auth);
	} else if (o->auth.user != NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, o->auth.user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, o->auth.password ? o->auth.password : "");
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "siprof/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->timeout_s * 1000));
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(o->timeout_s * 1000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &prog);
	rc = curl_easy_perform(c);
	if (prog.shown)
		fputs("\r\033[K", stderr);
	curl_slist_free_all(headers);
	if (auth != NULL) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	free(tenant);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return STOPPED;
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
		return rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
				       rc == CURLE_PEER_FAILED_VERIFICATION ||
				       rc == CURLE_SSL_CACERT_BADFILE
			       ? FAILED
			       : RETRY;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300)
		return SENT;
	if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
		/* Delta-seconds; an HTTP date or junk keeps the usual backoff. */
		(void)parse_number(h->value, NUM_FRACTION, 0, 1e9, retry_after_s, NULL);
	server_message(&reply, msg, sizeof msg);
	snprintf(err, errlen, "the server answered %ld%s%s", code, *msg ? ": " : "", text_safe(msg));
	return code == 429 || code >= 500 ? RETRY : FAILED;
}

/* Sleep, unless Ctrl-C comes first (false then). */
static bool
pause_for(double secs)
{
	uint64_t end = now_ns() + (uint64_t)(secs * 1e9);

	while (now_ns() < end) {
		struct timespec ts = { 0, 50 * 1000000 };

		if (signals_stop_requested())
			return false;
		nanosleep(&ts, NULL);
	}
	return !signals_stop_requested();
}

/* One upload run: what its failures cost so far. */
struct run {
	const struct upload_opts *o;
	const struct spool *spool;
	CURL *c;
	double *failing_s; /* spent on failed requests and waits */
	unsigned untried;  /* items not tried: the retry budget was spent */
};

/* The item's meta (name, class, from, until) and body, when both are files
 * siprof made: SPOOL_OK; SPOOL_FOREIGN when either is not (*cause says
 * which); SPOOL_MISSING when the item is incomplete or damaged. */
static enum spool_status
load_item(const struct spool *spool, const char *id, json_t **meta, char **body, size_t *len,
	  char **cause)
{
	char file[300], *text;
	enum spool_status st;
	size_t tlen;

	*meta = NULL;
	*body = NULL;
	snprintf(file, sizeof file, "%s.meta", id);
	st = spool_read(spool, file, &text, &tlen, cause);
	if (st != SPOOL_OK)
		return st;
	*meta = json_loads(text, 0, NULL);
	free(text);
	snprintf(file, sizeof file, "%s.pb.gz", id);
	st = spool_read(spool, file, body, len, cause);
	if (st == SPOOL_OK && (json_string_value(json_object_get(*meta, "name")) == NULL ||
			       json_string_value(json_object_get(*meta, "class")) == NULL))
		st = SPOOL_MISSING;
	if (st != SPOOL_OK) {
		json_decref(*meta);
		free(*body);
		*meta = NULL;
		*body = NULL;
	}
	return st;
}

static void
remove_item(const struct spool *spool, const char *id)
{
	char file[300];

	snprintf(file, sizeof file, "%s.meta", id);
	spool_remove(spool, file);
	snprintf(file, sizeof file, "%s.pb.gz", id);
	spool_remove(spool, file);
}

/* Send one spooled item, with retries within the run's budget; once it is
 * acknowledged, it enters the ledger (on disk) and only then leaves the
 * spool. */
static enum send_status
send_item(struct run *run, const char *id, char **cause)
{
	const struct upload_opts *o = run->o;
	enum send_status st = FAILED;
	char *escaped = NULL, *url = NULL, *body, err[700] = "", *why = NULL;
	const char *name, *cls;
	double wait = o->backoff_s;
	json_t *meta;
	size_t len;

	switch (load_item(run->spool, id, &meta, &body, &len, &why)) {
	case SPOOL_FOREIGN:
		fprintf(stderr, "upload: skipped %s: %s, not a file siprof made; it is neither sent "
				"nor removed\n", text_safe(id), text_safe(why));
		free(why);
		return FAILED;
	case SPOOL_MISSING:
		fprintf(stderr, "upload: %s is damaged in the spool; removed\n", text_safe(id));
		remove_item(run->spool, id);
		free(why);
		return FAILED;
	case SPOOL_OK:
		break;
	}
	name = json_string_value(json_object_get(meta, "name"));
	cls = json_string_value(json_object_get(meta, "class"));
	escaped = curl_easy_escape(run->c, name, 0);
	url = xasprintf("%s%singest?name=%s&from=%lld&until=%lld&format=pprof", o->url,
			o->url[strlen(o->url) - 1] == '/' ? "" : "/", escaped,
			(long long)json_integer_value(json_object_get(meta, "from")),
			(long long)json_integer_value(json_object_get(meta, "until")));
	for (unsigned attempt = 1;; attempt++) {
		uint64_t t0 = now_ns();
		double retry_after;

		st = post(run->c, o, url, body, len, cls, &retry_after, err, sizeof err);
		if (st == SENT || st == STOPPED)
			break;
		*run->failing_s += (double)(now_ns() - t0) / 1e9;
		if (st == FAILED || attempt >= o->attempts)
			break;
		if (signals_stop_requested()) {
			st = STOPPED;
			break;
		}
		if (retry_after > wait)
			wait = retry_after;
		if (wait > UPLOAD_WAIT_MAX_S)
			wait = UPLOAD_WAIT_MAX_S;
		if (*run->failing_s + wait >= o->retry_budget_s) {
			snprintf(err + strlen(err), sizeof err - strlen(err),
				 "; no time is left to try again (--retry-budget %g s)", o->retry_budget_s);
			break;
		}
		if (!o->quiet) {
			if (retry_after > UPLOAD_WAIT_MAX_S)
				fprintf(stderr, "upload: %s: %s; trying again in %g s (%u of %u; the "
						"server asked for %g s, %d s at most)\n",
					text_safe(cls), err, wait, attempt + 1, o->attempts, retry_after,
					UPLOAD_WAIT_MAX_S);
			else
				fprintf(stderr, "upload: %s: %s; trying again in %g s (%u of %u)\n",
					text_safe(cls), err, wait, attempt + 1, o->attempts);
		}
		*run->failing_s += wait;
		if (!pause_for(wait)) {
			st = STOPPED;
			break;
		}
		wait *= 2;
	}
	if (st == SENT) {
		if (!spool_ack(run->spool, id, cause))
			st = STOPPED;
		else {
			remove_item(run->spool, id);
			if (!o->quiet)
				fprintf(stderr, "upload: %s sent (%zu bytes)\n", text_safe(name), len);
		}
	} else if (st == STOPPED) {
		fprintf(stderr, "upload: %s: stopped; kept in %s for the next upload\n",
			text_safe(cls), text_safe(run->spool->path));
	} else {
		fprintf(stderr, "upload: %s not sent: %s; kept in %s for the next upload\n",
			text_safe(cls), err, text_safe(run->spool->path));
	}
	curl_free(escaped);
	free(url);
	free(body);
	json_decref(meta);
	return st;
}

bool
upload_run(const struct upload_opts *o, const struct session_data *d, struct upload_result *r,
	   char **cause)
{
	struct spool spool;
	struct run run = { .o = o, .spool = &spool, .failing_s = &r->failing_s };
	char **ids;
	size_t n;
	bool stopped = false;

	if (!spool_open(&spool, o->spool_dir, cause))
		return false;
	if (d != NULL && !spool_session(o, &spool, d, r, cause))
		goto fail;
	ids = spool_list(&spool, &n, cause);
	if (ids == NULL)
		goto fail;
	run.c = curl_easy_init();
	if (run.c == NULL)
		fatal("cannot start libcurl");
	for (size_t i = 0; i < n; i++) {
		enum send_status st;
		int acked = spool_acked(&spool, ids[i], cause);

		if (acked < 0)
			break;
		if (acked) {
			/* Acknowledged, but not removed (siprof was stopped). */
			remove_item(&spool, ids[i]);
			r->skipped++;
			continue;
		}
		if (stopped || signals_stop_requested()) {
			stopped = true;
			r->kept++;
			continue;
		}
		if (r->failing_s > 0 && r->failing_s >= o->retry_budget_s) {
			run.untried++;
			r->kept++;
			continue;
		}
		st = send_item(&run, ids[i], cause);
		if (st == SENT)
			r->sent++;
		else
			r->kept++;
		if (st == STOPPED)
			stopped = true;
		if (*cause != NULL)
			break;
	}
	if (run.untried > 0)
		fprintf(stderr, "upload: %u not tried: %g s went on failed requests and waits "
				"(--retry-budget); kept in %s for the next upload\n",
			run.untried, o->retry_budget_s, spool.path);
	curl_easy_cleanup(run.c);
	spool_list_free(ids, n);
	spool_close(&spool);
	return *cause == NULL;
fail:
	spool_close(&spool);
	return false;
}
