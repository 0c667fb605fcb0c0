/* A library the chain target loads with dlopen: its frames must be named. */
#include <stdatomic.h>

extern atomic_int plugin_ready;
volatile int plugin_never; /* never set: plugin_leaf is not endless */
atomic_int plugin_ready;
volatile int plugin_never; /* never set: plugin_leaf is not endless */

__attribute__((noinline)) static void
plugin_leaf(volatile unsigned long *x)
{
	while (!plugin_never) *x = *x * 31 + 7; /* PLUGIN-LEAF */
}

__attribute__((noinline)) void
plugin_spin(void)
{
	volatile unsigned long x = 1;

	atomic_store(&plugin_ready, 1);
	plugin_leaf(&x);
	__asm__ volatile("" ::: "memory");
}
