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
#include <sys/syscall.h>
#include <unistd.h>

#include "classes.h"
#include "cmd.h"
#include "format.h"
#include "procfs.h"
#include "signals.h"
#include "snapshot.h"
#include "symbols.h"
#include "syscalls.h"
#include "tailcall.h"
#include "text.h"
#include "tracer.h"
#include "unwind.h"
#include "util.h"

const char cmd_dump_usage[] =
	"usage: siprof dump [OPTIONS] PID[,PID...]\n"
	"       siprof dump [OPTIONS] -p PID[,PID...]\n"
	"\n"
	"Print the stack of every thread of process PID: function, source file and\n"
	"line, module; inlined frames and tail calls marked; and what each blocked\n"
	"call waits on (a socket's addresses, a file, a pipe, an epoll set's\n"
	"descriptors). Each thread is stopped only for the copy of its registers and\n"
	"stack (microseconds), one at a time; threads blocked in calls that a stop\n"
	"would interrupt are not stopped at all.\n"
	"\n"
	"Several processes are dumped one after the other.\n"
	"\n"
	"Options:\n"
	"  -p, --pid=PID[,PID...] the process to dump (or give it as PID)\n"
	"      --children         also the processes it started, and theirs\n"
	"  -j, --json             print JSON instead of text\n"
	"  -u, --unwinder=KIND    dw (libdw, the default), libunwind, or fp (frame pointers)\n"
	"  -s, --stack-size=SIZE  bytes of stack copied per thread (default " CMD_STR(CMD_STACK_SIZE_DEFAULT_K) "K, 4K to 8M)\n"
	"  -v, --verbose          also show pcs, build-ids, and how long each thread was held\n"
	"  -h, --help             show this help\n";

struct dump_opts {
	bool json;
	bool children;
	struct cmd_pids pids;
	struct cmd_sampling sampling; /* -u, -s */
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
	/* A second pass (grow_short_copies) brings its own snapshots. */
	if (c->snaps == NULL) {
		tids = tracer_threads(t, &c->n);
		c->snaps = xcalloc(c->n, sizeof *c->snaps);
		/* Allocate and pre-fault every buffer before the first stop. */
		for (size_t i = 0; i < c->n; i++) {
			snapshot_init(&c->snaps[i], c->opts->sampling.stack_size);
			c->snaps[i].tid = tids[i];
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		if (!tracer_poll(t, 0) ||
		    snapshot_take(t, &maps, c->snaps[i].tid, &c->snaps[i],
				  c->opts->sampling.hold_us) < 0) {
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
	case 'T': return "stopped (SIGSTOP)";
	case 't': return "stopped by a tracer";
	case 'Z': return "zombie";
	case 'I': return "idle";
	default: return "unknown";
	}
}

/* A thread's state as shown. /proc says 't' for every ptrace stop, and a
 * process stopped with SIGSTOP is in one once siprof has seized it: the
 * tracer knows a group-stop when it sees one. Any other 't' was a stop of
 * siprof's own unless a tracer other than siprof holds the thread still. */
static const char *
thread_state(const struct snapshot *s)
{
	struct proc_status tst, tracer;
	struct task_stat now;

	if (s->stopped || s->stat.state == 'T')
		return state_name('T');
	if (s->stat.state != 't')
		return state_name(s->stat.state);
	/* Read again: siprof has let it go since. */
	if (!procfs_task_stat(s->pid, s->tid, &now))
		return state_name('t');
	if (now.state != 't')
		return state_name(now.state);
	if (procfs_status(s->tid, &tst) && tst.tracer_pid != 0 &&
	    procfs_status(tst.tracer_pid, &tracer) && tracer.tgid == getpid())
		return "stopped by siprof";
	return state_name('t');
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

/* One frame as shown: one level of a pc's look-up. Functions that tail
 * calls left off the machine stack are put back between the machine frames
 * (tailcall.h), marked. */
struct shown_frame {
	uint64_t pc;
	const struct sym_result *r;
	const struct sym_frame *f;
	bool tailcall;
};

static void
add_shown(struct shown_frame **fr, size_t *n, size_t *cap, uint64_t pc,
	  const struct sym_result *r, bool tailcall)
{
	for (size_t k = 0; k < r->n; k++) {
		GROW(*fr, *cap, *n + 1);
		(*fr)[(*n)++] = (struct shown_frame){ pc, r, &r->frames[k],
						      tailcall && k == r->n - 1 };
	}
}

/* The frames of an unwound stack, innermost first (free *fr). */
static size_t
shown_frames(const struct unwind_result *u, struct symbols *sym, struct tailcall *tc,
	     struct shown_frame **fr)
{
	size_t n = 0, cap = 0;

	*fr = NULL;
	for (size_t i = 0; i < u->n; i++) {
		const uint64_t *tail;
		size_t nt;

		add_shown(fr, &n, &cap, u->pcs[i], symbols_lookup(sym, u->pcs[i]), false);
		nt = i + 1 < u->n ? tailcall_between(tc, u->pcs[i + 1], u->pcs[i], &tail) : 0;
		for (size_t k = 0; k < nt; k++)
			add_shown(fr, &n, &cap, tail[k], symbols_lookup(sym, tail[k]), true);
	}
	return n;
}

/* What a blocked thread waits on, when its call takes descriptors. A poll
 * that a stop interrupted goes on as restart_syscall, its
 * arguments where they were: the stack says it is a poll. */
static bool
waits_on(const struct snapshot *s, const struct shown_frame *fr, size_t nfr,
	 struct fd_wait *w)
{
	struct task_syscall sc = s->sc;

	if (sc.nr < 0 || s->stat.state == 'R')
		return false;
	if (sc.nr == SYS_restart_syscall) {
		const char *fn[CLASS_REFINE_FRAMES];
		size_t n = 0;

		for (size_t i = 0; i < nfr && n < ARRAY_SIZE(fn); i++)
			fn[n++] = fr[i].f->function;
		if (class_refine(CLASS_SLEEP, SYS_restart_syscall, fn, n) != CLASS_POLL)
			return false;
		sc.nr = SYS_poll;
	}
	return procfs_fd_wait(s->pid, &sc, w);
}

static json_t *
waits_on_json(const struct fd_wait *w)
{
	json_t *o = json_object(), *fds = json_array();
	char text[512];

	json_object_set_new(o, "epoll_fd", w->epfd >= 0 ? json_integer(w->epfd) : json_null());
	json_object_set_new(o, "total", json_integer((json_int_t)w->total));
	for (size_t i = 0; i < w->n; i++) {
		const struct fd_info *fi = &w->fds[i];
		json_t *f = json_object();

		procfs_fd_info_text(fi, text, sizeof text);
		json_object_set_new(f, "fd", json_integer(fi->fd));
		json_object_set_new(f, "type", json_string(text_utf8(fi->type)));
		json_object_set_new(f, "state", fi->state[0] ? json_string(fi->state) : json_null());
		json_object_set_new(f, "address", fi->addr[0] ? json_string(text_utf8(fi->addr)) : json_null());
		json_object_set_new(f, "peer", fi->peer[0] ? json_string(fi->peer) : json_null());
		json_object_set_new(f, "inode", fi->inode ? json_integer((json_int_t)fi->inode) : json_null());
		json_object_set_new(f, "text", json_string(text_utf8(text)));
		json_array_append_new(fds, f);
	}
	json_object_set_new(o, "fds", fds);
	return o;
}

/* Frames seen per module, and how many of them no symbol named: a module
 * whose frames all have names (from .dynsym alone, often) is not worth a
 * warning; one that left frames unnamed is, with what it cost. */
static struct module_names {
	struct sym_module *module;
	size_t frames, unnamed;
} *module_names;
static size_t n_module_names, module_names_cap;

static void
note_unnamed(const struct sym_result *r)
{
	struct sym_module *m = (struct sym_module *)r->module;
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < n_module_names && module_names[i].module != m; i++)
		;
	if (i == n_module_names) {
		GROW(module_names, module_names_cap, n_module_names + 1);
		module_names[n_module_names++] = (struct module_names){ .module = m };
	}
	module_names[i].frames++;
	if (r->frames[0].function == NULL)
		module_names[i].unnamed++;
}

/* After the dump: one warning per module that left frames unnamed. */
static void
warn_unnamed(void)
{
	for (size_t i = 0; i < n_module_names; i++) {
		const struct module_names *mn = &module_names[i];
		struct sym_module *m = mn->module;

		if (mn->unnamed == 0 || m->warned)
			continue;
		m->warned = true;
		if (!m->has_symbols)
			warn_msg("no symbols for %s%s%s: %zu of its %zu frames in this dump show as "
				 "module+offset (it has exported symbols only; install its debug "
				 "symbols, e.g. the -dbg or -dbgsym package)",
				 m->path, m->build_id ? " build-id " : "",
				 m->build_id ? m->build_id : "", mn->unnamed, mn->frames);
		else
			warn_msg("%zu of the %zu frames in %s%s%s in this dump show as module+offset: "
				 "no symbol covers them",
				 mn->unnamed, mn->frames, m->path, m->build_id ? " build-id " : "",
				 m->build_id ? m->build_id : "");
	}
	free(module_names);
	module_names = NULL;
	n_module_names = module_names_cap = 0;
}

static void
print_frame_text(size_t idx, const struct shown_frame *sf)
{
	const struct sym_result *r = sf->r;
	const struct sym_frame *f = sf->f;
	uint64_t pc = sf->pc;
	char where[1024];

	printf("  #%-3zu ", idx);
	if (util_verbose)
		printf("0x%016" PRIx64 " ", pc);
	if (f->function != NULL)
		fputs(text_safe(f->function), stdout);
	else if (r->module != NULL)
		printf("%s+0x%" PRIx64, text_safe(r->module->name), r->offset);
	else
		printf("0x%" PRIx64, pc);
	format_frame_where(where, sizeof where, f->file, f->line,
			   r->module != NULL ? r->module->name : NULL);
	fputs(where, stdout);
	if (f->inlined)
		fputs(" (inlined)", stdout);
	if (sf->tailcall)
		fputs(" (tail call)", stdout);
	putchar('\n');
}

static void
print_thread_text(const struct snapshot *s, const struct unwind_result *u,
		  struct symbols *sym, struct tailcall *tc)
{
	char buf[32], text[2048];
	const char *in = blocked_in(s, buf, sizeof buf);
	struct shown_frame *fr = NULL;
	struct fd_wait w;
	size_t nfr = 0;

	printf("thread %d \"%s\" %s", (int)s->tid, text_safe(s->stat.comm), thread_state(s));
	if (in != NULL)
		printf(" in %s", in);
	if (s->how == SNAP_NONSTOP)
		fputs(" (not stopped)", stdout);
	putchar('\n');
	if (s->how != SNAP_NONE)
		nfr = shown_frames(u, sym, tc, &fr);
	if (s->how != SNAP_NONE && waits_on(s, fr, nfr, &w)) {
		procfs_fd_wait_text(&w, text, sizeof text);
		printf("  waits on %s\n", text_safe(text));
	}
	if (util_verbose && s->how == SNAP_STOPPED)
		printf("  held %.1f us (the stop took %.1f us to arrive), %zu bytes of stack\n",
		       (double)s->held_ns / 1e3, (double)s->stop_latency_ns / 1e3,
		       s->stack_len);
	else if (util_verbose && s->how == SNAP_NONSTOP)
		printf("  not stopped, %zu bytes of stack\n", s->stack_len);
	if (s->how == SNAP_NONE) {
		printf("  (no stack: %s)\n", snapshot_error_name(s->error));
		return;
	}
	for (size_t i = 0; i < nfr; i++) {
		note_unnamed(fr[i].r);
		print_frame_text(i, &fr[i]);
	}
	free(fr);
	if (u->truncated && u->copy_short)
		printf("  -- stack truncated (the stack goes on beyond the %zu KiB copied: -s)\n",
		       s->stack_len >> 10);
	else if (u->truncated)
		puts("  -- stack truncated (did not reach the thread's first frame)");
}

static json_t *
thread_json(const struct snapshot *s, const struct unwind_result *u, struct symbols *sym,
	    struct tailcall *tc)
{
	json_t *t = json_object(), *frames = json_array();
	char buf[32];
	const char *in = blocked_in(s, buf, sizeof buf);
	struct shown_frame *fr = NULL;
	struct fd_wait w;
	size_t nfr;

	json_object_set_new(t, "tid", json_integer(s->tid));
	json_object_set_new(t, "name", json_string(text_utf8(s->stat.comm)));
	json_object_set_new(t, "state", json_string(thread_state(s)));
	json_object_set_new(t, "syscall", in ? json_string(in) : json_null());
	json_object_set_new(t, "stopped", json_boolean(s->how == SNAP_STOPPED));
	if (s->how == SNAP_STOPPED)
		json_object_set_new(t, "held_us", json_real((double)s->held_ns / 1e3));
	if (s->how == SNAP_NONE) {
		json_object_set_new(t, "error", json_string(s->error != SNAP_ERR_NONE ? snapshot_error_name(s->error) : "unknown"));
		json_object_set_new(t, "waits_on", json_null());
		json_object_set_new(t, "frames", frames);
		return t;
	}
	json_object_set_new(t, "truncated", json_boolean(u->truncated));
	if (u->truncated)
		json_object_set_new(t, "truncated_why",
				    json_string(u->copy_short ? "stack copy too short"
							      : "no root frame reached"));
	nfr = shown_frames(u, sym, tc, &fr);
	if (waits_on(s, fr, nfr, &w))
		json_object_set_new(t, "waits_on", waits_on_json(&w));
	else
		json_object_set_new(t, "waits_on", json_null());
	for (size_t i = 0; i < nfr; i++) {
		const struct sym_result *r = fr[i].r;
		const struct sym_frame *f = fr[i].f;
		json_t *o = json_object();

		note_unnamed(r);
		json_object_set_new(o, "index", json_integer((json_int_t)i));
		json_object_set_new(o, "pc", json_sprintf("0x%" PRIx64, fr[i].pc));
		json_object_set_new(o, "function", f->function ? json_string(text_utf8(f->function)) : json_null());
		json_object_set_new(o, "file", f->file ? json_string(text_utf8(f->file)) : json_null());
		json_object_set_new(o, "line", f->line > 0 ? json_integer(f->line) : json_null());
		json_object_set_new(o, "inlined", json_boolean(f->inlined));
		json_object_set_new(o, "tail_call", json_boolean(fr[i].tailcall));
		json_object_set_new(o, "module", r->module ? json_string(text_utf8(r->module->path)) : json_null());
		json_object_set_new(o, "build_id", r->module && r->module->build_id
				    ? json_string(r->module->build_id) : json_null());
		json_object_set_new(o, "offset", json_sprintf("0x%" PRIx64, r->offset));
		json_array_append_new(frames, o);
	}
	free(fr);
	json_object_set_new(t, "frames", frames);
	return t;
}

static int
parse_opts(int argc, char **argv, struct dump_opts *o)
{
	enum { OPT_CHILDREN = 256 };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "children", no_argument, NULL, OPT_CHILDREN },
		{ "json", no_argument, NULL, 'j' },
		CMD_SAMPLING_COPY_OPTIONS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc;

	memset(o, 0, sizeof *o);
	cmd_sampling_init(&o->sampling, true);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:p:ju:s:vh", longopts, NULL)) != -1) {
		if ((rc = cmd_opt_sampling("dump", ch, optarg, &o->sampling)) != 0) {
			if (rc != 1)
				return rc;
			continue;
		}
		switch (ch) {
		case 'p':
			if (!cmd_parse_pids("dump", optarg, &o->pids))
				return EXIT_USAGE;
			break;
		case OPT_CHILDREN:
			o->children = true;
			break;
		case 'j':
			o->json = true;
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
	for (; optind < argc; optind++)
		if (!cmd_parse_pids("dump", argv[optind], &o->pids))
			return EXIT_USAGE;
	if (o->pids.n == 0)
		return cmd_usage_error("dump", "a PID is needed");
	return cmd_sampling_check("dump", &o->sampling);
}

/* A thread whose unwind wanted more stack than was copied is copied again,
 * with twice the room, until its stack fits or the copy reaches
 * SNAPSHOT_GROW_MAX (or -s, if larger). */
static void
grow_short_copies(struct capture *cap, struct unwinder *uw)
{
	struct unwind_result *ur = xmalloc(sizeof *ur);
	size_t max = cap->opts->sampling.stack_size > SNAPSHOT_GROW_MAX ? cap->opts->sampling.stack_size
							       : SNAPSHOT_GROW_MAX;

	for (int round = 0; round < 8; round++) {
		struct capture again = *cap;
		size_t *which = xcalloc(cap->n, sizeof *which);
		pthread_t th;

		again.n = 0;
		for (size_t i = 0; i < cap->n; i++) {
			const struct snapshot *s = &cap->snaps[i];

			if (s->how == SNAP_NONE || s->stack_cap >= max)
				continue;
			unwinder_unwind(uw, s, ur);
			if (ur->copy_short)
				which[again.n++] = i;
		}
		if (again.n == 0) {
			free(which);
			break;
		}
		again.snaps = xcalloc(again.n, sizeof *again.snaps);
		for (size_t j = 0; j < again.n; j++) {
			size_t cap2 = cap->snaps[which[j]].stack_cap * 2;

			snapshot_init(&again.snaps[j], cap2 < max ? cap2 : max);
			again.snaps[j].tid = cap->snaps[which[j]].tid;
		}
		again.cause = NULL;
		if (pthread_create(&th, NULL, capture_main, &again) == 0)
			pthread_join(th, NULL);
		for (size_t j = 0; j < again.n; j++) {
			struct snapshot *old = &cap->snaps[which[j]];

			/* A thread gone or no longer held keeps its first copy. */
			if (again.status == TRACER_OK && again.snaps[j].how != SNAP_NONE) {
				snapshot_release(old);
				*old = again.snaps[j];
			} else {
				snapshot_release(&again.snaps[j]);
			}
		}
		free(again.snaps);
		free(again.cause);
		free(which);
		if (again.status != TRACER_OK || again.interrupted || again.exited)
			break;
	}
	free(ur);
}

/* Dump one process: text to stdout, or its JSON object added to all.
 * Returns an exit code; quiet_gone leaves out the message for a process
 * that is gone (a child that exited meanwhile). */
static int
dump_one(pid_t pid, struct dump_opts *o, json_t *all, bool quiet_gone)
{
	const struct dump_opts opts = *o;
	struct symbols *sym = NULL;
	struct unwinder *uw = NULL;
	struct tailcall *tc = NULL;
	struct capture cap;
	struct unwind_result *ur;
	char *cause = NULL;
	pthread_t th;
	int rc, ret = EXIT_OK;
	uint64_t max_held = 0, total_held = 0;
	json_t *root = NULL, *threads = NULL;

	/* Read the mappings first: nothing is stopped yet. A failure here is
	 * explained better by the attach below, so it is only remembered. */
	sym = symbols_new(pid, &cause);
	if (sym != NULL)
		uw = unwinder_new(opts.sampling.unwinder, pid, sym, &cause);

	memset(&cap, 0, sizeof cap);
	cap.pid = pid;
	cap.opts = &opts;
	procfs_comm(pid, cap.comm, sizeof cap.comm);
	if ((rc = pthread_create(&th, NULL, capture_main, &cap)) != 0)
		fatal("cannot start the capture thread: %s", strerror(rc));
	pthread_join(th, NULL);

	if (cap.status != TRACER_OK) {
		ret = cmd_exit_for_tracer(cap.status);
		if (!(quiet_gone && cap.status == TRACER_NOPROC))
			err_msg("%s", cap.cause);
		goto out;
	}
	if (cap.interrupted) {
		err_msg("interrupted; process %d was detached and keeps running", pid);
		ret = EXIT_INTERRUPTED;
		goto out;
	}
	if (cap.exited) {
		if (!quiet_gone)
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
		json_object_set_new(root, "unwinder", json_string(unwind_kind_name(opts.sampling.unwinder)));
	} else {
		printf("process %d (%s): %zu threads, unwinder %s\n\n", pid, text_safe(cap.comm),
		       cap.n, unwind_kind_name(opts.sampling.unwinder));
	}
	grow_short_copies(&cap, uw);
	tc = tailcall_new(sym);
	ur = xmalloc(sizeof *ur);
	for (size_t i = 0; i < cap.n; i++) {
		const struct snapshot *s = &cap.snaps[i];

		if (s->how == SNAP_NONE && s->error == SNAP_ERR_EXITED)
			continue;
		unwinder_unwind(uw, s, ur);
		if (s->held_ns > max_held)
			max_held = s->held_ns;
		total_held += s->held_ns;
		if (opts.json) {
			json_array_append_new(threads, thread_json(s, ur, sym, tc));
		} else {
			print_thread_text(s, ur, sym, tc);
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
		json_array_append_new(all, root);
	}
	warn_unnamed();
	verbose_msg("each thread was held on its own: longest %.1f us, all together %.1f us",
		    (double)max_held / 1e3, (double)total_held / 1e3);
out:
	for (size_t i = 0; i < cap.n; i++)
		snapshot_release(&cap.snaps[i]);
	free(cap.snaps);
	free(cap.cause);
	free(cause);
	tailcall_free(tc);
	unwinder_free(uw);
	symbols_free(sym);
	return ret;
}

/* With --children: the processes each one started, and theirs, after it
 * (a process is listed once). */
static void
add_children(struct cmd_pids *l)
{
	for (size_t i = 0; i < l->n; i++) {
		pid_t *kids;
		size_t n;

		if (!procfs_children(l->v[i], &kids, &n))
			continue;
		for (size_t k = 0; k < n; k++) {
			size_t j;

			for (j = 0; j < l->n && l->v[j] != kids[k]; j++)
				;
			if (j == l->n && kids[k] != getpid()) {
				GROW(l->v, l->cap, l->n + 1);
				l->v[l->n++] = kids[k];
			}
		}
		free(kids);
	}
}

int
cmd_dump(int argc, char **argv)
{
	struct dump_opts opts;
	json_t *all;
	size_t given;
	int rc, ret = EXIT_OK;

	rc = parse_opts(argc, argv, &opts);
	if (rc != 0) {
		cmd_pids_release(&opts.pids);
		return rc < 0 ? EXIT_OK : rc;
	}
	given = opts.pids.n;
	if (opts.children)
		add_children(&opts.pids);
	all = json_array();
	for (size_t i = 0; i < opts.pids.n; i++) {
		rc = dump_one(opts.pids.v[i], &opts, all, i >= given);
		if (rc == EXIT_INTERRUPTED) {
			ret = rc;
			break;
		}
		/* A child that exited since it was listed is no error. */
		if (rc != EXIT_OK && ret == EXIT_OK && !(i >= given && rc == EXIT_NOPROC))
			ret = rc;
	}
	if (opts.json && json_array_size(all) > 0) {
		/* One process: its object, as always; several: a list of them. */
		json_t *root = all;

		if (opts.pids.n == 1) {
			root = json_incref(json_array_get(all, 0));
		} else {
			root = json_object();
			json_object_set(root, "processes", all);
		}
		json_dumpf(root, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(root);
	}
	json_decref(all);
	if (!cmd_finish_output() && ret == EXIT_OK)
		ret = errno == EPIPE ? EXIT_OK : EXIT_ERROR;
	cmd_pids_release(&opts.pids);
	return ret;
}
