/* names.c: demangling, DWARF scope names, glibc aliases, PLT stubs and
 * display shortening for function names. */
#include "config.h"

#include "names.h"

#include <dwarf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "util.h"

/* libiberty's demangler, gdb's and binutils' (libiberty/demangle.h, not
 * included: it brings libiberty.h, whose ARRAY_SIZE and xmalloc family
 * are util.h's too). */
#define DMGL_PARAMS (1 << 0)
#define DMGL_ANSI (1 << 1)
extern char *cplus_demangle_v3(const char *mangled, int options);
extern char *rust_demangle(const char *mangled, int options);

#define MAX_DEPTH 32

/* A growing string. */
struct buf {
	char *s;
	size_t n, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	GROW(b->s, b->cap, b->n + n + 1);
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

char *
names_demangle(const char *name)
{
	char *d;

	if (name == NULL)
		return NULL;
	/* Rust first: legacy Rust symbols are valid C++ manglings too, which
	 * the C++ demangler would print with their hash ("::h0123...") and
	 * $LT$-style escapes. libiberty hides the hash and .llvm.N suffixes
	 * unless asked for DMGL_VERBOSE. */
	if (name[0] == '_' && (name[1] == 'R' || name[1] == 'Z')) {
		d = rust_demangle(name, DMGL_PARAMS | DMGL_ANSI);
		if (d != NULL)
			return d;
	}
	if (name[0] == '_' && name[1] == 'Z') {
		d = cplus_demangle_v3(name, DMGL_PARAMS | DMGL_ANSI);
		if (d != NULL)
			return d;
	}
	/* glibc's hidden aliases for its internal calls (hidden_proto):
	 * __GI_x is x. */
	if (strncmp(name, "__GI_", 5) == 0 && name[5] != '\0')
		name += 5;
	/* Go's ABI wrappers (assembly functions called from Go code and back)
	 * are the function itself as far as a reader is concerned. */
	if (ends_with(name, ".abi0") && strlen(name) > 5) {
		d = xstrdup(name);
		d[strlen(d) - 5] = '\0';
		return d;
	}
	return xstrdup(name);
}

/* DWARF scopes. libdw gives no parent of a DIE; the parents of the DIEs
 * in one compile unit are found in one walk and kept, by the unit, for the
 * process's lifetime (Rust's compile units run to hundreds of thousands of
 * DIEs: a walk per name would cost milliseconds). */
struct cu_parents {
	Dwarf *dbg;
	Dwarf_Off cu;
	struct hashmap parent; /* DIE offset -> parent's offset + 1 */
	struct cu_parents *next;
};

static pthread_mutex_t scopes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap scopes; /* hash of (dbg, cu) -> struct cu_parents * chain */

static bool
has_scopes(int tag)
{
	switch (tag) {
	case DW_TAG_compile_unit:
	case DW_TAG_partial_unit:
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_enumeration_type:
	case DW_TAG_subprogram:
	case DW_TAG_lexical_block:
		return true;
	default:
		return false;
	}
}

static void
walk_parents(struct hashmap *map, Dwarf_Die *die, int depth)
{
	Dwarf_Die child;
	Dwarf_Off off = dwarf_dieoffset(die);

	if (depth > MAX_DEPTH || dwarf_child(die, &child) != 0)
		return;
	do {
		hashmap_put(map, dwarf_dieoffset(&child), (void *)(uintptr_t)(off + 1));
		if (has_scopes(dwarf_tag(&child)))
			walk_parents(map, &child, depth + 1);
	} while (dwarf_siblingof(&child, &child) == 0);
}

/* The parent of die in its unit, or false at the top. Takes scopes_lock. */
static bool
die_parent(Dwarf_Die *die, Dwarf_Die *parent)
{
	Dwarf_Die cudie;
	Dwarf *dbg;
	struct cu_parents *c, *head;
	uint64_t key;
	uintptr_t p;

	if (dwarf_diecu(die, &cudie, NULL, NULL) == NULL)
		return false;
	dbg = dwarf_cu_getdwarf(cudie.cu);
	key = hash_mix((uint64_t)(uintptr_t)dbg ^ hash_mix(dwarf_dieoffset(&cudie)));
	pthread_mutex_lock(&scopes_lock);
	head = hashmap_get(&scopes, key);
	for (c = head; c != NULL; c = c->next)
		if (c->dbg == dbg && c->cu == dwarf_dieoffset(&cudie))
			break;
	if (c == NULL) {
		c = xcalloc(1, sizeof *c);
		c->dbg = dbg;
		c->cu = dwarf_dieoffset(&cudie);
		hashmap_init(&c->parent);
		walk_parents(&c->parent, &cudie, 0);
		c->next = head;
		hashmap_put(&scopes, key, c);
	}
	p = (uintptr_t)hashmap_get(&c->parent, dwarf_dieoffset(die));
	pthread_mutex_unlock(&scopes_lock);
	if (p == 0)
		return false;
	/* Type units and split units aside, a parent lies in the same unit:
	 * dwarf_offdie for .debug_info, dwarf_offdie_types would be for
	 * .debug_types, which holds no functions. */
	return dwarf_offdie(dbg, p - 1, parent) != NULL &&
	       dwarf_tag(parent) != DW_TAG_compile_unit && dwarf_tag(parent) != DW_TAG_partial_unit;
}

void
names_flush(void)
{
	struct cu_parents *c, *next;
	size_t it;

	pthread_mutex_lock(&scopes_lock);
	for (it = 0; hashmap_next(&scopes, &it, NULL, (void **)&c);)
		for (; c != NULL; c = next) {
			next = c->next;
			hashmap_release(&c->parent);
			free(c);
		}
	hashmap_release(&scopes);
	hashmap_init(&scopes);
	pthread_mutex_unlock(&scopes_lock);
}

static int
die_lang(Dwarf_Die *die)
{
	Dwarf_Die cudie;

	if (dwarf_diecu(die, &cudie, NULL, NULL) == NULL)
		return -1;
	return dwarf_srclang(&cudie);
}

static bool
lang_is_cxx(int lang)
{
	return lang == DW_LANG_C_plus_plus || lang == DW_LANG_C_plus_plus_03 ||
	       lang == DW_LANG_C_plus_plus_11 || lang == DW_LANG_C_plus_plus_14 ||
	       lang == DW_LANG_ObjC_plus_plus;
}

/* The DIE that declares die: through DW_AT_abstract_origin (an inlined or
 * out-of-line instance) and DW_AT_specification (a definition outside its
 * class), to where it sits among its scopes. */
static void
declaration_of(Dwarf_Die *die, Dwarf_Die *decl)
{
	Dwarf_Attribute attr;
	Dwarf_Die next;

	*decl = *die;
	for (int i = 0; i < 8; i++) {
		if (dwarf_attr(decl, DW_AT_abstract_origin, &attr) == NULL &&
		    dwarf_attr(decl, DW_AT_specification, &attr) == NULL)
			return;
		if (dwarf_formref_die(&attr, &next) == NULL)
			return;
		*decl = next;
	}
}

static void scope_prefix(struct buf *b, Dwarf_Die *die, int depth);
static char *die_name(Dwarf_Die *die, int depth);

/* A type's name as gdb prints it in Rust generic arguments: structures,
 * unions and enumerations qualified by their scopes; others (base types,
 * and the references, pointers and tuples rustc names whole) as named. */
static void
type_name(struct buf *b, Dwarf_Die *type, int depth)
{
	const char *name = dwarf_diename(type);
	int tag = dwarf_tag(type);

	if (name == NULL) {
		buf_str(b, "?");
		return;
	}
	if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type ||
	    tag == DW_TAG_enumeration_type || tag == DW_TAG_class_type)
		scope_prefix(b, type, depth + 1);
	buf_str(b, name);
}

static bool
is_call_operator(Dwarf_Die *die)
{
	const char *name = dwarf_diename(die);

	return name != NULL && strcmp(name, "operator()") == 0;
}

/* Has the function declared by die parameters besides this? */
static bool
has_parameters(Dwarf_Die *die)
{
	Dwarf_Die child;
	Dwarf_Attribute attr;
	bool artificial;

	if (dwarf_child(die, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) != DW_TAG_formal_parameter)
			continue;
		artificial = false;
		if (dwarf_attr(&child, DW_AT_artificial, &attr) != NULL)
			dwarf_formflag(&attr, &artificial);
		if (!artificial)
			return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/* "a::b::" for the scopes around die (its declaration). */
static void
scope_prefix(struct buf *b, Dwarf_Die *die, int depth)
{
	Dwarf_Die chain[MAX_DEPTH], cur = *die;
	size_t start = b->n;
	int n = 0;

	if (depth > 4)
		return;
	while (n < MAX_DEPTH && die_parent(&cur, &chain[n]))
		cur = chain[n++];
	while (n-- > 0) {
		Dwarf_Die *s = &chain[n];
		const char *name = dwarf_diename(s);
		char *fn;

		switch (dwarf_tag(s)) {
		case DW_TAG_namespace:
			buf_str(b, name != NULL ? name : "(anonymous namespace)");
			break;
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_enumeration_type:
			/* gcc leaves a lambda's class unnamed; its type names
			 * call it <lambda(PARAMETERS)>. */
			if (name == NULL && n == 0 && is_call_operator(die))
				buf_str(b, has_parameters(die) ? "<lambda(\xe2\x80\xa6)>" : "<lambda()>");
			else if (name != NULL)
				buf_str(b, name);
			else
				continue;
			break;
		case DW_TAG_subprogram:
			/* A lambda's class, a local class: named after the
			 * function around it, as gcc's own type names are
			 * ("main(int, char**)::<lambda()>", in as far as the
			 * function's linkage name gives its parameters). That
			 * name is qualified already. */
			fn = die_name(s, depth + 1);
			if (fn == NULL)
				continue;
			b->n = start;
			buf_str(b, fn);
			free(fn);
			break;
		default:
			continue;
		}
		buf_str(b, "::");
	}
}

/* Rust: "<A, B>" from the generic parameters of the first DIE on the way
 * from die to its declaration that has any. */
static void
generic_args(struct buf *b, Dwarf_Die *die, int depth)
{
	Dwarf_Attribute attr;
	Dwarf_Die cur = *die, child, type;
	int n = 0;

	for (int i = 0; i < 8 && n == 0; i++) {
		if (dwarf_child(&cur, &child) == 0) {
			do {
				int tag = dwarf_tag(&child);

				if (tag != DW_TAG_template_type_parameter)
					continue;
				buf_str(b, n++ == 0 ? "<" : ", ");
				if (dwarf_formref_die(dwarf_attr(&child, DW_AT_type, &attr), &type) != NULL)
					type_name(b, &type, depth);
				else
					buf_str(b, "()");
			} while (dwarf_siblingof(&child, &child) == 0);
		}
		if (dwarf_attr(&cur, DW_AT_abstract_origin, &attr) == NULL &&
		    dwarf_attr(&cur, DW_AT_specification, &attr) == NULL)
			break;
		if (dwarf_formref_die(&attr, &cur) == NULL)
			break;
	}
	if (n > 0)
		buf_str(b, ">");
}

static char *
die_name(Dwarf_Die *die, int depth)
{
	Dwarf_Attribute attr;
	Dwarf_Die decl;
	const char *name;
	struct buf b = { 0 };
	int lang = die_lang(die);

	/* gdb names Rust functions from DWARF, never from their linkage
	 * names (which carry a hash); C and C++ by the linkage name when
	 * there is one (glibc's asm-renamed functions keep their internal
	 * names here, handled by names_public). */
	if (lang != DW_LANG_Rust) {
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
		if (name == NULL)
			name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
		if (name != NULL)
			return names_demangle(name);
	}
	name = dwarf_diename(die);
	if (name == NULL)
		return NULL;
	if (lang != DW_LANG_Rust && !lang_is_cxx(lang))
		return xstrdup(name);
	declaration_of(die, &decl);
	scope_prefix(&b, &decl, depth);
	buf_str(&b, name);
	if (lang == DW_LANG_Rust && strchr(name, '<') == NULL)
		generic_args(&b, die, depth);
	return b.s;
}

char *
names_die(Dwarf_Die *die)
{
	return die_name(die, 0);
}

/* Leading underscores, the measure of how internal a name is. */
static size_t
underscores(const char *s)
{
	size_t n = 0;

	while (s[n] == '_')
		n++;
	return n;
}

static Elf_Scn *
section_of_type(Elf *elf, GElf_Word type, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)) != NULL)
		if (gelf_getshdr(scn, shdr) != NULL && shdr->sh_type == type)
			return scn;
	return NULL;
}

char *
names_public(Elf *elf, GElf_Addr addr, GElf_Xword size)
{
	const char *best = NULL;
	GElf_Shdr shdr;
	Elf_Data *data;
	Elf_Scn *scn;
	size_t n;

	if (elf == NULL || (scn = section_of_type(elf, SHT_DYNSYM, &shdr)) == NULL ||
	    (data = elf_getdata(scn, NULL)) == NULL || shdr.sh_entsize == 0)
		return NULL;
	n = shdr.sh_size / shdr.sh_entsize;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym s;
		const char *name;
		int bind, type;

		if (gelf_getsym(data, (int)i, &s) == NULL || s.st_value != addr ||
		    s.st_shndx == SHN_UNDEF || (size != 0 && s.st_size != size))
			continue;
		bind = GELF_ST_BIND(s.st_info);
		type = GELF_ST_TYPE(s.st_info);
		if ((bind != STB_GLOBAL && bind != STB_WEAK) ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC) ||
		    GELF_ST_VISIBILITY(s.st_other) != STV_DEFAULT)
			continue;
		name = elf_strptr(elf, shdr.sh_link, s.st_name);
		if (name == NULL || name[0] == '\0')
			continue;
		if (best == NULL || underscores(name) < underscores(best) ||
		    (underscores(name) == underscores(best) && strlen(name) < strlen(best)))
			best = name;
	}
	return best != NULL ? xstrdup(best) : NULL;
}

/* The dynamic symbol a relocation at slot (a GOT entry) binds, or NULL. */
static const char *
slot_symbol(Elf *elf, GElf_Addr slot)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr, symshdr;

	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		Elf_Data *data, *symdata;
		Elf_Scn *symscn;
		size_t n;

		if (gelf_getshdr(scn, &shdr) == NULL || shdr.sh_type != SHT_RELA ||
		    shdr.sh_entsize == 0 || (data = elf_getdata(scn, NULL)) == NULL ||
		    (symscn = elf_getscn(elf, shdr.sh_link)) == NULL ||
		    gelf_getshdr(symscn, &symshdr) == NULL ||
		    (symdata = elf_getdata(symscn, NULL)) == NULL)
			continue;
		n = shdr.sh_size / shdr.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Rela r;
			GElf_Sym s;
			unsigned type;

			if (gelf_getrela(data, (int)i, &r) == NULL || r.r_offset != slot)
				continue;
			type = (unsigned)GELF_R_TYPE(r.r_info);
			if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) ||
			    GELF_R_SYM(r.r_info) == 0 ||
			    gelf_getsym(symdata, (int)GELF_R_SYM(r.r_info), &s) == NULL)
				continue;
			return elf_strptr(elf, symshdr.sh_link, s.st_name);
		}
	}
	return NULL;
}

char *
names_plt(Elf *elf, GElf_Addr addr)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	size_t shstrndx;

	if (elf == NULL || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		const unsigned char *p;
		const char *sname, *target;
		GElf_Addr entry, entsize;
		Elf_Data *data;

		if (gelf_getshdr(scn, &shdr) == NULL || shdr.sh_type != SHT_PROGBITS ||
		    addr < shdr.sh_addr || addr >= shdr.sh_addr + shdr.sh_size)
			continue;
		sname = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (sname == NULL || (strcmp(sname, ".plt") != 0 && strcmp(sname, ".plt.sec") != 0 &&
				      strcmp(sname, ".plt.got") != 0))
			return NULL;
		/* Every entry (lazy .plt, -z now, IBT's .plt.sec, .plt.got) holds
		 * one indirect jump through its GOT slot: jmp *disp(%rip), ff 25,
		 * perhaps after endbr64 and a bnd prefix. A lazy IBT .plt entry
		 * (endbr64, push, jmp to PLT0) has none and stays unnamed, as
		 * does PLT0. */
		entsize = shdr.sh_entsize >= 8 ? shdr.sh_entsize : 16;
		entry = shdr.sh_addr + (addr - shdr.sh_addr) / entsize * entsize;
		data = elf_getdata(scn, NULL);
		if (data == NULL || data->d_buf == NULL || entry - shdr.sh_addr + entsize > data->d_size)
			return NULL;
		p = (const unsigned char *)data->d_buf + (entry - shdr.sh_addr);
		for (GElf_Addr i = 0; i + 6 <= entsize; i++) {
			int32_t disp;

			if (p[i] != 0xff || p[i + 1] != 0x25)
				continue;
			memcpy(&disp, p + i + 2, sizeof disp);
			target = slot_symbol(elf, entry + i + 6 + (GElf_Addr)(int64_t)disp);
			return target != NULL && target[0] != '\0' ? xasprintf("%s@plt", target) : NULL;
		}
		return NULL;
	}
	return NULL;
}

/* Where the argument list opened at s[0] == '<' closes (the index of its
 * '>'), or 0 when it does not. */
static size_t
closing(const char *s)
{
	int depth = 0;

	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] == '<')
			depth++;
		else if (s[i] == '>' && i > 0 && s[i - 1] == '-')
			continue; /* "->" in a function type */
		else if (s[i] == '>' && --depth == 0)
			return i;
	}
	return 0;
}

/* Is the '<' at name[i] an argument list? Not in operator<, operator<<,
 * operator<=; not a name of its own like gcc's "<lambda()>" or Rust's
 * "<impl Trait for T>" and "<T as Trait>", which begin a scope. */
static bool
opens_arguments(const char *name, size_t i)
{
	if (i == 0 || name[i - 1] == ':' || name[i - 1] == ' ' || name[i - 1] == '(' ||
	    name[i - 1] == ',')
		return false;
	if (i >= 8 && strncmp(name + i - 8, "operator", 8) == 0)
		return false;
	if (i >= 9 && strncmp(name + i - 9, "operator<", 9) == 0)
		return false;
	return true;
}

const char *
names_short(const char *name, size_t width, char *buf, size_t len)
{
	static const char dots[] = "<\xe2\x80\xa6>"; /* <…> */
	size_t o = 0;

	if (name == NULL || strlen(name) <= width || len < sizeof dots)
		return name;
	for (size_t i = 0; name[i] != '\0';) {
		size_t end;

		if (name[i] == '<' && opens_arguments(name, i) && (end = closing(name + i)) > 0) {
			if (o + sizeof dots > len)
				break;
			memcpy(buf + o, dots, sizeof dots - 1);
			o += sizeof dots - 1;
			i += end + 1;
			continue;
		}
		if (o + 1 >= len)
			break;
		buf[o++] = name[i++];
	}
	buf[o] = '\0';
	return buf;
}
