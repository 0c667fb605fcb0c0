/* procfs.c: parsers for the /proc files siprof reads. Hot-path readers
 * (stat, syscall, schedstat) use stack buffers and no allocation. */
#include "config.h"

#include "procfs.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "syscalls.h"
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
procfs_children(pid_t pid, pid_t **pids, size_t *n)
{
	pid_t *tids;
	size_t nt, cap = 0;
	char *buf;

	if (!procfs_tasks(pid, &tids, &nt))
		return false;
	*pids = NULL;
	*n = 0;
	for (size_t i = 0; i < nt; i++) {
		char path[96];

		snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)tids[i]);
		if ((buf = read_file(path, NULL)) == NULL)
			continue;
		for (char *p = buf, *end; *p != '\0'; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			if (v > 0 && v <= INT32_MAX) {
				GROW(*pids, cap, *n + 1);
				(*pids)[(*n)++] = (pid_t)v;
			}
		}
		free(buf);
	}
	free(tids);
	if (*n > 1)
		qsort(*pids, *n, sizeof **pids, cmp_pid);
	return true;
}

int
procfs_task_open(pid_t pid, pid_t tid, const char *name)
{
	char path[96];

	snprintf(path, sizeof path, "/proc/%d/task/%d/%s", (int)pid, (int)tid, name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* A task's file NAME into buf, through fd when it is open (>= 0). */
static bool
task_read(pid_t pid, pid_t tid, int fd, const char *name, char *buf, size_t n)
{
	char path[96];
	ssize_t got;

	if (fd >= 0) {
		got = pread(fd, buf, n - 1, 0);
		if (got <= 0)
			return false;
		buf[got] = '\0';
		return true;
	}
	snprintf(path, sizeof path, "/proc/%d/task/%d/%s", (int)pid, (int)tid, name);
	return read_file_buf(path, buf, n) > 0;
}

bool
procfs_task_stat(pid_t pid, pid_t tid, struct task_stat *st)
{
	return procfs_task_stat_fd(pid, tid, -1, st);
}

bool
procfs_task_stat_fd(pid_t pid, pid_t tid, int fd, struct task_stat *st)
{
	char buf[1024];

	return task_read(pid, tid, fd, "stat", buf, sizeof buf) && procfs_parse_stat(buf, st);
}

bool
procfs_parse_stat(char *buf, struct task_stat *st)
{
	char *open_paren, *close_paren, *p, *field[40];
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
	st->minflt = strtoull(field[7], NULL, 10);
	st->majflt = strtoull(field[9], NULL, 10);
	st->utime = strtoull(field[11], NULL, 10);
	st->stime = strtoull(field[12], NULL, 10);
	st->starttime = strtoull(field[19], NULL, 10);
	st->processor = nf > 36 ? (int)strtol(field[36], NULL, 10) : -1;
	return true;
}

bool
procfs_task_syscall(pid_t pid, pid_t tid, struct task_syscall *sc)
{
	char buf[256];

	return task_read(pid, tid, -1, "syscall", buf, sizeof buf) && procfs_parse_syscall(buf, sc);
}

bool
procfs_parse_syscall(const char *buf, struct task_syscall *sc)
{
	char *p, *end;
	uint64_t v[9];
	int n = 0;

	memset(sc, 0, sizeof *sc);
	if (strncmp(buf, "running", 7) == 0) {
		sc->nr = SYSCALL_RUNNING;
		return true;
	}
	sc->nr = strtol(buf, &p, 10);
	if (p == buf || sc->nr < SYSCALL_NONE) {
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
procfs_parse_schedstat(const char *buf, struct schedstat *ss)
{
	char *end;

	const char *p;

	ss->runtime_ns = strtoull(buf, &end, 10);
	if (end == buf)
		return false;
	p = end;
	ss->rundelay_ns = strtoull(p, &end, 10);
	if (end == p)
		return false;
	p = end;
	ss->pcount = strtoull(p, &end, 10);
	return end != p;
}

bool
procfs_task_schedstat(pid_t pid, pid_t tid, int fd, struct schedstat *ss)
{
	char buf[128];

	return task_read(pid, tid, fd, "schedstat", buf, sizeof buf) &&
	       procfs_parse_schedstat(buf, ss);
}

static uint64_t
status_hex(const char *line)
{
	return strtoull(line, NULL, 16);
}

bool
procfs_status(pid_t pid, struct proc_status *st)
{
	char path[64], *buf;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	buf = read_file(path, NULL);
	if (buf == NULL)
		return false;
	procfs_parse_status(buf, st);
	free(buf);
	return true;
}

void
procfs_parse_status(char *buf, struct proc_status *st)
{
	char *line, *save = NULL;

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

char *
procfs_maps_text(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	return read_file(path, NULL);
}

int
procfs_exe_open(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

bool
procfs_maps_read(pid_t pid, struct maps *m)
{
	char *buf = procfs_maps_text(pid);

	if (buf == NULL)
		return false;
	procfs_parse_maps(buf, m);
	free(buf);
	return true;
}

void
procfs_parse_maps(char *buf, struct maps *m)
{
	char *line, *save = NULL;

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
	struct fd_info fi;
	struct stat sb;
	ssize_t len;

	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
	len = readlink(path, target, sizeof target - 1);
	if (len < 0)
		return FD_UNKNOWN;
	target[len] = '\0';
	/* A path is a look at one byte: this may run for every sample of a
	 * thread blocked on a descriptor. */
	if (target[0] != '/' && procfs_parse_fd_link(target, &fi))
		return strcmp(fi.type, "socket") == 0 ? FD_SOCKET
		       : strcmp(fi.type, "pipe") == 0 ? FD_PIPE : FD_OTHER;
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

/* What a thread waits on: descriptors described from /proc. */

/* Copy src into dst (size n), cut to fit. */
static void
copy_str(char *dst, size_t n, const char *src)
{
	size_t len = strlen(src);

	if (len >= n)
		len = n - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

bool
procfs_parse_fd_link(const char *target, struct fd_info *fi)
{
	static const char anon[] = "anon_inode:";

	if (sscanf(target, "socket:[%" SCNu64 "]", &fi->inode) == 1) {
		copy_str(fi->type, sizeof fi->type, "socket");
	} else if (sscanf(target, "pipe:[%" SCNu64 "]", &fi->inode) == 1) {
		copy_str(fi->type, sizeof fi->type, "pipe");
	} else if (strncmp(target, anon, sizeof anon - 1) == 0) {
		/* anon_inode:[eventpoll], anon_inode:inotify, ... */
		const char *k = target + sizeof anon - 1;
		size_t kl;

		k += *k == '[';
		kl = strcspn(k, "]");
		if (kl == 9 && strncmp(k, "eventpoll", 9) == 0)
			copy_str(fi->type, sizeof fi->type, "epoll");
		else
			snprintf(fi->type, sizeof fi->type, "%.*s", (int)kl, k);
	} else if (target[0] != '/') {
		copy_str(fi->type, sizeof fi->type, "other");
		copy_str(fi->addr, sizeof fi->addr, target);
	} else {
		return false;
	}
	return true;
}

void
procfs_fd_info(pid_t pid, int fd, struct fd_info *fi)
{
	char path[64], target[PATH_MAX];
	struct stat sb;
	ssize_t len;

	memset(fi, 0, sizeof *fi);
	fi->fd = fd;
	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
	len = readlink(path, target, sizeof target - 1);
	if (len < 0) {
		copy_str(fi->type, sizeof fi->type, "?");
		return;
	}
	target[len] = '\0';
	if (procfs_parse_fd_link(target, fi))
		return;
	if (target[0] == '/' && stat(path, &sb) == 0) {
		copy_str(fi->type, sizeof fi->type,
			 S_ISREG(sb.st_mode) ? "file" : S_ISFIFO(sb.st_mode) ? "pipe"
			 : S_ISSOCK(sb.st_mode) ? "socket" : S_ISDIR(sb.st_mode) ? "directory"
			 : "device");
		copy_str(fi->addr, sizeof fi->addr, target);
		if (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode))
			fi->inode = (uint64_t)sb.st_ino;
	} else {
		copy_str(fi->type, sizeof fi->type, "other");
		copy_str(fi->addr, sizeof fi->addr, target);
	}
}

static const char *const tcp_states[] = {
	[1] = "established", [2] = "syn-sent", [3] = "syn-received", [4] = "fin-wait-1",
	[5] = "fin-wait-2", [6] = "time-wait", [7] = "closed", [8] = "close-wait",
	[9] = "last-ack", [10] = "listening", [11] = "closing",
};

/* "0100007F:1F90" (IPv4) or 32 hex digits and a port (IPv6), as the
 * kernel prints them: each 32-bit word in this machine's byte order. */
static bool
net_addr(const char *hex, bool v6, char *buf, size_t n)
{
	unsigned char bytes[16];
	char a[INET6_ADDRSTRLEN];
	unsigned port;
	size_t words = v6 ? 4 : 1;

	for (size_t i = 0; i < words; i++) {
		char w[9];
		uint32_t v;

		memcpy(w, hex + 8 * i, 8);
		w[8] = '\0';
		if (strspn(w, "0123456789ABCDEFabcdef") != 8)
			return false;
		v = (uint32_t)strtoul(w, NULL, 16);
		memcpy(bytes + 4 * i, &v, 4);
	}
	if (hex[8 * words] != ':' || sscanf(hex + 8 * words + 1, "%x", &port) != 1)
		return false;
	if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, a, sizeof a) == NULL)
		return false;
	snprintf(buf, n, v6 ? "[%s]:%u" : "%s:%u", a, port);
	return true;
}

/* No address: all zeros, port 0 (an unconnected socket's peer). */
static bool
net_addr_zero(const char *hex)
{
	size_t len = strcspn(hex, ":");

	return strspn(hex, "0") == len && strcmp(hex + len, ":0000") == 0;
}

/* Fill the sockets of fis whose inode is in /proc/PID/net/NAME (tcp, tcp6,
 * udp, udp6); returns how many are still unknown. */
static size_t
net_inet(pid_t pid, const char *name, struct fd_info **fis, size_t n, size_t left)
{
	char path[64], *text, *line, *save = NULL;
	bool v6 = strchr(name, '6') != NULL, tcp = name[0] == 't';

	snprintf(path, sizeof path, "/proc/%d/net/%s", (int)pid, name);
	if ((text = read_file(path, NULL)) == NULL)
		return left;
	strtok_r(text, "\n", &save); /* the header */
	while (left > 0 && (line = strtok_r(NULL, "\n", &save)) != NULL) {
		char local[64], remote[64];
		unsigned st;
		uint64_t ino;

		if (sscanf(line, " %*s %63s %63s %x %*s %*s %*s %*s %*s %" SCNu64,
			   local, remote, &st, &ino) != 4)
			continue;
		for (size_t i = 0; i < n; i++) {
			struct fd_info *fi = fis[i];

			if (fi->inode != ino || strcmp(fi->type, "socket") != 0)
				continue;
			copy_str(fi->type, sizeof fi->type, name);
			if (!net_addr(local, v6, fi->addr, sizeof fi->addr))
				fi->addr[0] = '\0';
			if (net_addr_zero(remote) || !net_addr(remote, v6, fi->peer, sizeof fi->peer))
				fi->peer[0] = '\0';
			if (tcp && st < ARRAY_SIZE(tcp_states) && tcp_states[st] != NULL)
				copy_str(fi->state, sizeof fi->state, tcp_states[st]);
			left--;
		}
	}
	free(text);
	return left;
}

/* /proc/PID/net/unix: "Num RefCount Protocol Flags Type St Inode Path".
 * Fills each socket of fis whose inode is ino[i] (ino NULL: their own
 * inodes) with its state and path, or, with peers, puts the path into
 * peer; returns how many are still unknown. */
static size_t
net_unix(pid_t pid, struct fd_info **fis, const uint64_t *ino, size_t n, size_t left)
{
	char path[64], *text, *line, *save = NULL;

	snprintf(path, sizeof path, "/proc/%d/net/unix", (int)pid);
	if ((text = read_file(path, NULL)) == NULL)
		return left;
	strtok_r(text, "\n", &save);
	while (left > 0 && (line = strtok_r(NULL, "\n", &save)) != NULL) {
		unsigned long flags;
		unsigned st;
		uint64_t inode;
		int end = 0;

		if (sscanf(line, " %*s %*s %*s %lx %*s %x %" SCNu64 "%n", &flags, &st, &inode,
			   &end) != 3)
			continue;
		for (size_t i = 0; i < n; i++) {
			struct fd_info *fi = fis[i];
			const char *where = line + end + strspn(line + end, " ");

			if (ino != NULL) {
				if (ino[i] == inode && fi->peer[0] == '\0') {
					copy_str(fi->peer, sizeof fi->peer, where);
					left--;
				}
				continue;
			}
			if (fi->inode != inode || strcmp(fi->type, "socket") != 0)
				continue;
			copy_str(fi->type, sizeof fi->type, "unix");
			copy_str(fi->addr, sizeof fi->addr, where);
			copy_str(fi->state, sizeof fi->state,
				 flags & 0x10000 ? "listening" : st == 3 ? "connected" : "");
			left--;
		}
	}
	free(text);
	return left;
}

/* The inode of the peer of unix socket ino, from the kernel's sock_diag
 * (as ss -x shows it); 0 when it cannot be known (no netlink here, the
 * socket in another network namespace). */
static uint64_t
unix_peer(uint64_t ino)
{
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req req;
	} q = {
		.nh = { .nlmsg_len = sizeof q, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST },
		.req = { .sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_ino = (uint32_t)ino,
			 .udiag_show = UDIAG_SHOW_PEER, .udiag_cookie = { ~0u, ~0u } },
	};
	union {
		struct nlmsghdr nh;
		char buf[1024];
	} a;
	const struct unix_diag_msg *m;
	const struct rtattr *at;
	uint64_t peer = 0;
	ssize_t len;
	int fd, rest;

	if (ino == 0 || ino > UINT32_MAX)
		return 0;
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return 0;
	/* The kernel answers within send: the reply is queued when it returns. */
	if (send(fd, &q, sizeof q, 0) != (ssize_t)sizeof q ||
	    (len = recv(fd, &a, sizeof a, MSG_DONTWAIT)) < (ssize_t)NLMSG_LENGTH(sizeof *m) ||
	    a.nh.nlmsg_type != SOCK_DIAG_BY_FAMILY || a.nh.nlmsg_len > (size_t)len ||
	    a.nh.nlmsg_len < NLMSG_LENGTH(sizeof *m))
		goto out;
	m = NLMSG_DATA(&a.nh);
	if (m->udiag_ino != ino)
		goto out;
	rest = (int)(a.nh.nlmsg_len - NLMSG_LENGTH(sizeof *m));
	for (at = (const struct rtattr *)(m + 1); RTA_OK(at, rest); at = RTA_NEXT(at, rest)) {
		uint32_t v;

		if (at->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(at) >= sizeof v) {
			memcpy(&v, RTA_DATA(at), sizeof v);
			peer = v;
		}
	}
out:
	close(fd);
	return peer;
}

/* A unix socket without a path of its own (a client's end) is named by
 * its peer's path, when the peer has one. */
static void
unix_peers(pid_t pid, struct fd_info **fis, size_t n)
{
	struct fd_info *socks[PROCFS_WAIT_FDS];
	uint64_t peers[PROCFS_WAIT_FDS];
	size_t ns = 0;

	for (size_t i = 0; i < n && ns < ARRAY_SIZE(socks); i++) {
		if (strcmp(fis[i]->type, "unix") != 0 || fis[i]->addr[0] != '\0')
			continue;
		if ((peers[ns] = unix_peer(fis[i]->inode)) != 0)
			socks[ns++] = fis[i];
	}
	if (ns > 0)
		net_unix(pid, socks, peers, ns, ns);
}

/* Name the sockets among fis: one pass over each table of the process's
 * network namespace that may hold them, stopping when all are found. */
static void
name_sockets(pid_t pid, struct fd_info *fis, size_t n)
{
	static const char *const tables[] = { "tcp", "tcp6", "udp", "udp6" };
	struct fd_info *socks[PROCFS_WAIT_FDS];
	size_t ns = 0, left;

	for (size_t i = 0; i < n && ns < ARRAY_SIZE(socks); i++)
		if (fis[i].inode != 0 && strcmp(fis[i].type, "socket") == 0)
			socks[ns++] = &fis[i];
	left = ns;
	for (size_t t = 0; t < ARRAY_SIZE(tables) && left > 0; t++)
		left = net_inet(pid, tables[t], socks, ns, left);
	if (left > 0 && net_unix(pid, socks, NULL, ns, left) < left)
		unix_peers(pid, socks, ns);
}

bool
procfs_read_memory(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

static void
add_fd(struct fd_wait *w, int fd)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->fds[i].fd == fd)
			return;
	w->total++;
	if (w->n < PROCFS_WAIT_FDS)
		w->fds[w->n++].fd = fd;
}

#define POLL_MAX 64

static bool
poll_fds(pid_t pid, const struct task_syscall *sc, struct fd_wait *w)
{
	struct pollfd pfd[POLL_MAX];
	size_t n = sc->args[1] < POLL_MAX ? (size_t)sc->args[1] : POLL_MAX;

	if (n == 0 || !procfs_read_memory(pid, sc->args[0], pfd, n * sizeof *pfd))
		return false;
	for (size_t i = 0; i < n; i++)
		if (pfd[i].fd >= 0)
			add_fd(w, pfd[i].fd);
	if (sc->args[1] > n)
		w->total += (size_t)(sc->args[1] - n);
	return true;
}

static bool
select_fds(pid_t pid, const struct task_syscall *sc, struct fd_wait *w)
{
	size_t nfds = sc->args[0] < FD_SETSIZE ? (size_t)sc->args[0] : FD_SETSIZE;
	size_t words = (nfds + 63) / 64;
	uint64_t any[FD_SETSIZE / 64] = { 0 };

	/* Read, write and exception sets: a descriptor in several is one. */
	for (int set = 1; set <= 3; set++) {
		uint64_t bits[FD_SETSIZE / 64];

		if (sc->args[set] == 0 || words == 0)
			continue;
		if (!procfs_read_memory(pid, sc->args[set], bits, words * sizeof *bits))
			return false;
		for (size_t i = 0; i < words; i++)
			any[i] |= bits[i];
	}
	for (size_t fd = 0; fd < nfds; fd++)
		if (any[fd / 64] & (uint64_t)1 << (fd % 64))
			add_fd(w, (int)fd);
	return true;
}

/* The tfd lines of /proc/PID/fdinfo/EPFD: the descriptors in the set. */
static bool
epoll_fds(pid_t pid, int epfd, struct fd_wait *w)
{
	char path[64], *text, *p;

	snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)pid, epfd);
	if ((text = read_file(path, NULL)) == NULL)
		return false;
	for (p = text; (p = strstr(p, "tfd:")) != NULL; p += 4) {
		long fd = strtol(p + 4, NULL, 10);

		if (fd >= 0 && fd <= INT_MAX)
			add_fd(w, (int)fd);
	}
	free(text);
	w->epfd = epfd;
	return true;
}

bool
procfs_fd_wait(pid_t pid, const struct task_syscall *sc, struct fd_wait *w)
{
	bool ok;

	memset(w, 0, sizeof *w);
	w->epfd = -1;
	switch (sc->nr) {
	case SYS_poll: case SYS_ppoll:
		ok = poll_fds(pid, sc, w);
		break;
	case SYS_select: case SYS_pselect6:
		ok = select_fds(pid, sc, w);
		break;
	case SYS_epoll_wait: case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
#endif
		ok = sc->args[0] <= INT_MAX && epoll_fds(pid, (int)sc->args[0], w);
		break;
	case SYS_sync_file_range: case SYS_flock: case SYS_fcntl: case SYS_ioctl:
		ok = sc->args[0] <= INT_MAX;
		if (ok)
			add_fd(w, (int)sc->args[0]);
		break;
	default:
		/* The calls whose first argument is the descriptor they wait on. */
		ok = syscall_takes_fd(sc->nr) && sc->args[0] <= INT_MAX;
		if (ok)
			add_fd(w, (int)sc->args[0]);
		break;
	}
	if (!ok || w->total == 0)
		return ok && w->epfd >= 0;
	for (size_t i = 0; i < w->n; i++)
		procfs_fd_info(pid, w->fds[i].fd, &w->fds[i]);
	name_sockets(pid, w->fds, w->n);
	return true;
}

void
procfs_fd_info_text(const struct fd_info *fi, char *buf, size_t n)
{
	size_t len;

	if (strcmp(fi->type, "pipe") == 0 && fi->addr[0] == '\0')
		len = (size_t)snprintf(buf, n, "pipe:[%" PRIu64 "]", fi->inode);
	else if (strcmp(fi->type, "socket") == 0 && fi->addr[0] == '\0')
		len = (size_t)snprintf(buf, n, "socket:[%" PRIu64 "]", fi->inode);
	else if (strcmp(fi->type, "unix") == 0 && fi->addr[0] == '\0')
		len = (size_t)snprintf(buf, n, "unix socket:[%" PRIu64 "]", fi->inode);
	else
		len = (size_t)snprintf(buf, n, "%s%s%s", fi->type, fi->addr[0] ? " " : "", fi->addr);
	if (fi->peer[0] != '\0' && len < n)
		len += (size_t)snprintf(buf + len, n - len, " -> %s", fi->peer);
	if (fi->state[0] != '\0' && strcmp(fi->state, "established") != 0 &&
	    strcmp(fi->state, "connected") != 0 && len < n)
		snprintf(buf + len, n - len, " (%s)", fi->state);
}

void
procfs_fd_wait_text(const struct fd_wait *w, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	if (w->epfd >= 0)
		len = (size_t)snprintf(buf, n, "epoll fd %d (%zu fd%s)%s", w->epfd, w->total,
				       w->total == 1 ? "" : "s", w->total ? ": " : "");
	for (size_t i = 0; i < w->n && len < n; i++) {
		char one[320];

		procfs_fd_info_text(&w->fds[i], one, sizeof one);
		len += (size_t)snprintf(buf + len, n - len, "%sfd %d %s", i ? "; " : "",
					w->fds[i].fd, one);
	}
	if (w->total > w->n && len < n)
		snprintf(buf + len, n - len, "; %zu more", w->total - w->n);
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

const char *
procfs_root(pid_t pid, char *buf, size_t n)
{
	snprintf(buf, n, "/proc/%d/root", (int)pid);
	return buf;
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

void
procfs_parse_metrics_status(char *buf, struct proc_metrics *m)
{
	char *line, *save = NULL;

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
	}
}

void
procfs_parse_io(char *buf, struct proc_metrics *m)
{
	char *line, *save = NULL;

	m->have_io = true;
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
}

bool
procfs_metrics(pid_t pid, struct proc_metrics *m)
{
	char path[64], stat[1024], *buf;
	struct task_stat st;
	uint64_t tick_ns = 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
	DIR *d;

	memset(m, 0, sizeof *m);
	/* The leader's /proc/PID/stat carries the whole process's counters
	 * (its task/PID/stat the main thread's alone). */
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (read_file_buf(path, stat, sizeof stat) <= 0 || !procfs_parse_stat(stat, &st))
		return false;
	m->minflt = st.minflt;
	m->majflt = st.majflt;
	m->utime_ns = st.utime * tick_ns;
	m->stime_ns = st.stime * tick_ns;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	buf = read_file(path, NULL);
	if (buf == NULL)
		return false;
	procfs_parse_metrics_status(buf, m);
	free(buf);
	snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
	buf = read_file(path, NULL);
	if (buf != NULL) {
		procfs_parse_io(buf, m);
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

/* ---- context switches, thread by thread ---- */

static bool
status_count(const char *buf, const char *key, uint64_t *out)
{
	const char *p = strstr(buf, key);

	if (p == NULL)
		return false;
	*out = strtoull(p + strlen(key), NULL, 10);
	return true;
}

bool
procfs_task_ctxsw(pid_t pid, pid_t tid, uint64_t *voluntary, uint64_t *involuntary)
{
	/* status is about 1.5 KiB; the two counters are its last lines. */
	char path[64], buf[4096];

	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (read_file_buf(path, buf, sizeof buf) <= 0)
		return false;
	return procfs_parse_ctxsw(buf, voluntary, involuntary);
}

bool
procfs_parse_ctxsw(const char *buf, uint64_t *voluntary, uint64_t *involuntary)
{
	return status_count(buf, "\nvoluntary_ctxt_switches:", voluntary) &&
	       status_count(buf, "\nnonvoluntary_ctxt_switches:", involuntary);
}

bool
procfs_uptime(double *seconds)
{
	char buf[64], *end;

	if (read_file_buf("/proc/uptime", buf, sizeof buf) <= 0)
		return false;
	*seconds = strtod(buf, &end);
	return end != buf;
}
