/* cmd-dump.c: `siprof dump PID`, every thread's stack, now.
 *
 * The stacks are captured in a thread of their own: when it ends, the kernel
 * detaches siprof from every thread of the target, so by the time siprof
 * unwinds and reads DWARF the target runs as if siprof were not there. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "procfs.h"
#include "signals.h"
#include "snapshot.h"
#include "symbols.h"
#include "syscalls.h"
#include "text.h"
#include "tracer.h"
#include "unwind.h"
#include "util.h"

#define DEFAULT_STACK_SIZE (64 * 1024)

const char cmd_dump_usage[] =
	"usage: siprof dump [OPTIONS] PID\n"
	"\n"
	"Print the stack of every thread of process PID: function, source file and\n"
	"line, module; inlined frames marked. Each thread is stopped only for the\n"
	"copy of its registers and stack (microseconds), one at a time; threads\n"
	"blocked in calls that a stop would interrupt are not stopped at all.\n"
	"\n"
	"Options:\n"
	"  -j, --json             print JSON instead of text\n"
	"  -u, --unwinder=KIND    dw (libdw, the default), libunwind, or fp (frame pointers)\n"
	"  -s, --stack-size=SIZE  bytes of stack copied per thread (default 64K, 4K to 8M)\n"
	"  -v, --verbose          also show pcs, build-ids, and how long each thread was held\n"
	"  -h, --help             show this help\n";

struct dump_opts {
	bool json;
	enum unwind_kind unwinder;
	size_t stack_size;
	unsigned extra_hold_us; /* SIPROF_TEST_HOLD_US, for tests */
};

struct capture {
	pid_t pid;
	const struct dump_opts *opts;
	enum tracer_status status;
	char *cause;
	struct snapshot *snaps;
	size_t n;
	bool exited, interrupted;
	char comm[PROCFS_COMM_MAX];
};

/* The tracing thread: attach, take every snapshot, end (which detaches). */
static void *
capture_main(void *arg)
{
	struct capture *c = arg;
	struct snapshot_maps maps;
	struct tracer *t;
	const pid_t *tids;

	t = tracer_new();
	c->status = tracer_attach(t, c->pid, &c->cause);
	if (c->status != TRACER_OK) {
		tracer_free(t);
		return NULL;
	}
	snapshot_maps_init(&maps, c->pid);
	tids = tracer_threads(t, &c->n);
	c->snaps = xcalloc(c->n, sizeof *c->snaps);
	/* Allocate and pre-fault every buffer before the first stop. */
	for (size_t i = 0; i < c->n; i++) {
		snapshot_init(&c->snaps[i], c->opts->stack_size);
		c->snaps[i].tid = tids[i];
	}
	for (size_t i = 0; i < c->n; i++) {
		if (!tracer_poll(t, 0) ||
		    snapshot_take(t, &maps, c->snaps[i].tid, &c->snaps[i],
				  c->opts->extra_hold_us) < 0) {
			c->interrupted = true;
			break;
		}
	}
	tracer_poll(t, 0);
	c->exited = tracer_process_exited(t) || procfs_process_gone(c->pid);
	snapshot_maps_release(&maps);
	tracer_free(t);
	return NULL;
}

static const char *
state_name(char s)
{
	switch (s) {
	case 'R': return "running";
	case 'S': return "sleeping";
	case 'D': return "waiting (uninterruptible)";
	case 'T': return "stopped";
	case 't': return "stopped by a tracer";
	case 'Z': return "zombie";
	case 'I': return "idle";
	default: return "unknown";
	}
}

static const char *
blocked_in(const struct snapshot *s, char *buf, size_t n)
{
	const char *name;

	if (s->sc.nr == SYSCALL_NONE)
		return "a page fault";
	if (s->sc.nr < 0 || s->stat.state == 'R')
		return NULL;
	name = syscall_name(s->sc.nr);
	if (name != NULL)
		return name;
	snprintf(buf, n, "syscall %ld", s->sc.nr);
	return buf;
}

/* Warn once per module whose frames could not be named. */
static void
note_unnamed(const struct sym_result *r)
{
	struct sym_module *m = (struct sym_module *)r->module;

	if (m == NULL || m->warned || r->frames[0].function != NULL)
		return;
	m->warned = true;
	warn_msg("no symbols for %s%s%s: its frames show as module+offset "
		 "(install its debug symbols, e.g. the -dbg or -dbgsym package)",
		 m->path, m->build_id ? " build-id " : "", m->build_id ? m->build_id : "");
}

static void
print_frame_text(size_t idx, uint64_t pc, const struct sym_result *r,
		 const struct sym_frame *f)
{
	printf("  #%-3zu ", idx);
	if (util_verbose)
		printf("0x%016" PRIx64 " ", pc);
	if (f->function != NULL)
		fputs(text_safe(f->function), stdout);
	else if (r->module != NULL)
		printf("%s+0x%" PRIx64, text_safe(r->module->name), r->offset);
	else
		printf("0x%" PRIx64, pc);
	if (f->file != NULL && f->line > 0)
		printf(" (%s:%d)", text_safe(path_basename(f->file)), f->line);
	else if (f->file != NULL)
		printf(" (%s)", text_safe(path_basename(f->file)));
	if (r->module != NULL)
		printf(" [%s]", text_safe(r->module->name));
	if (f->inlined)
		fputs(" (inlined)", stdout);
	putchar('\n');
}

static void
print_thread_text(const struct snapshot *s, const struct unwind_result *u,
		  struct symbols *sym)
{
	char buf[32];
	const char *in = blocked_in(s, buf, sizeof buf);
	size_t idx = 0;

	printf("thread %d \"%s\" %s", (int)s->tid, text_safe(s->stat.comm), state_name(s->stat.state));
	if (in != NULL)
		printf(" in %s", in);
	if (s->how == SNAP_NONSTOP)
		fputs(" (not stopped)", stdout);
	putchar('\n');
	if (util_verbose && s->how == SNAP_STOPPED)
		printf("  held %.1f us (the stop took %.1f us to arrive), %zu bytes of stack\n",
		       (double)s->held_ns / 1e3, (double)s->stop_latency_ns / 1e3,
		       s->stack_len);
	else if (util_verbose && s->how == SNAP_NONSTOP)
		printf("  not stopped, %zu bytes of stack\n", s->stack_len);
	if (s->how == SNAP_NONE) {
		printf("  (no stack: %s)\n", s->error ? s->error : "unknown error");
		return;
	}
	for (size_t i = 0; i < u->n; i++) {
		const struct sym_result *r = symbols_lookup(sym, u->pcs[i]);

		note_unnamed(r);
		for (size_t k = 0; k < r->n; k++)
			print_frame_text(idx++, u->pcs[i], r, &r->frames[k]);
	}
	if (u->truncated)
		puts("  -- stack truncated (did not reach the thread's first frame)");
}

static json_t *
thread_json(const struct snapshot *s, const struct unwind_result *u, struct symbols *sym)
{
	json_t *t = json_object(), *frames = json_array();
	char buf[32];
	const char *in = blocked_in(s, buf, sizeof buf);
	size_t idx = 0;

	json_object_set_new(t, "tid", json_integer(s->tid));
	json_object_set_new(t, "name", json_string(text_utf8(s->stat.comm)));
	json_object_set_new(t, "state", json_string(state_name(s->stat.state)));
	json_object_set_new(t, "syscall", in ? json_string(in) : json_null());
	json_object_set_new(t, "stopped", json_boolean(s->how == SNAP_STOPPED));
	if (s->how == SNAP_STOPPED)
		json_object_set_new(t, "held_us", json_real((double)s->held_ns / 1e3));
	if (s->how == SNAP_NONE) {
		json_object_set_new(t, "error", json_string(s->error ? s->error : "unknown"));
		json_object_set_new(t, "frames", frames);
		return t;
	}
	json_object_set_new(t, "truncated", json_boolean(u->truncated));
	for (size_t i = 0; i < u->n; i++) {
		const struct sym_result *r = symbols_lookup(sym, u->pcs[i]);

		note_unnamed(r);
		for (size_t k = 0; k < r->n; k++) {
			const struct sym_frame *f = &r->frames[k];
			json_t *fr = json_object();

			json_object_set_new(fr, "index", json_integer((json_int_t)idx++));
			json_object_set_new(fr, "pc", json_sprintf("0x%" PRIx64, u->pcs[i]));
			json_object_set_new(fr, "function", f->function ? json_string(text_utf8(f->function)) : json_null());
			json_object_set_new(fr, "file", f->file ? json_string(text_utf8(f->file)) : json_null());
			json_object_set_new(fr, "line", f->line > 0 ? json_integer(f->line) : json_null());
			json_object_set_new(fr, "inlined", json_boolean(f->inlined));
			json_object_set_new(fr, "module", r->module ? json_string(text_utf8(r->module->path)) : json_null());
			json_object_set_new(fr, "build_id", r->module && r->module->build_id
					    ? json_string(r->module->build_id) : json_null());
			json_object_set_new(fr, "offset", json_sprintf("0x%" PRIx64, r->offset));
			json_array_append_new(frames, fr);
		}
	}
	json_object_set_new(t, "frames", frames);
	return t;
}

static int
parse_opts(int argc, char **argv, struct dump_opts *o, int *pid)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "unwinder", required_argument, NULL, 'u' },
		{ "stack-size", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *env;
	long v;
	int ch, rc, unwinder;

	memset(o, 0, sizeof *o);
	o->unwinder = UNWIND_DW;
	o->stack_size = DEFAULT_STACK_SIZE;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:ju:s:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			o->json = true;
			break;
		case 'u':
			if ((rc = cmd_opt_unwinder("dump", optarg, &unwinder)) != 0)
				return rc;
			o->unwinder = (enum unwind_kind)unwinder;
			break;
		case 's':
			if ((rc = cmd_opt_stack_size("dump", optarg, &o->stack_size)) != 0)
				return rc;
			break;
		case 'v':
			util_verbose++;
			break;
		case 'h':
			fputs(cmd_dump_usage, stdout);
			return -1;
		default:
			return cmd_bad_option("dump", ch, argv);
		}
	}
	if (optind != argc - 1)
		return cmd_usage_error("dump", optind >= argc ? "a PID is needed"
							       : "only one PID, please");
	if (!cmd_parse_pid("dump", argv[optind], pid))
		return EXIT_USAGE;
	env = getenv("SIPROF_TEST_HOLD_US");
	if (env != NULL && parse_long(env, 0, 10000000, &v))
		o->extra_hold_us = (unsigned)v;
	return 0;
}

int
cmd_dump(int argc, char **argv)
{
	struct symbols *sym = NULL;
	struct unwinder *uw = NULL;
	struct capture cap;
	struct dump_opts opts;
	struct unwind_result *ur;
	char *cause = NULL;
	pthread_t th;
	int pid, rc, ret = EXIT_OK;
	uint64_t max_held = 0, total_held = 0;
	json_t *root = NULL, *threads = NULL;

	rc = parse_opts(argc, argv, &opts, &pid);
	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;

	/* Read the mappings first: nothing is stopped yet. A failure here is
	 * explained better by the attach below, so it is only remembered. */
	sym = symbols_new(pid, &cause);
	if (sym != NULL)
		uw = unwinder_new(opts.unwinder, pid, sym, &cause);

	memset(&cap, 0, sizeof cap);
	cap.pid = pid;
	cap.opts = &opts;
	procfs_comm(pid, cap.comm, sizeof cap.comm);
	if ((rc = pthread_create(&th, NULL, capture_main, &cap)) != 0)
		fatal("cannot start the capture thread: %s", strerror(rc));
	pthread_join(th, NULL);

	if (cap.status != TRACER_OK) {
		err_msg("%s", cap.cause);
		ret = cmd_exit_for_tracer(cap.status);
		goto out;
	}
	if (cap.interrupted) {
		err_msg("interrupted; process %d was detached and keeps running", pid);
		ret = EXIT_INTERRUPTED;
		goto out;
	}
	if (cap.exited) {
		err_msg("process %d (%s) exited during the dump", pid, cap.comm);
		ret = EXIT_NOPROC;
		goto out;
	}
	if (uw == NULL) {
		err_msg("%s", cause != NULL ? cause : "cannot read the process's modules");
		ret = EXIT_ERROR;
		goto out;
	}

	if (opts.json) {
		root = json_object();
		threads = json_array();
		json_object_set_new(root, "pid", json_integer(pid));
		json_object_set_new(root, "command", json_string(text_utf8(cap.comm)));
		json_object_set_new(root, "unwinder", json_string(unwind_kind_name(opts.unwinder)));
	} else {
		printf("process %d (%s): %zu threads, unwinder %s\n\n", pid, text_safe(cap.comm),
		       cap.n, unwind_kind_name(opts.unwinder));
	}
	ur = xmalloc(sizeof *ur);
	for (size_t i = 0; i < cap.n; i++) {
		const struct snapshot *s = &cap.snaps[i];

		if (s->how == SNAP_NONE && s->error != NULL &&
		    strcmp(s->error, "the thread exited") == 0)
			continue;
		unwinder_unwind(uw, s, ur);
		if (s->held_ns > max_held)
			max_held = s->held_ns;
		total_held += s->held_ns;
		if (opts.json) {
			json_array_append_new(threads, thread_json(s, ur, sym));
		} else {
			print_thread_text(s, ur, sym);
			putchar('\n');
		}
		if (signals_stop_requested()) {
			ret = EXIT_INTERRUPTED;
			break;
		}
	}
	free(ur);
	if (opts.json) {
		json_object_set_new(root, "threads", threads);
		json_object_set_new(root, "max_held_us", json_real((double)max_held / 1e3));
		json_dumpf(root, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(root);
	}
	verbose_msg("each thread was held on its own: longest %.1f us, all together %.1f us",
		    (double)max_held / 1e3, (double)total_held / 1e3);
	if (!cmd_finish_output() && ret == EXIT_OK)
		ret = errno == EPIPE ? EXIT_OK : EXIT_ERROR;
out:
	for (size_t i = 0; i < cap.n; i++)
		snapshot_release(&cap.snaps[i]);
	free(cap.snaps);
	free(cap.cause);
	free(cause);
	unwinder_free(uw);
	symbols_free(sym);
	return ret;
}
