/* heap.c: glibc malloc's accounting (system and in-use bytes, arenas), read
 * from the target's memory with process_vm_readv. Where the variables are
 * and how their structures are laid out comes from libc's DWARF (found by
 * build-id, Debian's libc6-dbg), by name: no offset is assumed. The sums
 * are int_mallinfo's in glibc 2.36 malloc.c: per arena, system_mem minus
 * the free bytes in top, the fastbins and the regular bins; chunks in the
 * tcache are not in a bin, so they count as in use, as mallinfo2 counts
 * them. The lists are read while the process runs: a walk is bounded, and
 * a reading is kept only if the arena's heads did not change under it. */
#include "config.h"

#include "heap.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <gelf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "util.h"

/* Free chunks visited in one reading, over every arena: about 1 us each,
 * so a reading costs at most some 30 ms of siprof's time. */
#define HEAP_MAX_CHUNKS 30000
/* glibc's limit is 8 arenas a CPU; a ring longer than this is torn. */
#define HEAP_MAX_ARENAS 4096
/* Tries for a reading whose lists changed while they were walked. */
#define HEAP_TRIES 3
/* While the heap cannot be read, how often libc is looked for again (an
 * exec may bring another one). */
#define HEAP_RELOCATE_NS (30ull * 1000000000ull)
/* Readings torn in a row after which libc is looked for again: after an
 * exec the old addresses may still be mapped, holding something else. */
#define HEAP_TORN_RELOCATE 3

#define WORD 8u
#define CHUNK_ALIGN 16u /* MALLOC_ALIGNMENT on 64-bit glibc */
#define SIZE_BITS 7u    /* PREV_INUSE, IS_MMAPPED, NON_MAIN_ARENA */

/* One libc's layout, from its DWARF; kept for every build-id seen. */
struct heap_layout {
	char *build_id;
	char *why; /* NULL when the layout is usable */
	uint64_t min_vaddr;              /* of the first PT_LOAD, to its page */
	uint64_t arena_vaddr, mp_vaddr;  /* main_arena, mp_ */
	size_t arena_size;               /* struct malloc_state */
	size_t off_fastbins, n_fastbins; /* fastbinsY[NFASTBINS] */
	size_t off_top, off_bins, n_bins; /* bins[NBINS * 2 - 2] */
	size_t off_next, off_system_mem;
	size_t off_mmapped_mem;          /* in struct malloc_par */
	size_t off_size, off_fd, off_bk; /* in struct malloc_chunk */
	bool safe_linking;               /* fd of fastbins mangled (2.32+) */
	struct heap_layout *next;
};

static pthread_mutex_t layouts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct heap_layout *layouts;

struct heap_reader {
	pid_t pid;
	const struct heap_layout *layout; /* NULL until libc is found */
	uint64_t bias;                    /* runtime minus link-time address */
	uint64_t located_ns;
	unsigned torn;                    /* readings torn in a row */
	char *why;
	char *unused; /* why, when glibc's heap holds nothing (from locate) */
	unsigned char *buf; /* one struct malloc_state */
};

static void
set_why(struct heap_reader *h, const char *fmt, ...) ATTR_PRINTF(2, 3);

static void
set_why(struct heap_reader *h, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	if (h->why != NULL && strcmp(h->why, s) == 0) {
		free(s);
		return;
	}
	free(h->why);
	h->why = s;
}

/* ---- the layout, from DWARF ---- */

/* The type a DIE's DW_AT_type names, through typedefs and qualifiers. */
static bool
type_of(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute a;
	Dwarf_Die t = *die;

	if (dwarf_attr_integrate(&t, DW_AT_type, &a) == NULL || dwarf_formref_die(&a, out) == NULL)
		return false;
	for (int depth = 0; depth < 16; depth++) {
		int tag = dwarf_tag(out);

		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type &&
		    tag != DW_TAG_volatile_type && tag != DW_TAG_restrict_type &&
		    tag != DW_TAG_atomic_type)
			return true;
		t = *out;
		if (dwarf_attr_integrate(&t, DW_AT_type, &a) == NULL ||
		    dwarf_formref_die(&a, out) == NULL)
			return false;
	}
	return false;
}

/* A member of a structure, by name: its offset and (when asked) its type. */
static bool
member(Dwarf_Die *st, const char *name, size_t *off, Dwarf_Die *type)
{
	Dwarf_Die m;
	Dwarf_Attribute a;
	Dwarf_Word w;

	if (dwarf_child(st, &m) != 0)
		return false;
	do {
		const char *n;

		if (dwarf_tag(&m) != DW_TAG_member || (n = dwarf_diename(&m)) == NULL ||
		    strcmp(n, name) != 0)
			continue;
		if (dwarf_attr(&m, DW_AT_data_member_location, &a) == NULL ||
		    dwarf_formudata(&a, &w) != 0)
			return false;
		*off = (size_t)w;
		return type == NULL || type_of(&m, type);
	} while (dwarf_siblingof(&m, &m) == 0);
	return false;
}

/* An array member's element count, from its size (its elements are
 * pointers). */
static bool
pointer_array(Dwarf_Die *st, const char *name, size_t *off, size_t *n)
{
	Dwarf_Die t;
	Dwarf_Word size;

	if (!member(st, name, off, &t) || dwarf_tag(&t) != DW_TAG_array_type ||
	    dwarf_aggregate_size(&t, &size) != 0 || size == 0 || size % WORD != 0)
		return false;
	*n = (size_t)(size / WORD);
	return true;
}

/* A variable of malloc.c with a static address: its address and type. */
static bool
variable(Dwarf_Die *cu, const char *name, uint64_t *addr, Dwarf_Die *type)
{
	Dwarf_Die v;

	if (dwarf_child(cu, &v) != 0)
		return false;
	do {
		Dwarf_Attribute a;
		Dwarf_Op *ops;
		size_t nops;
		const char *n;

		if (dwarf_tag(&v) != DW_TAG_variable || (n = dwarf_diename(&v)) == NULL ||
		    strcmp(n, name) != 0 || dwarf_attr(&v, DW_AT_location, &a) == NULL ||
		    dwarf_getlocation(&a, &ops, &nops) != 0 || nops != 1 ||
		    ops[0].atom != DW_OP_addr)
			continue;
		*addr = ops[0].number;
		return type_of(&v, type);
	} while (dwarf_siblingof(&v, &v) == 0);
	return false;
}

/* The unit of malloc/malloc.c. */
static bool
malloc_unit(Dwarf *dw, Dwarf_Die *out)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		const char *name;
		size_t len;

		if (dwarf_offdie(dw, off + hsize, out) != NULL &&
		    (name = dwarf_diename(out)) != NULL && (len = strlen(name)) >= 8 &&
		    strcmp(name + len - 8, "malloc.c") == 0 &&
		    (len == 8 || name[len - 9] == '/'))
			return true;
		off = next;
	}
	return false;
}

/* Whether this libc defines symbol version GLIBC_2.32 or a later one: the
 * release that brought safe-linking (fastbin and tcache next pointers
 * stored xor their own address shifted by 12). */
static bool
glibc_at_least_2_32(Elf *elf)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t off = 0;

		if (gelf_getshdr(scn, &sh) == NULL || sh.sh_type != SHT_GNU_verdef ||
		    (data = elf_getdata(scn, NULL)) == NULL)
			continue;
		for (size_t i = 0; i < sh.sh_info; i++) {
			GElf_Verdef vd;
			GElf_Verdaux va;
			const char *name;
			unsigned major, minor;

			if (gelf_getverdef(data, (int)off, &vd) == NULL)
				break;
			if (gelf_getverdaux(data, (int)(off + vd.vd_aux), &va) != NULL &&
			    (name = elf_strptr(elf, sh.sh_link, va.vda_name)) != NULL &&
			    sscanf(name, "GLIBC_%u.%u", &major, &minor) == 2 &&
			    (major > 2 || (major == 2 && minor >= 32)))
				return true;
			if (vd.vd_next == 0)
				break;
			off += vd.vd_next;
		}
	}
	return false;
}

/* Fill l from libc's ELF and its DWARF; l->why says what is missing. */
static void
read_layout(Dwfl_Module *mod, const char *path, struct heap_layout *l)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	Dwarf *dw;
	Dwarf_Die cu, arena, par, chunk, t;
	Dwarf_Word size;
	size_t nph;
	bool have_load = false;

	if (elf == NULL) {
		l->why = xasprintf("cannot read %s: %s", path, dwfl_errmsg(-1));
		return;
	}
	if (gelf_getclass(elf) != ELFCLASS64) {
		l->why = xasprintf("%s is not a 64-bit library", path);
		return;
	}
	if (elf_getphdrnum(elf, &nph) == 0)
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(elf, (int)i, &ph) != NULL && ph.p_type == PT_LOAD &&
			    (!have_load || ph.p_vaddr < l->min_vaddr)) {
				/* The mapping of offset 0 starts at its page. */
				l->min_vaddr = ph.p_vaddr & ~(uint64_t)(sysconf(_SC_PAGESIZE) - 1);
				have_load = true;
			}
		}
	l->safe_linking = glibc_at_least_2_32(elf);
	dw = dwfl_module_getdwarf(mod, &bias);
	if (dw == NULL) {
		l->why = xasprintf("no debug info for %s (build-id %s): install its debug "
				   "symbols (Debian: libc6-dbg)", path, l->build_id);
		return;
	}
	if (!malloc_unit(dw, &cu) || !variable(&cu, "main_arena", &l->arena_vaddr, &arena) ||
	    !variable(&cu, "mp_", &l->mp_vaddr, &par)) {
		l->why = xasprintf("the debug info of %s has no main_arena and mp_ in malloc.c", path);
		return;
	}
	if (dwarf_tag(&arena) != DW_TAG_structure_type || dwarf_aggregate_size(&arena, &size) != 0 ||
	    !pointer_array(&arena, "fastbinsY", &l->off_fastbins, &l->n_fastbins) ||
	    !pointer_array(&arena, "bins", &l->off_bins, &l->n_bins) || l->n_bins % 2 != 0 ||
	    !member(&arena, "top", &l->off_top, &t) || dwarf_tag(&t) != DW_TAG_pointer_type ||
	    !type_of(&t, &chunk) || !member(&arena, "next", &l->off_next, NULL) ||
	    !member(&arena, "system_mem", &l->off_system_mem, NULL) ||
	    !member(&par, "mmapped_mem", &l->off_mmapped_mem, NULL) ||
	    !member(&chunk, "mchunk_size", &l->off_size, NULL) ||
	    !member(&chunk, "fd", &l->off_fd, NULL) || !member(&chunk, "bk", &l->off_bk, NULL) ||
	    l->off_size >= l->off_fd || l->off_fd >= l->off_bk || size > 65536 ||
	    l->off_next + WORD > size || l->off_system_mem + WORD > size ||
	    l->off_bins + l->n_bins * WORD > size) {
		l->why = xasprintf("malloc's structures in the debug info of %s are not "
				   "glibc's as siprof knows them", path);
		return;
	}
	l->arena_size = (size_t)size;
}

/* ---- finding libc in the process ---- */

static bool
libc_name(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	return strcmp(base, "libc.so.6") == 0 ||
	       (strncmp(base, "libc-2.", 7) == 0 && strstr(base, ".so") != NULL);
}

/* An allocator that replaces glibc's, mapped in the process, or NULL. */
static const char *
other_allocator(const struct maps *m)
{
	static const char *const names[] = { "jemalloc", "tcmalloc", "mimalloc", "hoard" };

	for (size_t i = 0; i < m->n; i++)
		for (size_t k = 0; k < ARRAY_SIZE(names); k++)
			if (strstr(m->entries[i].path, names[k]) != NULL)
				return m->entries[i].path;
	return NULL;
}

static void
locate(struct heap_reader *h)
{
	struct maps m = { 0 };
	const struct map_entry *lib = NULL;
	char root[64] = "", *file = NULL, hex[2 * 64 + 1];
	const unsigned char *bits;
	GElf_Addr vaddr;
	Dwfl_Callbacks cb = { .find_elf = dwfl_build_id_find_elf,
			      .find_debuginfo = dwfl_standard_find_debuginfo };
	Dwfl *dwfl = NULL;
	Dwfl_Module *mod;
	struct heap_layout *l;
	int len;

	h->layout = NULL;
	h->located_ns = now_ns();
	if (!procfs_maps_read(h->pid, &m)) {
		set_why(h, "cannot read the mappings of process %d: %s", (int)h->pid, strerror(errno));
		return;
	}
	for (size_t i = 0; i < m.n && lib == NULL; i++)
		if (m.entries[i].offset == 0 && libc_name(m.entries[i].path))
			lib = &m.entries[i];
	if (lib == NULL) {
		set_why(h, "process %d has no glibc shared library mapped (statically linked, "
			"or another C library)", (int)h->pid);
		goto out;
	}
	if (procfs_other_mntns(h->pid))
		procfs_root(h->pid, root, sizeof root);
	file = xasprintf("%s%s", root, lib->path);
	dwfl = dwfl_begin(&cb);
	mod = dwfl != NULL ? dwfl_report_elf(dwfl, "libc", file, -1, 0, false) : NULL;
	if (mod == NULL) {
		set_why(h, "cannot read %s: %s", lib->path, dwfl_errmsg(-1));
		goto out;
	}
	dwfl_report_end(dwfl, NULL, NULL);
	len = dwfl_module_build_id(mod, &bits, &vaddr);
	if (len <= 0 || len > 64) {
		set_why(h, "%s has no build-id to find its debug info by", lib->path);
		goto out;
	}
	for (int i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", bits[i]);
	pthread_mutex_lock(&layouts_lock);
	for (l = layouts; l != NULL && strcmp(l->build_id, hex) != 0; l = l->next)
		;
	if (l == NULL) {
		l = xcalloc(1, sizeof *l);
		l->build_id = xstrdup(hex);
		read_layout(mod, lib->path, l);
		l->next = layouts;
		layouts = l;
	}
	pthread_mutex_unlock(&layouts_lock);
	if (l->why != NULL) {
		set_why(h, "%s", l->why);
		goto out;
	}
	h->layout = l;
	h->bias = lib->start - l->min_vaddr;
	free(h->buf);
	h->buf = xmalloc(l->arena_size);
	free(h->unused);
	if (other_allocator(&m) != NULL)
		h->unused = xasprintf("glibc's malloc holds no memory: the process uses %s",
				      other_allocator(&m));
	else
		h->unused = xstrdup("glibc's malloc holds no memory yet");
out:
	if (dwfl != NULL)
		dwfl_end(dwfl);
	free(file);
	procfs_maps_release(&m);
}

/* ---- reading ---- */

enum read_result { READ_OK, READ_TORN, READ_FAILED };


static uint64_t
word_at(const unsigned char *buf, size_t off)
{
	uint64_t w;

	memcpy(&w, buf + off, sizeof w);
	return w;
}

/* A free chunk's size and its fd (raw) and bk words; false when it cannot
 * be a chunk (unreadable, misaligned, smaller than the smallest). */
static bool
chunk_at(struct heap_reader *h, uint64_t p, uint64_t *size, uint64_t *fd, uint64_t *bk)
{
	const struct heap_layout *l = h->layout;
	unsigned char c[64];
	size_t span = l->off_bk + WORD - l->off_size;

	if (p % CHUNK_ALIGN != 0 || span > sizeof c || !procfs_read_memory(h->pid, p + l->off_size, c, span))
		return false;
	*size = word_at(c, 0) & ~(uint64_t)SIZE_BITS;
	*fd = word_at(c, l->off_fd - l->off_size);
	*bk = word_at(c, l->off_bk - l->off_size);
	return *size >= 4 * WORD && *size % CHUNK_ALIGN == 0;
}

/* One arena at a: its system bytes, the free bytes in its top, fastbins
 * and bins (int_mallinfo's avail), and the next arena. *budget is the
 * chunks still allowed. */
static enum read_result
read_arena(struct heap_reader *h, uint64_t a, uint64_t *system, uint64_t *avail,
	   uint64_t *next, size_t *budget)
{
	const struct heap_layout *l = h->layout;
	unsigned char *buf = h->buf;
	uint64_t size, fd, bk, total = 0;

	if (!procfs_read_memory(h->pid, a, buf, l->arena_size))
		return READ_FAILED;
	*system = word_at(buf, l->off_system_mem);
	*next = word_at(buf, l->off_next);
	if (*system == 0) {
		/* Not initialized, or no memory taken from the system yet: top
		 * is still the fake chunk in the bins. */
		*avail = 0;
		return READ_OK;
	}
	if (!chunk_at(h, word_at(buf, l->off_top), &total, &fd, &bk))
		return READ_TORN;
	for (size_t i = 0; i < l->n_fastbins; i++) {
		uint64_t p = word_at(buf, l->off_fastbins + i * WORD);

		while (p != 0) {
			if ((*budget)-- == 0 || !chunk_at(h, p, &size, &fd, &bk))
				return READ_TORN;
			total += size;
			p = l->safe_linking ? ((p + l->off_fd) >> 12) ^ fd : fd;
		}
	}
	/* bin_at(av, i) is the fake chunk whose fd and bk are bins[2i - 2]
	 * and bins[2i - 1]; its list runs backwards from bk to itself. */
	for (size_t i = 0; i < l->n_bins / 2; i++) {
		uint64_t b = a + l->off_bins + 2 * i * WORD - l->off_fd;
		uint64_t p = word_at(buf, l->off_bins + (2 * i + 1) * WORD);

		while (p != b) {
			if ((*budget)-- == 0 || !chunk_at(h, p, &size, &fd, &bk))
				return READ_TORN;
			total += size;
			p = bk;
		}
	}
	if (total > *system)
		return READ_TORN;
	*avail = total;
	return READ_OK;
}

/* Whether the arena's list heads, top and system bytes are what they were
 * when its lists were walked. */
static bool
arena_same(struct heap_reader *h, uint64_t a, const unsigned char *was)
{
	const struct heap_layout *l = h->layout;
	unsigned char now[4096];
	size_t from = l->off_fastbins < l->off_top ? l->off_fastbins : l->off_top;
	size_t to = l->off_bins + l->n_bins * WORD;

	if (to <= from || to - from > sizeof now || !procfs_read_memory(h->pid, a + from, now, to - from) ||
	    memcmp(now, was + from, to - from) != 0)
		return false;
	return procfs_read_memory(h->pid, a + l->off_system_mem, now, WORD) &&
	       memcmp(now, was + l->off_system_mem, WORD) == 0;
}

static enum read_result
read_once(struct heap_reader *h, struct heap_stats *out)
{
	const struct heap_layout *l = h->layout;
	uint64_t main_arena = l->arena_vaddr + h->bias, a = main_arena, mmapped;
	uint64_t system = 0, inuse = 0;
	size_t budget = HEAP_MAX_CHUNKS;
	uint32_t n = 0;

	do {
		uint64_t sys, avail, next;
		enum read_result r = read_arena(h, a, &sys, &avail, &next, &budget);

		if (r != READ_OK)
			return r == READ_FAILED && a == main_arena ? READ_FAILED : READ_TORN;
		if (!arena_same(h, a, h->buf))
			return READ_TORN;
		system += sys;
		inuse += sys - avail;
		n++;
		a = next;
	} while (a != main_arena && n < HEAP_MAX_ARENAS);
	if (a != main_arena)
		return READ_TORN;
	if (!procfs_read_memory(h->pid, l->mp_vaddr + h->bias + l->off_mmapped_mem, &mmapped, sizeof mmapped))
		return READ_FAILED;
	out->system = system + mmapped;
	out->inuse = inuse + mmapped;
	out->arenas = n;
	return READ_OK;
}

struct heap_reader *
heap_reader_new(pid_t pid)
{
	struct heap_reader *h = xcalloc(1, sizeof *h);

	h->pid = pid;
	return h;
}

void
heap_reader_free(struct heap_reader *h)
{
	if (h == NULL)
		return;
	free(h->why);
	free(h->unused);
	free(h->buf);
	free(h);
}

bool
heap_read(struct heap_reader *h, struct heap_stats *out)
{
	enum read_result r = READ_FAILED;

	if (h->layout == NULL && (h->located_ns == 0 || now_ns() - h->located_ns >= HEAP_RELOCATE_NS))
		locate(h);
	if (h->layout == NULL)
		return false;
	for (int i = 0; i < HEAP_TRIES && (r = read_once(h, out)) == READ_TORN; i++)
		;
	if (r == READ_FAILED) {
		/* Gone, or another program after an exec: look again later. */
		set_why(h, "cannot read the memory of process %d: %s", (int)h->pid, strerror(errno));
		h->layout = NULL;
		h->located_ns = 0;
		return false;
	}
	if (r == READ_TORN) {
		set_why(h, "malloc's free lists changed under every reading (or hold more than "
			"%d chunks)", HEAP_MAX_CHUNKS);
		if (++h->torn >= HEAP_TORN_RELOCATE) {
			h->torn = 0;
			h->layout = NULL;
			h->located_ns = 0;
		}
		return false;
	}
	h->torn = 0;
	if (out->system == 0) {
		set_why(h, "%s", h->unused);
		return false;
	}
	free(h->why);
	h->why = NULL;
	return true;
}

const char *
heap_reader_why(const struct heap_reader *h)
{
	return h->why;
}
