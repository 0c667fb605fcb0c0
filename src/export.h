/* export.h: a session's samples in the formats other tools read.
 *
 *   folded      'root;...;leaf COUNT' per stack (flame graph tools)
 *   speedscope  speedscope's JSON file format, one sampled profile per thread
 *   pprof       see export-pprof.h
 *   svg         see export-svg.h
 *
 * Every exporter takes the same selection as `siprof report`, profile type
 * included (ptypes.h): values are the type's, in its unit (thread-samples,
 * bytes, nanoseconds, events). */
#ifndef SIPROF_EXPORT_H
#define SIPROF_EXPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "analyze.h"
#include "session.h"

/* The deepest stack an export writes. */
#define EXPORT_MAX_DEPTH 4096

/* Extra root frames for folded stacks and flame graphs. */
struct export_prefix {
	bool thread; /* "NAME (TID)" */
	bool cls;    /* the sample's class */
};

/* Folded stacks to f, one line per distinct (prefix, stack), in stack
 * order, with the sum of their values. Frame names are made safe as text_safe does, with ';' replaced
 * by ':'. */
void export_folded(FILE *f, const struct profile *p, const struct selection *sel,
		   const struct export_prefix *prefix);

/* The speedscope document for the selection: one "sampled" profile per
 * thread, samples in time order; thread-samples weigh nanoseconds of the
 * period, other types their values (bytes, nanoseconds, or "none"). */
json_t *export_speedscope(const struct session_data *d, const struct selection *sel,
			  const char *name);

/* The selection's class ("wall" for all) for thread-samples, else its
 * type's name. */
const char *export_class_name(const struct selection *sel);

/* What the selection counts, for a title: the class ("wall") for
 * thread-samples, else its type's description ("bytes allocated"). */
const char *export_title_name(const struct selection *sel);

/* The sampling rate a session was recorded at (99 when it does not say). */
double export_rate(const struct session_data *d);

#endif
