/* unwind-dw.c: libdw CFI unwinding of a snapshot.
 *
 * dwfl_attach_state is called once, with callbacks whose argument points at
 * this state; each unwind points it at a new snapshot.
 *
 * A snapshot taken without a stop knows only sp and pc; unwind.c finds the
 * frame pointer in the stack where frame-pointer code needs it, and has
 * the unwind run again with it (struct unwind_from). */
#include "config.h"

#include <elfutils/libdwfl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "unwind.h"
#include "util.h"

struct dw_state {
	Dwfl *dwfl;
	struct symbols *sym;
	pid_t pid;
	const struct snapshot *snap;
	struct unwind_result *out;
	bool unknown_pc; /* a pc outside every known module was seen */
	const struct unwind_from *from;
	uint64_t *sps; /* each frame's sp, 0 when unknown */
};

static pid_t
dw_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)arg;
	(void)thread_argp;
	return 0;
}

static bool
dw_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct dw_state *d = arg;

	(void)dwfl;
	if (d->snap == NULL || d->snap->tid != tid)
		return false;
	*thread_argp = d;
	return true;
}

static bool
dw_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct dw_state *d = arg;
	const struct snapshot *s = d->snap;
	uint64_t v;

	(void)dwfl;
	if (!snapshot_read(s, addr, &v, sizeof v)) {
		if (addr >= s->stack_start && addr < s->stack_end &&
		    addr - s->stack_start + sizeof v > s->stack_len)
			d->out->copy_short = true;
		return false;
	}
	if (addr >= s->stack_start && addr < s->stack_end && addr + sizeof v > d->out->stack_hi)
		d->out->stack_hi = addr + sizeof v;
	*result = v;
	return true;
}

static bool
dw_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct dw_state *d = arg;
	const struct snapshot *s = d->snap;
	uint64_t regs[ARCH_DWARF_NREGS];
	Dwarf_Word sp = s->sp;

	if (s->how == SNAP_STOPPED) {
		Dwarf_Word w[ARCH_DWARF_NREGS];

		arch_regs_to_dwarf(&s->regs, regs);
		for (size_t i = 0; i < ARCH_DWARF_NREGS; i++)
			w[i] = regs[i];
		return dwfl_thread_state_registers(thread, 0, ARCH_DWARF_NREGS, w);
	}
	/* Not stopped: only sp and pc are known; other registers stay
	 * undefined and a frame that needs one ends the unwind. */
	if (!dwfl_thread_state_registers(thread, ARCH_DWARF_SP, 1, &sp))
		return false;
	if (d->from->have_fp) {
		Dwarf_Word fp = d->from->fp;

		if (!dwfl_thread_state_registers(thread, ARCH_DWARF_FP, 1, &fp))
			return false;
	}
	dwfl_thread_state_register_pc(thread, s->pc);
	return true;
}

static const Dwfl_Thread_Callbacks callbacks = {
	.next_thread = dw_next_thread,
	.get_thread = dw_get_thread,
	.memory_read = dw_memory_read,
	.set_initial_registers = dw_set_initial_registers,
};

static int
dw_frame(Dwfl_Frame *state, void *arg)
{
	struct dw_state *d = arg;
	Dwarf_Addr pc;
	Dwarf_Word sp;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (d->out->n >= UNWIND_MAX_FRAMES)
		return DWARF_CB_ABORT;
	if (!activation)
		pc -= 1;
	/* A caller outside every module is not a frame: without CFI libdw
	 * falls back to frame pointers, which in code built without them
	 * yield garbage. The innermost pc stands (JIT code, say); a caller
	 * there ends the stack, after one re-read of the modules. */
	if (d->from->check_at > 0 && d->out->n == d->from->check_at && pc != d->from->check_pc)
		return DWARF_CB_ABORT; /* the frame pointer tried is not this one's */
	if (d->out->n > 0 && !symbols_has_module(d->sym, pc)) {
		d->unknown_pc = true;
		d->out->truncated_here = true;
		return DWARF_CB_ABORT;
	}
	d->sps[d->out->n] = dwfl_frame_reg(state, ARCH_DWARF_SP, &sp) == 0 ? sp : 0;
	d->out->pcs[d->out->n++] = pc;
	return DWARF_CB_OK;
}

static void *
dw_open(pid_t pid, struct symbols *sym, char **cause)
{
	struct dw_state *d = xcalloc(1, sizeof *d);

	d->dwfl = symbols_dwfl(sym);
	d->sym = sym;
	d->pid = pid;
	if (!dwfl_attach_state(d->dwfl, symbols_arch_elf(sym), pid, &callbacks, d)) {
		set_cause(cause, "cannot prepare libdw unwinding for %d: %s", (int)pid,
			  dwfl_errmsg(-1));
		free(d);
		return NULL;
	}
	return d;
}

static void
dw_close(void *state)
{
	free(state);
}

static void
dw_unwind(void *state, const struct snapshot *s, const struct unwind_from *from,
	  struct unwind_result *out, uint64_t *sps)
{
	struct dw_state *d = state;
	int r;

	d->from = from;
	d->sps = sps;
	for (int attempt = 0; attempt < 2; attempt++) {
		d->snap = s;
		d->out = out;
		d->unknown_pc = false;
		out->n = 0;
		out->truncated_here = false;
		out->copy_short = false;
		out->stack_hi = 0;
		r = dwfl_getthread_frames(d->dwfl, s->tid, dw_frame, d);
		out->truncated = r != 0 || out->truncated_here;
		if (!d->unknown_pc || attempt > 0)
			break;
		/* A library loaded since the modules were read: re-read, retry. */
		symbols_refresh(d->sym, false);
	}
	d->snap = NULL;
}

const struct unwind_backend unwind_backend_dw = {
	.open = dw_open,
	.close = dw_close,
	.unwind = dw_unwind,
};
