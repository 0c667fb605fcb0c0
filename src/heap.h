/* heap.h: glibc malloc's own accounting, read from a process's memory. */
#ifndef SIPROF_HEAP_H
#define SIPROF_HEAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* What mallinfo2() would say inside the process, with mmapped chunks
 * counted as system and in use: system = arena + hblkhd, inuse =
 * uordblks + hblkhd (chunks held by the tcache count as in use, as
 * mallinfo2 counts them). */
struct heap_stats {
	uint64_t system, inuse;
	uint32_t arenas;
};

struct heap_reader;

/* A reader for pid's glibc heap. Nothing is read until heap_read. */
struct heap_reader *heap_reader_new(pid_t pid);
void heap_reader_free(struct heap_reader *h);

/* Read the heap now, from outside the process: no code runs in it and no
 * thread stops. False when it cannot be read (no glibc, no debug info for
 * it, another allocator, the process gone, lists changing under every
 * try): heap_reader_why says why. */
bool heap_read(struct heap_reader *h, struct heap_stats *out);

/* Why the last heap_read failed, for people; NULL after a success. The
 * text stays the same while the reason does. */
const char *heap_reader_why(const struct heap_reader *h);

#endif
