/* names.h: function names as people read them.
 *
 * Symbols are demangled as gdb and binutils do (libiberty: C++, Rust's
 * legacy and v0 manglings), with the noise of each toolchain hidden (Rust's
 * hash, LLVM's .llvm.N, Go's .abi0). DWARF functions are named as gdb names
 * them: the linkage name for C and C++ when there is one, otherwise the
 * qualified name built from the DIE's scopes (namespaces, classes, the
 * function around a lambda); Rust always from its scopes and generic
 * arguments, since its linkage names carry hashes. glibc's internal
 * aliases give way to the exported name at the same address, and PLT stubs
 * are named NAME@plt. Long names can be shortened for display. */
#ifndef SIPROF_NAMES_H
#define SIPROF_NAMES_H

#include <elfutils/libdw.h>
#include <gelf.h>
#include <stddef.h>

/* name demangled (C++, Rust legacy or v0), Rust's hash and any .llvm.N
 * suffix hidden, Go's .abi0 suffix dropped; a copy of name when it is not
 * mangled. NULL for NULL. The caller frees the result. */
char *names_demangle(const char *name);

/* The name of a function DIE (a subprogram or an inlined subroutine), as
 * gdb shows it; NULL when it has none. The caller frees the result. */
char *names_die(Dwarf_Die *die);

/* The exported name of the function at addr (an address in elf's own
 * terms) of size bytes: a global or weak, default-visibility function in
 * elf's .dynsym at the same address and size, the one with the fewest
 * leading underscores. NULL when there is none. The caller frees it. */
char *names_public(Elf *elf, GElf_Addr addr, GElf_Xword size);

/* NAME@plt when addr (in elf's own terms) lies in a PLT entry (.plt,
 * .plt.sec or .plt.got) that jumps through a relocated slot of NAME; NULL
 * otherwise. The caller frees the result. */
char *names_plt(Elf *elf, GElf_Addr addr);

/* name for a narrow display: a long name (over width bytes) has its
 * template and generic argument lists collapsed to <…>, innermost scopes
 * and the function's own name kept. Returns name itself when it is short
 * enough, else buf (of len bytes). */
const char *names_short(const char *name, size_t width, char *buf, size_t len);

/* Drop the caches of DWARF scopes (call when the Dwarf handles they were
 * made from are freed). */
void names_flush(void);

#endif
