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
 * Credentials never appear in output. The spool itself is spool.h's. */
#ifndef SIPROF_UPLOAD_H
#define SIPROF_UPLOAD_H

#include <stdbool.h>

#include "session.h"

/* After a first stop request, the request in flight may take this long to
 * be answered: long enough for a normal request, so that a profile the
 * server stored is acknowledged once rather than sent again. */
#define UPLOAD_STOP_WAIT_S 5
/* The longest wait between two tries, whatever Retry-After asks for. */
#define UPLOAD_WAIT_MAX_S 60

struct upload_auth {
	char *tenant;   /* X-Scope-OrgID */
	char *user;     /* HTTP Basic, with password */
	char *password;
	char *token;    /* Authorization: Bearer */
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
	bool progress;         /* a progress line on stderr (a terminal) */
	bool quiet;
	struct upload_auth auth;
};

/* Credentials from the environment (SIPROF_UPLOAD_TENANT, _USER,
 * _PASSWORD, _TOKEN) and then from file (lines KEY=VALUE with keys
 * tenant, user, password, token), which must not be readable by others.
 * Returns false with *cause set when the file is unusable. */
bool upload_auth_load(struct upload_auth *a, const char *file, char **cause);
void upload_auth_release(struct upload_auth *a);
/* Before siprof starts a command: load the credentials now, as
 * upload_auth_load does, and remove SIPROF_UPLOAD_TENANT, _USER, _PASSWORD,
 * _TOKEN and _AUTH_FILE from the environment (their values wiped, also
 * from /proc/PID/environ), so that the command never sees them; the next
 * upload_auth_load gets them from memory. */
bool upload_auth_hide(const char *file, char **cause);

/* The spool directory to use: dir, else $SIPROF_SPOOL_DIR, else
 * $XDG_STATE_HOME/siprof/spool, else ~/.local/state/siprof/spool. */
char *upload_spool_dir(const char *dir);

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
 * reported on stderr as they happen. */
bool upload_run(const struct upload_opts *o, const struct session_data *d, struct upload_result *r,
		char **cause);

#endif
