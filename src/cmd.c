/* cmd.c: what the commands share: usage errors, the options several of
 * them take, session loading, output files. */
#include "config.h"

#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze.h"
#include "recorder.h"
#include "classes.h"
#include "sampler.h"
#include "session.h"
#include "tracer.h"
#include "unwind.h"
#include "probes.h"
#include "ptypes.h"
#include "util.h"

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

bool
cmd_parse_pids(const char *cmd, const char *arg, struct cmd_pids *l)
{
	const char *p = arg;

	if (*arg == '\0') {
		cmd_usage_error(cmd, "-p takes a process id, or several separated by commas");
		return false;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		char *one = xasprintf("%.*s", (int)len, p);
		size_t i;
		int pid;

		if (!cmd_parse_pid(cmd, one, &pid)) {
			free(one);
			return false;
		}
		free(one);
		for (i = 0; i < l->n && l->v[i] != pid; i++)
			;
		if (i == l->n) {
			GROW(l->v, l->cap, l->n + 1);
			l->v[l->n++] = pid;
		}
		if (p[len] == '\0')
			return true;
		p += len + 1;
	}
}

void
cmd_pids_release(struct cmd_pids *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
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

void
cmd_selection_init(struct selection *sel)
{
	selection_init(sel);
	sel->cls = CMD_CLASS_UNSET;
}

int
cmd_selection_check(const char *cmd, struct selection *sel, int files)
{
	const struct ptype *pt = ptype_get(sel->type);
	struct stat st;

	if (sel->cls == CMD_CLASS_UNSET)
		sel->cls = pt->classed ? CMD_CLASS_DEFAULT : -1;
	else if (sel->cls >= 0 && !pt->classed)
		return cmd_usage_error(cmd, "--class goes with --type=samples; %s samples have no class",
				       pt->name);
	/* `report --thread FILE`: getopt took the file for the thread (the
	 * per-thread view is --threads). Never read a file as a thread. */
	if (files == 0 && sel->thread != NULL && stat(sel->thread, &st) == 0 && S_ISREG(st.st_mode))
		return cmd_usage_error(cmd, "--thread needs a thread id or name before the session file, "
				       "not the file '%s' (the per-thread view is --threads)", sel->thread);
	return 0;
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
	case CMD_OPT_PID: {
		int pid;

		if (!cmd_parse_pid(cmd, arg, &pid))
			return EXIT_USAGE;
		sel->pid = (uint32_t)pid;
		return 1;
	}
	case CMD_OPT_TYPE: {
		int t = ptype_find(arg);

		if (t < 0)
			return cmd_usage_error(cmd, "--type takes one of %s, not '%s'", ptype_names(), arg);
		sel->type = (unsigned)t;
		return 1;
	}
	default:
		return 0;
	}
}

int
cmd_opt_class(const char *cmd, const char *arg, int *cls)
{
	enum sample_class c;

	if (strcasecmp(arg, "wall") == 0) {
		*cls = -1;
		return 0;
	}
	if (!class_parse(arg, &c))
		return cmd_usage_error(cmd, "unknown class '%s' (cpu, runq, lock, wait, net, disk, ipc, poll, sleep, child, aio, syscall, fault, stopped, or wall)", arg);
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
	if (tracer_status == RECORDER_NOPROBES)
		return EXIT_NOPROBES;
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

/* The sampler's own fallback, for callers that give none, is the same. */
_Static_assert(((size_t)CMD_MAX_MEMORY_DEFAULT_M << 20) == SAMPLER_DEFAULT_MAX_MEMORY,
	       "CMD_MAX_MEMORY_DEFAULT_M and SAMPLER_DEFAULT_MAX_MEMORY differ");

void
cmd_sampling_init(struct cmd_sampling *s, bool copy_only)
{
	memset(s, 0, sizeof *s);
	s->copy_only = copy_only;
	s->rate_hz = CMD_RATE_DEFAULT;
	s->unwinder = UNWIND_DW;
	s->stack_size = (size_t)CMD_STACK_SIZE_DEFAULT_K << 10;
	s->max_memory = (size_t)CMD_MAX_MEMORY_DEFAULT_M << 20;
}

void
cmd_sampling_release(struct cmd_sampling *s)
{
	cmd_free_list(s->threads);
	s->threads = NULL;
}

int
cmd_opt_sampling(const char *cmd, int ch, const char *arg, struct cmd_sampling *s)
{
	enum unwind_kind k;
	long v;

	switch (ch) {
	case 'r':
		if (!parse_long(arg, 1, 1000, &v))
			return cmd_usage_error(cmd, "--rate takes a whole number from 1 to 1000, not '%s'", arg);
		s->rate_hz = (double)v;
		return 1;
	case 'u':
		if (!unwind_kind_parse(arg, &k))
			return cmd_usage_error(cmd, "unknown unwinder '%s' (use dw, libunwind or fp)", arg);
		s->unwinder = k;
		return 1;
	case 's':
		if (!parse_size(arg, &s->stack_size) || s->stack_size < 4096 || s->stack_size > 8 << 20)
			return cmd_usage_error(cmd, "--stack-size takes a size from 4K to 8M, not '%s'", arg);
		return 1;
	case CMD_OPT_MAX_MEMORY:
		if (!parse_size(arg, &s->max_memory) || s->max_memory < ((size_t)1 << 20) ||
		    s->max_memory > ((size_t)1 << 40))
			return cmd_usage_error(cmd, "--max-memory takes a size from 1M to 1024G, such as 256M, not '%s'", arg);
		return 1;
	case CMD_OPT_THREADS:
		cmd_free_list(s->threads);
		s->threads = cmd_split_list(arg);
		if (s->threads == NULL)
			return cmd_usage_error(cmd, "--threads needs at least one id or name");
		return 1;
	default:
		return 0;
	}
}

#ifdef SIPROF_DEBUG_HOOKS
/* A debugging variable's value in microseconds (0: unset); only in a build
 * configured with --enable-debug-hooks, for tests of siprof itself. */
static unsigned
debug_us(const char *var, const char *what)
{
	const char *env = getenv(var);
	long v;

	if (env == NULL || *env == '\0' || !parse_long(env, 0, 10000000, &v) || v == 0)
		return 0;
	warn_msg("%s is %ld: %s that many microseconds longer; it is for tests of "
		 "siprof itself, unset it otherwise", var, v, what);
	return (unsigned)v;
}
#endif

int
cmd_sampling_check(const char *cmd, struct cmd_sampling *s)
{
	if (s->max_memory / SAMPLER_MIN_COPIES < s->stack_size)
		return cmd_usage_error(cmd, "--max-memory must hold %d stack copies: at least %zuM with --stack-size %zuK",
				       SAMPLER_MIN_COPIES,
				       (SAMPLER_MIN_COPIES * s->stack_size + (1 << 20) - 1) >> 20,
				       s->stack_size >> 10);
#ifdef SIPROF_DEBUG_HOOKS
	s->hold_us = debug_us("SIPROF_DEBUG_HOLD_US", "every stopped thread is held");
	if (!s->copy_only)
		s->unwind_us = debug_us("SIPROF_DEBUG_UNWIND_US", "each stack copy takes to unwind");
#endif
	return 0;
}

void
cmd_sampling_apply(const struct cmd_sampling *s, struct recorder_opts *rec)
{
	rec->sampler.rate_hz = s->rate_hz;
	rec->sampler.stack_size = s->stack_size;
	rec->sampler.max_memory = s->max_memory;
	rec->sampler.thread_filter = s->threads;
	rec->sampler.extra_hold_us = s->hold_us;
	rec->unwinder = s->unwinder;
	rec->extra_unwind_us = s->unwind_us;
}

void
cmd_alloc_init(struct cmd_alloc *a)
{
	memset(a, 0, sizeof *a);
	a->opts.overhead = ALLOC_OVERHEAD_DEFAULT / 100;
	a->opts.stack_bytes = ALLOC_STACK_DEFAULT;
}

int
cmd_opt_alloc(const char *cmd, int ch, const char *arg, struct cmd_alloc *a)
{
	double v;

	switch (ch) {
	case CMD_OPT_ALLOC:
		a->on = true;
		return 1;
	case CMD_OPT_OVERHEAD:
		if (!parse_number(arg, NUM_FRACTION, 0.01, 100, &v, NULL))
			return cmd_usage_error(cmd, "--overhead takes a percentage from 0.01 to 100, such as 1 or 0.5, not '%s'", arg);
		a->opts.overhead = v / 100;
		a->overhead_set = true;
		return 1;
	case CMD_OPT_ALLOC_WINDOW:
		if (strcmp(arg, "always") == 0)
			a->opts.always = true;
		else if (parse_number(arg, NUM_FRACTION, 20, 600000, &v, NULL))
			a->opts.window_ms = (unsigned)v;
		else
			return cmd_usage_error(cmd, "--alloc-window takes milliseconds from 20 to 600000, or always, not '%s'", arg);
		a->window_set = true;
		return 1;
	case CMD_OPT_UPROBES:
		if (strcmp(arg, "pmu") == 0)
			a->opts.pmu_only = true;
		else if (strcmp(arg, "auto") != 0)
			return cmd_usage_error(cmd, "--uprobes takes auto or pmu, not '%s'", arg);
		a->uprobes_set = true;
		return 1;
	default:
		return 0;
	}
}

int
cmd_alloc_check(const char *cmd, const struct cmd_alloc *a)
{
	if ((a->overhead_set || a->window_set || a->uprobes_set) && !a->on)
		return cmd_usage_error(cmd, "%s goes with --alloc",
				       a->overhead_set ? "--overhead"
				       : a->window_set ? "--alloc-window"
						       : "--uprobes");
	return 0;
}

void
cmd_alloc_apply(const struct cmd_alloc *a, struct recorder_opts *rec)
{
	rec->alloc = a->on;
	rec->alloc_opts = a->opts;
	rec->alloc_opts.unwinder = rec->unwinder;
}

int
cmd_alloc_probes_check(const struct cmd_alloc *a)
{
	char *cause = NULL;
	int st;

	if (!a->on)
		return EXIT_OK;
	st = probes_check(&cause);
	if (st == PROBES_OK)
		return EXIT_OK;
	err_msg("cannot profile allocations: %s", cause);
	free(cause);
	return st == PROBES_NOPERM || st == PROBES_NOSUPPORT ? EXIT_NOPROBES : EXIT_ERROR;
}
