/* export-pprof.h: a profile as pprof's profile.proto, gzipped, and the
 * protobuf writer it is made with.
 *
 * One profile type per profile, the selection's (ptypes.h). Thread-samples
 * of one class (wall: every class) have sample types [samples/count,
 * CLASS/nanoseconds], each sample weighted by the sampling period; with
 * every_class, [samples/count, CLASS/nanoseconds for each class present,
 * wall/nanoseconds], so that a reader picks one (go tool pprof
 * -sample_index=lock) and a sample has its value in its own class's column
 * and in wall's. The memory types (alloc, inuse: a group, ptypes.h) make
 * one profile together, Go's heap profile: [alloc_objects/count,
 * alloc_space/bytes, inuse_objects/count, inuse_space/bytes], a sample per
 * stack and thread with zeros in the columns of a type it has none of,
 * period type space/bytes, and the selected type's bytes the default
 * (inuse_space for inuse, alloc_space for alloc). Another weighted type
 * (duration) has [TYPE_COUNTUNIT/count, TYPE/UNIT], e.g.
 * [duration_calls/count, duration/nanoseconds]; a type that counts itself
 * (errors, crashes) [TYPE/count]. default_sample_type is otherwise the
 * class (class_name) or the type.
 * Locations carry their function, file and line, with inlined frames as
 * several lines of one location (innermost first); mappings the module's
 * file name and build-id, the program's own first (readers take the first
 * mapping for the program); samples string labels: class (thread-samples),
 * thread (its name) and thread_id. Addresses are not kept in a session, so
 * locations carry lines only (has_functions, has_filenames,
 * has_line_numbers). */
#ifndef SIPROF_PPROF_H
#define SIPROF_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyze.h"
#include "profile.h"

struct pprof_info {
	const char *class_name; /* thread-samples: "cpu", "lock", ..., "wall";
				 * with every_class, the default sample type */
	bool every_class;       /* thread-samples: a sample type per class */
	const char *main_path;     /* the program's module, by path or build-id; */
	const char *main_build_id; /* either may be NULL */
	double rate_hz;         /* the session's sampling rate */
	uint64_t start_unix_ns; /* the selection's start */
	uint64_t duration_ns;   /* the selection's length */
	const char *comment;    /* or NULL */
};

/* The selection of p (its type: sel->type, with the rest of its group) as
 * a gzipped profile.proto in a new buffer (*out, *out_len; free with
 * free()). Returns the sum of the counts written, every member of a group
 * included (0 means an empty selection; the profile is still valid). */
uint64_t pprof_encode(const struct profile *p, const struct selection *sel,
		      const struct pprof_info *info, unsigned char **out, size_t *out_len);

/* The protobuf wire format, as profile.proto needs it: a growing buffer
 * (zero-initialised; free buf when done) that fields are appended to. */
struct pb {
	unsigned char *buf;
	size_t len, cap;
};
/* n bytes as they are. */
void pb_raw(struct pb *b, const void *p, size_t n);
/* v as a base-128 varint, least significant group first (1 to 10 bytes). */
void pb_varint(struct pb *b, uint64_t v);
/* A varint field; nothing when v is 0 (proto3's default). */
void pb_uint(struct pb *b, unsigned field, uint64_t v);
/* An int64 field: two's complement, so a negative v takes 10 bytes. */
void pb_int(struct pb *b, unsigned field, int64_t v);
/* A length-delimited field (bytes, a string), written even when empty. */
void pb_bytes(struct pb *b, unsigned field, const void *p, size_t n);
/* sub as a nested message field; sub is emptied for reuse. */
void pb_msg(struct pb *b, unsigned field, struct pb *sub);
/* n varints as one packed repeated field; nothing when n is 0. */
void pb_packed(struct pb *b, unsigned field, const uint64_t *v, size_t n);

#endif
