/* symbols.c: libdw look-ups behind a cache keyed by (module, offset). */
#include "config.h"

#include "symbols.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gopclntab.h"
#include "hashmap.h"
#include "names.h"
#include "procfs.h"
#include "util.h"

#define OFFSET_BITS 40
#define REFRESH_INTERVAL_NS 50000000u

struct symbols {
	pid_t pid;
	Dwfl *dwfl;
	int arch_fd;    /* the executable behind arch_elf, -1 when not open */
	Elf *arch_elf;
	bool other_mntns;
	char *maps;     /* the mappings as read once, for a process gone since */
	char *debuginfo_path;
	Dwfl_Callbacks callbacks;
	struct sym_module **modules;
	size_t nmodules, modules_cap;
	struct hashmap cache;    /* (module id, offset) -> struct sym_result * */
	struct hashmap unknown;  /* pc -> struct sym_result * for pcs in no module */
	struct hashmap indexes;  /* module id -> struct sym_index * */
	uint64_t last_refresh_ns;
	unsigned generation;      /* counts re-reads of the mappings */
	unsigned long hits, misses;
};

static char *
demangle(const char *name)
{
	return names_demangle(name);
}

/* Report the modules of the process. In another mount namespace, paths are
 * rewritten to /proc/PID/root/... so that libdw opens the process's files. */
static bool
report_modules(struct symbols *sym)
{
	int r;

	/* From here on the modules may change, or (a failed read) all go:
	 * whatever was kept of them under the old generation is stale. */
	sym->generation++;
	dwfl_report_begin(sym->dwfl);
	if (!sym->other_mntns && sym->maps == NULL) {
		r = dwfl_linux_proc_report(sym->dwfl, sym->pid);
	} else {
		char root[64] = "", *maps, *out = NULL, *line, *save = NULL;
		size_t outlen = 0;
		FILE *mem;

		if (sym->other_mntns)
			procfs_root(sym->pid, root, sizeof root);
		maps = sym->maps != NULL ? xstrdup(sym->maps) : procfs_maps_text(sym->pid);
		if (maps == NULL) {
			dwfl_report_end(sym->dwfl, NULL, NULL);
			return false;
		}
		mem = open_memstream(&out, &outlen);
		for (line = strtok_r(maps, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			char *slash = strchr(line, '/');

			if (slash != NULL)
				fprintf(mem, "%.*s%s%s\n", (int)(slash - line), line, root,
					slash);
			else
				fprintf(mem, "%s\n", line);
		}
		fclose(mem);
		free(maps);
		mem = fmemopen(out, outlen, "r");
		r = mem != NULL ? dwfl_linux_proc_maps_report(sym->dwfl, mem) : -1;
		if (mem != NULL)
			fclose(mem);
		free(out);
	}
	dwfl_report_end(sym->dwfl, NULL, NULL);
	sym->last_refresh_ns = now_ns();
	return r == 0;
}

unsigned
symbols_generation(const struct symbols *sym)
{
	return sym->generation;
}

struct symbols *
symbols_new(pid_t pid, char **cause)
{
	return symbols_new_maps(pid, NULL, cause);
}

struct symbols *
symbols_new_maps(pid_t pid, const char *maps, char **cause)
{
	struct symbols *sym = xcalloc(1, sizeof *sym);

	sym->pid = pid;
	sym->arch_fd = -1;
	sym->maps = maps != NULL ? xstrdup(maps) : NULL;
	sym->other_mntns = maps == NULL && procfs_other_mntns(pid);
	sym->callbacks.find_elf = dwfl_linux_proc_find_elf;
	sym->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
	sym->callbacks.debuginfo_path = &sym->debuginfo_path;
	hashmap_init(&sym->cache);
	hashmap_init(&sym->unknown);
	hashmap_init(&sym->indexes);
	sym->dwfl = dwfl_begin(&sym->callbacks);
	if (sym->dwfl == NULL) {
		set_cause(cause, "cannot start libdw: %s", dwfl_errmsg(-1));
		free(sym);
		return NULL;
	}
	if (!report_modules(sym)) {
		set_cause(cause, "cannot read the mappings of process %d: %s",
			  (int)pid, errno ? strerror(errno) : dwfl_errmsg(-1));
		symbols_free(sym);
		return NULL;
	}
	return sym;
}

static void
free_result(struct sym_result *res)
{
	for (size_t i = 0; i < res->n; i++) {
		free(res->frames[i].function);
		free(res->frames[i].file);
	}
	free(res->frames);
	free(res);
}

/* What is read once per module for look-ups that libdw's own tables do
 * not serve: the address ranges of its compile units (for DWARF without
 * .debug_aranges, such as Go's), per unit the ranges of its functions
 * (so that a look-up walks one function's DIEs, not its whole unit: Go's
 * runtime is a single unit), and its Go pc-line table. */
struct die_range {
	Dwarf_Addr lo, hi;
	Dwarf_Off die;
};

struct unit_funcs {
	struct die_range *r;
	size_t n, cap;
};

struct sym_index {
	bool cus_read, go_tried;
	struct die_range *cus; /* compile units */
	size_t ncus, cus_cap;
	struct hashmap funcs; /* unit DIE offset -> struct unit_funcs * */
	struct gopclntab *go;
};

static void
free_indexes(struct symbols *sym)
{
	struct sym_index *ix;

	for (size_t it = 0; hashmap_next(&sym->indexes, &it, NULL, (void **)&ix);) {
		struct unit_funcs *uf;

		for (size_t j = 0; hashmap_next(&ix->funcs, &j, NULL, (void **)&uf);) {
			free(uf->r);
			free(uf);
		}
		hashmap_release(&ix->funcs);
		free(ix->cus);
		gopclntab_free(ix->go);
		free(ix);
	}
	hashmap_release(&sym->indexes);
}

void
symbols_free(struct symbols *sym)
{
	struct sym_result *res;
	size_t it;

	if (sym == NULL)
		return;
	for (it = 0; hashmap_next(&sym->cache, &it, NULL, (void **)&res);)
		free_result(res);
	for (it = 0; hashmap_next(&sym->unknown, &it, NULL, (void **)&res);)
		free_result(res);
	hashmap_release(&sym->cache);
	hashmap_release(&sym->unknown);
	free_indexes(sym);
	names_flush();
	for (size_t i = 0; i < sym->nmodules; i++) {
		free(sym->modules[i]->path);
		free(sym->modules[i]->build_id);
		free(sym->modules[i]);
	}
	free(sym->modules);
	if (sym->dwfl != NULL)
		dwfl_end(sym->dwfl);
	/* After dwfl_end: the Dwfl's unwinding backend was made from it. */
	if (sym->arch_elf != NULL)
		elf_end(sym->arch_elf);
	if (sym->arch_fd >= 0)
		close(sym->arch_fd);
	free(sym->maps);
	free(sym);
}

Elf *
symbols_arch_elf(struct symbols *sym)
{
	if (sym->arch_elf != NULL)
		return sym->arch_elf;
	sym->arch_fd = procfs_exe_open(sym->pid);
	if (sym->arch_fd < 0 && sym->maps != NULL) {
		/* The process is gone: its executable is the first file mapped. */
		const char *p = strchr(sym->maps, '/');

		if (p != NULL) {
			char *path = xasprintf("%.*s", (int)strcspn(p, "\n"), p);

			sym->arch_fd = open(path, O_RDONLY | O_CLOEXEC);
			free(path);
		}
	}
	if (sym->arch_fd < 0)
		return NULL;
	elf_version(EV_CURRENT);
	sym->arch_elf = elf_begin(sym->arch_fd, ELF_C_READ_MMAP, NULL);
	if (sym->arch_elf == NULL || elf_kind(sym->arch_elf) != ELF_K_ELF) {
		if (sym->arch_elf != NULL)
			elf_end(sym->arch_elf);
		sym->arch_elf = NULL;
		close(sym->arch_fd);
		sym->arch_fd = -1;
	}
	return sym->arch_elf;
}

Dwfl *
symbols_dwfl(struct symbols *sym)
{
	return sym->dwfl;
}

void
symbols_refresh(struct symbols *sym, bool force)
{
	if (!force && now_ns() - sym->last_refresh_ns < REFRESH_INTERVAL_NS)
		return;
	report_modules(sym);
}

void
symbols_stats(const struct symbols *sym, unsigned long *misses, unsigned long *hits)
{
	*misses = sym->misses;
	*hits = sym->hits;
}

static const char *
display_path(const struct symbols *sym, const char *path)
{
	char prefix[64];
	size_t n;

	if (!sym->other_mntns || path == NULL)
		return path;
	n = strlen(procfs_root(sym->pid, prefix, sizeof prefix));
	return strncmp(path, prefix, n) == 0 ? path + n : path;
}

/* Our record of a libdw module, found through its userdata slot, or made
 * (and matched with an earlier one by build-id or path) on first sight. */
static struct sym_module *
module_of(struct symbols *sym, Dwfl_Module *mod, Dwarf_Addr *start)
{
	const unsigned char *bits;
	const char *name, *mainfile = NULL;
	struct sym_module *m;
	GElf_Addr vaddr;
	Dwarf_Addr bias;
	char *hex = NULL;
	void **userdata;
	int len;

	name = dwfl_module_info(mod, &userdata, start, NULL, NULL, NULL, NULL, NULL);
	if (*userdata != NULL)
		return *userdata;

	dwfl_module_getelf(mod, &bias);
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
	len = dwfl_module_build_id(mod, &bits, &vaddr);
	if (len > 0) {
		hex = xmalloc((size_t)len * 2 + 1);
		for (int i = 0; i < len; i++)
			sprintf(hex + 2 * i, "%02x", bits[i]);
	}
	name = display_path(sym, mainfile != NULL ? mainfile : name);
	if (strncmp(name, "[vdso", 5) == 0)
		name = "[vdso]"; /* libdw says "[vdso: PID]" */
	for (size_t i = 0; i < sym->nmodules; i++) {
		m = sym->modules[i];
		if (hex != NULL ? (m->build_id != NULL && strcmp(m->build_id, hex) == 0)
				: (m->build_id == NULL && strcmp(m->path, name) == 0)) {
			free(hex);
			*userdata = m;
			return m;
		}
	}
	m = xcalloc(1, sizeof *m);
	m->id = (uint32_t)sym->nmodules + 1;
	m->path = xstrdup(name);
	m->name = path_basename(m->path);
	m->build_id = hex;
	m->has_dwarf = dwfl_module_getdwarf(mod, &bias) != NULL;
	/* .symtab (not just .dynsym) is there when a symbol count exceeds
	 * what the dynamic table alone would give; libdw merges them, so ask
	 * for the main file's section headers directly. */
	{
		Elf *elf = dwfl_module_getelf(mod, &bias);
		Elf_Scn *scn = NULL;
		GElf_Shdr shdr;

		while (elf != NULL && (scn = elf_nextscn(elf, scn)) != NULL)
			if (gelf_getshdr(scn, &shdr) != NULL && shdr.sh_type == SHT_SYMTAB)
				m->has_symbols = true;
		m->has_symbols = m->has_symbols || m->has_dwarf;
	}
	GROW(sym->modules, sym->modules_cap, sym->nmodules + 1);
	sym->modules[sym->nmodules++] = m;
	*userdata = m;
	return m;
}

static char *
die_function_name(Dwarf_Die *die)
{
	return names_die(die);
}

/* The call site of an inlined subroutine: where, in the function around
 * it, the inlined body stands. DW_AT_call_file indexes the file table of
 * the unit that holds the inlined DIE. */
static void
call_site(Dwarf_Die *inlined, char **file, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word fileidx, lineno;
	Dwarf_Die cudie;
	Dwarf_Files *files;
	size_t nfiles;
	const char *name;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &lineno) == 0)
		*line = (int)lineno;
	if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &fileidx) == 0 &&
	    dwarf_diecu(inlined, &cudie, NULL, NULL) != NULL &&
	    dwarf_getsrcfiles(&cudie, &files, &nfiles) == 0 && fileidx < nfiles) {
		name = dwarf_filesrc(files, fileidx, NULL, NULL);
		if (name != NULL)
			*file = xstrdup(name);
	}
}

static void
add_frame(struct sym_result *res, size_t *cap, char *function, char *file,
	  int line, bool inlined)
{
	struct sym_frame *f;

	GROW(res->frames, *cap, res->n + 1);
	f = &res->frames[res->n++];
	f->function = function;
	f->file = file;
	f->line = line;
	f->inlined = inlined;
}

/* Names the way a reader looks for them, the same in every view: a PLT
 * stub as NAME@plt; a function under its exported name where its symbol
 * (esym, pc - symoff its address; NULL when none covers pc) has one at the same address and size
 * (glibc's __GI___libc_read is read); and one function never twice in a
 * row for one pc (an inlined copy of a function in itself, as glibc's
 * DWARF has for read: one frame, at the inner line). */
static void
public_names(Dwfl_Module *mod, uint64_t pc, const GElf_Sym *esym, GElf_Off symoff,
	     struct sym_result *res)
{
	struct sym_frame *outer = &res->frames[res->n - 1];
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	char *name, *old;

	if (elf == NULL)
		return;
	if ((name = names_plt(elf, pc - bias)) != NULL) {
		free(outer->function);
		outer->function = name;
		return;
	}
	if (esym == NULL || outer->function == NULL || 
	    (name = names_public(elf, pc - symoff - bias, esym->st_size)) == NULL)
		goto dedupe;
	old = outer->function;
	outer->function = names_demangle(name);
	free(name);
	for (size_t k = 0; k + 1 < res->n; k++)
		if (res->frames[k].function != NULL && strcmp(res->frames[k].function, old) == 0) {
			free(res->frames[k].function);
			res->frames[k].function = xstrdup(outer->function);
		}
	free(old);
dedupe:
	for (size_t k = 0; k + 1 < res->n;) {
		struct sym_frame *f = &res->frames[k], *up = f + 1;

		if (!f->inlined || f->function == NULL || up->function == NULL ||
		    strcmp(f->function, up->function) != 0) {
			k++;
			continue;
		}
		free(up->function);
		free(up->file);
		up->function = f->function;
		up->file = f->file;
		up->line = f->line;
		memmove(f, up, (res->n - k - 1) * sizeof *f);
		res->n--;
	}
}

static struct sym_index *
index_of(struct symbols *sym, const struct sym_module *m)
{
	struct sym_index *ix = hashmap_get(&sym->indexes, m->id);

	if (ix == NULL) {
		ix = xcalloc(1, sizeof *ix);
		hashmap_init(&ix->funcs);
		hashmap_put(&sym->indexes, m->id, ix);
	}
	return ix;
}

static int
cmp_die_range(const void *a, const void *b)
{
	const struct die_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->die < y->die ? -1 : x->die > y->die;
}

/* Every compile unit's ranges, sorted; runs of one unit merged (a look-up
 * checks the unit with dwarf_haspc, so a merged gap costs nothing). */
static void
read_cu_ranges(struct sym_index *ix, Dwarf *dw)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	uint8_t unit_type;
	size_t n = 0;

	ix->cus_read = true;
	while (dwarf_get_units(dw, cu, &cu, NULL, &unit_type, &cudie, NULL) == 0) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		if (unit_type != DW_UT_compile)
			continue;
		while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
			if (hi <= lo)
				continue;
			GROW(ix->cus, ix->cus_cap, ix->ncus + 1);
			ix->cus[ix->ncus++] = (struct die_range){ lo, hi, dwarf_dieoffset(&cudie) };
		}
	}
	if (ix->ncus == 0)
		return;
	qsort(ix->cus, ix->ncus, sizeof *ix->cus, cmp_die_range);
	for (size_t i = 1; i < ix->ncus; i++) {
		if (ix->cus[i].die == ix->cus[n].die) {
			if (ix->cus[i].hi > ix->cus[n].hi)
				ix->cus[n].hi = ix->cus[i].hi;
		} else {
			ix->cus[++n] = ix->cus[i];
		}
	}
	ix->ncus = n + 1;
}

/* The compile unit that covers pc, or NULL. libdw finds it through
 * .debug_aranges only, which Go does not write; then the units' own
 * ranges are searched. */
static Dwarf_Die *
cu_of(struct symbols *sym, Dwfl_Module *mod, const struct sym_module *m,
      uint64_t pc, Dwarf_Addr *bias, Dwarf_Die *mem, bool *from_aranges)
{
	Dwarf_Die *cudie = dwfl_module_addrdie(mod, pc, bias);
	struct sym_index *ix;
	Dwarf_Addr addr;
	size_t lo = 0, hi;
	Dwarf *dw;

	/* libdw may hand back the CU just before pc (code without DWARF, such
	 * as crt1's _start, right after main): trust a CU that covers pc only. */
	*from_aranges = true;
	if (cudie != NULL && dwarf_haspc(cudie, pc - *bias) == 1)
		return cudie;
	*from_aranges = false;
	dw = dwfl_module_getdwarf(mod, bias);
	if (dw == NULL)
		return NULL;
	ix = index_of(sym, m);
	if (!ix->cus_read)
		read_cu_ranges(ix, dw);
	addr = pc - *bias;
	/* The first range starting above addr; candidates lie below it. */
	hi = ix->ncus;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->cus[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, tries = 0; i-- > 0 && tries < 8; tries++)
		if (addr < ix->cus[i].hi && dwarf_offdie(dw, ix->cus[i].die, mem) != NULL &&
		    dwarf_haspc(mem, addr) == 1)
			return mem;
	return NULL;
}

struct scope_chain {
	Dwarf_Die *dies; /* outermost first while walking */
	size_t n, cap;
};

static bool
scope_tag(int tag)
{
	switch (tag) {
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_lexical_block:
	case DW_TAG_entry_point:
	case DW_TAG_with_stmt:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
		return true;
	}
	return false;
}

/* DIEs without addresses that hold functions: LLVM puts Rust's (and some
 * C++) concrete functions inside their namespaces. */
static bool
container_tag(int tag)
{
	switch (tag) {
	case DW_TAG_namespace:
	case DW_TAG_module:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_interface_type:
		return true;
	}
	return false;
}

/* Depth-first from parent's children: append each scope that contains
 * addr, descending into it. */
static void
walk_scopes(Dwarf_Die *parent, Dwarf_Addr addr, struct scope_chain *c, int depth)
{
	Dwarf_Die child;

	if (depth > 64 || dwarf_child(parent, &child) != 0)
		return;
	do {
		if (scope_tag(dwarf_tag(&child)) && dwarf_haspc(&child, addr) == 1) {
			GROW(c->dies, c->cap, c->n + 1);
			c->dies[c->n++] = child;
			walk_scopes(&child, addr, c, depth + 1);
			return;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

/* The ranges of every function of a unit, at its top level, inside
 * namespaces and types (where LLVM puts Rust's and some C++ functions)
 * or nested in another function (GNU C, Ada). Imported (dwz) units are
 * not followed: dwz moves what several units share, and code belongs to
 * one. */
static void
collect_funcs(Dwarf_Die *parent, struct unit_funcs *uf, int depth)
{
	Dwarf_Die child;

	if (depth > 64 || dwarf_child(parent, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);

		if (tag == DW_TAG_subprogram) {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;

			while ((off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0) {
				if (hi <= lo)
					continue;
				GROW(uf->r, uf->cap, uf->n + 1);
				uf->r[uf->n++] = (struct die_range){ lo, hi, dwarf_dieoffset(&child) };
			}
			if (dwarf_haschildren(&child))
				collect_funcs(&child, uf, depth + 1);
		} else if ((container_tag(tag) || tag == DW_TAG_lexical_block) &&
			   dwarf_haschildren(&child)) {
			collect_funcs(&child, uf, depth + 1);
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

/* The scopes that contain addr in the unit, innermost first: the
 * concrete chain of inlined bodies and blocks down from the function.
 * libdw's dwarf_getscopes cannot be used: it prunes every DIE without an
 * address (so never looks inside a namespace, where Rust's functions
 * are), and elfutils 0.188 looks for an inlined body's abstract origin in
 * the wrong unit when it lies in another (fixed in 0.189). */
static int
function_scopes(struct sym_index *ix, Dwarf_Die *cudie, Dwarf_Addr addr, Dwarf_Die **scopes)
{
	struct scope_chain c = { NULL, 0, 0 };
	Dwarf *dw = dwarf_cu_getdwarf(cudie->cu);
	Dwarf_Off cuoff = dwarf_dieoffset(cudie);
	struct unit_funcs *uf = hashmap_get(&ix->funcs, cuoff);
	size_t lo = 0, hi;

	*scopes = NULL;
	if (uf == NULL) {
		uf = xcalloc(1, sizeof *uf);
		collect_funcs(cudie, uf, 0);
		if (uf->n > 0)
			qsort(uf->r, uf->n, sizeof *uf->r, cmp_die_range);
		hashmap_put(&ix->funcs, cuoff, uf);
	}
	hi = uf->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (uf->r[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, tries = 0; i-- > 0 && tries < 8; tries++) {
		Dwarf_Die fn;

		if (addr >= uf->r[i].hi)
			continue;
		/* Of functions at one address (gas writes one per label of an
		 * assembly function: __clone3, __GI___clone3, clone3), the first. */
		while (i > 0 && uf->r[i - 1].lo == uf->r[i].lo && addr < uf->r[i - 1].hi)
			i--;
		if (dwarf_offdie(dw, uf->r[i].die, &fn) == NULL)
			continue;
		GROW(c.dies, c.cap, c.n + 1);
		c.dies[c.n++] = fn;
		walk_scopes(&fn, addr, &c, 0);
		break;
	}
	for (size_t i = 0; i < c.n / 2; i++) {
		Dwarf_Die t = c.dies[i];

		c.dies[i] = c.dies[c.n - 1 - i];
		c.dies[c.n - 1 - i] = t;
	}
	*scopes = c.dies;
	return (int)c.n;
}

/* Frames from the Go pc-line table of the module's file, for a pc that
 * DWARF does not describe (a Go binary built with -ldflags=-s or -w).
 * False when the module has no such table or it does not know pc. */
static bool
describe_go(struct symbols *sym, Dwfl_Module *mod, uint64_t pc, struct sym_result *res,
	    size_t *cap)
{
	struct sym_index *ix = index_of(sym, res->module);
	struct gopclntab_frame frames[32];
	const char *mainfile = NULL;
	Dwarf_Addr bias;
	size_t n;

	if (!ix->go_tried) {
		ix->go_tried = true;
		if (dwfl_module_getelf(mod, &bias) != NULL)
			dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
		if (mainfile != NULL)
			ix->go = gopclntab_open(mainfile, NULL);
	}
	if (ix->go == NULL || dwfl_module_getelf(mod, &bias) == NULL)
		return false;
	n = gopclntab_lookup(ix->go, pc - bias, frames, sizeof frames / sizeof frames[0]);
	for (size_t i = 0; i < n; i++)
		add_frame(res, cap, frames[i].function != NULL ? demangle(frames[i].function) : NULL,
			  frames[i].file != NULL ? xstrdup(frames[i].file) : NULL, frames[i].line,
			  i + 1 < n);
	return n > 0;
}

static void
describe(struct symbols *sym, Dwfl_Module *mod, uint64_t pc, struct sym_result *res)
{
	const char *symname, *srcfile = NULL;
	Dwarf_Die *cudie, *scopes = NULL, cu_mem;
	Dwfl_Line *dline;
	Dwarf_Addr bias;
	GElf_Off symoff;
	GElf_Sym esym;
	size_t cap = 0;
	int nscopes = 0, lineno = 0, nfunc = 0;
	char *next_file = NULL;
	int next_line = 0;
	bool from_aranges;

	symname = dwfl_module_addrinfo(mod, pc, &symoff, &esym, NULL, NULL, NULL);
	cudie = cu_of(sym, mod, res->module, pc, &bias, &cu_mem, &from_aranges);
	if (cudie != NULL) {
		if (from_aranges) {
			dline = dwfl_module_getsrc(mod, pc);
			if (dline != NULL)
				srcfile = dwfl_lineinfo(dline, NULL, &lineno, NULL, NULL, NULL);
		} else {
			/* dwfl_module_getsrc finds the unit as dwfl_module_addrdie does. */
			Dwarf_Line *l = dwarf_getsrc_die(cudie, pc - bias);

			if (l != NULL && (srcfile = dwarf_linesrc(l, NULL, NULL)) != NULL)
				dwarf_lineno(l, &lineno);
		}
		nscopes = function_scopes(index_of(sym, res->module), cudie, pc - bias, &scopes);
	}

	/* The concrete chain, innermost first: inlined bodies, then the
	 * function they were inlined into. Each inlined scope's call site is
	 * the source position in the scope around it. */
	for (int i = 0; i < nscopes; i++) {
		int tag = dwarf_tag(&scopes[i]);
		bool inl = tag == DW_TAG_inlined_subroutine;
		char *file, *function;
		int line;

		if (tag != DW_TAG_subprogram && !inl)
			continue;
		if (nfunc == 0) {
			file = srcfile != NULL ? xstrdup(srcfile) : NULL;
			line = lineno;
		} else {
			file = next_file;
			line = next_line;
		}
		function = die_function_name(&scopes[i]);
		if (function == NULL && !inl && symname != NULL)
			function = demangle(symname);
		add_frame(res, &cap, function, file, line, inl);
		nfunc++;
		next_file = NULL;
		if (inl)
			call_site(&scopes[i], &next_file, &next_line);
		if (tag == DW_TAG_subprogram)
			break;
	}
	free(next_file);
	free(scopes);
	if (nfunc == 0 && describe_go(sym, mod, pc, res, &cap))
		return;
	if (nfunc == 0)
		add_frame(res, &cap, symname != NULL ? demangle(symname) : NULL,
			  srcfile != NULL ? xstrdup(srcfile) : NULL, lineno, false);
	public_names(mod, pc, symname != NULL ? &esym : NULL, symoff, res);
}

/* The module that contains pc; libdw's dwfl_addrmodule may return a
 * neighbour for an address in no module at all. */
static Dwfl_Module *
module_at(struct symbols *sym, uint64_t pc)
{
	Dwfl_Module *mod = dwfl_addrmodule(sym->dwfl, pc);
	Dwarf_Addr start, end;

	if (mod == NULL)
		return NULL;
	dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
	return pc >= start && pc < end ? mod : NULL;
}

bool
symbols_has_module(struct symbols *sym, uint64_t pc)
{
	if (module_at(sym, pc) != NULL)
		return true;
	symbols_refresh(sym, false);
	return module_at(sym, pc) != NULL;
}

const struct sym_result *
symbols_lookup(struct symbols *sym, uint64_t pc)
{
	struct sym_module *m;
	struct sym_result *res = NULL;
	Dwfl_Module *mod;
	Dwarf_Addr start = 0, bias;
	uint64_t key;

	mod = module_at(sym, pc);
	if (mod == NULL) {
		/* Known to be unknown, as of the current mappings? */
		res = hashmap_get(&sym->unknown, pc);
		if (res != NULL && res->generation == sym->generation)
			return res;
		/* Perhaps a library loaded since the mappings were read. */
		symbols_refresh(sym, false);
		mod = module_at(sym, pc);
	}
	if (mod == NULL) {
		if (res == NULL) {
			res = xcalloc(1, sizeof *res);
			res->offset = pc;
			res->n = 1;
			res->frames = xcalloc(1, sizeof *res->frames);
			hashmap_put(&sym->unknown, pc, res);
		}
		res->generation = sym->generation;
		return res;
	}
	m = module_of(sym, mod, &start);
	/* Offsets are addresses in the ELF file's own terms (what addr2line
	 * takes), the load bias removed. */
	if (dwfl_module_getelf(mod, &bias) == NULL)
		bias = start;
	key = ((uint64_t)m->id << OFFSET_BITS) | ((pc - bias) & ((1ULL << OFFSET_BITS) - 1));
	res = hashmap_get(&sym->cache, key);
	if (res != NULL) {
		sym->hits++;
		return res;
	}
	sym->misses++;
	res = xcalloc(1, sizeof *res);
	res->module = m;
	res->offset = pc - bias;
	describe(sym, mod, pc, res);
	hashmap_put(&sym->cache, key, res);
	return res;
}

struct find_path {
	struct symbols *sym;
	const char *path;
	const char *build_id;
};

static int
match_path(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
	struct find_path *fp = arg;
	struct sym_module *m;

	(void)userdata;
	(void)name;
	m = module_of(fp->sym, mod, &start);
	if (strcmp(m->path, fp->path) == 0) {
		fp->build_id = m->build_id;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

const char *
symbols_build_id_of(struct symbols *sym, const char *path)
{
	struct find_path fp = { sym, path, NULL };

	dwfl_getmodules(sym->dwfl, match_path, &fp, 0);
	return fp.build_id;
}
