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
	"Shares are of all thread-samples in each session, so sessions of\n"
	"different lengths, rates or thread counts compare fairly. A function is\n"
	"the same in both when its name and its module's path are.\n"
	"\n"
	"Options:\n"
	"      --type=TYPE        the profile type: samples (thread-samples, the default),\n"
	"                         alloc, inuse, duration, errors, crashes (shares of its values)\n"
	"  -c, --class=CLASS      only samples of CLASS (cpu, lock, net, ...); wall (default) is all\n"
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
	selection_init(&o->sel);
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
	if (argc - optind != 2)
		return cmd_usage_error("diff", "give two session files: BASE and NEW");
	if (o->sel.cls >= 0 && !ptype_get(o->sel.type)->classed)
		return cmd_usage_error("diff", "--class goes with --type=samples; %s samples have no class",
				       ptype_get(o->sel.type)->name);
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

static int
write_svg(const struct diff_opts *o, const struct session_data *base,
	  const struct session_data *new)
{
	const char *comm = session_meta(new, "comm");
	char *title = xasprintf("%s: %s, %s against %s", comm ? comm : "?",
				export_class_name(&o->sel), path_basename(o->new),
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

	if (o.json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n && i < o.top; i++)
			json_array_append_new(arr, json_pack(
				"{s:s, s:s?, s:f, s:f, s:f, s:f, s:f, s:f}", "function", text_utf8(rows[i].name),
				"module", *rows[i].module ? text_utf8(rows[i].module) : NULL,
				"base_self_percent", rows[i].base_self, "new_self_percent", rows[i].new_self,
				"self_change", rows[i].new_self - rows[i].base_self,
				"base_total_percent", rows[i].base_total,
				"new_total_percent", rows[i].new_total,
				"total_change", rows[i].new_total - rows[i].base_total));
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	} else {
		const struct ptype *pt = ptype_get(o.sel.type);

		if (pt->classed)
			printf("%s: %s against %s (shares of all thread-samples)\n\n",
			       export_class_name(&o.sel), text_safe(o.new), text_safe(o.base));
		else
			printf("%s: %s against %s (shares of all %s)\n\n", pt->desc, text_safe(o.new),
			       text_safe(o.base), pt->weighted ? pt->unit : pt->desc);
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
	strset_release(&names);
	session_data_release(&base);
	session_data_release(&new);
	return rc;
}
