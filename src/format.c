/* format.c: the text shapes that report, dump and the live view share. */
#include "config.h"

#include "format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "text.h"
#include "util.h"

/* snprintf's count, capped to what fits, so that calls can be chained. */
static size_t
fitted(int r, size_t n)
{
	if (r < 0)
		return 0;
	return (size_t)r < n ? (size_t)r : n > 0 ? n - 1 : 0;
}

size_t
format_frame_where(char *buf, size_t n, const char *file, int line, const char *module)
{
	size_t len = 0;

	if (n == 0)
		return 0;
	buf[0] = '\0';
	if (file != NULL && *file != '\0') {
		const char *base = text_safe(path_basename(file));

		len = fitted(line > 0 ? snprintf(buf, n, " (%s:%d)", base, line)
				      : snprintf(buf, n, " (%s)", base), n);
	}
	if (module != NULL && *module != '\0')
		len += fitted(snprintf(buf + len, n - len, " [%s]",
				       text_safe(path_basename(module))), n - len);
	return len;
}

size_t
format_frame_label(char *buf, size_t n, const char *name, const char *file, int line,
		   const char *module)
{
	size_t len;

	if (n == 0)
		return 0;
	len = fitted(snprintf(buf, n, "%s", name), n);
	return len + format_frame_where(buf + len, n - len, file, line, module);
}

double
format_share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void
format_bytes(double b, char *buf, size_t n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	while (b >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		b /= 1024;
		u++;
	}
	snprintf(buf, n, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
}

void
format_rate(double bytes_per_s, char *buf, size_t n)
{
	char b[32];

	format_bytes(fabs(bytes_per_s), b, sizeof b);
	snprintf(buf, n, "%s%s/s", bytes_per_s < 0 ? "-" : "+", b);
}

size_t
format_spark(const double *v, size_t count, double lo, double hi, bool blank, char *buf,
	     size_t n)
{
	static const char *const bars[] = { " ", "\u2581", "\u2582", "\u2583", "\u2584",
					    "\u2585", "\u2586", "\u2587", "\u2588" };
	int base = blank ? 0 : 1;
	size_t len = 0, i;

	if (n == 0)
		return 0;
	buf[0] = '\0';
	for (i = 0; i < count; i++) {
		int level = hi > lo ? base + (int)lround((v[i] - lo) / (hi - lo) * (8 - base)) : base;
		const char *bar = bars[level < base ? base : level > 8 ? 8 : level];
		size_t bl = strlen(bar);

		if (len + bl >= n)
			break;
		memcpy(buf + len, bar, bl + 1);
		len += bl;
	}
	return i;
}
