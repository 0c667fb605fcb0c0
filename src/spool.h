/* spool.h: the upload spool, a private directory of profiles waiting to be
 * sent, and its ledger `acked` of the ones a server acknowledged.
 *
 * An item is two files named for its id: ID.pb.gz, the profile, and a
 * description of it (JSON: name, class, from, until, and its destination:
 * the server's URL, never with credentials, and the tenant), written last:
 * an item without its description is not queued. The description's name
 * says the item's state: ID.item, waiting to be sent to its destination
 * and nowhere else; ID.rejected, refused by that server for good (its
 * status and message kept), moved aside and never sent again; ID.meta, an
 * item of an older siprof, which has no destination.
 *
 * The spool is trusted only when it is the caller's own: a directory, not a
 * symlink, owned by the effective user and closed to group and others. Every
 * file in it is opened without following symlinks and used only when it is a
 * regular file of the effective user's with a single link; anything else is
 * foreign: never read, never sent, never removed. All access goes through the
 * directory descriptor opened and checked once. */
#ifndef SIPROF_SPOOL_H
#define SIPROF_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

struct spool {
	char *path;
	int fd; /* the directory */
};

/* The spool directory to use: dir, else $SIPROF_SPOOL_DIR, else
 * $XDG_STATE_HOME/siprof/spool, else ~/.local/state/siprof/spool. */
char *spool_default_dir(const char *dir);

/* Open the spool at path, creating it (and missing parents) mode 0700 when
 * it is missing. False with *cause saying what is wrong and what to do when
 * it is not a directory of the caller's own, or its ledger is foreign. */
bool spool_open(struct spool *s, const char *path, char **cause);
void spool_close(struct spool *s);

enum spool_status {
	SPOOL_OK,
	SPOOL_MISSING, /* no such file */
	SPOOL_FOREIGN  /* not a file siprof made: *cause says why */
};

/* Read the spool's file name whole into a NUL-terminated heap buffer. */
enum spool_status spool_read(const struct spool *s, const char *name, char **buf, size_t *len,
			     char **cause);
/* Write name whole and durably (a new temporary file, fsync, rename), mode
 * 0600. False with *cause set on failure. */
bool spool_write(const struct spool *s, const char *name, const void *buf, size_t len,
		 char **cause);
/* Whether anything is called name in the spool. */
bool spool_has(const struct spool *s, const char *name);
/* Remove name when it is a file siprof made; anything else stays. */
void spool_remove(const struct spool *s, const char *name);
enum spool_state {
	SPOOL_PENDING,  /* ID.item: to be sent to its destination */
	SPOOL_REJECTED, /* ID.rejected: refused for good, kept aside */
	SPOOL_LEGACY,   /* ID.meta: an older siprof's, without a destination */
};
/* The state's name, as --list shows it: pending, rejected, no-destination. */
const char *spool_state_name(enum spool_state st);

struct spool_entry {
	char *id;
	enum spool_state state;
};
/* The items in the spool (every state), sorted by id; NULL with *cause set
 * when the directory cannot be read. */
struct spool_entry *spool_list(const struct spool *s, size_t *n, char **cause);
void spool_list_free(struct spool_entry *e, size_t n);

/* A queued item. */
struct spool_item {
	enum spool_state state;
	char *name;  /* the profile's name as sent, APP.CLASS{labels} */
	char *cls;   /* its class, or its type */
	char *app;   /* its application (NULL in an older siprof's item) */
	long long from, until; /* its time span, in seconds since the epoch */
	char *url;    /* its destination, without credentials; NULL: none */
	char *tenant; /* the tenant it is for; NULL: none */
	long long queued; /* when it was queued, seconds since the epoch */
	unsigned attempts; /* requests made for it so far */
	long status;  /* the last HTTP status a server gave for it, or 0 */
	char *error;  /* why the last try failed, or NULL */
	char *body;   /* the pprof, len bytes (NULL until read) */
	size_t len;
};
/* Whether item id is in the spool, in any state. */
bool spool_item_queued(const struct spool *s, const char *id);
/* Queue item id (the profile first, then its description, state pending),
 * durably. False with *cause set on failure. */
bool spool_item_write(const struct spool *s, const char *id, const struct spool_item *it,
		      char **cause);
/* Read item id's description in state st, and its profile's size (it->len;
 * it->body stays NULL): SPOOL_OK; SPOOL_FOREIGN when a file of it is not
 * one siprof made (*cause says which); SPOOL_MISSING when the item is
 * incomplete or damaged. */
enum spool_status spool_item_read_meta(const struct spool *s, const char *id, enum spool_state st,
				       struct spool_item *it, char **cause);
/* Read the profile of item id, described in it, into it->body and it->len. */
enum spool_status spool_item_read_body(const struct spool *s, const char *id,
				       struct spool_item *it, char **cause);
/* Write item id's description again as it says (attempts, status, error,
 * destination), in the state it->state, and remove the description of its
 * old state when that differs: the move aside of a refused item, the
 * destination given to an older siprof's. */
bool spool_item_update(const struct spool *s, const char *id, enum spool_state old,
		       const struct spool_item *it, char **cause);
void spool_item_release(struct spool_item *it);
/* Remove item id's files that siprof made, in every state. */
void spool_item_remove(const struct spool *s, const char *id);

/* Whether id is in the ledger: 1, 0, or -1 with *cause set. */
int spool_acked(const struct spool *s, const char *id, char **cause);
/* Add id to the ledger, on disk (fsync) before it returns true. */
bool spool_ack(const struct spool *s, const char *id, char **cause);

#endif
