/* profile.h: samples, interned.
 *
 * Strings, modules, frames and stacks are interned once; a stack is a node
 * of a prefix tree (parent stack, frame), root first, so a million samples
 * of a hundred distinct stacks cost a hundred nodes. Samples are counted
 * per (second, thread, stack, class, system call). The same structure is
 * filled by a recording and by reading a session file back.
 *
 * Ids are dense and start at 1; 0 means none (the empty stack, no string). */
#ifndef SIPROF_PROFILE_H
#define SIPROF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classes.h"
#include "hashmap.h"

struct symbols;

struct pmodule {
	uint32_t path, build_id; /* string ids */
};

struct pframe {
	uint32_t function, file, module; /* string, string, module ids */
	int32_t line;
	bool inlined;
};

struct pnode {
	uint32_t parent, frame;
	uint32_t depth;
};

struct pthread_info {
	uint32_t tid;
	uint32_t name; /* string id */
};

struct psample {
	uint32_t bucket; /* seconds since the start */
	uint32_t tid, stack;
	uint16_t class, sysnr;
	uint32_t count;
};

/* Growable arrays; index 0 is unused so that ids index them directly. */
#define PROFILE_ARRAY(type, name) type *name; size_t n_##name, cap_##name

struct profile {
	PROFILE_ARRAY(char *, strings);
	PROFILE_ARRAY(struct pmodule, modules);
	PROFILE_ARRAY(struct pframe, frames);
	PROFILE_ARRAY(struct pnode, nodes);
	PROFILE_ARRAY(struct pthread_info, threads);
	PROFILE_ARRAY(struct psample, samples);
	struct hashmap string_index, module_index, frame_index, node_index, thread_index;
	struct hashmap open_samples; /* samples of the newest bucket, by key */
	uint32_t open_bucket;
	struct hashmap pc_cache;    /* pc -> frame id list */
	struct hashmap stack_cache; /* hash of pcs -> cached stack */
	uint32_t truncated_frame;
};

void profile_init(struct profile *p);
void profile_release(struct profile *p);

uint32_t profile_string(struct profile *p, const char *s);
uint32_t profile_module(struct profile *p, const char *path, const char *build_id);
uint32_t profile_frame(struct profile *p, const struct pframe *f);
uint32_t profile_node(struct profile *p, uint32_t parent, uint32_t frame);
/* Record or rename a thread. */
void profile_thread(struct profile *p, uint32_t tid, const char *name);
const char *profile_thread_name(const struct profile *p, uint32_t tid);

/* The stack for pcs (innermost first, as unwound), symbolized with sym;
 * a truncated stack gets a "[truncated]" root frame. Repeated stacks are
 * served from a cache without touching sym. */
uint32_t profile_stack_from_pcs(struct profile *p, struct symbols *sym,
				const uint64_t *pcs, size_t n, bool truncated);
/* Forget pc and stack caches (after an exec the addresses mean new code). */
void profile_forget_addresses(struct profile *p);

/* Count samples. Buckets must not go backwards. */
void profile_add(struct profile *p, uint32_t bucket, uint32_t tid, uint32_t stack,
		 enum sample_class cls, int sysnr, uint32_t count);

/* The string for an id ("" for 0). */
static inline const char *
profile_str(const struct profile *p, uint32_t id)
{
	return id != 0 && id < p->n_strings ? p->strings[id] : "";
}

#endif
