/* cmd-diff.c: siprof diff BASE NEW — which functions' shares changed. */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "export.h"
#include "export-svg.h"
#include "format.h"
#include "hashmap.h"
#include "session.h"
#include "text.h"
#include "util.h"

const char cmd_diff_usage[] =
	"usage: siprof diff [OPTIONS] BASE NEW\n"
	"\n"
	"Compare two session files: the functions whose share of the samples grew\n"
	"or shrank from BASE to NEW, largest change first, with both values.\n"
	"Shares are of the class's thread-samples in each session (cpu unless -c\n"
	"says another), so sessions of different lengths, rates or thread counts\n"
	"compare fairly; the header gives every class's share in both. A function\n"
	"is the same in both when its name and its module's path are.\n"
	"\n"
	"Options:\n"
	"      --type=TYPE        the profile type: samples (thread-samples, the default),\n"
	"                         alloc, inuse, duration, errors, crashes (shares of its values)\n"
	"  -c, --class=CLASS      only samples of CLASS: " CMD_CLASS_DEFAULT_NAME " (default), lock, net, ...;\n"
	"                         wall is every class\n"
	"  -n, --top=N            functions to list (default 20)\n"
	"      --sort=KEY         order by the change in self (default) or total share\n"
	"      --svg=OUT          also write a differential flame graph (red grew, blue shrank)\n"
	"  -j, --json             print JSON\n"
	"  -h, --help             show this help\n";

struct diff_opts {
	struct selection sel;
	size_t top;
	bool sort_total, json;
	const char *svg, *base, *new;
};

struct fdiff {
	const char *key;  /* the merge rule's text, owned by the set of keys */
	const char *name; /* the function, the module's file name: in key */
	const char *module;
	double base_self, base_total, new_self, new_total; /* percent */
};

static int
parse(int argc, char **argv, struct diff_opts *o)
{
	enum { OPT_SORT = 256, OPT_SVG };
	static const struct option longopts[] = {
		{ "type", required_argument, NULL, CMD_OPT_TYPE },
		{ "class", required_argument, NULL, 'c' },
		{ "top", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int ch;

	memset(o, 0, sizeof *o);
	cmd_selection_init(&o->sel);
	o->top = 20;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:n:jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (cmd_opt_class("diff", optarg, &o->sel.cls) != 0)
				return EXIT_USAGE;
			break;
		case 'n':
			if (!parse_long(optarg, 1, 1000000, &v))
				return cmd_usage_error("diff", "--top takes a positive number, not '%s'", optarg);
			o->top = (size_t)v;
			break;
		case OPT_SORT:
			if (strcmp(optarg, "self") != 0 && strcmp(optarg, "total") != 0)
				return cmd_usage_error("diff", "--sort takes self or total, not '%s'", optarg);
			o->sort_total = strcmp(optarg, "total") == 0;
			break;
		case OPT_SVG: o->svg = optarg; break;
		case CMD_OPT_TYPE:
			if (cmd_opt_selection("diff", ch, optarg, &o->sel) != 1)
				return EXIT_USAGE;
			break;
		case 'j': o->json = true; break;
		case 'h':
			fputs(cmd_diff_usage, stdout);
			return -1;
		default:
			return cmd_bad_option("diff", ch, argv);
		}
	}
	if ((ch = cmd_selection_check("diff", &o->sel, argc - optind)) != 0)
		return ch;
	if (argc - optind != 2)
		return cmd_usage_error("diff", "give two session files: BASE and NEW");
	o->base = argv[optind];
	o->new = argv[optind + 1];
	return 0;
}

/* Fold one session's functions into the table, by the merge rule. */
static void
collect(const struct session_data *d, const struct selection *sel, bool is_new,
	struct strset *names, struct fdiff **rows, size_t *cap)
{
	struct func_table ft;

	analyze_functions(&d->prof, sel, false, false, &ft);
	for (size_t i = 0; i < ft.n; i++) {
		const struct func_stat *f = &ft.funcs[i];
		double self = format_share(f->self, ft.total);
		double total = format_share(f->total, ft.total);
		char *key = profile_func_text(&d->prof, f->function, f->module);
		bool added;
		size_t id = strset_add(names, key, &added);
		struct fdiff *r;

		free(key);
		if (added) {
			char *sep;

			GROW(*rows, *cap, id + 1);
			memset(&(*rows)[id], 0, sizeof **rows);
			(*rows)[id].key = names->strs[id];
			/* The key holds both halves: name them in place. */
			sep = strchr(names->strs[id], '\x1f');
			(*rows)[id].name = xasprintf("%.*s", (int)(sep - names->strs[id]), names->strs[id]);
			(*rows)[id].module = path_basename(sep + 1);
		}
		r = &(*rows)[id];
		/* One function may be several (static ones in different files
		 * of one module): their shares add up. */
		if (is_new) {
			r->new_self += self;
			r->new_total += total;
		} else {
			r->base_self += self;
			r->base_total += total;
		}
	}
	func_table_release(&ft);
}

static bool sort_by_total;

static int
cmp_change(const void *a, const void *b)
{
	const struct fdiff *x = a, *y = b;
	double dx = sort_by_total ? x->new_total - x->base_total : x->new_self - x->base_self;
	double dy = sort_by_total ? y->new_total - y->base_total : y->new_self - y->base_self;

	if (fabs(dx) != fabs(dy))
		return fabs(dx) > fabs(dy) ? -1 : 1;
	return strcmp(x->key, y->key);
}

static json_t *
side_json(const char *file, const struct thread_table *tt, const struct ptype *pt)
{
	bool classed = pt->classed;
	json_t *o = json_pack("{s:s}", "file", text_utf8(file));
	json_t *count = json_object(), *share = json_object();

	for (int c = 0; classed && c < CLASS_COUNT; c++) {
		if (tt->by_class[c] == 0)
			continue;
		json_object_set_new(count, class_name((enum sample_class)c),
				    json_integer((json_int_t)tt->by_class[c]));
		json_object_set_new(share, class_name((enum sample_class)c),
				    json_real(format_share(tt->by_class[c], tt->total)));
	}
	json_object_set_new(o, "total", json_integer((json_int_t)tt->total));
	/* What the total is over: objects, calls. */
	if (pt->weighted)
		json_object_set_new(o, "count", json_integer((json_int_t)tt->count));
	if (classed) {
		json_object_set_new(o, "classes", count);
		json_object_set_new(o, "class_percent", share);
	} else {
		json_decref(count);
		json_decref(share);
	}
	return o;
}

static int
write_svg(const struct diff_opts *o, const struct session_data *base,
	  const struct session_data *new)
{
	const char *comm = session_meta(new, "comm");
	char *title = xasprintf("%s: %s, %s against %s", comm ? comm : "?",
				export_title_name(&o->sel), path_basename(o->new),
				path_basename(o->base));
	struct flame_opts fo = { .title = title };
	struct cmd_output out;
	int rc = EXIT_ERROR;

	if (cmd_output_open(&out, o->svg)) {
		flame_write_diff_svg(out.f, base, &o->sel, new, &o->sel, &fo);
		rc = cmd_output_close(&out);
	}
	free(title);
	return rc;
}

int
cmd_diff(int argc, char **argv)
{
	struct diff_opts o;
	struct session_data base, new;
	struct strset names;
	struct fdiff *rows = NULL;
	struct thread_table tt_base, tt_new;
	size_t n = 0, cap = 0;
	int rc;

	rc = parse(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (cmd_load_session(o.base, &base) != EXIT_OK)
		return EXIT_BADFILE;
	if (cmd_load_session(o.new, &new) != EXIT_OK) {
		session_data_release(&base);
		return EXIT_BADFILE;
	}
	strset_init(&names);
	collect(&base, &o.sel, false, &names, &rows, &cap);
	collect(&new, &o.sel, true, &names, &rows, &cap);
	n = names.n;
	sort_by_total = o.sort_total;
	if (n > 1)
		qsort(rows, n, sizeof *rows, cmp_change);

	/* Every class's share in both, for the header. */
	analyze_threads(&base.prof, &o.sel, &tt_base);
	analyze_threads(&new.prof, &o.sel, &tt_new);
	if (o.json) {
		json_t *doc = json_object(), *arr = json_array();
		const struct ptype *pt = ptype_get(o.sel.type);

		for (size_t i = 0; i < n && i < o.top; i++)
			json_array_append_new(arr, json_pack(
				"{s:s, s:s?, s:f, s:f, s:f, s:f, s:f, s:f}", "function", text_utf8(rows[i].name),
				"module", *rows[i].module ? text_utf8(rows[i].module) : NULL,
				"base_self_percent", rows[i].base_self, "new_self_percent", rows[i].new_self,
				"self_change", rows[i].new_self - rows[i].base_self,
				"base_total_percent", rows[i].base_total,
				"new_total_percent", rows[i].new_total,
				"total_change", rows[i].new_total - rows[i].base_total));
		json_object_set_new(doc, "type", json_string(pt->name));
		json_object_set_new(doc, "unit", json_string(pt->classed ? "samples" : pt->unit));
		json_object_set_new(doc, "class", json_string(export_class_name(&o.sel)));
		json_object_set_new(doc, "base", side_json(o.base, &tt_base, pt));
		json_object_set_new(doc, "new", side_json(o.new, &tt_new, pt));
		json_object_set_new(doc, "functions", arr);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(doc);
	} else {
		const struct ptype *pt = ptype_get(o.sel.type);
		char buf[512];

		if (pt->classed && o.sel.cls >= 0)
			printf("%s: %s against %s (shares of each session's %s thread-samples; "
			       "-c wall for every class)\n",
			       export_class_name(&o.sel), text_safe(o.new), text_safe(o.base),
			       export_class_name(&o.sel));
		else if (pt->classed)
			printf("wall (all classes): %s against %s (shares of all thread-samples)\n",
			       text_safe(o.new), text_safe(o.base));
		else
			printf("%s: %s against %s (shares of all %s)\n", pt->desc, text_safe(o.new),
			       text_safe(o.base), pt->weighted ? pt->unit : pt->desc);
		if (pt->weighted && strcmp(pt->unit, "bytes") == 0) {
			char b[32], nw[32];

			/* Shares hide how much: the sizes, and what they are over. */
			format_bytes((double)tt_base.total, b, sizeof b);
			format_bytes((double)tt_new.total, nw, sizeof nw);
			printf("sizes     base %s in %llu %s, new %s in %llu %s\n", b,
			       (unsigned long long)tt_base.count, pt->count_unit, nw,
			       (unsigned long long)tt_new.count, pt->count_unit);
		}
		if (pt->classed) {
			printf("classes   base %s  (of %llu thread-samples)\n",
			       thread_table_class_shares(&tt_base, buf, sizeof buf),
			       (unsigned long long)tt_base.total);
			printf("          new  %s  (of %llu thread-samples)\n",
			       thread_table_class_shares(&tt_new, buf, sizeof buf),
			       (unsigned long long)tt_new.total);
		}
		putchar('\n');
		printf("%-25s %-25s\n", "       self share", "       total share");
		printf("%7s %7s %9s  %7s %7s %9s  %s\n", "base", "new", "change", "base", "new",
		       "change", "function [module]");
		for (size_t i = 0; i < n && i < o.top; i++)
			printf("%6.1f%% %6.1f%% %+8.1f  %6.1f%% %6.1f%% %+8.1f  %s%s%s%s\n", rows[i].base_self,
			       rows[i].new_self, rows[i].new_self - rows[i].base_self, rows[i].base_total,
			       rows[i].new_total, rows[i].new_total - rows[i].base_total,
			       text_safe(rows[i].name), *rows[i].module ? " [" : "",
			       text_safe(rows[i].module), *rows[i].module ? "]" : "");
		if (n == 0)
			printf("  (no samples in either session)\n");
	}
	rc = cmd_finish_output() ? EXIT_OK : EXIT_ERROR;
	if (rc == EXIT_OK && o.svg != NULL)
		rc = write_svg(&o, &base, &new);
	for (size_t i = 0; i < n; i++)
		free((char *)rows[i].name);
	free(rows);
	thread_table_release(&tt_base);
	thread_table_release(&tt_new);
	strset_release(&names);
	session_data_release(&base);
	session_data_release(&new);
	return rc;
}
