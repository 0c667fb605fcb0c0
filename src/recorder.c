/* recorder.c: the consumer side of a profiling session. */
#include "config.h"

#include "recorder.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "probes.h"
#include "procfs.h"
#include "session.h"
#include "signals.h"
#include "symbols.h"
#include "tracer.h"
#include "util.h"

#define BATCH 512
/* About how long one recorder_step spends unwinding. */
#define STEP_NS 100000000u

double
recorder_elapsed(const struct recorder *r)
{
	return (double)((r->stop_ns ? r->stop_ns : now_ns()) - r->start_ns) / 1e9;
}

double
recorder_sampled(const struct recorder *r)
{
	double el = recorder_elapsed(r);

	for (size_t i = 0; i < r->n_gaps; i++)
		el -= (r->gaps[i].end >= 0 ? r->gaps[i].end : recorder_elapsed(r)) - r->gaps[i].start;
	return el;
}

uint32_t
recorder_bucket(const struct recorder *r)
{
	return (uint32_t)((now_ns() - r->start_ns) / 1000000000u);
}

static void
iso_time(uint64_t unix_ns, char *buf, size_t n)
{
	time_t secs = (time_t)(unix_ns / 1000000000u);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static uint64_t
unix_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The process context, as session meta values. */
static void
write_context(struct recorder *r, struct session_writer *w)
{
	char buf[256], *s;

	session_set_meta(w, "siprof_version", PACKAGE_VERSION);
	if (gethostname(buf, sizeof buf) == 0) {
		buf[sizeof buf - 1] = '\0';
		session_set_meta(w, "host", buf);
	}
	procfs_kernel_release(buf, sizeof buf);
	session_set_meta(w, "kernel", buf);
	snprintf(buf, sizeof buf, "%d", (int)r->pid);
	session_set_meta(w, "pid", buf);
	session_set_meta(w, "comm", r->comm);
	if ((s = procfs_cmdline(r->pid)) != NULL) {
		session_set_meta(w, "command", s);
		free(s);
	}
	if ((s = procfs_exe(r->pid)) != NULL) {
		const char *id = r->sym != NULL ? symbols_build_id_of(r->sym, s) : NULL;

		session_set_meta(w, "executable", s);
		if (id != NULL)
			session_set_meta(w, "build_id", id);
		free(s);
	}
	iso_time(r->start_unix_ns, buf, sizeof buf);
	session_set_meta(w, "start", buf);
	snprintf(buf, sizeof buf, "%" PRIu64, r->start_unix_ns);
	session_set_meta(w, "start_unix_ns", buf);
	snprintf(buf, sizeof buf, "%g", r->opts.sampler.rate_hz);
	session_set_meta(w, "rate_hz", buf);
	snprintf(buf, sizeof buf, "%.2f", r->metrics.capacity);
	session_set_meta(w, "cpu_capacity", buf);
	session_set_meta(w, "unwinder", unwind_kind_name(r->opts.unwinder));
	{
		unsigned char id[16];

		if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id)
			memset(id, 0, sizeof id);
		for (size_t i = 0; i < sizeof id; i++)
			sprintf(buf + 2 * i, "%02x", id[i]);
		session_set_meta(w, "run_id", buf);
	}
	for (char **t = r->opts.tags; t != NULL && *t != NULL; t++) {
		char key[128];
		const char *eq = strchr(*t, '=');

		snprintf(key, sizeof key, "tag.%.*s", (int)(eq - *t), *t);
		session_set_meta(w, key, eq + 1);
	}
}

static void
end_meta(struct recorder *r, struct session_writer *w)
{
	char buf[64];
	uint64_t end = r->start_unix_ns + ((r->stop_ns ? r->stop_ns : now_ns()) - r->start_ns);

	/* Said once: why the heap series is absent, as last seen. */
	if (metrics_heap_why(&r->metrics) != NULL)
		session_set_meta(w, "heap_unavailable", metrics_heap_why(&r->metrics));
	iso_time(end, buf, sizeof buf);
	session_set_meta(w, "end", buf);
	snprintf(buf, sizeof buf, "%" PRIu64, end);
	session_set_meta(w, "end_unix_ns", buf);
}

/* The sampling statistics as stats rows; returns how many. */
static size_t
collect_stats(struct recorder *r, struct session_stat *out)
{
	struct sampler_stats st;
	size_t n = 0;

	sampler_get_stats(r->sampler, &st);
#define STAT(k, v) out[n++] = (struct session_stat){ (k), (double)(v) }
	STAT("duration_s", recorder_elapsed(r));
	STAT("ticks", st.ticks);
	STAT("samples", st.samples);
	STAT("missed_ticks", st.missed_ticks);
	STAT("stops", st.stops);
	STAT("nonstop_snapshots", st.nonstop);
	STAT("reused_stacks", st.reused);
	STAT("truncated_stacks", r->truncated);
	STAT("unwind_failures", r->unwind_failures);
	STAT("failed_snapshots", st.failed);
	STAT("dropped_samples", st.dropped);
	STAT("late_stops", st.late);
	STAT("held_p50_us", hold_hist_percentile(&st.held, 50));
	STAT("held_p99_us", hold_hist_percentile(&st.held, 99));
	STAT("held_max_us", (double)st.held.max_ns / 1e3);
	STAT("threads_seen", st.threads_seen);
	STAT("threads_exited", st.threads_exited);
	STAT("signals_passed", st.signals_passed);
	if (r->alloc != NULL) {
		struct alloc_stats as;

		alloc_get_stats(r->alloc, &as);
		STAT("alloc_windows", as.windows);
		STAT("alloc_window_s", as.window_s);
		STAT("alloc_period_s", as.period_s);
		STAT("alloc_probed_s", as.probed_s);
		STAT("alloc_duty", as.duty);
		STAT("alloc_hits", as.hits);
		STAT("alloc_lost", as.lost);
		STAT("alloc_refused", as.refused);
		STAT("alloc_calls", as.allocs);
		STAT("alloc_frees", as.frees);
		STAT("alloc_cost_per_hit_us", as.cost_per_hit_us);
		STAT("alloc_budget", as.budget);
		STAT("alloc_overhead_estimated", as.estimated);
		STAT("alloc_overhead_measured", as.measured);
		STAT("alloc_followed", as.followed);
		STAT("alloc_threads_born", as.born);
	}
#undef STAT
	return n;
}

#define MAX_STATS 40

/* The sampler's clone event, with --alloc. */
static void
thread_born(void *arg, pid_t pid, pid_t tid)
{
	alloc_thread_born(arg, pid, tid);
}

/* Undo a start that failed after the sampler was running. */
static int
start_failed(struct recorder *r, int status)
{
	sampler_on_thread(r->sampler, NULL, NULL);
	sampler_stop(r->sampler);
	alloc_stop(r->alloc);
	r->alloc = NULL;
	if (r->writer != NULL) {
		session_abandon(r->writer);
		r->writer = NULL;
		unlink(r->opts.output);
	}
	recorder_release(r);
	return status;
}

/* How long after a failed read of a live process's symbols they are
 * read again: in the middle of an exec its mappings cannot be read. */
#define PROC_RETRY_NS 20000000u

static bool
proc_read_symbols(struct recorder *r, struct recorder_proc *pr, char **cause)
{
	/* A process gone already (a compiler of a build that ran for a
	 * moment) is read from the mappings the sampler saw: its files are
	 * on the disk still. */
	bool gone = pr->maps != NULL && procfs_process_gone(pr->pid);

	pr->sym = gone ? NULL : symbols_new(pr->pid, cause);
	if (pr->sym == NULL && pr->maps != NULL) {
		free(*cause);
		*cause = NULL;
		pr->sym = symbols_new_maps(pr->pid, pr->maps, cause);
	}
	if (pr->sym != NULL)
		pr->uw = unwinder_new(r->opts.unwinder, pr->pid, pr->sym, cause);
	if (pr->uw == NULL) {
		symbols_free(pr->sym);
		pr->sym = NULL;
		pr->retry_ns = now_ns() + PROC_RETRY_NS;
	}
	return pr->uw != NULL;
}

/* A process's symbols and unwinder, read when its first sample comes. */
static struct recorder_proc *
proc_new(struct recorder *r, pid_t pid, char **cause)
{
	struct recorder_proc *pr = xcalloc(1, sizeof *pr);

	pr->pid = pid;
	stackcache_init(&pr->stacks);
	hashmap_init(&pr->last_stack);
	proc_read_symbols(r, pr, cause);
	hashmap_put(&r->procs, (uint64_t)pid, pr);
	return pr;
}

static void
proc_free(struct recorder_proc *pr)
{
	free(pr->maps);
	unwinder_free(pr->uw);
	symbols_free(pr->sym);
	stackcache_release(&pr->stacks);
	hashmap_release(&pr->last_stack);
	free(pr);
}

/* The process of a sample, made when its first sample comes (one of the
 * targets' children), with the mappings the sampler sent along. */
static struct recorder_proc *
proc_of(struct recorder *r, struct sample_item *it)
{
	pid_t pid = it->pid != 0 ? it->pid : r->pid;
	struct recorder_proc *pr = hashmap_get(&r->procs, (uint64_t)pid);
	char *cause = NULL;

	if (pr != NULL && it->maps != NULL) {
		free(pr->maps);
		pr->maps = it->maps;
		it->maps = NULL;
	}
	if (pr != NULL)
		return pr;
	pr = xcalloc(1, sizeof *pr);
	pr->pid = pid;
	pr->maps = it->maps;
	it->maps = NULL;
	pr->exec_gen = it->exec_gen;
	stackcache_init(&pr->stacks);
	hashmap_init(&pr->last_stack);
	proc_read_symbols(r, pr, &cause);
	free(cause);
	hashmap_put(&r->procs, (uint64_t)pid, pr);
	return pr;
}

int
recorder_start(struct recorder *r, const pid_t *pids, size_t n_pids, char *const *argv,
	       const struct recorder_opts *opts, char **cause, int *exit_status)
{
	struct recorder_proc *main_proc;
	int rc;

	*exit_status = -1;
	memset(r, 0, sizeof *r);
	r->opts = *opts;
	profile_init(&r->prof);
	hashmap_init(&r->procs);
	if (opts->output != NULL) {
		r->writer = session_create(opts->output, opts->force, cause);
		if (r->writer == NULL) {
			recorder_release(r);
			return TRACER_ERROR;
		}
	}
	r->sampler = sampler_new(pids, n_pids, argv, &opts->sampler);
	rc = sampler_start(r->sampler, cause);
	if (rc != TRACER_OK) {
		*exit_status = sampler_exit_status(r->sampler);
		return start_failed(r, rc);
	}
	r->pid = sampler_pid(r->sampler);
	/* The session starts with the sampling, not when this thread got
	 * a CPU again after it. */
	r->start_ns = sampler_start_ns(r->sampler);
	r->start_unix_ns = unix_now_ns() - (now_ns() - r->start_ns);
	procfs_comm(r->pid, r->comm, sizeof r->comm);
	metrics_init(&r->metrics, r->pid);
	metrics_sample(&r->metrics, 0);
	r->next_second = 1;
	main_proc = proc_new(r, r->pid, cause);
	r->sym = main_proc->sym;
	r->uw = main_proc->uw;
	/* The other processes given are read now too: a failure is theirs. */
	for (size_t i = 1; i < n_pids && r->uw != NULL; i++)
		if (hashmap_get(&r->procs, (uint64_t)pids[i]) == NULL &&
		    proc_new(r, pids[i], cause)->uw == NULL && !procfs_process_gone(pids[i]))
			return start_failed(r, TRACER_ERROR);
	if (r->uw == NULL && procfs_process_gone(r->pid)) {
		/* Gone already (a command that ran for an instant): what was
		 * sampled cannot be symbolized; the session records that. */
		free(*cause);
		*cause = NULL;
	} else if (r->uw == NULL) {
		return start_failed(r, TRACER_ERROR);
	}
	if (opts->alloc) {
		int st;

		r->alloc = alloc_start(r->pid, &opts->alloc_opts, &st, cause);
		if (r->alloc == NULL)
			return start_failed(r, st == PROBES_NOPERM || st == PROBES_NOSUPPORT
						       ? RECORDER_NOPROBES : TRACER_ERROR);
		/* Threads born in a window get their probes before they run. */
		sampler_on_thread(r->sampler, thread_born, r->alloc);
		if (r->writer != NULL) {
			struct alloc_stats as;

			alloc_get_stats(r->alloc, &as);
			session_set_meta(r->writer, "alloc_functions", as.functions);
			session_set_meta(r->writer, "alloc_probes", as.mechanism);
		}
	}
	if (r->writer != NULL) {
		/* The context goes to disk now: a file killed at any moment
		 * is a session from its first second. */
		write_context(r, r->writer);
		end_meta(r, r->writer);
		if (!session_flush(r->writer, &r->prof, 0, &r->metrics, NULL, 0, cause))
			return start_failed(r, TRACER_ERROR);
	}
	return TRACER_OK;
}

/* The stack of a sample whose stack is not known (the process was gone
 * before its symbols could be read, or the thread's last stack went with an
 * exec): one frame, "[unknown]". The sample is counted as an unwind failure. */
static uint32_t
unknown_stack(struct recorder *r)
{
	struct pframe f = { .function = profile_string(&r->prof, "[unknown]") };

	return profile_node(&r->prof, 0, profile_frame(&r->prof, &f));
}

/* A sample whose process has no symbols to unwind with: counted, with a
 * stack that is not known, its copy handed back. */
static void
add_unknown(struct recorder *r, struct sample_item *it, uint32_t bucket)
{
	if (it->snap != NULL)
		sampler_recycle(r->sampler, it->snap);
	it->snap = NULL;
	r->unwind_failures += it->count;
	profile_add(&r->prof, bucket, (uint32_t)it->tid, unknown_stack(r),
		    (enum sample_class)it->cls, it->sysnr, it->count);
}

static void
consume(struct recorder *r, struct sample_item *it)
{
	struct unwind_result *ur = &r->ur;
	uint32_t bucket = (uint32_t)((it->t_ns > r->start_ns ? it->t_ns - r->start_ns : 0) /
				     1000000000u);
	struct recorder_proc *pr = proc_of(r, it);
	uint32_t stack;
	void *v;

	r->done += it->count;
	if (strcmp(profile_thread_name(&r->prof, (uint32_t)it->tid), it->comm) != 0 ||
	    profile_thread_pid(&r->prof, (uint32_t)it->tid) != (uint32_t)pr->pid) {
		profile_thread(&r->prof, (uint32_t)it->tid, it->comm);
		profile_thread_set_pid(&r->prof, (uint32_t)it->tid, (uint32_t)pr->pid);
	}
	if (pr->uw == NULL && now_ns() >= pr->retry_ns &&
	    (pr->maps != NULL || !procfs_process_gone(pr->pid))) {
		char *cause = NULL;

		/* Not read yet (it was in an exec): they describe it now. */
		if (proc_read_symbols(r, pr, &cause))
			pr->exec_gen = it->exec_gen;
		free(cause);
	}
	if (pr->uw == NULL) {
		/* The process was gone before its symbols could be read. */
		add_unknown(r, it, bucket);
		return;
	}
	if (it->exec_gen != pr->exec_gen) {
		/* The program replaced itself: addresses mean new code now. A
		 * process gone since is read from the mappings sent with it. */
		pr->exec_gen = it->exec_gen;
		if (pr->maps != NULL && procfs_process_gone(pr->pid)) {
			char *cause = NULL;

			unwinder_free(pr->uw);
			symbols_free(pr->sym);
			pr->uw = NULL;
			pr->sym = NULL;
			proc_read_symbols(r, pr, &cause);
			free(cause);
		} else {
			symbols_refresh(pr->sym, true);
		}
		stackcache_forget_addresses(&pr->stacks);
		hashmap_release(&pr->last_stack);
		if (pr->uw == NULL) {
			add_unknown(r, it, bucket);
			return;
		}
	}
	if (it->reuse) {
		v = hashmap_get(&pr->last_stack, (uint64_t)it->tid);
		if (v == NULL) {
			/* No stack to count again (it went with an exec, or
			 * its first copy was dropped): counted all the same. */
			r->unwind_failures += it->count;
			v = (void *)(uintptr_t)(unknown_stack(r) + 1);
		}
		stack = (uint32_t)((uintptr_t)v - 1);
	} else {
		if (r->opts.extra_unwind_us > 0)
			usleep(r->opts.extra_unwind_us);
		unwinder_unwind(pr->uw, it->snap, ur);
		if (ur->copy_short)
			sampler_grow_copy(r->sampler, it->tid, it->snap->stack_cap);
		sampler_recycle(r->sampler, it->snap);
		it->snap = NULL;
		if (ur->truncated)
			r->truncated++;
		if (ur->truncated && ur->n <= 1)
			r->unwind_failures++;
		stack = stackcache_stack(&pr->stacks, &r->prof, pr->sym, ur->pcs, ur->n, ur->truncated);
		hashmap_put(&pr->last_stack, (uint64_t)it->tid, (void *)(uintptr_t)(stack + 1));
	}
	profile_add(&r->prof, bucket, (uint32_t)it->tid, stack,
		    stackcache_refine_class(&pr->stacks, &r->prof, stack, (enum sample_class)it->cls,
					    it->callnr),
		    it->sysnr, it->count);
}

/* The allocation items the probes finished: their stacks interned like
 * any sample's. */
static void
consume_alloc(struct recorder *r)
{
	static struct alloc_item items[64];
	struct recorder_proc *pr = hashmap_get(&r->procs, (uint64_t)r->pid);
	size_t n;

	if (r->alloc == NULL || pr == NULL || pr->uw == NULL)
		return;
	while ((n = alloc_take(r->alloc, items, 64)) > 0) {
		for (size_t i = 0; i < n; i++) {
			const struct alloc_item *it = &items[i];
			struct psample s = { 0 };
			char comm[PROCFS_COMM_MAX];

			if (profile_thread_name(&r->prof, (uint32_t)it->tid)[0] == '\0') {
				procfs_task_comm(r->pid, it->tid, comm, sizeof comm);
				profile_thread(&r->prof, (uint32_t)it->tid, comm);
				profile_thread_set_pid(&r->prof, (uint32_t)it->tid, (uint32_t)r->pid);
			}
			s.bucket = (uint32_t)((it->t_ns > r->start_ns ? it->t_ns - r->start_ns : 0) /
					      1000000000u);
			s.tid = (uint32_t)it->tid;
			s.stack = stackcache_stack(&pr->stacks, &r->prof, pr->sym, it->pcs, it->n,
						   it->truncated);
			s.type = it->kind == ALLOC_ITEM_ALLOC ? PT_ALLOC : PT_INUSE;
			s.count = (uint32_t)it->objects;
			s.value = it->bytes;
			profile_add_sample(&r->prof, &s);
		}
	}
}

size_t
recorder_leaks(struct recorder *r, struct recorder_leak **out)
{
	struct recorder_proc *pr = hashmap_get(&r->procs, (uint64_t)r->pid);
	struct alloc_leak *leaks;
	size_t n;

	*out = NULL;
	if (r->alloc == NULL || pr == NULL || pr->uw == NULL)
		return 0;
	n = alloc_leaks(r->alloc, &leaks);
	if (n > 0)
		*out = xcalloc(n, sizeof **out);
	for (size_t i = 0; i < n; i++)
		(*out)[i] = (struct recorder_leak){
			.stack = stackcache_stack(&pr->stacks, &r->prof, pr->sym, leaks[i].pcs,
						  leaks[i].n, false),
			.bytes_per_s = leaks[i].bytes_per_s,
			.live_bytes = leaks[i].live_bytes,
			.live_objects = leaks[i].live_objects,
			.windows = leaks[i].windows };
	free(leaks);
	return n;
}

/* The leak suspects as they are now, for the next flush. */
static void
set_leaks(struct recorder *r)
{
	struct recorder_leak *leaks;
	struct session_leak *rows;
	size_t n;

	if (r->alloc == NULL || r->writer == NULL)
		return;
	n = recorder_leaks(r, &leaks);
	rows = xcalloc(n + 1, sizeof *rows);
	for (size_t i = 0; i < n; i++)
		rows[i] = (struct session_leak){ .stack = leaks[i].stack,
						 .bytes_per_s = leaks[i].bytes_per_s,
						 .live_bytes = leaks[i].live_bytes,
						 .windows = leaks[i].windows };
	session_set_leaks(r->writer, rows, n);
	free(rows);
	free(leaks);
}

/* Commit the samples of buckets before `before`, the metrics and the stats.
 * Rows on disk are sealed: a sample that comes for one of them later (the
 * queue is behind the clock) gets a row of its own instead of being added
 * to a row that is not written again. */
static bool
flush(struct recorder *r, uint32_t before, char **cause)
{
	struct session_stat stats[MAX_STATS];
	size_t n;

	end_meta(r, r->writer);
	set_leaks(r);
	n = collect_stats(r, stats);
	if (!session_flush(r->writer, &r->prof, before, &r->metrics, stats, n, cause))
		return false;
	r->prof.n_sealed = session_samples_written(r->writer);
	return true;
}

/* Forget the processes that exited (--children: a build's compilers come
 * by the thousand) once no sample of theirs can be queued any more: the
 * queue is in tick order, and none was taken after they were seen gone. */
static void
forget_gone(struct recorder *r)
{
	struct recorder_proc *pr;
	uint64_t pid, *gone = NULL;
	size_t it = 0, n = 0, cap = 0;

	while (hashmap_next(&r->procs, &it, &pid, (void **)&pr)) {
		if ((pid_t)pid == r->pid)
			continue;
		if (pr->gone_ns == 0) {
			if (procfs_process_gone(pr->pid))
				pr->gone_ns = now_ns();
		} else if (r->newest_ns > pr->gone_ns) {
			GROW(gone, cap, n + 1);
			gone[n++] = pid;
		}
	}
	for (size_t i = 0; i < n; i++)
		proc_free(hashmap_remove(&r->procs, gone[i]));
	free(gone);
}

static bool
per_second(struct recorder *r, uint32_t second, char **cause)
{
	forget_gone(r);
	metrics_sample(&r->metrics, second);
	if (r->writer == NULL)
		return true;
	return flush(r, second, cause);
}

bool
recorder_step(struct recorder *r, int timeout_ms, char **cause)
{
	struct sample_item items[BATCH];
	bool ended = false;
	size_t n, take = r->take > 0 && r->take < BATCH ? r->take : BATCH;
	uint64_t t0, spent;
	uint32_t now_s;

	n = sampler_take(r->sampler, items, take, timeout_ms, &ended);
	t0 = now_ns();
	for (size_t i = 0; i < n; i++)
		consume(r, &items[i]);
	consume_alloc(r);
	if (r->alloc != NULL && alloc_error(r->alloc) != NULL && r->stop_ns == 0) {
		*cause = xasprintf("allocation probes: %s", alloc_error(r->alloc));
		return false;
	}
	/* Unwinding slower than sampling: take what a step can do in about
	 * STEP_NS, so that the caller's status line keeps being drawn. */
	spent = now_ns() - t0;
	if (n > 0 && spent > STEP_NS)
		r->take = n * STEP_NS / spent > 0 ? (size_t)(n * STEP_NS / spent) : 1;
	else if (n == take)
		r->take = take * 2;
	r->lag_ns = n > 0 && now_ns() > items[n - 1].t_ns ? now_ns() - items[n - 1].t_ns : 0;
	if (n > 0 && items[n - 1].t_ns > r->newest_ns)
		r->newest_ns = items[n - 1].t_ns;
	now_s = recorder_bucket(r);
	if (now_s >= r->next_second) {
		if (!per_second(r, now_s, cause))
			return false;
		r->next_second = now_s + 1;
	}
	if (ended) {
		/* Sampling ended by itself (the process exited, or --duration
		 * was reached): the session ends then, not when the samples
		 * still queued were done with. */
		uint64_t end = sampler_end_ns(r->sampler);

		r->ended = true;
		if (r->stop_ns == 0)
			r->stop_ns = end == 0 ? now_ns() : end > r->start_ns ? end : r->start_ns;
	}
	return !ended;
}

/* Record the gap that starts or ends now, and commit it with the rest. */
static bool
mark_gap(struct recorder *r, bool start, char **cause)
{
	struct session_gap *g;

	if (start) {
		GROW(r->gaps, r->cap_gaps, r->n_gaps + 1);
		r->gaps[r->n_gaps++] = (struct session_gap){ recorder_elapsed(r), -1, "suspended" };
	}
	g = &r->gaps[r->n_gaps - 1];
	if (!start)
		g->end = recorder_elapsed(r);
	if (r->writer == NULL)
		return true;
	session_mark_gap(r->writer, g);
	return flush(r, recorder_bucket(r), cause);
}

bool
recorder_suspend(struct recorder *r, char **cause)
{
	struct sample_item items[BATCH];
	bool ended;
	size_t n;

	if (!sampler_suspend(r->sampler))
		return true; /* sampling was over: nothing to let go of */
	while ((n = sampler_take(r->sampler, items, BATCH, 0, &ended)) > 0)
		for (size_t i = 0; i < n; i++)
			consume(r, &items[i]);
	return mark_gap(r, true, cause);
}

int
recorder_resume(struct recorder *r, char **cause)
{
	int rc;

	if (r->n_gaps == 0 || r->gaps[r->n_gaps - 1].end >= 0)
		return TRACER_OK;
	if (!mark_gap(r, false, cause))
		return TRACER_ERROR;
	if (signals_stop_requested()) {
		sampler_stop(r->sampler);
		return TRACER_OK;
	}
	rc = sampler_resume(r->sampler, cause);
	if (rc == TRACER_NOPROC)
		set_cause(cause, "process %d exited while siprof was suspended", (int)r->pid);
	return rc;
}

bool
recorder_finish(struct recorder *r, char **cause)
{
	struct session_stat stats[MAX_STATS];
	bool ok = true;
	size_t n;

	if (r->stop_ns == 0)
		r->stop_ns = now_ns();
	/* The probes first: every event closed, then what they saw. */
	sampler_on_thread(r->sampler, NULL, NULL);
	if (r->alloc != NULL)
		alloc_finish(r->alloc);
	sampler_stop(r->sampler);
	while (recorder_step(r, 0, cause))
		;
	consume_alloc(r);
	if (r->writer != NULL) {
		end_meta(r, r->writer);
		set_leaks(r);
		n = collect_stats(r, stats);
		ok = session_close(r->writer, &r->prof, &r->metrics, stats, n, cause);
		r->writer = NULL;
	}
	return ok;
}

bool
recorder_save(struct recorder *r, const char *path, char **cause)
{
	struct session_writer *w = session_create(path, false, cause);
	struct session_stat stats[MAX_STATS];
	size_t n;

	if (w == NULL)
		return false;
	for (size_t i = 0; i < r->n_gaps; i++)
		session_mark_gap(w, &r->gaps[i]);
	write_context(r, w);
	end_meta(r, w);
	n = collect_stats(r, stats);
	return session_close(w, &r->prof, &r->metrics, stats, n, cause);
}

pid_t
recorder_thread_pid(const struct recorder *r, pid_t tid)
{
	uint32_t pid = profile_thread_pid(&r->prof, (uint32_t)tid);

	return pid != 0 ? (pid_t)pid : r->pid;
}

uint32_t
recorder_last_stack(const struct recorder *r, pid_t tid)
{
	const struct recorder_proc *pr = hashmap_get(&r->procs,
						     (uint64_t)recorder_thread_pid(r, tid));

	return pr != NULL ? (uint32_t)(uintptr_t)hashmap_get(&pr->last_stack, (uint64_t)tid) : 0;
}

void
recorder_release(struct recorder *r)
{
	/* The sampler's hook may use the probes until it has stopped. */
	if (r->sampler != NULL) {
		sampler_on_thread(r->sampler, NULL, NULL);
		sampler_stop(r->sampler);
	}
	alloc_stop(r->alloc);
	session_abandon(r->writer);
	sampler_free(r->sampler);
	{
		struct recorder_proc *pr;
		size_t it = 0;

		while (hashmap_next(&r->procs, &it, NULL, (void **)&pr))
			proc_free(pr);
		hashmap_release(&r->procs);
	}
	profile_release(&r->prof);
	metrics_release(&r->metrics);
	free(r->gaps);
	memset(r, 0, sizeof *r);
}
