/* sampler.c: the clock, thread selection, idle reuse, the snapshot pool. */
#include "config.h"

#include "sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hashmap.h"
#include "signals.h"
#include "tracer.h"
#include "util.h"

/* The queue's share of max_memory (the rest is for stack copies): items
 * that count a stack again need no copy, and are the ones dropped. */
#define QUEUE_SHARE 16
#define SAMPLER_NICE (-10)
/* How long one tick waits for a thread to stop. A runnable thread queued
 * behind others for a CPU takes the stop only when it runs, which on a
 * saturated machine can take a time slice or two; waiting keeps every
 * sample exact, and the ticks this costs are counted as missed. */
#define TICK_STOP_TIMEOUT_MS 250
/* Ticks between checks of a long-blocked thread, at most (idle_interval). */
#define MAX_IDLE_INTERVAL 8
/* Blocked threads asked to stop at once, at most (see tick). */
#define MAX_BLOCKED_IN_FLIGHT 2

/* Threads whose copies are to grow, asked between two ticks, at most. */
#define GROW_PENDING 16

struct sthread {
	pid_t tid;
	pid_t pid;          /* its process */
	int sched_fd;       /* /proc/PID/task/TID/schedstat, kept open */
	int stat_fd;        /* /proc/PID/task/TID/stat, kept open */
	bool files_opened;  /* the two above were opened (or tried) */
	uint64_t runtime;   /* CPU time at the mark (see settle) */
	uint64_t pcount;    /* times it was given a CPU, at the mark */
	bool idle_mark;     /* the mark was taken while it was blocked */
	bool have_stack;    /* a sample of it went out; reuse is possible */
	bool in_flight;     /* asked to stop, not stopped yet */
	unsigned skipped;   /* ticks that passed while it was in flight */
	unsigned idle_streak; /* checks in a row that found it unmoved */
	unsigned owed;      /* ticks since the last check, not yet emitted */
	unsigned next_check; /* tick of the next check */
	bool selected;      /* passes the thread filter */
	bool matched;       /* counted in threads_matched */
	uint8_t cls;
	int16_t sysnr;
	int16_t callnr;     /* see sample_item */
	char comm[PROCFS_COMM_MAX];
	unsigned seen_tick;
	unsigned name_tick; /* when the filter last looked at its name */
	uint64_t stop_sp, stop_pc; /* where a blocked thread was when stopped */
	size_t copy_cap;    /* bytes of stack to copy, 0: opts.stack_size */
	bool credit_started;
	int64_t credit_ns;  /* CPU time not yet counted as cpu (runnable_class) */
	uint64_t credit_rt; /* its CPU time when the credit was last updated */
};

/* How often (in ticks) a thread's name is re-read for the filter: threads
 * often name themselves just after they start. */
#define FILTER_RECHECK_TICKS 50

/* A process sampled: what a resume after a suspend attaches to again. */
struct sproc {
	pid_t pid;
	uint64_t starttime; /* its id may be reused after it exits */
};

/* The stack mappings of each process (pid -> struct snapshot_maps *). */
struct pmaps {
	struct hashmap by_pid;
};

struct sampler {
	pid_t pid;          /* the first process */
	struct sproc *procs; /* those given, then those traced at a suspend */
	size_t n_procs;
	char *const *argv;
	struct sampler_opts opts;
	uint64_t period;    /* ns between ticks */
	pthread_t thread;
	bool started;

	pthread_mutex_t lock;
	pthread_cond_t cond;    /* queue not empty, attach done, pool refill */
	void (*born)(void *arg, pid_t pid, pid_t tid); /* sampler_on_thread */
	void *born_arg;
	struct sample_item *queue;
	size_t q_head, q_len, q_cap;
	size_t q_reuse_max;     /* reuse items are queued below this length */
	size_t q_max;           /* the queue's length, at most */
	int notify_fd;          /* eventfd, readable while items wait or
				 * sampling ended (sampler_notify_fd) */
	bool notified;          /* notify_fd was written since last cleared */
	struct snapshot **pool; /* free snapshots */
	size_t n_pool, cap_pool, n_allocated;
	size_t pool_max;        /* snapshots allocated, at most */
	bool attach_done, ended, stop, paused;
	bool resume;        /* the next start attaches again after a suspend */
	bool suspended;     /* the sampling thread left for a suspend request */
	unsigned gen_base;  /* added to the tracer's exec generation */
	int attach_status;
	char *cause;
	int exit_status;
	int launched_status; /* of the command, if it ended while suspended */
	uint64_t start_ns, end_ns; /* see sampler_start_ns, sampler_end_ns */
	uint64_t deadline_ns; /* opts.duration_s after start_ns, or 0 */
	struct sampler_stats stats;
	struct hashmap maps_sent; /* pid -> exec generation + 1 of the maps sent */
	/* sampler_grow_copy's requests, under lock, for the next tick. */
	struct { pid_t tid; size_t cap; } grow[GROW_PENDING];
	size_t n_grow;
};

double
hold_hist_percentile(const struct hold_hist *h, double pct)
{
	uint64_t want, seen = 0;
	double max = (double)h->max_ns / 1e3;

	if (h->n == 0)
		return 0;
	want = (uint64_t)((double)h->n * pct / 100.0);
	if (want >= h->n)
		want = h->n - 1;
	for (size_t i = 0; i < ARRAY_SIZE(h->us); i++) {
		seen += h->us[i];
		/* A bucket's middle may pass the longest hold in it. */
		if (seen > want)
			return (double)i + 0.5 < max ? (double)i + 0.5 : max;
	}
	for (size_t i = 0; i < ARRAY_SIZE(h->ms); i++) {
		seen += h->ms[i];
		if (seen > want)
			return (double)(i + 1) * 1000.0;
	}
	return max;
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
sampler_new(const pid_t *pids, size_t n_pids, char *const *argv,
	    const struct sampler_opts *opts)
{
	struct sampler *s = xcalloc(1, sizeof *s);
	size_t budget;

	s->pid = n_pids > 0 ? pids[0] : 0;
	s->procs = xcalloc(n_pids + 1, sizeof *s->procs);
	for (size_t i = 0; i < n_pids; i++)
		s->procs[i].pid = pids[i];
	s->n_procs = n_pids;
	s->argv = argv;
	s->opts = *opts;
	s->exit_status = -1;
	s->launched_status = -1;
	hashmap_init(&s->maps_sent);
	s->period = (uint64_t)(1e9 / opts->rate_hz);
	budget = opts->max_memory ? opts->max_memory : SAMPLER_DEFAULT_MAX_MEMORY;
	/* Every snapshot item in the queue holds one of pool_max copies, so a
	 * queue of pool_max + q_reuse_max items never drops a copy. */
	s->q_reuse_max = budget / QUEUE_SHARE / sizeof(struct sample_item);
	s->pool_max = (budget - budget / QUEUE_SHARE) / (sizeof(struct snapshot) + opts->stack_size);
	if (s->pool_max < 2)
		s->pool_max = 2;
	s->q_max = s->pool_max + s->q_reuse_max;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->notify_fd < 0)
		fatal("cannot create an eventfd: %s", strerror(errno));
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
		free(it->maps);
	}
	hashmap_release(&s->maps_sent);
	for (size_t i = 0; i < s->n_pool; i++) {
		snapshot_release(s->pool[i]);
		free(s->pool[i]);
	}
	free(s->pool);
	free(s->queue);
	free(s->procs);
	free(s->cause);
	close(s->notify_fd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

pid_t
sampler_pid(const struct sampler *s)
{
	return s->pid;
}

/* A pre-faulted snapshot from the pool, growing it up to pool_max; NULL
 * when the consumer holds them all (the sample is dropped). */
static struct snapshot *
pool_get(struct sampler *s, size_t cap)
{
	struct snapshot *snap = NULL;
	bool grow = false;

	pthread_mutex_lock(&s->lock);
	if (s->n_pool > 0)
		snap = s->pool[--s->n_pool];
	else if (s->n_allocated < s->pool_max)
		grow = true, s->n_allocated++;
	pthread_mutex_unlock(&s->lock);
	if (grow) {
		snap = xmalloc(sizeof *snap);
		snapshot_init(snap, s->opts.stack_size);
	}
	/* A thread whose stack did not fit: a larger copy, pre-faulted now,
	 * before it is stopped. */
	if (snap != NULL && cap > snap->stack_cap) {
		snapshot_release(snap);
		snapshot_init(snap, cap);
	}
	return snap;
}

void
sampler_grow_copy(struct sampler *s, pid_t tid, size_t had)
{
	size_t max = s->opts.stack_size > SNAPSHOT_GROW_MAX ? s->opts.stack_size : SNAPSHOT_GROW_MAX;

	if (had >= max)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->n_grow < GROW_PENDING) {
		s->grow[s->n_grow].tid = tid;
		s->grow[s->n_grow].cap = had * 2 < max ? had * 2 : max;
		s->n_grow++;
	}
	pthread_mutex_unlock(&s->lock);
}

void
sampler_recycle(struct sampler *s, struct snapshot *snap)
{
	/* A grown copy goes back to the pool at the usual size, so that the
	 * budget of copies holds. */
	if (snap->stack_cap > s->opts.stack_size) {
		snapshot_release(snap);
		snapshot_init(snap, s->opts.stack_size);
	}
	pthread_mutex_lock(&s->lock);
	GROW(s->pool, s->cap_pool, s->n_pool + 1);
	s->pool[s->n_pool++] = snap;
	pthread_mutex_unlock(&s->lock);
}

/* Under lock: tell a consumer waiting on the condition or on notify_fd
 * that items are queued or sampling ended. The eventfd is written once
 * until sampler_take empties the queue, not at every push. */
static void
wake_consumer(struct sampler *s)
{
	uint64_t one = 1;

	pthread_cond_broadcast(&s->cond);
	if ((s->q_len > 0 || s->ended) && !s->notified)
		s->notified = write(s->notify_fd, &one, sizeof one) == sizeof one;
}

/* Queue items for the consumer. A consumer that falls behind (a slow
 * disk, a terminal that does not read) must not make siprof grow: items
 * that only count a stack again are dropped once q_reuse_max are waiting.
 * Returns the samples dropped. */
static uint64_t
push_items(struct sampler *s, const struct sample_item *items, size_t n)
{
	uint64_t dropped = 0;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (s->q_len + n > s->q_cap && s->q_cap < s->q_max) {
		size_t cap = s->q_cap ? s->q_cap : 256;
		struct sample_item *q;

		while (cap < s->q_len + n && cap < s->q_max)
			cap *= 2;
		if (cap > s->q_max)
			cap = s->q_max;
		q = xcalloc(cap, sizeof *q);
		for (size_t i = 0; i < s->q_len; i++)
			q[i] = s->queue[(s->q_head + i) % s->q_cap];
		free(s->queue);
		s->queue = q;
		s->q_cap = cap;
		s->q_head = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (s->q_len >= s->q_cap || (items[i].snap == NULL && s->q_len >= s->q_reuse_max)) {
			/* (A copy finds room by construction; this is the guard.) */
			if (items[i].snap != NULL) {
				GROW(s->pool, s->cap_pool, s->n_pool + 1);
				s->pool[s->n_pool++] = items[i].snap;
			}
			free(items[i].maps);
			dropped += items[i].count;
			continue;
		}
		s->queue[(s->q_head + s->q_len) % s->q_cap] = items[i];
		s->q_len++;
	}
	wake_consumer(s);
	pthread_mutex_unlock(&s->lock);
	return dropped;
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
	if (s->q_len == 0 && !s->ended && s->notified) {
		uint64_t v;

		s->notified = !(read(s->notify_fd, &v, sizeof v) == sizeof v);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int
sampler_notify_fd(const struct sampler *s)
{
	return s->notify_fd;
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

uint64_t
sampler_start_ns(struct sampler *s)
{
	uint64_t t;

	pthread_mutex_lock(&s->lock);
	t = s->start_ns;
	pthread_mutex_unlock(&s->lock);
	return t;
}

uint64_t
sampler_end_ns(struct sampler *s)
{
	uint64_t t;

	pthread_mutex_lock(&s->lock);
	t = s->end_ns;
	pthread_mutex_unlock(&s->lock);
	return t;
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

/* The process ids of h (keyed by pid) whose processes exited (all of
 * them, t NULL): in *out, to remove after the walk. */
static size_t
exited_pids(struct hashmap *h, const struct tracer *t, uint64_t **out)
{
	uint64_t pid, *gone = NULL;
	size_t it = 0, n = 0, cap = 0;

	while (hashmap_next(h, &it, &pid, NULL)) {
		if (t == NULL || !tracer_process_alive(t, (pid_t)pid)) {
			GROW(gone, cap, n + 1);
			gone[n++] = pid;
		}
	}
	*out = gone;
	return n;
}

/* Forget which mappings were sent for processes that exited: an id
 * reused by a new process gets its own. */
static void
sent_prune(struct sampler *s, const struct tracer *t)
{
	uint64_t *gone;
	size_t n = exited_pids(&s->maps_sent, t, &gone);

	for (size_t i = 0; i < n; i++)
		hashmap_remove(&s->maps_sent, gone[i]);
	free(gone);
}

static struct snapshot_maps *
maps_of(struct pmaps *pm, pid_t pid)
{
	struct snapshot_maps *m = hashmap_get(&pm->by_pid, (uint64_t)pid);

	if (m == NULL) {
		m = xmalloc(sizeof *m);
		snapshot_maps_init(m, pid);
		hashmap_put(&pm->by_pid, (uint64_t)pid, m);
	}
	return m;
}

/* Forget the mappings of processes that exited (all of them: NULL). */
static void
pmaps_prune(struct pmaps *pm, const struct tracer *t)
{
	uint64_t *gone;
	size_t n = exited_pids(&pm->by_pid, t, &gone);

	for (size_t i = 0; i < n; i++) {
		struct snapshot_maps *m = hashmap_remove(&pm->by_pid, gone[i]);

		snapshot_maps_release(m);
		free(m);
	}
	free(gone);
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

	return procfs_task_stat_fd(0, 0, fd, &st) &&
	       (st.state == 'S' || st.state == 'D' || st.state == 'I');
}

/* Whether a thread has not run since its mark, so that its last stack is
 * still exactly its stack. A mark taken while it was blocked needs only
 * schedstat: unchanged counts mean it never got a CPU since. */
static bool
unmoved(struct sthread *st)
{
	struct schedstat ss;

	if (!st->have_stack || st->sched_fd < 0 || st->stat_fd < 0 ||
	    !procfs_task_schedstat(0, st->tid, st->sched_fd, &ss) || ss.runtime_ns != st->runtime ||
	    ss.pcount != st->pcount)
		return false;
	if (!st->idle_mark) {
		if (!is_blocked(st->stat_fd))
			return false;
		st->idle_mark = true;
	}
	return true;
}

/* A blocked thread that siprof stops runs for a moment afterwards, to go
 * back into its call: its CPU time moves, and without more care it would be
 * stopped again at every tick though it never did anything. After the tick,
 * a thread found blocked again in a call at the same pc with the same stack
 * pointer is where it was when stopped: its schedstat counts then become the mark
 * that the next tick compares with. */
static void
settle(struct sampler *s, struct sthread **stopped, size_t n)
{
	struct task_syscall sc;
	struct schedstat ss;

	(void)s;
	for (size_t i = 0; i < n; i++) {
		struct sthread *st = stopped[i];

		if (st->sched_fd < 0 || st->stat_fd < 0 ||
		    !procfs_task_syscall(st->pid, st->tid, &sc) || sc.nr < 0 ||
		    sc.sp != st->stop_sp || sc.pc != st->stop_pc)
			continue;
		if (procfs_task_schedstat(st->pid, st->tid, st->sched_fd, &ss) &&
		    is_blocked(st->stat_fd)) {
			st->runtime = ss.runtime_ns;
			st->pcount = ss.pcount;
			st->idle_mark = true;
		}
	}
}

/* A thread's state, new when it was not seen before. Its /proc files are
 * opened only once it is to be sampled (thread_open_files): a thread that
 * the filter leaves out costs no open and no close. */
static struct sthread *
thread_state(struct hashmap *threads, struct tracer *t, pid_t tid)
{
	struct sthread *st = hashmap_get(threads, (uint64_t)tid);

	if (st != NULL)
		return st;
	st = xcalloc(1, sizeof *st);
	st->tid = tid;
	st->pid = tracer_thread_pid(t, tid);
	st->sched_fd = st->stat_fd = -1;
	st->callnr = -1;
	hashmap_put(threads, (uint64_t)tid, st);
	return st;
}

/* Keep a sampled thread's schedstat and stat open for every later tick. */
static void
thread_open_files(struct sampler *s, struct sthread *st)
{
	if (st->files_opened)
		return;
	st->files_opened = true;
	(void)s;
	st->sched_fd = procfs_task_open(st->pid, st->tid, "schedstat");
	st->stat_fd = procfs_task_open(st->pid, st->tid, "stat");
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

/* A thread /proc shows runnable is either on a CPU or waiting for one:
 * the state is the same. Its schedstat, read just before the interrupt and
 * again while it is held, tells them apart at the ask: the same count of
 * times given a CPU means it was on one from the ask to the stop; a higher
 * count means it got one since, and took the stop then.
 *
 * Not on a CPU at the ask does not mean not running at the tick: siprof's
 * own wakeup takes a CPU from whoever was on it. Nor are the instants
 * that find it running a fair count of its CPU time on a busy machine:
 * each stop ends its time slice, and the CPU goes to others while it
 * waits to get it back, so the kernel gives it less than the samples that
 * found it running would say. The kernel's account of its CPU time
 * (schedstat's first field) is therefore the measure: each sampled thread
 * has a credit of CPU time not yet counted, and a sample that
 * runnable_class finds running at the tick is cpu only while there is
 * credit for it; without, it is runq (it then waited, at that stack, for
 * the CPU the stop took from it).
 *
 * The credit is capped so that CPU time spent between ticks, which no
 * sample sees, does not later turn waiting samples into cpu ones. */
#define CREDIT_CAP_PERIODS 8

static void
credit_update(struct sthread *st, const struct snapshot *snap, uint64_t period)
{
	uint64_t rt = snap->held_sched ? snap->held.runtime_ns : snap->ask.runtime_ns;

	if (!st->credit_started) {
		/* The first sample: it may count for the CPU time it had then. */
		st->credit_started = true;
		st->credit_ns = (int64_t)period;
	} else if (rt > st->credit_rt) {
		st->credit_ns += (int64_t)(rt - st->credit_rt);
	}
	st->credit_rt = rt;
	if (st->credit_ns > (int64_t)(CREDIT_CAP_PERIODS * period))
		st->credit_ns = (int64_t)(CREDIT_CAP_PERIODS * period);
}

static bool
credit_take(struct sthread *st, uint64_t period)
{
	if (st->credit_ns < (int64_t)period / 2)
		return false;
	st->credit_ns -= (int64_t)period;
	return true;
}

/* Where a blocked thread was, from a stop at the way out of a system call
 * (orig_rax, first argument): what the class of the time it spent blocked
 * in it is. */
static void
blocked_class(struct sampler *s, const struct snapshot *snap, uint8_t *cls, int16_t *sysnr)
{
	struct task_stat stat = { .state = 'S' };
	struct task_syscall sc = { .nr = arch_regs_syscall(&snap->regs) };

	*sysnr = 0;
	if (sc.nr < 0) {
		/* Stopped in its own code: it was not in a call, it waited. */
		*cls = CLASS_RUNQ;
		return;
	}
	sc.args[0] = arch_regs_arg0(&snap->regs);
	(void)s;
	*cls = (uint8_t)class_of(snap->pid, &stat, &sc);
	if (*cls == CLASS_SYSCALL)
		*sysnr = (int16_t)sc.nr;
}

/* The class of a sample that /proc showed runnable (see above). Given a
 * CPU since the ask, it took the stop the moment it got one, after a wait
 * that its run delay grew by:
 * - begun before the tick, it was waiting for a CPU at the tick (runq),
 *   whether it had been preempted or woken from a call;
 * - begun at the tick, on the CPU siprof woke on, it was running there
 *   and lost its CPU to siprof's own wakeup (cpu); RUNQ_SLACK_NS allows
 *   for the moments between that wakeup and siprof's reading of the clock,
 *   and between the stop and siprof seeing it;
 * - begun after the ask, on its way out of a disk call (a read or write
 *   of a file), it was on a CPU in the call's kernel work at the ask, and
 *   blocked in the call or lost its CPU later (a direct write submits,
 *   then waits for the disk): cpu at the call's stack, while the credit
 *   lasts (the kernel's CPU time is the measure). Not other calls: a
 *   sha256sum stopped on its way out of a pipe's read had that read at
 *   50% of its cpu class against perf's 18% when they were counted so;
 * - otherwise, on its way out of a system call, it was woken from that
 *   call after the tick: at the tick it was blocked in it (/proc is read
 *   a little after the tick, when it no longer was).
 * A wait the run delay leaves out (as it leaves out some waits after a
 * wake-up from the disk) makes the wait seem to begin later; the credit
 * bounds what that can add to cpu, and the rest of those samples keep the
 * call's class: a dd oflag=direct,dsync recorded on a loaded 2-CPU machine
 * had its cpu class within 3% of the kernel's CPU time (a fifth of it
 * before); on a quiet one, its disk class was 7.5 points below to 4 above
 * /proc's D states polled beside it in 16 runs (with update_class keeping
 * the state of the tick for a thread that left its call while copied).
 * On a virtual machine the host's steal time and interrupts, and on a
 * loaded one the waits after a wake-up from the disk that the run delay
 * leaves out, are runnable time the kernel accounts neither as CPU time
 * nor as a wait: those samples keep the call's class. Calls that only wait (epoll_wait, a futex) keep their class: a
 * server's CPU time is not moved to the call it wakes from. */
#define RUNQ_SLACK_NS 50000
#define RUNQ_SLACK_CALL_NS 10000

static void
runnable_class(struct sampler *s, struct sthread *st, const struct snapshot *snap,
	       uint64_t tick_ns, int tick_cpu)
{
	st->sysnr = 0;
	if (snap->held_sched && snap->held.pcount != snap->ask.pcount) {
		int64_t wait = (int64_t)(snap->held.rundelay_ns - snap->ask.rundelay_ns);
		int64_t began = (int64_t)snap->seen_ns - wait - (int64_t)tick_ns;
		int64_t asked = (int64_t)(snap->asked_ns - tick_ns);
		bool in_call = arch_regs_syscall(&snap->regs) >= 0;
		/* Waits begun by siprof's wakeup cluster within about 10 us of
		 * the tick; a wake-up from a call falls anywhere, and the window
		 * for those is the narrower. */
		int64_t slack = in_call ? RUNQ_SLACK_CALL_NS : RUNQ_SLACK_NS;
		bool displaced = began <= slack && (tick_cpu < 0 || snap->stat.processor == tick_cpu);

		if (began < -slack) {
			/* Waiting, where it was preempted: where it last ran. When
			 * the kernel gave it more CPU time than the samples that
			 * found it running counted (CPU time between the ticks),
			 * that time is counted here. */
			st->cls = !in_call && st->credit_ns >= (int64_t)(2 * s->period) &&
						  credit_take(st, s->period)
					  ? CLASS_CPU
					  : CLASS_RUNQ;
			return;
		}
		if (!displaced && in_call) {
			st->callnr = (int16_t)arch_regs_syscall(&snap->regs);
			blocked_class(s, snap, &st->cls, &st->sysnr);
			if (began > asked + slack && st->cls == CLASS_DISK && credit_take(st, s->period)) {
				st->cls = CLASS_CPU;
				st->sysnr = 0;
			}
			return;
		}
	}
	st->cls = credit_take(st, s->period) ? CLASS_CPU : CLASS_RUNQ;
}

/* The class of a thread from what /proc said before its snapshot. After a
 * stop the kernel resumes an interrupted sleep, timed futex or poll as
 * restart_syscall: the thread is still in the call it was in before, so it
 * keeps that class. */
static void
update_class(struct sampler *s, struct sthread *st, const struct snapshot *snap, uint64_t tick_ns)
{
	struct task_stat stat = snap->stat;
	struct task_syscall sc = snap->sc;

	if (snap->stopped) {
		st->cls = CLASS_STOPPED;
		st->sysnr = 0;
		st->callnr = -1;
		return;
	}

	if (snap->how == SNAP_STOPPED && snap->left_call &&
	    arch_regs_syscall(&snap->regs) == snap->call_sc.nr) {
		/* Found blocked at the tick, it left the call while siprof
		 * copied its stack (a direct write's wait for the disk is often
		 * shorter than the copy) and stopped on the way out of it: the
		 * stack is the call's, and at the tick it was blocked in it. What
		 * /proc says a moment later, runnable, is not the tick's state:
		 * judged from that, a dd oflag=direct,dsync had 84% of its
		 * samples runnable at the ask against /proc's 45-55% polled
		 * beside it. */
		stat = snap->call_stat;
		sc = snap->call_sc;
	} else if (snap->how == SNAP_STOPPED) {
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
	st->callnr = (int16_t)(sc.nr >= 0 && sc.nr < INT16_MAX ? sc.nr : -1);
	if (sc.nr == SYS_restart_syscall && st->have_stack)
		return;
	st->cls = (uint8_t)class_of(st->pid, &stat, &sc);
	st->sysnr = (int16_t)(st->cls == CLASS_SYSCALL ? sc.nr : 0);
	if (st->cls == CLASS_CPU && snap->how == SNAP_STOPPED)
		runnable_class(s, st, snap, tick_ns, snap->tick_cpu);
}

/* A sample of st for the consumer: a snapshot to unwind, or (snap NULL)
 * the thread's previous stack counted again. */
static void
emit_n(struct sample_item *it, const struct sthread *st, uint64_t t_ns, unsigned exec_gen,
       struct snapshot *snap, uint32_t count)
{
	*it = (struct sample_item){ .t_ns = t_ns, .pid = st->pid, .tid = st->tid, .cls = st->cls,
				    .sysnr = st->sysnr, .callnr = st->callnr, .reuse = snap == NULL, .count = count,
				    .exec_gen = exec_gen, .snap = snap };
	memcpy(it->comm, st->comm, sizeof it->comm);
}

static void
emit(struct sample_item *it, const struct sthread *st, uint64_t t_ns, unsigned exec_gen,
     struct snapshot *snap)
{
	emit_n(it, st, t_ns, exec_gen, snap, 1);
}

/* count samples of st's previous stack in another class. */
static void
emit_as(struct sample_item *it, const struct sthread *st, uint64_t t_ns, unsigned exec_gen,
	uint8_t cls, int16_t sysnr, uint32_t count)
{
	emit_n(it, st, t_ns, exec_gen, NULL, count);
	it->cls = cls;
	it->sysnr = sysnr;
}

/* One tick over every thread. */
/* Snapshots waiting for their thread to stop. A runnable thread takes the
 * stop only when it next gets a CPU, which on busy CPUs may be after the
 * tick is over: it stays asked (an interrupt cannot be taken back) and is
 * copied the moment it stops, during a later tick or between ticks. */
struct pending {
	struct sthread *st;
	struct snapshot *snap;
	uint64_t t_ns; /* the tick it belongs to */
	bool blocked;  /* was not runnable when asked */
};

struct flight {
	struct pending *v;
	size_t n, cap;
	size_t nblocked;
};

/* What a tick (or a stop between ticks) gathers. */
struct tick_out {
	struct tracer *t;
	unsigned gen;
	struct sample_item *items;
	size_t nitems, cap;
	struct sthread **stopped; /* blocked threads that were stopped */
	size_t nstopped, nstopped_cap;
	struct sampler_stats d;
};

/* The exec generation of st's process, as the consumer counts it. */
static unsigned
gen_of(const struct tick_out *o, const struct sthread *st)
{
	return o->gen + tracer_process_exec_generation(o->t, st->pid);
}

static struct sample_item *
out_item(struct tick_out *o)
{
	GROW(o->items, o->cap, o->nitems + 1);
	return &o->items[o->nitems++];
}

/* A thread that stopped ticks after it was asked missed those ticks: they
 * get the stack it stopped with (it follows in the queue, so the recorder
 * has it by then), and the classes of how it spent the time from the tick
 * to the stop, in proportion: on a CPU (its CPU time's growth), waiting
 * for one (its run delay's), and the rest blocked, in the system call it
 * came out of to stop (a write to a file that waited for the disk, say).
 * A thread that never stopped (now_ns) is split the same way, from a
 * schedstat read now. */
static void
emit_skipped(struct sampler *s, struct sthread *st, const struct snapshot *snap, uint64_t t_ns,
	     uint64_t end_ns, const struct schedstat *end, struct tick_out *o)
{
	uint64_t span = end_ns > t_ns ? end_ns - t_ns : 0, cpu, runq;
	uint32_t n = st->skipped, ncpu, nrunq;
	uint8_t cls;
	int16_t sysnr;

	st->skipped = 0;
	if (n == 0)
		return;
	if (end == NULL || span == 0) {
		emit_n(out_item(o), st, t_ns, gen_of(o, st), NULL, n);
		return;
	}
	cpu = end->runtime_ns - snap->ask.runtime_ns;
	/* (The run delay may fall short, see runnable_class: the rest is
	 * counted as blocked then.) */
	runq = end->rundelay_ns - snap->ask.rundelay_ns;
	if (cpu > span)
		cpu = span;
	if (runq > span - cpu)
		runq = span - cpu;
	ncpu = (uint32_t)((n * cpu + span / 2) / span);
	nrunq = (uint32_t)((n * runq + span / 2) / span);
	if (ncpu + nrunq > n)
		nrunq = n - ncpu;
	if (ncpu > 0) {
		emit_as(out_item(o), st, t_ns, gen_of(o, st), CLASS_CPU, 0, ncpu);
		st->credit_ns -= (int64_t)(ncpu * s->period);
	}
	if (nrunq > 0)
		emit_as(out_item(o), st, t_ns, gen_of(o, st), CLASS_RUNQ, 0, nrunq);
	if (n - ncpu - nrunq > 0) {
		if (snap->how == SNAP_STOPPED) {
			blocked_class(s, snap, &cls, &sysnr);
		} else {
			cls = st->cls;
			sysnr = st->sysnr;
		}
		emit_as(out_item(o), st, t_ns, gen_of(o, st), cls, sysnr, n - ncpu - nrunq);
	}
}

/* What happens to a snapshot once it is over: emitted, or counted and
 * recycled. */
static void
snap_done(struct sampler *s, struct sthread *st, struct snapshot *snap, int r, uint64_t t_ns,
	  struct tick_out *o)
{
	if (r == 0 && snap->error == SNAP_ERR_LATE) {
		/* It never got a CPU to take the stop on. If it has not run
		 * since its last sample it is exactly where it was then;
		 * otherwise where it is is not known, and the sample is left
		 * out (counted as late). */
		struct schedstat now;
		bool have_now = procfs_task_schedstat(st->pid, st->tid, st->sched_fd, &now);

		o->d.late++;
		if (!st->have_stack || snap->ask.runtime_ns != st->runtime) {
			sampler_recycle(s, snap);
			st->skipped = 0;
			return;
		}
		credit_update(st, snap, s->period);
		update_class(s, st, snap, t_ns);
		/* Runnable, and not given a CPU since the ask: waiting for one. */
		if (st->cls == CLASS_CPU && have_now && now.pcount == snap->ask.pcount &&
		    now.runtime_ns == snap->ask.runtime_ns)
			st->cls = CLASS_RUNQ;
		emit(out_item(o), st, t_ns, gen_of(o, st), NULL);
		emit_skipped(s, st, snap, t_ns, now_ns(), have_now ? &now : NULL, o);
		sampler_recycle(s, snap);
		return;
	}
	if (r == 0) {
		if (tracer_thread_alive(o->t, st->tid))
			o->d.failed++;
		sampler_recycle(s, snap);
		st->skipped = 0;
		return;
	}
	memcpy(st->comm, snap->stat.comm, sizeof st->comm);
	if (snap->how == SNAP_STOPPED) {
		o->d.stops++;
		/* Readers copy the stats under the lock. */
		pthread_mutex_lock(&s->lock);
		hold_hist_add(&s->stats.held, snap->held_ns);
		pthread_mutex_unlock(&s->lock);
	} else {
		o->d.nonstop++;
	}
	if (snap->stat.state == 'S' || snap->stat.state == 'D') {
		st->stop_sp = snap->sp;
		st->stop_pc = snap->pc;
		GROW(o->stopped, o->nstopped_cap, o->nstopped + 1);
		o->stopped[o->nstopped++] = st;
	}
	credit_update(st, snap, s->period);
	update_class(s, st, snap, t_ns);
	st->runtime = snap->ask.runtime_ns;
	st->pcount = UINT64_MAX; /* no mark until settle() makes one */
	st->idle_mark = false;
	st->have_stack = true;
	/* (The items reach the consumer, which recycles snap, in out_flush.) */
	emit(out_item(o), st, t_ns, gen_of(o, st), snap);
	emit_skipped(s, st, snap, t_ns, snap->seen_ns,
		     snap->how == SNAP_STOPPED && snap->held_sched ? &snap->held : NULL, o);
}

static void
flight_remove(struct flight *f, size_t k)
{
	f->nblocked -= f->v[k].blocked;
	f->v[k] = f->v[--f->n];
}

/* Copy the threads in flight as they stop, until deadline_ns or until none
 * is left; those asked longer than TICK_STOP_TIMEOUT_MS ago are given up.
 * With until_room, returns as soon as another blocked thread may be asked.
 * Returns false when a stop or suspend request asked siprof to end. */
static bool
flight_collect(struct sampler *s, struct pmaps *maps, struct flight *f,
	       uint64_t deadline_ns, bool until_room, struct tick_out *o)
{
	const uint64_t timeout = (uint64_t)TICK_STOP_TIMEOUT_MS * 1000000u;

	while (f->n > 0 && !(until_room && f->nblocked < MAX_BLOCKED_IN_FLIGHT)) {
		struct tracer_held h;
		uint64_t until = deadline_ns, now;
		size_t k;
		int r;

		for (k = 0; k < f->n; k++)
			if (f->v[k].snap->asked_ns + timeout < until)
				until = f->v[k].snap->asked_ns + timeout;
		r = tracer_next_held(o->t, until, &h);
		if (r < 0)
			return false;
		if (r == 1) {
			for (k = 0; k < f->n && f->v[k].st->tid != h.tid; k++)
				;
			if (k == f->n) {
				tracer_release(o->t, h.tid); /* not asked for by the sampler */
				continue;
			}
			snapshot_finish(o->t, maps_of(maps, f->v[k].snap->pid), f->v[k].snap, &h,
					s->opts.extra_hold_us);
			snap_done(s, f->v[k].st, f->v[k].snap, f->v[k].snap->how == SNAP_STOPPED,
				  f->v[k].t_ns, o);
			f->v[k].st->in_flight = false;
			flight_remove(f, k);
			continue;
		}
		now = now_ns();
		for (k = 0; k < f->n;) {
			if (f->v[k].snap->asked_ns + timeout > now) {
				k++;
				continue;
			}
			snapshot_late_or_gone(o->t, f->v[k].snap);
			snap_done(s, f->v[k].st, f->v[k].snap, 0, f->v[k].t_ns, o);
			f->v[k].st->in_flight = false;
			flight_remove(f, k);
		}
		if (now >= deadline_ns)
			break;
	}
	return true;
}

/* Hand what was gathered to the recorder and count it. */
static void
out_flush(struct sampler *s, struct tick_out *o, bool tick)
{
	uint64_t dropped;

	/* A process's mappings go with its first item (and the first after an
	 * exec), read now that no thread is held: one that exits before the
	 * consumer reads its symbols is symbolized from them. */
	for (size_t i = 0; i < o->nitems; i++) {
		struct sample_item *it = &o->items[i];
		uintptr_t sent = (uintptr_t)hashmap_get(&s->maps_sent, (uint64_t)it->pid);

		if (sent != (uintptr_t)it->exec_gen + 1) {
			it->maps = procfs_maps_text(it->pid);
			hashmap_put(&s->maps_sent, (uint64_t)it->pid,
				    (void *)((uintptr_t)it->exec_gen + 1));
		}
	}
	dropped = push_items(s, o->items, o->nitems);

	settle(s, o->stopped, o->nstopped);
	pthread_mutex_lock(&s->lock);
	s->stats.ticks += tick;
	for (size_t i = 0; i < o->nitems; i++)
		s->stats.samples += o->items[i].count;
	s->stats.samples -= dropped;
	s->stats.dropped += dropped;
	s->stats.reused += o->d.reused;
	s->stats.stops += o->d.stops;
	s->stats.nonstop += o->d.nonstop;
	s->stats.failed += o->d.failed;
	s->stats.late += o->d.late;
	s->stats.dropped += o->d.dropped;
	s->stats.threads_matched += o->d.threads_matched;
	pthread_mutex_unlock(&s->lock);
	free(o->items);
	free(o->stopped);
}

/* When sampling ends, the ticks still owed to blocked threads (see tick):
 * each was where it was at its last check, as for any tick owed. */
static void
flush_owed(struct sampler *s, struct tracer *t, struct hashmap *threads, uint64_t t_ns)
{
	struct tick_out o = { .t = t, .gen = s->gen_base };
	struct sthread *st;
	size_t it = 0;

	while (hashmap_next(threads, &it, NULL, (void **)&st)) {
		if (st->owed > 0 && st->have_stack)
			emit_n(out_item(&o), st, t_ns, gen_of(&o, st), NULL, st->owed);
		st->owed = 0;
	}
	out_flush(s, &o, false);
}

/* Let go of every thread still in flight (siprof is ending). */
static void
flight_abandon(struct sampler *s, struct tracer *t, struct flight *f)
{
	for (size_t k = 0; k < f->n; k++) {
		snapshot_late_or_gone(t, f->v[k].snap);
		sampler_recycle(s, f->v[k].snap);
		f->v[k].st->in_flight = false;
		f->v[k].st->skipped = 0;
	}
	f->n = f->nblocked = 0;
}

/* Stops that arrive between ticks, from threads asked in an earlier one. */
static bool
between_ticks(struct sampler *s, struct tracer *t, struct pmaps *maps,
	      struct flight *f, uint64_t until_ns)
{
	struct tick_out o = { .t = t, .gen = s->gen_base };
	bool ok = flight_collect(s, maps, f, until_ns, false, &o);

	out_flush(s, &o, false);
	return ok;
}

/* How many ticks apart a blocked thread is checked, after streak checks
 * in a row found it unmoved: every tick at first, up to every
 * MAX_IDLE_INTERVAL ticks after a while. A check that finds it unmoved
 * proves every tick since (it never got a CPU), so those samples are exact;
 * only when it woke within the interval is the moment unknown, and the
 * ticks before the check keep the stack it had. Threads that sleep for
 * long then cost one read per several ticks instead of one per tick. */
static unsigned
idle_interval(unsigned streak)
{
	unsigned iv = 1u << (streak / 8 < 3 ? streak / 8 : 3);

	return iv < MAX_IDLE_INTERVAL ? iv : MAX_IDLE_INTERVAL;
}

/* One tick. The threads that may have moved are asked to stop, and each is
 * copied and let go the moment its stop arrives. Runnable threads are all
 * asked at once: on busy CPUs each takes the stop only when it next runs,
 * so the tick waits for none of them past deadline_ns (they stay in
 * flight). Blocked threads stop at once, so asking many at a time would
 * only keep them waiting in their stops: MAX_BLOCKED_IN_FLIGHT at a time. */
static bool
tick(struct sampler *s, struct tracer *t, struct pmaps *maps,
     struct hashmap *threads, struct flight *f, unsigned tickno, uint64_t t_ns,
     uint64_t deadline_ns)
{
	struct tick_out o = { .t = t, .gen = s->gen_base };
	struct sthread **to_stop;
	const pid_t *tids;
	size_t n, nto_stop = 0, next = 0;
	bool ending = false;
	int tick_cpu = sched_getcpu(); /* see runnable_class */

	tids = tracer_threads(t, &n);
	to_stop = xcalloc(n ? n : 1, sizeof *to_stop);
	/* Stacks that did not fit their copies: copied again, larger, at
	 * once (a blocked thread would otherwise keep its cut stack). */
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_grow; i++) {
		struct sthread *st = hashmap_get(threads, (uint64_t)s->grow[i].tid);

		if (st != NULL && s->grow[i].cap > st->copy_cap) {
			st->copy_cap = s->grow[i].cap;
			st->have_stack = false;
			st->idle_mark = false;
		}
	}
	s->n_grow = 0;
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n; i++) {
		struct sthread *st = thread_state(threads, t, tids[i]);

		st->seen_tick = tickno;
		if (s->opts.thread_filter == NULL) {
			st->selected = true;
		} else if (st->name_tick == 0 || tickno - st->name_tick >= FILTER_RECHECK_TICKS) {
			/* Judge by /proc alone: a thread filtered out is never stopped. */
			procfs_task_comm(st->pid, st->tid, st->comm, sizeof st->comm);
			st->selected = filter_match(s, st->tid, st->comm);
			st->name_tick = tickno;
		}
		if (!st->selected)
			continue;
		if (!st->matched) {
			st->matched = true;
			o.d.threads_matched++;
		}
		thread_open_files(s, st);
		if (st->in_flight) {
			st->skipped++;
			continue;
		}
		/* The process is stopped (SIGSTOP): the thread does not run, and
		 * an interrupt would only wake it to stop again. Counted as
		 * stopped, with the stack it had, untouched; its first sample
		 * (a thread stopped before siprof came) needs one stop. */
		if (st->have_stack && tracer_thread_stopped(t, st->tid)) {
			if (st->owed > 0)
				emit_n(out_item(&o), st, t_ns, gen_of(&o, st), NULL, st->owed);
			st->owed = 0;
			st->idle_streak = 0;
			st->idle_mark = false; /* continued, it is checked at once */
			st->cls = CLASS_STOPPED;
			st->sysnr = 0;
			st->callnr = -1;
			emit(out_item(&o), st, t_ns, gen_of(&o, st), NULL);
			o.d.reused++;
			continue;
		}
		if (st->idle_mark && tickno < st->next_check) {
			st->owed++;
			continue;
		}
		/* Blocked, and not run since its last sample: the same stack,
		 * untouched, for this tick and those owed. */
		if (unmoved(st)) {
			emit_n(out_item(&o), st, t_ns, gen_of(&o, st), NULL, st->owed + 1);
			o.d.reused += st->owed + 1;
			st->owed = 0;
			st->idle_streak++;
			st->next_check = tickno + idle_interval(st->idle_streak);
			continue;
		}
		/* It ran at some point since the last check: until then it was
		 * where it was, which is all that is known of the ticks owed. */
		if (st->owed > 0)
			emit_n(out_item(&o), st, t_ns, gen_of(&o, st), NULL, st->owed);
		st->owed = 0;
		st->idle_streak = 0;
		to_stop[nto_stop++] = st;
	}
	while (!ending && next < nto_stop) {
		while (f->nblocked < MAX_BLOCKED_IN_FLIGHT && next < nto_stop) {
			struct sthread *st = to_stop[next++];
			struct snapshot *snap = pool_get(s, st->copy_cap);
			int r;

			if (snap == NULL) {
				o.d.dropped++;
				continue;
			}
			snap->tick_cpu = tick_cpu;
			r = snapshot_begin(t, maps_of(maps, st->pid), st->tid,
					   &(struct task_files){ st->stat_fd, st->sched_fd }, snap);
			if (r != 2) {
				snap_done(s, st, snap, r, t_ns, &o);
				continue;
			}
			GROW(f->v, f->cap, f->n + 1);
			f->v[f->n++] = (struct pending){ st, snap, t_ns, snap->stat.state != 'R' };
			f->nblocked += snap->stat.state != 'R';
			st->in_flight = true;
		}
		if (next < nto_stop) {
			ending = !flight_collect(s, maps, f, deadline_ns, true, &o);
			if (now_ns() >= deadline_ns)
				break;
		}
	}
	o.d.late += nto_stop - next; /* the tick ran out of time for them */
	if (!ending)
		ending = !flight_collect(s, maps, f, deadline_ns, false, &o);
	free(to_stop);
	out_flush(s, &o, true);
	return !ending;
}

/* Forget threads that did not show up in the last tick (they exited). */
static void
prune(struct hashmap *threads, unsigned tickno)
{
	struct sthread *st, **gone = NULL;
	size_t it = 0, n = 0, cap = 0;

	while (hashmap_next(threads, &it, NULL, (void **)&st)) {
		if (st->seen_tick != tickno && !st->in_flight) {
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

static uint64_t
starttime_of(pid_t pid)
{
	struct task_stat ts;

	return procfs_task_stat(pid, pid, &ts) && ts.state != 'Z' && ts.state != 'X'
		       ? ts.starttime : 0;
}

/* Whether p->pid is still the process attached to before. */
static bool
same_process(const struct sproc *p)
{
	uint64_t st = starttime_of(p->pid);

	return st != 0 && st == p->starttime;
}

/* With children: the processes that pid started before it was seized,
 * and theirs, are seized too (those started since are followed by the
 * tracer). One that exited meanwhile, or cannot be traced, is left out:
 * the processes asked for are traced all the same. */
static void
attach_descendants(struct tracer *t, pid_t pid, unsigned depth)
{
	pid_t *kids;
	size_t n;

	if (depth > 64 || !procfs_children(pid, &kids, &n))
		return;
	/* Forks reported since the seize are known once reaped. */
	tracer_poll(t, 0);
	for (size_t i = 0; i < n; i++) {
		char *cause = NULL;

		if (!tracer_process_alive(t, kids[i]) &&
		    tracer_attach(t, kids[i], &cause) != TRACER_OK) {
			free(cause);
			continue;
		}
		free(cause);
		attach_descendants(t, kids[i], depth + 1);
	}
	free(kids);
}

/* After a suspend: every process traced then that is still there,
 * attached again, the first process first (its exit status is the one
 * kept); TRACER_NOPROC when none is left. */
static int
attach_again(struct sampler *s, struct tracer *t, char **cause)
{
	size_t again = 0;

	for (size_t i = 0; i < s->n_procs; i++) {
		struct sproc *p = &s->procs[i];
		int status;

		if (!same_process(p)) {
			int st;

			/* The command siprof started is its child still: its
			 * status is to be had. */
			if (p->pid == s->pid && s->argv != NULL &&
			    waitpid(s->pid, &st, __WALL | WNOHANG) == s->pid)
				s->launched_status = st;
			continue;
		}
		if (tracer_process_alive(t, p->pid)) {
			again++; /* a descendant of one attached again */
			continue;
		}
		status = tracer_attach(t, p->pid, cause);
		if (status == TRACER_NOPROC)
			continue;
		if (status != TRACER_OK)
			return status;
		if (s->opts.children)
			attach_descendants(t, p->pid, 0);
		if (!same_process(p)) {
			/* Another process took the id between the check and the
			 * seize: let everything go (ending this thread detaches). */
			set_cause(cause, "process %d exited while siprof was suspended", (int)p->pid);
			return TRACER_NOPROC;
		}
		again++;
	}
	if (again == 0) {
		free(*cause);
		*cause = NULL;
		if (s->n_procs == 1)
			set_cause(cause, "process %d exited while siprof was suspended", (int)s->pid);
		else
			set_cause(cause, "the %zu processes exited while siprof was suspended",
				  s->n_procs);
		return TRACER_NOPROC;
	}
	free(*cause);
	*cause = NULL;
	return TRACER_OK;
}

/* Attach (launch the command the first time), and say how it went. */
static int
sampler_attach(struct sampler *s, struct tracer *t)
{
	char *cause = NULL;
	int status = TRACER_OK;

	tracer_follow_children(t, s->opts.children);
	if (s->resume) {
		status = attach_again(s, t, &cause);
	} else if (s->argv != NULL) {
		status = tracer_launch(t, s->argv, &cause);
		if (status == TRACER_OK) {
			s->procs[0].pid = tracer_pid(t);
			s->n_procs = 1;
		}
	} else {
		for (size_t i = 0; i < s->n_procs && status == TRACER_OK; i++) {
			status = tracer_attach(t, s->procs[i].pid, &cause);
			if (status == TRACER_OK && s->opts.children)
				attach_descendants(t, s->procs[i].pid, 0);
		}
	}
	if (status == TRACER_OK && !s->resume)
		for (size_t i = 0; i < s->n_procs; i++)
			s->procs[i].starttime = starttime_of(s->procs[i].pid);
	pthread_mutex_lock(&s->lock);
	s->attach_status = status;
	free(s->cause);
	s->cause = cause;
	if (status == TRACER_OK && !s->resume)
		s->pid = tracer_pid(t);
	if (status == TRACER_OK && s->start_ns == 0) {
		s->start_ns = now_ns();
		if (s->opts.duration_s > 0)
			s->deadline_ns = s->start_ns + (uint64_t)(s->opts.duration_s * 1e9);
	}
	s->attach_done = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return status;
}

/* At a suspend: the processes traced now, the first one first, for
 * attach_again. */
static void
remember_processes(struct sampler *s, struct tracer *t)
{
	const pid_t *pids;
	size_t n, k = 0;
	bool first = false;

	pids = tracer_processes(t, &n);
	free(s->procs);
	s->procs = xcalloc(n + 1, sizeof *s->procs);
	for (size_t i = 0; i < n; i++)
		first |= pids[i] == s->pid;
	if (first)
		s->procs[k++] = (struct sproc){ s->pid, starttime_of(s->pid) };
	for (size_t i = 0; i < n; i++)
		if (pids[i] != s->pid)
			s->procs[k++] = (struct sproc){ pids[i], starttime_of(pids[i]) };
	s->n_procs = k;
}

/* The tracer's clone event: the hook, called outside the lock (it may
 * take a moment: a thread's probes opened). */
static void
thread_born(void *arg, pid_t pid, pid_t tid)
{
	struct sampler *s = arg;
	void (*fn)(void *, pid_t, pid_t);
	void *fn_arg;

	pthread_mutex_lock(&s->lock);
	fn = s->born;
	fn_arg = s->born_arg;
	pthread_mutex_unlock(&s->lock);
	if (fn != NULL)
		fn(fn_arg, pid, tid);
}

void
sampler_on_thread(struct sampler *s, void (*fn)(void *arg, pid_t pid, pid_t tid), void *arg)
{
	pthread_mutex_lock(&s->lock);
	s->born = fn;
	s->born_arg = arg;
	pthread_mutex_unlock(&s->lock);
}

static void *
sampler_main(void *arg)
{
	struct sampler *s = arg;
	struct pmaps maps;
	struct hashmap threads;
	struct tracer *t = tracer_new();
	uint64_t period = s->period, base, rng = now_ns() | 1;
	uint64_t last_tick_ns = 0;
	unsigned tickno = 0;
	struct flight flight = { 0 };
	bool suspended;
	int status;

	tracer_on_thread(t, thread_born, s);
	status = sampler_attach(s, t);
	if (status != TRACER_OK) {
		int exit_status = tracer_exit_status(t);

		/* The command siprof started ended while siprof was suspended
		 * (attach_again collected its status). */
		if (s->resume && s->argv != NULL && status == TRACER_NOPROC)
			exit_status = s->launched_status;
		tracer_free(t);
		pthread_mutex_lock(&s->lock);
		s->exit_status = exit_status;
		s->end_ns = now_ns();
		s->ended = true;
		wake_consumer(s);
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}

	/* A sampler preempted while it holds a thread stalls that thread for
	 * a whole time slice: run ahead of ordinary threads where allowed.
	 * It is idle nearly all the time, so this costs the machine nothing. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SAMPLER_NICE);
	hashmap_init(&threads);
	hashmap_init(&maps.by_pid);
	base = now_ns();
	/* The first tick is due when sampling began, which --duration counts
	 * from, however long the set-up above took (late, it is missed). */
	pthread_mutex_lock(&s->lock);
	if (!s->resume && s->start_ns != 0 && s->start_ns < base)
		base = s->start_ns;
	pthread_mutex_unlock(&s->lock);
	for (;;) {
		uint64_t wake = base, now;
		bool stop, paused;

		if (s->opts.jitter) {
			uint64_t q = period / 4;

			wake = base - q + xorshift(&rng) % (2 * q + 1);
		}
		/* Wait for the tick, handling ptrace events as they come and
		 * copying threads that stop late. */
		while ((now = now_ns()) < wake) {
			if (flight.n > 0 ? !between_ticks(s, t, &maps, &flight, wake)
					 : !tracer_poll(t, wake - now))
				break;
		}
		pthread_mutex_lock(&s->lock);
		stop = s->stop;
		paused = s->paused;
		pthread_mutex_unlock(&s->lock);
		if (stop || signals_pending() || tracer_process_exited(t))
			break;
		now = now_ns();
		if (paused && now > base)
			base = now; /* ticks not taken while paused are not missed */
		if (now > base + period) {
			/* Late by whole periods: count them, do not drift. */
			uint64_t missed = (now - base) / period;

			if (s->deadline_ns != 0 && base + missed * period >= s->deadline_ns)
				missed = base < s->deadline_ns /* those due only */
						 ? (s->deadline_ns - base + period - 1) / period : 0;
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
		/* --duration: the ticks due before the deadline, and no other. */
		if (s->deadline_ns != 0 && base >= s->deadline_ns) {
			pthread_mutex_lock(&s->lock);
			s->stop = true;
			pthread_mutex_unlock(&s->lock);
			break;
		}
		if (!paused) {
			last_tick_ns = now;
			if (!tick(s, t, &maps, &threads, &flight, ++tickno, now,
				  base + period - period / 8))
				break;
			prune(&threads, tickno);
			if (tickno % 64 == 0) {
				pmaps_prune(&maps, t);
				sent_prune(s, t);
			}
		}
		base += period;
	}
	flush_owed(s, t, &threads, last_tick_ns);
	flight_abandon(s, t, &flight);
	free(flight.v);
	tracer_poll(t, 0);
	pthread_mutex_lock(&s->lock);
	/* Leaving for Ctrl-Z: the process goes on, and so will sampling, in a
	 * new thread, after siprof is continued. */
	suspended = !s->stop && !tracer_process_exited(t) && signals_suspend_requested() != 0 &&
		    signals_stop_requested() == 0;
	if (tracer_process_exited(t))
		s->exit_status = tracer_exit_status(t) >= 0 ? tracer_exit_status(t)
							     : s->launched_status;
	if (suspended)
		remember_processes(s, t);
	s->end_ns = now_ns();
	s->stats.threads_seen += tracer_stats(t)->threads_seen;
	s->stats.threads_exited += tracer_stats(t)->threads_exited;
	s->stats.signals_passed += tracer_stats(t)->signals_passed;
	s->suspended = suspended;
	s->ended = !suspended;
	wake_consumer(s);
	pthread_mutex_unlock(&s->lock);
	/* Whether the process exec'd while nobody traced it is not known:
	 * what comes after a resume counts as a new generation. */
	s->gen_base += tracer_exec_generation(t) + 1;
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
	pmaps_prune(&maps, NULL);
	hashmap_release(&maps.by_pid);
	tracer_free(t);
	/* Returning ends this thread: the kernel detaches every tracee. */
	return NULL;
}

/* Start the sampling thread and wait until it attached. */
static int
start_thread(struct sampler *s, char **cause)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	s->attach_done = false;
	s->suspended = false;
	s->end_ns = 0;
	pthread_mutex_unlock(&s->lock);
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

int
sampler_start(struct sampler *s, char **cause)
{
	struct rlimit rl;

	/* One schedstat fd per thread: allow as many as the hard limit does. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return start_thread(s, cause);
}

bool
sampler_suspend(struct sampler *s)
{
	bool suspended;

	if (!s->started)
		return false;
	pthread_join(s->thread, NULL);
	s->started = false;
	pthread_mutex_lock(&s->lock);
	suspended = s->suspended;
	pthread_mutex_unlock(&s->lock);
	return suspended;
}

int
sampler_resume(struct sampler *s, char **cause)
{
	if (s->started || !s->suspended)
		return TRACER_OK;
	s->resume = true;
	return start_thread(s, cause);
}

void
sampler_stop(struct sampler *s)
{
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	/* A sampler left suspended ends here. */
	pthread_mutex_lock(&s->lock);
	s->suspended = false;
	s->ended = true;
	wake_consumer(s);
	pthread_mutex_unlock(&s->lock);
}
