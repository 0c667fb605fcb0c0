/* probes.h: kernel uprobes on functions of a traced process, through
 * perf_event_open, and their hits read from ring buffers.
 *
 * A probe is a function of one of the target's modules (found by name in
 * the order the process's dynamic linking searches them, so the definition
 * it really calls) and a kind: entry (its registers and, if asked, a copy
 * of the top of the user stack) or return (registers: the return value).
 * Events are opened per thread: one ring buffer per thread, every probe's
 * event of that thread writing into it. Closing the events removes the
 * breakpoints from the process, and the kernel closes them when siprof
 * dies, however it dies: no probe outlives siprof. (Definitions made in
 * tracefs are taken out by siprof, by its keeper process if siprof is
 * killed, or by the next siprof: one without events has no breakpoint.) Hits are read by
 * siprof's thread that calls probes_read, never on the target's time. */
#ifndef SIPROF_PROBES_H
#define SIPROF_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch.h"

/* Why probes cannot be used (probes_check). */
enum probes_status {
	PROBES_OK,
	PROBES_NOSUPPORT, /* no uprobe PMU in this kernel */
	PROBES_NOPERM,    /* perf_event_open refused: privileges */
	PROBES_NOFUNC,    /* the function is in none of the process's modules */
	PROBES_AMBIGUOUS, /* the name is several functions (C++ overloads) */
	PROBES_ERROR,
};

/* Where a function is: the file (as siprof can open it) and the offset in
 * it of the function's first instruction. */
struct probe_loc {
	char *path;    /* /proc/PID/root/... */
	char *module;  /* the module's path as the process sees it */
	char *name;    /* the function's name */
	uint64_t offset;
	uint64_t addr; /* its address in the process */
};

/* Whether this kernel and siprof's privileges allow uprobes (an event is
 * opened on a function of siprof's own and closed). PROBES_OK, or a
 * status and *cause: what is missing and what to do. */
int probes_check(char **cause);

/* Find func in pid's modules, in the dynamic linker's search order
 * (executable, preloads, libraries as loaded; a static executable's own
 * symbol table). func is a symbol's name, or a C++ or Rust name as the
 * source writes it ("ns::Parser::parse", "parse(char const*)"), matched
 * against the demangled symbols: without parameters it matches every
 * overload. PROBES_OK with *loc filled, PROBES_AMBIGUOUS when one module
 * has several functions of that name, else PROBES_NOFUNC. */
int probes_resolve(pid_t pid, const char *func, struct probe_loc *loc);
void probe_loc_release(struct probe_loc *loc);
/* Whether the symbol sym is the function func names (as probes_resolve
 * matches them). */
bool probes_name_matches(const char *sym, const char *func);

struct probes;

/* A set of probes on the threads of pid; stack_bytes copied per entry hit
 * of a probe that asks for the stack (a multiple of 8), ring_bytes the
 * buffer per thread (a power of two pages). */
struct probes *probes_new(pid_t pid, size_t stack_bytes, size_t ring_bytes);
void probes_free(struct probes *p);
/* Add a probe; its id (0, 1, ...) comes back with each hit. */
unsigned probes_add(struct probes *p, const struct probe_loc *loc, bool ret, bool stack);

/* Define the probes added so far with the kernel, once for the session:
 * in tracefs where it can be written (a window's events then open and
 * close in microseconds), else each event is a probe of the uprobe PMU
 * (a close then waits for the kernel's grace periods). Called by the
 * first probes_open_thread if not before; no probe may be added after. */
void probes_prepare(struct probes *p);
/* Before probes_prepare: never tracefs, the uprobe PMU only. */
void probes_use_pmu(struct probes *p);
/* "tracefs" or "the uprobe PMU", once prepared. */
const char *probes_mechanism(const struct probes *p);

/* Open every probe on thread tid. PROBES_OK, or a status and *cause. A
 * thread that exited meanwhile is not an error (returns PROBES_OK). */
int probes_open_thread(struct probes *p, pid_t tid, char **cause);
/* Open them on every thread of the process not open yet: the threads
 * /proc lists now. Returns how many were opened; -1 on an error (*cause). */
int probes_open_all(struct probes *p, char **cause);
/* A thread of the process was just born (the tracer's clone event, the
 * thread not yet run): while a window is open its events are opened now,
 * from the calling thread, so that none of its calls is missed; the
 * thread that reads takes them in at its next probes_read. Safe to call
 * from a thread other than the reader's. */
void probes_thread_born(struct probes *p, pid_t tid);
/* Threads opened at their birth, since the start. */
uint64_t probes_born(const struct probes *p);
/* Stop every event at once (the breakpoints stay until the close): what
 * the buffers hold is still read. */
void probes_disable_all(struct probes *p);
/* Close every event (slow: a kernel grace period each): the breakpoints leave the process. Hits still in the
 * buffers are lost: read them first. */
void probes_close_all(struct probes *p);
/* Threads with events open. */
size_t probes_threads(const struct probes *p);

/* A hit. regs holds the general registers; stack (NULL when not asked)
 * the copy from sp up. Valid only during the callback. */
struct probe_hit {
	unsigned probe;
	pid_t pid, tid;
	uint64_t time_ns; /* CLOCK_MONOTONIC */
	arch_regs regs;
	const unsigned char *stack;
	size_t stack_len;
};

/* Read every buffer, calling fn for each hit in time order within a
 * thread. Returns the number of hits read. */
size_t probes_read(struct probes *p, void (*fn)(const struct probe_hit *h, void *arg),
		   void *arg);
/* Threads that went without events for a window: the kernel refused a
 * probe for a while (one on the same place was being taken out). */
uint64_t probes_refused(const struct probes *p);
/* Records the kernel dropped (a buffer was full), since the start. */
uint64_t probes_lost(const struct probes *p);

#endif
