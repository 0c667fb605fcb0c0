/* upload.c: the spool, the ledger, and the HTTP requests (libcurl). */
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
#include "util.h"

/* ---- credentials ---- */

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
	set_secret(&a->tenant, getenv("SIPROF_UPLOAD_TENANT"));
	set_secret(&a->user, getenv("SIPROF_UPLOAD_USER"));
	set_secret(&a->password, getenv("SIPROF_UPLOAD_PASSWORD"));
	set_secret(&a->token, getenv("SIPROF_UPLOAD_TOKEN"));
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

/* ---- the spool ---- */

static bool
mkdirs(const char *path, char **cause)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			goto fail;
		*s = '/';
	}
	if (mkdir(p, 0700) != 0 && errno != EEXIST)
		goto fail;
	free(p);
	return true;
fail:
	set_cause(cause, "cannot create the spool directory '%s': %s", path, strerror(errno));
	free(p);
	return false;
}

static bool
write_whole(const char *path, const void *buf, size_t len, char **cause)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = buf;
	size_t left = len;

	if (fd < 0)
		goto fail;
	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail_fd;
		p += n;
		left -= (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail_fd;
	close(fd);
	if (rename(tmp, path) != 0)
		goto fail;
	free(tmp);
	return true;
fail_fd:
	close(fd);
fail:
	set_cause(cause, "cannot write '%s': %s", path, strerror(errno));
	unlink(tmp);
	free(tmp);
	return false;
}

static bool
in_ledger(const char *spool, const char *id)
{
	char *path = xasprintf("%s/acked", spool), line[256];
	FILE *f = fopen(path, "r");
	bool found = false;

	free(path);
	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		found = strcmp(line, id) == 0;
	}
	fclose(f);
	return found;
}

static bool
ledger_add(const char *spool, const char *id, char **cause)
{
	char *path = xasprintf("%s/acked", spool);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	char *line = xasprintf("%s\n", id);
	bool ok = fd >= 0 && write(fd, line, strlen(line)) == (ssize_t)strlen(line) && fsync(fd) == 0;

	if (!ok)
		set_cause(cause, "cannot record the upload in '%s': %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(line);
	free(path);
	return ok;
}

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
spool_session(const struct upload_opts *o, const char *spool, const struct session_data *d,
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
		char id[200], name[1024], *path, *meta_text;
		unsigned char *body;
		size_t len;
		json_t *meta;
		bool ok;

		if (tt.by_class[c] == 0)
			continue;
		snprintf(id, sizeof id, "%s-%s-%llu-%llu", run_id, info.class_name,
			 (unsigned long long)from, (unsigned long long)until);
		if (in_ledger(spool, id)) {
			if (!o->quiet)
				fprintf(stderr, "upload: %s was uploaded before; not sent again\n", id);
			r->skipped++;
			continue;
		}
		path = xasprintf("%s/%s.meta", spool, id);
		if (access(path, F_OK) == 0) {
			free(path);
			continue; /* queued already */
		}
		free(path);
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
		path = xasprintf("%s/%s.pb.gz", spool, id);
		ok = write_whole(path, body, len, cause);
		free(path);
		free(body);
		if (!ok) {
			thread_table_release(&tt);
			return false;
		}
		meta = json_pack("{s:s, s:s, s:I, s:I}", "name", name, "class", info.class_name,
				 "from", (json_int_t)from, "until", (json_int_t)until);
		meta_text = json_dumps(meta, JSON_COMPACT);
		json_decref(meta);
		path = xasprintf("%s/%s.meta", spool, id);
		ok = write_whole(path, meta_text, strlen(meta_text), cause);
		free(path);
		free(meta_text);
		if (!ok) {
			thread_table_release(&tt);
			return false;
		}
	}
	thread_table_release(&tt);
	return true;
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
	bool show, shown;
};

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct progress *p = arg;

	(void)dltotal;
	(void)dlnow;
	if (signals_stop_requested())
		return 1; /* Ctrl-C: the item stays in the spool */
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
	struct progress prog = { .what = what, .show = o->progress };
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
		(void)parse_number(h->value, NUM_FRACTION, 0, 86400, retry_after_s, NULL);
	server_message(&reply, msg, sizeof msg);
	snprintf(err, errlen, "the server answered %ld%s%s", code, *msg ? ": " : "", msg);
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

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Send one spooled item, with retries; on acknowledgement it leaves the
 * spool and enters the ledger. */
static enum send_status
send_item(CURL *c, const struct upload_opts *o, const char *spool, const char *id, char **cause)
{
	char *meta_path = xasprintf("%s/%s.meta", spool, id), *body_path = NULL, *url = NULL;
	char *escaped = NULL, err[700] = "";
	enum send_status st = FAILED;
	unsigned char *body = NULL;
	size_t len = 0;
	json_t *meta = json_load_file(meta_path, 0, NULL);
	const char *name = meta ? json_string_value(json_object_get(meta, "name")) : NULL;
	const char *cls = meta ? json_string_value(json_object_get(meta, "class")) : NULL;
	double wait = o->backoff_s;

	body_path = xasprintf("%s/%s.pb.gz", spool, id);
	body = (unsigned char *)read_file(body_path, &len);
	if (name == NULL || cls == NULL || body == NULL) {
		fprintf(stderr, "upload: %s is damaged in the spool; removed\n", id);
		unlink(meta_path);
		unlink(body_path);
		goto out;
	}
	escaped = curl_easy_escape(c, name, 0);
	url = xasprintf("%s%singest?name=%s&from=%lld&until=%lld&format=pprof", o->url,
			o->url[strlen(o->url) - 1] == '/' ? "" : "/", escaped,
			(long long)json_integer_value(json_object_get(meta, "from")),
			(long long)json_integer_value(json_object_get(meta, "until")));
	for (unsigned attempt = 1;; attempt++) {
		double retry_after;

		st = post(c, o, url, body, len, cls, &retry_after, err, sizeof err);
		if (st != RETRY || attempt >= o->attempts)
			break;
		if (retry_after > wait)
			wait = retry_after < 300 ? retry_after : 300;
		if (!o->quiet)
			fprintf(stderr, "upload: %s: %s; trying again in %g s (%u of %u)\n", cls, err,
				wait, attempt + 1, o->attempts);
		if (!pause_for(wait)) {
			st = STOPPED;
			break;
		}
		wait *= 2;
	}
	if (st == SENT) {
		if (!ledger_add(spool, id, cause)) {
			st = STOPPED;
			goto out;
		}
		unlink(meta_path);
		unlink(body_path);
		if (!o->quiet)
			fprintf(stderr, "upload: %s sent (%zu bytes)\n", name, len);
	} else if (st != STOPPED) {
		fprintf(stderr, "upload: %s not sent: %s; kept in %s for the next upload\n", cls, err,
			spool);
		st = FAILED;
	}
out:
	curl_free(escaped);
	free(url);
	free(body);
	free(body_path);
	free(meta_path);
	json_decref(meta);
	return st;
}

bool
upload_run(const struct upload_opts *o, const struct session_data *d, struct upload_result *r,
	   char **cause)
{
	DIR *dir;
	struct dirent *de;
	char **ids = NULL;
	size_t n = 0, cap = 0;
	CURL *c;
	bool ok = true;

	memset(r, 0, sizeof *r);
	if (!mkdirs(o->spool_dir, cause))
		return false;
	if (d != NULL && !spool_session(o, o->spool_dir, d, r, cause))
		return false;
	dir = opendir(o->spool_dir);
	if (dir == NULL) {
		set_cause(cause, "cannot read the spool directory '%s': %s", o->spool_dir, strerror(errno));
		return false;
	}
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len > 5 && strcmp(de->d_name + len - 5, ".meta") == 0) {
			GROW(ids, cap, n + 1);
			ids[n++] = xasprintf("%.*s", (int)(len - 5), de->d_name);
		}
	}
	closedir(dir);
	if (n > 1)
		qsort(ids, n, sizeof *ids, cmp_str);
	c = curl_easy_init();
	if (c == NULL)
		fatal("cannot start libcurl");
	for (size_t i = 0; i < n; i++) {
		enum send_status st;

		if (in_ledger(o->spool_dir, ids[i])) {
			/* Acknowledged, but not removed (siprof was stopped). */
			char *p = xasprintf("%s/%s.meta", o->spool_dir, ids[i]);

			unlink(p);
			free(p);
			p = xasprintf("%s/%s.pb.gz", o->spool_dir, ids[i]);
			unlink(p);
			free(p);
			r->skipped++;
			continue;
		}
		st = ok ? send_item(c, o, o->spool_dir, ids[i], cause) : FAILED;
		if (st == SENT)
			r->sent++;
		else
			r->kept++;
		if (st == STOPPED)
			ok = false;
	}
	curl_easy_cleanup(c);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return ok || *cause == NULL;
}
