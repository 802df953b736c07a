/* Debugging over the GDB remote serial protocol: the KVM backend's hooks. */
#ifndef UHYVE_GDB_STUB_H
#define UHYVE_GDB_STUB_H

#include <stdbool.h>

struct uhyve_vm;
struct uhyve_vcpu;

/*
 * Listens on 127.0.0.1 at the configured GDB port, waits for one debugger
 * connection and arranges that every vCPU stops before its first
 * instruction. Call it before the vCPU threads start, and gdb_stub_free()
 * after they ended, whatever it returns. Returns 0, also when
 * uhyve_vm_stop() ended the wait, or a negative errno with a message
 * (-EADDRINUSE when the port is taken).
 */
int gdb_stub_start(struct uhyve_vm *vm, char **error);

/* Serves the debugger until the run ends or the debugger detaches or
 * disconnects, on the thread that runs the VM while the vCPU threads run.
 * Returns at once when no debugger is connected. */
void gdb_stub_serve(struct uhyve_vm *vm);

/* Closes the sockets and frees the stub. NULL vm->gdb is allowed. */
void gdb_stub_free(struct uhyve_vm *vm);

/* Wakes the stub and the stopped vCPUs, so that they notice the end of the
 * run. Called by kvm_kick_vcpus() with vm->lock held. */
void gdb_stub_notify(struct uhyve_vm *vm);

/* Called by a vCPU thread when KVM_RUN returned EINTR, so that the guest
 * state is complete. Waits while the debugger keeps the guest stopped. */
void gdb_stub_vcpu_interrupted(struct uhyve_vcpu *vcpu);

/* Called for KVM_EXIT_DEBUG. Returns true when a debugger is attached and
 * the exit was recorded as a stop; false leaves the exit to the caller. */
bool gdb_stub_vcpu_debug_exit(struct uhyve_vcpu *vcpu);

/*
 * Called for an emulation failure before the instruction fallback. Some
 * hosts' KVM (kvm_pvm) reports an int3 that way instead of a debug exit.
 * Returns true when the vCPU's rip is at an int3 that the stub placed. The
 * failure then counts as a breakpoint hit, and the vCPU re-enters KVM_RUN.
 */
bool gdb_stub_vcpu_breakpoint_hit(struct uhyve_vcpu *vcpu);

/* Called before the instruction fallback runs for the vCPU. Limits the
 * fallback to one instruction per call while the vCPU single-steps or the
 * debugger has hardware breakpoints or watchpoints set, since a longer
 * batch would run past them, and restores the default batch otherwise,
 * for example after a detach. */
void gdb_stub_vcpu_limit_fallback(struct uhyve_vcpu *vcpu);

/* Called after the instruction fallback completed an instruction. KVM's
 * single-step does not see that instruction, so a stepping vCPU's step ends
 * here. */
void gdb_stub_vcpu_instruction_completed(struct uhyve_vcpu *vcpu);

#endif /* UHYVE_GDB_STUB_H */
