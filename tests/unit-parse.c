/* unit-parse: the parsers of numbers, sizes, times and rates that options,
 * the environment and session files go through: what each accepts, to the
 * value, and what each refuses (nan, inf, hex, spaces, signs, trailing
 * junk, overflow, out of range). The expected values are worked out by
 * hand. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "cmd.h"
#include "util.h"
#include "unit.h"

static void
number(const char *s, unsigned flags, double min, double max, int ok, double want)
{
	double v = -12345;
	int got = parse_number(s, flags, min, max, &v, NULL);

	CHECK(got == ok && (!ok || v == want), "parse_number(\"%s\") = %d (%g), not %d (%g)", s, got,
	      v, ok, want);
}

static void
number_rest(const char *s, double want, const char *rest)
{
	double v = 0;
	const char *r = NULL;
	int got = parse_number(s, NUM_FRACTION, 0, 1e9, &v, &r);

	CHECK(got && v == want && r != NULL && strcmp(r, rest) == 0,
	      "parse_number(\"%s\") with a unit: %d %g \"%s\"", s, got, v, r ? r : "(null)");
}

static void
integer(const char *s, long min, long max, int ok, long want)
{
	long v = -12345;
	int got = parse_long(s, min, max, &v);

	CHECK(got == ok && (!ok || v == want), "parse_long(\"%s\") = %d (%ld), not %d (%ld)", s, got, v,
	      ok, want);
}

static void
size(const char *s, int ok, size_t want)
{
	size_t v = 12345;
	int got = parse_size(s, &v);

	CHECK(got == ok && (!ok || v == want), "parse_size(\"%s\") = %d (%zu), not %d (%zu)", s, got, v,
	      ok, want);
}

static void
time_opt(const char *s, int ok, uint32_t want)
{
	uint32_t v = 12345;
	int rc = cmd_opt_time("unit", "--since", s, &v);

	CHECK((rc == 0) == ok && (!ok || v == want) && (ok || rc == EXIT_USAGE),
	      "cmd_opt_time(\"%s\") = %d (%u), not %s (%u)", s, rc, v, ok ? "0" : "EXIT_USAGE", want);
}

static void
rate(const char *s, int ok, double want)
{
	struct cmd_sampling smp;
	int rc;

	cmd_sampling_init(&smp, false);
	rc = cmd_opt_sampling("unit", 'r', s, &smp);
	CHECK((ok ? rc == 1 && smp.rate_hz == want : rc == EXIT_USAGE),
	      "--rate %s: %d (%g)", s, rc, smp.rate_hz);
	cmd_sampling_release(&smp);
}

static void
stack_size(const char *s, int ok, size_t want)
{
	struct cmd_sampling smp;
	int rc;

	cmd_sampling_init(&smp, false);
	rc = cmd_opt_sampling("unit", 's', s, &smp);
	CHECK((ok ? rc == 1 && smp.stack_size == want : rc == EXIT_USAGE),
	      "--stack-size %s: %d (%zu)", s, rc, smp.stack_size);
	cmd_sampling_release(&smp);
}

int
main(void)
{
	/* parse_number */
	number("0", 0, 0, 10, 1, 0);
	number("10", 0, 0, 10, 1, 10);
	number("11", 0, 0, 10, 0, 0);
	number("1.5", NUM_FRACTION, 0, 10, 1, 1.5);
	number("1.5", 0, 0, 10, 0, 0);
	number(".5", NUM_FRACTION, 0, 10, 0, 0);
	number("5.", NUM_FRACTION, 0, 10, 0, 0);
	number("-1", 0, -5, 5, 1, -1);
	number("-1", 0, 0, 5, 0, 0);
	number("+1", 0, 0, 5, 0, 0);
	number(" 1", 0, 0, 5, 0, 0);
	number("1 ", 0, 0, 5, 0, 0);
	number("", 0, 0, 5, 0, 0);
	number("nan", NUM_FRACTION | NUM_EXPONENT, -1e300, 1e300, 0, 0);
	number("inf", NUM_FRACTION | NUM_EXPONENT, -1e300, 1e300, 0, 0);
	number("infinity", NUM_FRACTION | NUM_EXPONENT, -1e300, 1e300, 0, 0);
	number("0x10", NUM_FRACTION | NUM_EXPONENT, 0, 1e9, 0, 0);
	number("1e3", NUM_FRACTION, 0, 1e9, 0, 0);
	number("1e3", NUM_FRACTION | NUM_EXPONENT, 0, 1e9, 1, 1000);
	number("1.5e+2", NUM_FRACTION | NUM_EXPONENT, 0, 1e9, 1, 150);
	number("1e400", NUM_FRACTION | NUM_EXPONENT, 0, 1e300, 0, 0);
	number("10abc", 0, 0, 100, 0, 0);
	number_rest("30s", 30, "s");
	number_rest("1.5m", 1.5, "m");
	number_rest("64KiB", 64, "KiB");

	/* parse_long */
	integer("0", 0, 10, 1, 0);
	integer("007", 0, 10, 1, 7);
	integer("1000", 1, 1000, 1, 1000);
	integer("1001", 1, 1000, 0, 0);
	integer("0", 1, 1000, 0, 0);
	integer("-3", -5, 5, 1, -3);
	integer("-3", 0, 5, 0, 0);
	integer("1.0", 0, 5, 0, 0);
	integer("9223372036854775807", 0, INT64_MAX, 1, INT64_MAX);
	integer("9223372036854775808", 0, INT64_MAX, 0, 0);
	integer("99999999999999999999999", 0, INT64_MAX, 0, 0);
	integer("12x", 0, 100, 0, 0);
	integer("", 0, 100, 0, 0);

	/* parse_size */
	size("0", 1, 0);
	size("65536", 1, 65536);
	size("64K", 1, 65536);
	size("64k", 1, 65536);
	size("64Ki", 1, 65536);
	size("64KiB", 1, 65536);
	size("64KB", 1, 65536);
	size("8M", 1, 8u << 20);
	size("1G", 1, 1u << 30);
	size("2g", 1, (size_t)2 << 30);
	size("64B", 0, 0);
	size("64T", 0, 0);
	size("64 K", 0, 0);
	size("-1", 0, 0);
	size("1.5M", 0, 0);
	size("K", 0, 0);
	size("", 0, 0);
	size("18446744073709551615", 1, SIZE_MAX);
	size("18446744073709551616", 0, 0);
	size("17179869184G", 0, 0); /* 2^34 GiB = 2^64 bytes */
	size("17179869183G", 1, (size_t)17179869183ull << 30);

	/* --since and --until */
	time_opt("0", 1, 0);
	time_opt("30", 1, 30);
	time_opt("30s", 1, 30);
	time_opt("2m", 1, 120);
	time_opt("1.5m", 1, 90);
	time_opt("1h", 1, 3600);
	time_opt("2.9", 1, 2);
	time_opt("4000000000", 1, 4000000000u);
	time_opt("4000001s", 1, 4000001);
	time_opt("1200000h", 0, 0); /* 4.32e9 s */
	time_opt("30ms", 0, 0);
	time_opt("30 s", 0, 0);
	time_opt("-1", 0, 0);
	time_opt("s", 0, 0);
	time_opt("1d", 0, 0);

	/* --rate and --stack-size */
	rate("1", 1, 1);
	rate("99", 1, 99);
	rate("1000", 1, 1000);
	rate("0", 0, 0);
	rate("1001", 0, 0);
	rate("99.5", 0, 0);
	rate("1e2", 0, 0);
	rate("nan", 0, 0);
	stack_size("4K", 1, 4096);
	stack_size("256K", 1, 256 << 10);
	stack_size("8M", 1, 8 << 20);
	stack_size("4095", 0, 0);
	stack_size("9M", 0, 0);
	return unit_exit("unit-parse");
}
