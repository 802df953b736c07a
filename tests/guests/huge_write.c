/* Test guest that writes and reads with lengths and offsets far beyond guest
 * memory. */
/*
 * Prints one line "<case>: ret=<value>" per call with a result field, or
 * "<case>: survived" for interface v1 FileWrite, which has none. Buffers
 * start at the beginning of guest memory, which the boot page tables map
 * 1:1, so v1's guest-virtual buffers are valid where v2's gpas are.
 */
#include "runtime.h"

#define SEEK_SET  0
#define PAGE_SIZE 0x1000ULL
#define TEMP_PATH "/tmp/huge.bin"
/* Canonical but far above anything the boot page tables map. */
#define UNMAPPED_ADDRESS 0x00007f0000000000ULL

static uint64_t mem_start;
static uint64_t mem_size;

static void report(const char *name, int64_t ret)
{
	guest_print(name);
	guest_print(": ret=");
	guest_print_i64(ret);
	guest_print("\n");
}

static void write_case(const char *name, int fd, uint64_t buf, uint64_t len)
{
	int64_t ret = guest_write_fd(fd, (const void *)(uintptr_t)buf, len);

	if (GUEST_INTERFACE == 1) {
		guest_print(name);
		guest_print(": survived\n");
		return;
	}
	report(name, ret);
}

static void read_case(const char *name, int fd, uint64_t buf, uint64_t len)
{
	report(name, guest_read(fd, (void *)(uintptr_t)buf, len));
}

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	int fd;

	(void)cpu;
	mem_start = boot_info->phys_addr_start;
	mem_size = boot_info->phys_addr_end - mem_start;
	fd = guest_open(TEMP_PATH, HERMIT_O_CREAT | HERMIT_O_RDWR, 0600);
	report("open", fd >= 3 ? 0 : fd);

	write_case("write of all guest memory", fd, mem_start, mem_size);
	write_case("write one byte past memory", fd, mem_start, mem_size + 1);
	write_case("write of UINT64_MAX bytes", fd, mem_start + PAGE_SIZE,
		   UINT64_MAX);
	write_case("write of 1 TiB", fd, mem_start, 1ULL << 40);
	write_case("write from an unmapped address", fd, UNMAPPED_ADDRESS, 16);

	report("lseek to the start", guest_lseek(fd, 0, SEEK_SET));
	read_case("read one byte past memory", fd, mem_start, mem_size + 1);
	read_case("read of UINT64_MAX bytes", fd, mem_start + PAGE_SIZE,
		  UINT64_MAX);
	read_case("read into an unmapped address", fd, UNMAPPED_ADDRESS, 16);

	report("lseek to a negative offset", guest_lseek(fd, -1, SEEK_SET));
	report("lseek with an invalid whence", guest_lseek(fd, 0, 99));

	report("close", guest_close(fd));
	guest_print("huge done\n");
	return 0;
}
