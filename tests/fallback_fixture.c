/* A one-vCPU KVM virtual machine in long mode for testing and measuring the
 * instruction fallback. */
#include "fallback_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "x86_64/paging.h"

#define PAGE_SIZE	  0x1000ULL
#define MAX_CPUID_ENTRIES 256

static const uint64_t gdt_code = 0x00AF9B000000FFFFULL;
static const uint64_t gdt_data = 0x00CF93000000FFFFULL;

/*
 * Default exception handler, shared by all vectors: stores CR2 and the top
 * two stack words, reports the vector (already in eax) and halts.
 */
static const uint8_t common_handler[] = {
    0x0f, 0x20,
    0xd3, /* mov %cr2, %rbx */
    0x48, 0x8b,
    0x0c, 0x24, /* mov (%rsp), %rcx */
    0x48, 0x8b,
    0x54, 0x24,
    0x08,			  /* mov 8(%rsp), %rdx */
    0xe7, FIXTURE_PORT_EXCEPTION, /* out %eax, $port */
    0xf4,			  /* hlt */
    0xeb, 0xfd,			  /* jmp back to hlt */
};

#define COMMON_HANDLER (FIXTURE_HANDLERS + 0x400)

static void die(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	fprintf(stderr, "fixture: ");
	vfprintf(stderr, format, args);
	fprintf(stderr, "\n");
	va_end(args);
	abort();
}

static void vcpu_ioctl(struct fixture *f, unsigned long request, void *arg,
		       const char *name)
{
	if (ioctl(f->vcpu_fd, request, arg) < 0)
		die("%s failed: %s", name, strerror(errno));
}

void *fixture_host(struct fixture *f, uint64_t gpa, size_t len)
{
	void *host = guest_mem_range(&f->mem, gpa, len);

	if (!host)
		die("gpa 0x%llx + %zu is outside guest memory",
		    (unsigned long long)gpa, len);
	return host;
}

static void write_u64(struct fixture *f, uint64_t gpa, uint64_t value)
{
	memcpy(fixture_host(f, gpa, 8), &value, 8);
}

static uint64_t read_u64(struct fixture *f, uint64_t gpa)
{
	uint64_t value;

	memcpy(&value, fixture_host(f, gpa, 8), 8);
	return value;
}

void fixture_set_handler(struct fixture *f, unsigned vector, uint64_t handler)
{
	uint64_t entry = FIXTURE_IDT + vector * 16ULL;
	uint64_t low = (handler & 0xffff) | (0x8ULL << 16) | (0x8eULL << 40) |
		       ((handler >> 16 & 0xffff) << 48);

	write_u64(f, entry, low);
	write_u64(f, entry + 8, handler >> 32);
}

static void write_tables(struct fixture *f)
{
	uint64_t tss_low = 0x67 | (FIXTURE_TSS << 16) | (0x89ULL << 40);

	if (uhyve_arch_write_page_tables(&f->mem, FIXTURE_MEM_SIZE))
		die("cannot write the page tables");

	write_u64(f, FIXTURE_GDT + 8, gdt_code);
	write_u64(f, FIXTURE_GDT + 16, gdt_data);
	write_u64(f, FIXTURE_GDT + 24, tss_low);
	write_u64(f, FIXTURE_GDT + 32, 0);

	memcpy(fixture_host(f, COMMON_HANDLER, sizeof(common_handler)),
	       common_handler, sizeof(common_handler));
	for (unsigned vector = 0; vector < 32; vector++) {
		uint64_t stub = FIXTURE_HANDLERS + vector * 16ULL;
		uint8_t *code = fixture_host(f, stub, 10);
		int32_t jump = (int32_t)(COMMON_HANDLER - (stub + 10));

		code[0] = 0xb8; /* mov $vector, %eax */
		memcpy(code + 1, &vector, 4);
		code[5] = 0xe9; /* jmp rel32 */
		memcpy(code + 6, &jump, 4);
		fixture_set_handler(f, vector, stub);
	}
}

static struct kvm_segment segment(uint16_t selector, uint8_t type, bool code)
{
	struct kvm_segment seg = {
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = selector,
	    .type = type,
	    .present = 1,
	    .s = 1,
	    .g = 1,
	    .l = code,
	    .db = !code,
	};

	return seg;
}

static void setup_sregs(struct fixture *f)
{
	struct kvm_sregs sregs;

	fixture_get_sregs(f, &sregs);
	sregs.cs = segment(0x08, 11, true);
	sregs.ds = segment(0x10, 3, false);
	sregs.es = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.tr = (struct kvm_segment){
	    .base = FIXTURE_TSS,
	    .limit = 0x67,
	    .selector = 0x18,
	    .type = 11,
	    .present = 1,
	};
	sregs.gdt.base = FIXTURE_GDT;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = FIXTURE_IDT;
	sregs.idt.limit = 32 * 16 - 1;
	sregs.cr0 = 0x80000031 | X86_CR0_MP;
	sregs.cr3 = FIXTURE_CR3;
	sregs.cr4 =
	    0x20 | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_OSXSAVE;
	sregs.efer = 0xd00;
	fixture_set_sregs(f, &sregs);
}

static void setup_cpuid(struct fixture *f)
{
	size_t size = sizeof(struct kvm_cpuid2) +
		      MAX_CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, size);

	if (!cpuid)
		die("out of memory");
	cpuid->nent = MAX_CPUID_ENTRIES;
	if (ioctl(f->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		die("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
	vcpu_ioctl(f, KVM_SET_CPUID2, cpuid, "KVM_SET_CPUID2");
	free(cpuid);
}

static int open_vm(struct fixture *f, char **reason)
{
	struct kvm_userspace_memory_region region;
	int run_size;

	f->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (f->kvm_fd < 0) {
		if (asprintf(reason, "cannot open /dev/kvm: %s",
			     strerror(errno)) < 0)
			*reason = NULL;
		return -ENODEV;
	}
	f->vm_fd = ioctl(f->kvm_fd, KVM_CREATE_VM, 0);
	if (f->vm_fd < 0)
		die("KVM_CREATE_VM failed: %s", strerror(errno));

	f->mem.host = mmap(NULL, FIXTURE_MEM_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (f->mem.host == MAP_FAILED)
		die("cannot allocate guest memory: %s", strerror(errno));
	f->mem.start = 0;
	f->mem.size = FIXTURE_MEM_SIZE;
	region = (struct kvm_userspace_memory_region){
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = FIXTURE_MEM_SIZE,
	    .userspace_addr = (uint64_t)(uintptr_t)f->mem.host,
	};
	if (ioctl(f->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION failed: %s", strerror(errno));

	f->vcpu_fd = ioctl(f->vm_fd, KVM_CREATE_VCPU, 0);
	if (f->vcpu_fd < 0)
		die("KVM_CREATE_VCPU failed: %s", strerror(errno));
	run_size = ioctl(f->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		die("KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
	f->run_size = (size_t)run_size;
	f->run = mmap(NULL, f->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      f->vcpu_fd, 0);
	if (f->run == MAP_FAILED)
		die("cannot map kvm_run: %s", strerror(errno));
	return 0;
}

int fixture_open(struct fixture *f, char **reason)
{
	int rc;

	memset(f, 0, sizeof(*f));
	f->kvm_fd = f->vm_fd = f->vcpu_fd = -1;
	f->run = MAP_FAILED;
	f->mem.host = MAP_FAILED;
	rc = open_vm(f, reason);
	if (rc)
		return rc;

	f->next_table = FIXTURE_TABLES;
	write_tables(f);
	setup_cpuid(f);
	setup_sregs(f);
	if (fixture_set_xcr0(f, 0x3))
		die("cannot set XCR0 to x87 | SSE");
	if (uhyve_fallback_new(&f->fallback))
		die("uhyve_fallback_new failed");
	return 0;
}

void fixture_close(struct fixture *f)
{
	uhyve_fallback_free(f->fallback);
	free(f->error);
	if (f->run != MAP_FAILED)
		munmap(f->run, f->run_size);
	if (f->vcpu_fd >= 0)
		close(f->vcpu_fd);
	if (f->vm_fd >= 0)
		close(f->vm_fd);
	if (f->kvm_fd >= 0)
		close(f->kvm_fd);
	if (f->mem.host != MAP_FAILED)
		munmap(f->mem.host, FIXTURE_MEM_SIZE);
	memset(f, 0, sizeof(*f));
}

void fixture_load_code(struct fixture *f, const uint8_t *start,
		       const uint8_t *end)
{
	struct kvm_regs regs;
	size_t len = (size_t)(end - start);

	memcpy(fixture_host(f, FIXTURE_CODE, len), start, len);
	fixture_get_regs(f, &regs);
	regs.rip = FIXTURE_CODE;
	regs.rsp = FIXTURE_STACK_TOP;
	regs.rflags = 0x2;
	fixture_set_regs(f, &regs);
}

/* Returns the gpa of the table that `entry_gpa` points to, creating it. */
static uint64_t next_level(struct fixture *f, uint64_t entry_gpa)
{
	uint64_t entry = read_u64(f, entry_gpa);
	uint64_t table;

	if (entry & X86_PTE_PRESENT) {
		if (entry & X86_PTE_HUGE)
			die("gpa 0x%llx holds a huge-page entry",
			    (unsigned long long)entry_gpa);
		return entry & X86_PTE_ADDR_MASK;
	}
	if (f->next_table >= FIXTURE_TABLES_END)
		die("out of page-table pages");
	table = f->next_table;
	f->next_table += PAGE_SIZE;
	memset(fixture_host(f, table, PAGE_SIZE), 0, PAGE_SIZE);
	write_u64(f, entry_gpa, table | X86_PTE_PRESENT | X86_PTE_WRITABLE);
	return table;
}

void fixture_map_page(struct fixture *f, uint64_t gva, uint64_t gpa)
{
	uint64_t table = FIXTURE_CR3;

	for (unsigned shift = 39; shift > 12; shift -= 9)
		table = next_level(f, table + ((gva >> shift) & 0x1ff) * 8);
	table += ((gva >> 12) & 0x1ff) * 8;
	if (gpa == ~0ULL)
		write_u64(f, table, 0);
	else
		write_u64(f, table, gpa | X86_PTE_PRESENT | X86_PTE_WRITABLE);
}

void fixture_get_regs(struct fixture *f, struct kvm_regs *regs)
{
	vcpu_ioctl(f, KVM_GET_REGS, regs, "KVM_GET_REGS");
}

void fixture_set_regs(struct fixture *f, const struct kvm_regs *regs)
{
	vcpu_ioctl(f, KVM_SET_REGS, (void *)regs, "KVM_SET_REGS");
}

void fixture_get_sregs(struct fixture *f, struct kvm_sregs *sregs)
{
	vcpu_ioctl(f, KVM_GET_SREGS, sregs, "KVM_GET_SREGS");
}

void fixture_set_sregs(struct fixture *f, const struct kvm_sregs *sregs)
{
	vcpu_ioctl(f, KVM_SET_SREGS, (void *)sregs, "KVM_SET_SREGS");
}

void fixture_get_xsave(struct fixture *f, struct kvm_xsave *xsave)
{
	vcpu_ioctl(f, KVM_GET_XSAVE, xsave, "KVM_GET_XSAVE");
}

void fixture_set_xsave(struct fixture *f, const struct kvm_xsave *xsave)
{
	vcpu_ioctl(f, KVM_SET_XSAVE, (void *)xsave, "KVM_SET_XSAVE");
}

uint64_t fixture_get_xcr0(struct fixture *f)
{
	struct kvm_xcrs xcrs;

	vcpu_ioctl(f, KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS");
	for (uint32_t i = 0; i < xcrs.nr_xcrs; i++)
		if (xcrs.xcrs[i].xcr == 0)
			return xcrs.xcrs[i].value;
	die("KVM_GET_XCRS returned no XCR0");
	return 0;
}

int fixture_set_xcr0(struct fixture *f, uint64_t xcr0)
{
	struct kvm_xcrs xcrs = {.nr_xcrs = 1};

	xcrs.xcrs[0].xcr = 0;
	xcrs.xcrs[0].value = xcr0;
	if (ioctl(f->vcpu_fd, KVM_SET_XCRS, &xcrs) < 0)
		return -errno;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int complete_emulation(struct fixture *f)
{
	uint64_t start = now_ns();
	int rc;

	f->fallback_calls++;
	rc = uhyve_fallback_complete(f->fallback, f->vcpu_fd, f->run, &f->mem,
				     &f->instructions, &f->error);
	f->fallback_ns += now_ns() - start;
	return rc;
}

int fixture_complete(struct fixture *f)
{
	return complete_emulation(f);
}

/*
 * Lets KVM finish the `out` that ended a run without running guest code.
 * KVM advances rip past it at the next KVM_RUN, which would otherwise move
 * a rip that the test sets before that.
 */
static void complete_io(struct fixture *f)
{
	f->run->immediate_exit = 1;
	if (ioctl(f->vcpu_fd, KVM_RUN, 0) == 0 || errno != EINTR)
		die("KVM_RUN with immediate_exit did not return EINTR");
	f->run->immediate_exit = 0;
}

static int handle_io(struct fixture *f)
{
	uint16_t port = f->run->io.port;
	const uint8_t *data = (const uint8_t *)f->run + f->run->io.data_offset;

	if (f->run->io.direction != KVM_EXIT_IO_OUT ||
	    (port != FIXTURE_PORT_DONE && port != FIXTURE_PORT_EXCEPTION))
		die("unexpected port access to 0x%x", port);
	f->exit_value = 0;
	memcpy(&f->exit_value, data, f->run->io.size < 4 ? f->run->io.size : 4);
	complete_io(f);
	return port;
}

int fixture_run(struct fixture *f, uint64_t max_fallback_calls)
{
	uint64_t calls = 0;
	int rc;

	for (;;) {
		if (ioctl(f->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN failed: %s", strerror(errno));
		}
		switch (f->run->exit_reason) {
		case KVM_EXIT_IO:
			return handle_io(f);
		case KVM_EXIT_INTERNAL_ERROR:
			if (f->run->internal.suberror !=
			    KVM_INTERNAL_ERROR_EMULATION)
				die("internal error, suberror %u",
				    f->run->internal.suberror);
			if (++calls > max_fallback_calls)
				return -ELOOP;
			rc = complete_emulation(f);
			if (rc)
				return rc;
			break;
		case KVM_EXIT_SHUTDOWN:
			return -EPIPE;
		default:
			die("unexpected exit reason %u", f->run->exit_reason);
		}
	}
}
