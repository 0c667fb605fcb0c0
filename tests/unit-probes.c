/* unit-probes.c: functions found by name for probes, C++ names as the
 * source writes them: the matching of mangled symbols, and in a running
 * C++ target (tests/targets/target-alloc-cxx) each name resolved to the
 * address nm gives its symbol. */
#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probes.h"
#include "unit.h"

static void
matching(void)
{
	/* ns::Parser::parse(char const*) and its overload (int). */
	static const char parse_s[] = "_ZN2ns6Parser5parseEPKc", parse_i[] = "_ZN2ns6Parser5parseEi";

	CHECK(probes_name_matches("malloc", "malloc"), "a C name is itself");
	CHECK(!probes_name_matches("malloc", "mallo"), "a prefix is not the name");
	CHECK(probes_name_matches(parse_s, parse_s), "a mangled name is itself");
	CHECK(probes_name_matches(parse_s, "ns::Parser::parse"), "without parameters: any overload");
	CHECK(probes_name_matches(parse_i, "ns::Parser::parse"), "without parameters: any overload");
	CHECK(probes_name_matches(parse_s, "ns::Parser::parse(char const*)"), "with parameters");
	CHECK(!probes_name_matches(parse_i, "ns::Parser::parse(char const*)"),
	      "with parameters: that overload only");
	CHECK(!probes_name_matches(parse_s, "Parser::parse"), "a qualified name is whole");
	CHECK(!probes_name_matches(parse_s, "ns::Parser::pars"), "a prefix is not the name");
	/* Template arguments hold parentheses of their own:
	 * void f<int (*)(int)>(int (*)(int)). */
	CHECK(probes_name_matches("_Z1fIPFiiEEvT_", "f<int (*)(int)>"), "template arguments");
	/* operator() is a name, not a parameter list: Fn::operator()(int). */
	CHECK(probes_name_matches("_ZN2FnclEi", "Fn::operator()"), "operator()");
	CHECK(probes_name_matches("_ZN2FnclEi", "Fn::operator()(int)"), "operator()(int)");
}

/* The address nm gives the symbol whose demangled name is `name`, in file. */
static uint64_t
nm_address(const char *file, const char *name)
{
	char cmd[4400], line[4096];
	uint64_t addr = 0;
	FILE *f;

	snprintf(cmd, sizeof cmd, "nm -C --defined-only '%s'", file);
	if ((f = popen(cmd, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		char *sp = strchr(line, ' ');

		line[strcspn(line, "\n")] = '\0';
		if (sp != NULL && strlen(sp) > 3 && strcmp(sp + 3, name) == 0)
			addr = strtoull(line, NULL, 16);
	}
	pclose(f);
	return addr;
}

/* Where the first mapping of file starts: the load bias of a PIE. */
static uint64_t
load_base(pid_t pid, const char *file)
{
	char path[64], line[4600], real[4096];
	uint64_t base = 0;
	FILE *f;

	if (realpath(file, real) == NULL)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (base == 0 && fgets(line, sizeof line, f) != NULL) {
		char *p = strchr(line, '/');

		line[strcspn(line, "\n")] = '\0';
		if (p != NULL && strcmp(p, real) == 0)
			base = strtoull(line, NULL, 16);
	}
	fclose(f);
	return base;
}

static void
resolving(void)
{
	const char *top = getenv("top_builddir");
	char target[4096], dir[] = "/tmp/unit-probes.XXXXXX", ready[4200];
	static const char *const names[][2] = {
		{ "make_small()", "make_small()" },
		{ "make_small", "make_small()" },
		{ "write_counts(double, unsigned long)", "write_counts(double, unsigned long)" },
		{ "write_counts", "write_counts(double, unsigned long)" },
	};
	struct probe_loc loc;
	uint64_t base;
	pid_t pid;

	snprintf(target, sizeof target, "%s/tests/targets/target-alloc-cxx", top ? top : ".");
	if (access(target, X_OK) != 0 || system("nm --version > /dev/null 2>&1") != 0 ||
	    mkdtemp(dir) == NULL) {
		printf("unit-probes: no %s or no nm: the resolution in a process is not checked\n",
		       target);
		return;
	}
	snprintf(ready, sizeof ready, "%s/ready", dir);
	if ((pid = fork()) == 0) {
		execl(target, target, dir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(ready, F_OK) != 0; i++)
		usleep(10000);
	CHECK(access(ready, F_OK) == 0, "%s did not start", target);
	base = load_base(pid, target);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		uint64_t want = nm_address(target, names[i][1]);
		int rc = probes_resolve(pid, names[i][0], &loc);

		CHECK(want != 0, "nm does not list %s", names[i][1]);
		CHECK(rc == PROBES_OK, "'%s' not found: %d", names[i][0], rc);
		if (rc == PROBES_OK) {
			CHECK(loc.addr == base + want, "'%s' at %#llx, nm: %#llx + %#llx", names[i][0],
			      (unsigned long long)loc.addr, (unsigned long long)base,
			      (unsigned long long)want);
			probe_loc_release(&loc);
		}
	}
	/* Three lambdas' static invokers: main::{lambda(int)#1}::_FUN(int)
	 * is one, "main::{lambda(int)#1}::_FUN" too, no such "_FUN" name
	 * stands alone. */
	CHECK(probes_resolve(pid, "main::{lambda(int)#1}::_FUN", &loc) == PROBES_OK,
	      "a lambda's invoker by its qualified name");
	probe_loc_release(&loc);
	/* overloaded(int) and overloaded(double): the name alone is two
	 * functions, each with its parameters one. */
	CHECK(probes_resolve(pid, "overloaded", &loc) == PROBES_AMBIGUOUS, "an overloaded name");
	for (int i = 0; i < 2; i++) {
		const char *name = i == 0 ? "overloaded(int)" : "overloaded(double)";
		int rc = probes_resolve(pid, name, &loc);

		CHECK(rc == PROBES_OK, "'%s' not found: %d", name, rc);
		if (rc == PROBES_OK) {
			CHECK(loc.addr == base + nm_address(target, name), "'%s' at %#llx", name,
			      (unsigned long long)loc.addr);
			probe_loc_release(&loc);
		}
	}
	CHECK(probes_resolve(pid, "no_such_function_here", &loc) == PROBES_NOFUNC, "a name of nothing");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(ready);
	snprintf(ready, sizeof ready, "%s/counts.json", dir);
	unlink(ready);
	rmdir(dir);
}

int
main(void)
{
	matching();
	resolving();
	return unit_exit("unit-probes");
}
