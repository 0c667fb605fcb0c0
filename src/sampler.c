/* sampler.c: the clock, thread selection, idle reuse, the snapshot pool. */
#include "config.h"

#include "sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hashmap.h"
#include "signals.h"
#include "tracer.h"
#include "util.h"

#define POOL_MAX 4096
#define SAMPLER_NICE (-10)
/* How long one tick waits for a thread to stop. A runnable thread queued
 * behind others for a CPU takes the stop only when it runs, which on a
 * saturated machine can take a time slice or two; waiting keeps every
 * sample exact, and the ticks this costs are counted as missed. */
#define TICK_STOP_TIMEOUT_MS 20

struct sthread {
	pid_t tid;
	int sched_fd;       /* /proc/PID/task/TID/schedstat, kept open */
	int stat_fd;        /* /proc/PID/task/TID/stat, kept open */
	uint64_t runtime;
	bool have_stack;    /* a sample of it went out; reuse is possible */
	bool selected;      /* passes the thread filter */
	uint8_t cls;
	int16_t sysnr;
	char comm[PROCFS_COMM_MAX];
	unsigned seen_tick;
	unsigned name_tick; /* when the filter last looked at its name */
};

/* How often (in ticks) a thread's name is re-read for the filter: threads
 * often name themselves just after they start. */
#define FILTER_RECHECK_TICKS 50

struct sampler {
	pid_t pid;
	char *const *argv;
	struct sampler_opts opts;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock;
	pthread_cond_t cond;    /* queue not empty, attach done, pool refill */
	struct sample_item *queue;
	size_t q_head, q_len, q_cap;
	struct snapshot **pool; /* free snapshots */
	size_t n_pool, cap_pool, n_allocated;
	bool attach_done, ended, stop, paused;
	int attach_status;
	char *cause;
	int exit_status;
	struct sampler_stats stats;
};

double
hold_hist_percentile(const struct hold_hist *h, double pct)
{
	uint64_t want, seen = 0;

	if (h->n == 0)
		return 0;
	want = (uint64_t)((double)h->n * pct / 100.0);
	if (want >= h->n)
		want = h->n - 1;
	for (size_t i = 0; i < ARRAY_SIZE(h->us); i++) {
		seen += h->us[i];
		if (seen > want)
			return (double)i + 0.5;
	}
	for (size_t i = 0; i < ARRAY_SIZE(h->ms); i++) {
		seen += h->ms[i];
		if (seen > want)
			return (double)(i + 1) * 1000.0;
	}
	return (double)h->max_ns / 1e3;
}

static void
hold_hist_add(struct hold_hist *h, uint64_t ns)
{
	uint64_t us = ns / 1000;

	if (us < ARRAY_SIZE(h->us))
		h->us[us]++;
	else if (us / 1000 - 1 < ARRAY_SIZE(h->ms) - 1)
		h->ms[us / 1000 - 1]++;
	else
		h->ms[ARRAY_SIZE(h->ms) - 1]++;
	h->n++;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

struct sampler *
sampler_new(pid_t pid, char *const *argv, const struct sampler_opts *opts)
{
	struct sampler *s = xcalloc(1, sizeof *s);

	s->pid = pid;
	s->argv = argv;
	s->opts = *opts;
	s->exit_status = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	return s;
}

void
sampler_free(struct sampler *s)
{
	if (s == NULL)
		return;
	sampler_stop(s);
	for (size_t i = 0; i < s->q_len; i++) {
		struct sample_item *it = &s->queue[(s->q_head + i) % s->q_cap];

		if (it->snap != NULL) {
			GROW(s->pool, s->cap_pool, s->n_pool + 1);
			s->pool[s->n_pool++] = it->snap;
		}
	}
	for (size_t i = 0; i < s->n_pool; i++) {
		snapshot_release(s->pool[i]);
		free(s->pool[i]);
	}
	free(s->pool);
	free(s->queue);
	free(s->cause);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

pid_t
sampler_pid(const struct sampler *s)
{
	return s->pid;
}

/* A pre-faulted snapshot from the pool, growing it up to POOL_MAX; NULL
 * when the consumer holds them all (the sample is dropped). */
static struct snapshot *
pool_get(struct sampler *s)
{
	struct snapshot *snap = NULL;
	bool grow = false;

	pthread_mutex_lock(&s->lock);
	if (s->n_pool > 0)
		snap = s->pool[--s->n_pool];
	else if (s->n_allocated < POOL_MAX)
		grow = true, s->n_allocated++;
	pthread_mutex_unlock(&s->lock);
	if (grow) {
		snap = xmalloc(sizeof *snap);
		snapshot_init(snap, s->opts.stack_size);
	}
	return snap;
}

void
sampler_recycle(struct sampler *s, struct snapshot *snap)
{
	pthread_mutex_lock(&s->lock);
	GROW(s->pool, s->cap_pool, s->n_pool + 1);
	s->pool[s->n_pool++] = snap;
	pthread_mutex_unlock(&s->lock);
}

static void
push_items(struct sampler *s, const struct sample_item *items, size_t n)
{
	if (n == 0)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->q_len + n > s->q_cap) {
		size_t cap = s->q_cap ? s->q_cap : 256;
		struct sample_item *q;

		while (cap < s->q_len + n)
			cap *= 2;
		q = xcalloc(cap, sizeof *q);
		for (size_t i = 0; i < s->q_len; i++)
			q[i] = s->queue[(s->q_head + i) % s->q_cap];
		free(s->queue);
		s->queue = q;
		s->q_cap = cap;
		s->q_head = 0;
	}
	for (size_t i = 0; i < n; i++)
		s->queue[(s->q_head + s->q_len + i) % s->q_cap] = items[i];
	s->q_len += n;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

size_t
sampler_take(struct sampler *s, struct sample_item *items, size_t max, int timeout_ms,
	     bool *ended)
{
	struct timespec deadline;
	size_t n = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (s->q_len == 0 && !s->ended) {
		if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT)
			break;
	}
	while (n < max && s->q_len > 0) {
		items[n++] = s->queue[s->q_head];
		s->q_head = (s->q_head + 1) % s->q_cap;
		s->q_len--;
	}
	*ended = n == 0 && s->ended && s->q_len == 0;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void
sampler_pause(struct sampler *s, bool paused)
{
	pthread_mutex_lock(&s->lock);
	s->paused = paused;
	pthread_mutex_unlock(&s->lock);
}

void
sampler_get_stats(struct sampler *s, struct sampler_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}

int
sampler_exit_status(struct sampler *s)
{
	int st;

	pthread_mutex_lock(&s->lock);
	st = s->exit_status;
	pthread_mutex_unlock(&s->lock);
	return st;
}

static bool
filter_match(struct sampler *s, pid_t tid, const char *comm)
{
	char num[16];

	if (s->opts.thread_filter == NULL)
		return true;
	snprintf(num, sizeof num, "%d", (int)tid);
	for (char **f = s->opts.thread_filter; *f != NULL; f++)
		if (strcmp(*f, num) == 0 || fnmatch(*f, comm, 0) == 0)
			return true;
	return false;
}

/* Blocked (not running, not runnable) right now, from a kept-open stat. */
static bool
is_blocked(int fd)
{
	struct task_stat st;
	char buf[1024];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	return procfs_parse_stat(buf, &st) && (st.state == 'S' || st.state == 'D' || st.state == 'I');
}

static bool
read_runtime(int fd, uint64_t *ns)
{
	char buf[96];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	*ns = strtoull(buf, NULL, 10);
	return true;
}

static struct sthread *
thread_state(struct sampler *s, struct hashmap *threads, pid_t tid)
{
	struct sthread *st = hashmap_get(threads, (uint64_t)tid);
	char path[80];

	if (st != NULL)
		return st;
	st = xcalloc(1, sizeof *st);
	st->tid = tid;
	snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int)s->pid, (int)tid);
	st->sched_fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)s->pid, (int)tid);
	st->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
	hashmap_put(threads, (uint64_t)tid, st);
	return st;
}

static void
forget_thread(struct hashmap *threads, struct sthread *st)
{
	hashmap_remove(threads, (uint64_t)st->tid);
	if (st->sched_fd >= 0)
		close(st->sched_fd);
	if (st->stat_fd >= 0)
		close(st->stat_fd);
	free(st);
}

/* The class of a thread from what /proc said before its snapshot. After a
 * stop the kernel resumes an interrupted sleep, timed futex or poll as
 * restart_syscall: the thread is still in the call it was in before, so it
 * keeps that class. */
static void
update_class(struct sampler *s, struct sthread *st, const struct snapshot *snap)
{
	struct task_stat stat = snap->stat;
	struct task_syscall sc = snap->sc;

	if (snap->how == SNAP_STOPPED) {
		/* A call the stop interrupted (it will restart) is exact, and
		 * /proc may have shown the thread runnable only because siprof's
		 * interrupt woke it. Otherwise /proc, read just before the stop,
		 * says whether it was blocked (e.g. in fsync, which finishes
		 * before the thread stops) or running. */
		long nr = arch_regs_interrupted_syscall(&snap->regs);

		if (nr >= 0) {
			memset(&sc, 0, sizeof sc);
			sc.nr = nr;
			sc.args[0] = arch_regs_arg0(&snap->regs);
			stat.state = 'S';
		}
	}
	if (sc.nr == SYS_restart_syscall && st->have_stack)
		return;
	st->cls = (uint8_t)class_of(s->pid, &stat, &sc);
	st->sysnr = (int16_t)(st->cls == CLASS_SYSCALL ? sc.nr : 0);
}

/* A sample of st for the consumer: a snapshot to unwind, or (snap NULL)
 * the thread's previous stack counted again. */
static void
emit(struct sample_item *it, const struct sthread *st, uint64_t t_ns, unsigned exec_gen,
     struct snapshot *snap)
{
	*it = (struct sample_item){ .t_ns = t_ns, .tid = st->tid, .cls = st->cls,
				    .sysnr = st->sysnr, .reuse = snap == NULL,
				    .exec_gen = exec_gen, .snap = snap };
	memcpy(it->comm, st->comm, sizeof it->comm);
}

/* One tick over every thread. */
static void
tick(struct sampler *s, struct tracer *t, struct snapshot_maps *maps,
     struct hashmap *threads, unsigned tickno, uint64_t t_ns)
{
	struct sample_item *items;
	struct sampler_stats d = { 0 };
	const pid_t *tids;
	size_t n, nitems = 0;
	unsigned gen = tracer_exec_generation(t);

	tids = tracer_threads(t, &n);
	items = xcalloc(n ? n : 1, sizeof *items);
	for (size_t i = 0; i < n; i++) {
		struct sthread *st = thread_state(s, threads, tids[i]);
		struct snapshot *snap;
		uint64_t runtime;
		int r;

		st->seen_tick = tickno;
		if (s->opts.thread_filter == NULL) {
			st->selected = true;
		} else if (st->name_tick == 0 || tickno - st->name_tick >= FILTER_RECHECK_TICKS) {
			/* Judge by /proc alone: a thread filtered out is never stopped. */
			procfs_task_comm(s->pid, st->tid, st->comm, sizeof st->comm);
			st->selected = filter_match(s, st->tid, st->comm);
			st->name_tick = tickno;
		}
		if (!st->selected)
			continue;
		/* Blocked, and not run since its last sample: the same stack,
		 * untouched. (A running thread's CPU time moves only at scheduler
		 * ticks, so only a blocked thread's is exact.) */
		if (st->have_stack && st->sched_fd >= 0 && st->stat_fd >= 0 &&
		    read_runtime(st->sched_fd, &runtime) && runtime == st->runtime &&
		    is_blocked(st->stat_fd)) {
			emit(&items[nitems++], st, t_ns, gen, NULL);
			d.reused++;
			continue;
		}
		snap = pool_get(s);
		if (snap == NULL) {
			d.dropped++;
			continue;
		}
		r = snapshot_take_within(t, maps, st->tid, snap, s->opts.extra_hold_us,
					 TICK_STOP_TIMEOUT_MS);
		if (r < 0) {
			sampler_recycle(s, snap);
			break;
		}
		if (r == 0 && snap->error == snapshot_late) {
			/* Queued for a CPU (to run, or to take the stop after a
			 * wake-up). If it has not run since its last sample it is
			 * exactly where it was then; otherwise where it is is not
			 * known, and the sample is left out (counted as late). */
			d.late++;
			if (!st->have_stack || snap->runtime_ns != st->runtime) {
				sampler_recycle(s, snap);
				continue;
			}
			update_class(s, st, snap);
			sampler_recycle(s, snap);
			emit(&items[nitems++], st, t_ns, gen, NULL);
			continue;
		}
		if (r == 0) {
			if (tracer_thread_alive(t, st->tid))
				d.failed++;
			sampler_recycle(s, snap);
			continue;
		}
		memcpy(st->comm, snap->stat.comm, sizeof st->comm);
		if (snap->how == SNAP_STOPPED) {
			d.stops++;
			/* Readers copy the stats under the lock. */
			pthread_mutex_lock(&s->lock);
			hold_hist_add(&s->stats.held, snap->held_ns);
			pthread_mutex_unlock(&s->lock);
		} else {
			d.nonstop++;
		}
		update_class(s, st, snap);
		st->runtime = snap->runtime_ns;
		st->have_stack = true;
		emit(&items[nitems++], st, t_ns, gen, snap);
	}
	push_items(s, items, nitems);
	free(items);

	pthread_mutex_lock(&s->lock);
	s->stats.ticks++;
	s->stats.samples += nitems;
	s->stats.reused += d.reused;
	s->stats.stops += d.stops;
	s->stats.nonstop += d.nonstop;
	s->stats.failed += d.failed;
	s->stats.late += d.late;
	s->stats.dropped += d.dropped;
	pthread_mutex_unlock(&s->lock);
}

/* Forget threads that did not show up in the last tick (they exited). */
static void
prune(struct hashmap *threads, unsigned tickno)
{
	struct sthread *st, **gone = NULL;
	size_t it = 0, n = 0, cap = 0;

	while (hashmap_next(threads, &it, NULL, (void **)&st)) {
		if (st->seen_tick != tickno) {
			GROW(gone, cap, n + 1);
			gone[n++] = st;
		}
	}
	for (size_t i = 0; i < n; i++)
		forget_thread(threads, gone[i]);
	free(gone);
}

static uint64_t
xorshift(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

static void *
sampler_main(void *arg)
{
	struct sampler *s = arg;
	struct snapshot_maps maps;
	struct hashmap threads;
	struct tracer *t = tracer_new();
	uint64_t period = (uint64_t)(1e9 / s->opts.rate_hz), base, rng = now_ns() | 1;
	unsigned tickno = 0;
	char *cause = NULL;
	int status;

	status = s->argv != NULL ? tracer_launch(t, s->argv, &cause)
				 : tracer_attach(t, s->pid, &cause);
	pthread_mutex_lock(&s->lock);
	s->attach_status = status;
	s->cause = cause;
	if (status == TRACER_OK)
		s->pid = tracer_pid(t);
	s->attach_done = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (status != TRACER_OK) {
		int exit_status = tracer_exit_status(t);

		tracer_free(t);
		pthread_mutex_lock(&s->lock);
		s->exit_status = exit_status;
		s->ended = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}

	/* A sampler preempted while it holds a thread stalls that thread for
	 * a whole time slice: run ahead of ordinary threads where allowed.
	 * It is idle nearly all the time, so this costs the machine nothing. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SAMPLER_NICE);
	hashmap_init(&threads);
	snapshot_maps_init(&maps, s->pid);
	base = now_ns();
	for (;;) {
		uint64_t wake = base, now;
		bool stop, paused;

		if (s->opts.jitter) {
			uint64_t q = period / 4;

			wake = base - q + xorshift(&rng) % (2 * q + 1);
		}
		/* Wait for the tick, handling ptrace events as they come. */
		while ((now = now_ns()) < wake)
			if (!tracer_poll(t, wake - now))
				break;
		pthread_mutex_lock(&s->lock);
		stop = s->stop;
		paused = s->paused;
		pthread_mutex_unlock(&s->lock);
		if (stop || signals_stop_requested() || tracer_process_exited(t))
			break;
		now = now_ns();
		if (now > base + period) {
			/* Late by whole periods: count them, do not drift. */
			uint64_t missed = (now - base) / period;

			base += missed * period;
			pthread_mutex_lock(&s->lock);
			s->stats.missed_ticks += missed;
			s->stats.behind = true;
			pthread_mutex_unlock(&s->lock);
		} else if (s->stats.behind) {
			pthread_mutex_lock(&s->lock);
			s->stats.behind = false;
			pthread_mutex_unlock(&s->lock);
		}
		if (!paused) {
			tick(s, t, &maps, &threads, ++tickno, now);
			prune(&threads, tickno);
		}
		base += period;
	}
	tracer_poll(t, 0);
	pthread_mutex_lock(&s->lock);
	if (tracer_process_exited(t))
		s->exit_status = tracer_exit_status(t);
	s->stats.threads_seen = tracer_stats(t)->threads_seen;
	s->stats.threads_exited = tracer_stats(t)->threads_exited;
	s->stats.signals_passed = tracer_stats(t)->signals_passed;
	s->ended = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	{
		struct sthread *st;
		size_t it = 0;

		while (hashmap_next(&threads, &it, NULL, (void **)&st)) {
			if (st->sched_fd >= 0)
				close(st->sched_fd);
			if (st->stat_fd >= 0)
				close(st->stat_fd);
			free(st);
		}
		hashmap_release(&threads);
	}
	snapshot_maps_release(&maps);
	tracer_free(t);
	/* Returning ends this thread: the kernel detaches every tracee. */
	return NULL;
}

int
sampler_start(struct sampler *s, char **cause)
{
	struct rlimit rl;
	int rc;

	/* One schedstat fd per thread: allow as many as the hard limit does. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	rc = pthread_create(&s->thread, NULL, sampler_main, s);
	if (rc != 0) {
		set_cause(cause, "cannot start the sampling thread: %s", strerror(rc));
		return TRACER_ERROR;
	}
	s->started = true;
	pthread_mutex_lock(&s->lock);
	while (!s->attach_done)
		pthread_cond_wait(&s->cond, &s->lock);
	rc = s->attach_status;
	if (rc != TRACER_OK && cause != NULL) {
		free(*cause);
		*cause = s->cause;
		s->cause = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	if (rc != TRACER_OK) {
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	return rc;
}

void
sampler_stop(struct sampler *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->started = false;
}
