/* upload.c: the items of a session, and sending them: the HTTP requests
 * (libcurl), their retries, backoff and retry budget. */
#include "config.h"

#include "upload.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "export.h"
#include "export-pprof.h"
#include "ptypes.h"
#include "signals.h"
#include "spool.h"
#include "text.h"
#include "util.h"

/* Tell the caller. */
static void
report(const struct upload_opts *o, struct upload_event ev)
{
	if (o->progress.fn != NULL)
		o->progress.fn(&ev, o->progress.arg);
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

/* A label name as the server accepts one (Prometheus': [A-Za-z_][A-Za-z0-9_]*),
 * else it refuses the profile: a tag such as build-host becomes build_host. */
static void
label_key(char *out, size_t n, const char *k)
{
	size_t i = 0;

	if (isdigit((unsigned char)*k) && n > 1)
		out[i++] = '_';
	for (; *k != '\0' && i + 1 < n; k++)
		out[i++] = isalnum((unsigned char)*k) && (unsigned char)*k < 0x80 ? *k : '_';
	out[i] = '\0';
}

static void
add_label(char *name, size_t n, const char *key, const char *value)
{
	char k[128], v[256];
	size_t len = strlen(name);

	if (value == NULL || *value == '\0' || *key == '\0')
		return;
	label_key(k, sizeof k, key);
	label_value(v, sizeof v, value);
	snprintf(name + len, n - len, "%s%s=%s", name[len - 1] == '{' ? "" : ",", k, v);
}

/* The part of an item's id that names its destination: FNV-1a of the
 * URL and the tenant, so that the same session spooled for two servers or
 * two tenants makes two items, and is acknowledged by each. */
static void
dest_key(char *out, size_t n, const char *url, const char *tenant)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *p = url; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	h = (h ^ '\n') * 0x100000001b3ull;
	for (const char *p = tenant != NULL ? tenant : ""; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	snprintf(out, n, "%016llx", (unsigned long long)h);
}

char *
upload_destination(const char *url, char **cause)
{
	const char *host = strstr(url, "://");
	size_t len = strlen(url);

	host = host != NULL ? host + 3 : url;
	if (memchr(host, '@', strcspn(host, "/?#")) != NULL) {
		set_cause(cause, "the upload URL holds credentials: give them in SIPROF_UPLOAD_USER "
				 "and SIPROF_UPLOAD_PASSWORD, or --auth-file, never in the URL");
		return NULL;
	}
	while (len > (size_t)(host - url) && url[len - 1] == '/')
		len--;
	return xasprintf("%.*s", (int)len, url);
}

static bool
same_tenant(const char *a, const char *b)
{
	return (a == NULL || *a == '\0') ? (b == NULL || *b == '\0') : b != NULL && strcmp(a, b) == 0;
}

/* Queue one item per class of the session for dest, unless it is queued
 * already or was acknowledged before (there, or by an older siprof, whose
 * ledger did not say where). */
static bool
spool_session(const struct upload_opts *o, const struct spool *spool, const struct session_data *d,
	      const char *dest, struct upload_result *r, char **cause)
{
	const char *tenant = o->auth.tenant != NULL && *o->auth.tenant ? o->auth.tenant : NULL;
	const char *pid = session_meta(d, "pid"), *build_id = session_meta(d, "build_id");
	char key[20], comment[512];
	const char *run_id = session_meta(d, "run_id"), *start = session_meta(d, "start_unix_ns");
	const char *comm = session_meta(d, "comm");
	struct thread_table tt;
	struct selection all;
	bool present[PT_COUNT] = { false };
	uint64_t from, until;
	char app[128];

	if (run_id == NULL || start == NULL) {
		set_cause(cause, "the session has no run id or start time: it cannot be uploaded");
		return false;
	}
	from = session_meta_u64(d, "start_unix_ns") / 1000000000u;
	until = from + (uint64_t)(session_duration(d) + 0.999);
	label_value(app, sizeof app, o->app ? o->app : session_meta(d, "tag.app") ? session_meta(d, "tag.app") : comm ? comm : "siprof");
	dest_key(key, sizeof key, dest, tenant);
	/* What tells one run from another is no series label: each value
	 * would make a new series on the server. */
	snprintf(comment, sizeof comment, "siprof pid=%s build_id=%s run_id=%s", pid ? pid : "",
		 build_id ? build_id : "", run_id);
	selection_init(&all);
	analyze_threads(&d->prof, &all, &tt);
	for (size_t i = 0; i < d->prof.n_samples; i++)
		if (d->prof.samples[i].type < PT_COUNT && d->prof.samples[i].count > 0)
			present[d->prof.samples[i].type] = true;
	/* A profile per class of the thread-samples, then one per other type
	 * the session holds (duration, ...), each named app.NAME; the types
	 * of a group (alloc and inuse) are one profile, named after the group
	 * (app.memory): Go's heap profile, which Pyroscope files as memory
	 * from its sample types. */
	for (int k = 0; k < CLASS_COUNT + PT_COUNT - 1; k++) {
		int c = k < CLASS_COUNT ? k : -1;
		unsigned type = k < CLASS_COUNT ? PT_SAMPLES : (unsigned)(k - CLASS_COUNT + 1);
		const char *group = ptype_get(type)->group;
		unsigned members[PT_COUNT], n_members = ptype_group_members(type, members);
		bool any = false;
		struct selection sel;
		struct pprof_info info = { .class_name = c >= 0 ? class_name((enum sample_class)c)
							  : group != NULL ? group : ptype_get(type)->name,
					   .main_path = session_meta(d, "executable"),
					   .main_build_id = session_meta(d, "build_id"),
					   .rate_hz = export_rate(d),
					   .start_unix_ns = session_meta_u64(d, "start_unix_ns"),
					   .duration_ns = (uint64_t)(session_duration(d) * 1e9),
					   .comment = comment };
		char base[200], id[240], name[1024];
		struct spool_item it;
		unsigned char *body;
		size_t len;
		bool ok;
		int acked;

		if (c < 0 && group != NULL) {
			/* The group's profile, once, at its first member; its
			 * default sample type in use when the session has it,
			 * as Go's heap profile has (else allocated). */
			if (members[0] != type)
				continue;
			for (unsigned m = 0; m < n_members; m++)
				if (present[members[m]]) {
					any = true;
					type = members[m];
				}
			if (!any)
				continue;
		} else if (c >= 0 ? tt.by_class[c] == 0 : !present[type]) {
			continue;
		}
		snprintf(base, sizeof base, "%s-%s-%llu-%llu", run_id, info.class_name,
			 (unsigned long long)from, (unsigned long long)until);
		snprintf(id, sizeof id, "%s-%s", base, key);
		if ((acked = spool_acked(spool, id, cause)) == 0)
			acked = spool_acked(spool, base, cause);
		if (acked < 0)
			goto fail;
		if (acked) {
			report(o, (struct upload_event){ .kind = UPLOAD_ACKED_BEFORE, .id = id });
			r->skipped++;
			continue;
		}
		/* An older siprof's item of this profile, without a destination,
		 * is the one --adopt sends: not a second copy. */
		if (spool_item_queued(spool, id) || spool_item_queued(spool, base)) {
			char rej[260];

			snprintf(rej, sizeof rej, "%s.rejected", id);
			/* The same profile refused by this server before. */
			if (spool_has(spool, rej))
				report(o, (struct upload_event){ .kind = UPLOAD_REFUSED_BEFORE, .id = id,
								 .spool = spool->path });
			continue; /* queued already */
		}
		snprintf(name, sizeof name, "%s.%s{", app, info.class_name);
		add_label(name, sizeof name, "host", session_meta(d, "host"));
		for (size_t i = 0; i < d->n_meta; i++)
			if (strncmp(d->meta[i].key, "tag.", 4) == 0 && strcmp(d->meta[i].key, "tag.app") != 0)
				add_label(name, sizeof name, d->meta[i].key + 4, d->meta[i].value);
		strncat(name, "}", sizeof name - strlen(name) - 1);

		selection_init(&sel);
		sel.cls = c;
		sel.type = type;
		pprof_encode(&d->prof, &sel, &info, &body, &len);
		it = (struct spool_item){ .state = SPOOL_PENDING, .name = name,
					  .cls = (char *)info.class_name, .app = app,
					  .from = (long long)from, .until = (long long)until,
					  .url = (char *)dest, .tenant = (char *)tenant,
					  .queued = (long long)time(NULL),
					  .body = (char *)body, .len = len };
		ok = spool_item_write(spool, id, &it, cause);
		free(body);
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
	const struct upload_opts *o;
	const char *what;
	bool stopping;
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
		report(p->o, (struct upload_event){ .kind = UPLOAD_ABANDONED, .cls = p->what,
						    .wait_s = UPLOAD_STOP_WAIT_S,
						    .second_stop = signals_stop_count() > 1 });
		return 1;
	}
	if (signals_stop_requested() && p->stop_by == 0) {
		/* The server may have stored the item already: let its answer
		 * come, so that the item is acknowledged rather than sent again. */
		p->stop_by = now_ns() + UPLOAD_STOP_WAIT_S * 1000000000ull;
		p->stopping = true;
		report(p->o, (struct upload_event){ .kind = UPLOAD_STOPPING, .cls = p->what,
						    .wait_s = UPLOAD_STOP_WAIT_S });
	}
	if (!p->stopping && ultotal > 0)
		report(p->o, (struct upload_event){ .kind = UPLOAD_SENDING, .cls = p->what,
						    .bytes = (size_t)ulnow, .total = (size_t)ultotal });
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

enum send_status { SENT, RETRY, FAILED, REFUSED, STOPPED };

/* A 4xx that refuses the profile itself, for good: not the credentials
 * (401, 403, 407, which another try with others may pass) nor the timing
 * (408, 429). */
static bool
refuses_profile(long code)
{
	return code >= 400 && code < 500 && code != 401 && code != 403 && code != 407 &&
	       code != 408 && code != 429;
}

/* A header that held a credential. */
static void
wipe_header(char *h)
{
	if (h != NULL) {
		explicit_bzero(h, strlen(h));
		free(h);
	}
}

/* One POST to a server of tenant. *retry_after_s gets the server's
 * Retry-After (or 0), *code its status (0: no answer). */
static enum send_status
post(CURL *c, const struct upload_opts *o, const char *url, const char *tenant_id, const void *body,
     size_t len, const char *what, double *retry_after_s, long *code_out, char *err, size_t errlen)
{
	struct curl_slist *headers = NULL;
	struct reply reply = { .len = 0 };
	struct progress prog = { .o = o, .what = what };
	struct curl_header *h;
	char *auth = NULL, *tenant = NULL, msg[512];
	long code = 0;
	CURLcode rc;

	*retry_after_s = 0;
	*code_out = 0;
	curl_easy_reset(c);
	headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
	if (tenant_id != NULL) {
		tenant = xasprintf("X-Scope-OrgID: %s", tenant_id);
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
	curl_slist_free_all(headers);
	wipe_header(auth);
	wipe_header(tenant);
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
	*code_out = code;
	if (code >= 200 && code < 300)
		return SENT;
	if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
		/* Delta-seconds; an HTTP date or junk keeps the usual backoff. */
		(void)parse_number(h->value, NUM_FRACTION, 0, 1e9, retry_after_s, NULL);
	server_message(&reply, msg, sizeof msg);
	snprintf(err, errlen, "the server answered %ld%s%s", code, *msg ? ": " : "", text_safe(msg));
	return code == 429 || code == 408 || code >= 500 ? RETRY
	       : refuses_profile(code)                   ? REFUSED
							 : FAILED;
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

/* Send one spooled item (its description read into it, for this run's
 * destination), with retries within the run's budget; once it is
 * acknowledged, it enters the ledger (on disk) and only then leaves the
 * spool. A refusal for good moves it aside; another failure stays, its
 * attempts and error noted. */
static enum send_status
send_item(struct run *run, const char *id, struct spool_item *it, char **cause)
{
	const struct upload_opts *o = run->o;
	enum send_status st = FAILED;
	char *escaped = NULL, *url = NULL, err[700] = "", *why = NULL;
	double wait = o->backoff_s;
	unsigned tries = 0;
	long code = 0;

	switch (spool_item_read_body(run->spool, id, it, &why)) {
	case SPOOL_FOREIGN:
		report(o, (struct upload_event){ .kind = UPLOAD_FOREIGN, .id = id, .reason = why });
		free(why);
		return FAILED;
	case SPOOL_MISSING:
		spool_item_remove(run->spool, id);
		report(o, (struct upload_event){ .kind = UPLOAD_DAMAGED, .id = id });
		free(why);
		return FAILED;
	case SPOOL_OK:
		break;
	}
	escaped = curl_easy_escape(run->c, it->name, 0);
	url = xasprintf("%s/ingest?name=%s&from=%lld&until=%lld&format=pprof&spyName=siprof",
			it->url, escaped, it->from, it->until);
	for (unsigned attempt = 1;; attempt++) {
		uint64_t t0 = now_ns();
		double retry_after;

		tries++;
		st = post(run->c, o, url, it->tenant, it->body, it->len, it->cls, &retry_after, &code,
			  err, sizeof err);
		if (st == SENT || st == STOPPED)
			break;
		*run->failing_s += (double)(now_ns() - t0) / 1e9;
		if (st == FAILED || st == REFUSED || attempt >= o->attempts)
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
		report(o, (struct upload_event){ .kind = UPLOAD_RETRY_WAIT, .id = id, .cls = it->cls,
						 .reason = err, .wait_s = wait,
						 .asked_s = retry_after > UPLOAD_WAIT_MAX_S ? retry_after : 0,
						 .cap_s = UPLOAD_WAIT_MAX_S, .attempt = attempt + 1,
						 .attempts = o->attempts, .status = code });
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
			spool_item_remove(run->spool, id);
			report(o, (struct upload_event){ .kind = UPLOAD_SENT, .id = id, .name = it->name,
							 .cls = it->cls, .bytes = it->len });
		}
	} else {
		enum spool_state old = it->state;
		char *note = NULL;

		it->attempts += tries;
		if (code != 0)
			it->status = code;
		if (*err != '\0') {
			free(it->error);
			it->error = xstrdup(err);
		}
		if (st == REFUSED)
			it->state = SPOOL_REJECTED;
		/* The note is for --list; the item itself is safe either way. */
		if (!spool_item_update(run->spool, id, old, it, &note) && st == REFUSED) {
			st = FAILED;
			snprintf(err + strlen(err), sizeof err - strlen(err),
				 "; it could not be moved aside (%s)", note);
		}
		free(note);
		if (st == STOPPED)
			report(o, (struct upload_event){ .kind = UPLOAD_STOPPED, .id = id, .cls = it->cls,
							 .spool = run->spool->path });
		else if (st == REFUSED)
			report(o, (struct upload_event){ .kind = UPLOAD_REJECTED, .id = id,
							 .name = it->name, .cls = it->cls, .reason = err,
							 .status = code, .spool = run->spool->path });
		else
			report(o, (struct upload_event){ .kind = UPLOAD_GAVE_UP, .id = id, .cls = it->cls,
							 .reason = err, .status = code,
							 .spool = run->spool->path });
	}
	curl_free(escaped);
	free(url);
	return st;
}

void
upload_result_release(struct upload_result *r)
{
	for (size_t i = 0; i < r->n_waits; i++) {
		free(r->waits[i].url);
		free(r->waits[i].tenant);
	}
	free(r->waits);
	r->waits = NULL;
	r->n_waits = 0;
}

/* One more item waits for url and tenant. */
static void
add_wait(struct upload_result *r, size_t *cap, const char *url, const char *tenant)
{
	for (size_t i = 0; i < r->n_waits; i++)
		if (strcmp(r->waits[i].url, url) == 0 && same_tenant(r->waits[i].tenant, tenant)) {
			r->waits[i].count++;
			return;
		}
	GROW(r->waits, *cap, r->n_waits + 1);
	r->waits[r->n_waits++] = (struct upload_wait){ .url = xstrdup(url),
						       .tenant = tenant && *tenant ? xstrdup(tenant) : NULL,
						       .count = 1 };
}

bool
upload_run(const struct upload_opts *o, const struct session_data *d, struct upload_result *r,
	   char **cause)
{
	const char *tenant = o->auth.tenant != NULL && *o->auth.tenant ? o->auth.tenant : NULL;
	struct spool spool;
	struct run run = { .o = o, .spool = &spool, .failing_s = &r->failing_s };
	struct spool_entry *e;
	char *dest;
	size_t n, wcap = 0;
	bool stopped = false;

	if ((dest = upload_destination(o->url, cause)) == NULL)
		return false;
	if (!spool_open(&spool, o->spool_dir, cause)) {
		free(dest);
		return false;
	}
	if (d != NULL && !spool_session(o, &spool, d, dest, r, cause))
		goto fail;
	e = spool_list(&spool, &n, cause);
	if (e == NULL)
		goto fail;
	run.c = curl_easy_init();
	if (run.c == NULL) {
		set_cause(cause, "cannot start libcurl");
		spool_list_free(e, n);
		goto fail;
	}
	/* What waits elsewhere is the spool's state now, not a sum over runs. */
	upload_result_release(r);
	r->refused = r->legacy = 0;
	for (size_t i = 0; i < n; i++) {
		const char *id = e[i].id;
		struct spool_item it;
		enum send_status st;
		char *why = NULL;
		int acked;

		if (i > 0 && strcmp(e[i - 1].id, id) == 0)
			continue; /* the same item in two states: a move cut short */
		if ((acked = spool_acked(&spool, id, cause)) < 0)
			break;
		if (acked) {
			/* Acknowledged, but not removed (siprof was stopped). */
			spool_item_remove(&spool, id);
			r->skipped++;
			continue;
		}
		switch (spool_item_read_meta(&spool, id, e[i].state, &it, &why)) {
		case SPOOL_FOREIGN:
			report(o, (struct upload_event){ .kind = UPLOAD_FOREIGN, .id = id, .reason = why });
			free(why);
			r->kept++;
			continue;
		case SPOOL_MISSING:
			spool_item_remove(&spool, id);
			report(o, (struct upload_event){ .kind = UPLOAD_DAMAGED, .id = id });
			free(why);
			continue;
		case SPOOL_OK:
			break;
		}
		if (it.state == SPOOL_LEGACY && o->adopt) {
			/* The user said where these go: from now on they are
			 * items of this destination like any other. */
			it.url = xstrdup(dest);
			it.tenant = tenant ? xstrdup(tenant) : NULL;
			it.state = SPOOL_PENDING;
			if (!spool_item_update(&spool, id, SPOOL_LEGACY, &it, cause)) {
				spool_item_release(&it);
				break;
			}
			report(o, (struct upload_event){ .kind = UPLOAD_ADOPTED, .id = id, .name = it.name });
		}
		if (it.state == SPOOL_LEGACY) {
			r->legacy++;
		} else if (strcmp(it.url, dest) != 0 || !same_tenant(it.tenant, tenant)) {
			if (it.state == SPOOL_PENDING)
				add_wait(r, &wcap, it.url, it.tenant);
		} else if (it.state == SPOOL_REJECTED) {
			r->refused++;
		} else if (stopped || signals_stop_requested()) {
			stopped = true;
			r->kept++;
		} else if (r->failing_s > 0 && r->failing_s >= o->retry_budget_s) {
			run.untried++;
			r->kept++;
		} else {
			st = send_item(&run, id, &it, cause);
			if (st == SENT)
				r->sent++;
			else if (st == REFUSED)
				r->rejected++;
			else
				r->kept++;
			if (st == STOPPED)
				stopped = true;
		}
		spool_item_release(&it);
		if (*cause != NULL)
			break;
	}
	if (run.untried > 0)
		report(o, (struct upload_event){ .kind = UPLOAD_UNTRIED, .count = run.untried,
						 .wait_s = o->retry_budget_s, .spool = spool.path });
	curl_easy_cleanup(run.c);
	spool_list_free(e, n);
	spool_close(&spool);
	free(dest);
	return *cause == NULL;
fail:
	spool_close(&spool);
	free(dest);
	return false;
}
