/* Test guest in which vCPU 0 exits while vCPU 1 is inside a file hypercall. */
/*
 * The first kernel argument chooses what vCPU 1 does, forever:
 *   file    writes BIG_SIZE bytes to a new file and seeks back, so that the
 *           host spends most of its time inside the write;
 *   stdin   reads descriptor 0 with FileRead, where the host may block;
 *   serial  reads with SerialReadBuffer, which also reads the host's
 *           standard input.
 * vCPU 0 waits until vCPU 1 has started, then exits with EXIT_CODE.
 */
#include "runtime.h"

#define SEEK_SET	0
#define BIG_SIZE	(8 << 20)
#define EXIT_CODE	7
#define USAGE_EXIT_CODE 2
#define TEMP_PATH	"/tmp/race.bin"

enum mode {
	MODE_UNSET,
	MODE_FILE,
	MODE_STDIN,
	MODE_SERIAL,
};

static char big[BIG_SIZE];
static int mode = MODE_UNSET;
static int started;

static void read_serial(char *buf, uint64_t size)
{
	struct hermit_v2_serial_read_buffer block = {
	    .maxlen = size,
	    .buf = (uintptr_t)buf,
	};

	guest_hypercall(HERMIT_V2_SERIAL_READ_BUFFER, (uintptr_t)&block);
}

void guest_ap_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	char small[16];
	int current;
	int fd = -1;

	(void)boot_info;
	if (cpu != 1)
		return;
	while ((current = __atomic_load_n(&mode, __ATOMIC_SEQ_CST)) ==
	       MODE_UNSET)
		guest_pause();
	if (current == MODE_FILE)
		fd =
		    guest_open(TEMP_PATH, HERMIT_O_CREAT | HERMIT_O_RDWR, 0600);
	for (;;) {
		__atomic_store_n(&started, 1, __ATOMIC_SEQ_CST);
		if (current == MODE_STDIN) {
			guest_read(0, small, sizeof(small));
		} else if (current == MODE_SERIAL) {
			read_serial(small, sizeof(small));
		} else {
			guest_write_fd(fd, big, sizeof(big));
			guest_lseek(fd, 0, SEEK_SET);
		}
	}
}

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	char arg[8];
	int chosen = MODE_UNSET;

	(void)cpu;
	if (guest_first_arg(boot_info, arg, sizeof(arg)) >= 0) {
		if (guest_streq(arg, "file"))
			chosen = MODE_FILE;
		else if (guest_streq(arg, "stdin"))
			chosen = MODE_STDIN;
		else if (guest_streq(arg, "serial"))
			chosen = MODE_SERIAL;
	}
	if (boot_info->cpu_count < 2 || chosen == MODE_UNSET) {
		guest_print("usage: exit_race file|stdin|serial, with 2 "
			    "vCPUs\n");
		return USAGE_EXIT_CODE;
	}
	__atomic_store_n(&mode, chosen, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&started, __ATOMIC_SEQ_CST))
		guest_pause();
	for (int i = 0; i < 1000; i++)
		guest_pause();
	guest_print("exiting\n");
	return EXIT_CODE;
}
