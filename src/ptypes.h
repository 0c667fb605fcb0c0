/* ptypes.h: the profile types, what a sample counts and in what unit.
 *
 * Every sample of a profile has one type. A sample carries a count (how
 * many things happened: thread-samples, allocations, calls, events) and a
 * value, the sum of the type's unit over them (bytes, nanoseconds; for
 * types that count themselves, value equals count). A distribution type
 * also keeps the largest single value. Stacks, frames, strings and threads
 * are shared by all types.
 *
 * Views (report, diff, export, the live view, upload) work over any type
 * through this table: they select samples by type, add values up as agg
 * says, and print name, unit and description. A new type is one entry
 * here (append only: ids are stored in session files by name, but the
 * table order is the id order in memory). */
#ifndef SIPROF_PTYPES_H
#define SIPROF_PTYPES_H

#include <stdbool.h>

enum ptype_id {
	PT_SAMPLES,  /* thread-samples of a class (cpu, wall, lock, ...) */
	PT_ALLOC,    /* bytes allocated; count: objects allocated */
	PT_INUSE,    /* bytes in use; count: objects in use */
	PT_DURATION, /* call durations in nanoseconds; count: calls */
	PT_ERRORS,   /* errors; value: count */
	PT_CRASHES,  /* crashes; value: count */
	PT_COUNT
};

enum ptype_agg {
	PT_SUM,  /* values add up */
	PT_DIST, /* a distribution: count, sum and largest value add up */
};

struct ptype {
	const char *name;       /* in options, session files and exports */
	const char *unit;       /* of value: "samples", "bytes", "nanoseconds", ... */
	const char *count_unit; /* of count: "samples", "objects", "calls", ... */
	const char *desc;       /* what it counts, for a heading */
	enum ptype_agg agg;
	bool classed;           /* samples have a class (only thread-samples) */
	bool weighted;          /* value is its own sum; else value is count */
	/* Types of one group ("memory": alloc and inuse) are one profile to
	 * the tools that read pprof: go tool pprof and Pyroscope take Go's
	 * heap profile, whose sample types are every member's count and value
	 * (pprof_count, pprof_value: alloc_objects, alloc_space, inuse_objects,
	 * inuse_space) in table order, with a period type pprof_period (space)
	 * in unit. NULL for a type of its own. */
	const char *group;
	const char *pprof_count, *pprof_value, *pprof_period;
};

/* The entry for an id; NULL when it is none. */
const struct ptype *ptype_get(unsigned id);
/* The id of a type name, or -1. */
int ptype_find(const char *name);
/* The members of id's group in table order (id alone when it has none),
 * at most PT_COUNT; returns how many. */
unsigned ptype_group_members(unsigned id, unsigned out[PT_COUNT]);
/* The type names, comma-separated, for a message ("samples, alloc, ..."). */
const char *ptype_names(void);

#endif
