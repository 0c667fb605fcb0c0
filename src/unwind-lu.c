/* unwind-lu.c: libunwind remote unwinding of a snapshot.
 *
 * Our accessors serve memory from the snapshot and registers from it; the
 * unwind tables come from libunwind-ptrace's _UPT_find_proc_info (which
 * reads ELF files and process memory, never ptrace), one UPT context per
 * module so that each keeps its tables mapped (libunwind caches one module
 * per context). Caching is global (UNW_CACHE_GLOBAL). libunwind hands
 * _UPT_find_proc_info's context, not ours, to the memory accessor, so the
 * accessors find the snapshot through `current` instead of their argument. */
#include "config.h"

#include <libunwind.h>
#include <libunwind-ptrace.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"
#include "unwind.h"
#include "util.h"

struct lu_module {
	uint64_t start, end;
	void *upt;
};

struct lu_state {
	pid_t pid;
	unw_addr_space_t as;
	const struct snapshot *snap;
	uint64_t regs[ARCH_DWARF_NREGS];
	struct maps maps;
	struct lu_module *mods;
	size_t nmods, mods_cap;
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

static int
lu_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
		  int need_unwind_info, void *arg)
{
	struct lu_module *m = module_for(current, ip);

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

static int
lu_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	uint64_t v;

	(void)as;
	(void)arg;
	if (write)
		return -UNW_EINVAL;
	if (!snapshot_read(current->snap, addr, &v, sizeof v))
		return -UNW_EINVAL;
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
	if (s->how != SNAP_STOPPED && reg != ARCH_DWARF_SP && reg != ARCH_DWARF_PC)
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

	(void)sym;
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
	procfs_maps_release(&l->maps);
	unw_destroy_addr_space(l->as);
	free(l);
}

static void
lu_unwind(void *state, const struct snapshot *s, struct unwind_result *out)
{
	struct lu_state *l = state;
	unw_cursor_t cursor;
	bool inner_is_signal = true; /* the innermost pc is exact */
	int r = -1;

	current = l;
	l->snap = s;
	memset(l->regs, 0, sizeof l->regs);
	if (s->how == SNAP_STOPPED) {
		arch_regs_to_dwarf(&s->regs, l->regs);
	} else {
		l->regs[ARCH_DWARF_SP] = s->sp;
		l->regs[ARCH_DWARF_PC] = s->pc;
	}
	out->truncated = true;
	if (unw_init_remote(&cursor, l->as, l) < 0)
		goto done;
	do {
		unw_word_t ip;

		if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0)
			break;
		/* A return address points after its call, unless the frame
		 * inside it is a signal frame (then it is the exact pc). */
		if (!inner_is_signal)
			ip -= 1;
		inner_is_signal = unw_is_signal_frame(&cursor) > 0;
		out->pcs[out->n++] = ip;
		if (out->n >= UNWIND_MAX_FRAMES)
			goto done;
		r = unw_step(&cursor);
	} while (r > 0);
	out->truncated = r < 0;
done:
	l->snap = NULL;
	current = NULL;
}

const struct unwind_backend unwind_backend_libunwind = {
	.open = lu_open,
	.close = lu_close,
	.unwind = lu_unwind,
};
