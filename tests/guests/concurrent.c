/* Test guest whose vCPUs all write to, seek on and close one shared descriptor
 * at the same time. */
/*
 * Phase 1: vCPU 0 creates a file and every vCPU appends RECORD_ROUNDS
 * records of RECORD_SIZE bytes to it through the same descriptor, with an
 * lseek(SEEK_CUR) after each. vCPU 0 then reads the file back and counts
 * the records that are whole and belong to a known vCPU.
 * Phase 2: the other vCPUs go on writing while vCPU 0 closes the
 * descriptor; each of their results must be a full write or -EBADF.
 * Prints "records R", "malformed M", "phase 1 failures F", "close C" and
 * "race failures F"; needs at least 2 vCPUs.
 */
#include "runtime.h"

#define SEEK_SET      0
#define SEEK_CUR      1
#define RECORD_SIZE   32
#define RECORD_ROUNDS 32
#define RACE_ROUNDS   64
#define TEMP_PATH     "/tmp/shared.bin"

static int shared_fd = -1;
static int phase;
static uint64_t phase1_done;
static uint64_t phase2_done;
static uint64_t phase1_failures;
static uint64_t race_failures;

/* Fills `record` with "cpu C round RR" padded with '.' and a newline. */
static void make_record(char *record, unsigned cpu, unsigned round)
{
	memset(record, '.', RECORD_SIZE);
	memcpy(record, "cpu ", 4);
	record[4] = (char)('0' + cpu % 10);
	memcpy(record + 5, " round ", 7);
	record[12] = (char)('0' + round / 10 % 10);
	record[13] = (char)('0' + round % 10);
	record[RECORD_SIZE - 1] = '\n';
}

static int record_valid(const char *record, uint64_t cpu_count)
{
	char expected[RECORD_SIZE];
	unsigned cpu = (unsigned)(record[4] - '0');
	unsigned round = (unsigned)((record[12] - '0') * 10 + record[13] - '0');

	if (cpu >= cpu_count || round >= RECORD_ROUNDS)
		return 0;
	make_record(expected, cpu, round);
	return memcmp(record, expected, RECORD_SIZE) == 0;
}

static void write_records(unsigned cpu, int fd)
{
	char record[RECORD_SIZE];

	for (unsigned round = 0; round < RECORD_ROUNDS; round++) {
		make_record(record, cpu, round);
		if (guest_write_fd(fd, record, RECORD_SIZE) != RECORD_SIZE ||
		    guest_lseek(fd, 0, SEEK_CUR) < 0)
			__atomic_add_fetch(&phase1_failures, 1,
					   __ATOMIC_SEQ_CST);
	}
}

/* Writes until RACE_ROUNDS calls are done; vCPU 0 closes meanwhile. */
static void race_writes(unsigned cpu, int fd)
{
	char record[RECORD_SIZE];

	make_record(record, cpu, 0);
	for (unsigned round = 0; round < RACE_ROUNDS; round++) {
		int64_t ret = guest_write_fd(fd, record, RECORD_SIZE);

		if (ret != RECORD_SIZE && ret != -GUEST_EBADF)
			__atomic_add_fetch(&race_failures, 1, __ATOMIC_SEQ_CST);
	}
}

static void wait_for(uint64_t *counter, uint64_t value)
{
	while (__atomic_load_n(counter, __ATOMIC_SEQ_CST) < value)
		guest_pause();
}

void guest_ap_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	int fd;

	(void)boot_info;
	while ((fd = __atomic_load_n(&shared_fd, __ATOMIC_SEQ_CST)) < 0)
		guest_pause();
	write_records(cpu, fd);
	__atomic_add_fetch(&phase1_done, 1, __ATOMIC_SEQ_CST);

	while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 2)
		guest_pause();
	race_writes(cpu, fd);
	__atomic_add_fetch(&phase2_done, 1, __ATOMIC_SEQ_CST);
}

static void print_value(const char *label, int64_t value)
{
	guest_print(label);
	guest_print(" ");
	guest_print_i64(value);
	guest_print("\n");
}

/* Reads the file back record by record. */
static void check_records(int fd, uint64_t cpu_count)
{
	char record[RECORD_SIZE];
	int64_t records = 0;
	int64_t malformed = 0;

	guest_lseek(fd, 0, SEEK_SET);
	while (guest_read(fd, record, RECORD_SIZE) == RECORD_SIZE) {
		records++;
		malformed += !record_valid(record, cpu_count);
	}
	print_value("records", records);
	print_value("malformed", malformed);
}

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	uint64_t others = boot_info->cpu_count - 1;
	int fd;

	if (boot_info->cpu_count < 2 || boot_info->cpu_count > GUEST_MAX_CPUS) {
		guest_print("run this guest with 2 to 16 vCPUs\n");
		return 2;
	}
	fd = guest_open(TEMP_PATH, HERMIT_O_CREAT | HERMIT_O_RDWR, 0600);
	if (fd < 0) {
		print_value("open failed", fd);
		return 1;
	}
	__atomic_store_n(&shared_fd, fd, __ATOMIC_SEQ_CST);
	write_records(cpu, fd);
	wait_for(&phase1_done, others);
	check_records(fd, boot_info->cpu_count);
	print_value("phase 1 failures", (int64_t)phase1_failures);

	__atomic_store_n(&phase, 2, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 200; i++)
		guest_pause();
	print_value("close", guest_close(fd));
	wait_for(&phase2_done, others);
	print_value("race failures", (int64_t)race_failures);
	return 0;
}
