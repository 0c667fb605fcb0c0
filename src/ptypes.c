/* ptypes.c: the table of profile types. */
#include "config.h"

#include "ptypes.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static const struct ptype table[PT_COUNT] = {
	[PT_SAMPLES] = { "samples", "samples", "samples", "thread-samples", PT_SUM, true, false },
	[PT_ALLOC] = { "alloc", "bytes", "objects", "bytes allocated", PT_SUM, false, true,
		       "memory", "alloc_objects", "alloc_space", "space" },
	[PT_INUSE] = { "inuse", "bytes", "objects", "bytes in use", PT_SUM, false, true,
		       "memory", "inuse_objects", "inuse_space", "space" },
	[PT_DURATION] = { "duration", "nanoseconds", "calls", "call durations", PT_DIST, false, true },
	[PT_ERRORS] = { "errors", "events", "events", "errors", PT_SUM, false, false },
	[PT_CRASHES] = { "crashes", "events", "events", "crashes", PT_SUM, false, false },
};

const struct ptype *
ptype_get(unsigned id)
{
	return id < PT_COUNT ? &table[id] : NULL;
}

int
ptype_find(const char *name)
{
	for (int i = 0; i < PT_COUNT; i++)
		if (strcmp(table[i].name, name) == 0)
			return i;
	return -1;
}

unsigned
ptype_group_members(unsigned id, unsigned out[PT_COUNT])
{
	unsigned n = 0;

	if (id >= PT_COUNT)
		return 0;
	if (table[id].group == NULL) {
		out[0] = id;
		return 1;
	}
	for (unsigned i = 0; i < PT_COUNT; i++)
		if (table[i].group != NULL && strcmp(table[i].group, table[id].group) == 0)
			out[n++] = i;
	return n;
}

const char *
ptype_names(void)
{
	static char buf[256];

	if (buf[0] == '\0') {
		size_t at = 0;

		for (int i = 0; i < PT_COUNT; i++)
			at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s", i ? ", " : "",
					       table[i].name);
	}
	return buf;
}
