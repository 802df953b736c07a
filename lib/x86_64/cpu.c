/* x86_64 CPU set-up: GDT, long-mode entry state, CPUID and MSRs for each vCPU.
 */
#include <errno.h>
#include <glib.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "uhyve/hermit_abi.h"

#include "../arch.h"
#include "../error.h"
#include "paging.h"

#define GDT_NULL      0x0ULL
#define GDT_CODE64    0x00AF9B000000FFFFULL
#define GDT_DATA      0x00CF93000000FFFFULL
#define GDT_LIMIT     23
#define SELECTOR_CODE 0x08
#define SELECTOR_DATA 0x10

#define CR0_PE	 0x1ULL
#define CR0_ET	 0x10ULL
#define CR0_NE	 0x20ULL
#define CR0_PG	 0x80000000ULL
#define CR4_PAE	 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define EFER_NXE 0x800ULL

#define MSR_IA32_MISC_ENABLE 0x1a0
#define CPUID_MAX_ENTRIES    256

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR	 (1u << 31)
#define CPUID_1_EDX_MSR		 (1u << 5)

int uhyve_arch_write_gdt(const struct guest_mem *mem)
{
	static const uint64_t gdt[3] = {GDT_NULL, GDT_CODE64, GDT_DATA};
	void *dest =
	    guest_mem_range(mem, mem->start + HERMIT_GDT_OFFSET, sizeof(gdt));

	if (!dest)
		return -E2BIG;
	memcpy(dest, gdt, sizeof(gdt));
	return 0;
}

int uhyve_arch_setup_vm(int vm_fd, bool pit, char **error)
{
	struct kvm_enable_cap x2apic = {
	    .cap = KVM_CAP_X2APIC_API,
	    .args[0] = KVM_X2APIC_API_USE_32BIT_IDS |
		       KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK,
	};
	struct kvm_pit_config pit_config = {0};

	if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return set_error(error, -errno, "KVM_CREATE_IRQCHIP failed: %s",
				 strerror(errno));
	if (ioctl(vm_fd, KVM_ENABLE_CAP, &x2apic) < 0)
		return set_error(error, -errno,
				 "enabling the x2APIC API (KVM_CAP_X2APIC_API) "
				 "failed: %s",
				 strerror(errno));
	if (pit && ioctl(vm_fd, KVM_CREATE_PIT2, &pit_config) < 0)
		return set_error(error, -errno, "KVM_CREATE_PIT2 failed: %s",
				 strerror(errno));
	return 0;
}

static struct kvm_cpuid_entry2 *find_leaf(struct kvm_cpuid2 *cpuid,
					  uint32_t function)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		if (cpuid->entries[i].function == function)
			return &cpuid->entries[i];
	}
	return NULL;
}

/* Puts the 16 bytes of `text` starting at `offset` into one brand leaf. */
static void set_brand_leaf(struct kvm_cpuid_entry2 *leaf, const char *brand,
			   size_t offset)
{
	uint32_t words[4] = {0};
	size_t len = strlen(brand);

	if (offset < len)
		memcpy(words, brand + offset,
		       len - offset < 16 ? len - offset : 16);
	leaf->eax = words[0];
	leaf->ebx = words[1];
	leaf->ecx = words[2];
	leaf->edx = words[3];
}

static void adjust_cpuid(struct kvm_cpuid2 *cpuid)
{
	static const char brand[] = "uhyve - unikernel hypervisor";
	struct kvm_cpuid_entry2 *leaf;

	leaf = find_leaf(cpuid, 1);
	if (leaf) {
		leaf->ecx |= CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_TSC_DEADLINE;
		leaf->edx |= CPUID_1_EDX_MSR;
	}
	leaf = find_leaf(cpuid, 0xA);
	if (leaf)
		leaf->eax = 0;
	for (uint32_t function = 0x80000002; function <= 0x80000004;
	     function++) {
		leaf = find_leaf(cpuid, function);
		if (leaf)
			set_brand_leaf(leaf, brand,
				       (function - 0x80000002) * 16);
	}
}

static int setup_cpuid(int kvm_fd, int vcpu_fd, char **error)
{
	size_t size = sizeof(struct kvm_cpuid2) +
		      CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = g_malloc0(size);
	int rc = 0;

	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		rc = set_error(error, -errno,
			       "KVM_GET_SUPPORTED_CPUID failed: %s",
			       strerror(errno));
		goto out;
	}
	adjust_cpuid(cpuid);
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		rc = set_error(error, -errno, "KVM_SET_CPUID2 failed: %s",
			       strerror(errno));
out:
	g_free(cpuid);
	return rc;
}

static int setup_msrs(int vcpu_fd, char **error)
{
	struct {
		struct kvm_msrs header;
		struct kvm_msr_entry entries[1];
	} msrs = {
	    .header.nmsrs = 1,
	    .entries[0] = {.index = MSR_IA32_MISC_ENABLE, .data = 1},
	};

	if (ioctl(vcpu_fd, KVM_SET_MSRS, &msrs) != 1)
		return set_error(error, -EIO,
				 "KVM_SET_MSRS of IA32_MISC_ENABLE failed");
	return 0;
}

static void set_segment(struct kvm_segment *segment, uint16_t selector,
			uint8_t type, bool long_mode)
{
	*segment = (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = selector,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = long_mode ? 0 : 1,
	    .s = 1,
	    .l = long_mode ? 1 : 0,
	    .g = 1,
	};
}

static int setup_sregs(int vcpu_fd, const struct arch_entry_state *state,
		       char **error)
{
	struct kvm_sregs sregs;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return set_error(error, -errno, "KVM_GET_SREGS failed: %s",
				 strerror(errno));
	sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sregs.cr3 = state->memory_start + HERMIT_PML4_OFFSET;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA | EFER_NXE;
	set_segment(&sregs.cs, SELECTOR_CODE, 11, true);
	set_segment(&sregs.ds, SELECTOR_DATA, 3, false);
	sregs.es = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.gdt.base = state->memory_start + HERMIT_GDT_OFFSET;
	sregs.gdt.limit = GDT_LIMIT;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return set_error(error, -errno, "KVM_SET_SREGS failed: %s",
				 strerror(errno));
	return 0;
}

static int setup_regs(int vcpu_fd, uint32_t id,
		      const struct arch_entry_state *state, char **error)
{
	struct kvm_regs regs = {
	    .rip = state->entry,
	    .rdi = state->boot_info,
	    .rsi = id,
	    .rsp = state->stack,
	    .rflags = 0x2,
	};

	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return set_error(error, -errno, "KVM_SET_REGS failed: %s",
				 strerror(errno));
	return 0;
}

int uhyve_arch_setup_vcpu(int kvm_fd, int vcpu_fd, uint32_t id,
			  const struct arch_entry_state *state, char **error)
{
	struct kvm_mp_state runnable = {.mp_state = KVM_MP_STATE_RUNNABLE};
	int rc;

	rc = setup_cpuid(kvm_fd, vcpu_fd, error);
	if (rc)
		return rc;

	rc = setup_msrs(vcpu_fd, error);
	if (rc)
		return rc;

	rc = setup_sregs(vcpu_fd, state, error);
	if (rc)
		return rc;

	rc = setup_regs(vcpu_fd, id, state, error);
	if (rc)
		return rc;

	if (ioctl(vcpu_fd, KVM_SET_MP_STATE, &runnable) < 0)
		return set_error(error, -errno, "KVM_SET_MP_STATE failed: %s",
				 strerror(errno));
	return 0;
}

uint32_t uhyve_arch_tsc_khz(int vcpu_fd)
{
	int khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);

	return khz > 0 ? (uint32_t)khz : 0;
}

/* Appends up to 8 quadwords from the top of the stack; stops at the first
 * one that does not translate to guest memory. */
static void append_stack(GString *dump, const struct guest_mem *mem,
			 uint64_t cr3, uint64_t rsp)
{
	g_string_append(dump, "\nstack");
	for (unsigned i = 0; i < 8; i++) {
		uint64_t gpa;
		uint64_t remaining;
		const uint64_t *slot;

		if (uhyve_arch_translate(mem, cr3, rsp + i * 8, &gpa,
					 &remaining) ||
		    remaining < 8)
			break;
		slot = GUEST_MEM_OBJECT(mem, gpa, uint64_t);
		if (!slot)
			break;
		g_string_append_printf(dump, " %016llx",
				       (unsigned long long)*slot);
	}
}

char *uhyve_arch_dump_registers(int vcpu_fd, const struct guest_mem *mem)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	GString *dump;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return g_strdup_printf("(registers unreadable: %s)",
				       strerror(errno));
	dump = g_string_new(NULL);
	g_string_printf(
	    dump,
	    "rip %016llx rflags %016llx rsp %016llx rbp %016llx\n"
	    "rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
	    "rsi %016llx rdi %016llx r8  %016llx r9  %016llx\n"
	    "r10 %016llx r11 %016llx r12 %016llx r13 %016llx\n"
	    "r14 %016llx r15 %016llx\n"
	    "cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx\n"
	    "efer %016llx cs %04x ss %04x fs.base %016llx gs.base %016llx\n"
	    "gdt %016llx/%04x idt %016llx/%04x",
	    r.rip, r.rflags, r.rsp, r.rbp, r.rax, r.rbx, r.rcx, r.rdx, r.rsi,
	    r.rdi, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, s.cr0,
	    s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector, s.ss.selector,
	    s.fs.base, s.gs.base, s.gdt.base, s.gdt.limit, s.idt.base,
	    s.idt.limit);
	if (mem)
		append_stack(dump, mem, s.cr3, r.rsp);
	return g_string_free(dump, FALSE);
}

int uhyve_arch_get_cr3(int vcpu_fd, uint64_t *cr3)
{
	struct kvm_sregs sregs;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	*cr3 = sregs.cr3;
	return 0;
}

int uhyve_arch_get_rdi(int vcpu_fd, uint64_t *rdi)
{
	struct kvm_regs regs;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return -errno;
	*rdi = regs.rdi;
	return 0;
}
