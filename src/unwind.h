/* unwind.h: one interface, three back ends, all working from a snapshot
 * after the thread has been released.
 *
 *   dw         libdw CFI (default): one Dwfl for the run, shared with symbols
 *   libunwind  libunwind remote unwinding with custom accessors
 *   fp         the chain of frame pointers
 *
 * Results are lookup pcs: the innermost is the exact pc, every other is a
 * return address moved back into its call instruction, ready for
 * symbols_lookup. A stack that ends anywhere but a root frame (the thread's
 * start) is marked truncated: no frame is ever guessed. */
#ifndef SIPROF_UNWIND_H
#define SIPROF_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"
#include "symbols.h"

#define UNWIND_MAX_FRAMES 512

enum unwind_kind { UNWIND_DW, UNWIND_LIBUNWIND, UNWIND_FP };

struct unwind_result {
	size_t n;
	uint64_t pcs[UNWIND_MAX_FRAMES];
	bool truncated; /* did not reach a root frame */
	bool truncated_here; /* back ends: the unwind was cut short on purpose */
};

struct unwinder;

/* Parse "dw", "libunwind" or "fp". */
bool unwind_kind_parse(const char *s, enum unwind_kind *kind);
const char *unwind_kind_name(enum unwind_kind kind);

/* An unwinder for pid. sym stays owned by the caller and must outlive it. */
struct unwinder *unwinder_new(enum unwind_kind kind, pid_t pid, struct symbols *sym,
			      char **cause);
void unwinder_free(struct unwinder *u);

/* Unwind a snapshot. Never fails: at worst the result holds the pc alone,
 * marked truncated. */
void unwinder_unwind(struct unwinder *u, const struct snapshot *s,
		     struct unwind_result *out);

/* Back ends (unwind-*.c). */
struct unwind_backend {
	void *(*open)(pid_t pid, struct symbols *sym, char **cause);
	void (*close)(void *state);
	void (*unwind)(void *state, const struct snapshot *s, struct unwind_result *out);
};
extern const struct unwind_backend unwind_backend_dw;
extern const struct unwind_backend unwind_backend_libunwind;
extern const struct unwind_backend unwind_backend_fp;

#endif
