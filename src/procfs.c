/* procfs.c: parsers for the /proc files siprof reads. Hot-path readers
 * (stat, syscall, schedstat) use stack buffers and no allocation. */
#include "config.h"

#include "procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static int
cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

bool
procfs_tasks(pid_t pid, pid_t **tids, size_t *n)
{
	char path[64];
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return false;
	*tids = NULL;
	*n = 0;
	while ((de = readdir(d)) != NULL) {
		long v;

		if (!parse_long(de->d_name, 1, INT32_MAX, &v))
			continue;
		GROW(*tids, cap, *n + 1);
		(*tids)[(*n)++] = (pid_t)v;
	}
	closedir(d);
	if (*n > 1)
		qsort(*tids, *n, sizeof **tids, cmp_pid);
	return true;
}

bool
procfs_task_stat(pid_t pid, pid_t tid, struct task_stat *st)
{
	char path[64], buf[1024];

	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if (read_file_buf(path, buf, sizeof buf) <= 0)
		return false;
	return procfs_parse_stat(buf, st);
}

bool
procfs_parse_stat(char *buf, struct task_stat *st)
{
	char *open_paren, *close_paren, *p, *field[24];
	size_t len, nf = 0;

	/* The name may contain spaces and parentheses: it runs from the first
	 * '(' to the last ')'. */
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (open_paren == NULL || close_paren == NULL || close_paren < open_paren) {
		errno = EINVAL;
		return false;
	}
	len = (size_t)(close_paren - open_paren - 1);
	if (len >= sizeof st->comm)
		len = sizeof st->comm - 1;
	memcpy(st->comm, open_paren + 1, len);
	st->comm[len] = '\0';
	/* Fields after the name, numbered from 3 (state) in proc(5). */
	for (p = close_paren + 1; *p != '\0' && nf < ARRAY_SIZE(field);) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		field[nf++] = p;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	if (nf < 20) {
		errno = EINVAL;
		return false;
	}
	st->state = field[0][0];
	st->ppid = (pid_t)strtol(field[1], NULL, 10);
	st->flags = strtoul(field[6], NULL, 10);
	st->utime = strtoull(field[11], NULL, 10);
	st->stime = strtoull(field[12], NULL, 10);
	st->starttime = strtoull(field[19], NULL, 10);
	return true;
}

bool
procfs_task_syscall(pid_t pid, pid_t tid, struct task_syscall *sc)
{
	char path[64], buf[256], *p, *end;
	uint64_t v[9];
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	if (read_file_buf(path, buf, sizeof buf) <= 0)
		return false;
	memset(sc, 0, sizeof *sc);
	if (strncmp(buf, "running", 7) == 0) {
		sc->nr = SYSCALL_RUNNING;
		return true;
	}
	sc->nr = strtol(buf, &p, 10);
	if (p == buf) {
		errno = EINVAL;
		return false;
	}
	while (n < 9) {
		while (*p == ' ')
			p++;
		if (*p == '\0' || *p == '\n')
			break;
		v[n++] = strtoull(p, &end, 0);
		if (end == p)
			break;
		p = end;
	}
	if (sc->nr == SYSCALL_NONE && n >= 2) {
		sc->sp = v[0];
		sc->pc = v[1];
	} else if (sc->nr >= 0 && n >= 8) {
		memcpy(sc->args, v, sizeof sc->args);
		sc->sp = v[6];
		sc->pc = v[7];
	} else {
		errno = EINVAL;
		return false;
	}
	return true;
}

bool
procfs_task_runtime(pid_t pid, pid_t tid, uint64_t *ns)
{
	char path[64], buf[128], *end;

	snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	if (read_file_buf(path, buf, sizeof buf) <= 0)
		return false;
	*ns = strtoull(buf, &end, 10);
	return end != buf;
}

static uint64_t
status_hex(const char *line)
{
	return strtoull(line, NULL, 16);
}

bool
procfs_status(pid_t pid, struct proc_status *st)
{
	char path[64], *buf, *line, *save = NULL;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	buf = read_file(path, NULL);
	if (buf == NULL)
		return false;
	memset(st, 0, sizeof *st);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "Name:\t", 6) == 0)
			snprintf(st->name, sizeof st->name, "%s", line + 6);
		else if (strncmp(line, "Tgid:\t", 6) == 0)
			st->tgid = (pid_t)strtol(line + 6, NULL, 10);
		else if (strncmp(line, "TracerPid:\t", 11) == 0)
			st->tracer_pid = (pid_t)strtol(line + 11, NULL, 10);
		else if (strncmp(line, "Uid:\t", 5) == 0) {
			char *p;
			st->uid_real = (uid_t)strtoul(line + 5, &p, 10);
			st->uid_effective = (uid_t)strtoul(p, NULL, 10);
		} else if (strncmp(line, "CapEff:\t", 8) == 0)
			st->cap_effective = status_hex(line + 8);
	}
	free(buf);
	return true;
}

static void
read_comm(const char *path, char *buf, size_t n)
{
	ssize_t len = read_file_buf(path, buf, n);

	if (len <= 0) {
		snprintf(buf, n, "?");
		return;
	}
	if (buf[len - 1] == '\n')
		buf[len - 1] = '\0';
}

void
procfs_task_comm(pid_t pid, pid_t tid, char *buf, size_t n)
{
	char path[80];

	snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	read_comm(path, buf, n);
}

void
procfs_comm(pid_t pid, char *buf, size_t n)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	read_comm(path, buf, n);
}

char *
procfs_cmdline(pid_t pid)
{
	char path[64], *buf;
	size_t len, i;

	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	buf = read_file(path, &len);
	if (buf == NULL)
		return NULL;
	if (len == 0) {
		free(buf);
		return NULL;
	}
	while (len > 0 && buf[len - 1] == '\0')
		len--;
	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[len] = '\0';
	return buf;
}

char *
procfs_exe(pid_t pid)
{
	char path[64], target[4096];
	ssize_t len;

	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	len = readlink(path, target, sizeof target - 1);
	if (len < 0)
		return NULL;
	target[len] = '\0';
	return xstrdup(target);
}

bool
procfs_maps_read(pid_t pid, struct maps *m)
{
	char path[64], *buf, *line, *save = NULL;

	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	buf = read_file(path, NULL);
	if (buf == NULL)
		return false;
	procfs_maps_release(m);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long start, end, off;
		char perms[8];
		int name_at = 0;
		struct map_entry *e;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end,
			   perms, &off, &name_at) < 4)
			continue;
		GROW(m->entries, m->cap, m->n + 1);
		e = &m->entries[m->n++];
		e->start = start;
		e->end = end;
		e->offset = off;
		e->readable = perms[0] == 'r';
		e->writable = perms[1] == 'w';
		e->executable = perms[2] == 'x';
		e->path = xstrdup(name_at > 0 ? line + name_at : "");
	}
	free(buf);
	return true;
}

void
procfs_maps_release(struct maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->entries[i].path);
	free(m->entries);
	m->entries = NULL;
	m->n = m->cap = 0;
}

const struct map_entry *
procfs_maps_find(const struct maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	/* /proc/PID/maps is sorted by address. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct map_entry *e = &m->entries[mid];

		if (addr < e->start)
			hi = mid;
		else if (addr >= e->end)
			lo = mid + 1;
		else
			return e;
	}
	return NULL;
}

enum fd_kind
procfs_fd_kind(pid_t pid, int fd)
{
	char path[64], target[256];
	struct stat sb;
	ssize_t len;

	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
	len = readlink(path, target, sizeof target - 1);
	if (len < 0)
		return FD_UNKNOWN;
	target[len] = '\0';
	if (strncmp(target, "socket:", 7) == 0)
		return FD_SOCKET;
	if (strncmp(target, "pipe:", 5) == 0)
		return FD_PIPE;
	if (target[0] != '/')
		return FD_OTHER;
	if (stat(path, &sb) != 0)
		return FD_UNKNOWN;
	if (S_ISREG(sb.st_mode))
		return FD_FILE;
	if (S_ISBLK(sb.st_mode))
		return FD_BLOCKDEV;
	if (S_ISFIFO(sb.st_mode))
		return FD_PIPE;
	if (S_ISSOCK(sb.st_mode))
		return FD_SOCKET;
	return FD_OTHER;
}

int
procfs_ptrace_scope(void)
{
	char buf[16];
	long v;

	if (read_file_buf("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof buf) <= 0)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return parse_long(buf, 0, 3, &v) ? (int)v : -1;
}

bool
procfs_other_mntns(pid_t pid)
{
	struct stat self, other;
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
	if (stat("/proc/self/ns/mnt", &self) != 0 || stat(path, &other) != 0)
		return false;
	return self.st_ino != other.st_ino || self.st_dev != other.st_dev;
}

static uint64_t
kb_field(const char *line)
{
	return strtoull(line, NULL, 10) * 1024u;
}

bool
procfs_metrics(pid_t pid, struct proc_metrics *m)
{
	char path[64], *buf, *line, *save = NULL;
	struct task_stat st;
	long ticks = sysconf(_SC_CLK_TCK);
	DIR *d;

	memset(m, 0, sizeof *m);
	if (!procfs_task_stat(pid, pid, &st))
		return false;
	/* The leader's stat carries the whole process's counters. */
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	buf = read_file(path, NULL);
	if (buf != NULL) {
		char *p = strrchr(buf, ')');
		unsigned long long f[50];
		int n = 0;

		for (p = p ? p + 2 : buf; n < 50 && *p != '\0';) {
			char *end;

			f[n++] = strtoull(p, &end, 10);
			if (end == p)
				end++; /* the state letter */
			p = end;
			while (*p == ' ')
				p++;
		}
		/* Fields from 3 (state): minflt 10, majflt 12, utime 14, stime 15. */
		if (n > 13) {
			m->minflt = f[10 - 3];
			m->majflt = f[12 - 3];
			m->utime_ns = f[14 - 3] * (1000000000ull / (uint64_t)ticks);
			m->stime_ns = f[15 - 3] * (1000000000ull / (uint64_t)ticks);
		}
		free(buf);
	}
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	buf = read_file(path, NULL);
	if (buf == NULL)
		return false;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, ':');

		if (v == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "VmSize") == 0) m->vm_size = kb_field(v);
		else if (strcmp(line, "VmHWM") == 0) m->rss_peak = kb_field(v);
		else if (strcmp(line, "RssAnon") == 0) m->rss_anon = kb_field(v);
		else if (strcmp(line, "RssFile") == 0) m->rss_file = kb_field(v);
		else if (strcmp(line, "RssShmem") == 0) m->rss_shmem = kb_field(v);
		else if (strcmp(line, "Threads") == 0) m->threads = strtoull(v, NULL, 10);
		else if (strcmp(line, "voluntary_ctxt_switches") == 0)
			m->ctx_voluntary = strtoull(v, NULL, 10);
		else if (strcmp(line, "nonvoluntary_ctxt_switches") == 0)
			m->ctx_involuntary = strtoull(v, NULL, 10);
	}
	free(buf);
	snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
	buf = read_file(path, NULL);
	if (buf != NULL) {
		m->have_io = true;
		save = NULL;
		for (line = strtok_r(buf, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			char *v = strchr(line, ':');

			if (v == NULL)
				continue;
			*v++ = '\0';
			if (strcmp(line, "rchar") == 0) m->io_rchar = strtoull(v, NULL, 10);
			else if (strcmp(line, "wchar") == 0) m->io_wchar = strtoull(v, NULL, 10);
			else if (strcmp(line, "read_bytes") == 0) m->io_read_bytes = strtoull(v, NULL, 10);
			else if (strcmp(line, "write_bytes") == 0) m->io_write_bytes = strtoull(v, NULL, 10);
		}
		free(buf);
	}
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (d != NULL) {
		struct dirent *de;

		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				m->fds++;
		closedir(d);
	}
	return true;
}

double
procfs_cpu_capacity(pid_t pid)
{
	cpu_set_t set;
	double cpus;
	char path[128], *cg, *line, *save = NULL;

	CPU_ZERO(&set);
	if (sched_getaffinity(pid, sizeof set, &set) == 0)
		cpus = CPU_COUNT(&set);
	else
		cpus = (double)sysconf(_SC_NPROCESSORS_ONLN);
	/* cgroup v2: "0::/path" and /sys/fs/cgroup/path/cpu.max "QUOTA PERIOD". */
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	cg = read_file(path, NULL);
	if (cg == NULL)
		return cpus;
	for (line = strtok_r(cg, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char file[4200], max[64], *dir, *slash;
		double quota, period;

		if (strncmp(line, "0::", 3) != 0)
			continue;
		/* Every level of the hierarchy may set a limit: walk up. */
		for (dir = line + 3; *dir != '\0';) {
			snprintf(file, sizeof file, "/sys/fs/cgroup%s/cpu.max", dir);
			if (read_file_buf(file, max, sizeof max) > 0 &&
			    sscanf(max, "%lf %lf", &quota, &period) == 2 && period > 0 &&
			    quota / period < cpus)
				cpus = quota / period;
			slash = strrchr(dir, '/');
			if (slash == NULL || slash == dir)
				break;
			*slash = '\0';
		}
	}
	free(cg);
	return cpus > 0 ? cpus : 1;
}

void
procfs_kernel_release(char *buf, size_t n)
{
	if (read_file_buf("/proc/sys/kernel/osrelease", buf, n) <= 0)
		snprintf(buf, n, "unknown");
	buf[strcspn(buf, "\n")] = '\0';
}

bool
procfs_process_gone(pid_t pid)
{
	struct task_stat st;
	char path[64], *maps;
	bool empty;

	if (!procfs_task_stat(pid, pid, &st) || st.state == 'Z' || st.state == 'X')
		return true;
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	maps = read_file(path, NULL);
	if (maps == NULL)
		return errno == ESRCH || errno == ENOENT;
	empty = maps[0] == '\0';
	free(maps);
	return empty;
}
