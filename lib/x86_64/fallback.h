/* Completion of guest instructions that the host's KVM reports it cannot
 * emulate. */
#ifndef UHYVE_X86_64_FALLBACK_H
#define UHYVE_X86_64_FALLBACK_H

#include <linux/kvm.h>
#include <stdint.h>

#include "../guest_mem.h"

/* Per-vCPU state of the fallback (for example a cached emulator). */
struct uhyve_fallback;

/* Creates the fallback state for one vCPU. Returns 0 or -ENOMEM. */
int uhyve_fallback_new(struct uhyve_fallback **fallback);

/* Frees it. NULL is allowed. */
void uhyve_fallback_free(struct uhyve_fallback *fallback);

/*
 * Default bound of one emulated stretch. Interrupts for the guest wait
 * while the fallback runs. 4096 SSE-heavy instructions took about 0.55 ms
 * in bench/fallback_bench.c on an AMD EPYC host with kvm_pvm.
 */
#define UHYVE_FALLBACK_DEFAULT_MAX_BATCH 4096

/*
 * Sets the maximum number of guest instructions that one call may complete
 * (default UHYVE_FALLBACK_DEFAULT_MAX_BATCH; 0 counts as 1). With 1 a call
 * completes only the instruction KVM failed on, as a debugger that single-steps
 * the guest or uses hardware breakpoints needs.
 */
void uhyve_fallback_set_max_batch(struct uhyve_fallback *fallback,
				  uint64_t max_instructions);

/*
 * Completes the guest instruction at the vCPU's rip after KVM_RUN returned
 * KVM_EXIT_INTERNAL_ERROR with suberror KVM_INTERNAL_ERROR_EMULATION, so
 * that the caller can re-enter KVM_RUN. `vcpu_fd` is the vCPU, `run` its
 * shared kvm_run page, `mem` the guest memory.
 *
 * XGETBV, XSETBV, the XSAVE family, POPCNT, RDTSCP, INT3 and #NM while
 * CR0.TS is set are completed directly against the vCPU's KVM state. Others run
 * in the Unicorn CPU emulator when the build has it, together with the guest
 * code that follows, up to the first instruction that KVM must complete or the
 * batch limit.
 *
 * Returns 0 when the vCPU state was updated (instructions completed, or an
 * exception was injected for the guest), adding the number of instructions
 * completed to *instructions. Returns a negative errno value when it cannot
 * complete the instruction. Then *error (if not NULL) receives a message
 * that names the rip and the instruction bytes.
 */
int uhyve_fallback_complete(struct uhyve_fallback *fallback, int vcpu_fd,
			    struct kvm_run *run, const struct guest_mem *mem,
			    uint64_t *instructions, char **error);

#endif /* UHYVE_X86_64_FALLBACK_H */
