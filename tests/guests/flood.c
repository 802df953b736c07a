/* Test guest that floods the serial output: N MiB in 1 MiB SerialWriteBuffer
 * calls, then single-byte writes. */
/*
 * The first kernel argument is N. The output is N MiB of FLOOD_BYTE, then
 * FLOOD_SINGLE_BYTES times SINGLE_BYTE through SerialWriteByte, then the
 * line "\nflood done\n".
 */
#include "runtime.h"

#define CHUNK_SIZE	   (1 << 20)
#define FLOOD_BYTE	   'f'
#define SINGLE_BYTE	   'b'
#define FLOOD_SINGLE_BYTES 4096
#define MAX_MIB		   (1 << 20)
#define USAGE_EXIT_CODE	   2

static char chunk[CHUNK_SIZE];

/* Parses a decimal of at most MAX_MIB. */
static int parse_mib(const char *str, uint64_t *value)
{
	*value = 0;
	if (*str == '\0')
		return -1;
	for (; *str != '\0'; str++) {
		if (*str < '0' || *str > '9')
			return -1;
		*value = *value * 10 + (uint64_t)(*str - '0');
		if (*value > MAX_MIB)
			return -1;
	}
	return 0;
}

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	char arg[16];
	uint64_t mib;

	(void)cpu;
	if (guest_first_arg(boot_info, arg, sizeof(arg)) < 0 ||
	    parse_mib(arg, &mib) < 0) {
		guest_print("usage: flood MIB\n");
		return USAGE_EXIT_CODE;
	}
	memset(chunk, FLOOD_BYTE, sizeof(chunk));
	for (uint64_t i = 0; i < mib; i++)
		guest_write(chunk, sizeof(chunk));
	for (int i = 0; i < FLOOD_SINGLE_BYTES; i++)
		guest_write_byte(SINGLE_BYTE);
	guest_print("\nflood done\n");
	return 0;
}
