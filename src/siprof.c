/* siprof.c: main, the commands table, global help and version. */
#include "config.h"

#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "analyze.h"
#include "sampler.h"
#include "session.h"
#include "classes.h"
#include "signals.h"
#include "tracer.h"
#include "unwind.h"
#include "util.h"

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

const struct command *
cmd_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

void
cmd_print_usage(const struct command *c, int to_stderr)
{
	fputs(c->usage, to_stderr ? stderr : stdout);
}

int
cmd_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "siprof %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'siprof %s --help'.\n", cmd);
	return EXIT_USAGE;
}

int
cmd_parse_pid(const char *cmd, const char *arg, int *pid)
{
	long v;

	if (!parse_long(arg, 1, 0x7fffffff, &v)) {
		cmd_usage_error(cmd, "'%s' is not a process id", arg);
		return 0;
	}
	*pid = (int)v;
	return 1;
}

int
cmd_opt_rate(const char *cmd, const char *arg, double *hz)
{
	long v;

	if (!parse_long(arg, 1, 1000, &v))
		return cmd_usage_error(cmd, "--rate takes a whole number from 1 to 1000, not '%s'", arg);
	*hz = (double)v;
	return 0;
}

int
cmd_bad_option(const char *cmd, int ch, char **argv)
{
	const char *arg = argv[optind - 1];
	char name[64];

	if (strncmp(arg, "--", 2) == 0)
		snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
	else
		snprintf(name, sizeof name, "-%c", optopt);
	if (ch == ':')
		return cmd_usage_error(cmd, "%s needs a value", name);
	return cmd_usage_error(cmd, "unknown option '%s'", name);
}

int
cmd_load_session(const char *path, struct session_data *d)
{
	char *cause = NULL;

	if (session_load(path, d, &cause) == SESSION_OK)
		return EXIT_OK;
	err_msg("%s", cause);
	free(cause);
	session_data_release(d);
	return EXIT_BADFILE;
}

int
cmd_output_open(struct cmd_output *k, const char *out)
{
	char *cause = NULL;
	int fd;

	k->out = out;
	k->tmp = NULL;
	if (out == NULL || strcmp(out, "-") == 0) {
		k->f = stdout;
		k->out = NULL;
		return 1;
	}
	fd = file_create_temp(out, &k->tmp, &cause);
	if (fd >= 0 && (k->f = fdopen(fd, "w")) == NULL) {
		set_cause(&cause, "cannot create '%s': %s", out, strerror(errno));
		close(fd);
		file_discard_temp(k->tmp);
		free(k->tmp);
		fd = -1;
	}
	if (fd < 0) {
		err_msg("%s", cause);
		free(cause);
		return 0;
	}
	return 1;
}

int
cmd_output_close(struct cmd_output *k)
{
	char *cause = NULL;
	int rc = EXIT_OK;

	if (k->out == NULL)
		return cmd_finish_output() ? EXIT_OK : EXIT_ERROR;
	if (ferror(k->f) || fflush(k->f) != 0 || fsync(fileno(k->f)) != 0) {
		err_msg("cannot write '%s': %s", k->out, strerror(errno));
		file_discard_temp(k->tmp);
		rc = EXIT_ERROR;
	} else if (file_commit_temp(fileno(k->f), k->tmp, k->out, true, &cause) != 0) {
		err_msg("%s", cause);
		free(cause);
		rc = EXIT_ERROR;
	}
	if (fclose(k->f) != 0 && rc == EXIT_OK) {
		err_msg("cannot write '%s': %s", k->out, strerror(errno));
		rc = EXIT_ERROR;
	}
	free(k->tmp);
	return rc;
}

int
cmd_opt_selection(const char *cmd, int ch, const char *arg, struct selection *sel)
{
	long v;

	switch (ch) {
	case 'c':
		return cmd_opt_class(cmd, arg, &sel->cls) != 0 ? EXIT_USAGE : 1;
	case 'T':
		if (parse_long(arg, 1, INT32_MAX, &v))
			sel->tid = (uint32_t)v;
		else
			sel->thread = arg;
		return 1;
	case CMD_OPT_SINCE:
		return cmd_opt_time(cmd, "--since", arg, &sel->since) != 0 ? EXIT_USAGE : 1;
	case CMD_OPT_UNTIL:
		return cmd_opt_time(cmd, "--until", arg, &sel->until) != 0 ? EXIT_USAGE : 1;
	default:
		return 0;
	}
}

int
cmd_opt_class(const char *cmd, const char *arg, int *cls)
{
	enum sample_class c;

	if (strcmp(arg, "wall") == 0) {
		*cls = -1;
		return 0;
	}
	if (!class_parse(arg, &c))
		return cmd_usage_error(cmd, "unknown class '%s' (cpu, lock, net, disk, ipc, poll, sleep, child, aio, syscall, fault, stopped, or wall)", arg);
	*cls = (int)c;
	return 0;
}

int
cmd_opt_time(const char *cmd, const char *opt, const char *arg, uint32_t *secs)
{
	const char *end;
	double v, mul = 1;

	if (parse_number(arg, NUM_FRACTION, 0, 4e9, &v, &end)) {
		if (*end == 's')
			end++;
		else if (*end == 'm')
			mul = 60, end++;
		else if (*end == 'h')
			mul = 3600, end++;
		if (*end == '\0' && v * mul <= 4e9) {
			*secs = (uint32_t)floor(v * mul);
			return 0;
		}
	}
	return cmd_usage_error(cmd, "%s takes a time like 30, 30s, 2m or 1h, not '%s'", opt, arg);
}

int
cmd_opt_unwinder(const char *cmd, const char *arg, int *kind)
{
	enum unwind_kind k;

	if (!unwind_kind_parse(arg, &k))
		return cmd_usage_error(cmd, "unknown unwinder '%s' (use dw, libunwind or fp)", arg);
	*kind = (int)k;
	return 0;
}

int
cmd_opt_stack_size(const char *cmd, const char *arg, size_t *size)
{
	if (!parse_size(arg, size) || *size < 4096 || *size > 8 << 20)
		return cmd_usage_error(cmd, "--stack-size takes a size from 4K to 8M, not '%s'", arg);
	return 0;
}

int
cmd_opt_max_memory(const char *cmd, const char *arg, size_t *size)
{
	if (!parse_size(arg, size) || *size < ((size_t)1 << 20) || *size > ((size_t)1 << 40))
		return cmd_usage_error(cmd, "--max-memory takes a size from 1M to 1024G, such as 256M, not '%s'", arg);
	return 0;
}

int
cmd_check_max_memory(const char *cmd, size_t max_memory, size_t stack_size)
{
	if (max_memory / SAMPLER_MIN_COPIES < stack_size)
		return cmd_usage_error(cmd, "--max-memory must hold %d stack copies: at least %zuM with --stack-size %zuK",
				       SAMPLER_MIN_COPIES,
				       (SAMPLER_MIN_COPIES * stack_size + (1 << 20) - 1) >> 20,
				       stack_size >> 10);
	return 0;
}

char **
cmd_split_list(const char *arg)
{
	char *copy = xstrdup(arg), *tok, *save = NULL, **out = NULL;
	size_t n = 0, cap = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		GROW(out, cap, n + 2);
		out[n++] = xstrdup(tok);
		out[n] = NULL;
	}
	free(copy);
	return out;
}

void
cmd_free_list(char **list)
{
	for (char **p = list; p != NULL && *p != NULL; p++)
		free(*p);
	free(list);
}

int
cmd_exit_for_tracer(int tracer_status)
{
	switch ((enum tracer_status)tracer_status) {
	case TRACER_OK: return EXIT_OK;
	case TRACER_NOPROC: return EXIT_NOPROC;
	case TRACER_NOTARGET: return EXIT_NOTARGET;
	case TRACER_PERM: return EXIT_PERM;
	case TRACER_BUSY: return EXIT_BUSY;
	case TRACER_ERROR: break;
	}
	return EXIT_ERROR;
}

int
cmd_finish_output(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 1;
	/* A reader that went away (siprof dump | head) is not an error. */
	if (errno != EPIPE)
		err_msg("cannot write the output: %s", strerror(errno));
	return 0;
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
		c = cmd_find(argv[2]);
		if (c == NULL) {
			fprintf(stderr, "siprof: '%s' is not a command; see 'siprof --help'\n",
				argv[2]);
			return EXIT_USAGE;
		}
		cmd_print_usage(c, 0);
		return EXIT_OK;
	}
	c = cmd_find(name);
	if (c == NULL) {
		fprintf(stderr, "siprof: '%s' is not a command; see 'siprof --help'\n", name);
		return EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
