/* profile.c: interning and aggregation. */
#include "config.h"

#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

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
}

void
profile_release(struct profile *p)
{
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
		       hash_mix(((uint64_t)f->module << 34) | ((uint64_t)(uint32_t)f->line << 2) |
				(uint64_t)f->tailcall << 1 | f->inlined);
	const struct pframe *g;

	INTERN(p, frame_index, key, uint32_t,
	       (g = &p->frames[id_], g->function == f->function && g->file == f->file &&
		g->module == f->module && g->line == f->line && g->inlined == f->inlined &&
		g->tailcall == f->tailcall),
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
	PUSH(p, threads, ((struct pthread_info){ tid, ns, 0 }));
	hashmap_put(&p->thread_index, tid, (void *)(uintptr_t)p->n_threads);
}

const char *
profile_thread_name(const struct profile *p, uint32_t tid)
{
	void *v = hashmap_get(&p->thread_index, tid);

	return v != NULL ? profile_str(p, p->threads[(uintptr_t)v - 1].name) : "";
}

void
profile_thread_set_pid(struct profile *p, uint32_t tid, uint32_t pid)
{
	void *v = hashmap_get(&p->thread_index, tid);

	if (v != NULL)
		p->threads[(uintptr_t)v - 1].pid = pid;
}

uint32_t
profile_thread_pid(const struct profile *p, uint32_t tid)
{
	void *v = hashmap_get(&p->thread_index, tid);

	return v != NULL ? p->threads[(uintptr_t)v - 1].pid : 0;
}

size_t
profile_stack_functions(const struct profile *p, uint32_t stack, const char **fn, size_t max)
{
	size_t n = 0;

	for (uint32_t id = stack; id != 0 && id < p->n_nodes && n < max; id = p->nodes[id].parent)
		fn[n++] = profile_str(p, p->frames[p->nodes[id].frame].function);
	return n;
}

bool
profile_add_sample(struct profile *p, const struct psample *in)
{
	const struct ptype *t = ptype_get(in->type);
	struct psample s = *in;
	uint64_t key;
	void *v;

	if (t == NULL || s.stack >= p->n_nodes || s.class >= CLASS_COUNT)
		return false;
	if (!t->classed)
		s.class = 0;
	if (!t->classed || s.class != CLASS_SYSCALL)
		s.sysnr = 0;
	if (!t->weighted)
		s.value = s.count;
	if (t->agg != PT_DIST)
		s.max = 0;
	if (s.bucket != p->open_bucket) {
		hashmap_release(&p->open_samples);
		p->open_bucket = s.bucket;
	}
	key = hash_mix(((uint64_t)s.tid << 32) | s.stack) ^
	      hash_mix(((uint64_t)s.type << 32) | ((uint64_t)s.class << 16) | s.sysnr);
	for (;; key = hash_mix(key + 1)) {
		struct psample *o;

		v = hashmap_get(&p->open_samples, key);
		if (v == NULL)
			break;
		o = &p->samples[(uintptr_t)v - 1];
		if (o->tid == s.tid && o->stack == s.stack && o->type == s.type &&
		    o->class == s.class && o->sysnr == s.sysnr) {
			if ((uintptr_t)v - 1 >= p->n_sealed) {
				o->count += s.count;
				o->value += s.value;
				if (s.max > o->max)
					o->max = s.max;
				return true;
			}
			/* Written already: a later row of the same key adds to it. */
			break;
		}
	}
	PUSH(p, samples, s);
	hashmap_put(&p->open_samples, key, (void *)(uintptr_t)p->n_samples);
	return true;
}

void
profile_add(struct profile *p, uint32_t bucket, uint32_t tid, uint32_t stack,
	    enum sample_class cls, int sysnr, uint32_t count)
{
	profile_add_sample(p, &(struct psample){ .bucket = bucket, .tid = tid, .stack = stack,
						 .class = (uint16_t)cls, .sysnr = (uint16_t)sysnr,
						 .type = PT_SAMPLES, .count = count,
						 .value = count });
}

char *
profile_func_text(const struct profile *p, uint32_t function, uint32_t module)
{
	const char *fn = profile_str(p, function);

	return xasprintf("%s\x1f%s", *fn ? fn : "[unknown]",
			 module != 0 && module < p->n_modules ? profile_str(p, p->modules[module].path)
							      : "");
}
