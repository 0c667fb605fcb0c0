/* export.c: folded stacks and speedscope documents. */
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
	return sel->cls < 0 ? "wall" : class_name((enum sample_class)sel->cls);
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
	uint64_t count;
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
		r->count += s->count;
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

/* ---- speedscope ---- */

struct ss_thread {
	uint32_t tid;
	json_t *samples, *weights;
	uint64_t total;
};

json_t *
export_speedscope(const struct session_data *d, const struct selection *sel, const char *name)
{
	const struct profile *p = &d->prof;
	uint64_t period = (uint64_t)(1e9 / export_rate(d));
	json_t *doc = json_object(), *shared = json_object(), *frames = json_array();
	json_t *profiles = json_array();
	struct hashmap frame_index, thread_index;
	struct ss_thread *threads = NULL;
	size_t n_threads = 0, cap_threads = 0;
	uint32_t *fr = xmalloc(MAX_DEPTH * sizeof *fr);

	hashmap_init(&frame_index);
	hashmap_init(&thread_index);
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct psample *s = &p->samples[i];
		struct ss_thread *t;
		json_t *stack;
		size_t depth;
		void *v;

		if (!selection_match(p, sel, s))
			continue;
		v = hashmap_get(&thread_index, s->tid);
		if (v == NULL) {
			GROW(threads, cap_threads, n_threads + 1);
			threads[n_threads] = (struct ss_thread){ s->tid, json_array(), json_array(), 0 };
			hashmap_put(&thread_index, s->tid, (void *)(uintptr_t)++n_threads);
			v = (void *)(uintptr_t)n_threads;
		}
		t = &threads[(uintptr_t)v - 1];
		depth = stack_frames(p, s->stack, fr, MAX_DEPTH);
		stack = json_array();
		for (size_t k = depth; k-- > 0;) {
			const struct pframe *pf = &p->frames[fr[k]];
			void *fv = hashmap_get(&frame_index, fr[k]);

			if (fv == NULL) {
				json_t *o = json_object();
				const char *fn = profile_str(p, pf->function);

				json_object_set_new(o, "name", json_string(*fn ? text_utf8(fn) : "[unknown]"));
				if (pf->file) {
					json_object_set_new(o, "file",
							    json_string(text_utf8(profile_str(p, pf->file))));
					if (pf->line > 0)
						json_object_set_new(o, "line", json_integer(pf->line));
				}
				json_array_append_new(frames, o);
				fv = (void *)(uintptr_t)json_array_size(frames);
				hashmap_put(&frame_index, fr[k], fv);
			}
			json_array_append_new(stack, json_integer((json_int_t)(uintptr_t)fv - 1));
		}
		json_array_append_new(t->samples, stack);
		json_array_append_new(t->weights, json_integer((json_int_t)(s->count * period)));
		t->total += s->count * period;
	}
	for (size_t i = 0; i < n_threads; i++) {
		json_t *prof = json_object();
		char title[160];

		snprintf(title, sizeof title, "%s (%u)", profile_thread_name(p, threads[i].tid),
			 threads[i].tid);
		json_object_set_new(prof, "type", json_string("sampled"));
		json_object_set_new(prof, "name", json_string(text_utf8(title)));
		json_object_set_new(prof, "unit", json_string("nanoseconds"));
		json_object_set_new(prof, "startValue", json_integer(0));
		json_object_set_new(prof, "endValue", json_integer((json_int_t)threads[i].total));
		json_object_set_new(prof, "samples", threads[i].samples);
		json_object_set_new(prof, "weights", threads[i].weights);
		json_array_append_new(profiles, prof);
	}
	json_object_set_new(doc, "$schema",
			    json_string("https://www.speedscope.app/file-format-schema.json"));
	json_object_set_new(shared, "frames", frames);
	json_object_set_new(doc, "shared", shared);
	json_object_set_new(doc, "profiles", profiles);
	json_object_set_new(doc, "name", json_string(text_utf8(name)));
	json_object_set_new(doc, "activeProfileIndex", json_integer(0));
	json_object_set_new(doc, "exporter", json_string("siprof " PACKAGE_VERSION));
	hashmap_release(&frame_index);
	hashmap_release(&thread_index);
	free(threads);
	free(fr);
	return doc;
}
