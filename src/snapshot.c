/* snapshot.c: stop-copy-resume, and copy-without-stop for blocked threads. */
#include "config.h"

#include "snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "syscalls.h"
#include "tracer.h"
#include "util.h"

#define HOLD_TIMEOUT_MS 1000
#define PAGE 4096u

void
snapshot_init(struct snapshot *s, size_t stack_cap)
{
	memset(s, 0, sizeof *s);
	s->tick_cpu = -1;
	s->stack_cap = stack_cap;
	s->stack = xmalloc(stack_cap);
	/* Touch every page now, so no page fault happens while a thread waits. */
	memset(s->stack, 0, stack_cap);
}

void
snapshot_release(struct snapshot *s)
{
	free(s->stack);
	s->stack = NULL;
}

void
snapshot_maps_init(struct snapshot_maps *m, pid_t pid)
{
	memset(m, 0, sizeof *m);
	m->pid = pid;
	procfs_maps_read(pid, &m->maps);
}

void
snapshot_maps_release(struct snapshot_maps *m)
{
	procfs_maps_release(&m->maps);
}

/* Copy [sp, end of its mapping) capped at the buffer size. The cached maps
 * give the end when sp lies in a known mapping; otherwise one iovec per page
 * makes the read stop short at the first unmapped page. */
static size_t
copy_stack(struct snapshot_maps *m, struct snapshot *s, uint64_t sp)
{
	const struct map_entry *e = procfs_maps_find(&m->maps, sp);
	struct iovec local, remote[64];
	size_t want = s->stack_cap, nremote = 0;
	ssize_t got;

	if (e != NULL) {
		if (e->end - sp < want)
			want = (size_t)(e->end - sp);
		remote[0].iov_base = (void *)(uintptr_t)sp;
		remote[0].iov_len = want;
		nremote = 1;
	} else {
		uint64_t addr = sp;

		while (want > 0 && nremote < ARRAY_SIZE(remote)) {
			size_t chunk = PAGE - (size_t)(addr % PAGE);

			if (chunk > want)
				chunk = want;
			remote[nremote].iov_base = (void *)(uintptr_t)addr;
			remote[nremote].iov_len = chunk;
			nremote++;
			addr += chunk;
			want -= chunk;
		}
	}
	local.iov_base = s->stack;
	local.iov_len = s->stack_cap;
	got = process_vm_readv(s->pid, &local, 1, remote, nremote, 0);
	s->stack_start = sp;
	s->stack_len = got > 0 ? (size_t)got : 0;
	s->stack_end = e != NULL ? e->end : sp + s->stack_len;
	return s->stack_len;
}

bool
snapshot_must_not_stop(pid_t pid, const struct task_stat *st,
		       const struct task_syscall *sc)
{
	bool sock = false;

	/* A thread in uninterruptible sleep would not stop until it wakes. */
	if (st->state == 'D')
		return true;
	if (sc->nr < 0)
		return false;
	if (syscall_takes_fd(sc->nr))
		sock = procfs_fd_kind(pid, (int)sc->args[0]) == FD_SOCKET;
	return syscall_eintr_on_stop(sc->nr, sock);
}

static bool
same_syscall(const struct task_syscall *a, const struct task_syscall *b)
{
	return a->nr == b->nr && a->sp == b->sp && a->pc == b->pc &&
	       memcmp(a->args, b->args, sizeof a->args) == 0;
}

/* Copy a blocked thread's stack without stopping it. */
static int
take_nonstop(struct snapshot_maps *m, struct snapshot *s)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		struct task_syscall after;
		struct schedstat sched_after;

		if (s->sc.nr == SYSCALL_RUNNING)
			break;
		copy_stack(m, s, s->sc.sp);
		if (!procfs_task_syscall(s->pid, s->tid, &after) ||
		    !procfs_task_schedstat(s->pid, s->tid, s->sched_fd, &sched_after)) {
			s->error = SNAP_ERR_EXITED;
			return 0;
		}
		if (same_syscall(&s->sc, &after) && sched_after.runtime_ns == s->ask.runtime_ns) {
			s->how = SNAP_NONSTOP;
			s->sp = s->sc.sp;
			s->pc = s->sc.pc;
			return 1;
		}
		/* It ran meanwhile: try again from where it is now. */
		s->sc = after;
		s->ask = sched_after;
	}
	s->error = SNAP_ERR_MOVING;
	return 0;
}

static const char *const error_names[SNAP_ERR_COUNT] = {
	[SNAP_ERR_NONE] = "unknown error",
	[SNAP_ERR_EXITED] = "the thread exited",
	[SNAP_ERR_MOVING] = "the thread kept running while its stack was copied",
	[SNAP_ERR_REGS] = "cannot read the thread's registers",
	[SNAP_ERR_LATE] = "the thread did not stop in time",
};

const char *
snapshot_error_name(enum snapshot_error e)
{
	return (unsigned)e < SNAP_ERR_COUNT ? error_names[e] : error_names[SNAP_ERR_NONE];
}

/* The thread's state, system call and CPU time from /proc, through the
 * caller's open files where it has them; false (with s->error set) when
 * it is gone. A runnable thread is in no call /proc could show. */
static bool
read_state(struct snapshot *s, const struct task_files *tf)
{
	bool ok;

	ok = procfs_task_stat_fd(s->pid, s->tid, tf != NULL ? tf->stat_fd : -1, &s->stat);
	if (ok && s->stat.state == 'R') {
		memset(&s->sc, 0, sizeof s->sc);
		s->sc.nr = SYSCALL_RUNNING;
	} else if (ok) {
		ok = procfs_task_syscall(s->pid, s->tid, &s->sc);
	}
	if (ok)
		ok = procfs_task_schedstat(s->pid, s->tid, s->sched_fd, &s->ask);
	if (!ok || s->stat.state == 'Z' || s->stat.state == 'X') {
		s->error = SNAP_ERR_EXITED;
		return false;
	}
	return true;
}

int
snapshot_begin(struct tracer *t, struct snapshot_maps *m, pid_t tid, const struct task_files *tf,
	       struct snapshot *s)
{
	s->pid = m->pid;
	s->tid = tid;
	s->how = SNAP_NONE;
	s->error = SNAP_ERR_NONE;
	s->stack_len = 0;
	s->held_ns = 0;
	s->stop_latency_ns = 0;
	s->stopped = tracer_thread_stopped(t, tid);
	s->held_sched = false;
	s->left_call = false;
	s->seen_ns = 0;
	s->sched_fd = tf != NULL ? tf->sched_fd : -1;
	/* State first: once the thread is stopped /proc says 't'. */
	if (!read_state(s, tf))
		return 0;
	if (snapshot_must_not_stop(s->pid, &s->stat, &s->sc)) {
		struct task_stat first_stat = s->stat;
		struct task_syscall first_sc = s->sc;

		if (take_nonstop(m, s) == 1)
			return 1;
		/* It kept moving: it left the call. Stop it if that is safe now. */
		if (!read_state(s, tf) || snapshot_must_not_stop(s->pid, &s->stat, &s->sc))
			return 0;
		s->error = SNAP_ERR_NONE;
		s->left_call = true;
		s->call_stat = first_stat;
		s->call_sc = first_sc;
	}
	s->asked_ns = now_ns();
	if (!tracer_interrupt(t, tid)) {
		s->error = SNAP_ERR_EXITED;
		return 0;
	}
	return 2;
}

void
snapshot_finish(struct tracer *t, struct snapshot_maps *m, struct snapshot *s,
		const struct tracer_held *h, unsigned extra_hold_us)
{
	s->stop_latency_ns = h->since_ns > s->asked_ns ? h->since_ns - s->asked_ns : 0;
	s->stopped = h->kind == HOLD_GROUP;
	if (!tracer_get_regs(t, s->tid, &s->regs)) {
		tracer_release(t, s->tid);
		s->error = SNAP_ERR_REGS;
		return;
	}
	s->seen_ns = h->since_ns;
	/* Read while it is held: once let go, its next time on a CPU counts. */
	s->held_sched = procfs_task_schedstat(s->pid, s->tid, s->sched_fd, &s->held);
	s->sp = arch_regs_sp(&s->regs);
	s->pc = arch_regs_pc(&s->regs);
	copy_stack(m, s, s->sp);
	if (extra_hold_us > 0)
		usleep(extra_hold_us);
	tracer_release(t, s->tid);
	s->held_ns = now_ns() - h->since_ns;
	s->how = SNAP_STOPPED;
	/* A stack in a mapping the cache did not know: learn it for next time,
	 * now that the thread runs again. */
	if (procfs_maps_find(&m->maps, s->sp) == NULL)
		procfs_maps_read(m->pid, &m->maps);
}

void
snapshot_late_or_gone(struct tracer *t, struct snapshot *s)
{
	tracer_cancel(t, s->tid);
	s->error = tracer_thread_alive(t, s->tid) ? SNAP_ERR_LATE : SNAP_ERR_EXITED;
}

int
snapshot_take(struct tracer *t, struct snapshot_maps *m, pid_t tid,
	      struct snapshot *s, unsigned extra_hold_us)
{
	return snapshot_take_within(t, m, tid, s, extra_hold_us, HOLD_TIMEOUT_MS);
}

int
snapshot_take_within(struct tracer *t, struct snapshot_maps *m, pid_t tid,
		     struct snapshot *s, unsigned extra_hold_us, int stop_timeout_ms)
{
	uint64_t deadline;
	struct tracer_held h;
	int r = snapshot_begin(t, m, tid, NULL, s);

	if (r != 2)
		return r;
	deadline = s->asked_ns + (uint64_t)stop_timeout_ms * 1000000u;
	while ((r = tracer_next_held(t, deadline, &h)) == 1 && h.tid != tid)
		tracer_release(t, h.tid); /* not asked for here */
	if (r <= 0) {
		snapshot_late_or_gone(t, s);
		return r;
	}
	snapshot_finish(t, m, s, &h, extra_hold_us);
	return s->how == SNAP_STOPPED;
}

bool
snapshot_read(const struct snapshot *s, uint64_t addr, void *buf, size_t len)
{
	struct iovec local, remote;

	if (addr >= s->stack_start && addr < s->stack_end) {
		if (addr - s->stack_start > s->stack_len ||
		    s->stack_len - (addr - s->stack_start) < len)
			return false;
		memcpy(buf, s->stack + (addr - s->stack_start), len);
		return true;
	}
	local.iov_base = buf;
	local.iov_len = len;
	remote.iov_base = (void *)(uintptr_t)addr;
	remote.iov_len = len;
	return process_vm_readv(s->pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}
