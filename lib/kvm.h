/* The KVM backend: the VM, its memory slot, its vCPUs and their run loops. */
#ifndef UHYVE_KVM_H
#define UHYVE_KVM_H

struct uhyve_vm;

/* Opens /dev/kvm into vm->kvm_fd and checks the API version and the vCPU
 * count. Returns 0, -ENODEV (missing), -EPERM (not accessible), -EINVAL
 * (too many vCPUs) or another negative errno, with a message. */
int kvm_open(struct uhyve_vm *vm, char **error);

/* Allocates guest memory, creates the KVM VM with its memory slot, its
 * interrupt controller and its vCPUs. Returns 0 or a negative errno. */
int kvm_create_machine(struct uhyve_vm *vm, char **error);

/* Sets every vCPU's registers for the entry into the kernel. */
int kvm_setup_vcpus(struct uhyve_vm *vm, char **error);

/* Runs all vCPUs in threads of their own until the run ends, then joins
 * them. Returns 0 or a negative errno when threads could not start. */
int kvm_run_vcpus(struct uhyve_vm *vm, char **error);

/* Makes every vCPU leave KVM_RUN and notice that the run ends. */
void kvm_kick_vcpus(struct uhyve_vm *vm);

/* Closes the vCPUs and the VM and frees guest memory. */
void kvm_destroy_machine(struct uhyve_vm *vm);

#endif /* UHYVE_KVM_H */
