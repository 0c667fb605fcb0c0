/* stackcache.c: from unwound pcs to interned stacks, with caches. */
#include "config.h"

#include "stackcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "symbols.h"
#include "tailcall.h"
#include "util.h"

#include "util.h"

struct pc_frames {
	uint32_t n;
	uint32_t ids[];
};

/* The tail-call frames between a caller pc and the pc inside it. */
struct tail_frames {
	uint64_t caller, callee;
	struct tail_frames *next; /* same hash */
	uint32_t n;
	uint32_t ids[]; /* outermost first */
};

struct cached_stack {
	size_t n;
	bool truncated;
	uint32_t stack;
	uint64_t *pcs;
	struct cached_stack *next; /* same hash */
};

/* Tail-call frames put back between two machine frames, at most. */
#define TAIL_FRAMES_MAX 32

void
stackcache_init(struct stackcache *c)
{
	memset(c, 0, sizeof *c);
	hashmap_init(&c->pc_cache);
	hashmap_init(&c->tail_cache);
	hashmap_init(&c->stack_cache);
	hashmap_init(&c->class_cache);
}

void
stackcache_forget_addresses(struct stackcache *c)
{
	struct cached_stack *cs, *next;
	void *v;
	size_t it;

	for (it = 0; hashmap_next(&c->pc_cache, &it, NULL, &v);)
		free(v);
	for (it = 0; hashmap_next(&c->tail_cache, &it, NULL, &v);) {
		for (struct tail_frames *tf = v, *tnext; tf != NULL; tf = tnext) {
			tnext = tf->next;
			free(tf);
		}
	}
	for (it = 0; hashmap_next(&c->stack_cache, &it, NULL, &v);) {
		for (cs = v; cs != NULL; cs = next) {
			next = cs->next;
			free(cs->pcs);
			free(cs);
		}
	}
	hashmap_release(&c->pc_cache);
	hashmap_release(&c->tail_cache);
	hashmap_release(&c->stack_cache);
	tailcall_free(c->tailcall);
	c->tailcall = NULL;
	c->tailcall_sym = NULL;
}

void
stackcache_release(struct stackcache *c)
{
	stackcache_forget_addresses(c);
	hashmap_release(&c->class_cache);
	memset(c, 0, sizeof *c);
}

/* The frames of one look-up, outermost inlining level first, into ids;
 * the outermost marked tailcall when the pc is a tail call's jump. */
static void
intern_frames(struct profile *p, const struct sym_result *r, uint64_t pc, bool tailcall,
	      uint32_t *ids)
{
	uint32_t module = 0;

	if (r->module != NULL)
		module = profile_module(p, r->module->path, r->module->build_id);
	for (size_t k = 0; k < r->n; k++) {
		const struct sym_frame *sf = &r->frames[r->n - 1 - k];
		struct pframe f = { 0 };
		char noname[64];

		if (sf->function != NULL) {
			f.function = profile_string(p, sf->function);
		} else {
			/* module+offset, or the bare address. */
			if (r->module != NULL)
				snprintf(noname, sizeof noname, "%s+0x%llx", r->module->name,
					 (unsigned long long)r->offset);
			else
				snprintf(noname, sizeof noname, "0x%llx", (unsigned long long)pc);
			f.function = profile_string(p, noname);
		}
		f.file = profile_string(p, sf->file);
		f.line = sf->line;
		f.module = module;
		f.inlined = sf->inlined;
		f.tailcall = tailcall && k == 0;
		ids[k] = profile_frame(p, &f);
	}
}

/* The frame ids of one pc, outermost inlining level first. */
static const struct pc_frames *
frames_of_pc(struct stackcache *c, struct profile *p, struct symbols *sym, uint64_t pc, bool *unknown)
{
	const struct sym_result *r;
	struct pc_frames *pf = hashmap_get(&c->pc_cache, pc);

	if (pf != NULL)
		return pf;
	r = symbols_lookup(sym, pc);
	pf = xmalloc(sizeof *pf + r->n * sizeof pf->ids[0]);
	pf->n = (uint32_t)r->n;
	intern_frames(p, r, pc, false, pf->ids);
	/* A pc in no module may be named once its library's mapping is read:
	 * keep only final answers. */
	if (r->module != NULL)
		hashmap_put(&c->pc_cache, pc, pf);
	else
		*unknown = true;
	return pf;
}

/* The frames of the functions that tail calls left out between a caller
 * (a lookup pc) and the pc inside it, outermost first. Cached per pair:
 * what is missing depends on both. */
static const struct tail_frames *
tail_frames_between(struct stackcache *c, struct profile *p, struct symbols *sym, uint64_t caller, uint64_t callee)
{
	uint64_t h = hash_mix(caller) ^ hash_mix(callee + 0x9e3779b97f4a7c15ULL);
	struct tail_frames *head = hashmap_get(&c->tail_cache, h), *tf;
	const struct sym_result *r[TAIL_FRAMES_MAX];
	const uint64_t *pcs;
	size_t n, total = 0, at = 0;

	for (tf = head; tf != NULL; tf = tf->next)
		if (tf->caller == caller && tf->callee == callee)
			return tf;
	if (c->tailcall == NULL || c->tailcall_sym != sym) {
		tailcall_free(c->tailcall);
		c->tailcall = tailcall_new(sym);
		c->tailcall_sym = sym;
	}
	n = tailcall_between(c->tailcall, caller, callee, &pcs);
	if (n > TAIL_FRAMES_MAX)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		r[i] = symbols_lookup(sym, pcs[i]);
		total += r[i]->n;
	}
	tf = xmalloc(sizeof *tf + total * sizeof tf->ids[0]);
	tf->caller = caller;
	tf->callee = callee;
	tf->n = (uint32_t)total;
	for (size_t i = n; i-- > 0;) {
		intern_frames(p, r[i], pcs[i], true, tf->ids + at);
		at += r[i]->n;
	}
	tf->next = head;
	hashmap_put(&c->tail_cache, h, tf);
	return tf;
}

uint32_t
stackcache_stack(struct stackcache *c, struct profile *p, struct symbols *sym,
		 const uint64_t *pcs, size_t n, bool truncated)
{
	uint64_t h = hash_bytes(pcs, n * sizeof *pcs, truncated);
	struct cached_stack *head = hashmap_get(&c->stack_cache, h), *cs;
	uint32_t node = 0;
	bool unknown = false, unknown_outer = false;

	for (cs = head; cs != NULL; cs = cs->next)
		if (cs->n == n && cs->truncated == truncated &&
		    memcmp(cs->pcs, pcs, n * sizeof *pcs) == 0)
			return cs->stack;
	if (truncated) {
		if (c->truncated_frame == 0) {
			struct pframe f = { .function = profile_string(p, "[truncated]") };

			c->truncated_frame = profile_frame(p, &f);
		}
		node = profile_node(p, 0, c->truncated_frame);
	}
	for (size_t i = n; i-- > 0;) {
		bool unknown_here = false;
		const struct pc_frames *pf = frames_of_pc(c, p, sym, pcs[i], &unknown_here);

		/* Between the caller (pcs[i + 1]) and this frame: the
		 * functions that tail-called their way here. */
		if (i + 1 < n && !unknown_here && !unknown_outer) {
			const struct tail_frames *tf =
				tail_frames_between(c, p, sym, pcs[i + 1], pcs[i]);

			for (uint32_t k = 0; k < tf->n; k++)
				node = profile_node(p, node, tf->ids[k]);
		}
		for (uint32_t k = 0; k < pf->n; k++)
			node = profile_node(p, node, pf->ids[k]);
		unknown_outer = unknown_here;
		if (unknown_here) {
			free((void *)pf);
			unknown = true;
		}
	}
	if (unknown)
		return node; /* not cached: it may be named next time */
	cs = xmalloc(sizeof *cs);
	cs->n = n;
	cs->truncated = truncated;
	cs->stack = node;
	cs->pcs = xmalloc(n * sizeof *pcs + 1);
	memcpy(cs->pcs, pcs, n * sizeof *pcs);
	cs->next = head;
	hashmap_put(&c->stack_cache, h, cs);
	return node;
}


enum sample_class
stackcache_refine_class(struct stackcache *c, const struct profile *p, uint32_t stack,
			enum sample_class cls, int callnr)
{
	const char *fn[CLASS_REFINE_FRAMES];
	bool restarted = callnr == SYS_restart_syscall;
	uint64_t key = stack | (uint64_t)cls << 32 | (uint64_t)restarted << 40;
	void *v;

	if (cls != CLASS_LOCK && !restarted)
		return cls;
	if ((v = hashmap_get(&c->class_cache, key)) != NULL)
		return (enum sample_class)((uintptr_t)v - 1);
	/* Stack ids name functions, not addresses: an exec leaves them true. */
	cls = class_refine(cls, callnr, fn, profile_stack_functions(p, stack, fn, ARRAY_SIZE(fn)));
	hashmap_put(&c->class_cache, key, (void *)((uintptr_t)cls + 1));
	return cls;
}
