/* cmd-export.c: siprof export -f FORMAT [-o OUT] FILE */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "export.h"
#include "export-svg.h"
#include "export-pprof.h"
#include "session.h"
#include "util.h"

const char cmd_export_usage[] =
	"usage: siprof export -f FORMAT [-o OUT] [OPTIONS] FILE\n"
	"\n"
	"Write what a session file recorded in a format other tools read:\n"
	"  pprof       gzipped profile.proto (go tool pprof, Grafana Pyroscope, Parca)\n"
	"  folded      'root;...;leaf COUNT' lines (flamegraph.pl, inferno)\n"
	"  speedscope  speedscope's JSON format, one profile per thread\n"
	"  svg         an interactive flame graph: hover, click to zoom, search\n"
	"The selection options are those of 'siprof report' (the cpu class unless\n"
	"-c says another); values are the profile type's, in its unit. Without -c,\n"
	"pprof holds every class, each a sample type (cpu the default; go tool\n"
	"pprof's sample_index picks another), and every sample has class, thread\n"
	"and thread_id labels (for its tagfocus). With --type=alloc or inuse, pprof\n"
	"is one heap profile as Go writes it: alloc_objects, alloc_space,\n"
	"inuse_objects and inuse_space, the selected type's bytes the default.\n"
	"\n"
	"Options:\n"
	"  -f, --format=FORMAT    pprof, folded, speedscope or svg\n"
	"  -o, --output=OUT       the file to write (mode 0600; default: standard output)\n"
	"      --type=TYPE        the profile type: samples (thread-samples, the default),\n"
	"                         alloc, inuse (bytes), duration (calls), errors, crashes\n"
	"  -c, --class=CLASS      only samples of CLASS: " CMD_CLASS_DEFAULT_NAME " (default), lock, net, ...;\n"
	"                         wall is every class\n"
	"  -T, --thread=TID|NAME  only one thread, by id or name pattern\n"
	"      --pid=PID          only the threads of process PID (a session of several)\n"
	"      --since=TIME       only from TIME after the start (seconds; or 30s, 2m, 1h)\n"
	"      --until=TIME       only until TIME after the start\n"
	"      --by-thread        folded, svg: a root frame per thread, 'NAME (TID)'\n"
	"      --by-class         folded, svg: a root frame per class (every class\n"
	"                         unless -c says one)\n"
	"      --icicle           svg: root at the top (default: flames grow up)\n"
	"      --title=TEXT       svg: the title (default: the program and the class)\n"
	"  -h, --help             show this help\n";

enum format { FMT_NONE, FMT_PPROF, FMT_FOLDED, FMT_SPEEDSCOPE, FMT_SVG };

struct export_opts {
	enum format format;
	const char *out, *file, *title;
	struct selection sel;
	struct export_prefix prefix;
	bool icicle, every_class;
};

static int
parse(int argc, char **argv, struct export_opts *o)
{
	enum { OPT_BY_THREAD = 256, OPT_BY_CLASS, OPT_ICICLE, OPT_TITLE };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "type", required_argument, NULL, CMD_OPT_TYPE },
		{ "class", required_argument, NULL, 'c' },
		{ "thread", required_argument, NULL, 'T' },
		{ "pid", required_argument, NULL, CMD_OPT_PID },
		{ "since", required_argument, NULL, CMD_OPT_SINCE },
		{ "until", required_argument, NULL, CMD_OPT_UNTIL },
		{ "by-thread", no_argument, NULL, OPT_BY_THREAD },
		{ "by-class", no_argument, NULL, OPT_BY_CLASS },
		{ "icicle", no_argument, NULL, OPT_ICICLE },
		{ "title", required_argument, NULL, OPT_TITLE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc;

	memset(o, 0, sizeof *o);
	cmd_selection_init(&o->sel);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":f:o:c:T:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (strcmp(optarg, "pprof") == 0)
				o->format = FMT_PPROF;
			else if (strcmp(optarg, "folded") == 0)
				o->format = FMT_FOLDED;
			else if (strcmp(optarg, "speedscope") == 0)
				o->format = FMT_SPEEDSCOPE;
			else if (strcmp(optarg, "svg") == 0)
				o->format = FMT_SVG;
			else
				return cmd_usage_error("export", "unknown format '%s' (pprof, folded, speedscope or svg)", optarg);
			break;
		case 'o': o->out = optarg; break;
		case OPT_BY_THREAD: o->prefix.thread = true; break;
		case OPT_BY_CLASS: o->prefix.cls = true; break;
		case OPT_ICICLE: o->icicle = true; break;
		case OPT_TITLE: o->title = optarg; break;
		case 'h':
			fputs(cmd_export_usage, stdout);
			return -1;
		default:
			rc = cmd_opt_selection("export", ch, optarg, &o->sel);
			if (rc == 0)
				return cmd_bad_option("export", ch, argv);
			if (rc != 1)
				return rc;
			break;
		}
	}
	if (o->format == FMT_NONE)
		return cmd_usage_error("export", "-f FORMAT is needed (pprof, folded, speedscope or svg)");
	/* --by-class without -c: a root per class, every class. */
	if (o->sel.cls == CMD_CLASS_UNSET && o->prefix.cls)
		o->sel.cls = -1;
	/* pprof without -c: every class a sample type of one file. */
	o->every_class = o->sel.cls == CMD_CLASS_UNSET && o->format == FMT_PPROF &&
			 ptype_get(o->sel.type)->classed;
	if ((rc = cmd_selection_check("export", &o->sel, argc - optind)) != 0)
		return rc;
	if (optind != argc - 1)
		return cmd_usage_error("export", optind == argc ? "which session file? give one FILE"
								 : "give one session FILE");
	o->file = argv[optind];
	if (o->prefix.cls && !ptype_get(o->sel.type)->classed)
		return cmd_usage_error("export", "--by-class goes with --type=samples; %s samples have no class",
				       ptype_get(o->sel.type)->name);
	if ((o->prefix.thread || o->prefix.cls) && o->format != FMT_FOLDED && o->format != FMT_SVG)
		return cmd_usage_error("export", "--by-thread and --by-class go with -f folded or svg");
	if ((o->icicle || o->title) && o->format != FMT_SVG)
		return cmd_usage_error("export", "--icicle and --title go with -f svg");
	if (o->out == NULL && (o->format == FMT_PPROF) && isatty(STDOUT_FILENO))
		return cmd_usage_error("export", "pprof is binary: give -o FILE, or pipe it");
	return 0;
}

/* The selection's start and length in the session's clock. */
static void
selection_span(const struct session_data *d, const struct selection *sel, uint64_t *start_ns,
	       uint64_t *duration_ns)
{
	double dur = session_duration(d);
	double since = sel->since, until = sel->until < dur ? sel->until : dur;

	*start_ns = session_meta_u64(d, "start_unix_ns") + (uint64_t)(since * 1e9);
	*duration_ns = until > since ? (uint64_t)((until - since) * 1e9) : 0;
}

int
cmd_export(int argc, char **argv)
{
	struct export_opts o;
	struct session_data d;
	struct cmd_output k;
	int rc;

	rc = parse(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (cmd_load_session(o.file, &d) != EXIT_OK)
		return EXIT_BADFILE;
	if (!cmd_output_open(&k, o.out)) {
		session_data_release(&d);
		return EXIT_ERROR;
	}
	switch (o.format) {
	case FMT_PPROF: {
		struct pprof_info info = { .class_name = export_class_name(&o.sel),
					   .every_class = o.every_class,
					   .main_path = session_meta(&d, "executable"),
					   .main_build_id = session_meta(&d, "build_id"),
					   .rate_hz = export_rate(&d) };
		unsigned char *buf;
		size_t len;

		/* The file holds every class; cpu is the one shown first. */
		if (o.every_class)
			o.sel.cls = -1;

		selection_span(&d, &o.sel, &info.start_unix_ns, &info.duration_ns);
		pprof_encode(&d.prof, &o.sel, &info, &buf, &len);
		fwrite(buf, 1, len, k.f);
		free(buf);
		break;
	}
	case FMT_FOLDED:
		export_folded(k.f, &d.prof, &o.sel, &o.prefix);
		break;
	case FMT_SPEEDSCOPE: {
		const char *comm = session_meta(&d, "comm");
		char *name = xasprintf("%s (%s)", comm ? comm : "?", export_title_name(&o.sel));
		json_t *doc = export_speedscope(&d, &o.sel, name);

		json_dumpf(doc, k.f, JSON_COMPACT);
		putc('\n', k.f);
		json_decref(doc);
		free(name);
		break;
	}
	case FMT_SVG: {
		struct flame_opts fo = { .icicle = o.icicle, .prefix = o.prefix };
		const char *comm = session_meta(&d, "comm");
		char *title = o.title ? xstrdup(o.title)
				      : xasprintf("%s: %s", comm ? comm : "?", export_title_name(&o.sel));

		fo.title = title;
		flame_write_svg(k.f, &d, &o.sel, &fo);
		free(title);
		break;
	}
	case FMT_NONE:
		break;
	}
	rc = cmd_output_close(&k);
	session_data_release(&d);
	return rc;
}
