/* Hypercall dispatch: a table by port for interface versions 1 and 2. */
#ifndef UHYVE_HYPERCALL_H
#define UHYVE_HYPERCALL_H

#include <stdint.h>

#include "uhyve/uhyve.h"

struct uhyve_vm;

/* Access to the calling vCPU's registers, so that the dispatcher can run
 * against a real vCPU or, in tests and fuzzers, against a fake one. */
struct hypercall_cpu {
	int (*get_rdi)(void *opaque, uint64_t *rdi);
	int (*get_cr3)(void *opaque, uint64_t *cr3);
	void *opaque;
};

enum hypercall_result {
	HYPERCALL_NOT_HYPERCALL = -1, /* the port names no hypercall */
	HYPERCALL_CONTINUE = 0,	      /* handled; the vCPU runs on */
	HYPERCALL_EXIT = 1,	      /* the guest called Exit */
};

/*
 * Handles a guest write of `value` to `port`. Every address and length the
 * guest passes is checked against guest memory; a bad one gets -EFAULT or
 * -EINVAL in the call's result field, or, where the call has none, is
 * ignored with a warning. On HYPERCALL_EXIT stores the guest's exit code in
 * *exit_code. Stores the call's identity in *id when it is a hypercall.
 */
enum hypercall_result hypercall_dispatch(struct uhyve_vm *vm,
					 const struct hypercall_cpu *cpu,
					 uint16_t port, uint32_t value,
					 enum uhyve_hypercall_id *id,
					 int *exit_code);

#endif /* UHYVE_HYPERCALL_H */
