/* analyze.c: aggregation over the samples of a profile. */
#include "config.h"

#include "analyze.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classes.h"
#include "format.h"
#include "hashmap.h"
#include "util.h"

#define MAX_DEPTH 2048

void
selection_init(struct selection *sel)
{
	memset(sel, 0, sizeof *sel);
	sel->type = PT_SAMPLES;
	sel->cls = -1;
	sel->until = UINT32_MAX;
}

bool
selection_match(const struct profile *p, const struct selection *sel, const struct psample *s)
{
	if (s->type != sel->type || (sel->cls >= 0 && s->class != sel->cls))
		return false;
	if (s->bucket < sel->since || s->bucket >= sel->until)
		return false;
	if (sel->tid != 0 && s->tid != sel->tid)
		return false;
	if (sel->pid != 0 && profile_thread_pid(p, s->tid) != sel->pid)
		return false;
	if (sel->thread != NULL && fnmatch(sel->thread, profile_thread_name(p, s->tid), 0) != 0)
		return false;
	return true;
}

size_t
stack_frames(const struct profile *p, uint32_t stack, uint32_t *out, size_t max)
{
	size_t n = 0;

	while (stack != 0 && n < max) {
		out[n++] = p->nodes[stack].frame;
		stack = p->nodes[stack].parent;
	}
	return n;
}

uint32_t
profile_buckets(const struct profile *p)
{
	return p->n_samples > 0 ? p->samples[p->n_samples - 1].bucket + 1 : 0;
}

/* ---- functions ---- */

struct fentry {
	struct func_stat st;
	uint64_t stamp;      /* last sample that counted it in total */
	struct hashmap lines; /* frame id -> count (self, else total) */
};

static uint64_t
func_key(const struct profile *p, const struct pframe *f, bool by_line)
{
	uint64_t k = profile_func_key(p, f->function, f->module);

	return by_line ? hash_mix(k) ^ hash_mix(((uint64_t)f->file << 32) | (uint32_t)f->line) : k;
}

static int
cmp_self(const void *a, const void *b)
{
	const struct func_stat *x = a, *y = b;

	if (x->self != y->self)
		return x->self < y->self ? 1 : -1;
	return (x->total < y->total) - (x->total > y->total);
}

static int
cmp_total(const void *a, const void *b)
{
	const struct func_stat *x = a, *y = b;

	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return (x->self < y->self) - (x->self > y->self);
}

void
analyze_functions(const struct profile *p, const struct selection *sel, bool by_line,
		  bool sort_total, struct func_table *out)
{
	struct hashmap index;
	struct fentry **entries = NULL;
	size_t n = 0, cap = 0;
	uint32_t *frames = xmalloc(MAX_DEPTH * sizeof *frames);
	uint64_t stamp = 0;

	memset(out, 0, sizeof *out);
	hashmap_init(&index);
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct psample *s = &p->samples[i];
		size_t depth;

		if (!selection_match(p, sel, s))
			continue;
		out->total += s->value;
		out->count += s->count;
		stamp++;
		depth = stack_frames(p, s->stack, frames, MAX_DEPTH);
		for (size_t k = 0; k < depth; k++) {
			const struct pframe *f = &p->frames[frames[k]];
			uint64_t key = func_key(p, f, by_line);
			struct fentry *e = hashmap_get(&index, key);
			uintptr_t c;

			if (e == NULL) {
				e = xcalloc(1, sizeof *e);
				e->st.function = f->function;
				e->st.module = f->module;
				e->st.file = f->file;
				e->st.line = f->line;
				hashmap_init(&e->lines);
				hashmap_put(&index, key, e);
				GROW(entries, cap, n + 1);
				entries[n++] = e;
			}
			if (k == 0) {
				e->st.self += s->value;
				e->st.self_count += s->count;
			}
			if (e->stamp != stamp) {
				e->stamp = stamp;
				e->st.total += s->value;
				e->st.total_count += s->count;
				if (s->max > e->st.max)
					e->st.max = s->max;
				/* Weigh lines by self first, total second, in samples
				 * (values could overflow the weight). */
				c = (uintptr_t)hashmap_get(&e->lines, frames[k]);
				hashmap_put(&e->lines, frames[k],
					    (void *)(c + s->count * (k == 0 ? 1000000u : 1u)));
			}
		}
	}
	out->funcs = xcalloc(n ? n : 1, sizeof *out->funcs);
	for (size_t i = 0; i < n; i++) {
		struct fentry *e = entries[i];
		uintptr_t best = 0;
		uint64_t fid;
		void *c;

		for (size_t it = 0; hashmap_next(&e->lines, &it, &fid, &c);) {
			if ((uintptr_t)c > best) {
				best = (uintptr_t)c;
				e->st.file = p->frames[fid].file;
				e->st.line = p->frames[fid].line;
			}
		}
		out->funcs[i] = e->st;
		hashmap_release(&e->lines);
		free(e);
	}
	out->n = n;
	if (n > 1)
		qsort(out->funcs, n, sizeof *out->funcs, sort_total ? cmp_total : cmp_self);
	free(entries);
	free(frames);
	hashmap_release(&index);
}

void
func_table_release(struct func_table *t)
{
	free(t->funcs);
	memset(t, 0, sizeof *t);
}

/* ---- call tree ---- */

static struct tree_node *
child_of(const struct profile *p, struct tree_node *parent, const struct pframe *f)
{
	uint64_t key = profile_func_key(p, f->function, f->module);
	struct tree_node *c;

	for (size_t i = 0; i < parent->n; i++) {
		c = parent->children[i];
		if (profile_func_key(p, c->function, c->module) == key) {
			c->tailcall = c->tailcall && f->tailcall;
			return c;
		}
	}
	c = xcalloc(1, sizeof *c);
	c->function = f->function;
	c->module = f->module;
	c->tailcall = f->tailcall;
	c->file = f->file;
	c->line = f->line;
	GROW(parent->children, parent->cap, parent->n + 1);
	parent->children[parent->n++] = c;
	return c;
}

struct tree_node *
analyze_tree(const struct profile *p, const struct selection *sel, uint64_t *total)
{
	struct tree_node *root = xcalloc(1, sizeof *root);
	uint32_t *frames = xmalloc(MAX_DEPTH * sizeof *frames);

	*total = 0;
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct psample *s = &p->samples[i];
		struct tree_node *node = root;
		size_t depth;

		if (!selection_match(p, sel, s))
			continue;
		*total += s->value;
		root->total += s->value;
		root->total_count += s->count;
		depth = stack_frames(p, s->stack, frames, MAX_DEPTH);
		for (size_t k = depth; k-- > 0;) {
			node = child_of(p, node, &p->frames[frames[k]]);
			node->total += s->value;
			node->total_count += s->count;
		}
		node->self += s->value;
		node->self_count += s->count;
	}
	free(frames);
	return root;
}

static int
cmp_node(const void *a, const void *b)
{
	const struct tree_node *x = *(struct tree_node *const *)a;
	const struct tree_node *y = *(struct tree_node *const *)b;

	return (x->total < y->total) - (x->total > y->total);
}

void
tree_sort(struct tree_node *n)
{
	if (n->n > 1)
		qsort(n->children, n->n, sizeof *n->children, cmp_node);
	for (size_t i = 0; i < n->n; i++)
		tree_sort(n->children[i]);
}

void
tree_free(struct tree_node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++)
		tree_free(n->children[i]);
	free(n->children);
	free(n);
}

/* ---- threads ---- */

static int
cmp_thread(const void *a, const void *b)
{
	const struct thread_stat *x = a, *y = b;

	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

void
analyze_threads(const struct profile *p, const struct selection *sel, struct thread_table *out)
{
	struct selection all = *sel;
	struct hashmap index;
	size_t cap = 0;

	all.cls = -1;
	memset(out, 0, sizeof *out);
	hashmap_init(&index);
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct psample *s = &p->samples[i];
		uintptr_t at;

		if (!selection_match(p, &all, s))
			continue;
		at = (uintptr_t)hashmap_get(&index, s->tid);
		if (at == 0) {
			GROW(out->threads, cap, out->n + 1);
			memset(&out->threads[out->n], 0, sizeof out->threads[0]);
			out->threads[out->n].tid = s->tid;
			at = ++out->n;
			hashmap_put(&index, s->tid, (void *)at);
		}
		out->threads[at - 1].total += s->value;
		out->threads[at - 1].count += s->count;
		out->threads[at - 1].by_class[s->class] += s->value;
		out->total += s->value;
		out->count += s->count;
		out->by_class[s->class] += s->value;
	}
	if (out->n > 0)
		qsort(out->threads, out->n, sizeof *out->threads, cmp_thread);
	hashmap_release(&index);
}

void
thread_table_release(struct thread_table *t)
{
	free(t->threads);
	memset(t, 0, sizeof *t);
}

const char *
thread_table_class_shares(const struct thread_table *t, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int c = 0; c < CLASS_COUNT && len < n; c++)
		if (t->by_class[c] > 0)
			len += (size_t)snprintf(buf + len, n - len, "%s%s %.1f%%", len ? ", " : "",
						class_name((enum sample_class)c),
						format_share(t->by_class[c], t->total));
	return buf;
}

void
analyze_type_totals(const struct profile *p, uint64_t value[PT_COUNT], uint64_t count[PT_COUNT])
{
	memset(value, 0, PT_COUNT * sizeof *value);
	memset(count, 0, PT_COUNT * sizeof *count);
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct psample *s = &p->samples[i];

		if (s->type < PT_COUNT) {
			value[s->type] += s->value;
			count[s->type] += s->count;
		}
	}
}
