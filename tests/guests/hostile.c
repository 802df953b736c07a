/* Test guest that passes addresses outside guest memory to hypercalls. */
/*
 * Every line reads "<call> <case>: ret=<value>" for calls with a result
 * field (the expected values are -14 EFAULT, or -22 EINVAL for a path
 * without NUL), or "<call> <case>: survived" for calls without one. The
 * last page of guest memory is filled with 'A', so output that contains
 * "AAAA" means the host wrote from a buffer it should have rejected.
 */
#include "runtime.h"

#define PAGE_SIZE	0x1000ULL
#define LARGE_PAGE_SIZE 0x200000ULL
#define PTE_PRESENT	0x1ULL
#define PTE_WRITABLE	0x2ULL
#define PTE_HUGE	0x80ULL
#define PTE_ADDR_MASK	0x000ffffffffff000ULL
#define FILL_BYTE	'A'

/* An address that is never guest memory. v1 uses the 3-4 GiB device window
 * and v2 an address beyond the 52-bit maximum physical address width. */
#if GUEST_INTERFACE == 1
#define FAR_OUTSIDE 0xfffffff0ULL
#else
#define FAR_OUTSIDE (1ULL << 60)
#endif

struct call {
	uint16_t port;
	const char *name;
};

/* The calls that take a parameter block, so Exit is left out. */
static const struct call block_calls[] = {
#if GUEST_INTERFACE == 1
    {HERMIT_V1_FILE_WRITE, "write"},
    {HERMIT_V1_FILE_OPEN, "open"},
    {HERMIT_V1_FILE_CLOSE, "close"},
    {HERMIT_V1_FILE_READ, "read"},
    {HERMIT_V1_FILE_LSEEK, "lseek"},
    {HERMIT_V1_CMDSIZE, "cmdsize"},
    {HERMIT_V1_CMDVAL, "cmdval"},
    {HERMIT_V1_FILE_UNLINK, "unlink"},
    {HERMIT_V1_SERIAL_WRITE_BUFFER, "serial write"},
#else
    {HERMIT_V2_SERIAL_WRITE_BUFFER, "serial write"},
    {HERMIT_V2_SERIAL_READ_BUFFER, "serial read"},
    {HERMIT_V2_FILE_WRITE, "write"},
    {HERMIT_V2_FILE_OPEN, "open"},
    {HERMIT_V2_FILE_CLOSE, "close"},
    {HERMIT_V2_FILE_READ, "read"},
    {HERMIT_V2_FILE_LSEEK, "lseek"},
    {HERMIT_V2_FILE_UNLINK, "unlink"},
#endif
};

/* A parameter block or path address. */
struct place {
	const char *name;
	uint64_t gpa;
};

struct buffer_case {
	const char *name;
	uint64_t buf;
	uint64_t len;
};

static uint64_t mem_start;
static uint64_t mem_end;

/* Page-table pages for mapping the last page when the host's identity
 * mapping stops before the end of guest memory. */
static uint64_t spare_pdpt[512] __attribute__((aligned(PAGE_SIZE)));
static uint64_t spare_pd[512] __attribute__((aligned(PAGE_SIZE)));

static void report_ret(const char *call, const char *case_name, int64_t ret)
{
	guest_print(call);
	guest_print(" ");
	guest_print(case_name);
	guest_print(": ret=");
	guest_print_i64(ret);
	guest_print("\n");
}

static void report_survived(const char *call, const char *case_name)
{
	guest_print(call);
	guest_print(" ");
	guest_print(case_name);
	guest_print(": survived\n");
}

static uint64_t *table_at(uint64_t entry)
{
	return (uint64_t *)(uintptr_t)(entry & PTE_ADDR_MASK);
}

/* Returns the next-level table of *entry, installing spare if absent. */
static uint64_t *next_table(uint64_t *entry, uint64_t *spare)
{
	if (!(*entry & PTE_PRESENT))
		*entry = (uintptr_t)spare | PTE_PRESENT | PTE_WRITABLE;
	return table_at(*entry);
}

/* Identity-maps the 2 MiB page that contains gpa unless it is mapped. The
 * page tables themselves lie in identity-mapped guest memory. */
static void map_large_page(uint64_t gpa)
{
	uint64_t cr3, *pdpt, *pd, *entry;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pdpt = next_table(&table_at(cr3)[(gpa >> 39) & 511], spare_pdpt);
	entry = &pdpt[(gpa >> 30) & 511];
	if ((*entry & PTE_PRESENT) && (*entry & PTE_HUGE))
		return;
	pd = next_table(entry, spare_pd);
	entry = &pd[(gpa >> 21) & 511];
	if (!(*entry & PTE_PRESENT))
		*entry = (gpa & ~(LARGE_PAGE_SIZE - 1)) | PTE_PRESENT |
			 PTE_WRITABLE | PTE_HUGE;
	__asm__ volatile("invlpg (%0)" : : "r"(gpa) : "memory");
}

static char *last_page(void)
{
	return (char *)(uintptr_t)(mem_end - PAGE_SIZE);
}

static int last_page_unchanged(void)
{
	const char *page = last_page();

	for (uint64_t i = 0; i < PAGE_SIZE; i++) {
		if (page[i] != FILL_BYTE)
			return 0;
	}
	return 1;
}

static void send_blocks_outside(void)
{
	const struct place places[] = {
	    {"block far outside memory", FAR_OUTSIDE},
	    {"block at the end of memory", mem_end},
	    {"block crossing the end of memory", mem_end - 4},
	    {"block crossing the start of memory", mem_start - 8},
	};
	/* With memory at gpa 0 nothing lies below the start. */
	size_t count = mem_start >= 8 ? 4 : 3;

	for (size_t i = 0; i < sizeof(block_calls) / sizeof(block_calls[0]);
	     i++) {
		for (size_t j = 0; j < count; j++) {
			guest_hypercall(block_calls[i].port, places[j].gpa);
			report_survived(block_calls[i].name, places[j].name);
		}
	}
}

static void send_bad_paths(void)
{
	/* The first two expect -EFAULT, the last two -EINVAL. */
	const struct place paths[] = {
	    {"path far outside memory", FAR_OUTSIDE},
	    {"path past the end of memory", mem_end + PAGE_SIZE},
	    {"path unterminated", mem_end - PAGE_SIZE},
	    {"path running off the end", mem_end - 16},
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *path = (const char *)(uintptr_t)paths[i].gpa;

		report_ret("open", paths[i].name,
			   guest_open(path, HERMIT_O_RDONLY, 0));
		report_ret("unlink", paths[i].name, guest_unlink(path));
	}
}

static void send_buffer(const struct buffer_case *c)
{
	void *buf = (void *)(uintptr_t)c->buf;
	int64_t written;

#if GUEST_INTERFACE == 1
	struct hermit_v1_serial_write_buffer serial = {.buf = c->buf,
						       .len = c->len};
#else
	struct hermit_v2_serial_write_buffer serial = {.len = c->len,
						       .buf = c->buf};
#endif

	guest_hypercall(GUEST_INTERFACE == 1 ? HERMIT_V1_SERIAL_WRITE_BUFFER
					     : HERMIT_V2_SERIAL_WRITE_BUFFER,
			(uintptr_t)&serial);
	report_survived("serial write", c->name);

	written = guest_write_fd(1, buf, c->len);
	if (GUEST_INTERFACE == 1)
		report_survived("write", c->name);
	else
		report_ret("write", c->name, written);

	report_ret("read", c->name, guest_read(0, buf, c->len));
}

static void send_bad_buffers(void)
{
	const uint64_t near_end = mem_end - 16;
	const struct buffer_case buffers[] = {
	    {"buffer far outside memory", FAR_OUTSIDE, 16},
	    {"buffer past the end of memory", mem_end + PAGE_SIZE, 16},
	    {"buffer crossing the end of memory", mem_end - 8, 16},
	    {"length reaching UINT64_MAX", near_end, UINT64_MAX - near_end},
	    {"length wrapping around", near_end, UINT64_MAX},
	};

	for (size_t i = 0; i < sizeof(buffers) / sizeof(buffers[0]); i++)
		send_buffer(&buffers[i]);
}

#if GUEST_INTERFACE == 1

#define CMDVAL_POOL_SIZE (64 * 1024)

static struct hermit_v1_cmdsize cmdsize;
static uint64_t argv_gpas[HERMIT_V1_MAX_ARGS];
static uint64_t envp_gpas[HERMIT_V1_MAX_ENVS];
static char cmdval_pool[CMDVAL_POOL_SIZE];

/* Points each gpa at pool space of the size Cmdsize announced. */
static int alloc_strings(uint64_t *gpas, int32_t count, int env, size_t *used)
{
	for (int32_t i = 0; i < count; i++) {
		int32_t size = env ? cmdsize.envsz[i] : cmdsize.argsz[i];

		if (size <= 0 || (size_t)size > CMDVAL_POOL_SIZE - *used)
			return -1;
		gpas[i] = (uintptr_t)cmdval_pool + *used;
		*used += (size_t)size;
	}
	return 0;
}

/* Sends a valid Cmdsize and sets up string space for a valid Cmdval. */
static int prepare_cmdval(void)
{
	size_t used = 0;

	cmdsize.argc = -1;
	guest_hypercall(HERMIT_V1_CMDSIZE, (uintptr_t)&cmdsize);
	if (cmdsize.argc < 1 || cmdsize.argc > HERMIT_V1_MAX_ARGS ||
	    cmdsize.envc < 0 || cmdsize.envc > HERMIT_V1_MAX_ENVS)
		return -1;
	if (alloc_strings(argv_gpas, cmdsize.argc, 0, &used) < 0)
		return -1;
	return alloc_strings(envp_gpas, cmdsize.envc, 1, &used);
}

static void send_cmdval(const char *case_name, uint64_t argv, uint64_t envp)
{
	struct hermit_v1_cmdval block = {.argv = argv, .envp = envp};

	guest_hypercall(HERMIT_V1_CMDVAL, (uintptr_t)&block);
	report_survived("cmdval", case_name);
}

static void send_bad_cmdvals(void)
{
	const uint64_t argv = (uintptr_t)argv_gpas;
	const uint64_t envp = (uintptr_t)envp_gpas;
	uint64_t first_string;

	if (prepare_cmdval() < 0) {
		guest_print("cmdsize: invalid sizes, cmdval cases skipped\n");
		return;
	}
	first_string = argv_gpas[0];
	send_cmdval("argv outside memory", FAR_OUTSIDE, envp);
	send_cmdval("envp outside memory", argv, FAR_OUTSIDE);
	send_cmdval("argv crossing the end of memory", mem_end - 4, envp);

	argv_gpas[0] = mem_end + PAGE_SIZE;
	send_cmdval("string outside memory", argv, envp);
	argv_gpas[0] = mem_end - 2;
	send_cmdval("string crossing the end of memory", argv, envp);
	argv_gpas[0] = first_string;
}

/* The host must ignore an Exit whose block it cannot read. */
static void send_bad_exits(void)
{
	guest_hypercall(HERMIT_V1_EXIT, FAR_OUTSIDE);
	report_survived("exit", "block far outside memory");
	guest_hypercall(HERMIT_V1_EXIT, mem_end - 2);
	report_survived("exit", "block crossing the end of memory");
}

#endif /* GUEST_INTERFACE == 1 */

/* The host must ignore writes to a port outside both hypercall ranges and
 * return all ones for reads from it. */
static void use_unknown_port(void)
{
	const uint16_t port = 0x1ff0;

	guest_out32(port, 0x12345678);
	guest_print("unknown port write: survived\n");
	guest_print("unknown port read: ");
	guest_print_hex(guest_in32(port));
	guest_print("\n");
}

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	(void)cpu;
	mem_start = boot_info->phys_addr_start;
	mem_end = boot_info->phys_addr_end;
	map_large_page(mem_end - PAGE_SIZE);
	memset(last_page(), FILL_BYTE, PAGE_SIZE);

	send_blocks_outside();
	send_bad_paths();
	send_bad_buffers();
#if GUEST_INTERFACE == 1
	send_bad_cmdvals();
	send_bad_exits();
#endif
	use_unknown_port();

	guest_print(last_page_unchanged() ? "last page unchanged: yes\n"
					  : "last page unchanged: no\n");
	guest_print("hostile done\n");
	return 0;
}
