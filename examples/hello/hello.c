/* Example Hermit-ABI guest that prints its vCPU count and bootargs. */
/*
 * Built with the test guests' runtime (tests/guests/runtime), which
 * provides the Hermit notes, the _start entry point and the interface v2
 * hypercalls. The runtime calls guest_main on vCPU 0 and exits the VM with
 * its return value.
 */
#include "runtime.h"

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	const char *bootargs = guest_bootargs(boot_info);

	(void)cpu;
	guest_print("Hello from a Hermit-ABI guest on libuhyve!\n");

	guest_print("vCPUs: ");
	guest_print_u64(boot_info->cpu_count);
	guest_print("\n");

	guest_print("bootargs: ");
	guest_print(bootargs != NULL ? bootargs : "(no device tree)");
	guest_print("\n");
	return 0;
}
