/* Test guest that greets through both serial hypercalls and exits with 0. */
#include "runtime.h"

#define VERSION_TEXT (GUEST_INTERFACE == 1 ? "v1" : "v2")

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	static const char bytewise[] = "Byte by byte from the ";

	(void)boot_info;
	(void)cpu;

	guest_print("Hello from the ");
	guest_print(VERSION_TEXT);
	guest_print(" guest!\n");

	/* v1: Uart port; v2: SerialWriteByte. */
	for (const char *c = bytewise; *c != '\0'; c++)
		guest_write_byte(*c);
	for (const char *c = VERSION_TEXT; *c != '\0'; c++)
		guest_write_byte(*c);
	for (const char *c = " guest!\n"; *c != '\0'; c++)
		guest_write_byte(*c);
	return 0;
}
