/* tailcall.c: tail-call frames from DWARF call-site information.
 *
 * Functions are known by their entry address in the process. For each one
 * the DWARF of its concrete (out-of-line) body gives its calls: where each
 * returns to, whether it is a tail call, and what it calls. A search starts
 * at what the caller's call calls, follows tail calls only, and must end at
 * the function the unwinder found inside the caller, along one chain and no
 * other. */
#include "config.h"

#include "tailcall.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "symbols.h"
#include "util.h"

/* Functions one search may visit: past this, nothing is shown. */
#define MAX_NODES 128

struct addrs {
	size_t n, cap;
	uint64_t *a;
};

/* One call in a function. */
struct site {
	uint64_t pc;     /* lookup pc: the return address - 1 */
	bool tail;       /* a jump: DW_AT_call_tail_call */
	bool known;      /* its target is described (addresses or names) */
	struct addrs to; /* entries it may call (several: clones of one function) */
	char *names[2];  /* a declaration: linkage name and name, for symbol tables */
};

/* What the DWARF of one function says about its calls. */
struct func {
	bool described;     /* a DWARF function starts at this entry */
	bool all_calls;     /* it describes every call it makes */
	uint64_t mod_start; /* its module's load address */
	size_t n, cap;
	struct site *sites;
};

struct result {
	uint64_t caller, entry;
	size_t n;
	uint64_t *pcs;
	struct result *next; /* same hash */
};

/* A module's function symbols by name. */
struct namemap {
	struct strset names;
	struct addrs *addrs; /* by name id */
	size_t cap;
};

struct tailcall {
	struct symbols *sym;
	struct hashmap entries;  /* pc -> its function's entry, 1: none */
	struct hashmap funcs;    /* entry -> struct func * */
	struct hashmap results;  /* hash of (caller, entry) -> struct result * */
	struct hashmap namemaps; /* module start -> struct namemap * */
	unsigned long hits, misses;
};

/* One search: functions reached by tail calls, and the calls between. */
struct edge {
	size_t from, to;
	uint64_t pc;
};

struct graph {
	uint64_t nodes[MAX_NODES];
	size_t n;
	struct edge *edges;
	size_t n_edges, cap_edges;
	bool reach[MAX_NODES]; /* the node leads to the target */
	int paths[MAX_NODES];  /* walks from the node to the target, 2: two or more */
	char state[MAX_NODES]; /* 0 unseen, 1 on the current walk, 2 done */
};

static void
addrs_add(struct addrs *v, uint64_t a)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->a[i] == a)
			return;
	GROW(v->a, v->cap, v->n + 1);
	v->a[v->n++] = a;
}

static bool
addrs_has(const struct addrs *v, uint64_t a)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->a[i] == a)
			return true;
	return false;
}

struct tailcall *
tailcall_new(struct symbols *sym)
{
	struct tailcall *tc = xcalloc(1, sizeof *tc);

	tc->sym = sym;
	hashmap_init(&tc->entries);
	hashmap_init(&tc->funcs);
	hashmap_init(&tc->results);
	hashmap_init(&tc->namemaps);
	return tc;
}

void
tailcall_forget(struct tailcall *tc)
{
	size_t it;
	void *v;

	for (it = 0; hashmap_next(&tc->funcs, &it, NULL, &v);) {
		struct func *fn = v;

		for (size_t i = 0; i < fn->n; i++) {
			free(fn->sites[i].to.a);
			free(fn->sites[i].names[0]);
			free(fn->sites[i].names[1]);
		}
		free(fn->sites);
		free(fn);
	}
	for (it = 0; hashmap_next(&tc->results, &it, NULL, &v);) {
		for (struct result *r = v, *next; r != NULL; r = next) {
			next = r->next;
			free(r->pcs);
			free(r);
		}
	}
	for (it = 0; hashmap_next(&tc->namemaps, &it, NULL, &v);) {
		struct namemap *m = v;

		for (size_t i = 0; i < m->names.n; i++)
			free(m->addrs[i].a);
		free(m->addrs);
		strset_release(&m->names);
		free(m);
	}
	hashmap_release(&tc->entries);
	hashmap_release(&tc->funcs);
	hashmap_release(&tc->results);
	hashmap_release(&tc->namemaps);
}

void
tailcall_free(struct tailcall *tc)
{
	if (tc == NULL)
		return;
	tailcall_forget(tc);
	free(tc);
}

void
tailcall_stats(const struct tailcall *tc, unsigned long *misses, unsigned long *hits)
{
	*misses = tc->misses;
	*hits = tc->hits;
}

/* The module that contains pc (dwfl_addrmodule may return a neighbour). */
static Dwfl_Module *
module_at(Dwfl *dwfl, uint64_t pc, Dwarf_Addr *start)
{
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, pc);
	Dwarf_Addr lo, hi;

	if (mod == NULL)
		return NULL;
	dwfl_module_info(mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL);
	if (start != NULL)
		*start = lo;
	return pc >= lo && pc < hi ? mod : NULL;
}

/* Where a function (or a call site) starts, in DWARF's addresses. */
static bool
die_entry(Dwarf_Die *die, Dwarf_Addr *entry)
{
	Dwarf_Addr base, start, end;

	if (dwarf_entrypc(die, entry) == 0)
		return true;
	/* A function split in parts (hot and cold): the first range is its
	 * body, where its symbol points. */
	if (dwarf_ranges(die, 0, &base, &start, &end) > 0) {
		*entry = start;
		return true;
	}
	return false;
}

static bool
has_flag(Dwarf_Die *die, int name)
{
	Dwarf_Attribute attr;
	bool flag = false;

	return dwarf_attr(die, name, &attr) != NULL && dwarf_formflag(&attr, &flag) == 0 && flag;
}

/* The concrete function (not an inlined body) whose code holds pc. */
static bool
function_at(struct tailcall *tc, uint64_t pc, Dwarf_Die *fn, Dwarf_Addr *bias,
	    Dwarf_Addr *mod_start)
{
	Dwfl_Module *mod = module_at(symbols_dwfl(tc->sym), pc, mod_start);
	Dwarf_Die *cu, *scopes = NULL;
	bool found = false;
	int n;

	if (mod == NULL)
		return false;
	cu = dwfl_module_addrdie(mod, pc, bias);
	if (cu == NULL || dwarf_haspc(cu, pc - *bias) != 1)
		return false;
	n = dwarf_getscopes(cu, pc - *bias, &scopes);
	/* Past an inlined body dwarf_getscopes goes on with the scopes of
	 * its abstract origin: the concrete chain comes from
	 * dwarf_getscopes_die on the innermost function-like scope. */
	for (int i = 0; i < n; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			Dwarf_Die inner = scopes[i], *chain = NULL;
			int m = dwarf_getscopes_die(&inner, &chain);

			for (int k = 0; k < m && !found; k++) {
				if (dwarf_tag(&chain[k]) == DW_TAG_subprogram) {
					*fn = chain[k];
					found = true;
				}
			}
			free(chain);
			break;
		}
	}
	free(scopes);
	return found;
}

/* The entry of the function whose code holds pc, 0 when DWARF does not say. */
static uint64_t
entry_of(struct tailcall *tc, uint64_t pc)
{
	void *v = hashmap_get(&tc->entries, pc);
	Dwarf_Addr bias, start, entry;
	Dwarf_Die fn;
	uint64_t e = 1;

	if (v != NULL)
		return (uintptr_t)v == 1 ? 0 : (uint64_t)(uintptr_t)v;
	if (function_at(tc, pc, &fn, &bias, &start) && die_entry(&fn, &entry))
		e = entry + bias;
	hashmap_put(&tc->entries, pc, (void *)(uintptr_t)e);
	return e == 1 ? 0 : e;
}

/* Out-of-line copies of an abstract function (one inlined elsewhere, or
 * cloned: foo.constprop.0): the functions of its unit that name it as
 * their DW_AT_abstract_origin. */
static void
concrete_copies(Dwarf_Die *abstract, Dwarf_Addr bias, struct addrs *out)
{
	Dwarf_Off off = dwarf_dieoffset(abstract);
	Dwarf_Die cu, child, origin;
	Dwarf_Attribute attr;
	Dwarf_Addr entry;

	if (dwarf_diecu(abstract, &cu, NULL, NULL) == NULL || dwarf_child(&cu, &child) != 0)
		return;
	do {
		if (dwarf_tag(&child) == DW_TAG_subprogram &&
		    dwarf_attr(&child, DW_AT_abstract_origin, &attr) != NULL &&
		    dwarf_formref_die(&attr, &origin) != NULL && dwarf_dieoffset(&origin) == off &&
		    die_entry(&child, &entry))
			addrs_add(out, entry + bias);
	} while (dwarf_siblingof(&child, &child) == 0);
}

/* What a call site's DW_AT_call_origin names. */
static void
target_of_origin(struct site *s, Dwarf_Die *target, Dwarf_Addr bias)
{
	Dwarf_Attribute attr;
	Dwarf_Addr entry;
	const char *name;

	if (!has_flag(target, DW_AT_declaration)) {
		if (die_entry(target, &entry))
			addrs_add(&s->to, entry + bias);
		else
			concrete_copies(target, bias, &s->to);
	}
	if (s->to.n == 0) {
		/* Declared only here: defined in another unit or module, found
		 * by its symbol. */
		name = dwarf_formstring(dwarf_attr_integrate(target, DW_AT_linkage_name, &attr));
		if (name == NULL)
			name = dwarf_formstring(dwarf_attr_integrate(target, DW_AT_MIPS_linkage_name,
								     &attr));
		if (name != NULL)
			s->names[0] = xstrdup(name);
		name = dwarf_diename(target);
		if (name != NULL && (s->names[0] == NULL || strcmp(name, s->names[0]) != 0))
			s->names[1] = xstrdup(name);
	}
	s->known = s->to.n > 0 || s->names[0] != NULL || s->names[1] != NULL;
}

static void
add_site(struct func *fn, Dwarf_Die *die, Dwarf_Addr bias)
{
	struct site s = { 0 };
	Dwarf_Attribute attr;
	Dwarf_Addr addr;
	Dwarf_Die target;
	Dwarf_Op *ops;
	size_t nops;

	s.tail = has_flag(die, DW_AT_call_tail_call) || has_flag(die, DW_AT_GNU_tail_call);
	if (dwarf_attr(die, DW_AT_call_return_pc, &attr) != NULL &&
	    dwarf_formaddr(&attr, &addr) == 0)
		s.pc = addr + bias - 1;
	else if (dwarf_lowpc(die, &addr) == 0) /* DW_TAG_GNU_call_site */
		s.pc = addr + bias - 1;
	else if (dwarf_attr(die, DW_AT_call_pc, &attr) != NULL && dwarf_formaddr(&attr, &addr) == 0)
		s.pc = addr + bias;
	else {
		/* A tail call that cannot be placed: the function's tail
		 * calls are not all known. */
		if (s.tail)
			fn->all_calls = false;
		return;
	}
	if ((dwarf_attr(die, DW_AT_call_origin, &attr) != NULL ||
	     dwarf_attr(die, DW_AT_abstract_origin, &attr) != NULL) &&
	    dwarf_formref_die(&attr, &target) != NULL) {
		target_of_origin(&s, &target, bias);
	} else if ((dwarf_attr(die, DW_AT_call_target, &attr) != NULL ||
		    dwarf_attr(die, DW_AT_GNU_call_site_target, &attr) != NULL) &&
		   dwarf_getlocation(&attr, &ops, &nops) == 0 && nops == 1 &&
		   ops[0].atom == DW_OP_addr) {
		/* An indirect call is known only when its target is a constant. */
		addrs_add(&s.to, ops[0].number + bias);
		s.known = true;
	}
	GROW(fn->sites, fn->cap, fn->n + 1);
	fn->sites[fn->n++] = s;
}

/* Every call site in a function's body, inlined bodies and blocks included
 * (a nested function's calls are its own). */
static void
collect_sites(struct func *fn, Dwarf_Die *parent, Dwarf_Addr bias)
{
	Dwarf_Die c;

	if (dwarf_child(parent, &c) != 0)
		return;
	do {
		switch (dwarf_tag(&c)) {
		case DW_TAG_call_site:
		case DW_TAG_GNU_call_site:
			add_site(fn, &c, bias);
			break;
		case DW_TAG_lexical_block:
		case DW_TAG_inlined_subroutine:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
			collect_sites(fn, &c, bias);
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&c, &c) == 0);
}

static struct func *
func_of(struct tailcall *tc, uint64_t entry)
{
	struct func *fn = hashmap_get(&tc->funcs, entry);
	Dwarf_Addr bias, start, e;
	Dwarf_Die die;

	if (fn != NULL)
		return fn;
	fn = xcalloc(1, sizeof *fn);
	if (function_at(tc, entry, &die, &bias, &start) && die_entry(&die, &e) &&
	    e + bias == entry) {
		fn->described = true;
		fn->mod_start = start;
		fn->all_calls = has_flag(&die, DW_AT_call_all_calls) ||
				has_flag(&die, DW_AT_call_all_tail_calls) ||
				has_flag(&die, DW_AT_call_all_source_calls) ||
				has_flag(&die, DW_AT_GNU_all_call_sites) ||
				has_flag(&die, DW_AT_GNU_all_tail_call_sites) ||
				has_flag(&die, DW_AT_GNU_all_source_call_sites);
		collect_sites(fn, &die, bias);
	}
	hashmap_put(&tc->funcs, entry, fn);
	return fn;
}

static struct namemap *
namemap_of(struct tailcall *tc, uint64_t mod_start)
{
	struct namemap *m = hashmap_get(&tc->namemaps, mod_start);
	Dwfl_Module *mod;
	int n;

	if (m != NULL)
		return m;
	m = xcalloc(1, sizeof *m);
	strset_init(&m->names);
	hashmap_put(&tc->namemaps, mod_start, m);
	mod = module_at(symbols_dwfl(tc->sym), mod_start, NULL);
	n = mod != NULL ? dwfl_module_getsymtab(mod) : 0;
	for (int i = 1; i < n; i++) {
		const char *name, *at;
		char plain[256];
		GElf_Addr addr;
		GElf_Word shndx;
		GElf_Sym s;
		size_t id;

		name = dwfl_module_getsym_info(mod, i, &s, &addr, &shndx, NULL, NULL);
		if (name == NULL || *name == '\0' || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
		    shndx == SHN_UNDEF || addr == 0)
			continue;
		/* A full symbol table names versions: sem_wait@@GLIBC_2.34. */
		at = strchr(name, '@');
		if (at != NULL && at > name) {
			if ((size_t)(at - name) >= sizeof plain)
				continue;
			memcpy(plain, name, (size_t)(at - name));
			plain[at - name] = '\0';
			name = plain;
		}
		id = strset_add(&m->names, name, NULL);
		if (id >= m->cap) {
			size_t old = m->cap;

			GROW(m->addrs, m->cap, id + 1);
			memset(m->addrs + old, 0, (m->cap - old) * sizeof *m->addrs);
		}
		addrs_add(&m->addrs[id], addr);
	}
	return m;
}

static void
lookup_names(struct tailcall *tc, const struct site *s, uint64_t mod_start, struct addrs *out)
{
	struct namemap *m = namemap_of(tc, mod_start);

	for (int k = 0; k < 2; k++) {
		long id = s->names[k] != NULL ? strset_find(&m->names, s->names[k]) : -1;

		if (id < 0)
			continue;
		for (size_t i = 0; i < m->addrs[id].n; i++)
			addrs_add(out, m->addrs[id].a[i]);
	}
}

/* The entries a site may call. A declaration is looked up in the calling
 * function's module, and when it is not defined there, in the module of
 * the function the search is for (a call through the PLT). */
static void
site_targets(struct tailcall *tc, const struct func *fn, const struct site *s,
	     uint64_t target_mod, struct addrs *out)
{
	out->n = 0;
	for (size_t i = 0; i < s->to.n; i++)
		addrs_add(out, s->to.a[i]);
	if (s->names[0] == NULL && s->names[1] == NULL)
		return;
	lookup_names(tc, s, fn->mod_start, out);
	if (out->n == 0 && target_mod != 0 && target_mod != fn->mod_start)
		lookup_names(tc, s, target_mod, out);
}

static bool
graph_node(struct graph *g, uint64_t entry, size_t *id)
{
	for (size_t i = 0; i < g->n; i++) {
		if (g->nodes[i] == entry) {
			*id = i;
			return true;
		}
	}
	if (g->n == MAX_NODES)
		return false;
	g->nodes[g->n] = entry;
	*id = g->n++;
	return true;
}

/* Walks from node v to the target (the last node to reach it counts it
 * once), 2 meaning two or more, -1 a cycle: then the chain could be any
 * length. */
static int
count_walks(struct graph *g, size_t v, size_t target)
{
	int c = v == target;

	if (g->state[v] == 2)
		return g->paths[v];
	if (g->state[v] == 1)
		return -1;
	g->state[v] = 1;
	for (size_t i = 0; i < g->n_edges; i++) {
		const struct edge *e = &g->edges[i];
		int k;

		if (e->from != v || !g->reach[e->to])
			continue;
		k = count_walks(g, e->to, target);
		if (k < 0)
			return -1;
		c = c + k > 2 ? 2 : c + k;
	}
	g->state[v] = 2;
	g->paths[v] = c;
	return c;
}

/* The chain from the caller's call at caller to the function entered at
 * entry; its jumps' pcs into *out (innermost first). */
static size_t
find_chain(struct tailcall *tc, uint64_t caller, uint64_t entry, uint64_t **out)
{
	struct graph *g = xcalloc(1, sizeof *g);
	struct addrs starts = { 0 }, to = { 0 };
	const struct site *call = NULL;
	struct func *cf;
	uint64_t ce, target_mod = 0;
	size_t target = 0, n = 0, v = 0, len = 0;
	int total = 0;
	bool changed;

	ce = entry_of(tc, caller);
	if (ce == 0)
		goto out;
	cf = func_of(tc, ce);
	for (size_t i = 0; i < cf->n && call == NULL; i++)
		if (cf->sites[i].pc == caller)
			call = &cf->sites[i];
	if (call == NULL || !call->known)
		goto out;
	module_at(symbols_dwfl(tc->sym), entry, &target_mod);
	site_targets(tc, cf, call, target_mod, &starts);
	/* Called directly, or a call the DWARF cannot name. */
	if (starts.n == 0 || addrs_has(&starts, entry))
		goto out;
	for (size_t i = 0; i < starts.n; i++)
		if (!graph_node(g, starts.a[i], &v))
			goto out;

	/* Every function reached by tail calls, and those calls. Any call
	 * left undescribed on the way could be another chain. */
	for (size_t i = 0; i < g->n; i++) {
		struct func *fn = func_of(tc, g->nodes[i]);

		if (!fn->described || !fn->all_calls)
			goto out;
		for (size_t k = 0; k < fn->n; k++) {
			const struct site *s = &fn->sites[k];

			if (!s->tail)
				continue;
			if (!s->known)
				goto out;
			site_targets(tc, fn, s, target_mod, &to);
			if (to.n == 0)
				goto out;
			for (size_t j = 0; j < to.n; j++) {
				if (!graph_node(g, to.a[j], &v))
					goto out;
				GROW(g->edges, g->cap_edges, g->n_edges + 1);
				g->edges[g->n_edges++] = (struct edge){ i, v, s->pc };
			}
		}
	}
	if (!graph_node(g, entry, &target) || target < starts.n)
		goto out;

	/* Which functions lead to the target; then the walks from the
	 * starts: exactly one, or nothing is said. */
	g->reach[target] = true;
	do {
		changed = false;
		for (size_t i = 0; i < g->n_edges; i++) {
			if (g->reach[g->edges[i].to] && !g->reach[g->edges[i].from]) {
				g->reach[g->edges[i].from] = true;
				changed = true;
			}
		}
	} while (changed);
	for (size_t i = 0; i < starts.n; i++) {
		int k;

		if (!g->reach[i])
			continue;
		k = count_walks(g, i, target);
		if (k < 0)
			goto out;
		total += k;
		v = i;
	}
	if (total != 1)
		goto out;

	*out = xmalloc(g->n * sizeof **out);
	while (v != target) {
		const struct edge *next = NULL;

		for (size_t i = 0; i < g->n_edges && next == NULL; i++) {
			const struct edge *e = &g->edges[i];

			if (e->from == v && g->reach[e->to] && g->paths[e->to] > 0)
				next = e;
		}
		if (next == NULL || len == g->n) { /* cannot happen: one walk was counted */
			free(*out);
			*out = NULL;
			len = 0;
			goto out;
		}
		(*out)[len++] = next->pc;
		v = next->to;
	}
	/* Found caller-side first: the innermost frame goes first. */
	for (size_t i = 0; i < len / 2; i++) {
		uint64_t t = (*out)[i];

		(*out)[i] = (*out)[len - 1 - i];
		(*out)[len - 1 - i] = t;
	}
	n = len;
out:
	free(starts.a);
	free(to.a);
	free(g->edges);
	free(g);
	return n;
}

size_t
tailcall_between(struct tailcall *tc, uint64_t caller, uint64_t callee, const uint64_t **pcs)
{
	uint64_t entry = entry_of(tc, callee), h;
	struct result *head, *r;

	*pcs = NULL;
	if (entry == 0)
		return 0;
	h = hash_mix(caller) ^ hash_mix(entry ^ 0x9e3779b97f4a7c15ULL);
	head = hashmap_get(&tc->results, h);
	for (r = head; r != NULL; r = r->next) {
		if (r->caller == caller && r->entry == entry) {
			tc->hits++;
			*pcs = r->pcs;
			return r->n;
		}
	}
	tc->misses++;
	r = xcalloc(1, sizeof *r);
	r->caller = caller;
	r->entry = entry;
	r->n = find_chain(tc, caller, entry, &r->pcs);
	r->next = head;
	hashmap_put(&tc->results, h, r);
	*pcs = r->pcs;
	return r->n;
}
