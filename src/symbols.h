/* symbols.h: program counters to functions, source lines and modules.
 *
 * One symbols object serves one process for the whole run, over one Dwfl
 * (libdw) that the libdw unwinder shares. Results are cached by (module,
 * offset), modules being known by build-id: the second sight of a pc never
 * touches DWARF again. Separate debug files are found under /usr/lib/debug
 * (by build-id or debuglink); a process in another mount namespace has its
 * files opened through /proc/PID/root. */
#ifndef SIPROF_SYMBOLS_H
#define SIPROF_SYMBOLS_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct symbols;

struct sym_module {
	uint32_t id;       /* small and stable for the run */
	char *path;        /* as the process maps it (its own mount namespace) */
	const char *name;  /* basename of path */
	char *build_id;    /* lowercase hex, or NULL */
	bool has_symbols;  /* a symbol table beyond the dynamic one */
	bool has_dwarf;    /* DWARF (in the file or a separate debug file) */
	bool warned;       /* used by callers that warn once per module */
};

struct sym_frame {
	char *function; /* demangled; NULL when unknown */
	char *file;     /* source file (full path as in DWARF), or NULL */
	int line;       /* 0 when unknown */
	bool inlined;   /* inlined into the frame after it */
};

/* What one pc is: its module and one frame per inlining level, innermost
 * first (n >= 1). */
struct sym_result {
	const struct sym_module *module; /* NULL: the pc is in no known module */
	uint64_t offset;                 /* pc - module load address (or the pc) */
	size_t n;
	struct sym_frame *frames;
	unsigned generation; /* for a pc in no module: as of which mappings */
};

/* Open symbols for pid: reads its mappings. NULL with *cause on failure. */
struct symbols *symbols_new(pid_t pid, char **cause);
/* The same from maps, the text of /proc/PID/maps as read earlier, for a
 * process that may be gone since (its files are read from the disk). */
struct symbols *symbols_new_maps(pid_t pid, const char *maps, char **cause);
void symbols_free(struct symbols *sym);

/* The Dwfl, for the libdw unwinder. */
Dwfl *symbols_dwfl(struct symbols *sym);
/* The process's executable as an ELF file that lives as long as the Dwfl,
 * for dwfl_attach_state, which makes its unwinding backend from it. Given
 * none, libdw borrows the backend of the first module it finds and keeps
 * using it after that module is gone (an exec, a dlclose) and freed. NULL
 * when it cannot be opened. */
Elf *symbols_arch_elf(struct symbols *sym);

/* Re-read the process's mappings (after dlopen or exec); modules that did
 * not move keep their caches. Rate-limited to a few times a second unless
 * force is set. */
void symbols_refresh(struct symbols *sym, bool force);
/* Counts the re-reads of the mappings: what was learnt of the modules
 * under an older count may be stale. */
unsigned symbols_generation(const struct symbols *sym);

/* Describe pc, a return address already moved into its call instruction
 * (pc - 1) for every frame but the innermost. Never NULL; owned by sym. A
 * pc in no module is tried again after the mappings are next re-read, so
 * callers must not keep such a result (module NULL) as final. */
const struct sym_result *symbols_lookup(struct symbols *sym, uint64_t pc);

/* True when pc lies inside a module of the process (re-reading the
 * mappings, rate-limited, when it does not). */
bool symbols_has_module(struct symbols *sym, uint64_t pc);

/* The build-id (hex) of the module mapped from path, or NULL. */
const char *symbols_build_id_of(struct symbols *sym, const char *path);

/* Look-ups that reached DWARF and those served from the cache. */
void symbols_stats(const struct symbols *sym, unsigned long *misses,
		   unsigned long *hits);

#endif
