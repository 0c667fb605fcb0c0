/* stackcache.h: unwound pcs to interned stacks, for the recorder.
 *
 * Symbolizes pcs with symbols.h, puts back the frames that tail calls left
 * off the machine stack (tailcall.h), and interns the frames and stacks in
 * a profile through its API. Caches pcs, pc pairs and whole stacks so that
 * a stack seen before costs one hash look-up, and the refined class of a
 * stack. The profile model itself knows nothing of symbols. */
#ifndef SIPROF_STACKCACHE_H
#define SIPROF_STACKCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classes.h"
#include "hashmap.h"
#include "profile.h"

struct symbols;
struct tailcall;

struct stackcache {
	struct hashmap pc_cache;    /* pc -> frame id list */
	struct hashmap tail_cache;  /* hash of (caller pc, callee pc) -> tail-call frames */
	struct tailcall *tailcall;  /* made on first use, over tailcall_sym */
	struct symbols *tailcall_sym;
	struct hashmap stack_cache; /* hash of pcs -> cached stack */
	struct hashmap class_cache; /* stack, class, restarted -> refined class + 1 */
	uint32_t truncated_frame;
};

/* The caches of one profile: frame and stack ids are p's. */
void stackcache_init(struct stackcache *c);
void stackcache_release(struct stackcache *c);

/* The stack for pcs (innermost first, as unwound), symbolized with sym,
 * interned in p; a truncated stack gets a "[truncated]" root frame.
 * Functions that tail calls left off the machine stack are put back where
 * DWARF call sites say so for sure (tailcall.h), as frames marked tailcall.
 * Repeated stacks are served from the cache without touching sym. */
uint32_t stackcache_stack(struct stackcache *c, struct profile *p, struct symbols *sym,
			  const uint64_t *pcs, size_t n, bool truncated);
/* Forget pc and stack caches (after an exec the addresses mean new code);
 * refined classes stay: stack ids name functions, not addresses. */
void stackcache_forget_addresses(struct stackcache *c);

/* The class of a sample of stack that the sampler classed cls, its thread
 * in system call callnr: class_refine with stack's function names, kept
 * per stack, so that a stack counted again costs one look-up. */
enum sample_class stackcache_refine_class(struct stackcache *c, const struct profile *p,
					  uint32_t stack, enum sample_class cls, int callnr);

#endif
