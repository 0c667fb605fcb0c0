/* export-folded.c: folded stacks, and what every export shares. */
#include "config.h"

#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "text.h"
#include "util.h"

#define MAX_DEPTH 4096

double
export_rate(const struct session_data *d)
{
	const char *r = session_meta(d, "rate_hz");
	double hz;

	return r != NULL && parse_number(r, NUM_FRACTION | NUM_EXPONENT, 1, 1000, &hz, NULL) ? hz : 99;
}

const char *
export_class_name(const struct selection *sel)
{
	if (!ptype_get(sel->type)->classed)
		return ptype_get(sel->type)->name;
	return sel->cls < 0 ? "wall" : class_name((enum sample_class)sel->cls);
}

const char *
export_title_name(const struct selection *sel)
{
	const struct ptype *pt = ptype_get(sel->type);

	return pt->classed ? export_class_name(sel) : pt->desc;
}

static void
put_name(FILE *f, const char *name)
{
	/* ';' separates frames and the last ' ' the count: keep ';' out of
	 * names (a space inside a name is fine: the count is after the last),
	 * and newlines and other controls escaped. */
	for (const char *c = text_safe(name); *c != '\0'; c++)
		putc(*c == ';' ? ':' : *c, f);
}

/* One row per (thread or 0, class or 0, stack). */
struct folded_row {
	uint32_t tid, cls, stack;
	uint64_t count; /* the sum of values */
};

static int
cmp_rows(const void *a, const void *b)
{
	const struct folded_row *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	return (x->stack > y->stack) - (x->stack < y->stack);
}

void
export_folded(FILE *f, const struct profile *p, const struct selection *sel,
	      const struct export_prefix *prefix)
{
	struct hashmap index;
	struct folded_row *rows = NULL;
	size_t n = 0, cap = 0;
	uint32_t *frames = xmalloc(MAX_DEPTH * sizeof *frames);

	hashmap_init(&index);
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct psample *s = &p->samples[i];
		uint32_t tid = prefix->thread ? s->tid : 0, cls = prefix->cls ? s->class + 1u : 0;
		uint64_t key = (uint64_t)s->stack << 32 ^ (uint64_t)tid << 5 ^ cls;
		struct folded_row *r = NULL;
		void *v;

		if (!selection_match(p, sel, s))
			continue;
		/* Probe on the key until the row matches or a free slot. */
		for (key = key ? key : 1; (v = hashmap_get(&index, key)) != NULL; key = key + 1 ? key + 1 : 1) {
			r = &rows[(uintptr_t)v - 1];
			if (r->tid == tid && r->cls == cls && r->stack == s->stack)
				break;
			r = NULL;
		}
		if (r == NULL) {
			GROW(rows, cap, n + 1);
			rows[n] = (struct folded_row){ tid, cls, s->stack, 0 };
			hashmap_put(&index, key, (void *)(uintptr_t)(n + 1));
			r = &rows[n++];
		}
		r->count += s->value;
	}
	if (n > 1)
		qsort(rows, n, sizeof *rows, cmp_rows);
	for (size_t i = 0; i < n; i++) {
		size_t depth = stack_frames(p, rows[i].stack, frames, MAX_DEPTH);
		bool first = true;

		if (prefix->thread) {
			char tid[32];

			put_name(f, profile_thread_name(p, rows[i].tid));
			snprintf(tid, sizeof tid, " (%u)", rows[i].tid);
			fputs(tid, f);
			first = false;
		}
		if (prefix->cls) {
			if (!first)
				putc(';', f);
			fputs(class_name((enum sample_class)(rows[i].cls - 1)), f);
			first = false;
		}
		for (size_t k = depth; k-- > 0;) {
			const char *name = profile_str(p, p->frames[frames[k]].function);

			if (!first)
				putc(';', f);
			put_name(f, *name ? name : "[unknown]");
			first = false;
		}
		fprintf(f, " %llu\n", (unsigned long long)rows[i].count);
	}
	hashmap_release(&index);
	free(rows);
	free(frames);
}
