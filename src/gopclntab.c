/* gopclntab.c: Go's pc-line table, read from the ELF file.
 *
 * The layout is the one runtime/symtab.go and debug/gosym read: a header
 * (magic, pc quantum, pointer size, counts and offsets of the sub-tables),
 * a function table of (entry, offset of _func) pairs sorted by entry and
 * ended by the end of the text, and per function a _func record whose
 * pcfile, pcln and pcdata[] fields are offsets of pc-value tables: pairs
 * of varints (zig-zag value delta, pc delta in quanta) that say which
 * value holds up to which pc. */
#include "config.h"

#include "gopclntab.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define GO116_MAGIC 0xfffffffau
#define GO118_MAGIC 0xfffffff0u
#define GO120_MAGIC 0xfffffff1u

#define PCDATA_INLTREEINDEX 2
#define FUNCDATA_INLTREE 3

/* moduledata's gofunc field, in pointer-sized words from its start. */
#define MODULEDATA_GOFUNC_118 38
#define MODULEDATA_GOFUNC_120 40 /* covctrs and ecovctrs came before it */
#define MODULEDATA_TEXT 22

/* The inline tree of one function is bounded by no count in the file; a
 * chain longer than this is taken as damage. */
#define MAX_INLINE_DEPTH 64

struct segment {
	uint64_t vaddr, filesz, offset;
	bool writable;
};

struct gopclntab {
	int fd;
	Elf *elf;
	const uint8_t *file;
	size_t file_size;
	struct segment *segs;
	size_t nsegs;

	const uint8_t *tab; /* the table, inside file */
	size_t tab_size;
	uint64_t tab_vaddr;
	int version; /* 116, 118 or 120 */
	unsigned ptrsize, quantum;
	uint64_t nfunc, text;
	/* Offsets inside tab. */
	uint64_t funcnametab, cutab, filetab, pctab, pclntable;
	uint64_t gofunc; /* 0 when moduledata was not found */
};

/* Bounded reads from the table. */
static bool
tab_u32(const struct gopclntab *t, uint64_t off, uint32_t *v)
{
	if (off > t->tab_size || t->tab_size - off < 4)
		return false;
	memcpy(v, t->tab + off, 4);
	return true;
}

static bool
read_word(const uint8_t *p, size_t avail, unsigned ptrsize, uint64_t *v)
{
	if (avail < ptrsize)
		return false;
	if (ptrsize == 8) {
		memcpy(v, p, 8);
	} else {
		uint32_t w;

		memcpy(&w, p, 4);
		*v = w;
	}
	return true;
}

static bool
tab_word(const struct gopclntab *t, uint64_t off, uint64_t *v)
{
	if (off > t->tab_size)
		return false;
	return read_word(t->tab + off, t->tab_size - off, t->ptrsize, v);
}

/* A NUL-terminated string at off, or NULL when it runs off the table. */
static const char *
tab_string(const struct gopclntab *t, uint64_t off)
{
	if (off >= t->tab_size || memchr(t->tab + off, 0, t->tab_size - off) == NULL)
		return NULL;
	return (const char *)t->tab + off;
}

/* n bytes of the file at a virtual address, or NULL. */
static const uint8_t *
at_vaddr(const struct gopclntab *t, uint64_t vaddr, uint64_t n)
{
	for (size_t i = 0; i < t->nsegs; i++) {
		const struct segment *s = &t->segs[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr <= s->filesz &&
		    s->filesz - (vaddr - s->vaddr) >= n)
			return t->file + s->offset + (vaddr - s->vaddr);
	}
	return NULL;
}

static bool
read_segments(struct gopclntab *t)
{
	size_t phnum;

	if (elf_getphdrnum(t->elf, &phnum) != 0)
		return false;
	t->segs = xcalloc(phnum + 1, sizeof *t->segs);
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(t->elf, (int)i, &ph) == NULL || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > t->file_size || t->file_size - ph.p_offset < ph.p_filesz)
			continue;
		t->segs[t->nsegs].vaddr = ph.p_vaddr;
		t->segs[t->nsegs].filesz = ph.p_filesz;
		t->segs[t->nsegs].offset = ph.p_offset;
		t->segs[t->nsegs].writable = (ph.p_flags & PF_W) != 0;
		t->nsegs++;
	}
	return t->nsegs > 0;
}

/* Parse the header at t->tab; false when it is no table of a known
 * layout or its offsets do not fit. */
static bool
parse_header(struct gopclntab *t, uint64_t text_section)
{
	uint32_t magic;
	uint64_t w[8];
	unsigned nw;

	if (t->tab_size < 16)
		return false;
	memcpy(&magic, t->tab, 4);
	if (t->tab[4] != 0 || t->tab[5] != 0)
		return false;
	t->quantum = t->tab[6];
	t->ptrsize = t->tab[7];
	if ((t->quantum != 1 && t->quantum != 2 && t->quantum != 4) ||
	    (t->ptrsize != 4 && t->ptrsize != 8))
		return false;
	switch (magic) {
	case GO116_MAGIC:
		t->version = 116;
		nw = 7;
		break;
	case GO118_MAGIC:
		t->version = 118;
		nw = 8;
		break;
	case GO120_MAGIC:
		t->version = 120;
		nw = 8;
		break;
	default:
		return false;
	}
	for (unsigned i = 0; i < nw; i++)
		if (!tab_word(t, 8 + (uint64_t)i * t->ptrsize, &w[i]))
			return false;
	t->nfunc = w[0];
	if (t->version == 116) {
		t->text = 0;
		t->funcnametab = w[2];
		t->cutab = w[3];
		t->filetab = w[4];
		t->pctab = w[5];
		t->pclntable = w[6];
	} else {
		/* A position-independent executable has textStart relocated at
		 * run time (0 in the file): the text section says it too. */
		t->text = w[2] != 0 ? w[2] : text_section;
		if (t->text == 0)
			return false;
		t->funcnametab = w[3];
		t->cutab = w[4];
		t->filetab = w[5];
		t->pctab = w[6];
		t->pclntable = w[7];
	}
	{
		uint64_t field = t->version == 116 ? t->ptrsize : 4;
		uint64_t ftab_size = (t->nfunc * 2 + 1) * field;

		if (t->nfunc == 0 || t->nfunc > t->tab_size || t->pclntable > t->tab_size ||
		    t->tab_size - t->pclntable < ftab_size || t->funcnametab >= t->tab_size ||
		    t->cutab >= t->tab_size || t->filetab >= t->tab_size || t->pctab >= t->tab_size)
			return false;
	}
	return true;
}

/* The table by its section, or, when the file has no section headers,
 * by a valid header in a read-only segment. */
static bool
find_table(struct gopclntab *t)
{
	size_t shstrndx, shnum = 0;
	uint64_t text_section = 0;
	Elf_Scn *scn = NULL;

	if (elf_getshdrnum(t->elf, &shnum) == 0 && shnum > 0 &&
	    elf_getshdrstrndx(t->elf, &shstrndx) == 0) {
		GElf_Shdr sh, found = {0};
		bool have = false;

		while ((scn = elf_nextscn(t->elf, scn)) != NULL) {
			const char *name;

			if (gelf_getshdr(scn, &sh) == NULL)
				continue;
			name = elf_strptr(t->elf, shstrndx, sh.sh_name);
			if (name == NULL)
				continue;
			if (strcmp(name, ".text") == 0)
				text_section = sh.sh_addr;
			/* .data.rel.ro.gopclntab: the same table in a PIE built
			 * by the external linker. */
			if (strcmp(name, ".gopclntab") == 0 ||
			    strcmp(name, ".data.rel.ro.gopclntab") == 0) {
				found = sh;
				have = true;
			}
		}
		if (!have || found.sh_type == SHT_NOBITS || found.sh_offset > t->file_size ||
		    t->file_size - found.sh_offset < found.sh_size)
			return false;
		t->tab = t->file + found.sh_offset;
		t->tab_size = found.sh_size;
		t->tab_vaddr = found.sh_addr;
		return parse_header(t, text_section);
	}
	for (size_t i = 0; i < t->nsegs; i++) {
		const struct segment *s = &t->segs[i];

		if (s->writable)
			continue;
		for (uint64_t off = 0; off + 16 <= s->filesz; off += 4) {
			const uint8_t *p = t->file + s->offset + off;
			uint32_t magic;

			memcpy(&magic, p, 4);
			if (magic != GO116_MAGIC && magic != GO118_MAGIC && magic != GO120_MAGIC)
				continue;
			t->tab = p;
			t->tab_size = s->filesz - off;
			t->tab_vaddr = s->vaddr + off;
			if (parse_header(t, 0))
				return true;
		}
	}
	return false;
}

/* moduledata holds a pointer to the table, then the funcnametab slice:
 * find it in the writable segments, for its gofunc field (the base of
 * every funcdata offset from Go 1.18 on). */
static void
find_moduledata(struct gopclntab *t)
{
	unsigned ps = t->ptrsize;
	unsigned gofunc_word = t->version >= 120 ? MODULEDATA_GOFUNC_120 : MODULEDATA_GOFUNC_118;
	uint64_t need = (uint64_t)(gofunc_word + 1) * ps;

	for (size_t i = 0; i < t->nsegs; i++) {
		const struct segment *s = &t->segs[i];
		const uint8_t *base = t->file + s->offset;

		if (!s->writable || s->filesz < need)
			continue;
		for (uint64_t off = 0; off + need <= s->filesz; off += ps) {
			uint64_t v, names, text, gofunc;

			read_word(base + off, ps, ps, &v);
			if (v != t->tab_vaddr)
				continue;
			read_word(base + off + ps, ps, ps, &names);
			read_word(base + off + (uint64_t)MODULEDATA_TEXT * ps, ps, ps, &text);
			if (names != t->tab_vaddr + t->funcnametab || text != t->text)
				continue;
			read_word(base + off + (uint64_t)gofunc_word * ps, ps, ps, &gofunc);
			t->gofunc = gofunc;
			return;
		}
	}
}

struct gopclntab *
gopclntab_open(const char *path, char **cause)
{
	struct gopclntab *t = xcalloc(1, sizeof *t);
	size_t size;
	char *raw;

	t->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0) {
		set_cause(cause, "cannot open %s: %s", path, strerror(errno));
		free(t);
		return NULL;
	}
	elf_version(EV_CURRENT);
	t->elf = elf_begin(t->fd, ELF_C_READ_MMAP, NULL);
	if (t->elf == NULL || elf_kind(t->elf) != ELF_K_ELF)
		goto none;
	raw = elf_rawfile(t->elf, &size);
	if (raw == NULL)
		goto none;
	t->file = (const uint8_t *)raw;
	t->file_size = size;
	if (!read_segments(t) || !find_table(t))
		goto none;
	if (t->version >= 118)
		find_moduledata(t);
	return t;
none:
	gopclntab_free(t);
	return NULL;
}

void
gopclntab_free(struct gopclntab *t)
{
	if (t == NULL)
		return;
	if (t->elf != NULL)
		elf_end(t->elf);
	if (t->fd >= 0)
		close(t->fd);
	free(t->segs);
	free(t);
}

const char *
gopclntab_version(const struct gopclntab *t)
{
	return t->version == 116 ? "1.16" : t->version == 118 ? "1.18" : "1.20";
}

/* Entry i of the function table: its pc and the offset of its _func. */
static bool
ftab_entry(const struct gopclntab *t, uint64_t i, uint64_t *pc, uint64_t *funcoff)
{
	if (t->version == 116) {
		uint64_t off = t->pclntable + i * 2 * t->ptrsize;

		return tab_word(t, off, pc) &&
		       (funcoff == NULL || tab_word(t, off + t->ptrsize, funcoff));
	} else {
		uint64_t off = t->pclntable + i * 8;
		uint32_t e, f;

		if (!tab_u32(t, off, &e) || (funcoff != NULL && !tab_u32(t, off + 4, &f)))
			return false;
		*pc = t->text + e;
		if (funcoff != NULL)
			*funcoff = f;
		return true;
	}
}

struct func {
	uint64_t entry;
	int32_t nameoff;
	uint32_t pcfile, pcln, npcdata, cuoffset;
	uint8_t nfuncdata;
	uint64_t pcdata; /* offset in tab of pcdata[0] */
};

static bool
read_func(const struct gopclntab *t, uint64_t off, struct func *f)
{
	uint64_t sz0 = t->version == 116 ? t->ptrsize : 4;
	uint64_t fixed = sz0 + (t->version >= 120 ? 40 : 36);
	uint32_t v = 0;

	memset(f, 0, sizeof *f);
	if (off > t->tab_size || t->tab_size - off < fixed)
		return false;
	if (t->version == 116) {
		tab_word(t, off, &f->entry);
	} else {
		tab_u32(t, off, &v);
		f->entry = t->text + v;
	}
	tab_u32(t, off + sz0, &v);
	f->nameoff = (int32_t)v;
	tab_u32(t, off + sz0 + 4 * 4, &f->pcfile);
	tab_u32(t, off + sz0 + 5 * 4, &f->pcln);
	tab_u32(t, off + sz0 + 6 * 4, &f->npcdata);
	tab_u32(t, off + sz0 + 7 * 4, &f->cuoffset);
	f->nfuncdata = t->tab[off + fixed - 1];
	f->pcdata = off + fixed;
	return f->npcdata <= 64 && t->tab_size - f->pcdata >= (uint64_t)f->npcdata * 4;
}

static bool
read_varint(const struct gopclntab *t, uint64_t *p, uint32_t *v)
{
	uint32_t r = 0;

	for (unsigned shift = 0; shift < 35; shift += 7) {
		uint8_t b;

		if (*p >= t->tab_size)
			return false;
		b = t->tab[(*p)++];
		r |= (uint32_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*v = r;
			return true;
		}
	}
	return false;
}

/* The value a pc-value table (at off in pctab) holds at target; -1 when
 * there is no table or it does not cover target. */
static int32_t
pcvalue(const struct gopclntab *t, const struct func *f, uint32_t off, uint64_t target)
{
	uint64_t p, pc = f->entry;
	int32_t val = -1;
	bool first = true;

	if (off == 0 || off >= t->tab_size - t->pctab)
		return -1;
	p = t->pctab + off;
	for (;;) {
		uint32_t uv, pcdelta;

		if (!read_varint(t, &p, &uv) || (uv == 0 && !first))
			return -1;
		val += (int32_t)(-(uv & 1) ^ (uv >> 1));
		if (!read_varint(t, &p, &pcdelta))
			return -1;
		pc += (uint64_t)pcdelta * t->quantum;
		if (target < pc)
			return val;
		first = false;
	}
}

static const char *
func_name(const struct gopclntab *t, int32_t nameoff)
{
	if (nameoff < 0)
		return NULL;
	return tab_string(t, t->funcnametab + (uint64_t)nameoff);
}

static void
file_line(const struct gopclntab *t, const struct func *f, uint64_t pc, struct gopclntab_frame *out)
{
	int32_t fileno = pcvalue(t, f, f->pcfile, pc);
	int32_t line = pcvalue(t, f, f->pcln, pc);
	uint32_t fileoff;

	out->file = NULL;
	out->line = line > 0 ? line : 0;
	if (fileno < 0 ||
	    !tab_u32(t, t->cutab + ((uint64_t)f->cuoffset + (uint64_t)fileno) * 4, &fileoff) ||
	    fileoff == UINT32_MAX)
		return;
	out->file = tab_string(t, t->filetab + fileoff);
}

/* The function's inline tree in the file, or NULL. */
static const uint8_t *
inline_tree(const struct gopclntab *t, const struct func *f, size_t recsize, uint64_t *avail)
{
	uint64_t at = f->pcdata + (uint64_t)f->npcdata * 4, addr;
	const uint8_t *p;
	uint32_t off;

	if (f->nfuncdata <= FUNCDATA_INLTREE || f->npcdata <= PCDATA_INLTREEINDEX)
		return NULL;
	if (t->version == 116) {
		/* Pointers, aligned as the runtime sees them. */
		if (t->ptrsize == 8 && ((t->tab_vaddr + at) & 4) != 0)
			at += 4;
		if (!tab_word(t, at + (uint64_t)FUNCDATA_INLTREE * t->ptrsize, &addr) || addr == 0)
			return NULL;
	} else {
		if (t->gofunc == 0 || !tab_u32(t, at + FUNCDATA_INLTREE * 4, &off) ||
		    off == UINT32_MAX)
			return NULL;
		addr = t->gofunc + off;
	}
	p = at_vaddr(t, addr, recsize);
	if (p == NULL)
		return NULL;
	/* How much of the segment follows: the tree has no count. */
	for (size_t i = 0; i < t->nsegs; i++) {
		const struct segment *s = &t->segs[i];

		if (addr >= s->vaddr && addr - s->vaddr < s->filesz)
			*avail = s->filesz - (addr - s->vaddr);
	}
	return p;
}

size_t
gopclntab_lookup(const struct gopclntab *t, uint64_t pc, struct gopclntab_frame *frames, size_t max)
{
	uint64_t lo = 0, hi = t->nfunc, first, last, funcoff, cur = pc, avail = 0;
	size_t recsize = t->version >= 120 ? 16 : 20, n = 0;
	const uint8_t *tree;
	struct func f;

	if (max == 0 || !ftab_entry(t, 0, &first, NULL) || !ftab_entry(t, t->nfunc, &last, NULL) ||
	    pc < first || pc >= last)
		return 0;
	/* The last entry whose pc is at or below pc. */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2, e;

		if (!ftab_entry(t, mid, &e, NULL))
			return 0;
		if (e <= pc)
			lo = mid;
		else
			hi = mid;
	}
	if (!ftab_entry(t, lo, &first, &funcoff) || !read_func(t, t->pclntable + funcoff, &f) ||
	    f.entry > pc)
		return 0;

	tree = inline_tree(t, &f, recsize, &avail);
	if (tree != NULL) {
		uint32_t inloff = 0;

		if (!tab_u32(t, f.pcdata + PCDATA_INLTREEINDEX * 4, &inloff))
			inloff = 0;
		for (int depth = 0; n + 1 < max && depth < MAX_INLINE_DEPTH; depth++) {
			int32_t ix = pcvalue(t, &f, inloff, cur), nameoff, parentpc;
			const uint8_t *rec;

			if (ix < 0 || (uint64_t)ix >= avail / recsize)
				break;
			rec = tree + (size_t)ix * recsize;
			if (t->version >= 120) {
				memcpy(&nameoff, rec + 4, 4);
				memcpy(&parentpc, rec + 8, 4);
			} else {
				memcpy(&nameoff, rec + 12, 4);
				memcpy(&parentpc, rec + 16, 4);
			}
			frames[n].function = func_name(t, nameoff);
			file_line(t, &f, cur, &frames[n]);
			n++;
			if (parentpc < 0)
				break;
			cur = f.entry + (uint64_t)parentpc;
		}
	}
	frames[n].function = func_name(t, f.nameoff);
	file_line(t, &f, cur, &frames[n]);
	return n + 1;
}
