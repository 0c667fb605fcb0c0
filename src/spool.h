/* spool.h: the upload spool, a private directory of profiles waiting to be
 * sent, and its ledger `acked` of the ones a server acknowledged.
 *
 * An item is two files named for its id: ID.pb.gz, the profile, and
 * ID.meta, what it is sent as (JSON: name, class, from, until), written
 * last: an item without its meta is not queued.
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
/* The ids of the queued items (the names ending in .meta, without it),
 * sorted; NULL with *cause set when the directory cannot be read. */
char **spool_list(const struct spool *s, size_t *n, char **cause);
void spool_list_free(char **ids, size_t n);

/* A queued item. */
struct spool_item {
	char *name;  /* the profile's name as sent, APP.CLASS{labels} */
	char *cls;   /* its class */
	long long from, until; /* its time span, in seconds since the epoch */
	char *body;  /* the pprof, len bytes */
	size_t len;
};
/* Whether item id is queued. */
bool spool_item_queued(const struct spool *s, const char *id);
/* Queue item id (the profile first, then its meta), durably. False with
 * *cause set on failure. */
bool spool_item_write(const struct spool *s, const char *id, const struct spool_item *it,
		      char **cause);
/* Read item id: SPOOL_OK; SPOOL_FOREIGN when a file of it is not one
 * siprof made (*cause says which); SPOOL_MISSING when the item is
 * incomplete or damaged. */
enum spool_status spool_item_read(const struct spool *s, const char *id, struct spool_item *it,
				  char **cause);
void spool_item_release(struct spool_item *it);
/* Remove item id's files that siprof made. */
void spool_item_remove(const struct spool *s, const char *id);

/* Whether id is in the ledger: 1, 0, or -1 with *cause set. */
int spool_acked(const struct spool *s, const char *id, char **cause);
/* Add id to the ledger, on disk (fsync) before it returns true. */
bool spool_ack(const struct spool *s, const char *id, char **cause);

#endif
