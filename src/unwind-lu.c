/* unwind-lu.c: libunwind remote unwinding of a snapshot.
 *
 * Our accessors serve memory from the snapshot and registers from it; the
 * unwind tables come from libunwind-ptrace's _UPT_find_proc_info (which
 * reads ELF files and process memory, never ptrace), one UPT context per
 * module so that each keeps its tables mapped (libunwind caches one module
 * per context). Caching is global (UNW_CACHE_GLOBAL). libunwind hands
 * _UPT_find_proc_info's context, not ours, to the memory accessor, so the
 * accessors find the snapshot through `current` instead of their argument.
 *
 * libunwind 1.6 finds a module's load bias wrongly where a segment's file
 * offset is not its address modulo the page (lld's layout: Rust and many
 * newer binaries), and then unwinds with another function's CFI, skipping
 * frames. So .eh_frame_hdr is located through libdw, which knows the bias,
 * and searched with libunwind's own dwarf_search_unwind_table; UPT is left
 * for modules libdw does not know. A module without .eh_frame_hdr (Go
 * binaries have only .debug_frame) has no unwind information here: UPT's
 * fallback skipped Go frames.
 *
 * Without a stop, unwind.c finds the frame pointer in the stack where
 * frame-pointer code needs it, and has the unwind run again with it. */
#include "config.h"

#include <gelf.h>
#include <libunwind.h>
#include <libunwind-ptrace.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"
#include "unwind.h"
#include "util.h"

struct lu_module {
	uint64_t start, end;
	void *upt;
};

/* libunwind's, exported but not declared in its headers. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

/* A read-only segment of a module, as mapped in the process, and where
 * its bytes are in the file libdw holds open. */
struct lu_segment {
	uint64_t start, end;
	const char *image;
};

/* A module's .eh_frame_hdr table (found: 1), or that it has none (0). */
struct lu_table {
	uint64_t start, end;
	int found;
	unw_dyn_info_t di;
};

struct lu_state {
	pid_t pid;
	struct symbols *sym;
	struct unwind_result *out;
	bool have_fp;
	unw_addr_space_t as;
	const struct snapshot *snap;
	uint64_t regs[ARCH_DWARF_NREGS];
	struct maps maps;
	struct lu_module *mods;
	size_t nmods, mods_cap;
	struct lu_segment *segs; /* module_read's, most recently used first */
	size_t nsegs, segs_cap;
	unsigned segs_generation; /* symbols_generation when segs were found */
	struct lu_table *tables;  /* eh_table's */
	size_t ntables, tables_cap;
	unsigned tables_generation;
};

static _Thread_local struct lu_state *current;

/* The module around ip: every mapping of the file that maps ip. */
static struct lu_module *
module_for(struct lu_state *l, uint64_t ip)
{
	const struct map_entry *e;
	struct lu_module *m;
	uint64_t start, end;

	for (size_t i = 0; i < l->nmods; i++)
		if (ip >= l->mods[i].start && ip < l->mods[i].end)
			return &l->mods[i];
	e = procfs_maps_find(&l->maps, ip);
	if (e == NULL) {
		procfs_maps_read(l->pid, &l->maps);
		e = procfs_maps_find(&l->maps, ip);
	}
	if (e == NULL || e->path[0] != '/')
		return NULL;
	start = e->start;
	end = e->end;
	for (size_t i = 0; i < l->maps.n; i++) {
		const struct map_entry *o = &l->maps.entries[i];

		if (strcmp(o->path, e->path) != 0)
			continue;
		if (o->start < start)
			start = o->start;
		if (o->end > end)
			end = o->end;
	}
	GROW(l->mods, l->mods_cap, l->nmods + 1);
	m = &l->mods[l->nmods++];
	m->start = start;
	m->end = end;
	m->upt = _UPT_create(l->pid);
	return m;
}

static bool module_read(struct lu_state *l, uint64_t addr, uint64_t *v);

/* The .eh_frame_hdr search table of the module around ip, as libdw maps
 * it: 1, or 0 when the module has none, -1 when libdw knows no module
 * there. */
static int
eh_table_find(struct lu_state *l, uint64_t ip, unw_dyn_info_t *di, uint64_t *mstart,
	      uint64_t *mend)
{
	Dwfl_Module *mod = dwfl_addrmodule(symbols_dwfl(l->sym), ip);
	Dwarf_Addr bias, start, end;
	unsigned char hdr[12];
	uint32_t count;
	size_t nph;
	Elf *elf;

	if (mod == NULL)
		return -1;
	if ((elf = dwfl_module_getelf(mod, &bias)) == NULL || elf_getphdrnum(elf, &nph) != 0)
		return 0;
	dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
	*mstart = start;
	*mend = end;
	for (size_t i = 0; i < nph; i++) {
		uint64_t w[2];
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) == NULL || ph.p_type != PT_GNU_EH_FRAME)
			continue;
		/* version 1; eh_frame_ptr pcrel sdata4, fde_count udata4, the
		 * table datarel sdata4: what every linker writes. */
		if (module_read(l, bias + ph.p_vaddr, &w[0]) &&
		    module_read(l, bias + ph.p_vaddr + 8, &w[1]))
			memcpy(hdr, w, sizeof hdr);
		else if (!snapshot_read(l->snap, bias + ph.p_vaddr, hdr, sizeof hdr))
			return 0;
		if (hdr[0] != 1 ||
		    hdr[1] != 0x1b || hdr[2] != 0x03 || hdr[3] != 0x3b)
			return 0;
		memcpy(&count, hdr + 8, sizeof count);
		memset(di, 0, sizeof *di);
		di->start_ip = start;
		di->end_ip = end;
		di->format = UNW_INFO_FORMAT_REMOTE_TABLE;
		di->u.rti.segbase = bias + ph.p_vaddr;
		di->u.rti.table_data = bias + ph.p_vaddr + sizeof hdr;
		di->u.rti.table_len = (uint64_t)count * 8 / sizeof(unw_word_t);
		return 1;
	}
	return 0;
}

/* eh_table_find, remembered per module until the mappings are re-read. */
static int
eh_table(struct lu_state *l, uint64_t ip, unw_dyn_info_t *di)
{
	struct lu_table *t;
	uint64_t start = 0, end = 0;
	int r;

	if (l->tables_generation != symbols_generation(l->sym)) {
		l->ntables = 0;
		l->tables_generation = symbols_generation(l->sym);
	}
	for (size_t i = 0; i < l->ntables; i++) {
		t = &l->tables[i];
		if (ip >= t->start && ip < t->end) {
			*di = t->di;
			return t->found;
		}
	}
	r = eh_table_find(l, ip, di, &start, &end);
	if (r < 0 || start >= end || ip < start || ip >= end)
		return r;
	GROW(l->tables, l->tables_cap, l->ntables + 1);
	t = &l->tables[l->ntables++];
	t->start = start;
	t->end = end;
	t->found = r;
	t->di = *di;
	return r;
}

static int
lu_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
		  int need_unwind_info, void *arg)
{
	struct lu_module *m;
	unw_dyn_info_t di;

	switch (eh_table(current, ip, &di)) {
	case 1:
		return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
	case 0:
		/* No .eh_frame_hdr (Go): UPT's search of .debug_frame was seen
		 * to skip frames there. The stack ends instead. */
		return -UNW_ENOINFO;
	}
	m = module_for(current, ip);
	(void)arg;
	if (m == NULL || m->upt == NULL)
		return -UNW_ENOINFO;
	return _UPT_find_proc_info(as, ip, pi, need_unwind_info, m->upt);
}

static void
lu_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	_UPT_put_unwind_info(as, pi, arg);
}

static int
lu_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as;
	(void)addr;
	(void)arg;
	return -UNW_ENOINFO;
}

/* Read-only memory of a module (its code, .eh_frame_hdr, .eh_frame) from
 * the file libdw holds open: libunwind reads the tables a word at a time,
 * and a system call per word made an unwind cost milliseconds. The
 * segments found are kept (until the mappings are re-read): a binary
 * search of a table reads dozens of words per frame. */
static bool
module_read(struct lu_state *l, uint64_t addr, uint64_t *v)
{
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	const char *image;
	size_t nph, size;
	Elf *elf;

	if (l->segs_generation != symbols_generation(l->sym)) {
		l->nsegs = 0;
		l->segs_generation = symbols_generation(l->sym);
	}
	for (size_t i = 0; i < l->nsegs; i++) {
		struct lu_segment *g = &l->segs[i];

		if (addr >= g->start && addr - g->start + sizeof *v <= g->end - g->start) {
			memcpy(v, g->image + (addr - g->start), sizeof *v);
			if (i > 0) {
				struct lu_segment t = *g;

				memmove(l->segs + 1, l->segs, i * sizeof *l->segs);
				l->segs[0] = t;
			}
			return true;
		}
	}
	mod = dwfl_addrmodule(symbols_dwfl(l->sym), addr);
	if (mod == NULL || (elf = dwfl_module_getelf(mod, &bias)) == NULL ||
	    elf_getphdrnum(elf, &nph) != 0 || (image = elf_rawfile(elf, &size)) == NULL)
		return false;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		uint64_t rel = addr - bias;

		if (gelf_getphdr(elf, (int)i, &ph) == NULL || ph.p_type != PT_LOAD ||
		    (ph.p_flags & PF_W) != 0 || rel < ph.p_vaddr ||
		    rel - ph.p_vaddr + sizeof *v > ph.p_filesz)
			continue;
		if (ph.p_offset > size || size - ph.p_offset < ph.p_filesz)
			return false;
		GROW(l->segs, l->segs_cap, l->nsegs + 1);
		memmove(l->segs + 1, l->segs, l->nsegs * sizeof *l->segs);
		l->segs[0] = (struct lu_segment){ bias + ph.p_vaddr, bias + ph.p_vaddr + ph.p_filesz,
						  image + ph.p_offset };
		l->nsegs++;
		memcpy(v, image + ph.p_offset + (rel - ph.p_vaddr), sizeof *v);
		return true;
	}
	return false;
}

static int
lu_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	uint64_t v;
	const struct snapshot *snap = current->snap;

	(void)as;
	(void)arg;
	if (write)
		return -UNW_EINVAL;
	if ((addr < snap->stack_start || addr >= snap->stack_end) && module_read(current, addr, &v)) {
		*val = v;
		return 0;
	}
	if (!snapshot_read(snap, addr, &v, sizeof v)) {
		if (current->out != NULL && addr >= snap->stack_start && addr < snap->stack_end &&
		    addr - snap->stack_start + sizeof v > snap->stack_len)
			current->out->copy_short = true;
		return -UNW_EINVAL;
	}
	if (current->out != NULL && addr >= snap->stack_start && addr < snap->stack_end &&
	    addr + sizeof v > current->out->stack_hi)
		current->out->stack_hi = addr + sizeof v;
	*val = v;
	return 0;
}

static int
lu_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	const struct snapshot *s = current->snap;

	(void)as;
	(void)arg;
	if (write)
		return -UNW_EREADONLYREG;
	/* libunwind numbers x86_64 registers as DWARF does. */
	if (reg < 0 || reg >= ARCH_DWARF_NREGS)
		return -UNW_EBADREG;
	if (s->how != SNAP_STOPPED && reg != ARCH_DWARF_SP && reg != ARCH_DWARF_PC &&
	    !(reg == ARCH_DWARF_FP && current->have_fp))
		return -UNW_EBADREG;
	*val = current->regs[reg];
	return 0;
}

static int
lu_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
		void *arg)
{
	(void)as;
	(void)reg;
	(void)val;
	(void)write;
	(void)arg;
	return -UNW_EBADREG;
}

static int
lu_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as;
	(void)c;
	(void)arg;
	return -UNW_EINVAL;
}

static int
lu_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
		 unw_word_t *offp, void *arg)
{
	(void)as;
	(void)addr;
	(void)buf;
	(void)len;
	(void)offp;
	(void)arg;
	return -UNW_ENOINFO;
}

static unw_accessors_t accessors = {
	.find_proc_info = lu_find_proc_info,
	.put_unwind_info = lu_put_unwind_info,
	.get_dyn_info_list_addr = lu_get_dyn_info_list_addr,
	.access_mem = lu_access_mem,
	.access_reg = lu_access_reg,
	.access_fpreg = lu_access_fpreg,
	.resume = lu_resume,
	.get_proc_name = lu_get_proc_name,
};

static void *
lu_open(pid_t pid, struct symbols *sym, char **cause)
{
	struct lu_state *l = xcalloc(1, sizeof *l);

	l->sym = sym;
	l->pid = pid;
	l->as = unw_create_addr_space(&accessors, 0);
	if (l->as == NULL) {
		set_cause(cause, "cannot create a libunwind address space");
		free(l);
		return NULL;
	}
	unw_set_caching_policy(l->as, UNW_CACHE_GLOBAL);
	procfs_maps_read(pid, &l->maps);
	return l;
}

static void
lu_close(void *state)
{
	struct lu_state *l = state;

	for (size_t i = 0; i < l->nmods; i++)
		if (l->mods[i].upt != NULL)
			_UPT_destroy(l->mods[i].upt);
	free(l->mods);
	free(l->segs);
	free(l->tables);
	procfs_maps_release(&l->maps);
	unw_destroy_addr_space(l->as);
	free(l);
}

static void
lu_unwind(void *state, const struct snapshot *s, const struct unwind_from *from,
	  struct unwind_result *out, uint64_t *sps)
{
	struct lu_state *l = state;
	unw_cursor_t cursor;
	bool inner_is_signal = true; /* the innermost pc is exact */
	int r = -1;

	memset(l->regs, 0, sizeof l->regs);
	if (s->how == SNAP_STOPPED) {
		arch_regs_to_dwarf(&s->regs, l->regs);
	} else {
		l->regs[ARCH_DWARF_SP] = s->sp;
		l->regs[ARCH_DWARF_PC] = s->pc;
	}
	l->have_fp = from->have_fp;
	if (from->have_fp)
		l->regs[ARCH_DWARF_FP] = from->fp;
	current = l;
	l->snap = s;
	l->out = out;
	out->n = 0;
	out->copy_short = false;
	out->truncated = true;
	out->truncated_here = false;
	out->stack_hi = 0;
	if (unw_init_remote(&cursor, l->as, l) < 0)
		goto done;
	do {
		unw_word_t ip, sp;
		unw_proc_info_t pi;

		if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0)
			break;
		/* A return address points after its call, unless the frame
		 * inside it is a signal frame (then it is the exact pc). */
		if (!inner_is_signal)
			ip -= 1;
		if (from->check_at > 0 && out->n == from->check_at && ip != from->check_pc) {
			r = -1; /* the frame pointer tried is not this one's */
			break;
		}
		inner_is_signal = unw_is_signal_frame(&cursor) > 0;
		sps[out->n] = unw_get_reg(&cursor, UNW_REG_SP, &sp) == 0 ? sp : 0;
		out->pcs[out->n++] = ip;
		if (out->n >= UNWIND_MAX_FRAMES)
			goto done;
		/* Without unwind information libunwind would guess the caller
		 * from rbp, which in code without frame pointers skips frames
		 * or makes them up: the stack ends here instead. (Lacking it,
		 * unw_get_proc_info says [ip, ip+1) with no handler or info.) */
		if (unw_get_proc_info(&cursor, &pi) < 0 ||
		    (pi.start_ip + 1 == pi.end_ip && pi.unwind_info == NULL && pi.format == 0)) {
			r = -1;
			break;
		}
		r = unw_step(&cursor);
	} while (r > 0);
	out->truncated = r < 0;
done:
	l->snap = NULL;
	l->out = NULL;
	current = NULL;
}

const struct unwind_backend unwind_backend_libunwind = {
	.open = lu_open,
	.close = lu_close,
	.unwind = lu_unwind,
};
