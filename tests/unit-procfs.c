/* unit-procfs: the /proc parsers on files recorded from real processes on
 * a Linux 6 machine (tests/data/proc), against the values read off those
 * files by hand. */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "procfs.h"
#include "util.h"

static int failures;

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
			failures++;                                              \
		}                                                                \
	} while (0)

/* The recorded file NAME, NUL-terminated (the caller frees it). */
static char *
data(const char *name)
{
	char path[4096], *text;

	snprintf(path, sizeof path, "%s/%s", PROC_DATA, name);
	text = read_file(path, NULL);
	if (text == NULL) {
		printf("FAIL cannot read %s\n", path);
		exit(1);
	}
	return text;
}

static void
test_stat(void)
{
	struct task_stat st;
	char *t = data("stat-sleep"), bad[] = "12 (no end S 1 2 3";

	/* A copy of sleep named "x y) (z": its comm holds spaces and ")". */
	CHECK(procfs_parse_stat(t, &st));
	CHECK(strcmp(st.comm, "x y) (z") == 0);
	CHECK(st.state == 'S');
	CHECK(st.ppid == 1);
	CHECK(st.flags == 4194304);
	CHECK(st.minflt == 139 && st.majflt == 0);
	CHECK(st.utime == 0 && st.stime == 0);
	CHECK(st.starttime == 942390);
	CHECK(st.processor == 0);
	free(t);
	t = data("stat-spin");
	CHECK(procfs_parse_stat(t, &st));
	CHECK(strcmp(st.comm, "sh") == 0);
	CHECK(st.state == 'R');
	free(t);
	CHECK(!procfs_parse_stat(bad, &st));
}

static void
test_syscall(void)
{
	struct task_syscall sc;
	char *t = data("syscall-blocked");

	/* clock_nanosleep (230 on x86-64): six arguments, then sp and pc. */
	CHECK(procfs_parse_syscall(t, &sc));
	CHECK(sc.nr == 230);
	CHECK(sc.args[0] == 0 && sc.args[1] == 0 && sc.args[2] == 0x7fff979a9fb0 &&
	      sc.args[3] == 0x7fff979a9ff0 && sc.args[4] == 0 && sc.args[5] == 0);
	CHECK(sc.sp == 0x7fff979a9f98);
	CHECK(sc.pc == 0x7ff65b9b4503);
	free(t);
	t = data("syscall-running");
	CHECK(procfs_parse_syscall(t, &sc));
	CHECK(sc.nr == SYSCALL_RUNNING);
	free(t);
	/* Blocked outside a call (a page fault): -1, sp and pc. */
	CHECK(procfs_parse_syscall("-1 0x7ffd1000 0x401136\n", &sc));
	CHECK(sc.nr == SYSCALL_NONE && sc.sp == 0x7ffd1000 && sc.pc == 0x401136);
	CHECK(!procfs_parse_syscall("230 0x0 0x0\n", &sc));
	CHECK(!procfs_parse_syscall("", &sc));
}

static void
test_schedstat(void)
{
	struct schedstat ss;
	char *t = data("schedstat-sleep");

	CHECK(procfs_parse_schedstat(t, &ss));
	CHECK(ss.runtime_ns == 1545635 && ss.rundelay_ns == 697651 && ss.pcount == 1);
	free(t);
	t = data("schedstat-spin");
	CHECK(procfs_parse_schedstat(t, &ss));
	CHECK(ss.runtime_ns > 0 && ss.pcount > 0);
	free(t);
	CHECK(!procfs_parse_schedstat("12 34\n", &ss));
	CHECK(!procfs_parse_schedstat("", &ss));
}

static void
test_status(void)
{
	struct proc_status st;
	struct proc_metrics m;
	uint64_t vol = 9, invol = 9;
	char *t = data("status-sleep");

	CHECK(procfs_parse_ctxsw(t, &vol, &invol));
	CHECK(vol == 1 && invol == 0);
	procfs_parse_status(t, &st);
	CHECK(strcmp(st.name, "x y) (z") == 0);
	CHECK(st.tgid == 30689);
	CHECK(st.tracer_pid == 0);
	CHECK(st.uid_real == 0 && st.uid_effective == 0);
	CHECK(st.cap_effective == 0x1fffeffffffULL);
	free(t);
	memset(&m, 0, sizeof m);
	t = data("status-sleep");
	procfs_parse_metrics_status(t, &m);
	CHECK(m.vm_size == 2920 * 1024);
	CHECK(m.rss_peak == 1804 * 1024);
	CHECK(m.rss_anon == 112 * 1024 && m.rss_file == 1692 * 1024 && m.rss_shmem == 0);
	CHECK(m.threads == 1);
	free(t);
	t = data("io-sleep");
	procfs_parse_io(t, &m);
	CHECK(m.have_io);
	CHECK(m.io_rchar == 6976 && m.io_wchar == 0);
	CHECK(m.io_read_bytes == 0 && m.io_write_bytes == 0);
	free(t);
}

static void
test_maps(void)
{
	struct maps m = { 0 };
	const struct map_entry *e;
	char *t = data("maps-sleep");

	procfs_parse_maps(t, &m);
	CHECK(m.n == 37);
	CHECK(m.n > 0 && m.entries[0].start == 0x5652cd1d9000 && m.entries[0].end == 0x5652cd1db000);
	CHECK(m.n > 0 && strcmp(m.entries[0].path, "/tmp/x y) (z") == 0);
	CHECK(m.n > 0 && m.entries[0].readable && !m.entries[0].writable &&
	      !m.entries[0].executable);
	e = procfs_maps_find(&m, 0x5652cd1db000 + 0x10);
	CHECK(e != NULL && e->executable && e->offset == 0x2000);
	CHECK(procfs_maps_find(&m, 0x1000) == NULL);
	e = procfs_maps_find(&m, 0x7fff979a9f98); /* the sleeper's sp: its stack */
	CHECK(e != NULL && strcmp(e->path, "[stack]") == 0 && e->writable);
	procfs_maps_release(&m);
	free(t);
}

/* fd-links: "FD TARGET" lines, readlink of a Python process's descriptors:
 * a listening TCP socket, an epoll set, a pipe's two ends, a file, a unix
 * socket, an eventfd. */
static void
test_fd_links(void)
{
	char *t = data("fd-links"), *line, *save = NULL;
	int seen = 0;

	for (line = strtok_r(t, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		struct fd_info fi;
		int fd = atoi(line);
		const char *target = strchr(line, ' ') + 1;
		bool known;

		memset(&fi, 0, sizeof fi);
		known = procfs_parse_fd_link(target, &fi);
		switch (fd) {
		case 3:
			CHECK(known && strcmp(fi.type, "socket") == 0 && fi.inode == 564671);
			seen++;
			break;
		case 4:
			CHECK(known && strcmp(fi.type, "epoll") == 0);
			seen++;
			break;
		case 5: case 6:
			CHECK(known && strcmp(fi.type, "pipe") == 0 && fi.inode == 564672);
			seen++;
			break;
		case 7:
			CHECK(!known); /* a path: its type needs a stat */
			seen++;
			break;
		case 8:
			CHECK(known && strcmp(fi.type, "socket") == 0 && fi.inode == 564673);
			seen++;
			break;
		case 9:
			CHECK(known && strcmp(fi.type, "eventfd") == 0);
			seen++;
			break;
		}
	}
	CHECK(seen == 7);
	free(t);
	{
		struct fd_info fi;

		memset(&fi, 0, sizeof fi);
		CHECK(procfs_parse_fd_link("anon_inode:inotify", &fi) &&
		      strcmp(fi.type, "inotify") == 0);
		memset(&fi, 0, sizeof fi);
		CHECK(procfs_parse_fd_link("net:[4026531840]", &fi) &&
		      strcmp(fi.type, "other") == 0 && strcmp(fi.addr, "net:[4026531840]") == 0);
	}
}

/* What this process's own descriptors are, made here: a pipe, a socket, a
 * file, an eventfd, and one that is not open. */
static void
test_fd_kind(void)
{
	int p[2], sv[2], file, ev;
	char root[64];

	if (pipe(p) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		printf("FAIL cannot make a pipe and a socket pair\n");
		failures++;
		return;
	}
	file = open(PROC_DATA "/stat-sleep", O_RDONLY);
	ev = eventfd(0, 0);
	CHECK(procfs_fd_kind(getpid(), p[0]) == FD_PIPE);
	CHECK(procfs_fd_kind(getpid(), p[1]) == FD_PIPE);
	CHECK(procfs_fd_kind(getpid(), sv[0]) == FD_SOCKET);
	CHECK(file >= 0 && procfs_fd_kind(getpid(), file) == FD_FILE);
	CHECK(ev >= 0 && procfs_fd_kind(getpid(), ev) == FD_OTHER);
	close(p[1]);
	CHECK(procfs_fd_kind(getpid(), p[1]) == FD_UNKNOWN);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
	if (file >= 0)
		close(file);
	if (ev >= 0)
		close(ev);
	CHECK(strcmp(procfs_root(1234, root, sizeof root), "/proc/1234/root") == 0);
}

int
main(void)
{
	test_stat();
	test_syscall();
	test_schedstat();
	test_status();
	test_maps();
	test_fd_links();
	test_fd_kind();
	if (failures == 0)
		printf("unit-procfs: all passed\n");
	return failures ? 1 : 0;
}
