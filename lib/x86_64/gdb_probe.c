/* A probe VM that finds out whether KVM stops a guest at a data breakpoint. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uhyve/hermit_abi.h"

#include "../arch.h"
#include "gdb_arch.h"
#include "paging.h"

#define PROBE_MEMORY_SIZE (2ULL << 20)
#define PROBE_CODE	  0x40000ULL
#define PROBE_STACK	  0x38000ULL
#define PROBE_DATA	  0x50000ULL
#define PROBE_PORT	  0x80
#define PROBE_MAX_RUNS	  4

/* mov byte [PROBE_DATA], 1; out 0x80, al */
static const uint8_t probe_code[] = {
    0xc6, 0x04, 0x25, 0x00, 0x00, 0x05, 0x00, 0x01, 0xe6, 0x80,
};

/* The probe VM's file descriptors and memory, released by close_probe(). */
struct probe {
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	struct guest_mem mem;
};

static int create_probe(int kvm_fd, struct probe *probe)
{
	struct kvm_userspace_memory_region region = {
	    .memory_size = PROBE_MEMORY_SIZE,
	};
	int size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	probe->mem.host = mmap(NULL, PROBE_MEMORY_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (probe->mem.host == MAP_FAILED) {
		probe->mem.host = NULL;
		return -ENOMEM;
	}
	probe->mem.size = PROBE_MEMORY_SIZE;
	region.userspace_addr = (uint64_t)(uintptr_t)probe->mem.host;

	probe->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (probe->vm_fd < 0 || size <= 0 ||
	    ioctl(probe->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return -errno;
	probe->vcpu_fd = ioctl(probe->vm_fd, KVM_CREATE_VCPU, 0UL);
	if (probe->vcpu_fd < 0)
		return -errno;
	probe->run_size = (size_t)size;
	probe->run = mmap(NULL, probe->run_size, PROT_READ | PROT_WRITE,
			  MAP_SHARED, probe->vcpu_fd, 0);
	if (probe->run == MAP_FAILED) {
		probe->run = NULL;
		return -errno;
	}
	return 0;
}

static int load_probe(int kvm_fd, struct probe *probe)
{
	const struct arch_entry_state entry = {
	    .memory_start = 0,
	    .entry = PROBE_CODE,
	    .stack = PROBE_STACK,
	};
	struct kvm_guest_debug debug = {
	    .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP,
	};
	struct gdb_x86_debug_slots slots = {0};

	if (uhyve_arch_write_gdt(&probe->mem) ||
	    uhyve_arch_write_page_tables(&probe->mem, PROBE_MEMORY_SIZE))
		return -E2BIG;
	memcpy(probe->mem.host + PROBE_CODE, probe_code, sizeof(probe_code));
	if (uhyve_arch_setup_vcpu(kvm_fd, probe->vcpu_fd, 0, &entry, NULL))
		return -EIO;

	gdb_x86_slots_insert(&slots, GDB_WATCH_WRITE, PROBE_DATA, 1);
	gdb_x86_slots_encode(&slots, &debug);
	if (ioctl(probe->vcpu_fd, KVM_SET_GUEST_DEBUG, &debug) < 0)
		return -errno;
	return 0;
}

static void close_probe(struct probe *probe)
{
	if (probe->run)
		munmap(probe->run, probe->run_size);
	if (probe->vcpu_fd >= 0)
		close(probe->vcpu_fd);
	if (probe->vm_fd >= 0)
		close(probe->vm_fd);
	if (probe->mem.host)
		munmap(probe->mem.host, PROBE_MEMORY_SIZE);
}

/* Checks that the probe guest stopped where it can: at the watched store
 * or at its out instruction after the store. */
static bool probe_finished(const struct kvm_run *run)
{
	if (run->exit_reason == KVM_EXIT_DEBUG)
		return true;
	return run->exit_reason == KVM_EXIT_IO &&
	       run->io.direction == KVM_EXIT_IO_OUT &&
	       run->io.port == PROBE_PORT;
}

int gdb_x86_probe_data_breakpoints(int kvm_fd, bool *reported)
{
	struct probe probe = {.vm_fd = -1, .vcpu_fd = -1};
	int rc = create_probe(kvm_fd, &probe);

	if (rc == 0)
		rc = load_probe(kvm_fd, &probe);
	/* The guest runs two instructions: its store either ends in a debug
	 * exit or it reaches the out, and nothing else can happen. */
	for (int i = 0; rc == 0 && i < PROBE_MAX_RUNS; i++) {
		if (ioctl(probe.vcpu_fd, KVM_RUN, 0) == 0)
			break;
		if (errno != EINTR && errno != EAGAIN)
			rc = -errno;
	}
	if (rc == 0 && !probe_finished(probe.run))
		rc = -EIO;
	if (rc == 0)
		*reported = probe.run->exit_reason == KVM_EXIT_DEBUG;
	close_probe(&probe);
	return rc;
}
