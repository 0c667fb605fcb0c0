/* format.h: what report, dump and the live view print alike: frame labels,
 * shares, sizes and sparklines. */
#ifndef SIPROF_FORMAT_H
#define SIPROF_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The location and module that follow a function's name: " (file:line)",
 * " (file)" when the line is unknown (0 or less), nothing when file is NULL
 * or ""; then " [module]", nothing when module is NULL or "". The file and
 * the module are cut to their last path component and made safe for a
 * terminal (text_safe). Returns the length, as snprintf does. */
size_t format_frame_where(char *buf, size_t n, const char *file, int line, const char *module);

/* "function (file:line) [module]": name as given (the caller shortens it
 * and makes it safe), then format_frame_where. */
size_t format_frame_label(char *buf, size_t n, const char *name, const char *file, int line,
			  const char *module);

/* part as a percentage of whole; 0 when whole is 0. */
double format_share(uint64_t part, uint64_t whole);

/* A size in bytes: "512 B", "12.3 KiB", "68.0 MiB", ... up to TiB. */
void format_bytes(double bytes, char *buf, size_t n);
/* A signed rate: "+12.0 KiB/s", "-3.5 MiB/s". */
void format_rate(double bytes_per_s, char *buf, size_t n);

/* One UTF-8 block character a value, scaled to [lo, hi] and clamped to it.
 * With blank, the lowest level is a space and the bars U+2581..U+2588 the
 * eight above it (CPU from zero: an idle second draws nothing); without, the
 * lowest level is U+2581 (a range of the data's own, as RSS from 68 to
 * 70 MiB: its lowest value still draws a bar). When hi <= lo every value
 * draws the lowest level. Writes whole characters only, NUL-terminated;
 * returns how many values it drew (fewer when buf is full). */
size_t format_spark(const double *v, size_t count, double lo, double hi, bool blank, char *buf,
		    size_t n);

#endif
