/* export-svg.c: flame graphs: merge stacks into a tree of names, lay it out, write the SVG
 * with its script. */
#include "config.h"

#include "export-svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "hashmap.h"
#include "text.h"
#include "util.h"

#define MAX_DEPTH 4096
#define WIDTH 1200.0
#define MARGIN 10.0
#define FRAME_H 16
#define HEADER 56
#define FOOTER 28
#define MIN_PX 0.3 /* narrower frames (and what is above them) are left out */

struct fnode {
	uint32_t name;           /* index into the tree's names */
	uint32_t child, sibling; /* first child, next sibling (0: none) */
	uint64_t value;          /* the values at or above this frame */
	uint64_t count;          /* and their counts (objects, calls) */
	double base_share;       /* differential: the share in the base, or -1 */
};

struct ftree {
	struct fnode *nodes; /* [0] is the root (all samples) */
	size_t n, cap;
	struct hashmap kids; /* (parent << 32 | name) -> node */
	struct strset names; /* keys: profile_func_text for frames */
	char **shown;        /* by name id: the text a frame shows */
	size_t cap_shown;
	const char *unit;    /* of values: "samples", "bytes", ... */
	const char *count_unit; /* of counts, for a weighted type ("objects"); else NULL */
};

static void
ftree_init(struct ftree *t)
{
	memset(t, 0, sizeof *t);
	hashmap_init(&t->kids);
	strset_init(&t->names);
	GROW(t->nodes, t->cap, 1);
	t->nodes[0] = (struct fnode){ .base_share = -1 };
	t->n = 1;
}

static void
ftree_release(struct ftree *t)
{
	for (size_t i = 0; i < t->names.n; i++)
		free(t->shown[i]);
	free(t->shown);
	strset_release(&t->names);
	free(t->nodes);
	hashmap_release(&t->kids);
}

/* The id of a name by its key; a frame shows its key up to the unit
 * separator (the function without its module). */
static uint32_t
ftree_name(struct ftree *t, const char *key)
{
	bool added;
	size_t id = strset_add(&t->names, key, &added);

	if (added) {
		GROW(t->shown, t->cap_shown, id + 1);
		t->shown[id] = xstrdup(key);
		t->shown[id][strcspn(key, "\x1f")] = '\0';
	}
	return (uint32_t)id;
}

static uint32_t
ftree_child(struct ftree *t, uint32_t parent, uint32_t name, bool create)
{
	uint64_t key = (uint64_t)parent << 32 | name;
	void *v = hashmap_get(&t->kids, key + 1);

	if (v != NULL || !create)
		return (uint32_t)(uintptr_t)v;
	GROW(t->nodes, t->cap, t->n + 1);
	t->nodes[t->n] = (struct fnode){ .name = name, .sibling = t->nodes[parent].child,
					 .base_share = -1 };
	t->nodes[parent].child = (uint32_t)t->n;
	hashmap_put(&t->kids, key + 1, (void *)(uintptr_t)t->n);
	return (uint32_t)t->n++;
}

/* Every matching sample of p, its value, merged along its path by the
 * profile's rule for the same function (name and module path). */
static void
ftree_fill(struct ftree *t, const struct profile *p, const struct selection *sel,
	   const struct export_prefix *prefix)
{
	uint32_t *frames = xmalloc(MAX_DEPTH * sizeof *frames);
	const struct ptype *pt = ptype_get(sel->type);

	t->unit = pt->classed ? "samples" : pt->unit;
	t->count_unit = pt->weighted ? pt->count_unit : NULL;
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct psample *s = &p->samples[i];
		size_t depth;
		uint32_t at = 0;

		if (!selection_match(p, sel, s))
			continue;
		t->nodes[0].value += s->value;
		t->nodes[0].count += s->count;
		if (prefix != NULL && prefix->thread) {
			char buf[160];

			snprintf(buf, sizeof buf, "%s (%u)", profile_thread_name(p, s->tid), s->tid);
			at = ftree_child(t, at, ftree_name(t, buf), true);
			t->nodes[at].value += s->value;
			t->nodes[at].count += s->count;
		}
		if (prefix != NULL && prefix->cls) {
			at = ftree_child(t, at, ftree_name(t, class_name((enum sample_class)s->class)),
					 true);
			t->nodes[at].value += s->value;
			t->nodes[at].count += s->count;
		}
		depth = stack_frames(p, s->stack, frames, MAX_DEPTH);
		for (size_t k = depth; k-- > 0;) {
			const struct pframe *f = &p->frames[frames[k]];
			/* The whole key: names that differ only past a cut are not merged. */
			char *key = profile_func_text(p, f->function, f->module);

			at = ftree_child(t, at, ftree_name(t, key), true);
			free(key);
			t->nodes[at].value += s->value;
			t->nodes[at].count += s->count;
		}
	}
	free(frames);
}

/* Differential: each node of t gets the share its path has in base. */
static void
ftree_compare(struct ftree *t, uint32_t at, const struct ftree *base, uint32_t base_at,
	      bool in_base)
{
	double btotal = base->nodes[0].value ? (double)base->nodes[0].value : 1;

	t->nodes[at].base_share = in_base ? (double)base->nodes[base_at].value / btotal : 0;
	for (uint32_t c = t->nodes[at].child; c != 0; c = t->nodes[c].sibling) {
		uint32_t bc = 0;

		if (in_base) {
			/* Names differ between the trees: look the text up. */
			long name = strset_find(&base->names, t->names.strs[t->nodes[c].name]);

			if (name >= 0) {
				uint64_t key = (uint64_t)base_at << 32 | (uint32_t)name;

				bc = (uint32_t)(uintptr_t)hashmap_get(&base->kids, key + 1);
			}
		}
		ftree_compare(t, c, base, bc, in_base && bc != 0);
	}
}

/* ---- output ---- */

/* Characters (not bytes) of s, which is valid UTF-8. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* The first max characters of s as XML character data. Names are made
 * safe as text_safe does first: XML allows neither invalid UTF-8 nor C0
 * controls other than tab and newlines, not even as character references. */
static void
xml_text(FILE *f, const char *s, size_t max)
{
	size_t n = 0;

	for (s = text_safe(s); *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		/* Cut before a character, never inside one. */
		if ((c & 0xc0) != 0x80 && n++ == max)
			break;
		switch (c) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default: putc(c, f); break;
		}
	}
}

static void
color(const struct ftree *t, const struct fnode *n, bool diff, char *buf, size_t len)
{
	if (diff) {
		double now = (double)n->value / (double)(t->nodes[0].value ? t->nodes[0].value : 1);
		double delta = now - n->base_share;
		/* Full colour at a change of 10 points of share or more. */
		int k = (int)fmin(220.0, fabs(delta) / 0.10 * 220.0);

		if (delta > 0)
			snprintf(buf, len, "rgb(255,%d,%d)", 255 - k, 255 - k);
		else
			snprintf(buf, len, "rgb(%d,%d,255)", 255 - k, 255 - k);
		return;
	}
	{
		const char *name = t->shown[n->name];
		uint32_t h = (uint32_t)hash_bytes(name, strlen(name), 0);

		snprintf(buf, len, "rgb(%u,%u,%u)", 205 + (h & 0xff) * 50 / 255,
			 (h >> 8 & 0xff) * 230 / 255, (h >> 16 & 0xff) * 55 / 255);
	}
}

struct layout {
	FILE *f;
	const struct ftree *t;
	bool icicle, diff;
	int height;
};

static int
max_depth(const struct ftree *t, uint32_t at, int depth, double px_per)
{
	int best = depth;

	for (uint32_t c = t->nodes[at].child; c != 0; c = t->nodes[c].sibling) {
		if ((double)t->nodes[c].value * px_per < MIN_PX)
			continue;
		int d = max_depth(t, c, depth + 1, px_per);

		if (d > best)
			best = d;
	}
	return best;
}

static void
emit(struct layout *l, uint32_t at, int depth, uint64_t x)
{
	const struct fnode *n = &l->t->nodes[at];
	double total = (double)l->t->nodes[0].value;
	double px = MARGIN + (double)x / total * WIDTH, w = (double)n->value / total * WIDTH;
	int y = l->icicle ? HEADER + depth * FRAME_H : l->height - FOOTER - (depth + 1) * FRAME_H;
	const char *name = at == 0 ? "all" : l->t->shown[n->name];
	char fill[48];
	uint64_t cx = x;

	color(l->t, n, l->diff && at != 0, fill, sizeof fill);
	if (at == 0 && !l->diff)
		snprintf(fill, sizeof fill, "rgb(220,220,220)");
	fprintf(l->f, "<g class=\"f\" data-n=\"");
	xml_text(l->f, name, SIZE_MAX);
	fprintf(l->f, "\" data-v=\"%llu\" data-x=\"%llu\" data-d=\"%d\"",
		(unsigned long long)n->value, (unsigned long long)x, depth);
	if (l->diff)
		fprintf(l->f, " data-b=\"%.6f\"", n->base_share < 0 ? 0 : n->base_share);
	if (l->t->count_unit != NULL)
		fprintf(l->f, " data-o=\"%llu\"", (unsigned long long)n->count);
	fprintf(l->f, "><title>");
	xml_text(l->f, name, SIZE_MAX);
	/* Sizes as people read them, with the objects they are over. */
	if (strcmp(l->t->unit, "bytes") == 0) {
		char size[32];

		format_bytes((double)n->value, size, sizeof size);
		fprintf(l->f, " (%s", size);
	} else {
		fprintf(l->f, " (%llu %s", (unsigned long long)n->value, l->t->unit);
	}
	if (l->t->count_unit != NULL)
		fprintf(l->f, " in %llu %s", (unsigned long long)n->count, l->t->count_unit);
	fprintf(l->f, ", %.2f%%)</title>", 100.0 * (double)n->value / total);
	fprintf(l->f, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\" "
		      "rx=\"2\"/><text x=\"%.2f\" y=\"%d\">",
		px, y, w, FRAME_H - 1, fill, px + 3, y + FRAME_H - 4);
	if (w > 21) {
		size_t chars = (size_t)((w - 6) / 7);

		if (utf8_chars(text_safe(name)) <= chars) {
			xml_text(l->f, name, chars);
		} else {
			xml_text(l->f, name, chars - 2);
			fputs("..", l->f);
		}
	}
	fprintf(l->f, "</text></g>\n");
	for (uint32_t c = n->child; c != 0; c = l->t->nodes[c].sibling) {
		if ((double)l->t->nodes[c].value / total * WIDTH >= MIN_PX)
			emit(l, c, depth + 1, cx);
		cx += l->t->nodes[c].value;
	}
}

/* The script (src/flame.js), as a C string generated at build time. */
static const char flame_js[] =
#include "flame-js.h"
	;

static void
write_svg(FILE *f, const struct ftree *t, const struct flame_opts *o, bool diff,
	  const char *subtitle)
{
	struct layout l = { .f = f, .t = t, .icicle = o->icicle, .diff = diff };
	double px_per = t->nodes[0].value ? WIDTH / (double)t->nodes[0].value : 0;
	int depth = t->nodes[0].value ? max_depth(t, 0, 0, px_per) : 0;

	l.height = HEADER + (depth + 1) * FRAME_H + FOOTER;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
		   "height=\"%d\" viewBox=\"0 0 %d %d\" data-diff=\"%d\" data-unit=\"%s\" "
		   "data-count-unit=\"%s\">\n",
		(int)(WIDTH + 2 * MARGIN), l.height, (int)(WIDTH + 2 * MARGIN), l.height, diff,
		t->unit, t->count_unit ? t->count_unit : "");
	fprintf(f, "<style>text{font-family:monospace;font-size:12px;fill:#000}"
		   "g.f text{pointer-events:none}g.f:hover rect{stroke:#000;stroke-width:0.5}"
		   "g.f{cursor:pointer}#title{font-size:17px;text-anchor:middle}"
		   "#sub{fill:#555;text-anchor:middle}#search,#matched{text-anchor:end}"
		   "#search,#unzoom{cursor:pointer;fill:#036}#unzoom{opacity:0}"
		   "g.parent rect{opacity:0.6}</style>\n");
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#fdfdf6\"/>\n");
	fprintf(f, "<text id=\"title\" x=\"%.0f\" y=\"22\">", MARGIN + WIDTH / 2);
	xml_text(f, o->title ? o->title : "siprof", SIZE_MAX);
	fprintf(f, "</text>\n<text id=\"sub\" x=\"%.0f\" y=\"40\">", MARGIN + WIDTH / 2);
	xml_text(f, subtitle, SIZE_MAX);
	fprintf(f, "</text>\n<text id=\"unzoom\" x=\"%.0f\" y=\"22\">Reset zoom</text>\n", MARGIN);
	fprintf(f, "<text id=\"search\" x=\"%.0f\" y=\"22\">Search</text>\n", MARGIN + WIDTH);
	fprintf(f, "<text id=\"matched\" x=\"%.0f\" y=\"%d\"> </text>\n", MARGIN + WIDTH,
		l.height - 8);
	fprintf(f, "<text id=\"details\" x=\"%.0f\" y=\"%d\"> </text>\n<g id=\"frames\">\n", MARGIN,
		l.height - 8);
	if (t->nodes[0].value > 0)
		emit(&l, 0, 0, 0);
	fprintf(f, "</g>\n<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n</svg>\n",
		t->nodes[0].value > 0 ? flame_js : "");
}

static char *
subtitle_of(const struct session_data *d, const struct selection *sel, uint64_t samples,
	    uint64_t count)
{
	const char *start = session_meta(d, "start"), *host = session_meta(d, "host");
	const char *pid = session_meta(d, "pid");

	const struct ptype *pt = ptype_get(sel->type);
	char share[64] = "", amount[96];
	char *sub;

	/* One class: what it is of every class, as report's headers say. */
	if (pt->classed && sel->cls >= 0) {
		struct thread_table tt;

		analyze_threads(&d->prof, sel, &tt);
		snprintf(share, sizeof share, " (%.1f%% of all classes)",
			 format_share(tt.by_class[sel->cls], tt.total));
		thread_table_release(&tt);
	}
	if (strcmp(pt->unit, "bytes") == 0) {
		/* "bytes allocated, 1.5 MiB in 30 objects" */
		char size[32];

		format_bytes((double)samples, size, sizeof size);
		snprintf(amount, sizeof amount, "%s in %llu %s", size, (unsigned long long)count,
			 pt->count_unit);
	} else {
		snprintf(amount, sizeof amount, "%llu %s", (unsigned long long)samples,
			 pt->classed ? "thread-samples" : pt->unit);
	}
	sub = xasprintf("%s, %s%s, pid %s on %s, %s, %.0f s at %s Hz",
			export_title_name(sel), amount, share, pid ? pid : "?",
			host ? host : "?", start ? start : "?", session_duration(d),
			session_meta(d, "rate_hz") ? session_meta(d, "rate_hz") : "?");
	return sub;
}

void
flame_write_svg(FILE *f, const struct session_data *d, const struct selection *sel,
		const struct flame_opts *o)
{
	struct ftree t;
	char *sub;

	ftree_init(&t);
	ftree_fill(&t, &d->prof, sel, &o->prefix);
	sub = subtitle_of(d, sel, t.nodes[0].value, t.nodes[0].count);
	write_svg(f, &t, o, false, sub);
	free(sub);
	ftree_release(&t);
}

void
flame_write_diff_svg(FILE *f, const struct session_data *base,
		     const struct selection *base_sel, const struct session_data *new,
		     const struct selection *new_sel, const struct flame_opts *o)
{
	struct ftree b, t;
	char *sub;

	ftree_init(&b);
	ftree_init(&t);
	ftree_fill(&b, &base->prof, base_sel, &o->prefix);
	ftree_fill(&t, &new->prof, new_sel, &o->prefix);
	ftree_compare(&t, 0, &b, 0, b.nodes[0].value > 0);
	if (strcmp(t.unit, "bytes") == 0) {
		char now[32], was[32];

		format_bytes((double)t.nodes[0].value, now, sizeof now);
		format_bytes((double)b.nodes[0].value, was, sizeof was);
		sub = xasprintf("%s: %s against %s in the base; red grew, blue shrank "
				"(share of the total)",
				export_title_name(new_sel), now, was);
	} else {
		sub = xasprintf("%s: %llu %s against %llu in the base; red grew, blue shrank "
				"(share of the total)",
				export_title_name(new_sel), (unsigned long long)t.nodes[0].value,
				ptype_get(new_sel->type)->classed ? "thread-samples" : t.unit,
				(unsigned long long)b.nodes[0].value);
	}
	write_svg(f, &t, o, true, sub);
	free(sub);
	ftree_release(&b);
	ftree_release(&t);
}
