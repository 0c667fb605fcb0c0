/* cmd.h: the subcommands, the exit codes, and the helpers they share
 * (cmd.c, in the library: a command depends on nothing of main's).
 *
 * To add a subcommand:
 *   1. src/cmd-NAME.c with `int cmd_NAME(int argc, char **argv)` and its
 *      usage text `const char cmd_NAME_usage[]` (every option, one line each);
 *   2. an entry in commands[] in src/siprof.c and a prototype below;
 *   3. a section in man/siprof.1 documenting the command and every option;
 *   4. tests/run-NAME*.sh driving it as a user would, listed in Makefile.am. */
#ifndef SIPROF_CMD_H
#define SIPROF_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "alloc.h"
#include "unwind.h"

/* Exit codes, documented in man/siprof.1 (EXIT STATUS). */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,        /* anything not listed below */
	EXIT_USAGE = 2,        /* the command line is wrong */
	EXIT_NOPROC = 3,       /* no such process, or it exited before siprof finished */
	EXIT_PERM = 4,         /* not permitted to trace the process */
	EXIT_BUSY = 5,         /* the process is already traced by another tracer */
	EXIT_NOTARGET = 6,     /* not a process siprof can profile (kernel thread, siprof) */
	EXIT_BADFILE = 7,      /* a session file that cannot be read */
	EXIT_UPLOAD = 8,       /* some profiles were not sent: they wait in the spool */
	EXIT_NOMATCH = 9,      /* record --threads matched no thread: no samples */
	EXIT_NOPROBES = 10,    /* record --alloc: this kernel or siprof's privileges
				* allow no uprobes */
	EXIT_INTERRUPTED = 130 /* SIGINT, SIGTERM or SIGHUP ended siprof early */
};

/* "siprof dump: ..." usage error: prints the message and a hint, returns EXIT_USAGE. */
int cmd_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The usage error for what getopt_long (with opterr 0 and a ':' first in
 * the option string) returned as ch: '?' or ':'. */
int cmd_bad_option(const char *cmd, int ch, char **argv);

/* Parse a PID argument; false (with a message printed) when it is not one. */
int cmd_parse_pid(const char *cmd, const char *arg, int *pid);
/* A list of process ids given as -p PID (repeated, or comma-separated:
 * -p 12,34) and, for attach and dump, as operands. */
struct cmd_pids {
	int *v;
	size_t n, cap;
};
/* Add the PIDs of arg ("12" or "12,34,56") to l; a PID given twice counts
 * once. False (with a message printed) when one is not a PID. */
bool cmd_parse_pids(const char *cmd, const char *arg, struct cmd_pids *l);
void cmd_pids_release(struct cmd_pids *l);

/* The sampler options of attach, record and dump, and their defaults,
 * defined here once; the --help texts quote them (CMD_STR). dump takes
 * only the copy options, -u and -s. */
#define CMD_RATE_DEFAULT 99          /* --rate, per second */
#define CMD_STACK_SIZE_DEFAULT_K 64  /* --stack-size, in KiB */
#define CMD_MAX_MEMORY_DEFAULT_M 256 /* --max-memory, in MiB */
#define CMD_STR_(x) #x
#define CMD_STR(x) CMD_STR_(x)
enum { CMD_OPT_MAX_MEMORY = 1100, CMD_OPT_THREADS };
/* Entries for a command's getopt_long table (short options "u:s:" and,
 * for CMD_SAMPLING_OPTIONS, "r:"). */
#define CMD_SAMPLING_COPY_OPTIONS                                    \
	{ "unwinder", required_argument, NULL, 'u' },                \
	{ "stack-size", required_argument, NULL, 's' }
#define CMD_SAMPLING_OPTIONS                                         \
	CMD_SAMPLING_COPY_OPTIONS,                                   \
	{ "rate", required_argument, NULL, 'r' },                    \
	{ "max-memory", required_argument, NULL, CMD_OPT_MAX_MEMORY }, \
	{ "threads", required_argument, NULL, CMD_OPT_THREADS }

struct cmd_sampling {
	bool copy_only;     /* dump: only -u, -s (and SIPROF_DEBUG_HOLD_US) */
	double rate_hz;
	enum unwind_kind unwinder;
	size_t stack_size;
	size_t max_memory;
	char **threads;     /* --threads, owned; NULL: every thread */
	/* Debugging aids for tests of siprof itself, built with configure
	 * --enable-debug-hooks only (HACKING.md):
	 * SIPROF_DEBUG_HOLD_US, SIPROF_DEBUG_UNWIND_US. */
	unsigned hold_us;   /* every stopped thread held this much longer */
	unsigned unwind_us; /* every stack copy this much slower to unwind */
};
/* The defaults; copy_only for a command that takes CMD_SAMPLING_COPY_OPTIONS. */
void cmd_sampling_init(struct cmd_sampling *s, bool copy_only);
void cmd_sampling_release(struct cmd_sampling *s);
/* Returns 1 when getopt's ch was a sampler option (s set), 0 when it was
 * not, or EXIT_USAGE after a message. */
int cmd_opt_sampling(const char *cmd, int ch, const char *arg, struct cmd_sampling *s);
/* After the options: --max-memory must hold SAMPLER_MIN_COPIES copies of
 * --stack-size, and the debugging variables are read (with a warning when
 * one is in effect). 0, or EXIT_USAGE after a message. */
int cmd_sampling_check(const char *cmd, struct cmd_sampling *s);
/* Into the recorder's options (attach, record); s keeps the thread list. */
struct recorder_opts;
void cmd_sampling_apply(const struct cmd_sampling *s, struct recorder_opts *rec);
/* The allocation options of attach and record (--alloc, --overhead,
 * --alloc-window, --uprobes), their help text and their check, defined
 * here once. */
enum { CMD_OPT_ALLOC = 1120, CMD_OPT_OVERHEAD, CMD_OPT_ALLOC_WINDOW, CMD_OPT_UPROBES };
#define CMD_ALLOC_OPTIONS                                                    \
	{ "alloc", no_argument, NULL, CMD_OPT_ALLOC },                       \
	{ "overhead", required_argument, NULL, CMD_OPT_OVERHEAD },           \
	{ "alloc-window", required_argument, NULL, CMD_OPT_ALLOC_WINDOW },   \
	{ "uprobes", required_argument, NULL, CMD_OPT_UPROBES }
#define CMD_ALLOC_HELP                                                           \
	"      --alloc            also profile allocations (malloc, free, ...) by call\n" \
	"                         site, in probing windows under --overhead\n"       \
	"      --overhead=PCT     the target's extra CPU time --alloc may cost, in\n"  \
	"                         percent (default 1, 0.01 to 100)\n"                 \
	"      --alloc-window=MS  probe windows of MS milliseconds (default: chosen),\n" \
	"                         or 'always' to probe all the time\n"                \
	"      --uprobes=HOW      auto (default: defined in tracefs where it can be\n" \
	"                         written) or pmu (never write tracefs)\n"
struct cmd_alloc {
	bool on;
	bool overhead_set, window_set, uprobes_set;
	struct alloc_opts opts;
};
void cmd_alloc_init(struct cmd_alloc *a);
/* As cmd_opt_sampling, for the allocation options. */
int cmd_opt_alloc(const char *cmd, int ch, const char *arg, struct cmd_alloc *a);
/* After the options: the others go with --alloc. 0, or EXIT_USAGE. */
int cmd_alloc_check(const char *cmd, const struct cmd_alloc *a);
/* Into the recorder's options (after cmd_sampling_apply: the unwinder). */
void cmd_alloc_apply(const struct cmd_alloc *a, struct recorder_opts *rec);
/* Before attaching, so that nothing is touched when probes cannot be
 * used: EXIT_OK, or EXIT_NOPROBES / EXIT_ERROR after the message. */
int cmd_alloc_probes_check(const struct cmd_alloc *a);
/* Load a session file: EXIT_OK, or EXIT_BADFILE after the one-line
 * message (d is then released). */
struct session_data;
int cmd_load_session(const char *path, struct session_data *d);

/* Output to a file, written to a new file of its own (file_create_temp:
 * mode 0600, never one that was there), fsynced and renamed over FILE when
 * complete, so that no reader sees half of it; or to standard output for
 * NULL or "-". open returns 0 after a message; close returns the exit code. */
struct cmd_output {
	FILE *f;
	char *tmp;
	const char *out;
};
int cmd_output_open(struct cmd_output *k, const char *out);
int cmd_output_close(struct cmd_output *k);

/* The class of thread-samples every command shows when -c is not given:
 * cpu, as the live view opens on and as perf, py-spy and pprof users
 * expect; every class together is -c wall. The --help texts and the man
 * page quote the name. */
#define CMD_CLASS_DEFAULT CLASS_CPU
#define CMD_CLASS_DEFAULT_NAME "cpu"
/* A selection's class before the command line said one. */
#define CMD_CLASS_UNSET (-2)

/* The selection options of report, export and diff: -c CLASS, -T TID|NAME,
 * and the long options --since (CMD_OPT_SINCE), --until (CMD_OPT_UNTIL),
 * --type (CMD_OPT_TYPE, a profile type's name) and --pid (CMD_OPT_PID).
 * cmd_selection_init starts with every sample of thread-samples and the
 * class unset; cmd_opt_selection returns 1 when ch was one of them (sel
 * set), 0 when it was not, or EXIT_USAGE after a message; after the
 * options, cmd_selection_check puts CMD_CLASS_DEFAULT in place of an
 * unset class (none for a type without classes), refuses a class for
 * such a type, and refuses a -T value that is the session file itself
 * when no file follows it (files: the words left after the options).
 * 0, or EXIT_USAGE after a message. */
enum { CMD_OPT_SINCE = 1000, CMD_OPT_UNTIL, CMD_OPT_TYPE };
/* --pid=PID: only the threads of one process of the session. */
enum { CMD_OPT_PID = 1010 };
struct selection;
void cmd_selection_init(struct selection *sel);
int cmd_opt_selection(const char *cmd, int ch, const char *arg, struct selection *sel);
int cmd_selection_check(const char *cmd, struct selection *sel, int files);

/* A class name in any case, or "wall" (-1: every class). */
int cmd_opt_class(const char *cmd, const char *arg, int *cls);
/* A time from the start of a session: 30, 30s, 2m, 1h; opt names the option. */
int cmd_opt_time(const char *cmd, const char *opt, const char *arg, uint32_t *secs);
/* A comma-separated list as a NULL-terminated array (NULL when empty);
 * cmd_free_list frees it. */
char **cmd_split_list(const char *arg);
void cmd_free_list(char **list);

/* The exit code for a failed tracer_attach. */
int cmd_exit_for_tracer(int tracer_status);

/* Flush stdout; false (after a message, unless the reader went away) when
 * writing failed. */
int cmd_finish_output(void);

int cmd_attach(int argc, char **argv);
extern const char cmd_attach_usage[];
int cmd_diff(int argc, char **argv);
extern const char cmd_diff_usage[];
int cmd_dump(int argc, char **argv);
extern const char cmd_dump_usage[];
int cmd_upload(int argc, char **argv);
extern const char cmd_upload_usage[];
/* Upload one session file as `siprof upload --url URL FILE` does (the
 * spool, retries, credentials from the environment); the exit code. */
int cmd_upload_file(const char *file, const char *url, bool quiet);
/* Before record starts a command: read the upload credentials now and take
 * them out of the environment the command inherits. EXIT_OK, or
 * EXIT_ERROR after a message. */
int cmd_upload_prepare(void);
/* 0 when url is one siprof uploads to, else a usage error for cmd. */
int cmd_upload_check_url(const char *cmd, const char *url);
int cmd_export(int argc, char **argv);
extern const char cmd_export_usage[];
int cmd_record(int argc, char **argv);
extern const char cmd_record_usage[];
int cmd_report(int argc, char **argv);
extern const char cmd_report_usage[];

#endif
