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

#include "hashmap.h"
#include "procfs.h"
#include "util.h"

/* From the C++ runtime: demangles C++ and legacy Rust names. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define OFFSET_BITS 40
#define REFRESH_INTERVAL_NS 50000000u

struct symbols {
	pid_t pid;
	Dwfl *dwfl;
	int arch_fd;    /* the executable behind arch_elf, -1 when not open */
	Elf *arch_elf;
	bool other_mntns;
	char *debuginfo_path;
	Dwfl_Callbacks callbacks;
	struct sym_module **modules;
	size_t nmodules, modules_cap;
	struct hashmap cache;    /* (module id, offset) -> struct sym_result * */
	struct hashmap unknown;  /* pc -> struct sym_result * for pcs in no module */
	uint64_t last_refresh_ns;
	unsigned generation;      /* counts re-reads of the mappings */
	unsigned long hits, misses;
};

static char *
demangle(const char *name)
{
	int status = -1;
	char *d;

	if (name == NULL)
		return NULL;
	if (name[0] == '_' && name[1] == 'Z') {
		d = __cxa_demangle(name, NULL, NULL, &status);
		if (d != NULL && status == 0)
			return d;
		free(d);
	}
	return xstrdup(name);
}

/* Report the modules of the process. In another mount namespace, paths are
 * rewritten to /proc/PID/root/... so that libdw opens the process's files. */
static bool
report_modules(struct symbols *sym)
{
	int r;

	dwfl_report_begin(sym->dwfl);
	if (!sym->other_mntns) {
		r = dwfl_linux_proc_report(sym->dwfl, sym->pid);
	} else {
		char path[64], *maps, *out = NULL, *line, *save = NULL;
		size_t outlen = 0;
		FILE *mem;

		snprintf(path, sizeof path, "/proc/%d/maps", (int)sym->pid);
		maps = read_file(path, NULL);
		if (maps == NULL) {
			dwfl_report_end(sym->dwfl, NULL, NULL);
			return false;
		}
		mem = open_memstream(&out, &outlen);
		for (line = strtok_r(maps, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			char *slash = strchr(line, '/');

			if (slash != NULL)
				fprintf(mem, "%.*s/proc/%d/root%s\n", (int)(slash - line),
					line, (int)sym->pid, slash);
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
	sym->generation++;
	return r == 0;
}

struct symbols *
symbols_new(pid_t pid, char **cause)
{
	struct symbols *sym = xcalloc(1, sizeof *sym);

	sym->pid = pid;
	sym->arch_fd = -1;
	sym->other_mntns = procfs_other_mntns(pid);
	sym->callbacks.find_elf = dwfl_linux_proc_find_elf;
	sym->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
	sym->callbacks.debuginfo_path = &sym->debuginfo_path;
	hashmap_init(&sym->cache);
	hashmap_init(&sym->unknown);
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
	free(sym);
}

Elf *
symbols_arch_elf(struct symbols *sym)
{
	char path[64];

	if (sym->arch_elf != NULL)
		return sym->arch_elf;
	snprintf(path, sizeof path, "/proc/%d/exe", (int)sym->pid);
	sym->arch_fd = open(path, O_RDONLY | O_CLOEXEC);
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
	n = (size_t)snprintf(prefix, sizeof prefix, "/proc/%d/root", (int)sym->pid);
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
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (name == NULL)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (name != NULL)
		return demangle(name);
	name = dwarf_diename(die);
	return name != NULL ? xstrdup(name) : NULL;
}

/* The call site of an inlined subroutine: where, in the function around
 * it, the inlined body stands. */
static void
call_site(Dwarf_Die *cudie, Dwarf_Die *inlined, char **file, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word fileidx, lineno;
	Dwarf_Files *files;
	size_t nfiles;
	const char *name;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &lineno) == 0)
		*line = (int)lineno;
	if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &fileidx) == 0 &&
	    dwarf_getsrcfiles(cudie, &files, &nfiles) == 0 && fileidx < nfiles) {
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

static void
describe(Dwfl_Module *mod, uint64_t pc, struct sym_result *res)
{
	const char *symname, *srcfile = NULL;
	Dwarf_Die *cudie, *scopes = NULL;
	Dwfl_Line *dline;
	Dwarf_Addr bias;
	GElf_Off symoff;
	GElf_Sym esym;
	size_t cap = 0;
	int nscopes = 0, lineno = 0, nfunc = 0;
	char *next_file = NULL;
	int next_line = 0;

	symname = dwfl_module_addrinfo(mod, pc, &symoff, &esym, NULL, NULL, NULL);
	cudie = dwfl_module_addrdie(mod, pc, &bias);
	/* libdw may hand back the CU just before pc (code without DWARF, such
	 * as crt1's _start, right after main): trust a CU that covers pc only. */
	if (cudie != NULL && dwarf_haspc(cudie, pc - bias) == 1) {
		dline = dwfl_module_getsrc(mod, pc);
		if (dline != NULL)
			srcfile = dwfl_lineinfo(dline, NULL, &lineno, NULL, NULL, NULL);
		nscopes = dwarf_getscopes(cudie, pc - bias, &scopes);
	}

	/* dwarf_getscopes finds the innermost function-like scope, but past an
	 * inlined instance it continues with the abstract origin's scopes; the
	 * concrete chain (inlined body, the function it was inlined into, ...)
	 * comes from dwarf_getscopes_die on that innermost scope. Each inlined
	 * scope's call site is the source position in the scope around it. */
	for (int i = 0; i < nscopes; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			Dwarf_Die inner = scopes[i];

			free(scopes);
			scopes = NULL;
			nscopes = dwarf_getscopes_die(&inner, &scopes);
			break;
		}
		if (i == nscopes - 1)
			nscopes = 0;
	}
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
			call_site(cudie, &scopes[i], &next_file, &next_line);
		if (tag == DW_TAG_subprogram)
			break;
	}
	free(next_file);
	free(scopes);
	if (nfunc == 0)
		add_frame(res, &cap, symname != NULL ? demangle(symname) : NULL,
			  srcfile != NULL ? xstrdup(srcfile) : NULL, lineno, false);
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
	describe(mod, pc, res);
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
