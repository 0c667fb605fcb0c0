/* export-speedscope.c: speedscope's JSON file format. */
#include "config.h"

#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "text.h"
#include "util.h"

#define MAX_DEPTH 4096

struct ss_thread {
	uint32_t tid;
	json_t *samples, *weights;
	uint64_t total;
};

/* The speedscope unit of a type's unit. */
static const char *
speedscope_unit(const char *unit)
{
	return strcmp(unit, "bytes") == 0 || strcmp(unit, "nanoseconds") == 0 ? unit : "none";
}

json_t *
export_speedscope(const struct session_data *d, const struct selection *sel, const char *name)
{
	const struct profile *p = &d->prof;
	const struct ptype *pt = ptype_get(sel->type);
	/* A thread-sample weighs one period; other values are in their unit. */
	uint64_t period = pt->classed ? (uint64_t)(1e9 / export_rate(d)) : 1;
	const char *unit = pt->classed ? "nanoseconds" : speedscope_unit(pt->unit);
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
		json_array_append_new(t->weights, json_integer((json_int_t)(s->value * period)));
		t->total += s->value * period;
	}
	for (size_t i = 0; i < n_threads; i++) {
		json_t *prof = json_object();
		char title[160];

		/* speedscope shows the profile's name as its title: the class too. */
		snprintf(title, sizeof title, "%s (%u), %s", profile_thread_name(p, threads[i].tid),
			 threads[i].tid, export_title_name(sel));
		json_object_set_new(prof, "type", json_string("sampled"));
		json_object_set_new(prof, "name", json_string(text_utf8(title)));
		json_object_set_new(prof, "unit", json_string(unit));
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
