/* siprof.c: main, the commands table, global help and version. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "signals.h"
#include "util.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage;
};

static const struct command commands[] = {
	{ "attach", cmd_attach, "live view of a running process (top-style call tree)", cmd_attach_usage },
	{ "record", cmd_record, "record a session file of a process", cmd_record_usage },
	{ "report", cmd_report, "top functions, call tree, threads, metrics of a session", cmd_report_usage },
	{ "dump", cmd_dump, "print every thread's stack, now", cmd_dump_usage },
	{ "export", cmd_export, "write a session as pprof, folded stacks, speedscope or an SVG flame graph", cmd_export_usage },
	{ "diff", cmd_diff, "functions whose share grew or shrank between two sessions", cmd_diff_usage },
	{ "upload", cmd_upload, "send sessions to a Pyroscope-compatible server, with a spool", cmd_upload_usage },
};

static void
print_help(FILE *f)
{
	fprintf(f,
		"usage: siprof [-h | --help] [-V | --version] COMMAND [ARGS]\n"
		"\n"
		"siprof profiles a running native program from outside, with ptrace.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"Options:\n"
		"  -h, --help     show this help\n"
		"  -V, --version  show the version\n"
		"\n"
		"'siprof help COMMAND' or 'siprof COMMAND --help' shows a command's options;\n"
		"man siprof has the details.\n");
}

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct command *c;
	const char *name;

	signals_init();
	if (argc < 2) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	name = argv[1];
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
		print_help(stdout);
		return EXIT_OK;
	}
	if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0) {
		printf("siprof %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	if (strcmp(name, "help") == 0) {
		if (argc < 3) {
			print_help(stdout);
			return EXIT_OK;
		}
		c = find_command(argv[2]);
		if (c == NULL) {
			fprintf(stderr, "siprof: '%s' is not a command; see 'siprof --help'\n",
				argv[2]);
			return EXIT_USAGE;
		}
		fputs(c->usage, stdout);
		return EXIT_OK;
	}
	c = find_command(name);
	if (c == NULL) {
		fprintf(stderr, "siprof: '%s' is not a command; see 'siprof --help'\n", name);
		return EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
