/* spool.c: the upload spool directory, its items and its ledger. */
#include "config.h"

#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "util.h"

#define LEDGER "acked"

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

/* Why a file is not one siprof made (NULL: it is). */
static const char *
foreign_why(const struct stat *st, char *buf, size_t n)
{
	if (S_ISLNK(st->st_mode))
		return "is a symlink";
	if (!S_ISREG(st->st_mode))
		return "is not a regular file";
	if (st->st_uid != geteuid()) {
		snprintf(buf, n, "belongs to uid %u, not to uid %u", (unsigned)st->st_uid,
			 (unsigned)geteuid());
		return buf;
	}
	if (st->st_nlink != 1) {
		snprintf(buf, n, "has %lu hard links", (unsigned long)st->st_nlink);
		return buf;
	}
	return NULL;
}

/* Open name in the spool, never following a symlink and never blocking on
 * a FIFO or a device, and keep it only when it is a file of ours. */
static enum spool_status
open_ours(const struct spool *s, const char *name, int flags, int *fdp, char **cause)
{
	int fd = openat(s->fd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	const char *why;
	struct stat st;
	char buf[64];

	*fdp = -1;
	if (fd < 0) {
		if (errno == ENOENT)
			return SPOOL_MISSING;
		if (errno == ELOOP)
			set_cause(cause, "'%s/%s' is a symlink", s->path, name);
		else
			set_cause(cause, "cannot open '%s/%s': %s", s->path, name, strerror(errno));
		return SPOOL_FOREIGN;
	}
	if (fstat(fd, &st) != 0) {
		set_cause(cause, "cannot read '%s/%s': %s", s->path, name, strerror(errno));
		close(fd);
		return SPOOL_FOREIGN;
	}
	if ((why = foreign_why(&st, buf, sizeof buf)) != NULL) {
		set_cause(cause, "'%s/%s' %s", s->path, name, why);
		close(fd);
		return SPOOL_FOREIGN;
	}
	*fdp = fd;
	return SPOOL_OK;
}

char *
spool_default_dir(const char *dir)
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

bool
spool_open(struct spool *s, const char *path, char **cause)
{
	struct stat st;
	int fd;

	s->path = xstrdup(path);
	s->fd = -1;
	if (!mkdirs(path, cause))
		goto fail;
	/* Checked through the descriptor used from now on, so that the
	 * directory cannot be swapped after the checks. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			set_cause(cause, "the spool '%s' is a symlink: use the directory itself, "
					 "or another --spool-dir", path);
		else if (err == ENOTDIR)
			set_cause(cause, "the spool '%s' is not a directory: remove it, or use "
					 "another --spool-dir", path);
		else
			set_cause(cause, "cannot open the spool '%s': %s", path, strerror(err));
		goto fail;
	}
	if (fstat(fd, &st) != 0) {
		set_cause(cause, "cannot read the spool '%s': %s", path, strerror(errno));
		goto fail_fd;
	}
	if (st.st_uid != geteuid()) {
		set_cause(cause, "the spool '%s' belongs to uid %u, not to you (uid %u): "
				 "chown it, or use another --spool-dir",
			  path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto fail_fd;
	}
	if ((st.st_mode & 077) != 0) {
		set_cause(cause, "the spool '%s' is open to group or others (mode %04o): "
				 "chmod 700 it, or use another --spool-dir",
			  path, (unsigned)(st.st_mode & 07777));
		goto fail_fd;
	}
	s->fd = fd;
	if (open_ours(s, LEDGER, O_RDONLY, &fd, cause) == SPOOL_FOREIGN) {
		char *why = *cause;

		*cause = NULL;
		set_cause(cause, "the spool's ledger %s, not a file siprof made: remove it", why);
		free(why);
		goto fail;
	}
	if (fd >= 0)
		close(fd);
	return true;
fail_fd:
	close(fd);
fail:
	spool_close(s);
	return false;
}

void
spool_close(struct spool *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->path);
	s->path = NULL;
}

enum spool_status
spool_read(const struct spool *s, const char *name, char **buf, size_t *len, char **cause)
{
	enum spool_status st;
	int fd;

	*buf = NULL;
	*len = 0;
	st = open_ours(s, name, O_RDONLY, &fd, cause);
	if (st != SPOOL_OK)
		return st;
	*buf = read_fd(fd, len);
	if (*buf == NULL) {
		set_cause(cause, "cannot read '%s/%s': %s", s->path, name, strerror(errno));
		*len = 0;
		close(fd);
		return SPOOL_FOREIGN;
	}
	close(fd);
	return SPOOL_OK;
}

/* Nothing siprof did not make is in the way of name (a file of ours, which
 * a rename replaces, or nothing). */
static bool
way_clear(const struct spool *s, const char *name, char **cause)
{
	struct stat st;
	const char *why;
	char buf[64];

	if (fstatat(s->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return true;
	if ((why = foreign_why(&st, buf, sizeof buf)) == NULL)
		return true;
	set_cause(cause, "'%s/%s' %s, not a file siprof made: remove it", s->path, name, why);
	return false;
}

bool
spool_write(const struct spool *s, const char *name, const void *buf, size_t len, char **cause)
{
	char *tmp = xasprintf("%s.tmp", name);
	const char *p = buf;
	size_t left = len;
	int fd;

	if (!way_clear(s, name, cause))
		goto fail_quiet;
	fd = openat(s->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* What a killed siprof left behind goes; anything else stays. */
		if (!way_clear(s, tmp, cause))
			goto fail_quiet;
		unlinkat(s->fd, tmp, 0);
		fd = openat(s->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
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
	if (renameat(s->fd, tmp, s->fd, name) != 0)
		goto fail_unlink;
	fsync(s->fd);
	free(tmp);
	return true;
fail_fd:
	close(fd);
fail_unlink:
	set_cause(cause, "cannot write '%s/%s': %s", s->path, name, strerror(errno));
	unlinkat(s->fd, tmp, 0);
	free(tmp);
	return false;
fail:
	set_cause(cause, "cannot write '%s/%s': %s", s->path, name, strerror(errno));
fail_quiet:
	free(tmp);
	return false;
}

bool
spool_has(const struct spool *s, const char *name)
{
	struct stat st;

	return fstatat(s->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

void
spool_remove(const struct spool *s, const char *name)
{
	char *cause = NULL;
	int fd;

	if (open_ours(s, name, O_RDONLY, &fd, &cause) == SPOOL_OK) {
		close(fd);
		unlinkat(s->fd, name, 0);
	}
	free(cause);
}

static const char *const suffix[] = {
	[SPOOL_PENDING] = ".item",
	[SPOOL_REJECTED] = ".rejected",
	[SPOOL_LEGACY] = ".meta",
};

const char *
spool_state_name(enum spool_state st)
{
	return st == SPOOL_PENDING ? "pending" : st == SPOOL_REJECTED ? "rejected" : "no-destination";
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c != 0 ? c : (int)x->state - (int)y->state;
}

struct spool_entry *
spool_list(const struct spool *s, size_t *n, char **cause)
{
	int fd = dup(s->fd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	struct spool_entry *e = NULL;
	size_t cap = 0;

	*n = 0;
	if (dir == NULL) {
		set_cause(cause, "cannot read the spool '%s': %s", s->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);

		for (unsigned st = 0; st < ARRAY_SIZE(suffix); st++) {
			size_t sl = strlen(suffix[st]);

			if (len > sl && strcmp(de->d_name + len - sl, suffix[st]) == 0) {
				GROW(e, cap, *n + 1);
				e[*n].id = xasprintf("%.*s", (int)(len - sl), de->d_name);
				e[(*n)++].state = (enum spool_state)st;
				break;
			}
		}
	}
	closedir(dir);
	if (*n > 1)
		qsort(e, *n, sizeof *e, cmp_entry);
	if (e == NULL)
		e = xcalloc(1, sizeof *e);
	return e;
}

void
spool_list_free(struct spool_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].id);
	free(e);
}

static void
meta_file(char *file, size_t n, const char *id, enum spool_state st)
{
	snprintf(file, n, "%s%s", id, suffix[st]);
}

bool
spool_item_queued(const struct spool *s, const char *id)
{
	char file[300];

	for (unsigned st = 0; st < ARRAY_SIZE(suffix); st++) {
		meta_file(file, sizeof file, id, (enum spool_state)st);
		if (spool_has(s, file))
			return true;
	}
	return false;
}

static bool
write_meta(const struct spool *s, const char *id, const struct spool_item *it, char **cause)
{
	char file[300], *text;
	json_t *meta;
	bool ok;

	meta = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "name", it->name, "class", it->cls,
			 "from", (json_int_t)it->from, "until", (json_int_t)it->until, "queued",
			 (json_int_t)it->queued, "attempts", (json_int_t)it->attempts);
	if (it->app != NULL)
		json_object_set_new(meta, "app", json_string(it->app));
	if (it->url != NULL)
		json_object_set_new(meta, "url", json_string(it->url));
	if (it->tenant != NULL)
		json_object_set_new(meta, "tenant", json_string(it->tenant));
	if (it->status != 0)
		json_object_set_new(meta, "status", json_integer(it->status));
	if (it->error != NULL)
		json_object_set_new(meta, "error", json_string(it->error));
	text = json_dumps(meta, JSON_COMPACT);
	json_decref(meta);
	meta_file(file, sizeof file, id, it->state);
	ok = text != NULL && spool_write(s, file, text, strlen(text), cause);
	if (text == NULL)
		set_cause(cause, "cannot describe the item %s: a name is not valid UTF-8", id);
	free(text);
	return ok;
}

bool
spool_item_write(const struct spool *s, const char *id, const struct spool_item *it, char **cause)
{
	char file[300];

	snprintf(file, sizeof file, "%s.pb.gz", id);
	if (!spool_write(s, file, it->body, it->len, cause))
		return false;
	return write_meta(s, id, it, cause);
}

static char *
dup_string(json_t *meta, const char *key)
{
	const char *v = json_string_value(json_object_get(meta, key));

	return v != NULL ? xstrdup(v) : NULL;
}

enum spool_status
spool_item_read_meta(const struct spool *s, const char *id, enum spool_state state,
		     struct spool_item *it, char **cause)
{
	char file[300], *text;
	enum spool_status st;
	struct stat sb;
	json_t *meta;
	size_t tlen;
	int fd;

	memset(it, 0, sizeof *it);
	meta_file(file, sizeof file, id, state);
	st = open_ours(s, file, O_RDONLY, &fd, cause);
	if (st != SPOOL_OK)
		return st;
	text = read_fd(fd, &tlen);
	if (text == NULL || fstat(fd, &sb) != 0) {
		set_cause(cause, "cannot read '%s/%s': %s", s->path, file, strerror(errno));
		free(text);
		close(fd);
		return SPOOL_FOREIGN;
	}
	close(fd);
	meta = json_loads(text, 0, NULL);
	free(text);
	it->state = state;
	it->name = dup_string(meta, "name");
	it->cls = dup_string(meta, "class");
	it->app = dup_string(meta, "app");
	it->from = json_integer_value(json_object_get(meta, "from"));
	it->until = json_integer_value(json_object_get(meta, "until"));
	it->queued = json_integer_value(json_object_get(meta, "queued"));
	it->attempts = (unsigned)json_integer_value(json_object_get(meta, "attempts"));
	it->status = (long)json_integer_value(json_object_get(meta, "status"));
	it->error = dup_string(meta, "error");
	/* An older siprof's item has no destination, and its time of queueing
	 * is its description's. */
	if (state != SPOOL_LEGACY) {
		it->url = dup_string(meta, "url");
		it->tenant = dup_string(meta, "tenant");
	}
	if (it->queued == 0)
		it->queued = (long long)sb.st_mtime;
	json_decref(meta);
	if (it->name == NULL || it->cls == NULL || (state != SPOOL_LEGACY && it->url == NULL)) {
		spool_item_release(it);
		return SPOOL_MISSING;
	}
	snprintf(file, sizeof file, "%s.pb.gz", id);
	if (fstatat(s->fd, file, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode))
		it->len = (size_t)sb.st_size;
	return SPOOL_OK;
}

enum spool_status
spool_item_read_body(const struct spool *s, const char *id, struct spool_item *it, char **cause)
{
	char file[300];

	free(it->body);
	snprintf(file, sizeof file, "%s.pb.gz", id);
	return spool_read(s, file, &it->body, &it->len, cause);
}

bool
spool_item_update(const struct spool *s, const char *id, enum spool_state old,
		  const struct spool_item *it, char **cause)
{
	char file[300];

	if (!write_meta(s, id, it, cause))
		return false;
	if (old != it->state) {
		meta_file(file, sizeof file, id, old);
		spool_remove(s, file);
		fsync(s->fd);
	}
	return true;
}

void
spool_item_release(struct spool_item *it)
{
	free(it->name);
	free(it->cls);
	free(it->app);
	free(it->url);
	free(it->tenant);
	free(it->error);
	free(it->body);
	memset(it, 0, sizeof *it);
}

void
spool_item_remove(const struct spool *s, const char *id)
{
	char file[300];

	for (unsigned st = 0; st < ARRAY_SIZE(suffix); st++) {
		meta_file(file, sizeof file, id, (enum spool_state)st);
		spool_remove(s, file);
	}
	snprintf(file, sizeof file, "%s.pb.gz", id);
	spool_remove(s, file);
}

int
spool_acked(const struct spool *s, const char *id, char **cause)
{
	char *text, *line, *save;
	enum spool_status st;
	size_t len;
	int found = 0;

	st = spool_read(s, LEDGER, &text, &len, cause);
	if (st == SPOOL_MISSING)
		return 0;
	if (st != SPOOL_OK)
		return -1;
	for (line = strtok_r(text, "\n", &save); line != NULL && !found;
	     line = strtok_r(NULL, "\n", &save))
		found = strcmp(line, id) == 0;
	free(text);
	return found;
}

bool
spool_ack(const struct spool *s, const char *id, char **cause)
{
	char *line = xasprintf("%s\n", id);
	size_t len = strlen(line);
	bool ok = false;
	int fd;

	if (open_ours(s, LEDGER, O_WRONLY | O_CREAT | O_APPEND, &fd, cause) != SPOOL_OK) {
		char *why = *cause;

		*cause = NULL;
		set_cause(cause, "cannot record the upload in the ledger: %s",
			  why != NULL ? why : "it is missing");
		free(why);
		goto out;
	}
	ok = write(fd, line, len) == (ssize_t)len && fsync(fd) == 0;
	if (!ok)
		set_cause(cause, "cannot record the upload in '%s/" LEDGER "': %s", s->path,
			  strerror(errno));
	close(fd);
	/* The ledger's own name, on disk too, when it was just created. */
	if (ok)
		fsync(s->fd);
out:
	free(line);
	return ok;
}
