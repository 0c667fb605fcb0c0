/* unit-format: the shared text shapes against strings worked out by hand. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "format.h"

static int failures;

static void
expect(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		printf("FAIL %s: got \"%s\", want \"%s\"\n", what, got, want);
		failures++;
	}
}

static void
expect_size(const char *what, size_t got, size_t want)
{
	if (got != want) {
		printf("FAIL %s: got %zu, want %zu\n", what, got, want);
		failures++;
	}
}

int
main(void)
{
	char buf[256], small[12];
	size_t len;

	/* Frame labels: line known, line unknown, no file, no module. */
	len = format_frame_label(buf, sizeof buf, "crc_block", "/src/demo/siprof-demo.c", 32,
				 "/usr/bin/siprof-demo");
	expect("label with line", buf, "crc_block (siprof-demo.c:32) [siprof-demo]");
	expect_size("label length", len, strlen("crc_block (siprof-demo.c:32) [siprof-demo]"));
	format_frame_label(buf, sizeof buf, "__clone3", "../sysdeps/unix/sysv/linux/x86_64/clone3.S",
			   0, "libc.so.6");
	expect("label without line", buf, "__clone3 (clone3.S) [libc.so.6]");
	format_frame_label(buf, sizeof buf, "read", NULL, 12, "/lib/x86_64-linux-gnu/libc.so.6");
	expect("label without file", buf, "read [libc.so.6]");
	format_frame_label(buf, sizeof buf, "main", "", 7, "");
	expect("label with empty file and module", buf, "main");
	format_frame_label(buf, sizeof buf, "f", "a.c", -1, NULL);
	expect("label with negative line", buf, "f (a.c)");
	/* A control character in a file name is shown escaped, not sent. */
	format_frame_where(buf, sizeof buf, "/tmp/bad\033name.c", 3, NULL);
	expect("where with a control character", buf, " (bad\\x1bname.c:3)");
	/* Cut to fit, NUL-terminated, the length of what was written. */
	len = format_frame_label(small, sizeof small, "function", "file.c", 10, "mod");
	expect("label cut", small, "function (f");
	expect_size("label cut length", len, sizeof small - 1);

	/* Shares. */
	snprintf(buf, sizeof buf, "%.1f", format_share(1, 3));
	expect("share 1/3", buf, "33.3");
	snprintf(buf, sizeof buf, "%.1f", format_share(2, 3));
	expect("share 2/3", buf, "66.7");
	snprintf(buf, sizeof buf, "%.1f", format_share(5, 0));
	expect("share of nothing", buf, "0.0");
	snprintf(buf, sizeof buf, "%6.1f%%", format_share(1000, 1000));
	expect("share all", buf, " 100.0%");

	/* Sizes: bytes whole, then one decimal in binary units. */
	format_bytes(0, buf, sizeof buf);
	expect("0 bytes", buf, "0 B");
	format_bytes(1023, buf, sizeof buf);
	expect("1023 bytes", buf, "1023 B");
	format_bytes(1024, buf, sizeof buf);
	expect("1 KiB", buf, "1.0 KiB");
	format_bytes(12.3 * 1024 * 1024 + 1000, buf, sizeof buf);
	expect("12.3 MiB", buf, "12.3 MiB");
	format_bytes(71303168, buf, sizeof buf); /* 68 MiB */
	expect("68 MiB", buf, "68.0 MiB");
	format_bytes(3.0 * 1024 * 1024 * 1024 * 1024 * 1024, buf, sizeof buf);
	expect("3 PiB in TiB", buf, "3072.0 TiB");
	format_rate(2048, buf, sizeof buf);
	expect("rate up", buf, "+2.0 KiB/s");
	format_rate(-1.5 * 1024 * 1024, buf, sizeof buf);
	expect("rate down", buf, "-1.5 MiB/s");
	format_rate(0, buf, sizeof buf);
	expect("rate flat", buf, "+0 B/s");

	/* Sparklines. From zero with a blank: 0 -> " ", 50 of 100 -> level 4
	 * (U+2584), 100 -> U+2588, 6.25 -> round(0.5) = level 1 (U+2581). */
	{
		double cpu[] = { 0, 50, 100, 6.25, 150, -3 };

		len = format_spark(cpu, 6, 0, 100, true, buf, sizeof buf);
		expect("spark from zero", buf, " \u2584\u2588\u2581\u2588 ");
		expect_size("spark from zero count", len, 6);
	}
	/* Over the data's range without a blank: lowest is U+2581, and the
	 * seven steps above: (69-68)/(70-68)*7 = 3.5 -> 4, level 5 (U+2585). */
	{
		double rss[] = { 68, 69, 70 };

		format_spark(rss, 3, 68, 70, false, buf, sizeof buf);
		expect("spark over a range", buf, "\u2581\u2585\u2588");
	}
	/* A flat series draws its lowest level. */
	{
		double flat[] = { 5, 5 };

		format_spark(flat, 2, 5, 5, false, buf, sizeof buf);
		expect("spark flat", buf, "\u2581\u2581");
		format_spark(flat, 2, 5, 5, true, buf, sizeof buf);
		expect("spark flat blank", buf, "  ");
	}
	/* Whole characters only: 3 bytes each, 11 fit 3 of them. */
	{
		double full[] = { 100, 100, 100, 100, 100 };

		len = format_spark(full, 5, 0, 100, true, small, sizeof small);
		expect("spark cut", small, "\u2588\u2588\u2588");
		expect_size("spark cut count", len, 3);
	}

	if (failures == 0)
		printf("unit-format: all passed\n");
	return failures ? 1 : 0;
}
