/* The per-architecture hooks the generic core calls (x86_64 only for now). */
#ifndef UHYVE_ARCH_H
#define UHYVE_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"

/* Entry state shared by every vCPU (§5 of the Hermit boot contract). */
struct arch_entry_state {
	uint64_t memory_start; /* G */
	uint64_t entry;	       /* rip */
	uint64_t stack;	       /* rsp of the boot processor */
	uint64_t boot_info;    /* rdi */
};

/* Writes the boot GDT into guest memory. Returns 0 or -E2BIG. */
int uhyve_arch_write_gdt(const struct guest_mem *mem);

/*
 * Creates the machine around the vCPUs: in-kernel irqchip, the x2APIC API
 * (32-bit IDs, no broadcast quirk) and, when `pit` is set, a PIT. Returns 0
 * or a negative errno with a message.
 */
int uhyve_arch_setup_vm(int vm_fd, bool pit, char **error);

/*
 * Sets up vCPU `id`: CPUID (from what `kvm_fd` supports), MSRs, registers,
 * segments and the runnable state. Returns 0 or a negative errno with a
 * message.
 */
int uhyve_arch_setup_vcpu(int kvm_fd, int vcpu_fd, uint32_t id,
			  const struct arch_entry_state *state, char **error);

/* Returns the TSC frequency of the vCPU in kHz, or 0 when unknown. */
uint32_t uhyve_arch_tsc_khz(int vcpu_fd);

/* Returns a newly allocated (g_free) multi-line dump of the vCPU's
 * registers and the top of its stack (read through its page tables from
 * `mem`), or a line saying why the registers could not be read. */
char *uhyve_arch_dump_registers(int vcpu_fd, const struct guest_mem *mem);

/* Reads the vCPU's cr3 (for guest-virtual buffers). Returns 0 or -errno. */
int uhyve_arch_get_cr3(int vcpu_fd, uint64_t *cr3);

/* Reads the vCPU's rdi (the v2 hypercall argument). Returns 0 or -errno. */
int uhyve_arch_get_rdi(int vcpu_fd, uint64_t *rdi);

#endif /* UHYVE_ARCH_H */
