/* profile.c: interning and aggregation. */
#include "config.h"

#include "profile.h"

#include <stdlib.h>
#include <string.h>

#include "symbols.h"
#include "util.h"

struct pc_frames {
	uint32_t n;
	uint32_t ids[];
};

struct cached_stack {
	size_t n;
	bool truncated;
	uint32_t stack;
	uint64_t *pcs;
	struct cached_stack *next; /* same hash */
};

#define PUSH(p, name, value)                                        \
	do {                                                        \
		GROW((p)->name, (p)->cap_##name, (p)->n_##name + 1); \
		(p)->name[(p)->n_##name++] = (value);                \
	} while (0)

void
profile_init(struct profile *p)
{
	memset(p, 0, sizeof *p);
	/* Slot 0 of every table is "none". */
	PUSH(p, strings, xstrdup(""));
	PUSH(p, modules, ((struct pmodule){ 0, 0 }));
	PUSH(p, frames, ((struct pframe){ 0 }));
	PUSH(p, nodes, ((struct pnode){ 0, 0, 0 }));
	hashmap_init(&p->string_index);
	hashmap_init(&p->module_index);
	hashmap_init(&p->frame_index);
	hashmap_init(&p->node_index);
	hashmap_init(&p->thread_index);
	hashmap_init(&p->open_samples);
	hashmap_init(&p->pc_cache);
	hashmap_init(&p->stack_cache);
}

void
profile_forget_addresses(struct profile *p)
{
	struct cached_stack *cs, *next;
	void *v;
	size_t it;

	for (it = 0; hashmap_next(&p->pc_cache, &it, NULL, &v);)
		free(v);
	for (it = 0; hashmap_next(&p->stack_cache, &it, NULL, &v);) {
		for (cs = v; cs != NULL; cs = next) {
			next = cs->next;
			free(cs->pcs);
			free(cs);
		}
	}
	hashmap_release(&p->pc_cache);
	hashmap_release(&p->stack_cache);
}

void
profile_release(struct profile *p)
{
	profile_forget_addresses(p);
	for (size_t i = 0; i < p->n_strings; i++)
		free(p->strings[i]);
	free(p->strings);
	free(p->modules);
	free(p->frames);
	free(p->nodes);
	free(p->threads);
	free(p->samples);
	hashmap_release(&p->string_index);
	hashmap_release(&p->module_index);
	hashmap_release(&p->frame_index);
	hashmap_release(&p->node_index);
	hashmap_release(&p->thread_index);
	hashmap_release(&p->open_samples);
	memset(p, 0, sizeof *p);
}

/* Hash-indexed interning with verification: the index maps a hash to an
 * id; a colliding different entry moves the probe to the next hash. */
#define INTERN(p, index, hash, id_type, matches, make)                    \
	for (uint64_t h_ = (hash);; h_ = hash_mix(h_ + 1)) {              \
		void *v_ = hashmap_get(&(p)->index, h_);                  \
		if (v_ == NULL) {                                         \
			id_type id_ = (make);                             \
			hashmap_put(&(p)->index, h_, (void *)(uintptr_t)id_); \
			return id_;                                       \
		}                                                         \
		id_type id_ = (id_type)(uintptr_t)v_;                     \
		if (matches)                                              \
			return id_;                                       \
	}

static uint32_t
add_string(struct profile *p, const char *s)
{
	PUSH(p, strings, xstrdup(s));
	return (uint32_t)p->n_strings - 1;
}

uint32_t
profile_string(struct profile *p, const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	INTERN(p, string_index, hash_bytes(s, strlen(s), 0), uint32_t,
	       strcmp(p->strings[id_], s) == 0, add_string(p, s));
}

static uint32_t
add_module(struct profile *p, uint32_t path, uint32_t build_id)
{
	PUSH(p, modules, ((struct pmodule){ path, build_id }));
	return (uint32_t)p->n_modules - 1;
}

uint32_t
profile_module(struct profile *p, const char *path, const char *build_id)
{
	uint32_t ps = profile_string(p, path), bs = profile_string(p, build_id);

	INTERN(p, module_index, hash_mix(((uint64_t)ps << 32) | bs), uint32_t,
	       p->modules[id_].path == ps && p->modules[id_].build_id == bs,
	       add_module(p, ps, bs));
}

static uint32_t
add_frame(struct profile *p, const struct pframe *f)
{
	PUSH(p, frames, *f);
	return (uint32_t)p->n_frames - 1;
}

uint32_t
profile_frame(struct profile *p, const struct pframe *f)
{
	uint64_t key = hash_mix(((uint64_t)f->function << 32) | f->file) ^
		       hash_mix(((uint64_t)f->module << 33) | ((uint64_t)(uint32_t)f->line << 1) |
				f->inlined);
	const struct pframe *g;

	INTERN(p, frame_index, key, uint32_t,
	       (g = &p->frames[id_], g->function == f->function && g->file == f->file &&
		g->module == f->module && g->line == f->line && g->inlined == f->inlined),
	       add_frame(p, f));
}

uint32_t
profile_node(struct profile *p, uint32_t parent, uint32_t frame)
{
	uint64_t key = ((uint64_t)parent << 32) | frame;
	void *v = hashmap_get(&p->node_index, key);

	if (v != NULL)
		return (uint32_t)(uintptr_t)v;
	PUSH(p, nodes, ((struct pnode){ parent, frame, parent ? p->nodes[parent].depth + 1 : 1 }));
	hashmap_put(&p->node_index, key, (void *)(uintptr_t)(p->n_nodes - 1));
	return (uint32_t)p->n_nodes - 1;
}

void
profile_thread(struct profile *p, uint32_t tid, const char *name)
{
	void *v = hashmap_get(&p->thread_index, tid);
	uint32_t ns = profile_string(p, name);

	if (v != NULL) {
		p->threads[(uintptr_t)v - 1].name = ns;
		return;
	}
	PUSH(p, threads, ((struct pthread_info){ tid, ns }));
	hashmap_put(&p->thread_index, tid, (void *)(uintptr_t)p->n_threads);
}

const char *
profile_thread_name(const struct profile *p, uint32_t tid)
{
	void *v = hashmap_get(&p->thread_index, tid);

	return v != NULL ? profile_str(p, p->threads[(uintptr_t)v - 1].name) : "";
}

/* The frame ids of one pc, outermost inlining level first. */
static const struct pc_frames *
frames_of_pc(struct profile *p, struct symbols *sym, uint64_t pc, bool *unknown)
{
	const struct sym_result *r;
	struct pc_frames *pf = hashmap_get(&p->pc_cache, pc);
	uint32_t module = 0;

	if (pf != NULL)
		return pf;
	r = symbols_lookup(sym, pc);
	if (r->module != NULL)
		module = profile_module(p, r->module->path, r->module->build_id);
	pf = xmalloc(sizeof *pf + r->n * sizeof pf->ids[0]);
	pf->n = (uint32_t)r->n;
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
		pf->ids[k] = profile_frame(p, &f);
	}
	/* A pc in no module may be named once its library's mapping is read:
	 * keep only final answers. */
	if (r->module != NULL)
		hashmap_put(&p->pc_cache, pc, pf);
	else
		*unknown = true;
	return pf;
}

uint32_t
profile_stack_from_pcs(struct profile *p, struct symbols *sym, const uint64_t *pcs,
		       size_t n, bool truncated)
{
	uint64_t h = hash_bytes(pcs, n * sizeof *pcs, truncated);
	struct cached_stack *head = hashmap_get(&p->stack_cache, h), *cs;
	uint32_t node = 0;
	bool unknown = false;

	for (cs = head; cs != NULL; cs = cs->next)
		if (cs->n == n && cs->truncated == truncated &&
		    memcmp(cs->pcs, pcs, n * sizeof *pcs) == 0)
			return cs->stack;
	if (truncated) {
		if (p->truncated_frame == 0) {
			struct pframe f = { .function = profile_string(p, "[truncated]") };

			p->truncated_frame = profile_frame(p, &f);
		}
		node = profile_node(p, 0, p->truncated_frame);
	}
	for (size_t i = n; i-- > 0;) {
		bool unknown_here = false;
		const struct pc_frames *pf = frames_of_pc(p, sym, pcs[i], &unknown_here);

		for (uint32_t k = 0; k < pf->n; k++)
			node = profile_node(p, node, pf->ids[k]);
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
	hashmap_put(&p->stack_cache, h, cs);
	return node;
}

void
profile_add(struct profile *p, uint32_t bucket, uint32_t tid, uint32_t stack,
	    enum sample_class cls, int sysnr, uint32_t count)
{
	uint64_t key;
	void *v;

	if (bucket != p->open_bucket) {
		hashmap_release(&p->open_samples);
		p->open_bucket = bucket;
	}
	if (cls != CLASS_SYSCALL)
		sysnr = 0;
	key = hash_mix(((uint64_t)tid << 32) | stack) ^
	      hash_mix(((uint64_t)cls << 16) | (uint16_t)sysnr);
	for (;; key = hash_mix(key + 1)) {
		struct psample *s;

		v = hashmap_get(&p->open_samples, key);
		if (v == NULL)
			break;
		s = &p->samples[(uintptr_t)v - 1];
		if (s->tid == tid && s->stack == stack && s->class == cls &&
		    s->sysnr == (uint16_t)sysnr) {
			s->count += count;
			return;
		}
	}
	PUSH(p, samples, ((struct psample){ bucket, tid, stack, (uint16_t)cls,
					    (uint16_t)sysnr, count }));
	hashmap_put(&p->open_samples, key, (void *)(uintptr_t)p->n_samples);
}
