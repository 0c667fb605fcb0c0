/* analyze.h: what a profile says: functions, call tree, threads, classes.
 *
 * A selection picks samples of one profile type (ptypes.h). Every figure
 * is a sum of the samples' values in the type's unit (thread-samples,
 * bytes, nanoseconds, events), with their counts beside it (objects,
 * calls) and, for a distribution, the largest single value. Percentages
 * are of the selection's total, so a 100-thread process adds up to 100%,
 * never 10000%. Recursion counts a function once per sample in its total.
 *
 * Frames merge by profile_func_key (profile.h): function name and module
 * path, the same in the function list, the tree, diff and flame graphs. */
#ifndef SIPROF_ANALYZE_H
#define SIPROF_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"

/* Which samples count. */
struct selection {
	unsigned type;       /* enum ptype_id; PT_SAMPLES by default */
	int cls;             /* a class, or -1 for every class (wall); for a
			      * type with classes only */
	uint32_t tid;        /* 0: every thread */
	const char *thread;  /* a thread name pattern (fnmatch), or NULL */
	uint32_t pid;        /* 0: every process */
	uint32_t since, until; /* buckets [since, until) */
};
void selection_init(struct selection *sel);
bool selection_match(const struct profile *p, const struct selection *sel,
		     const struct psample *s);

/* The innermost-first frame ids of a stack, up to max (returns the depth). */
size_t stack_frames(const struct profile *p, uint32_t stack, uint32_t *out, size_t max);

struct func_stat {
	uint32_t function, module; /* string id, module id */
	uint64_t self, total;      /* values */
	uint64_t self_count, total_count;
	uint64_t max;              /* PT_DIST: the largest value under it */
	uint32_t file;             /* the line with most samples in this function */
	int32_t line;
};

struct func_table {
	struct func_stat *funcs;
	size_t n;
	uint64_t total; /* the selection's value */
	uint64_t count; /* and count */
};

/* By function (by_line false) or by source line. Sorted by self, or by
 * total when sort_total. */
void analyze_functions(const struct profile *p, const struct selection *sel,
		       bool by_line, bool sort_total, struct func_table *out);
void func_table_release(struct func_table *t);

/* The call tree, root first, merged by function. */
struct tree_node {
	uint32_t function, module, file;
	int32_t line;
	bool tailcall; /* every frame merged here was a tail-call frame */
	uint64_t total, self; /* values */
	uint64_t total_count, self_count;
	struct tree_node **children;
	size_t n, cap;
};
struct tree_node *analyze_tree(const struct profile *p, const struct selection *sel,
			       uint64_t *total);
/* Children sorted by total, largest first, at every level. */
void tree_sort(struct tree_node *n);
void tree_free(struct tree_node *n);

struct thread_stat {
	uint32_t tid;
	uint64_t total, count;
	uint64_t by_class[CLASS_COUNT]; /* values; [0] only for a type without classes */
};
struct thread_table {
	struct thread_stat *threads;
	size_t n;
	uint64_t total, count;
	uint64_t by_class[CLASS_COUNT];
};
/* Per thread and per class (the selection's class is ignored here, so
 * that every class shows). Sorted by total. */
void analyze_threads(const struct profile *p, const struct selection *sel,
		     struct thread_table *out);
void thread_table_release(struct thread_table *t);
/* The share of each class present, in class order, as the headers print
 * them: "cpu 62.0%, lock 20.1%, sleep 17.9%" ("" when there are none). */
const char *thread_table_class_shares(const struct thread_table *t, char *buf, size_t n);

/* Each type's value and count over the whole profile. */
void analyze_type_totals(const struct profile *p, uint64_t value[PT_COUNT],
			 uint64_t count[PT_COUNT]);

/* The last bucket with samples + 1 (the profile's length in seconds). */
uint32_t profile_buckets(const struct profile *p);

#endif
