/* Test guest that opens one file until the host rejects the open, then
 * closes every descriptor and opens it once more. */
/*
 * The first kernel argument is the path. The guest prints:
 *   opened N        descriptors it got before the first failure
 *   error E         the result of the failing open (-errno)
 *   close failures C
 *   reopened R      the result of the open after closing everything
 */
#include "runtime.h"

/* More than the host's table holds, so the loop ends on an error. */
#define MAX_ATTEMPTS	4096
#define MAX_PATH	256
#define USAGE_EXIT_CODE 2

static int fds[MAX_ATTEMPTS];

static void print_value(const char *label, int64_t value)
{
	guest_print(label);
	guest_print(" ");
	guest_print_i64(value);
	guest_print("\n");
}

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	char path[MAX_PATH];
	int opened = 0;
	int error = 0;
	int failures = 0;
	int fd;

	(void)cpu;
	if (guest_first_arg(boot_info, path, sizeof(path)) < 0) {
		guest_print("usage: fd_exhaust PATH\n");
		return USAGE_EXIT_CODE;
	}
	while (opened < MAX_ATTEMPTS) {
		fd = guest_open(path, HERMIT_O_RDONLY, 0);
		if (fd < 0) {
			error = fd;
			break;
		}
		fds[opened++] = fd;
	}
	print_value("opened", opened);
	print_value("error", error);

	for (int i = 0; i < opened; i++)
		failures += guest_close(fds[i]) != 0;
	print_value("close failures", failures);

	fd = guest_open(path, HERMIT_O_RDONLY, 0);
	print_value("reopened", fd);
	if (fd >= 0)
		guest_close(fd);
	return 0;
}
