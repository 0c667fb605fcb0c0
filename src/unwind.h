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
	bool copy_short; /* it needed stack memory beyond the copy, in the
			  * stack's mapping: a larger copy would go further */
	bool fp_found; /* not stopped: the frame pointer, unknown, was found
			* in the copied stack (unwind_find_fp) */
	uint64_t stack_hi; /* back ends: the end of the highest word of the
			    * copied stack that the unwind read */
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
 * marked truncated.
 *
 * A thread copied without a stop is remembered (its pc, sp and the bytes
 * of the copy the unwind read): while it stays blocked with the same stack,
 * the next snapshot's unwind is the same and is not run again. Where the
 * stack changed above the frame record found for it but not below, that
 * record is tried first. */
void unwinder_unwind(struct unwinder *u, const struct snapshot *s,
		     struct unwind_result *out);
/* Forget what was remembered of threads copied without a stop (for a
 * benchmark of the unwind itself). */
void unwinder_forget(struct unwinder *u);

/* For the back ends: the CFI (libdw's, from sym's Dwfl) at lookup pc says
 * the caller's frame starts at the frame pointer plus *off (frame-pointer
 * code: CFA=rbp+16). */
bool unwind_cfa_is_fp(struct symbols *sym, uint64_t pc, int64_t *off);

/* For the back ends, on a snapshot taken without a stop: the frame pointer
 * of the frame at lookup pc whose stack pointer was sp, when the CFI there
 * says CFA=rbp+off and the system call left the register untouched. Found
 * as the frame record (saved frame pointer, then return address at
 * CFA-8) lowest in the copied stack above *from (start at sp) whose return
 * address follows a call of this very function (a direct call, a call
 * through the GOT or a PLT stub), or, where the call is indirect, whose
 * saved frame pointer lies higher in the stack. *from advances past the
 * candidate, for the caller to try the next one if its unwind through this
 * one does not hold. False when there is none. */
bool unwind_find_fp(struct symbols *sym, const struct snapshot *s, uint64_t pc,
		    uint64_t sp, int64_t off, uint64_t *from, uint64_t *fp);

/* How a back end unwinds: from the snapshot's registers (stopped) or its
 * sp and pc (not stopped), then, when have_fp, with fp as the frame
 * pointer; when check_at > 0, the unwind ends once it reaches frame
 * check_at unless that frame's pc is check_pc (a frame pointer tried that
 * does not lead there is given up at once). */
struct unwind_from {
	bool have_fp;
	uint64_t fp;
	size_t check_at;
	uint64_t check_pc;
};

/* Back ends (unwind-*.c). unwind fills out (n, pcs, truncated,
 * truncated_here, copy_short, stack_hi) and sps, each frame's stack
 * pointer (0 when unknown). */
struct unwind_backend {
	void *(*open)(pid_t pid, struct symbols *sym, char **cause);
	void (*close)(void *state);
	void (*unwind)(void *state, const struct snapshot *s, const struct unwind_from *from,
		       struct unwind_result *out, uint64_t *sps);
};
extern const struct unwind_backend unwind_backend_dw;
extern const struct unwind_backend unwind_backend_libunwind;
extern const struct unwind_backend unwind_backend_fp;

#endif
