/* util.c: allocation, messages, clocks and parsing shared by every module. */
#include "config.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "text.h"

int util_verbose;
static void (*fatal_hook)(void);

void
util_set_fatal_hook(void (*hook)(void))
{
	fatal_hook = hook;
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	if (fatal_hook != NULL)
		fatal_hook();
	fputs("siprof: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("out of memory allocating %zu bytes", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		fatal("out of memory allocating %zu x %zu bytes", nmemb, size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		fatal("out of memory allocating %zu bytes", n);
	return q;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		fatal("allocation of %zu x %zu bytes overflows", nmemb, size);
	return xrealloc(p, nmemb * size);
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("out of memory copying a string");
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		fatal("out of memory formatting a string");
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void
grow_array(void **items, size_t *cap, size_t need, size_t elsize)
{
	size_t n = *cap ? *cap : 8;

	if (need <= *cap)
		return;
	while (n < need)
		n *= 2;
	*items = xreallocarray(*items, n, elsize);
	*cap = n;
}

/* Messages name threads, modules and files of the target: escaped, so
 * that none of them can send the terminal a control sequence. */
static void
vmsg(const char *prefix, const char *fmt, va_list ap)
{
	char *raw = xvasprintf(fmt, ap), *msg = text_safe_dup(raw);

	fprintf(stderr, "siprof: %s%s\n", prefix, msg);
	free(msg);
	free(raw);
}

void
err_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void
warn_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void
verbose_msg(const char *fmt, ...)
{
	va_list ap;

	if (!util_verbose)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void
set_cause(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause == NULL)
		return;
	free(*cause);
	va_start(ap, fmt);
	*cause = xvasprintf(fmt, ap);
	va_end(ap);
}

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

ssize_t
read_file_buf(const char *path, char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (got + 1 < n) {
		r = read(fd, buf + got, n - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	close(fd);
	return (ssize_t)got;
}

char *
read_fd(int fd, size_t *len)
{
	size_t cap = 4096, got = 0;
	char *buf = xmalloc(cap);
	ssize_t r;

	for (;;) {
		if (got + 1 >= cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		r = read(fd, buf + got, cap - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (len != NULL)
		*len = got;
	return buf;
}

char *
read_file(const char *path, size_t *len)
{
	char *buf;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = read_fd(fd, len);
	saved = errno;
	close(fd);
	errno = saved;
	return buf;
}

/* The one scanner behind every number siprof reads: the length of the
 * decimal number s starts with, or 0 when it does not start with one. A
 * number is an optional '-' (with NUM_NEGATIVE), digits and, with
 * NUM_FRACTION, an optional '.' and digits, and with NUM_EXPONENT an
 * optional exponent (e+20, as SQLite writes a REAL). strtod and strtol
 * alone would also take leading spaces, '+', hex, octal-looking
 * prefixes, "inf" and "nan". */
static size_t
scan_number(const char *s, unsigned flags)
{
	size_t i = 0, digits;

	if (s[i] == '-' && (flags & NUM_NEGATIVE))
		i++;
	for (digits = i; isdigit((unsigned char)s[i]); i++)
		;
	if (i == digits)
		return 0;
	if (s[i] == '.' && (flags & NUM_FRACTION) && isdigit((unsigned char)s[i + 1]))
		for (i++; isdigit((unsigned char)s[i]); i++)
			;
	if ((s[i] == 'e' || s[i] == 'E') && (flags & NUM_EXPONENT)) {
		size_t j = i + 1;

		if (s[j] == '+' || s[j] == '-')
			j++;
		if (isdigit((unsigned char)s[j])) {
			for (i = j; isdigit((unsigned char)s[i]); i++)
				;
		}
	}
	return i;
}

_Bool
parse_number(const char *s, unsigned flags, double min, double max, double *out,
	     const char **rest)
{
	size_t len;
	double v;

	if (s == NULL || (len = scan_number(s, flags | (min < 0 ? NUM_NEGATIVE : 0))) == 0)
		return 0;
	if (rest == NULL && s[len] != '\0')
		return 0;
	errno = 0;
	v = strtod(s, NULL);
	if (errno != 0 || !isfinite(v) || v < min || v > max)
		return 0;
	if (rest != NULL)
		*rest = s + len;
	*out = v;
	return 1;
}

_Bool
parse_long(const char *s, long min, long max, long *out)
{
	size_t len;
	long v;

	if (s == NULL || (len = scan_number(s, min < 0 ? NUM_NEGATIVE : 0)) == 0 ||
	    s[len] != '\0')
		return 0;
	errno = 0;
	v = strtol(s, NULL, 10);
	if (errno != 0 || v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

_Bool
parse_size(const char *s, size_t *out)
{
	unsigned long long v, mul = 1;
	size_t len;
	const char *end;

	if (s == NULL || (len = scan_number(s, 0)) == 0)
		return 0;
	errno = 0;
	v = strtoull(s, NULL, 10);
	if (errno != 0)
		return 0;
	end = s + len;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mul = 1024; end++; break;
	case 'm': case 'M': mul = 1024 * 1024; end++; break;
	case 'g': case 'G': mul = 1024 * 1024 * 1024; end++; break;
	default: return 0;
	}
	/* 64K, 64Ki, 64KiB and 64KB all mean 65536. */
	if (mul > 1 && *end == 'i')
		end++;
	if (mul > 1 && *end == 'B')
		end++;
	if (*end != '\0' || v > SIZE_MAX / mul)
		return 0;
	*out = (size_t)(v * mul);
	return 1;
}

const char *
path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/* The directory part of path ("." for a bare name). */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xasprintf("%.*s", (int)(slash - path), path);
}

int
file_create_temp(const char *path, char **tmp, char **cause)
{
	char *dir = dir_of(path);
	int fd;

	/* Unnamed first: nothing can be planted at a name it does not have,
	 * and a kill before it is linked into place leaves nothing. */
	*tmp = NULL;
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	free(dir);
	if (fd >= 0)
		return fd;
	if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
		/* No O_TMPFILE on this file system. mkostemp opens with
		 * O_CREAT|O_EXCL, mode 0600: a name planted in advance (a
		 * symbolic link, another user's file) makes it try another
		 * name, never open what is there. */
		*tmp = xasprintf("%s.tmpXXXXXX", path);
		fd = mkostemp(*tmp, O_CLOEXEC);
		if (fd >= 0)
			return fd;
		free(*tmp);
		*tmp = NULL;
	}
	set_cause(cause, "cannot create '%s': %s", path, strerror(errno));
	return -1;
}

/* Give the unnamed file fd the name path (never replacing a file). */
static int
link_unnamed(int fd, const char *path)
{
	char proc[64];

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

/* Link the unnamed file fd at a new name path.tmpXXXXXX; the name, or NULL
 * with errno set. */
static char *
link_unnamed_temp(int fd, const char *path)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

	for (int tries = 0; tries < 100; tries++) {
		unsigned char r[6];
		char *name;

		if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
			return NULL;
		name = xasprintf("%s.tmp%c%c%c%c%c%c", path, chars[r[0] % 62], chars[r[1] % 62],
				 chars[r[2] % 62], chars[r[3] % 62], chars[r[4] % 62], chars[r[5] % 62]);
		if (link_unnamed(fd, name) == 0)
			return name;
		free(name);
		if (errno != EEXIST)
			return NULL;
	}
	return NULL;
}

int
file_commit_temp(int fd, const char *tmp, const char *path, _Bool replace, char **cause)
{
	struct stat ours, there;
	char *named = NULL;
	int saved;

	if (tmp == NULL && !replace) {
		if (link_unnamed(fd, path) == 0)
			return 0;
		saved = errno;
		set_cause(cause, "cannot create '%s': %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (tmp == NULL) {
		/* rename(2) alone replaces a name: give the file one first. */
		named = link_unnamed_temp(fd, path);
		if (named == NULL) {
			saved = errno;
			set_cause(cause, "cannot create '%s': %s", path, strerror(saved));
			errno = saved;
			return -1;
		}
		tmp = named;
	}
	if (fstat(fd, &ours) != 0 || lstat(tmp, &there) != 0 ||
	    ours.st_dev != there.st_dev || ours.st_ino != there.st_ino) {
		/* Only in a directory others may write to without the sticky
		 * bit: what is at tmp now is not ours, so leave it alone. */
		set_cause(cause, "cannot create '%s': its temporary file '%s' was replaced while "
			  "siprof wrote it; write to a directory only you can change", path, tmp);
		free(named);
		errno = EPERM;
		return -1;
	}
	if (replace ? rename(tmp, path) == 0 : renameat2(AT_FDCWD, tmp, AT_FDCWD, path,
							 RENAME_NOREPLACE) == 0) {
		free(named);
		return 0;
	}
	if (!replace && errno == EINVAL) {
		/* A file system without RENAME_NOREPLACE: link(2) also refuses
		 * to replace a name. */
		if (link(tmp, path) == 0) {
			unlink(tmp);
			return 0;
		}
	}
	saved = errno;
	set_cause(cause, "cannot create '%s': %s", path, strerror(saved));
	unlink(tmp);
	free(named);
	errno = saved;
	return -1;
}

void
file_discard_temp(const char *tmp)
{
	if (tmp != NULL)
		unlink(tmp);
}

_Bool
write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t r;

	while (n > 0) {
		r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return 0;
		p += r;
		n -= (size_t)r;
	}
	return 1;
}
