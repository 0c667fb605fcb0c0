/* pprof.h: a profile as pprof's profile.proto, gzipped.
 *
 * One class per profile (wall: every class): sample types
 * [samples/count, CLASS/nanoseconds], each sample weighted by the sampling
 * period. Locations carry their function, file and line, with inlined
 * frames as several lines of one location (innermost first); mappings the
 * module's file name and build-id; samples the thread's id and name as
 * string labels. Addresses are not kept in a session, so locations carry
 * lines only (has_functions, has_filenames, has_line_numbers). */
#ifndef SIPROF_PPROF_H
#define SIPROF_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyze.h"
#include "profile.h"

struct pprof_info {
	const char *class_name; /* "cpu", "lock", ..., "wall" */
	double rate_hz;         /* the session's sampling rate */
	uint64_t start_unix_ns; /* the selection's start */
	uint64_t duration_ns;   /* the selection's length */
	const char *comment;    /* or NULL */
};

/* The selection of p as a gzipped profile.proto in a new buffer (*out,
 * *out_len; free with free()). Returns the number of samples written (0
 * means an empty selection; the profile is still valid). */
uint64_t pprof_encode(const struct profile *p, const struct selection *sel,
		      const struct pprof_info *info, unsigned char **out, size_t *out_len);

#endif
