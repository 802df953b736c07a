/* Test guest that raises #UD with an empty IDT, so the vCPU triple faults. */
#include "runtime.h"

struct idt_register {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	static const struct idt_register empty_idt = {.limit = 0, .base = 0};

	(void)boot_info;
	(void)cpu;
	guest_print("causing a triple fault\n");

	/* #UD cannot be delivered through a zero-limit IDT, nor can the
	 * #GP and #DF that follow, so the CPU shuts down. */
	__asm__ volatile("lidt %0\n\tud2" : : "m"(empty_idt) : "memory");

	guest_print("still running after ud2\n");
	return 1;
}
