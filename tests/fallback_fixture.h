/* A one-vCPU KVM virtual machine in long mode for testing and measuring the
 * instruction fallback. */
#ifndef UHYVE_TESTS_FALLBACK_FIXTURE_H
#define UHYVE_TESTS_FALLBACK_FIXTURE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "x86_64/fallback.h"

/*
 * Guest-physical layout. The boot page tables map [0, FIXTURE_MEM_SIZE)
 * one to one with 2 MiB pages, and fixture_map_page() adds 4 KiB mappings
 * at FIXTURE_MAPPED_BASE and above.
 */
#define FIXTURE_MEM_SIZE    (16ULL << 20)
#define FIXTURE_GDT	    0x1000ULL
#define FIXTURE_IDT	    0x2000ULL
#define FIXTURE_TSS	    0x3000ULL
#define FIXTURE_HANDLERS    0x4000ULL
#define FIXTURE_CR3	    0x10000ULL
#define FIXTURE_TABLES	    0x30000ULL
#define FIXTURE_TABLES_END  0x40000ULL
#define FIXTURE_STACK_TOP   0x80000ULL
#define FIXTURE_CODE	    0x100000ULL
#define FIXTURE_DATA	    0x200000ULL
#define FIXTURE_MAPPED_BASE 0x40000000ULL

/* The guest ends a run with `out %eax, $FIXTURE_PORT_DONE`. */
#define FIXTURE_PORT_DONE 0x10
/*
 * The default exception handlers end a run with an `out` to this port. They
 * leave the vector in eax and CR2 in rbx. rcx gets the word at the top of
 * the handler's stack (the error code, or the return rip for vectors
 * without one) and rdx the next word.
 */
#define FIXTURE_PORT_EXCEPTION 0x11

#define X86_CR0_MP	   0x2ULL
#define X86_CR0_EM	   0x4ULL
#define X86_CR0_TS	   0x8ULL
#define X86_CR4_OSFXSR	   0x200ULL
#define X86_CR4_OSXMMEXCPT 0x400ULL
#define X86_CR4_OSXSAVE	   0x40000ULL

/*
 * Defines guest code `name` from AT&T assembly text. The bytes land in the
 * test binary's read-only data between name_start and name_end, and they
 * run wherever fixture_load_code() copies them, so the text must not refer
 * to symbols outside itself.
 */
#define GUEST_CODE(name, text)                                                 \
	__asm__(".pushsection .rodata.guest_" #name ",\"a\"\n"                 \
		".globl " #name "_start\n.hidden " #name "_start\n"            \
		".globl " #name "_end\n.hidden " #name "_end\n" #name          \
		"_start:\n" text "\n" #name "_end:\n"                          \
		".popsection\n");                                              \
	extern const uint8_t name##_start[], name##_end[]

struct fixture {
	int kvm_fd;
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	struct guest_mem mem;
	struct uhyve_fallback *fallback;
	uint64_t next_table;	 /* gpa of the next free page-table page */
	uint64_t instructions;	 /* completed by the fallback */
	uint64_t fallback_calls; /* calls of uhyve_fallback_complete() */
	uint64_t fallback_ns;	 /* time spent in uhyve_fallback_complete() */
	uint32_t exit_value;	 /* eax of the final `out` */
	char *error;		 /* message of the last failed fallback call */
};

/*
 * Creates the VM with memory, page tables, GDT, IDT with default exception
 * handlers, and one vCPU in 64-bit mode with CR4.OSFXSR, OSXMMEXCPT and
 * OSXSAVE set and XCR0 = x87 | SSE. Returns 0, -ENODEV when /dev/kvm
 * cannot be opened (then *reason explains why), or another negative errno.
 */
int fixture_open(struct fixture *f, char **reason);

void fixture_close(struct fixture *f);

/* Returns the host address of guest-physical [gpa, gpa + len). Aborts if
 * outside. */
void *fixture_host(struct fixture *f, uint64_t gpa, size_t len);

/* Copies code to FIXTURE_CODE and points rip at it, rsp at FIXTURE_STACK_TOP.
 */
void fixture_load_code(struct fixture *f, const uint8_t *start,
		       const uint8_t *end);

/* Maps the 4 KiB page at gva to gpa (or removes the mapping if gpa is ~0). */
void fixture_map_page(struct fixture *f, uint64_t gva, uint64_t gpa);

/* Installs `handler` (a gpa) as the handler of `vector` in the IDT. */
void fixture_set_handler(struct fixture *f, unsigned vector, uint64_t handler);

void fixture_get_regs(struct fixture *f, struct kvm_regs *regs);
void fixture_set_regs(struct fixture *f, const struct kvm_regs *regs);
void fixture_get_sregs(struct fixture *f, struct kvm_sregs *sregs);
void fixture_set_sregs(struct fixture *f, const struct kvm_sregs *sregs);
void fixture_get_xsave(struct fixture *f, struct kvm_xsave *xsave);
void fixture_set_xsave(struct fixture *f, const struct kvm_xsave *xsave);
uint64_t fixture_get_xcr0(struct fixture *f);
/* Returns 0 or the negative errno of KVM_SET_XCRS. */
int fixture_set_xcr0(struct fixture *f, uint64_t xcr0);

/*
 * Calls the fallback once for the instruction at rip without running the
 * vCPU, as if KVM had failed on it. Tests use it for instructions that this
 * host's KVM completes itself. Returns what uhyve_fallback_complete() does.
 */
int fixture_complete(struct fixture *f);

/*
 * Runs the vCPU, completing emulation failures with the fallback, until the
 * guest writes to FIXTURE_PORT_DONE or FIXTURE_PORT_EXCEPTION. Returns that
 * port, or a negative errno (with f->error set when the fallback failed).
 * Gives up after `max_fallback_calls` fallback calls.
 */
int fixture_run(struct fixture *f, uint64_t max_fallback_calls);

#endif /* UHYVE_TESTS_FALLBACK_FIXTURE_H */
