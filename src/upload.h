/* upload.h: sessions to a Grafana Pyroscope-compatible /ingest endpoint.
 *
 * A session goes up as one pprof per class it has samples of (and one for
 * wall), each a POST to URL/ingest?name=APP.CLASS{labels}&from=&until=
 * &format=pprof. Each such item is first written to the spool directory;
 * it leaves the spool only once the server acknowledged it (2xx), and its
 * id (the session's run id, the class and the time span) goes into the
 * spool's ledger of acknowledged items, so that an item is never sent again
 * after an acknowledgement, even when the same session is uploaded twice.
 * Connection failures, timeouts, 5xx and 429 are retried with backoff
 * (Retry-After honoured); what still fails stays in the spool for the next
 * upload. Each wait is capped, and so is the time one run spends on
 * failures. A first stop request (Ctrl-C) lets the request in flight finish
 * and be acknowledged; a second one gives it up. TLS certificates are always
 * verified; libcurl's proxy variables (https_proxy, no_proxy, ...) apply.
 * Credentials never appear in output (credentials.h); the spool and its
 * ledger are spool.h's. The module prints nothing: what happens goes to
 * the caller's progress callback. */
#ifndef SIPROF_UPLOAD_H
#define SIPROF_UPLOAD_H

#include <stdbool.h>

#include "credentials.h"
#include "session.h"

/* After a first stop request, the request in flight may take this long to
 * be answered: long enough for a normal request, so that a profile the
 * server stored is acknowledged once rather than sent again. */
#define UPLOAD_STOP_WAIT_S 5
/* The longest wait between two tries, whatever Retry-After asks for. */
#define UPLOAD_WAIT_MAX_S 60

/* What an upload run reports as it goes. */
enum upload_event_kind {
	UPLOAD_ACKED_BEFORE, /* id was acknowledged before: not sent again */
	UPLOAD_SENDING,      /* cls: bytes of total sent so far */
	UPLOAD_STOPPING,     /* a stop request: the answer to the request in
			      * flight is awaited for up to wait_s */
	UPLOAD_ABANDONED,    /* the request in flight was given up: a second
			      * stop request (second_stop), or no answer
			      * wait_s after the first */
	UPLOAD_RETRY_WAIT,   /* cls failed (reason): attempt of attempts comes
			      * in wait_s; the server asked for asked_s, which
			      * was more than the cap (cap_s) when asked_s > 0 */
	UPLOAD_SENT,         /* name was acknowledged, bytes long */
	UPLOAD_FOREIGN,      /* id skipped: a file of it is not siprof's
			      * (reason); neither sent nor removed */
	UPLOAD_DAMAGED,      /* id was incomplete or damaged; removed */
	UPLOAD_STOPPED,      /* cls stopped; kept in spool */
	UPLOAD_GAVE_UP,      /* cls not sent (reason); kept in spool */
	UPLOAD_UNTRIED,      /* count items not tried: the retry budget
			      * (wait_s) was spent; kept in spool */
};

struct upload_event {
	enum upload_event_kind kind;
	const char *id, *name, *cls;
	const char *reason;
	const char *spool; /* the spool's path */
	double wait_s, asked_s, cap_s;
	unsigned attempt, attempts, count;
	size_t bytes, total;
	bool second_stop;
};

/* Called for each event; the module itself prints nothing. */
struct upload_progress {
	void (*fn)(const struct upload_event *ev, void *arg);
	void *arg;
};

struct upload_opts {
	const char *url;       /* the server, e.g. https://pyroscope.example:4040 */
	const char *app;       /* the application name; NULL: the session's */
	const char *spool_dir;
	unsigned attempts;     /* tries per item, at least 1 */
	double timeout_s;      /* per request */
	double backoff_s;      /* first wait between tries; doubles each time */
	double retry_budget_s; /* time a run may spend on failed requests and
				* waits; then no more tries, the rest stays */
	struct upload_progress progress; /* fn NULL: no reports */
	struct credentials auth;
};

/* What uploads did, summed over the runs that share it. */
struct upload_result {
	unsigned sent;     /* acknowledged now */
	unsigned skipped;  /* acknowledged before (in the ledger) */
	unsigned kept;     /* failed or not tried, left in the spool */
	double failing_s;  /* spent on failed requests and waits, which
			    * o->retry_budget_s bounds */
};

/* Put the session's items in the spool (each once), then send every item
 * in the spool, adding to *r (zeroed by the caller before the first run).
 * With d NULL, only the spool is sent. Returns false when the spool could
 * not be used (*cause set); failed sends are counted in r->kept and
 * reported to o->progress as they happen. */
bool upload_run(const struct upload_opts *o, const struct session_data *d, struct upload_result *r,
		char **cause);

#endif
