/* export-svg.h: flame graphs as self-contained SVG files.
 *
 * The SVG carries its own script and needs no network: hovering a frame
 * shows its name, samples and share; clicking zooms to it (click the
 * background or press Escape to reset); the search box (or Ctrl-F, or a
 * '#search=REGEX' fragment in the address) highlights matching frames and
 * shows their share; '#zoom=REGEX' opens zoomed into the widest frame whose
 * name matches (its script is src/flame.js). Widths are the selection's
 * values in its type's unit. Frames are merged along the path by the
 * profile's rule for the same function: the same name and module path
 * (profile.h). */
#ifndef SIPROF_FLAME_H
#define SIPROF_FLAME_H

#include <stdbool.h>
#include <stdio.h>

#include "analyze.h"
#include "export.h"
#include "session.h"

struct flame_opts {
	const char *title;
	bool icicle;                 /* root at the top */
	struct export_prefix prefix; /* root frames per thread / class */
};

/* The flame graph of the selection of d. */
void flame_write_svg(FILE *f, const struct session_data *d, const struct selection *sel,
		     const struct flame_opts *o);

/* The differential flame graph: the shape of new, each frame coloured by
 * how its share of all samples changed from base (red grew, blue shrank,
 * the deeper the colour the larger the change). */
void flame_write_diff_svg(FILE *f, const struct session_data *base,
			  const struct selection *base_sel, const struct session_data *new,
			  const struct selection *new_sel, const struct flame_opts *o);

#endif
