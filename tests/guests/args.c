/* Test guest that prints its arguments (v1) or its bootargs (v2). */
#include "runtime.h"

#if GUEST_INTERFACE == 1

static void print_indexed(const char *label, int index, const char *value)
{
	guest_print(label);
	guest_print("[");
	guest_print_u64((uint64_t)index);
	guest_print("]=");
	guest_print(value);
	guest_print("\n");
}

/* The host pads the environment with empty strings, which are skipped and
 * not counted. */
int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	const struct guest_args *args = guest_load_args();
	int printed = 0;

	(void)boot_info;
	(void)cpu;
	if (args == NULL) {
		guest_print("invalid Cmdsize result\n");
		return 1;
	}
	for (int i = 0; i < args->argc; i++)
		print_indexed("arg", i, args->argv[i]);
	for (int i = 0; i < args->envc; i++) {
		if (args->envp[i][0] != '\0')
			print_indexed("env", printed++, args->envp[i]);
	}
	return 0;
}

#else /* GUEST_INTERFACE == 2 */

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	const char *bootargs = guest_bootargs(boot_info);

	(void)cpu;
	if (bootargs == NULL) {
		guest_print("no /chosen/bootargs in the device tree\n");
		return 1;
	}
	guest_print("bootargs=");
	guest_print(bootargs);
	guest_print("\n");
	return 0;
}

#endif /* GUEST_INTERFACE */
