/* unwind-fp.c: follow the chain of saved frame pointers in a snapshot.
 *
 * Trusted only as far as it goes: each saved frame pointer must lie higher
 * in the copied stack than the one before. A zero frame pointer is the root
 * (the C library clears it where a thread starts). Code built without frame
 * pointers (Debian's glibc) breaks the chain: the stack is then truncated. */
#include "config.h"

#include <stdlib.h>

#include "unwind.h"
#include "util.h"

static void *
fp_open(pid_t pid, struct symbols *sym, char **cause)
{
	(void)pid;
	(void)sym;
	(void)cause;
	return xcalloc(1, 1);
}

static void
fp_close(void *state)
{
	free(state);
}

static bool
stack_word(const struct snapshot *s, uint64_t addr, uint64_t *v)
{
	if (addr < s->stack_start || addr - s->stack_start + sizeof *v > s->stack_len)
		return false;
	return snapshot_read(s, addr, v, sizeof *v);
}

static void
fp_unwind(void *state, const struct snapshot *s, const struct unwind_from *from,
	  struct unwind_result *out, uint64_t *sps)
{
	uint64_t fp, prev = 0;

	(void)state;
	(void)from; /* frame pointers are not looked for: sps stay unknown */
	sps[0] = 0;
	out->pcs[out->n++] = s->pc;
	out->truncated = true;
	if (s->how != SNAP_STOPPED)
		return; /* no frame pointer register without a stop */
	fp = arch_regs_fp(&s->regs);
	while (out->n < UNWIND_MAX_FRAMES) {
		uint64_t next, ret;

		/* A zero frame pointer ends the chain at the root, but only once
		 * the chain has been followed: in code without frame pointers
		 * the register may hold 0 as ordinary data. */
		if (fp == 0) {
			out->truncated = prev == 0;
			return;
		}
		if (fp % sizeof(uint64_t) != 0 || fp <= prev || fp < s->stack_start ||
		    !stack_word(s, fp, &next) || !stack_word(s, fp + 8, &ret) || ret == 0)
			return;
		sps[out->n] = 0;
		out->pcs[out->n++] = ret - 1;
		prev = fp;
		fp = next;
	}
}

const struct unwind_backend unwind_backend_fp = {
	.open = fp_open,
	.close = fp_close,
	.unwind = fp_unwind,
};
