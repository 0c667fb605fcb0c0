/* upload.h: sessions to a Grafana Pyroscope-compatible /ingest endpoint.
 *
 * A session goes up as one pprof per class it has samples of (and one per
 * other profile type; one for alloc and inuse together, APP.memory, with
 * Go's heap profile sample types, alloc_objects, alloc_space, inuse_objects
 * and inuse_space, from which Pyroscope names it a memory profile), each a
 * POST to URL/ingest?name=APP.CLASS{labels}
 * &from=&until=&format=pprof&spyName=siprof. The labels are the service's
 * identity alone (host and the session's tags: version, environment, ...);
 * what identifies the run (pid, build-id) goes in the profile's comments,
 * so that every run does not make a new series. Each such item is first
 * written to the spool directory with its destination (the URL, without
 * credentials, and the tenant); it is sent there and nowhere else, and
 * leaves the spool only once that server acknowledged it (2xx). Its id (the
 * session's run id, the class, the time span and the destination) then goes
 * into the spool's ledger of acknowledged items, so that an item is never
 * sent again after an acknowledgement, even when the same session is
 * uploaded twice. Connection failures, timeouts, 5xx, 408 and 429 are
 * retried with backoff (Retry-After honoured); what still fails stays in
 * the spool for the next upload to that destination. A 4xx that says the
 * profile itself is refused (any but 401, 403, 407, 408 and 429, which are
 * about the request's credentials or timing) moves the item aside: kept,
 * never sent again. Each wait is capped, and so is the time one run spends
 * on failures. A first stop request (Ctrl-C) lets the request in flight finish
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
	UPLOAD_REJECTED,     /* cls (id, name) refused for good (status,
			      * reason): moved aside in spool */
	UPLOAD_REFUSED_BEFORE, /* id was refused before: kept aside, not sent */
	UPLOAD_ADOPTED,      /* id, an older siprof's item without a
			      * destination, is given this upload's */
};

struct upload_event {
	enum upload_event_kind kind;
	const char *id, *name, *cls;
	const char *reason;
	const char *spool; /* the spool's path */
	double wait_s, asked_s, cap_s;
	unsigned attempt, attempts, count;
	long status;       /* the server's HTTP status, when it answered */
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
	bool adopt;            /* send an older siprof's items, which have no
				* destination, to this one (and this tenant) */
	struct upload_progress progress; /* fn NULL: no reports */
	struct credentials auth;
};

/* Items of the spool that wait for another destination. */
struct upload_wait {
	char *url, *tenant; /* tenant NULL: none */
	unsigned count;
};

/* What uploads did, summed over the runs that share it; what waits for
 * other destinations is the spool's after the last run. */
struct upload_result {
	unsigned sent;     /* acknowledged now */
	unsigned skipped;  /* acknowledged before (in the ledger) */
	unsigned kept;     /* failed or not tried, left in the spool */
	unsigned rejected; /* refused for good now, moved aside */
	unsigned refused;  /* this destination's, refused before: aside */
	unsigned legacy;   /* an older siprof's, without a destination:
			    * not sent (o->adopt sends them) */
	struct upload_wait *waits; /* pending for other destinations */
	size_t n_waits;
	double failing_s;  /* spent on failed requests and waits, which
			    * o->retry_budget_s bounds */
};
/* Free what r holds (its waits). */
void upload_result_release(struct upload_result *r);

/* The destination url names as a spool keeps it: without a trailing '/'.
 * NULL with *cause set when it holds credentials (user:password@), which
 * go in the environment or a file, never in a URL or the spool. */
char *upload_destination(const char *url, char **cause);

/* Put the session's items in the spool (each once), for o->url and
 * o->auth.tenant, then send every item in the spool meant for that
 * destination, adding to *r (zeroed by the caller before the first run).
 * Items for other destinations stay and are counted in r->waits.
 * With d NULL, only the spool is sent. Returns false when the spool could
 * not be used (*cause set); failed sends are counted in r->kept and
 * reported to o->progress as they happen. */
bool upload_run(const struct upload_opts *o, const struct session_data *d, struct upload_result *r,
		char **cause);

#endif
