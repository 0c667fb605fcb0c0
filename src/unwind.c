/* unwind.c: the back-end switch. */
#include "config.h"

#include "unwind.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct unwinder {
	const struct unwind_backend *be;
	void *state;
	struct symbols *sym;
};

static const struct {
	const char *name;
	const struct unwind_backend *be;
} backends[] = {
	[UNWIND_DW] = { "dw", &unwind_backend_dw },
	[UNWIND_LIBUNWIND] = { "libunwind", &unwind_backend_libunwind },
	[UNWIND_FP] = { "fp", &unwind_backend_fp },
};

bool
unwind_kind_parse(const char *s, enum unwind_kind *kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
		if (strcmp(s, backends[i].name) == 0) {
			*kind = (enum unwind_kind)i;
			return true;
		}
	}
	return false;
}

const char *
unwind_kind_name(enum unwind_kind kind)
{
	return backends[kind].name;
}

struct unwinder *
unwinder_new(enum unwind_kind kind, pid_t pid, struct symbols *sym, char **cause)
{
	struct unwinder *u = xcalloc(1, sizeof *u);

	u->be = backends[kind].be;
	u->sym = sym;
	u->state = u->be->open(pid, sym, cause);
	if (u->state == NULL) {
		free(u);
		return NULL;
	}
	return u;
}

void
unwinder_free(struct unwinder *u)
{
	if (u == NULL)
		return;
	u->be->close(u->state);
	free(u);
}

void
unwinder_unwind(struct unwinder *u, const struct snapshot *s, struct unwind_result *out)
{
	out->n = 0;
	out->truncated = true;
	if (s->how == SNAP_NONE)
		return;
	u->be->unwind(u->state, s, out);
	if (out->n == 0) {
		out->pcs[0] = s->pc;
		out->n = 1;
		out->truncated = true;
	}
	/* Whatever the back end: a caller in no module is a guess, not a
	 * frame. The stack ends before it. */
	for (size_t i = 1; i < out->n; i++) {
		if (!symbols_has_module(u->sym, out->pcs[i])) {
			out->n = i;
			out->truncated = true;
			break;
		}
	}
}
