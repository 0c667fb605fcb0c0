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
#include <time.h>
#include <unistd.h>

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

static void
vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fputs("siprof: ", stderr);
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
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
read_file(const char *path, size_t *len)
{
	size_t cap = 4096, got = 0;
	char *buf;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = xmalloc(cap);
	for (;;) {
		if (got + 1 >= cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		r = read(fd, buf + got, cap - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			free(buf);
			close(fd);
			errno = saved;
			return NULL;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	if (len != NULL)
		*len = got;
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
