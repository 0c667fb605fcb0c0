/* probes.c: uprobes through perf_event_open: each probe defined once in
 * tracefs and its events opened per thread, or, where tracefs cannot be
 * written, through the uprobe PMU (an event per thread and probe). */
#include "config.h"

#include "probes.h"

#include <asm/perf_regs.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <linux/perf_event.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hashmap.h"
#include "names.h"
#include "procfs.h"
#include "util.h"

#define PMU_DIR "/sys/bus/event_source/devices/uprobe"
#define PRUNE_NS 100000000ull

static int pmu_type = -1, retprobe_bit = -1;

/* The uprobe PMU's type and the bit of config that makes a return probe. */
static bool
pmu_read(void)
{
	char buf[64];
	FILE *f;

	if (pmu_type >= 0)
		return true;
	f = fopen(PMU_DIR "/type", "r");
	if (f == NULL)
		return false;
	if (fscanf(f, "%d", &pmu_type) != 1)
		pmu_type = -1;
	fclose(f);
	f = fopen(PMU_DIR "/format/retprobe", "r");
	if (f != NULL) {
		if (fgets(buf, sizeof buf, f) != NULL && strncmp(buf, "config:", 7) == 0)
			retprobe_bit = atoi(buf + 7);
		fclose(f);
	}
	return pmu_type >= 0 && retprobe_bit >= 0;
}

static int
perf_open(struct perf_event_attr *a, pid_t tid)
{
	return (int)syscall(SYS_perf_event_open, a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

/* ---- where a function is ---- */

/* Where the parameter list of a demangled name starts: its first '(' not
 * inside template arguments or a lambda's braces ("{lambda(int)#1}"),
 * after the name ("operator()" is a name). strlen(d) when it has none. */
static size_t
params_at(const char *d)
{
	int depth = 0;

	for (size_t i = 0; d[i] != '\0'; i++) {
		if (d[i] == '<' || d[i] == '{')
			depth++;
		else if ((d[i] == '>' || d[i] == '}') && depth > 0)
			depth--;
		else if (d[i] == '(' && depth == 0) {
			if (i >= 8 && strncmp(d + i - 8, "operator", 8) == 0 && d[i + 1] == ')') {
				i++;
				continue;
			}
			return i;
		}
	}
	return strlen(d);
}

/* Where the name starts in the first n bytes of a demangled name: after
 * a template function's return type ("void f<int>(int)"), the last space
 * outside template arguments and braces. */
static size_t
name_at(const char *d, size_t n)
{
	size_t at = 0;
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		if (d[i] == '<' || d[i] == '{')
			depth++;
		else if ((d[i] == '>' || d[i] == '}') && depth > 0)
			depth--;
		else if (d[i] == ' ' && depth == 0 &&
			 !(i >= 8 && strncmp(d + i - 8, "operator", 8) == 0))
			at = i + 1;
	}
	return at;
}

bool
probes_name_matches(const char *sym, const char *func)
{
	char *d;
	size_t p, at, fp = params_at(func);
	bool ok;

	if (strcmp(sym, func) == 0)
		return true;
	/* A mangled C++ or Rust symbol, against a name as the source writes
	 * it: with its parameters (one overload) or without (any). */
	if (sym[0] != '_' || (sym[1] != 'Z' && sym[1] != 'R'))
		return false;
	if ((d = names_demangle(sym)) == NULL)
		return false;
	p = params_at(d);
	at = name_at(d, p);
	if (fp < strlen(func)) /* with parameters: all of it */
		ok = strcmp(d + at, func) == 0;
	else
		ok = p - at == strlen(func) && strncmp(d + at, func, p - at) == 0;
	free(d);
	return ok;
}

/* The file offset of the symbol func defined in file path (dynsym, and
 * symtab when dynamic is false), or 0 when it does not define it. Several
 * functions that match func (overloads, named without parameters): 0 and
 * *ambiguous set. */
static uint64_t
elf_find(const char *path, const char *func, bool dynamic, bool demangled, uint64_t *vaddr,
	 bool *ambiguous)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *e;
	Elf_Scn *scn = NULL;
	uint64_t value = 0, off = 0;
	size_t nph;

	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (e == NULL) {
		close(fd);
		return 0;
	}
	/* demangled: func is matched against the demangled symbols, every
	 * one of them (a second function of that name is an ambiguity);
	 * otherwise compared with the symbols as they are. */
	bool source_name = demangled;

	while ((scn = elf_nextscn(e, scn)) != NULL && !(value != 0 && !source_name)) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (gelf_getshdr(scn, &sh) == NULL ||
		    !(sh.sh_type == SHT_DYNSYM || (!dynamic && sh.sh_type == SHT_SYMTAB)))
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d != NULL && sh.sh_entsize > 0 && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;

			if (gelf_getsym(d, (int)i, &s) == NULL || s.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_value == 0)
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (name == NULL || !(source_name ? probes_name_matches(name, func)
							  : strcmp(name, func) == 0))
				continue;
			if (value != 0 && s.st_value != value) {
				*ambiguous = true;
				value = 0;
				goto out;
			}
			value = s.st_value;
			if (!source_name)
				break;
		}
	}
	if (value != 0 && elf_getphdrnum(e, &nph) == 0) {
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, (int)i, &ph) != NULL && ph.p_type == PT_LOAD &&
			    value >= ph.p_vaddr && value < ph.p_vaddr + ph.p_memsz) {
				off = value - ph.p_vaddr + ph.p_offset;
				*vaddr = value;
				break;
			}
		}
	}
out:
	elf_end(e);
	close(fd);
	return off;
}

/* The modules in the dynamic linker's order: from r_debug's link map,
 * found through the executable's DT_DEBUG. Returns the number found (0:
 * none, a static executable or before the dynamic linker set it up). */
struct module_ref {
	char path[PATH_MAX];
};

/* A string of the target's, up to n - 1 bytes: read a page at a time, so
 * that one ending near the end of a mapping reads too. */
static void
read_string(pid_t pid, uint64_t addr, char *buf, size_t n)
{
	size_t got = 0;

	while (got + 1 < n) {
		size_t chunk = 4096 - ((addr + got) & 4095);

		if (chunk > n - 1 - got)
			chunk = n - 1 - got;
		if (!procfs_read_memory(pid, addr + got, buf + got, chunk))
			break;
		got += chunk;
		if (memchr(buf + got - chunk, '\0', chunk) != NULL)
			return;
	}
	buf[got] = '\0';
}

static size_t
link_map_order(pid_t pid, const char *exe, const struct maps *m, struct module_ref *out,
	       size_t max)
{
	uint64_t base = 0, dyn_vaddr = 0, r_debug = 0, lm = 0;
	size_t n = 0;
	int fd;
	Elf *e;
	size_t nph;
	bool pie = false;

	fd = procfs_exe_open(pid);
	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (e != NULL && elf_getphdrnum(e, &nph) == 0) {
		GElf_Ehdr eh;

		pie = gelf_getehdr(e, &eh) != NULL && eh.e_type == ET_DYN;
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, (int)i, &ph) != NULL && ph.p_type == PT_DYNAMIC)
				dyn_vaddr = ph.p_vaddr;
		}
	}
	if (e != NULL)
		elf_end(e);
	close(fd);
	/* The load bias of a PIE executable: where its first mapping is. */
	for (size_t i = 0; pie && i < m->n; i++)
		if (strcmp(m->entries[i].path, exe) == 0) {
			base = m->entries[i].start - m->entries[i].offset;
			break;
		}
	if (dyn_vaddr == 0)
		return 0;
	for (uint64_t a = base + dyn_vaddr;; a += sizeof(Elf64_Dyn)) {
		Elf64_Dyn d;

		if (!procfs_read_memory(pid, a, &d, sizeof d) || d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_DEBUG) {
			r_debug = d.d_un.d_ptr;
			break;
		}
	}
	if (r_debug == 0 || !procfs_read_memory(pid, r_debug + offsetof(struct r_debug, r_map), &lm, sizeof lm))
		return 0;
	for (unsigned guard = 0; lm != 0 && n < max && guard < 4096; guard++) {
		struct link_map l;
		char name[PATH_MAX];

		if (!procfs_read_memory(pid, lm, &l, sizeof l))
			break;
		name[0] = '\0';
		if (l.l_name != NULL)
			read_string(pid, (uint64_t)(uintptr_t)l.l_name, name, sizeof name);
		/* The first entry, named "", is the executable. */
		if (n == 0 && name[0] == '\0')
			snprintf(out[n++].path, sizeof out->path, "%s", exe);
		else if (name[0] == '/')
			snprintf(out[n++].path, sizeof out->path, "%s", name);
		lm = (uint64_t)(uintptr_t)l.l_next;
	}
	return n;
}

int
probes_resolve(pid_t pid, const char *func, struct probe_loc *loc)
{
	struct maps m = { 0 };
	struct module_ref *mods = xcalloc(512, sizeof *mods);
	char *exe;
	size_t n;
	int rc = PROBES_NOFUNC;
	bool ambiguous = false;

	memset(loc, 0, sizeof *loc);
	if (!procfs_maps_read(pid, &m)) {
		free(mods);
		return PROBES_ERROR;
	}
	exe = procfs_exe(pid);
	n = exe != NULL ? link_map_order(pid, exe, &m, mods, 512) : 0;
	if (n == 0) {
		/* A static executable (or one the dynamic linker has not set
		 * up yet): its own symbol table, then the files mapped. */
		if (exe != NULL)
			snprintf(mods[n++].path, sizeof mods->path, "%s", exe);
		for (size_t i = 0; i < m.n && n < 512; i++) {
			bool seen = false;

			if (m.entries[i].path[0] != '/')
				continue;
			for (size_t k = 0; k < n && !seen; k++)
				seen = strcmp(mods[k].path, m.entries[i].path) == 0;
			if (!seen)
				snprintf(mods[n++].path, sizeof mods->path, "%s", m.entries[i].path);
		}
	}
	free(exe);
	/* The symbols as they are first, in every module (a C name costs no
	 * demangling), then a C++ or Rust name as the source writes it
	 * against the demangled symbols. */
	for (size_t k = 0; k < 2 * n && rc == PROBES_NOFUNC; k++) {
		char path[PATH_MAX + 32];
		uint64_t vaddr = 0, off;
		size_t i = k % n;

		snprintf(path, sizeof path, "/proc/%d/root%s", (int)pid, mods[i].path);
		off = elf_find(path, func, i > 0, k >= n, &vaddr, &ambiguous);
		if (ambiguous) {
			rc = PROBES_AMBIGUOUS;
			break;
		}
		if (off == 0)
			continue;
		loc->path = xstrdup(path);
		loc->module = xstrdup(mods[i].path);
		loc->name = xstrdup(func);
		loc->offset = off;
		/* Its address: the mapping of that file at that offset. */
		for (size_t e = 0; e < m.n; e++) {
			const struct map_entry *me = &m.entries[e];

			if (strcmp(me->path, mods[i].path) == 0 && off >= me->offset &&
			    off < me->offset + (me->end - me->start)) {
				loc->addr = me->start + (off - me->offset);
				break;
			}
		}
		rc = PROBES_OK;
	}
	procfs_maps_release(&m);
	free(mods);
	return rc;
}

void
probe_loc_release(struct probe_loc *loc)
{
	free(loc->path);
	free(loc->module);
	free(loc->name);
	memset(loc, 0, sizeof *loc);
}

/* ---- events ---- */

/* The registers a hit brings: every general register for an entry hit
 * that is unwound, those of arguments and return value for the others. */
#define REGS_ALL                                                                          \
	((1ull << PERF_REG_X86_AX) | (1ull << PERF_REG_X86_BX) | (1ull << PERF_REG_X86_CX) | \
	 (1ull << PERF_REG_X86_DX) | (1ull << PERF_REG_X86_SI) | (1ull << PERF_REG_X86_DI) | \
	 (1ull << PERF_REG_X86_BP) | (1ull << PERF_REG_X86_SP) | (1ull << PERF_REG_X86_IP) | \
	 (0xffull << PERF_REG_X86_R8))

struct probe_def {
	struct probe_loc loc;
	bool ret, stack;
	uint64_t tp_id; /* its tracefs event (tracefs mode) */
	int keep_fd;    /* the keeper's event on it, -1: none */
};

struct probe_thread {
	pid_t tid;
	int *fds;            /* one per probe; fds[0] owns the buffer */
	uint64_t *ids;       /* the kernel's id of each event */
	void *ring;
	size_t ring_len;     /* data part */
	unsigned char *scratch; /* a record that wraps */
};

struct probes {
	pid_t pid;
	size_t stack_bytes, ring_bytes;
	struct probe_def *defs;
	size_t n_defs, cap_defs;
	size_t *order; /* defs in opening order: return probes first */
	struct probe_thread *threads;
	size_t n_threads, cap_threads;
	struct hashmap ids; /* event id -> probe + 1 */
	uint64_t lost;
	uint64_t refused; /* threads left without events for a window */
	/* Probes defined in tracefs (see tracefs_setup). */
	bool setup_done, tracefs, pmu_only;
	char tdir[32];
	char group[48];
	size_t n_defined;
	pid_t keeper;
	int keeper_w; /* the keeper's pipe, -1: none */
	/* Threads born while a window is open get their events from the
	 * tracer's thread (probes_thread_born) and wait in pending for the
	 * reader's thread to take them into threads. lock guards these. */
	pthread_mutex_t lock;
	bool window_open;
	struct hashmap claimed; /* tid -> 1: open, pending or being opened */
	struct probe_thread *pending;
	size_t n_pending, cap_pending;
	uint64_t born; /* threads opened at their birth */
	uint64_t next_prune; /* when probes_read next looks for threads gone */
};

static void tracefs_teardown(struct probes *p);

struct probes *
probes_new(pid_t pid, size_t stack_bytes, size_t ring_bytes)
{
	struct probes *p = xcalloc(1, sizeof *p);
	long page = sysconf(_SC_PAGESIZE);

	p->pid = pid;
	p->keeper = -1;
	p->keeper_w = -1;
	p->stack_bytes = stack_bytes & ~(size_t)7;
	p->ring_bytes = (size_t)page;
	while (p->ring_bytes < ring_bytes)
		p->ring_bytes *= 2;
	hashmap_init(&p->ids);
	hashmap_init(&p->claimed);
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void
probes_free(struct probes *p)
{
	if (p == NULL)
		return;
	probes_close_all(p);
	tracefs_teardown(p);
	for (size_t i = 0; i < p->n_defs; i++)
		probe_loc_release(&p->defs[i].loc);
	free(p->defs);
	free(p->order);
	free(p->threads);
	free(p->pending);
	hashmap_release(&p->ids);
	hashmap_release(&p->claimed);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Where an entry probe costs least. A breakpoint's instruction is either
 * emulated by the kernel (push of a register, a jump or call) or copied
 * out and single-stepped, a second trap: on this VM a probe on glibc's
 * free, which begins with "test %rdi,%rdi; je", cost 13.7 us a call at
 * the test and 1.5 us at the je; malloc, which begins with a push, 1.5 us.
 * So an entry probe goes past a first instruction that only sets flags
 * (test of a register with itself) or is endbr64, when the next is one
 * the kernel emulates: the registers and the stack there are those of the
 * entry. Anything else stays at the function's first byte. */
static bool
emulated_insn(const unsigned char *b, size_t n)
{
	if (n >= 1 && (b[0] == 0xe8 || b[0] == 0xe9 || b[0] == 0xeb || (b[0] >= 0x70 && b[0] <= 0x7f) ||
		       (b[0] >= 0x50 && b[0] <= 0x57)))
		return true; /* call, jmp, jcc rel8, push reg */
	if (n >= 2 && b[0] == 0x0f && b[1] >= 0x80 && b[1] <= 0x8f)
		return true; /* jcc rel32 */
	return n >= 2 && b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57; /* push r8-r15 */
}

static size_t
flags_only_insn(const unsigned char *b, size_t n)
{
	if (n >= 4 && b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
		return 4; /* endbr64 */
	/* test r64, r64 / test r32, r32, the same register twice */
	if (n >= 3 && (b[0] & 0xf0) == 0x40 && (b[0] & 0x08) && b[1] == 0x85 && b[2] >= 0xc0 &&
	    ((b[2] >> 3) & 7) == (b[2] & 7) && ((b[0] >> 2) & 1) == (b[0] & 1))
		return 3;
	if (n >= 2 && b[0] == 0x85 && b[1] >= 0xc0 && ((b[1] >> 3) & 7) == (b[1] & 7))
		return 2;
	return 0;
}

static uint64_t
entry_offset(const char *path, uint64_t offset)
{
	unsigned char b[16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t skip;

	if (fd < 0)
		return offset;
	n = pread(fd, b, sizeof b, (off_t)offset);
	close(fd);
	if (n <= 0 || emulated_insn(b, (size_t)n))
		return offset;
	skip = flags_only_insn(b, (size_t)n);
	if (skip > 0 && emulated_insn(b + skip, (size_t)n - skip))
		return offset + skip;
	return offset;
}

unsigned
probes_add(struct probes *p, const struct probe_loc *loc, bool ret, bool stack)
{
	struct probe_def *d;

	GROW(p->defs, p->cap_defs, p->n_defs + 1);
	d = &p->defs[p->n_defs];
	d->loc.path = xstrdup(loc->path);
	d->loc.module = xstrdup(loc->module);
	d->loc.name = xstrdup(loc->name != NULL ? loc->name : "a function");
	/* A return probe's breakpoint is on the entry too, but the kernel
	 * takes the return address there: it stays on the first byte. */
	d->loc.offset = ret ? loc->offset : entry_offset(loc->path, loc->offset);
	d->loc.addr = loc->addr;
	d->ret = ret;
	d->stack = stack && !ret;
	d->tp_id = 0;
	d->keep_fd = -1;
	p->order = xreallocarray(p->order, p->n_defs + 1, sizeof *p->order);
	{
		size_t at = 0;

		while (at < p->n_defs && p->defs[p->order[at]].ret)
			at++;
		if (!ret)
			at = p->n_defs;
		memmove(p->order + at + 1, p->order + at, (p->n_defs - at) * sizeof *p->order);
		p->order[at] = p->n_defs;
	}
	return (unsigned)p->n_defs++;
}

static void
attr_of(const struct probes *p, const struct probe_def *d, struct perf_event_attr *a)
{
	memset(a, 0, sizeof *a);
	a->size = sizeof *a;
	if (p->tracefs) {
		a->type = PERF_TYPE_TRACEPOINT;
		a->config = d->tp_id;
	} else {
		a->type = (uint32_t)pmu_type;
		a->config = d->ret ? 1ull << retprobe_bit : 0;
		a->config1 = (uint64_t)(uintptr_t)d->loc.path;
		a->config2 = d->loc.offset;
	}
	a->sample_period = 1;
	a->sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			 PERF_SAMPLE_REGS_USER | (d->stack ? PERF_SAMPLE_STACK_USER : 0);
	a->sample_regs_user = REGS_ALL;
	a->sample_stack_user = d->stack ? (uint32_t)p->stack_bytes : 0;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	/* Read on siprof's clock, never woken for: a wake-up a hit would
	 * cost the target an interrupt. */
	a->watermark = 1;
	a->wakeup_watermark = (uint32_t)(p->ring_bytes - p->ring_bytes / 4);
}

static const char *
open_error(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return "uprobe events need CAP_SYS_ADMIN (run siprof as root)";
	case ENOENT:
	case ENODEV:
	case EOPNOTSUPP:
		return "this kernel has no uprobe events (CONFIG_UPROBE_EVENTS)";
	default:
		return strerror(err);
	}
}

int
probes_check(char **cause)
{
	struct probe_loc loc = { 0 };
	struct probes *p;
	int fd, rc = PROBES_OK;

	if (!pmu_read()) {
		*cause = xasprintf("this kernel has no uprobe events (%s missing; a kernel with "
				   "CONFIG_UPROBE_EVENTS is needed)", PMU_DIR);
		return PROBES_NOSUPPORT;
	}
	/* An entry probe on one of siprof's own functions, on siprof itself. */
	if (probes_resolve(getpid(), "probes_check", &loc) != PROBES_OK) {
		*cause = xstrdup("cannot find siprof's own code to try a probe on");
		return PROBES_ERROR;
	}
	p = probes_new(getpid(), 0, 4096);
	probes_add(p, &loc, false, false);
	{
		struct perf_event_attr a;

		attr_of(p, &p->defs[0], &a);
		fd = perf_open(&a, 0);
	}
	if (fd < 0) {
		int err = errno;

		*cause = xasprintf("cannot open a uprobe event: %s", open_error(err));
		rc = err == EACCES || err == EPERM ? PROBES_NOPERM
		     : err == ENOENT || err == ENODEV || err == EOPNOTSUPP ? PROBES_NOSUPPORT
									   : PROBES_ERROR;
	} else {
		close(fd);
	}
	probes_free(p);
	probe_loc_release(&loc);
	return rc;
}

static void
thread_close(struct probes *p, struct probe_thread *t)
{
	if (t->ring != NULL)
		munmap(t->ring, t->ring_len + (size_t)sysconf(_SC_PAGESIZE));
	/* The buffer's owner last: the others write into it. */
	for (size_t j = p->n_defs; t->fds != NULL && j-- > 0;)
		if (t->fds[p->order[j]] >= 0)
			close(t->fds[p->order[j]]);
	free(t->fds);
	free(t->ids);
	free(t->scratch);
	memset(t, 0, sizeof *t);
}

/* Take the threads opened at their birth into the table the reader
 * uses, their events' ids into the map of ids (the reader's thread). */
static void
adopt_pending(struct probes *p)
{
	pthread_mutex_lock(&p->lock);
	for (size_t k = 0; k < p->n_pending; k++) {
		struct probe_thread *t = &p->pending[k];

		for (size_t i = 0; i < p->n_defs; i++)
			if (t->fds[i] >= 0)
				hashmap_put(&p->ids, t->ids[i], (void *)(uintptr_t)(i + 1));
		GROW(p->threads, p->cap_threads, p->n_threads + 1);
		p->threads[p->n_threads++] = *t;
	}
	p->n_pending = 0;
	pthread_mutex_unlock(&p->lock);
}

/* Claim tid for opening (false: it is open or being opened already). */
static bool
claim(struct probes *p, pid_t tid)
{
	bool ok;

	pthread_mutex_lock(&p->lock);
	ok = hashmap_get(&p->claimed, (uint64_t)tid) == NULL;
	if (ok)
		hashmap_put(&p->claimed, (uint64_t)tid, (void *)1);
	pthread_mutex_unlock(&p->lock);
	return ok;
}

static void
unclaim(struct probes *p, pid_t tid)
{
	pthread_mutex_lock(&p->lock);
	hashmap_remove(&p->claimed, (uint64_t)tid);
	pthread_mutex_unlock(&p->lock);
}

/* ---- probes defined in tracefs ----
 *
 * An event opened through the uprobe PMU is a probe of its own: closing
 * it unregisters that probe and waits for the kernel's grace periods,
 * about 85 ms here, one close at a time (event_mutex), and its
 * breakpoint traps until the last of the threads' events on that place
 * is closed. A window's end on 4 threads and 13 probes took seconds.
 *
 * A probe defined in tracefs (uprobe_events) is registered once, while
 * any event is open on it, and the events of the threads only add their
 * thread to its filter: closing one takes its breakpoint out of the
 * process at once when no other thread of the process wants it, with no
 * grace period. So that no window's end unregisters anything, one more
 * event on each probe, never enabled, is held for the whole session on
 * a process that never runs the probed code: the keeper, a child of
 * siprof's asleep in read(). It also takes the definitions out of
 * tracefs if siprof dies without doing it (it sees its pipe close);
 * a definition with no event open has no breakpoint anywhere, and one
 * left by a siprof killed with its keeper is removed by the next siprof
 * (tracefs_clean_stale). */

static bool
tracefs_find(char *dir, size_t n)
{
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char path[96];

		snprintf(path, sizeof path, "%s/uprobe_events", dirs[i]);
		if (access(path, W_OK) == 0) {
			snprintf(dir, n, "%s", dirs[i]);
			return true;
		}
	}
	return false;
}

/* Append one command to uprobe_events (never O_TRUNC: that would remove
 * every uprobe of the system). Only system calls: the keeper calls it. */
static bool
tracefs_command(const char *dir, const char *cmd)
{
	char path[96];
	size_t dl = strlen(dir), cl = strlen(cmd);
	int fd;
	bool ok;

	if (dl + sizeof "/uprobe_events" > sizeof path)
		return false;
	memcpy(path, dir, dl);
	memcpy(path + dl, "/uprobe_events", sizeof "/uprobe_events");
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = write(fd, cmd, cl) == (ssize_t)cl;
	if (!ok) {
		int err = errno;

		close(fd);
		errno = err;
		return false;
	}
	close(fd);
	return true;
}

/* "-:GROUP/eN\n" into buf, with no library call that is not
 * async-signal-safe (the keeper builds it after a fork). */
static void
delete_command(char *buf, size_t n, const char *group, size_t i)
{
	char digits[24];
	size_t nd = 0, at = 0, gl = strlen(group);

	do {
		digits[nd++] = (char)('0' + i % 10);
		i /= 10;
	} while (i > 0);
	if (gl + nd + 6 > n) {
		buf[0] = '\0';
		return;
	}
	buf[at++] = '-';
	buf[at++] = ':';
	memcpy(buf + at, group, gl);
	at += gl;
	buf[at++] = '/';
	buf[at++] = 'e';
	while (nd > 0)
		buf[at++] = digits[--nd];
	buf[at++] = '\n';
	buf[at] = '\0';
}

/* Take the group's definitions e0..e(n-1) out; a busy one (its events
 * not closed yet) is tried again, for up to a minute. */
static void
tracefs_delete(const char *dir, const char *group, size_t n, bool wait)
{
	for (int round = 0; round < 600; round++) {
		bool busy = false;

		for (size_t i = 0; i < n; i++) {
			char cmd[96];

			delete_command(cmd, sizeof cmd, group, i);
			if (!tracefs_command(dir, cmd) && errno == EBUSY)
				busy = true;
		}
		if (!busy || !wait)
			return;
		{
			struct timespec ts = { 0, 100000000 };

			nanosleep(&ts, NULL);
		}
	}
}

/* Definitions of groups siprof_PID_N whose siprof is gone. */
static void
tracefs_clean_stale(const char *dir)
{
	char path[96], line[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/uprobe_events", dir);
	f = fopen(path, "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		char group[64], event[64], comm[32] = "", cmd[160];
		int pid;

		if (sscanf(line, "%*c:%63[^/]/%63s", group, event) != 2 ||
		    sscanf(group, "siprof_%d_", &pid) != 1 || pid <= 0)
			continue;
		if (pid != getpid()) {
			snprintf(path, sizeof path, "/proc/%d/comm", pid);
			FILE *c = fopen(path, "re");

			if (c != NULL) {
				if (fgets(comm, sizeof comm, c) == NULL)
					comm[0] = '\0';
				fclose(c);
			}
			if (strncmp(comm, "siprof", 6) == 0)
				continue; /* a siprof that runs */
		}
		snprintf(cmd, sizeof cmd, "-:%s/%s\n", group, event);
		(void)!tracefs_command(dir, cmd);
	}
	fclose(f);
}

/* The keeper: asleep until siprof says 'q' or its pipe closes (siprof
 * is gone: then it takes the definitions out). After a fork of a process
 * with threads, so only async-signal-safe calls. */
static _Noreturn void
keeper_main(int rfd, const char *dir, const char *group, size_t n)
{
	char c = 0;
	ssize_t r;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* Ctrl-C and the like reach the whole process group: siprof ends
	 * the keeper itself, once the definitions are out. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "siprof-keeper", 0, 0, 0);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	/* Nothing of siprof's held open (a pipe's end would keep its reader
	 * waiting). */
	for (int fd = 3; fd < 1024; fd++)
		if (fd != rfd)
			close(fd);
	do
		r = read(rfd, &c, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1 || c != 'q')
		tracefs_delete(dir, group, n, true);
	_exit(0);
}

static void
tracefs_teardown(struct probes *p)
{
	if (!p->tracefs)
		return;
	/* Each of these unregisters its probe: a grace period each. */
	for (size_t i = 0; i < p->n_defs; i++)
		if (p->defs[i].keep_fd >= 0) {
			close(p->defs[i].keep_fd);
			p->defs[i].keep_fd = -1;
		}
	tracefs_delete(p->tdir, p->group, p->n_defined, false);
	if (p->keeper_w >= 0) {
		(void)!write(p->keeper_w, "q", 1);
		close(p->keeper_w);
		p->keeper_w = -1;
	}
	if (p->keeper > 0)
		waitpid(p->keeper, NULL, 0); /* ECHILD if the tracer reaped it */
	p->keeper = -1;
	p->tracefs = false;
}

/* Define every probe in tracefs and start the keeper; false (nothing
 * left behind) where tracefs cannot be written, and the uprobe PMU is
 * used. */
static bool
tracefs_setup(struct probes *p)
{
	static unsigned seq;
	int pfd[2];
	pid_t child;

	if (!tracefs_find(p->tdir, sizeof p->tdir))
		return false;
	tracefs_clean_stale(p->tdir);
	snprintf(p->group, sizeof p->group, "siprof_%d_%u", (int)getpid(),
		 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	for (size_t i = 0; i < p->n_defs; i++) {
		struct probe_def *d = &p->defs[i];
		char cmd[PATH_MAX + 128], path[PATH_MAX + 96];
		FILE *f;
		unsigned long long id = 0;

		/* The command is split on white space. */
		if (strpbrk(d->loc.path, " \t\n") != NULL)
			goto fail;
		snprintf(cmd, sizeof cmd, "%c:%s/e%zu %s:0x%llx\n", d->ret ? 'r' : 'p', p->group, i,
			 d->loc.path, (unsigned long long)d->loc.offset);
		if (!tracefs_command(p->tdir, cmd))
			goto fail;
		p->n_defined = i + 1;
		snprintf(path, sizeof path, "%s/events/%s/e%zu/id", p->tdir, p->group, i);
		f = fopen(path, "re");
		if (f == NULL)
			goto fail;
		if (fscanf(f, "%llu", &id) != 1)
			id = 0;
		fclose(f);
		if (id == 0)
			goto fail;
		d->tp_id = id;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0)
		goto fail;
	child = fork();
	if (child < 0) {
		close(pfd[0]);
		close(pfd[1]);
		goto fail;
	}
	if (child == 0)
		keeper_main(pfd[0], p->tdir, p->group, p->n_defined);
	close(pfd[0]);
	p->keeper = child;
	p->keeper_w = pfd[1];
	p->tracefs = true;
	for (size_t i = 0; i < p->n_defs; i++) {
		struct perf_event_attr a;

		memset(&a, 0, sizeof a);
		a.size = sizeof a;
		a.type = PERF_TYPE_TRACEPOINT;
		a.config = p->defs[i].tp_id;
		a.disabled = 1;
		p->defs[i].keep_fd = perf_open(&a, child);
		if (p->defs[i].keep_fd < 0)
			goto fail;
	}
	return true;
fail:
	if (p->tracefs) {
		tracefs_teardown(p);
	} else {
		tracefs_delete(p->tdir, p->group, p->n_defined, false);
	}
	for (size_t i = 0; i < p->n_defs; i++)
		p->defs[i].tp_id = 0;
	p->n_defined = 0;
	return false;
}

void
probes_use_pmu(struct probes *p)
{
	p->pmu_only = true;
}

void
probes_prepare(struct probes *p)
{
	if (p->setup_done)
		return;
	p->setup_done = true;
	if (!p->pmu_only)
		tracefs_setup(p);
}

const char *
probes_mechanism(const struct probes *p)
{
	return p->tracefs ? "tracefs" : "the uprobe PMU";
}

/* Every probe's event on thread tid, into *t (not into the table).
 * retry: wait out the kernel's refusal of a probe on a place whose last
 * probe is being taken out (the reader's thread; the tracer's may not
 * wait). PROBES_OK with t->fds NULL when the thread exited or was refused. */
static int
thread_open(struct probes *p, pid_t tid, bool retry, struct probe_thread *out, char **cause)
{
	struct probe_thread t = { .tid = tid };
	long page = sysconf(_SC_PAGESIZE);

	memset(out, 0, sizeof *out);
	t.fds = xmalloc(p->n_defs * sizeof *t.fds);
	t.ids = xcalloc(p->n_defs, sizeof *t.ids);
	for (size_t i = 0; i < p->n_defs; i++)
		t.fds[i] = -1;
	/* Return probes first: an entry seen has its return seen too. */
	for (size_t j = 0; j < p->n_defs; j++) {
		size_t i = p->order[j];
		struct perf_event_attr a;

		attr_of(p, &p->defs[i], &a);
		t.fds[i] = perf_open(&a, tid);
		/* The kernel refuses a probe for a moment while one on the
		 * same place is being taken out (the last window's). */
		for (int tries = 0; retry && t.fds[i] < 0 && (errno == EINVAL || errno == EAGAIN) &&
				    tries < 10;
		     tries++) {
			usleep(10000);
			t.fds[i] = perf_open(&a, tid);
		}
		if (t.fds[i] < 0) {
			int err = errno;

			thread_close(p, &t);
			if (err == ESRCH)
				return PROBES_OK; /* it exited */
			if (err == EINVAL || err == EAGAIN) {
				/* Still refused while the kernel takes out an earlier
				 * probe on that place: this thread goes without
				 * events until the next window. */
				pthread_mutex_lock(&p->lock);
				p->refused++;
				pthread_mutex_unlock(&p->lock);
				return PROBES_OK;
			}
			*cause = xasprintf("cannot probe %s%s in %s (thread %d): %s",
					   p->defs[i].loc.name, p->defs[i].ret ? "'s return" : "",
					   p->defs[i].loc.module, (int)tid, open_error(err));
			return err == EACCES || err == EPERM ? PROBES_NOPERM : PROBES_ERROR;
		}
		if (j == 0) {
			t.ring_len = p->ring_bytes;
			t.ring = mmap(NULL, t.ring_len + (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED,
				      t.fds[i], 0);
			if (t.ring == MAP_FAILED) {
				int err = errno;

				t.ring = NULL;
				thread_close(p, &t);
				*cause = xasprintf("cannot map a probe buffer: %s", strerror(err));
				return PROBES_ERROR;
			}
		} else if (ioctl(t.fds[i], PERF_EVENT_IOC_SET_OUTPUT, t.fds[p->order[0]]) != 0) {
			int err = errno;

			thread_close(p, &t);
			*cause = xasprintf("cannot share a probe buffer: %s", strerror(err));
			return PROBES_ERROR;
		}
		if (ioctl(t.fds[i], PERF_EVENT_IOC_ID, &t.ids[i]) != 0)
			t.ids[i] = 0;
	}
	t.scratch = xmalloc(65536 + 4096);
	*out = t;
	return PROBES_OK;
}

int
probes_open_thread(struct probes *p, pid_t tid, char **cause)
{
	struct probe_thread t;
	int rc;

	probes_prepare(p);
	if (!p->tracefs && !pmu_read()) {
		*cause = xstrdup("this kernel has no uprobe events");
		return PROBES_NOSUPPORT;
	}
	adopt_pending(p);
	if (!claim(p, tid))
		return PROBES_OK;
	rc = thread_open(p, tid, true, &t, cause);
	if (t.fds == NULL) {
		unclaim(p, tid);
		return rc;
	}
	for (size_t i = 0; i < p->n_defs; i++)
		if (t.fds[i] >= 0)
			hashmap_put(&p->ids, t.ids[i], (void *)(uintptr_t)(i + 1));
	GROW(p->threads, p->cap_threads, p->n_threads + 1);
	p->threads[p->n_threads++] = t;
	return PROBES_OK;
}

void
probes_thread_born(struct probes *p, pid_t tid)
{
	struct probe_thread t;
	char *cause = NULL;
	bool open;

	pthread_mutex_lock(&p->lock);
	open = p->window_open && p->setup_done;
	pthread_mutex_unlock(&p->lock);
	if (!open || !claim(p, tid))
		return;
	/* An error here (the thread gone) leaves it to the next scan. */
	thread_open(p, tid, false, &t, &cause);
	free(cause);
	pthread_mutex_lock(&p->lock);
	if (t.fds != NULL && p->window_open) {
		GROW(p->pending, p->cap_pending, p->n_pending + 1);
		p->pending[p->n_pending++] = t;
		p->born++;
		pthread_mutex_unlock(&p->lock);
		return;
	}
	/* Not opened, or the window closed meanwhile. */
	hashmap_remove(&p->claimed, (uint64_t)tid);
	pthread_mutex_unlock(&p->lock);
	if (t.fds != NULL)
		thread_close(p, &t);
}

uint64_t
probes_born(const struct probes *p)
{
	uint64_t n;

	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	n = p->born;
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return n;
}

int
probes_open_all(struct probes *p, char **cause)
{
	pid_t *tids = NULL;
	size_t n = 0;
	int opened = 0;

	/* From now on the tracer opens the events of threads born. */
	pthread_mutex_lock(&p->lock);
	p->window_open = true;
	pthread_mutex_unlock(&p->lock);
	if (!procfs_tasks(p->pid, &tids, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		size_t before = p->n_threads;
		int rc = probes_open_thread(p, tids[i], cause);

		if (rc != PROBES_OK) {
			free(tids);
			return -1;
		}
		opened += p->n_threads > before;
	}
	free(tids);
	return opened;
}

void
probes_disable_all(struct probes *p)
{
	adopt_pending(p);
	/* Entries first, in the reverse of the opening order. */
	for (size_t i = 0; i < p->n_threads; i++)
		for (size_t j = p->n_defs; p->threads[i].fds != NULL && j-- > 0;)
			if (p->threads[i].fds[p->order[j]] >= 0)
				ioctl(p->threads[i].fds[p->order[j]], PERF_EVENT_IOC_DISABLE, 0);
}

/* Closing a uprobe event waits for the kernel's grace periods, one event
 * at a time (about 85 ms each on this kind of VM): a window's events are
 * disabled first, so that what it saw ends at once, and closed after. */
void
probes_close_all(struct probes *p)
{
	/* No thread born from now on gets events; those that did are taken
	 * in, to be closed with the others. */
	pthread_mutex_lock(&p->lock);
	p->window_open = false;
	pthread_mutex_unlock(&p->lock);
	probes_disable_all(p);
	/* A breakpoint leaves the process as the last event on it closes,
	 * and the events close one at a time: the probes in the order they
	 * were added (the busiest first), each on every thread, so that the
	 * busiest stop trapping first; each buffer's owner last. */
	for (size_t k = 0; k < p->n_defs; k++) {
		for (size_t i = 0; i < p->n_threads; i++) {
			struct probe_thread *t = &p->threads[i];

			if (t->fds != NULL && k != p->order[0] && t->fds[k] >= 0) {
				close(t->fds[k]);
				t->fds[k] = -1;
			}
		}
	}
	/* The claims go with the events (a birth still being opened holds
	 * its own, and closes what it opened). */
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n_threads; i++)
		hashmap_remove(&p->claimed, (uint64_t)p->threads[i].tid);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < p->n_threads; i++)
		thread_close(p, &p->threads[i]);
	p->n_threads = 0;
	hashmap_release(&p->ids);
	hashmap_init(&p->ids);
}

size_t
probes_threads(const struct probes *p)
{
	return p->n_threads;
}

uint64_t
probes_refused(const struct probes *p)
{
	return p->refused;
}

uint64_t
probes_lost(const struct probes *p)
{
	return p->lost;
}

/* Registers in perf's order of sample_regs_user bits, set ones only. */
static void
regs_from_perf(const uint64_t *v, arch_regs *r)
{
	uint64_t x[PERF_REG_X86_64_MAX] = { 0 };
	size_t k = 0;

	for (int b = 0; b < PERF_REG_X86_64_MAX; b++)
		if (REGS_ALL & (1ull << b))
			x[b] = v[k++];
	memset(r, 0, sizeof *r);
	r->rax = x[PERF_REG_X86_AX];
	r->rbx = x[PERF_REG_X86_BX];
	r->rcx = x[PERF_REG_X86_CX];
	r->rdx = x[PERF_REG_X86_DX];
	r->rsi = x[PERF_REG_X86_SI];
	r->rdi = x[PERF_REG_X86_DI];
	r->rbp = x[PERF_REG_X86_BP];
	r->rsp = x[PERF_REG_X86_SP];
	r->rip = x[PERF_REG_X86_IP];
	r->r8 = x[PERF_REG_X86_R8];
	r->r9 = x[PERF_REG_X86_R9];
	r->r10 = x[PERF_REG_X86_R10];
	r->r11 = x[PERF_REG_X86_R11];
	r->r12 = x[PERF_REG_X86_R12];
	r->r13 = x[PERF_REG_X86_R13];
	r->r14 = x[PERF_REG_X86_R14];
	r->r15 = x[PERF_REG_X86_R15];
	r->orig_rax = (unsigned long long)-1;
}

static void
parse_sample(struct probes *p, const unsigned char *rec, size_t len,
	     void (*fn)(const struct probe_hit *, void *), void *arg)
{
	const unsigned char *at = rec + sizeof(struct perf_event_header), *end = rec + len;
	struct probe_hit h = { 0 };
	uint64_t id, abi, size;
	uint32_t pt[2];
	void *v;
	size_t nregs = (size_t)__builtin_popcountll(REGS_ALL);

	if (at + 8 + 8 + 8 + 8 > end)
		return;
	memcpy(&id, at, 8);
	at += 8;
	memcpy(pt, at, 8);
	at += 8;
	memcpy(&h.time_ns, at, 8);
	at += 8;
	memcpy(&abi, at, 8);
	at += 8;
	v = hashmap_get(&p->ids, id);
	if (v == NULL)
		return;
	h.probe = (unsigned)((uintptr_t)v - 1);
	h.pid = (pid_t)pt[0];
	h.tid = (pid_t)pt[1];
	if (abi != PERF_SAMPLE_REGS_ABI_NONE) {
		uint64_t regs[32];

		if (at + nregs * 8 > end)
			return;
		memcpy(regs, at, nregs * 8);
		at += nregs * 8;
		regs_from_perf(regs, &h.regs);
	}
	if (p->defs[h.probe].stack && at + 8 <= end) {
		memcpy(&size, at, 8);
		at += 8;
		if (size > 0 && at + size + 8 <= end) {
			uint64_t dyn;

			memcpy(&dyn, at + size, 8);
			h.stack = at;
			h.stack_len = dyn < size ? (size_t)dyn : (size_t)size;
		}
	}
	fn(&h, arg);
}

/* The events of threads that exited, closed (a thread-per-request server
 * would otherwise leave a window with thousands), a few times a second,
 * once their buffers were read: an exited thread writes no more. */
static void
prune_gone(struct probes *p)
{
	uint64_t now = now_ns();

	if (now < p->next_prune)
		return;
	p->next_prune = now + PRUNE_NS;
	for (size_t i = 0; i < p->n_threads;) {
		struct probe_thread *t = &p->threads[i];

		if (syscall(SYS_tgkill, p->pid, t->tid, 0) == 0 || errno != ESRCH) {
			i++;
			continue;
		}
		for (size_t k = 0; k < p->n_defs; k++)
			if (t->fds[k] >= 0)
				hashmap_remove(&p->ids, t->ids[k]);
		unclaim(p, t->tid);
		thread_close(p, t);
		p->threads[i] = p->threads[--p->n_threads];
	}
}

size_t
probes_read(struct probes *p, void (*fn)(const struct probe_hit *h, void *arg), void *arg)
{
	size_t hits = 0;
	long page = sysconf(_SC_PAGESIZE);

	adopt_pending(p);
	for (size_t i = 0; i < p->n_threads; i++) {
		struct probe_thread *t = &p->threads[i];
		struct perf_event_mmap_page *mp = t->ring;
		unsigned char *data = (unsigned char *)t->ring + page;
		uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
		uint64_t tail = mp->data_tail;

		while (tail < head) {
			struct perf_event_header eh;
			size_t off = (size_t)(tail % t->ring_len);
			const unsigned char *rec;

			if (off + sizeof eh <= t->ring_len) {
				memcpy(&eh, data + off, sizeof eh);
			} else {
				size_t first = t->ring_len - off;

				memcpy(&eh, data + off, first);
				memcpy((unsigned char *)&eh + first, data, sizeof eh - first);
			}
			if (eh.size < sizeof eh)
				break;
			if (off + eh.size <= t->ring_len) {
				rec = data + off;
			} else {
				size_t first = t->ring_len - off;

				memcpy(t->scratch, data + off, first);
				memcpy(t->scratch + first, data, eh.size - first);
				rec = t->scratch;
			}
			if (eh.type == PERF_RECORD_SAMPLE) {
				parse_sample(p, rec, eh.size, fn, arg);
				hits++;
			} else if (eh.type == PERF_RECORD_LOST && eh.size >= sizeof eh + 16) {
				uint64_t lost;

				memcpy(&lost, rec + sizeof eh + 8, 8);
				p->lost += lost;
			}
			tail += eh.size;
		}
		__atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
	}
	prune_gone(p);
	return hits;
}
