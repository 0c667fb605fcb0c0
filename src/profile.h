/* profile.h: samples of every profile type, interned.
 *
 * Strings, modules, frames and stacks are interned once; a stack is a node
 * of a prefix tree (parent stack, frame), root first, so a million samples
 * of a hundred distinct stacks cost a hundred nodes. Strings, modules,
 * frames, stacks and threads are shared by all profile types (ptypes.h).
 *
 * A sample is counted per (second, type, thread, stack, class, system
 * call) and carries count, value and, for distributions, max: see
 * struct psample. Thread-samples (PT_SAMPLES) have value == count; their
 * class is a key ("wall" is all classes), other types have class 0.
 *
 * The same structure is filled by a recording (recorder.c turns unwound
 * pcs into stacks, stackcache.h) and by reading a session file back
 * (session.c), both through the functions below, which keep the intern
 * indexes true: nothing else writes the arrays. Readers use the arrays
 * and ids directly.
 *
 * One rule says when two frames are the same function, everywhere (call
 * tree, function list, diff, flame graphs): the same function name and the
 * same module path, as text (profile_func_key, profile_func_text).
 *
 * Ids are dense and start at 1; 0 means none (the empty stack, no string). */
#ifndef SIPROF_PROFILE_H
#define SIPROF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classes.h"
#include "hashmap.h"
#include "ptypes.h"

struct pmodule {
	uint32_t path, build_id; /* string ids */
};

struct pframe {
	uint32_t function, file, module; /* string, string, module ids */
	int32_t line;
	bool inlined;  /* inlined into the frame after it (its caller) */
	bool tailcall; /* ended in a jump to the frame inside it, so it was not on
			* the machine stack: put back from DWARF call sites */
};

struct pnode {
	uint32_t parent, frame;
	uint32_t depth;
};

struct pthread_info {
	uint32_t tid;
	uint32_t name; /* string id */
	uint32_t pid;  /* its process; 0: not known (sessions before schema 4) */
};

struct psample {
	uint32_t bucket; /* seconds since the start */
	uint32_t tid, stack;
	uint16_t class, sysnr; /* class: PT_SAMPLES only, else 0 */
	uint16_t type;         /* enum ptype_id */
	uint32_t count;        /* thread-samples, objects, calls, events */
	uint64_t value;        /* sum of the type's unit over count */
	uint64_t max;          /* PT_DIST: the largest single value; else 0 */
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
	size_t n_sealed; /* samples [0, n_sealed) are on disk: never changed again */
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
/* Say which process a thread recorded with profile_thread belongs to. */
void profile_thread_set_pid(struct profile *p, uint32_t tid, uint32_t pid);
/* The process of a thread, 0 when not known. */
uint32_t profile_thread_pid(const struct profile *p, uint32_t tid);

/* The stack of one frame under parent (0: a root frame), interned. */
static inline uint32_t
profile_push_frame(struct profile *p, uint32_t parent, const struct pframe *f)
{
	return profile_node(p, parent, profile_frame(p, f));
}

/* The function names of stack's innermost frames, innermost first (""
 * where unknown), at most max of them; returns how many. */
size_t profile_stack_functions(const struct profile *p, uint32_t stack, const char **fn,
			       size_t max);

/* Count a sample: s->bucket, type, tid, stack, class and sysnr are its key
 * (class and sysnr are zeroed where the type or class has none); count,
 * value and max add up (max as the larger; value is count for a type that
 * is not weighted, max 0 for one that is not a distribution). A sample of a bucket that is
 * not the newest one, or whose row is sealed, gets a row of its own: rows
 * of the same key add up. False (nothing counted) when the type, stack or
 * class is not one of p's. */
bool profile_add_sample(struct profile *p, const struct psample *s);
/* Count thread-samples (PT_SAMPLES: value is count). */
void profile_add(struct profile *p, uint32_t bucket, uint32_t tid, uint32_t stack,
		 enum sample_class cls, int sysnr, uint32_t count);

/* The merge rule: two frames are the same function when their function
 * names and their modules' paths are the same text (not the build-id:
 * a rebuilt library's function is the same one in a diff). Within one
 * profile, the same key is the same function. */
static inline uint64_t
profile_func_key(const struct profile *p, uint32_t function, uint32_t module)
{
	return (uint64_t)function << 32 | (module != 0 ? p->modules[module].path : 0);
}
/* The same rule across profiles: "function\x1fmodule path", allocated
 * (free it); equal texts are the same function. The function's name is
 * the text before the first \x1f ("[unknown]" for none). */
char *profile_func_text(const struct profile *p, uint32_t function, uint32_t module);

/* The string for an id ("" for 0). */
static inline const char *
profile_str(const struct profile *p, uint32_t id)
{
	return id != 0 && id < p->n_strings ? p->strings[id] : "";
}

#endif
