/* unwind.c: the back-end switch, what counts as a whole stack, and the
 * search for a frame pointer that a copy without a stop did not give.
 *
 * A snapshot taken without a stop knows only sp and pc. Where the unwind
 * then ends at a frame whose CFA is rbp-based (frame-pointer code), the
 * system call left rbp as that frame set it, pointing at its frame record
 * in the copied stack: unwind_find_fp looks for it, and the back end runs
 * the unwind again with it. That unwind is kept only if it goes through
 * the same frames up to there and then on through that record's return
 * address (a candidate that does not is given up at that frame); otherwise
 * the next candidate is tried, and at worst the first unwind stands,
 * truncated.
 *
 * Threads copied without a stop are mostly idle ones, copied again and
 * again with the same stack: each is remembered (by thread, in a small
 * table) with its pc, sp, the bytes of the copy its unwind read, and the
 * result. A copy with the same pc and sp and those bytes unchanged, under
 * the same mappings, unwinds the same, and is given the result again. */
#include "config.h"

#include "unwind.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A thread copied without a stop, as last unwound. */
struct nonstop_memo {
	pid_t tid; /* 0: empty */
	uint64_t pc, sp, stack_end;
	unsigned generation;        /* symbols_generation of the result */
	unsigned char *bytes;       /* the copy from sp to sp + len */
	size_t len, cap;
	uint64_t fp;                /* the frame record found, 0: none */
	size_t n;
	uint64_t *pcs;              /* the result */
	size_t pcs_cap;
	bool truncated, fp_found;
};

/* Threads remembered, by thread id modulo; the bytes read beyond this
 * are not kept (the stack is not remembered). */
#define MEMO_SLOTS 256
#define MEMO_MAX_BYTES (16u * 1024)

struct unwinder {
	const struct unwind_backend *be;
	void *state;
	struct symbols *sym;
	uint64_t sps[UNWIND_MAX_FRAMES];
	struct unwind_result again; /* a second unwind, with a frame pointer */
	uint64_t again_sps[UNWIND_MAX_FRAMES];
	struct nonstop_memo memo[MEMO_SLOTS];
};

static const struct {
	const char *name;
	const struct unwind_backend *be;
} backends[] = {
	[UNWIND_DW] = { "dw", &unwind_backend_dw },
	[UNWIND_LIBUNWIND] = { "libunwind", &unwind_backend_libunwind },
	[UNWIND_FP] = { "fp", &unwind_backend_fp },
};

bool
unwind_kind_parse(const char *s, enum unwind_kind *kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
		if (strcmp(s, backends[i].name) == 0) {
			*kind = (enum unwind_kind)i;
			return true;
		}
	}
	return false;
}

const char *
unwind_kind_name(enum unwind_kind kind)
{
	return backends[kind].name;
}

struct unwinder *
unwinder_new(enum unwind_kind kind, pid_t pid, struct symbols *sym, char **cause)
{
	struct unwinder *u = xcalloc(1, sizeof *u);

	u->be = backends[kind].be;
	u->sym = sym;
	u->state = u->be->open(pid, sym, cause);
	if (u->state == NULL) {
		free(u);
		return NULL;
	}
	return u;
}

void
unwinder_forget(struct unwinder *u)
{
	for (size_t i = 0; i < MEMO_SLOTS; i++)
		u->memo[i].tid = 0;
}

void
unwinder_free(struct unwinder *u)
{
	if (u == NULL)
		return;
	u->be->close(u->state);
	for (size_t i = 0; i < MEMO_SLOTS; i++) {
		free(u->memo[i].bytes);
		free(u->memo[i].pcs);
	}
	free(u);
}

/* The CFI row at lookup pc, from .eh_frame or else .debug_frame (Go has
 * only the latter). Freed by the caller. */
static Dwarf_Frame *
cfi_frame(struct symbols *sym, uint64_t pc)
{
	Dwfl_Module *mod = dwfl_addrmodule(symbols_dwfl(sym), pc);
	Dwarf_Frame *f = NULL;
	Dwarf_Addr bias;
	Dwarf_CFI *cfi;

	if (mod == NULL)
		return NULL;
	cfi = dwfl_module_eh_cfi(mod, &bias);
	if (cfi != NULL && dwarf_cfi_addrframe(cfi, pc - bias, &f) == 0)
		return f;
	cfi = dwfl_module_dwarf_cfi(mod, &bias);
	if (cfi != NULL && dwarf_cfi_addrframe(cfi, pc - bias, &f) == 0)
		return f;
	return NULL;
}

bool
unwind_cfa_is_fp(struct symbols *sym, uint64_t pc, int64_t *off)
{
	Dwarf_Frame *f = cfi_frame(sym, pc);
	Dwarf_Op *ops;
	size_t nops;
	bool yes = false;

	if (f == NULL)
		return false;
	if (dwarf_frame_cfa(f, &ops, &nops) == 0 && nops == 1 && ops[0].atom == DW_OP_bregx &&
	    ops[0].number == ARCH_DWARF_FP) {
		*off = (int64_t)ops[0].number2;
		yes = *off >= 16;
	}
	free(f);
	return yes;
}

/* The CFI marks the outermost frame of a thread by leaving the return
 * address undefined (glibc's _start, clone and clone3 do). */
static bool
cfi_says_outermost(struct symbols *sym, uint64_t pc)
{
	Dwarf_Frame *f = cfi_frame(sym, pc);
	Dwarf_Op mem[3], *ops;
	size_t nops;
	bool yes = false;

	if (f == NULL)
		return false;
	if (dwarf_frame_register(f, ARCH_DWARF_PC, mem, &ops, &nops) == 0 && nops == 0 &&
	    ops == mem)
		yes = true;
	free(f);
	return yes;
}

/* Where a thread's stack begins, by name, for code whose CFI does not say
 * so: the C library's thread and process entries (their callees, such as
 * start_thread or __libc_start_main, are not roots: a stack that ends there
 * lost a frame), makecontext's, and the
 * Go runtime's (a goroutine's stack starts at runtime.goexit; an M's own
 * stack at mstart, clone or rt0_go, or, entered from a goroutine, at the
 * switch to it: mcall, systemstack, morestack, asmcgocall). */
static const char *const root_names[] = {
	"_start", "clone", "__clone", "clone3", "__clone3", "__start_context", "_dl_start_user",
	"runtime.goexit", "runtime.mstart", "runtime.mstart0", "runtime.clone",
	"runtime.rt0_go", "runtime.mcall", "runtime.systemstack", "runtime.morestack",
	"runtime.asmcgocall",
};

static bool
is_root_name(const char *name)
{
	size_t n = strlen(name);

	/* Go's ABI wrappers: runtime.goexit.abi0 is runtime.goexit. */
	if (n > 5 && strcmp(name + n - 5, ".abi0") == 0)
		n -= 5;
	for (size_t i = 0; i < ARRAY_SIZE(root_names); i++)
		if (strlen(root_names[i]) == n && strncmp(name, root_names[i], n) == 0)
			return true;
	return false;
}

/* Whether the stack's outermost frame is where the thread started. */
static bool
is_root(struct symbols *sym, uint64_t pc)
{
	const struct sym_result *r;

	if (cfi_says_outermost(sym, pc))
		return true;
	r = symbols_lookup(sym, pc);
	for (size_t k = 0; k < r->n; k++)
		if (r->frames[k].function != NULL && is_root_name(r->frames[k].function))
			return true;
	return false;
}

static bool
copied_word(const struct snapshot *s, uint64_t addr, uint64_t *v)
{
	if (addr < s->stack_start || addr - s->stack_start + sizeof *v > s->stack_len)
		return false;
	memcpy(v, s->stack + (addr - s->stack_start), sizeof *v);
	return true;
}

enum call_kind { CALL_NONE, CALL_TO, CALL_INDIRECT };

/* What the instruction before ret is: a call whose target the code tells
 * (*target), an indirect call, or no call. */
static enum call_kind
call_before(const struct snapshot *s, uint64_t ret, uint64_t *target)
{
	unsigned char b[8];
	int32_t d;

	if (ret < sizeof b || !snapshot_read(s, ret - sizeof b, b, sizeof b))
		return CALL_NONE;
	if (b[3] == 0xe8) { /* call rel32 */
		unsigned char p[12];
		size_t i = 0;

		memcpy(&d, b + 4, 4);
		*target = ret + (uint64_t)(int64_t)d;
		/* A PLT stub: [endbr64] [bnd] jmp *GOT(%rip). */
		if (!snapshot_read(s, *target, p, sizeof p))
			return CALL_TO;
		if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
			i = 4;
		if (p[i] == 0xf2)
			i++;
		if (p[i] == 0xff && p[i + 1] == 0x25) {
			uint64_t got;

			memcpy(&d, p + i + 2, 4);
			if (!snapshot_read(s, *target + i + 6 + (uint64_t)(int64_t)d, &got,
					   sizeof got))
				return CALL_INDIRECT;
			*target = got;
		}
		return CALL_TO;
	}
	if (b[2] == 0xff && b[3] == 0x15) { /* call *disp32(%rip) */
		uint64_t got;

		memcpy(&d, b + 4, 4);
		if (!snapshot_read(s, ret + (uint64_t)(int64_t)d, &got, sizeof got))
			return CALL_INDIRECT;
		*target = got;
		return CALL_TO;
	}
	/* call *%reg, *disp8(%reg), *disp32(%reg), *(%reg,...) */
	if ((b[6] == 0xff && (b[7] & 0xf8) == 0xd0) || (b[5] == 0xff && (b[6] & 0xf8) == 0x50) ||
	    (b[2] == 0xff && (b[3] & 0xf8) == 0x90) || (b[4] == 0xff && b[5] == 0x54) ||
	    (b[5] == 0xff && b[6] == 0x14) || (b[1] == 0xff && b[2] == 0x94) ||
	    (b[6] == 0xff && (b[7] & 0xf8) == 0x10))
		return CALL_INDIRECT;
	return CALL_NONE;
}

/* The function (outermost inlining level) around pc, or NULL. */
static const char *
function_of(struct symbols *sym, uint64_t pc)
{
	const struct sym_result *r = symbols_lookup(sym, pc);

	return r->module != NULL && r->n > 0 ? r->frames[r->n - 1].function : NULL;
}

/* How far above sp the frame record is looked for: a frame's locals. */
#define FP_SCAN_MAX (64u * 1024)

bool
unwind_find_fp(struct symbols *sym, const struct snapshot *s, uint64_t pc, uint64_t sp,
	       int64_t off, uint64_t *from, uint64_t *fp)
{
	Dwfl *dwfl = symbols_dwfl(sym);
	char self[512];
	const char *name = function_of(sym, pc);
	uint64_t a = (*from + 7) & ~(uint64_t)7;

	if (name == NULL)
		return false;
	snprintf(self, sizeof self, "%s", name);
	for (; a - sp < FP_SCAN_MAX; a += 8) {
		uint64_t ret, saved, target;
		enum call_kind k;

		if (!copied_word(s, a + (uint64_t)off - 8, &ret) || !copied_word(s, a, &saved))
			return false; /* the end of the copy */
		if (ret < 4096 || dwfl_addrmodule(dwfl, ret) == NULL)
			continue;
		k = call_before(s, ret, &target);
		if (k == CALL_NONE)
			continue;
		if (k == CALL_TO) {
			const char *callee = function_of(sym, target);

			if (callee == NULL || strcmp(callee, self) != 0)
				continue;
		} else if (saved != 0 && (saved % 8 != 0 || saved <= a || saved >= s->stack_end)) {
			/* An indirect call: its target is unknown, so the
			 * record must at least chain on up the stack. */
			continue;
		}
		*fp = a;
		*from = a + 8;
		return true;
	}
	return false;
}

/* How many frame records found in the stack are tried per unwind. */
#define FP_TRIES 4

/* The copy from sp on, if it holds len bytes there. */
static const unsigned char *
copy_at_sp(const struct snapshot *s, size_t len)
{
	if (s->sp < s->stack_start || s->sp - s->stack_start > s->stack_len ||
	    s->stack_len - (s->sp - s->stack_start) < len)
		return NULL;
	return s->stack + (s->sp - s->stack_start);
}

/* Whether the copy holds, from sp on, len bytes equal to the memo's. */
static bool
memo_same_stack(const struct nonstop_memo *m, const struct snapshot *s, size_t len)
{
	const unsigned char *p = copy_at_sp(s, len);

	return p != NULL && memcmp(p, m->bytes, len) == 0;
}

/* Run the unwind again from the start with the frame pointer fp; keep it
 * in out if it goes through frames 0..k as out does and then on through
 * the return address of fp's record. */
static bool
try_fp(struct unwinder *u, const struct snapshot *s, struct unwind_result *out, size_t k,
       int64_t off, uint64_t fp, bool *keep)
{
	struct unwind_result *again = &u->again;
	struct unwind_from from = { .have_fp = true, .fp = fp, .check_at = k + 1 };
	uint64_t ret;

	if (!snapshot_read(s, fp + (uint64_t)off - 8, &ret, sizeof ret) || ret == 0)
		return false;
	from.check_pc = ret - 1;
	memset(again, 0, offsetof(struct unwind_result, pcs));
	u->be->unwind(u->state, s, &from, again, u->again_sps);
	if (again->stack_hi > out->stack_hi)
		out->stack_hi = again->stack_hi;
	/* A candidate that ran out of copy might succeed in a larger one:
	 * whatever is found now is not to be remembered. */
	if (again->copy_short)
		*keep = false;
	if (again->n <= k + 1 || memcmp(again->pcs, out->pcs, (k + 1) * sizeof *out->pcs) != 0 ||
	    again->pcs[k + 1] != ret - 1)
		return false;
	out->n = again->n;
	memcpy(out->pcs, again->pcs, again->n * sizeof *out->pcs);
	out->truncated = again->truncated;
	out->truncated_here = again->truncated_here;
	out->copy_short = again->copy_short;
	out->fp_found = true;
	return true;
}

/* Not stopped, the unwind ended at a frame-pointer frame: find its frame
 * record in the stack (first the one found last time, if the stack up to
 * it is the same), and unwind again with it. Returns the record used, or
 * 0; *keep is false when the search came to nothing (it read the whole
 * copy, and a larger copy could go further). */
static uint64_t
nonstop_fp(struct unwinder *u, const struct snapshot *s, struct unwind_result *out,
	   const struct nonstop_memo *m, bool *keep)
{
	size_t k = out->n - 1;
	uint64_t pc = out->pcs[k], sp = u->sps[k], from = sp, fp;
	int64_t off;

	if (sp == 0 || !unwind_cfa_is_fp(u->sym, pc, &off))
		return 0;
	if (m != NULL && m->fp != 0 && m->fp + (uint64_t)off - s->sp <= m->len &&
	    memo_same_stack(m, s, m->fp + (uint64_t)off - s->sp) &&
	    try_fp(u, s, out, k, off, m->fp, keep))
		return m->fp;
	for (int i = 0; i < FP_TRIES && unwind_find_fp(u->sym, s, pc, sp, off, &from, &fp); i++) {
		/* The search read the stack up to this record. */
		if (fp + (uint64_t)off > out->stack_hi)
			out->stack_hi = fp + (uint64_t)off;
		if (try_fp(u, s, out, k, off, fp, keep))
			return fp;
	}
	*keep = false;
	return 0;
}

/* The memo of a thread copied without a stop, if it is this very stack. */
static bool
memo_hit(struct unwinder *u, const struct snapshot *s, struct unwind_result *out)
{
	struct nonstop_memo *m = &u->memo[(unsigned)s->tid % MEMO_SLOTS];

	if (m->tid != s->tid || m->pc != s->pc || m->sp != s->sp ||
	    m->stack_end != s->stack_end || m->generation != symbols_generation(u->sym) ||
	    !memo_same_stack(m, s, m->len))
		return false;
	out->n = m->n;
	memcpy(out->pcs, m->pcs, m->n * sizeof *out->pcs);
	out->truncated = m->truncated;
	out->fp_found = m->fp_found;
	out->stack_hi = s->sp + m->len;
	return true;
}

static void
memo_store(struct unwinder *u, const struct snapshot *s, const struct unwind_result *out,
	   uint64_t fp, bool keep)
{
	struct nonstop_memo *m = &u->memo[(unsigned)s->tid % MEMO_SLOTS];
	size_t len = out->stack_hi > s->sp ? out->stack_hi - s->sp : 0;
	const unsigned char *p = copy_at_sp(s, len);

	m->tid = 0;
	if (!keep || len > MEMO_MAX_BYTES || p == NULL)
		return;
	GROW(m->bytes, m->cap, len);
	memcpy(m->bytes, p, len);
	GROW(m->pcs, m->pcs_cap, out->n);
	memcpy(m->pcs, out->pcs, out->n * sizeof *out->pcs);
	m->len = len;
	m->n = out->n;
	m->truncated = out->truncated;
	m->fp_found = out->fp_found;
	m->fp = fp;
	m->pc = s->pc;
	m->sp = s->sp;
	m->stack_end = s->stack_end;
	m->generation = symbols_generation(u->sym);
	m->tid = s->tid;
}

void
unwinder_unwind(struct unwinder *u, const struct snapshot *s, struct unwind_result *out)
{
	static const struct unwind_from plain;
	struct nonstop_memo *m = NULL;
	unsigned generation = symbols_generation(u->sym);
	uint64_t fp = 0;
	bool keep = true;

	out->n = 0;
	out->truncated = true;
	out->truncated_here = false;
	out->copy_short = false;
	out->fp_found = false;
	out->stack_hi = 0;
	if (s->how == SNAP_NONE)
		return;
	if (s->how == SNAP_NONSTOP) {
		if (memo_hit(u, s, out))
			return;
		m = &u->memo[(unsigned)s->tid % MEMO_SLOTS];
		if (m->tid != s->tid || m->sp != s->sp || m->pc != s->pc ||
		    m->stack_end != s->stack_end || m->generation != generation)
			m = NULL;
	}
	u->be->unwind(u->state, s, &plain, out, u->sps);
	if (s->how == SNAP_NONSTOP && out->n > 0 && !out->truncated_here && !out->copy_short)
		fp = nonstop_fp(u, s, out, m, &keep);
	if (out->n == 0) {
		out->pcs[0] = s->pc;
		out->n = 1;
		out->truncated = true;
	}
	/* Whatever the back end: a caller in no module is a guess, not a
	 * frame. The stack ends before it. */
	for (size_t i = 1; i < out->n; i++) {
		if (!symbols_has_module(u->sym, out->pcs[i])) {
			out->n = i;
			out->truncated = true;
			keep = false;
			break;
		}
	}
	/* A back end that ran out of rules has not necessarily reached the
	 * thread's start (libdw takes a frame whose every register is
	 * unknown for the outermost one): only a root frame ends a stack. */
	if (!out->truncated && !is_root(u->sym, out->pcs[out->n - 1]))
		out->truncated = true;
	/* Not remembered: what needed a larger copy, what saw a pc in no
	 * module, what was unwound partly under other mappings, and what went
	 * through frames outside the copied stack (a signal stack, a switch
	 * to another stack), whose bytes the memo does not hold. */
	if (s->how == SNAP_NONSTOP) {
		const uint64_t *sps = fp != 0 ? u->again_sps : u->sps;

		for (size_t i = 0; i < out->n && keep; i++)
			if (sps[i] != 0 && (sps[i] < s->sp || sps[i] > s->stack_end))
				keep = false;
	}
	if (s->how == SNAP_NONSTOP)
		memo_store(u, s, out, fp,
			   keep && !out->copy_short && !out->truncated_here &&
				   generation == symbols_generation(u->sym));
}
