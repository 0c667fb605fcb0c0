/* text.c: names made safe for terminals, text files, JSON and protobuf.
 *
 * UTF-8 is decoded as strictly as jansson and XML parsers check it: no
 * overlong forms, no surrogates, nothing above U+10FFFF. Each invalid
 * sequence (its longest prefix that could have begun a character) becomes
 * one U+FFFD, as Unicode recommends. */
#include "config.h"

#include "text.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define RING 8

static _Thread_local struct {
	char *buf;
	size_t cap;
} ring[RING];
static _Thread_local unsigned ring_next;

/* Length of the valid UTF-8 character at s, its code point in *cp; or 0,
 * with *bad set to the number of bytes (at least 1) to replace. */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	uint32_t v;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		lo = c == 0xe0 ? 0xa0 : lo; /* overlong */
		hi = c == 0xed ? 0x9f : hi; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		lo = c == 0xf0 ? 0x90 : lo; /* overlong */
		hi = c == 0xf4 ? 0x8f : hi; /* above U+10FFFF */
	} else {
		*bad = 1;
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		/* The terminating NUL fails here too. */
		if (s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		v = v << 6 | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = v;
	return n;
}

/* Characters text_safe shows as escapes: controls, and the invisible ones
 * that reorder or break what a terminal shows around them. */
static bool
shown_escaped(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0xfffe || cp == 0xffff;
}

static size_t
put_escape(char *out, uint32_t cp)
{
	switch (cp) {
	case '\n':
		return (size_t)sprintf(out, "\\n");
	case '\t':
		return (size_t)sprintf(out, "\\t");
	case '\r':
		return (size_t)sprintf(out, "\\r");
	default:
		return (size_t)sprintf(out, cp < 0x80 ? "\\x%02x" : "\\u%04x", (unsigned)cp);
	}
}

/* Write the converted s to out (4 bytes per byte of s at most, and a NUL)
 * when out is not NULL; return whether anything changed. */
static bool
convert(const char *s, bool escape, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	bool changed = false;
	uint32_t cp;
	size_t len, bad;

	while (*p != '\0') {
		len = utf8_decode(p, &cp, &bad);
		if (len == 0) {
			if (out != NULL) {
				memcpy(out, "\xef\xbf\xbd", 3); /* U+FFFD */
				out += 3;
			}
			p += bad;
			changed = true;
			continue;
		}
		if (escape && shown_escaped(cp)) {
			if (out != NULL)
				out += put_escape(out, cp);
			p += len;
			changed = true;
			continue;
		}
		if (out != NULL) {
			memcpy(out, p, len);
			out += len;
		}
		p += len;
	}
	if (out != NULL)
		*out = '\0';
	return changed;
}

static char *
convert_into(const char *s, bool escape, char *buf)
{
	convert(s, escape, buf);
	return buf;
}

static const char *
convert_ring(const char *s, bool escape)
{
	size_t need;
	unsigned i;

	if (!convert(s, escape, NULL))
		return s;
	need = 4 * strlen(s) + 1;
	i = ring_next++ % RING;
	if (ring[i].cap < need) {
		ring[i].buf = xrealloc(ring[i].buf, need);
		ring[i].cap = need;
	}
	return convert_into(s, escape, ring[i].buf);
}

const char *
text_safe(const char *s)
{
	return convert_ring(s, true);
}

const char *
text_utf8(const char *s)
{
	return convert_ring(s, false);
}

char *
text_safe_dup(const char *s)
{
	return convert_into(s, true, xmalloc(4 * strlen(s) + 1));
}
