/* util.h: allocation that never fails, messages, time, small string helpers. */
#ifndef SIPROF_UTIL_H
#define SIPROF_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ATTR_NORETURN __attribute__((noreturn))

/* Allocation wrappers: abort with a message on out-of-memory, after running
 * the hook set with util_set_fatal_hook (the live view restores the terminal). */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) ATTR_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) ATTR_PRINTF(1, 0);

/* Grow *items (of *cap elements of size elsize) so that it holds at least need. */
void grow_array(void **items, size_t *cap, size_t need, size_t elsize);
#define GROW(arr, cap, need) grow_array((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* Called before aborting on a fatal error (out of memory, crash). */
void util_set_fatal_hook(void (*hook)(void));
void fatal(const char *fmt, ...) ATTR_PRINTF(1, 2) ATTR_NORETURN;

/* Messages to stderr, prefixed "siprof: ". warn_msg adds "warning: ". */
void err_msg(const char *fmt, ...) ATTR_PRINTF(1, 2);
void warn_msg(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* Set by -v; verbose_msg prints only when it is non-zero. */
extern int util_verbose;
void verbose_msg(const char *fmt, ...) ATTR_PRINTF(1, 2);

/* Replace *cause (freeing the old one) with a formatted message. */
void set_cause(char **cause, const char *fmt, ...) ATTR_PRINTF(2, 3);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/* Read a whole small file (e.g. under /proc) into a NUL-terminated heap
 * buffer. Returns NULL with errno set on failure; *len gets the length. */
char *read_file(const char *path, size_t *len);
/* The same from an open descriptor, read to its end (not closed). */
char *read_fd(int fd, size_t *len);
/* Read a file into buf (size n, NUL-terminated); returns bytes read or -1.
 * No allocation: for hot paths. */
ssize_t read_file_buf(const char *path, char *buf, size_t n);

/* Strict parsers for every number siprof reads, from the command line,
 * the environment or a file: decimal digits only (a '-' only when min is
 * negative), no spaces, '+', hex, inf or nan, nothing after the number
 * unless rest is given. */
enum {
	NUM_NEGATIVE = 1, /* implied by min < 0 */
	NUM_FRACTION = 2, /* 1.5 */
	NUM_EXPONENT = 4, /* 1.5e+20: only for what a program wrote */
};
/* A finite number in [min, max]; with rest, *rest gets what follows it
 * (a unit), else nothing may follow. */
_Bool parse_number(const char *s, unsigned flags, double min, double max, double *out,
		   const char **rest);
/* A decimal integer in [min, max]. */
_Bool parse_long(const char *s, long min, long max, long *out);
/* A size such as 65536, 64K, 64KiB, 8M, 1G; false on junk or overflow. */
_Bool parse_size(const char *s, size_t *out);

/* Last component of a path (no allocation). */
const char *path_basename(const char *path);

/* Create a new file, mode 0600, to become path: unnamed in path's
 * directory (O_TMPFILE; *tmp set to NULL), or where the file system has no
 * such files, named path.tmpXXXXXX (six random characters; *tmp set, to
 * free), created exclusively: never through a symbolic link, never over a
 * file that exists. Returns its descriptor, or -1 after setting *cause. */
int file_create_temp(const char *path, char **tmp, char **cause);
/* Give the file fd made by file_create_temp (tmp as it set it) the name
 * path: replacing path when replace, else failing with errno EEXIST when
 * path exists. A named tmp is renamed only if it is still fd's file; on
 * failure it is removed if it is. 0, or -1 after setting *cause (errno
 * kept). */
int file_commit_temp(int fd, const char *tmp, const char *path, _Bool replace, char **cause);
/* Remove a file made by file_create_temp that will not be committed. */
void file_discard_temp(const char *tmp);
/* Write all of buf to fd; false with errno set. */
_Bool write_all(int fd, const void *buf, size_t n);

#endif
