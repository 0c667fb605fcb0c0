/* arch.c: register layouts of the supported machines. */
#include "config.h"

#include "arch.h"

void
arch_regs_to_dwarf(const arch_regs *r, uint64_t out[ARCH_DWARF_NREGS])
{
	out[0] = r->rax;
	out[1] = r->rdx;
	out[2] = r->rcx;
	out[3] = r->rbx;
	out[4] = r->rsi;
	out[5] = r->rdi;
	out[6] = r->rbp;
	out[7] = r->rsp;
	out[8] = r->r8;
	out[9] = r->r9;
	out[10] = r->r10;
	out[11] = r->r11;
	out[12] = r->r12;
	out[13] = r->r13;
	out[14] = r->r14;
	out[15] = r->r15;
	out[16] = r->rip;
}
