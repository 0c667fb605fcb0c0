/* gopclntab.h: function names, source lines and inlined calls from a Go
 * program's own table (.gopclntab), for Go binaries without DWARF.
 *
 * The Go linker writes, whatever -ldflags='-s -w' strips, a table from
 * program counters to functions, files and lines that the runtime uses
 * for its own tracebacks (runtime/symtab.go). Read are the layouts of Go
 * 1.16-1.17 (magic 0xfffffffa), 1.18-1.19 (0xfffffff0) and 1.20 and later
 * (0xfffffff1). The table is found by its section name, or, in a file
 * without section headers, by its header in a read-only segment. Inlined
 * calls come from FUNCDATA_InlTree and PCDATA_InlTreeIndex; from Go 1.18
 * on they are located through the runtime's moduledata (found by the
 * pointer it holds to the table), and are missing when that is not found
 * (a position-independent executable whose pointers are relocated at run
 * time). Every offset read is checked against the file: a damaged or
 * hostile table gives no frames, never a crash. */
#ifndef SIPROF_GOPCLNTAB_H
#define SIPROF_GOPCLNTAB_H

#include <stddef.h>
#include <stdint.h>

struct gopclntab;

struct gopclntab_frame {
	const char *function; /* as Go names it: main.spin, runtime.futex */
	const char *file;     /* as the compiler saw it, or NULL */
	int line;             /* 0 when unknown */
};

/* Open the Go table of the ELF file at path. NULL when the file has none
 * (or cannot be read): *cause, when cause is not NULL, then says why,
 * and is left NULL for a file that simply is no Go program. */
struct gopclntab *gopclntab_open(const char *path, char **cause);
void gopclntab_free(struct gopclntab *t);

/* Describe pc, an address in the file's own terms (load bias removed):
 * up to max frames, the innermost inlined call first and the function
 * that contains pc last. Returns how many were written; 0 when pc is in
 * no Go function. The strings live as long as t. */
size_t gopclntab_lookup(const struct gopclntab *t, uint64_t pc, struct gopclntab_frame *frames,
                        size_t max);

/* The Go version family the table was written by: "1.16", "1.18" or
 * "1.20" (meaning that release or a later one with the same layout). */
const char *gopclntab_version(const struct gopclntab *t);

#endif
