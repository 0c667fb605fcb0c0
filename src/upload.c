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
	selection_init(&all);
	analyze_threads(&d->prof, &all, &tt);
	for (size_t i = 0; i < d->prof.n_samples; i++)
		if (d->prof.samples[i].type < PT_COUNT && d->prof.samples[i].count > 0)
			present[d->prof.samples[i].type] = true;
	/* A profile per class of the thread-samples, then one per other type
	 * the session holds (alloc, duration, ...), each named app.NAME. */
	for (int k = 0; k < CLASS_COUNT + PT_COUNT - 1; k++) {
		int c = k < CLASS_COUNT ? k : -1;
		unsigned type = k < CLASS_COUNT ? PT_SAMPLES : (unsigned)(k - CLASS_COUNT + 1);
		struct selection sel;
		struct pprof_info info = { .class_name = c >= 0 ? class_name((enum sample_class)c)
							  : ptype_get(type)->name,
					   .main_path = session_meta(d, "executable"),
					   .main_build_id = session_meta(d, "build_id"),
					   .rate_hz = export_rate(d),
					   .start_unix_ns = session_meta_u64(d, "start_unix_ns"),
					   .duration_ns = (uint64_t)(session_duration(d) * 1e9) };
		char id[200], name[1024];
		struct spool_item it;
		unsigned char *body;
		size_t len;
		bool ok;
		int acked;

		if (c >= 0 ? tt.by_class[c] == 0 : !present[type])
			continue;
		snprintf(id, sizeof id, "%s-%s-%llu-%llu", run_id, info.class_name,
			 (unsigned long long)from, (unsigned long long)until);
		if ((acked = spool_acked(spool, id, cause)) < 0)
			goto fail;
		if (acked) {
			report(o, (struct upload_event){ .kind = UPLOAD_ACKED_BEFORE, .id = id });
			r->skipped++;
			continue;
		}
		if (spool_item_queued(spool, id))
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
		sel.type = type;
		pprof_encode(&d->prof, &sel, &info, &body, &len);
		it = (struct spool_item){ .name = name, .cls = (char *)info.class_name,
					  .from = (long long)from, .until = (long long)until,
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

enum send_status { SENT, RETRY, FAILED, STOPPED };

/* A header that held a credential. */
static void
wipe_header(char *h)
{
	if (h != NULL) {
		explicit_bzero(h, strlen(h));
		free(h);
	}
}

/* One POST. *retry_after_s gets the server's Retry-After (or 0). */
static enum send_status
post(CURL *c, const struct upload_opts *o, const char *url, const void *body, size_t len,
     const char *what, double *retry_after_s, char *err, size_t errlen)
{
	struct curl_slist *headers = NULL;
	struct reply reply = { .len = 0 };
	struct progress prog = { .o = o, .what = what };
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

/* Send one spooled item, with retries within the run's budget; once it is
 * acknowledged, it enters the ledger (on disk) and only then leaves the
 * spool. */
static enum send_status
send_item(struct run *run, const char *id, char **cause)
{
	const struct upload_opts *o = run->o;
	enum send_status st = FAILED;
	char *escaped = NULL, *url = NULL, err[700] = "", *why = NULL;
	double wait = o->backoff_s;
	struct spool_item it;

	switch (spool_item_read(run->spool, id, &it, &why)) {
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
	escaped = curl_easy_escape(run->c, it.name, 0);
	url = xasprintf("%s%singest?name=%s&from=%lld&until=%lld&format=pprof", o->url,
			o->url[strlen(o->url) - 1] == '/' ? "" : "/", escaped, it.from, it.until);
	for (unsigned attempt = 1;; attempt++) {
		uint64_t t0 = now_ns();
		double retry_after;

		st = post(run->c, o, url, it.body, it.len, it.cls, &retry_after, err, sizeof err);
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
		report(o, (struct upload_event){ .kind = UPLOAD_RETRY_WAIT, .cls = it.cls,
						 .reason = err, .wait_s = wait,
						 .asked_s = retry_after > UPLOAD_WAIT_MAX_S ? retry_after : 0,
						 .cap_s = UPLOAD_WAIT_MAX_S, .attempt = attempt + 1,
						 .attempts = o->attempts });
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
			report(o, (struct upload_event){ .kind = UPLOAD_SENT, .id = id, .name = it.name,
							 .cls = it.cls, .bytes = it.len });
		}
	} else if (st == STOPPED) {
		report(o, (struct upload_event){ .kind = UPLOAD_STOPPED, .id = id, .cls = it.cls,
						 .spool = run->spool->path });
	} else {
		report(o, (struct upload_event){ .kind = UPLOAD_GAVE_UP, .id = id, .cls = it.cls,
						 .reason = err, .spool = run->spool->path });
	}
	curl_free(escaped);
	free(url);
	spool_item_release(&it);
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
	if (run.c == NULL) {
		set_cause(cause, "cannot start libcurl");
		spool_list_free(ids, n);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		enum send_status st;
		int acked = spool_acked(&spool, ids[i], cause);

		if (acked < 0)
			break;
		if (acked) {
			/* Acknowledged, but not removed (siprof was stopped). */
			spool_item_remove(&spool, ids[i]);
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
		report(o, (struct upload_event){ .kind = UPLOAD_UNTRIED, .count = run.untried,
						 .wait_s = o->retry_budget_s, .spool = spool.path });
	curl_easy_cleanup(run.c);
	spool_list_free(ids, n);
	spool_close(&spool);
	return *cause == NULL;
fail:
	spool_close(&spool);
	return false;
}
