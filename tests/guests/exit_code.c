/* Test guest that exits with the code given as its first kernel argument. */
#include "runtime.h"

/* Exit code when the argument is missing or not a decimal integer. */
#define USAGE_EXIT_CODE 2

/* Parses an optionally negative decimal that fits an int. */
static int parse_int(const char *str, int *value)
{
	int negative = *str == '-';
	int64_t magnitude = 0;

	if (negative)
		str++;
	if (*str == '\0')
		return -1;
	for (; *str != '\0'; str++) {
		if (*str < '0' || *str > '9')
			return -1;
		magnitude = magnitude * 10 + (*str - '0');
		if (magnitude > (int64_t)INT32_MAX + 1)
			return -1;
	}
	if (!negative && magnitude > INT32_MAX)
		return -1;
	*value = (int)(negative ? -magnitude : magnitude);
	return 0;
}

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	char arg[32];
	int code;

	(void)cpu;
	if (guest_first_arg(boot_info, arg, sizeof(arg)) < 0) {
		guest_print("missing exit code argument\n");
		return USAGE_EXIT_CODE;
	}
	if (parse_int(arg, &code) < 0) {
		guest_print("invalid exit code: ");
		guest_print(arg);
		guest_print("\n");
		return USAGE_EXIT_CODE;
	}
	guest_exit(code);
}
