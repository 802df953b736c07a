/* The KVM backend: the VM, its memory slot, its vCPUs and their run loops. */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "uhyve/hermit_abi.h"

#include "arch.h"
#include "gdb_stub.h"
#include "hypercall.h"
#include "uhyve_private.h"
#include "x86_64/fallback.h"

/* The first MiB of guest-physical addresses, where a PC has conventional
 * memory and its BIOS area. Reads there that fall outside guest memory
 * return zeros: kernels look for an MP table at 0x9F000–0xA0000 and
 * 0xF0000–0x100000, and older kernels read low addresses through a GS
 * base of 0 before they set it. */
#define LOW_MEMORY_END 0x100000ULL

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA	   0xCFC

/* Outcome of a handled exit for the vCPU's loop. */
enum exit_action {
	EXIT_CONTINUE,
	EXIT_STOP,
};

/* The signal that interrupts KVM_RUN when a run ends. Its handler does
 * nothing: KVM_RUN returns -EINTR and the loop notices the end of the run.
 * Installing it is the library's only process-wide state. */
static int kick_signal(void)
{
	return SIGRTMIN + 6;
}

static void kick_handler(int signal)
{
	(void)signal;
}

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void install_kick_handler(void)
{
	struct sigaction action = {.sa_handler = kick_handler};

	sigemptyset(&action.sa_mask);
	sigaction(kick_signal(), &action, NULL);
}

int kvm_open(struct uhyve_vm *vm, char **error)
{
	int max_vcpus;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int code = errno;

		if (code == ENOENT)
			return set_error(
			    error, -ENODEV,
			    "/dev/kvm does not exist: load the kvm "
			    "module and enable virtualisation in "
			    "the firmware");
		if (code == EACCES || code == EPERM)
			return set_error(error, -EPERM,
					 "permission denied on /dev/kvm: add "
					 "the user to the group that owns it "
					 "(usually kvm)");
		return set_error(error, -code, "cannot open /dev/kvm: %s",
				 strerror(code));
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return set_error(error, -ENODEV,
				 "/dev/kvm has an unsupported API version");

	max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus =
		    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max_vcpus > 0 && vm->config->cpu_count > (uint32_t)max_vcpus)
		return set_error(error, -EINVAL,
				 "vCPU count %u is above what KVM allows (%d)",
				 vm->config->cpu_count, max_vcpus);
	return 0;
}

static int allocate_memory(struct uhyve_vm *vm, char **error)
{
	void *host = mmap(NULL, vm->layout.memory_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (host == MAP_FAILED)
		return set_error(
		    error, -ENOMEM,
		    "cannot allocate %llu MiB of guest memory: %s",
		    (unsigned long long)(vm->layout.memory_size >> 20),
		    strerror(errno));
	vm->mem.host = host;
	vm->mem.start = vm->layout.memory_start;
	vm->mem.size = vm->layout.memory_size;

	if (vm->config->thp && madvise(host, vm->mem.size, MADV_HUGEPAGE))
		vm_log(vm, UHYVE_LOG_WARNING,
		       "madvise(MADV_HUGEPAGE) failed: %s", strerror(errno));
	if (vm->config->ksm && madvise(host, vm->mem.size, MADV_MERGEABLE))
		vm_log(vm, UHYVE_LOG_WARNING,
		       "madvise(MADV_MERGEABLE) failed: %s", strerror(errno));
	return 0;
}

static int create_vm(struct uhyve_vm *vm, char **error)
{
	struct kvm_userspace_memory_region region = {
	    .slot = 0,
	    .guest_phys_addr = vm->mem.start,
	    .memory_size = vm->mem.size,
	    .userspace_addr = (uint64_t)(uintptr_t)vm->mem.host,
	};

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0 && errno == EBUSY)
		return set_error(
		    error, -EBUSY,
		    "KVM is busy: another hypervisor is using the "
		    "virtualisation extensions; stop it and retry");
	if (vm->vm_fd < 0)
		return set_error(error, -errno, "KVM_CREATE_VM failed: %s",
				 strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return set_error(error, -errno,
				 "KVM_SET_USER_MEMORY_REGION failed: %s",
				 strerror(errno));
	return 0;
}

/* Lets the guest manage idle states: disables the exits KVM offers to
 * disable. A refusal only costs performance, so it is logged. */
static void disable_idle_exits(struct uhyve_vm *vm)
{
	int offered =
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_DISABLE_EXITS);
	struct kvm_enable_cap cap = {.cap = KVM_CAP_X86_DISABLE_EXITS};

	if (offered <= 0) {
		vm_log(vm, UHYVE_LOG_WARNING,
		       "KVM offers no idle exits to disable; --cpu-pm has no "
		       "effect");
		return;
	}
	cap.args[0] =
	    (unsigned)offered &
	    (KVM_X86_DISABLE_EXITS_HLT | KVM_X86_DISABLE_EXITS_PAUSE |
	     KVM_X86_DISABLE_EXITS_MWAIT | KVM_X86_DISABLE_EXITS_CSTATE);
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		vm_log(vm, UHYVE_LOG_WARNING,
		       "KVM refused to disable idle exits: %s",
		       strerror(errno));
}

static int create_vcpu(struct uhyve_vm *vm, struct uhyve_vcpu *vcpu,
		       uint32_t id, char **error)
{
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0)
		return set_error(error, -errno,
				 "KVM_CREATE_VCPU for vCPU %u failed: %s", id,
				 strerror(errno));
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		return set_error(error, -errno,
				 "mapping the kvm_run area of vCPU %u failed: "
				 "%s",
				 id, strerror(errno));
	}
	return 0;
}

int kvm_create_machine(struct uhyve_vm *vm, char **error)
{
	int rc;

	rc = allocate_memory(vm, error);
	if (rc)
		return rc;

	rc = create_vm(vm, error);
	if (rc)
		return rc;

	rc = uhyve_arch_setup_vm(vm->vm_fd, vm->config->pit, error);
	if (rc)
		return rc;
	if (vm->config->cpu_pm)
		disable_idle_exits(vm);

	vm->run_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->vcpu_count = vm->config->cpu_count;
	vm->vcpus = g_new0(struct uhyve_vcpu, vm->vcpu_count);
	for (uint32_t i = 0; i < vm->vcpu_count; i++)
		vm->vcpus[i].fd = -1;
	for (uint32_t i = 0; i < vm->vcpu_count; i++) {
		rc = create_vcpu(vm, &vm->vcpus[i], i, error);
		if (rc)
			return rc;
	}
	vm->tsc_khz = uhyve_arch_tsc_khz(vm->vcpus[0].fd);
	return 0;
}

int kvm_setup_vcpus(struct uhyve_vm *vm, char **error)
{
	struct arch_entry_state state = {
	    .memory_start = vm->layout.memory_start,
	    .entry = vm->image.entry +
		     (vm->image.relocatable ? vm->layout.kernel_addr : 0),
	    .stack = vm->layout.kernel_addr - HERMIT_BOOT_STACK_GAP,
	    .boot_info = vm->layout.memory_start + HERMIT_BOOT_INFO_OFFSET,
	};
	int rc;

	for (uint32_t i = 0; i < vm->vcpu_count; i++) {
		rc = uhyve_arch_setup_vcpu(vm->kvm_fd, vm->vcpus[i].fd, i,
					   &state, error);
		if (rc)
			return prefix_error(error, rc, "vCPU %u", i);
	}
	return 0;
}

/* Ends the run because of this vCPU, with its registers in the message. */
static enum exit_action crash(struct uhyve_vcpu *vcpu, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static enum exit_action crash(struct uhyve_vcpu *vcpu, const char *format, ...)
{
	char *registers = uhyve_arch_dump_registers(vcpu->fd, &vcpu->vm->mem);
	char *reason;
	va_list args;

	va_start(args, format);
	reason = g_strdup_vprintf(format, args);
	va_end(args);

	if (vm_end_run(vcpu->vm, RUN_END_CRASH, 0, (int)vcpu->id))
		set_error(&vcpu->error, -EFAULT, "vCPU %u: %s\n%s", vcpu->id,
			  reason, registers);
	g_free(reason);
	g_free(registers);
	return EXIT_STOP;
}

/* Logs an access to an unhandled port or address once per VM. */
static void log_unhandled_once(struct uhyve_vm *vm, const char *what,
			       uint64_t address)
{
	gpointer key = GSIZE_TO_POINTER(address ^ ((gsize)what[0] << 56));
	bool first;

	pthread_mutex_lock(&vm->lock);
	first = g_hash_table_add(vm->logged_ports, key);
	pthread_mutex_unlock(&vm->lock);
	if (first)
		vm_log(vm, UHYVE_LOG_INFO,
		       "unhandled %s at %#llx (logged once)", what,
		       (unsigned long long)address);
}

static int get_rdi(void *opaque, uint64_t *rdi)
{
	const struct uhyve_vcpu *vcpu = opaque;

	return uhyve_arch_get_rdi(vcpu->fd, rdi);
}

static int get_cr3(void *opaque, uint64_t *cr3)
{
	const struct uhyve_vcpu *vcpu = opaque;

	return uhyve_arch_get_cr3(vcpu->fd, cr3);
}

/* Counts one exit in `counter` when the configuration asks for statistics. */
static void count_exit(const struct uhyve_vcpu *vcpu, uint64_t *counter)
{
	if (vcpu->vm->config->stats)
		(*counter)++;
}

static enum exit_action handle_port_write(struct uhyve_vcpu *vcpu,
					  uint16_t port, const uint8_t *data,
					  unsigned size)
{
	struct hypercall_cpu cpu = {get_rdi, get_cr3, vcpu};
	enum uhyve_hypercall_id id = UHYVE_HC_EXIT;
	enum hypercall_result result;
	uint32_t value = 0;
	int exit_code = 0;

	memcpy(&value, data, size < sizeof(value) ? size : sizeof(value));
	result =
	    hypercall_dispatch(vcpu->vm, &cpu, port, value, &id, &exit_code);
	if (result == HYPERCALL_NOT_HYPERCALL) {
		count_exit(vcpu, &vcpu->stats.io_writes);
		if (port != PCI_CONFIG_ADDRESS)
			log_unhandled_once(vcpu->vm, "port write", port);
		return EXIT_CONTINUE;
	}
	count_exit(vcpu, &vcpu->stats.hypercalls[id]);
	if (result == HYPERCALL_EXIT) {
		vm_end_run(vcpu->vm, RUN_END_EXIT, exit_code, (int)vcpu->id);
		return EXIT_STOP;
	}
	return EXIT_CONTINUE;
}

static enum exit_action handle_io(struct uhyve_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	size_t len = (size_t)run->io.size * run->io.count;

	if (run->io.direction == KVM_EXIT_IO_OUT)
		return handle_port_write(vcpu, run->io.port, data,
					 run->io.size);

	/* Reads of absent devices, including PCI configuration data for a
	 * bus without devices, return all ones. */
	count_exit(vcpu, &vcpu->stats.io_reads);
	if (run->io.port != PCI_CONFIG_DATA)
		log_unhandled_once(vcpu->vm, "port read", run->io.port);
	if (run->io.data_offset < vcpu->vm->run_size &&
	    len <= vcpu->vm->run_size - run->io.data_offset)
		memset(data, 0xff, len);
	return EXIT_CONTINUE;
}

static bool is_low_memory(uint64_t address)
{
	return address < LOW_MEMORY_END;
}

static enum exit_action handle_mmio(struct uhyve_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint64_t address = run->mmio.phys_addr;
	size_t len = run->mmio.len < sizeof(run->mmio.data)
			 ? run->mmio.len
			 : sizeof(run->mmio.data);

	if (run->mmio.is_write) {
		count_exit(vcpu, &vcpu->stats.mmio_writes);
		log_unhandled_once(vcpu->vm, "MMIO write", address);
		return EXIT_CONTINUE;
	}
	count_exit(vcpu, &vcpu->stats.mmio_reads);
	if (is_low_memory(address)) {
		memset(run->mmio.data, 0, len);
		return EXIT_CONTINUE;
	}
	log_unhandled_once(vcpu->vm, "MMIO read", address);
	memset(run->mmio.data, 0xff, len);
	return EXIT_CONTINUE;
}

static enum exit_action handle_internal_error(struct uhyve_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char *message = NULL;
	int rc;

	if (run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
		return crash(vcpu, "KVM internal error, suberror %u",
			     run->internal.suberror);
	if (gdb_stub_vcpu_breakpoint_hit(vcpu))
		return EXIT_CONTINUE;

	if (!vcpu->fallback && uhyve_fallback_new(&vcpu->fallback))
		return crash(vcpu,
			     "out of memory for the instruction fallback");
	gdb_stub_vcpu_limit_fallback(vcpu);
	rc = uhyve_fallback_complete(
	    vcpu->fallback, vcpu->fd, run, &vcpu->vm->mem,
	    &vcpu->stats.instruction_fallbacks, &message);
	if (rc == 0) {
		gdb_stub_vcpu_instruction_completed(vcpu);
		return EXIT_CONTINUE;
	}

	crash(vcpu, "%s", message ? message : "instruction emulation failed");
	free(message);
	return EXIT_STOP;
}

static enum exit_action handle_exit(struct uhyve_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(vcpu);
	case KVM_EXIT_MMIO:
		return handle_mmio(vcpu);
	case KVM_EXIT_HLT:
		count_exit(vcpu, &vcpu->stats.hlt);
		return EXIT_CONTINUE;
	case KVM_EXIT_INTR:
		return EXIT_CONTINUE;
	case KVM_EXIT_SHUTDOWN:
		return crash(vcpu, "the guest triple-faulted "
				   "(KVM_EXIT_SHUTDOWN)");
	case KVM_EXIT_INTERNAL_ERROR:
		return handle_internal_error(vcpu);
	case KVM_EXIT_FAIL_ENTRY:
		return crash(vcpu,
			     "KVM could not enter the guest (hardware "
			     "reason %#llx)",
			     (unsigned long long)
				 run->fail_entry.hardware_entry_failure_reason);
	case KVM_EXIT_DEBUG:
		count_exit(vcpu, &vcpu->stats.debug);
		if (gdb_stub_vcpu_debug_exit(vcpu))
			return EXIT_CONTINUE;
		return crash(vcpu, "unexpected debug exit");
	default:
		return crash(vcpu, "unexpected KVM exit reason %u",
			     run->exit_reason);
	}
}

static void pin_thread(struct uhyve_vcpu *vcpu)
{
	GArray *affinity = vcpu->vm->config->affinity;
	cpu_set_t set;
	int rc;

	if (affinity->len == 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(g_array_index(affinity, uint32_t, vcpu->id), &set);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (rc)
		vm_log(vcpu->vm, UHYVE_LOG_WARNING,
		       "pinning vCPU %u to host CPU %u failed: %s; it runs "
		       "unpinned",
		       vcpu->id, g_array_index(affinity, uint32_t, vcpu->id),
		       strerror(rc));
}

static uint64_t now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void *vcpu_thread(void *opaque)
{
	struct uhyve_vcpu *vcpu = opaque;
	struct uhyve_vm *vm = vcpu->vm;
	uint64_t start = now_ns();
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, kick_signal());
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	pin_thread(vcpu);
	if (guest_files_enter_isolation(&vm->files, &vcpu->error)) {
		prefix_error(&vcpu->error, -EPERM, "vCPU %u", vcpu->id);
		vm_end_run(vm, RUN_END_CRASH, 0, (int)vcpu->id);
		return NULL;
	}

	while (atomic_load(&vm->run_end) == RUN_END_NONE) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->immediate_exit = 0;
				gdb_stub_vcpu_interrupted(vcpu);
				continue;
			}
			crash(vcpu, "KVM_RUN failed: %s", strerror(errno));
			break;
		}
		if (handle_exit(vcpu) == EXIT_STOP)
			break;
	}
	vcpu->stats.run_time_ns = now_ns() - start;
	return NULL;
}

void kvm_kick_vcpus(struct uhyve_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	for (uint32_t i = 0; vm->vcpus && i < vm->vcpu_count; i++) {
		struct uhyve_vcpu *vcpu = &vm->vcpus[i];

		if (!vcpu->thread_started)
			continue;
		vcpu->run->immediate_exit = 1;
		pthread_kill(vcpu->thread, kick_signal());
	}
	gdb_stub_notify(vm);
	pthread_mutex_unlock(&vm->lock);
}

/* Starts the vCPU threads with every signal blocked, so that the embedding
 * program's signals go to its own threads; each vCPU thread then unblocks
 * only the kick signal. */
static int start_threads(struct uhyve_vm *vm, char **error)
{
	sigset_t all;
	sigset_t previous;
	int rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &previous);
	pthread_mutex_lock(&vm->lock);
	for (uint32_t i = 0; i < vm->vcpu_count && rc == 0; i++) {
		struct uhyve_vcpu *vcpu = &vm->vcpus[i];

		rc = -pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
		if (rc == 0)
			vcpu->thread_started = true;
	}
	pthread_mutex_unlock(&vm->lock);
	pthread_sigmask(SIG_SETMASK, &previous, NULL);
	if (rc)
		set_error(error, rc, "creating a vCPU thread failed: %s",
			  strerror(-rc));
	return rc;
}

int kvm_run_vcpus(struct uhyve_vm *vm, char **error)
{
	int rc;

	pthread_once(&kick_once, install_kick_handler);
	atomic_store(&vm->running, true);
	rc = vm->config->gdb_port ? gdb_stub_start(vm, error) : 0;
	if (rc == 0)
		rc = start_threads(vm, error);
	if (rc)
		vm_end_run(vm, RUN_END_CRASH, 0, -1);
	else
		gdb_stub_serve(vm);

	for (uint32_t i = 0; i < vm->vcpu_count; i++) {
		if (vm->vcpus[i].thread_started)
			pthread_join(vm->vcpus[i].thread, NULL);
	}

	pthread_mutex_lock(&vm->lock);
	for (uint32_t i = 0; i < vm->vcpu_count; i++)
		vm->vcpus[i].thread_started = false;
	atomic_store(&vm->running, false);
	pthread_mutex_unlock(&vm->lock);
	gdb_stub_free(vm);
	return rc;
}

void kvm_destroy_machine(struct uhyve_vm *vm)
{
	for (uint32_t i = 0; vm->vcpus && i < vm->vcpu_count; i++) {
		struct uhyve_vcpu *vcpu = &vm->vcpus[i];

		uhyve_fallback_free(vcpu->fallback);
		if (vcpu->run)
			munmap(vcpu->run, vm->run_size);
		if (vcpu->fd >= 0)
			close(vcpu->fd);
		free(vcpu->error);
	}
	g_free(vm->vcpus);
	vm->vcpus = NULL;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->mem.host)
		munmap(vm->mem.host, vm->mem.size);
	vm->vm_fd = -1;
	vm->kvm_fd = -1;
	vm->mem.host = NULL;
}
