/* alloc.c: allocation hot spots, in-use bytes and leak suspects from
 * probes on the allocator, in windows under a budget (alloc.h). */
#include "config.h"

#include "alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hashmap.h"
#include "probes.h"
#include "procfs.h"
#include "snapshot.h"
#include "symbols.h"
#include "util.h"

/* The functions probed, and what their arguments mean. */
/* The busiest first: their probes are taken out first at a window's end. */
enum fn { FN_MALLOC, FN_FREE, FN_CALLOC, FN_REALLOC, FN_POSIX_MEMALIGN, FN_ALIGNED_ALLOC,
	  FN_MEMALIGN, FN_COUNT };
static const char *const fn_names[FN_COUNT] = { "malloc", "free", "calloc", "realloc",
						"posix_memalign", "aligned_alloc", "memalign" };

/* A cost per hit to start from when a window's measure is lost in noise
 * (an entry and a return probe on this kind of VM). */
#define PRIOR_COST_US 16.0
#define BASE_NS 100000000ull
#define CALIBRATE_NS 20000000ull
#define WINDOW_NS 200000000ull
#define MIN_WINDOW_NS 20000000ull
#define HITS_PER_WINDOW 20000.0
#define DRAIN_NS 10000000ull
#define RESCAN_NS 50000000ull
#define MAX_FOLLOWED 2000000u
#define HISTORY 8

struct site {
	uint64_t key;
	size_t n;
	bool truncated;
	uint64_t pcs[UNWIND_MAX_FRAMES];
	uint64_t acc_bytes, acc_objects; /* allocated, not yet handed out */
	uint64_t win_bytes, win_objects; /* this window's, still live */
	uint64_t live_bytes, live_objects; /* followed */
	double hist_t[HISTORY], hist_live[HISTORY]; /* at window ends */
	unsigned n_hist;
	pid_t tid; /* the last thread that allocated here */
};

struct live {
	uint64_t size;
	struct site *site;
	unsigned window;
	uint64_t t; /* when it was allocated */
};

/* A call in progress on a thread: the entry seen, the return not yet. */
struct pending {
	enum fn fn;
	uint64_t size, old_ptr, memptr;
	struct site *site; /* NULL: a call made inside another (not counted) */
};

struct tstate {
	struct pending stack[8];
	unsigned depth;
};

/* A hit, kept until the hits of a read are put in time order. */
struct event {
	uint64_t t;
	pid_t tid;
	enum fn fn;
	bool ret;
	uint64_t rax, rdi, rsi, rdx;
	struct site *site;
};

struct alloc {
	pid_t pid;
	struct alloc_opts opts;
	struct probes *probes;
	unsigned probe_fn[2 * FN_COUNT];  /* probe id -> function */
	bool probe_ret[2 * FN_COUNT];
	struct symbols *sym;
	struct unwinder *uw;
	struct unwind_result ur;
	struct snapshot snap;
	pthread_t thread;
	atomic_bool stop;
	bool joined;
	pthread_mutex_t lock;
	/* Under lock: */
	struct alloc_item *items;
	size_t n_items, cap_items;
	struct alloc_stats stats;
	struct alloc_leak *leaks; /* the suspects at the last window's end */
	size_t n_leaks;
	char *error;
	/* The thread's own: */
	struct hashmap sites;    /* key -> struct site * */
	struct hashmap live;     /* address -> struct live * */
	struct hashmap threads;  /* tid -> struct tstate * */
	uint64_t allocs, frees;  /* calls seen */
	struct event *events;
	size_t n_events, cap_events;
	unsigned window;
	uint64_t start_ns;
	double probed_s;
	double followed_s; /* time allocations were followed over: the leaks' clock */
	double extra_cpu_s, base_cpu_s, base_s;
	uint64_t seed;
};

/* The target's CPU time: its threads' schedstat, to the nanosecond (the
 * process's utime and stime come in clock ticks, 10 ms, too coarse for a
 * calibration window of 20 ms). A thread that exits takes its time out of
 * the sum: a window it exits in seems to cost less. */
static uint64_t
cpu_ns(pid_t pid)
{
	pid_t *tids = NULL;
	size_t n = 0;
	uint64_t sum = 0;

	if (!procfs_tasks(pid, &tids, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct schedstat ss;

		if (procfs_task_schedstat(pid, tids[i], -1, &ss))
			sum += ss.runtime_ns;
	}
	free(tids);
	return sum;
}

static uint64_t
rnd(struct alloc *a)
{
	a->seed ^= a->seed << 13;
	a->seed ^= a->seed >> 7;
	a->seed ^= a->seed << 17;
	return a->seed;
}

static void
set_error(struct alloc *a, char *msg)
{
	pthread_mutex_lock(&a->lock);
	if (a->error == NULL)
		a->error = msg;
	else
		free(msg);
	pthread_mutex_unlock(&a->lock);
}

/* The call site of an entry hit: its stack unwound, the allocator's own
 * frame left out (the caller's return address, less one, is the call). */
static struct site *
site_of(struct alloc *a, const struct probe_hit *h)
{
	struct unwind_result *ur = &a->ur;
	struct snapshot *s = &a->snap;
	unsigned char *own = s->stack; /* the hit's copy is unwound in place */
	struct site *site;
	uint64_t key;

	s->pid = a->pid;
	s->tid = h->tid;
	s->how = SNAP_STOPPED;
	s->regs = h->regs;
	s->sp = h->regs.rsp;
	s->pc = h->regs.rip;
	s->stack = (unsigned char *)h->stack;
	s->stack_len = h->stack_len;
	s->stack_start = h->regs.rsp;
	s->stack_end = h->regs.rsp + h->stack_len;
	unwinder_unwind(a->uw, s, ur);
	s->stack = own;
	if (ur->n >= 2) {
		memmove(ur->pcs, ur->pcs + 1, (ur->n - 1) * sizeof *ur->pcs);
		ur->n--;
		ur->pcs[0]--;
	}
	key = hash_bytes(ur->pcs, ur->n * sizeof *ur->pcs, ur->truncated);
	site = hashmap_get(&a->sites, key);
	if (site == NULL) {
		site = xcalloc(1, sizeof *site);
		site->key = key;
		site->n = ur->n;
		site->truncated = ur->truncated;
		memcpy(site->pcs, ur->pcs, ur->n * sizeof *ur->pcs);
		hashmap_put(&a->sites, key, site);
	}
	return site;
}

static void
on_hit(const struct probe_hit *h, void *arg)
{
	struct alloc *a = arg;
	struct event *e;
	enum fn fn = (enum fn)a->probe_fn[h->probe];
	bool ret = a->probe_ret[h->probe];

	GROW(a->events, a->cap_events, a->n_events + 1);
	e = &a->events[a->n_events++];
	*e = (struct event){ h->time_ns, h->tid, fn, ret, h->regs.rax, h->regs.rdi, h->regs.rsi,
			     h->regs.rdx, NULL };
	if (!ret && fn != FN_FREE && h->stack != NULL)
		e->site = site_of(a, h);
}

static int
event_cmp(const void *x, const void *y)
{
	const struct event *a = x, *b = y;

	return a->t < b->t ? -1 : a->t > b->t;
}

static void
forget(struct alloc *a, uint64_t addr)
{
	struct live *l = hashmap_remove(&a->live, addr);

	if (l == NULL)
		return;
	l->site->live_bytes -= l->size;
	l->site->live_objects--;
	if (l->window == a->window) {
		l->site->win_bytes -= l->size;
		l->site->win_objects--;
	}
	free(l);
}

static void
follow(struct alloc *a, struct site *site, uint64_t addr, uint64_t size, uint64_t t)
{
	struct live *l;

	/* The address handed out again: its last allocation was freed while
	 * no window was open. */
	forget(a, addr);
	if (addr == 0 || a->live.n >= MAX_FOLLOWED)
		return;
	l = xmalloc(sizeof *l);
	*l = (struct live){ size, site, a->window, t };
	hashmap_put(&a->live, addr, l);
	site->live_bytes += size;
	site->live_objects++;
	site->win_bytes += size;
	site->win_objects++;
}

static struct tstate *
tstate(struct alloc *a, pid_t tid)
{
	struct tstate *t = hashmap_get(&a->threads, (uint64_t)tid);

	if (t == NULL) {
		t = xcalloc(1, sizeof *t);
		hashmap_put(&a->threads, (uint64_t)tid, t);
	}
	return t;
}

static void
apply(struct alloc *a, const struct event *e)
{
	struct tstate *t = tstate(a, e->tid);
	struct pending *p;
	uint64_t addr;

	if (e->fn == FN_FREE) {
		a->frees++;
		forget(a, e->rdi);
		return;
	}
	if (!e->ret) {
		if (t->depth == sizeof t->stack / sizeof t->stack[0])
			return;
		p = &t->stack[t->depth++];
		*p = (struct pending){ e->fn, 0, 0, 0, t->depth > 1 ? NULL : e->site };
		switch (e->fn) {
		case FN_CALLOC: p->size = e->rdi * e->rsi; break;
		case FN_REALLOC: p->old_ptr = e->rdi; p->size = e->rsi; break;
		case FN_POSIX_MEMALIGN: p->memptr = e->rdi; p->size = e->rdx; break;
		case FN_ALIGNED_ALLOC:
		case FN_MEMALIGN: p->size = e->rsi; break;
		default: p->size = e->rdi; break;
		}
		if (p->site != NULL) {
			p->site->acc_bytes += p->size;
			p->site->acc_objects++;
			p->site->tid = e->tid;
			a->allocs++;
		}
		return;
	}
	/* A return: the innermost call of that function in progress (calls
	 * above it whose returns were not seen are over too). */
	{
		unsigned d = t->depth;

		while (d > 0 && t->stack[d - 1].fn != e->fn)
			d--;
		if (d == 0)
			return; /* its entry came before the window */
		t->depth = d - 1;
		p = &t->stack[t->depth];
	}
	if (p->site == NULL)
		return;
	addr = e->rax;
	/* posix_memalign returns 0 and leaves the block at *memptr. */
	if (p->fn == FN_POSIX_MEMALIGN &&
	    (e->rax != 0 || !procfs_read_memory(a->pid, p->memptr, &addr, sizeof addr)))
		addr = 0;
	if (p->fn == FN_REALLOC && p->old_ptr != 0 && (addr != 0 || p->size == 0))
		forget(a, p->old_ptr);
	if (addr != 0)
		follow(a, p->site, addr, p->size, e->t);
}

/* An item for the consumer (under a->lock). */
static void
push_item(struct alloc *a, enum alloc_item_kind kind, const struct site *s, uint64_t bytes,
	  uint64_t objects, uint64_t now)
{
	struct alloc_item *item;

	GROW(a->items, a->cap_items, a->n_items + 1);
	item = &a->items[a->n_items++];
	item->kind = kind;
	item->t_ns = now;
	item->tid = s->tid;
	item->bytes = bytes;
	item->objects = objects;
	item->n = s->n;
	item->truncated = s->truncated;
	memcpy(item->pcs, s->pcs, s->n * sizeof *s->pcs);
}

/* Read the buffers and account what they held, in time order; hand the
 * allocations over (or, !hand_over, leave them out). */
static void
drain(struct alloc *a, uint64_t now, bool hand_over)
{
	uint64_t key;
	void *v;
	size_t it = 0, hits;

	/* The sites, the allocations followed and the calls in progress are
	 * this thread's own: only what is handed over takes the lock. */
	a->n_events = 0;
	hits = probes_read(a->probes, on_hit, a);
	qsort(a->events, a->n_events, sizeof *a->events, event_cmp);
	for (size_t i = 0; i < a->n_events; i++)
		apply(a, &a->events[i]);
	pthread_mutex_lock(&a->lock);
	while (hashmap_next(&a->sites, &it, &key, &v)) {
		struct site *s = v;

		if (s->acc_objects == 0)
			continue;
		if (hand_over)
			push_item(a, ALLOC_ITEM_ALLOC, s, s->acc_bytes, s->acc_objects, now);
		s->acc_bytes = s->acc_objects = 0;
	}
	a->stats.hits += hits;
	a->stats.allocs = a->allocs;
	a->stats.frees = a->frees;
	a->stats.lost = probes_lost(a->probes);
	a->stats.refused = probes_refused(a->probes);
	a->stats.born = probes_born(a->probes);
	pthread_mutex_unlock(&a->lock);
}

/* A site's followed bytes rose from window end to window end over the
 * last ones (at least four): a least-squares line through them against
 * the time probed gives its rate (the rate while probed: a target the
 * probes slow down allocates slower then). */
static bool
rising(const struct site *s, double *rate)
{
	double mt = 0, ml = 0, num = 0, den = 0;

	unsigned rises = 0;

	/* A window can miss a site that allocates now and then: rising at
	 * two steps of three is rising. A site that allocates and frees
	 * goes up and down around what it holds. */
	if (s->n_hist < 4)
		return false;
	for (unsigned i = 1; i < s->n_hist; i++)
		rises += s->hist_live[i] > s->hist_live[i - 1];
	if (rises * 3 < (s->n_hist - 1) * 2 || s->hist_live[s->n_hist - 1] <= s->hist_live[0])
		return false;
	for (unsigned i = 0; i < s->n_hist; i++) {
		mt += s->hist_t[i];
		ml += s->hist_live[i];
	}
	mt /= s->n_hist;
	ml /= s->n_hist;
	for (unsigned i = 0; i < s->n_hist; i++) {
		num += (s->hist_t[i] - mt) * (s->hist_live[i] - ml);
		den += (s->hist_t[i] - mt) * (s->hist_t[i] - mt);
	}
	*rate = den > 0 ? num / den : 0;
	return *rate > 0;
}

/* The sites whose followed bytes rise, as they are now. */
static size_t
find_leaks(struct alloc *a, struct alloc_leak **out)
{
	uint64_t key;
	void *v;
	size_t it = 0, n = 0, cap = 0;

	*out = NULL;
	while (hashmap_next(&a->sites, &it, &key, &v)) {
		struct site *s = v;
		double rate;

		if (!rising(s, &rate))
			continue;
		GROW(*out, cap, n + 1);
		(*out)[n] = (struct alloc_leak){ .n = s->n, .bytes_per_s = rate,
						 .live_bytes = (uint64_t)s->hist_live[s->n_hist - 1],
						 .live_objects = s->live_objects,
						 .windows = s->n_hist };
		memcpy((*out)[n].pcs, s->pcs, s->n * sizeof *s->pcs);
		n++;
	}
	return n;
}

/* A window's end: what it allocated and had not freed, and each site's
 * followed bytes for the leak suspects. young_ns > 0 (a window that
 * closes): allocations younger than that are not followed on, since a
 * free just after the window would go unseen and their address may never
 * come back; the time they came in is left out of the time followed. */
static void
window_end(struct alloc *a, uint64_t now, uint64_t young_ns)
{
	uint64_t key;
	void *v;
	size_t it = 0, n_leaks;
	struct alloc_leak *leaks;

	pthread_mutex_lock(&a->lock);
	while (hashmap_next(&a->sites, &it, &key, &v)) {
		struct site *s = v;

		if (s->win_objects > 0)
			push_item(a, ALLOC_ITEM_INUSE, s, s->win_bytes, s->win_objects, now);
	}
	pthread_mutex_unlock(&a->lock);
	if (young_ns > 0) {
		uint64_t *young = NULL;
		size_t n = 0, cap = 0;

		it = 0;
		while (hashmap_next(&a->live, &it, &key, &v)) {
			const struct live *l = v;

			if (l->window == a->window && l->t + young_ns > now) {
				GROW(young, cap, n + 1);
				young[n++] = key;
			}
		}
		for (size_t i = 0; i < n; i++)
			forget(a, young[i]);
		free(young);
	}
	it = 0;
	while (hashmap_next(&a->sites, &it, &key, &v)) {
		struct site *s = v;

		s->win_bytes = s->win_objects = 0;
		if (s->n_hist == HISTORY) {
			memmove(s->hist_t, s->hist_t + 1, (HISTORY - 1) * sizeof *s->hist_t);
			memmove(s->hist_live, s->hist_live + 1, (HISTORY - 1) * sizeof *s->hist_live);
			s->n_hist--;
		}
		s->hist_t[s->n_hist] = a->followed_s;
		s->hist_live[s->n_hist++] = (double)s->live_bytes;
	}
	/* Calls in progress at the end: their returns will not be seen. */
	it = 0;
	while (hashmap_next(&a->threads, &it, &key, &v))
		((struct tstate *)v)->depth = 0;
	n_leaks = find_leaks(a, &leaks);
	pthread_mutex_lock(&a->lock);
	free(a->leaks);
	a->leaks = leaks;
	a->n_leaks = n_leaks;
	a->stats.followed = a->live.n;
	pthread_mutex_unlock(&a->lock);
	a->window++;
}

/* Wait until t (monotonic ns) or a stop; false on a stop. */
static bool
wait_until(struct alloc *a, uint64_t t)
{
	for (;;) {
		uint64_t now = now_ns();

		if (atomic_load(&a->stop))
			return false;
		if (now >= t)
			return true;
		usleep((useconds_t)((t - now) / 1000 > 20000 ? 20000 : (t - now) / 1000 + 1));
	}
}

/* Probing all the time, at each second's window end: the figures the
 * windows give otherwise, from the target's CPU time since the opening
 * (cpu, over elapsed_ns) against its own rate before any probe. */
static void
always_stats(struct alloc *a, uint64_t elapsed_ns, uint64_t cpu, uint64_t hits)
{
	double base_rate = a->base_s > 0 ? a->base_cpu_s / a->base_s : 0;
	double secs = (double)elapsed_ns / 1e9, extra = (double)cpu / 1e9 - base_rate * secs;

	pthread_mutex_lock(&a->lock);
	a->stats.windows++;
	if (extra > 0 && base_rate > 0.001 && secs > 0) {
		a->stats.measured = extra / (base_rate * secs);
		if (hits > 0)
			a->stats.cost_per_hit_us = extra / (double)hits * 1e6;
	}
	pthread_mutex_unlock(&a->lock);
}

/* One window of length len_ns (0: until stopped): its hits, the target's
 * CPU time from its opening to the end of its closing (the breakpoints
 * trap until every event is closed), and that whole time. */
static bool
run_window(struct alloc *a, uint64_t len_ns, uint64_t *hits, uint64_t *cpu, uint64_t *spent)
{
	char *cause = NULL;
	uint64_t t_open = now_ns(), c0 = cpu_ns(a->pid), h0, t0, next_scan, t_end, mark, next_mark;
	uint64_t young, h;
	bool ok = true;

	/* The window starts once every thread's events are open (opening
	 * takes milliseconds an event): what came before is left out. */
	if (probes_open_all(a->probes, &cause) < 0) {
		set_error(a, cause);
		*hits = *cpu = *spent = 0;
		probes_close_all(a->probes);
		return false;
	}
	t0 = next_scan = mark = now_ns();
	next_mark = t0 + 1000000000ull;
	/* What the opening saw is not the window's. */
	drain(a, t0, false);
	pthread_mutex_lock(&a->lock);
	h0 = a->stats.hits;
	pthread_mutex_unlock(&a->lock);
	for (;;) {
		uint64_t now = now_ns();

		if (now >= next_scan) {
			if (probes_open_all(a->probes, &cause) < 0) {
				set_error(a, cause);
				ok = false;
				break;
			}
			next_scan = now_ns() + RESCAN_NS;
		}
		drain(a, now, true);
		if (atomic_load(&a->stop) || (len_ns != 0 && now - t0 >= len_ns))
			break;
		if (len_ns == 0 && now >= next_mark) {
			/* Probing all the time: a window's end every second,
			 * for the in-use bytes and the suspects' history. */
			a->probed_s += (double)(now - mark) / 1e9;
			a->followed_s += (double)(now - mark) / 1e9;
			window_end(a, now, 0);
			pthread_mutex_lock(&a->lock);
			h = a->stats.hits - h0;
			pthread_mutex_unlock(&a->lock);
			always_stats(a, now - t_open, cpu_ns(a->pid) - c0, h);
			mark = now;
			next_mark = now + 1000000000ull;
		}
		usleep(DRAIN_NS / 1000);
	}
	probes_disable_all(a->probes);
	t_end = now_ns();
	/* What was written before the events stopped. */
	drain(a, t_end, true);
	*hits = a->stats.hits - h0;
	young = len_ns != 0 ? (t_end - mark) / 4 : 0;
	a->probed_s += (double)(t_end - mark) / 1e9;
	a->followed_s += (double)(t_end - mark - young) / 1e9;
	window_end(a, t_end, young);
	pthread_mutex_lock(&a->lock);
	a->stats.windows++;
	a->stats.probed_s = a->probed_s;
	pthread_mutex_unlock(&a->lock);
	probes_close_all(a->probes);
	*cpu = cpu_ns(a->pid) - c0;
	*spent = now_ns() - t_open;
	return ok && !procfs_process_gone(a->pid);
}

static void *
alloc_thread(void *arg)
{
	struct alloc *a = arg;
	uint64_t hits, cpu, c0, t0, win_ns, period_ns, spent, debt_ns = 0;
	double base_rate, cost, always, duty;

	/* The target's own CPU rate before any probe. */
	t0 = now_ns();
	c0 = cpu_ns(a->pid);
	if (!wait_until(a, t0 + BASE_NS))
		return NULL;
	base_rate = (double)(cpu_ns(a->pid) - c0) / (double)(now_ns() - t0);
	a->base_cpu_s += (double)(cpu_ns(a->pid) - c0) / 1e9;
	a->base_s += (double)(now_ns() - t0) / 1e9;
	if (a->opts.always) {
		run_window(a, 0, &hits, &cpu, &spent);
		return NULL;
	}
	/* The first window measures the hit rate and the cost of a hit. */
	if (!run_window(a, CALIBRATE_NS, &hits, &cpu, &spent))
		return NULL;
	{
		/* w: the time probes were on; cw: the time they cost (until
		 * the last event was closed). */
		double w = (double)CALIBRATE_NS / 1e9, cw = (double)spent / 1e9;
		double close_s = cw > w ? cw - w : 0;
		double extra = (double)cpu / 1e9 - base_rate * cw;

		cost = hits > 0 && extra > 0 ? extra / (double)hits * 1e6 : PRIOR_COST_US;
		if (cost < 1)
			cost = PRIOR_COST_US;
		if (extra > 0)
			a->extra_cpu_s += extra;
		/* Extra CPU time a second if probing all the time, over the
		 * target's own. */
		always = (double)hits / w * cost / 1e6 / (base_rate > 0.01 ? base_rate : 0.01);
		win_ns = a->opts.window_ms > 0 ? a->opts.window_ms * 1000000ull : WINDOW_NS;
		if (a->opts.window_ms == 0 && hits > 0 &&
		    (double)hits / w * (double)win_ns / 1e9 > HITS_PER_WINDOW)
			win_ns = (uint64_t)(HITS_PER_WINDOW / ((double)hits / w) * 1e9);
		if (win_ns < MIN_WINDOW_NS)
			win_ns = MIN_WINDOW_NS;
		/* The share of the time the breakpoints may be in: the budget
		 * over what they would cost all the time. */
		duty = always > a->opts.overhead ? a->opts.overhead / always : 1;
		period_ns = (uint64_t)(((double)win_ns + close_s * 1e9) / duty);
		pthread_mutex_lock(&a->lock);
		a->stats.cost_per_hit_us = cost;
		a->stats.window_s = (double)win_ns / 1e9;
		a->stats.period_s = (double)period_ns / 1e9;
		a->stats.estimated = always * duty;
		pthread_mutex_unlock(&a->lock);
		/* The calibration was paid for before the budget was known:
		 * the first period begins once the budget has paid it back. */
		if (extra > 0 && duty < 1)
			debt_ns = (uint64_t)(extra / (a->opts.overhead *
						      (base_rate > 0.01 ? base_rate : 0.01)) * 1e9);
	}
	/* Then one window a period, at a uniformly random moment in it. */
	for (uint64_t period_start = now_ns() + debt_ns; !atomic_load(&a->stop);
	     period_start += period_ns) {
		uint64_t off = period_ns > win_ns ? rnd(a) % (period_ns - win_ns + 1) : 0;
		uint64_t gap0 = now_ns(), gc0 = cpu_ns(a->pid);
		double w, extra;

		if (!wait_until(a, period_start + off))
			break;
		a->base_cpu_s += (double)(cpu_ns(a->pid) - gc0) / 1e9;
		a->base_s += (double)(now_ns() - gap0) / 1e9;
		if (!run_window(a, win_ns, &hits, &cpu, &spent))
			break;
		w = (double)spent / 1e9;
		base_rate = a->base_s > 0 ? a->base_cpu_s / a->base_s : base_rate;
		extra = (double)cpu / 1e9 - base_rate * w;
		a->extra_cpu_s += extra > 0 ? extra : 0;
		pthread_mutex_lock(&a->lock);
		if (a->base_cpu_s > 0 && a->probed_s > 0)
			a->stats.measured = a->extra_cpu_s /
					    (base_rate * (a->base_s + a->probed_s));
		if (a->stats.hits > 0 && a->extra_cpu_s > 0)
			a->stats.cost_per_hit_us = a->extra_cpu_s / (double)a->stats.hits * 1e6;
		pthread_mutex_unlock(&a->lock);
		if (now_ns() > period_start + 2 * period_ns)
			period_start = now_ns() - period_ns;
	}
	return NULL;
}

struct alloc *
alloc_start(pid_t pid, const struct alloc_opts *opts, int *status, char **cause)
{
	struct alloc *a;
	struct probe_loc loc;
	char where[256] = "";
	size_t at = 0;
	unsigned found = 0;
	bool have_free = false;

	*status = probes_check(cause);
	if (*status != PROBES_OK)
		return NULL;
	a = xcalloc(1, sizeof *a);
	a->pid = pid;
	a->opts = *opts;
	a->seed = now_ns() | 1;
	a->probes = probes_new(pid, opts->stack_bytes, 4u << 20);
	uint64_t offsets[FN_COUNT];
	char *paths[FN_COUNT];

	for (int f = 0; f < FN_COUNT; f++) {
		unsigned id;
		bool alias = false;

		if (probes_resolve(pid, fn_names[f], &loc) != PROBES_OK)
			continue;
		/* Two names of one function (aligned_alloc and memalign in
		 * glibc): probed once. */
		for (unsigned k = 0; k < found && !alias; k++)
			alias = offsets[k] == loc.offset && strcmp(paths[k], loc.path) == 0;
		if (alias) {
			probe_loc_release(&loc);
			continue;
		}
		offsets[found] = loc.offset;
		paths[found] = xstrdup(loc.path);
		if (found == 0)
			snprintf(where, sizeof where, "%s", loc.module);
		at += (size_t)snprintf(a->stats.functions + at, sizeof a->stats.functions - at,
				       "%s%s", found ? ", " : "", fn_names[f]);
		if (at >= sizeof a->stats.functions)
			at = sizeof a->stats.functions - 1;
		found++;
		id = probes_add(a->probes, &loc, false, f != FN_FREE);
		a->probe_fn[id] = (unsigned)f;
		a->probe_ret[id] = false;
		if (f != FN_FREE) {
			id = probes_add(a->probes, &loc, true, false);
			a->probe_fn[id] = (unsigned)f;
			a->probe_ret[id] = true;
		} else {
			have_free = true;
		}
		probe_loc_release(&loc);
	}
	for (unsigned k = 0; k < found; k++)
		free(paths[k]);
	if (found == 0 || !have_free) {
		*cause = xasprintf("no allocator found in process %d (no malloc and free in its "
				   "modules)", (int)pid);
		*status = PROBES_NOFUNC;
		probes_free(a->probes);
		free(a);
		return NULL;
	}
	snprintf(a->stats.functions + at, sizeof a->stats.functions - at, " in %s", where);
	if (opts->pmu_only)
		probes_use_pmu(a->probes);
	probes_prepare(a->probes);
	snprintf(a->stats.mechanism, sizeof a->stats.mechanism, "%s", probes_mechanism(a->probes));
	a->stats.budget = opts->overhead;
	a->sym = symbols_new(pid, cause);
	if (a->sym != NULL)
		a->uw = unwinder_new(opts->unwinder, pid, a->sym, cause);
	if (a->uw == NULL) {
		symbols_free(a->sym);
		probes_free(a->probes);
		free(a);
		*status = PROBES_ERROR;
		return NULL;
	}
	snapshot_init(&a->snap, 0);
	hashmap_init(&a->sites);
	hashmap_init(&a->live);
	hashmap_init(&a->threads);
	pthread_mutex_init(&a->lock, NULL);
	a->start_ns = now_ns();
	if (pthread_create(&a->thread, NULL, alloc_thread, a) != 0)
		fatal("cannot start a thread");
	return a;
}

void
alloc_finish(struct alloc *a)
{
	if (a->joined)
		return;
	atomic_store(&a->stop, true);
	pthread_join(a->thread, NULL);
	a->joined = true;
}

void
alloc_stop(struct alloc *a)
{
	uint64_t key;
	void *v;
	size_t it = 0;

	if (a == NULL)
		return;
	alloc_finish(a);
	probes_free(a->probes);
	while (hashmap_next(&a->sites, &it, &key, &v))
		free(v);
	it = 0;
	while (hashmap_next(&a->live, &it, &key, &v))
		free(v);
	it = 0;
	while (hashmap_next(&a->threads, &it, &key, &v))
		free(v);
	hashmap_release(&a->sites);
	hashmap_release(&a->live);
	hashmap_release(&a->threads);
	unwinder_free(a->uw);
	symbols_free(a->sym);
	snapshot_release(&a->snap);
	free(a->events);
	free(a->items);
	free(a->leaks);
	free(a->error);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

size_t
alloc_take(struct alloc *a, struct alloc_item *items, size_t max)
{
	size_t n;

	pthread_mutex_lock(&a->lock);
	n = a->n_items < max ? a->n_items : max;
	memcpy(items, a->items, n * sizeof *items);
	memmove(a->items, a->items + n, (a->n_items - n) * sizeof *items);
	a->n_items -= n;
	pthread_mutex_unlock(&a->lock);
	return n;
}

size_t
alloc_leaks(struct alloc *a, struct alloc_leak **out)
{
	size_t n;

	pthread_mutex_lock(&a->lock);
	n = a->n_leaks;
	*out = xmalloc((n + 1) * sizeof **out);
	memcpy(*out, a->leaks, n * sizeof **out);
	pthread_mutex_unlock(&a->lock);
	return n;
}

void
alloc_get_stats(struct alloc *a, struct alloc_stats *out)
{
	pthread_mutex_lock(&a->lock);
	*out = a->stats;
	if (a->opts.always)
		out->probed_s = (double)(now_ns() - a->start_ns) / 1e9;
	/* The duty kept: the share of the time windows were open. */
	if (now_ns() > a->start_ns)
		out->duty = out->probed_s / ((double)(now_ns() - a->start_ns) / 1e9);
	if (out->duty > 1)
		out->duty = 1;
	pthread_mutex_unlock(&a->lock);
}

void
alloc_thread_born(struct alloc *a, pid_t pid, pid_t tid)
{
	if (pid == a->pid)
		probes_thread_born(a->probes, tid);
}

const char *
alloc_error(struct alloc *a)
{
	const char *e;

	pthread_mutex_lock(&a->lock);
	e = a->error;
	pthread_mutex_unlock(&a->lock);
	return e;
}
