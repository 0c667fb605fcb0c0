/* tailcall.h: the frames that tail calls leave off the machine stack.
 *
 * A function that ends in a jump to another (`jmp f` in place of `call f;
 * ret`) leaves no frame: the stack goes from the function jumped to straight
 * to the caller of the one that jumped. DWARF call-site information
 * (DW_TAG_call_site, and DW_TAG_GNU_call_site before DWARF 5) says what each
 * call calls and which calls are tail calls. Where the caller's call names a
 * function other than the one found inside it, and exactly one chain of tail
 * calls leads from the one to the other, the functions of the chain are put
 * back, as gdb does. Nothing is guessed: a call whose target is unknown, a
 * function that does not describe all its calls, two chains, or a cycle
 * among them, and no frame is added.
 *
 * Works on the Dwfl of a symbols object (symbols_dwfl); results are cached
 * per (return address, function entered). */
#ifndef SIPROF_TAILCALL_H
#define SIPROF_TAILCALL_H

#include <stddef.h>
#include <stdint.h>

struct symbols;
struct tailcall;

/* A tail-call reconstructor over sym's Dwfl; sym must outlive it. */
struct tailcall *tailcall_new(struct symbols *sym);
void tailcall_free(struct tailcall *tc);

/* The tail calls between a caller frame and the frame inside it. caller is
 * the caller's lookup pc (its return address - 1); callee is the pc of the
 * next-inner frame, as the unwinder gives it. Returns how many frames go
 * between the two and sets *pcs to their lookup pcs, innermost first: each
 * is in the jump that made the tail call, ready for symbols_lookup, whose
 * outermost (not inlined) frame is the tail-call frame. *pcs stays owned by
 * tc, valid until tailcall_forget or tailcall_free. 0 when the caller
 * called the callee's function itself or when the call-site information
 * does not say for sure. */
size_t tailcall_between(struct tailcall *tc, uint64_t caller, uint64_t callee,
			const uint64_t **pcs);

/* Forget every cached answer (the addresses mean new code after an exec). */
void tailcall_forget(struct tailcall *tc);

/* Questions answered from DWARF and from the cache. */
void tailcall_stats(const struct tailcall *tc, unsigned long *misses, unsigned long *hits);

#endif
