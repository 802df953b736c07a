/* Test guest that prints one line and then spins forever without exiting. */
#include "runtime.h"

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	(void)boot_info;
	(void)cpu;
	guest_print("spinning\n");
	for (;;)
		guest_pause();
}
