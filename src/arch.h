/* arch.h: the one place that knows the machine's registers.
 *
 * A port to another architecture (aarch64 next) adds a branch here and in
 * arch.c; nothing else in siprof names a register. */
#ifndef SIPROF_ARCH_H
#define SIPROF_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/user.h>

#if defined(__x86_64__)
typedef struct user_regs_struct arch_regs;
/* DWARF registers 0..16 on x86_64: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip. */
#define ARCH_DWARF_NREGS 17
#define ARCH_DWARF_SP 7
#define ARCH_DWARF_FP 6
#define ARCH_DWARF_PC 16
#define ARCH_STACK_REDZONE 128
#else
#error "siprof supports x86_64 only for now"
#endif

static inline uint64_t arch_regs_pc(const arch_regs *r) { return r->rip; }
static inline uint64_t arch_regs_sp(const arch_regs *r) { return r->rsp; }
static inline uint64_t arch_regs_fp(const arch_regs *r) { return r->rbp; }
/* The system call a stopped thread is in (orig_rax), or -1. */
static inline long arch_regs_syscall(const arch_regs *r) { return (long)r->orig_rax; }

/* At a ptrace stop: the system call the thread was blocked in when it was
 * interrupted (the kernel left -ERESTARTSYS .. -ERESTART_RESTARTBLOCK in
 * rax to restart it), or -1 when it was running in user space. */
static inline long
arch_regs_interrupted_syscall(const arch_regs *r)
{
	long ret = (long)r->rax;

	return (long)r->orig_rax >= 0 && ret <= -512 && ret >= -516 ? (long)r->orig_rax : -1;
}
/* The first argument of that system call. */
static inline uint64_t arch_regs_arg0(const arch_regs *r) { return r->rdi; }

/* Fill out[0..ARCH_DWARF_NREGS) in DWARF register order. The numbering is
 * also libunwind's (UNW_X86_64_RAX .. UNW_X86_64_RIP). */
void arch_regs_to_dwarf(const arch_regs *r, uint64_t out[ARCH_DWARF_NREGS]);

#endif
