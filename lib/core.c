/* The VM life cycle behind the public API: create, mount, run, stop, destroy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uhyve/hermit_abi.h"

#include "arch.h"
#include "image_archive.h"
#include "kvm.h"
#include "landlock.h"
#include "uhyve_build_config.h"
#include "uhyve_private.h"
#include "x86_64/paging.h"

#define GIB (1ULL << 30)

const char *uhyve_version(void)
{
	return UHYVE_VERSION;
}

bool uhyve_feature_supported(enum uhyve_feature feature)
{
	switch (feature) {
	case UHYVE_FEATURE_INSTRUCTION_FALLBACK:
		return UHYVE_HAVE_UNICORN;
	case UHYVE_FEATURE_IMAGE_ARCHIVE:
		return UHYVE_HAVE_LIBARCHIVE;
	case UHYVE_FEATURE_LANDLOCK:
		return landlock_abi_version() > 0;
	case UHYVE_FEATURE_GDB:
		return true;
	}
	return false;
}

void log_message(enum uhyve_log_level level, const char *location,
		 const char *format, ...)
{
	GLogLevelFlags flags = G_LOG_LEVEL_DEBUG;
	va_list args;
	char *message;

	switch (level) {
	case UHYVE_LOG_ERROR:
		/* G_LOG_LEVEL_ERROR would abort the process. */
		flags = G_LOG_LEVEL_CRITICAL;
		break;
	case UHYVE_LOG_WARNING:
		flags = G_LOG_LEVEL_WARNING;
		break;
	case UHYVE_LOG_INFO:
		flags = G_LOG_LEVEL_INFO;
		break;
	default:
		break;
	}
	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	g_log(G_LOG_DOMAIN, flags, "%s: %s", location, message);
	g_free(message);
}

bool vm_end_run(struct uhyve_vm *vm, enum run_end reason, int exit_code,
		int vcpu_id)
{
	int expected = RUN_END_NONE;
	bool won;

	pthread_mutex_lock(&vm->lock);
	won = atomic_compare_exchange_strong(&vm->run_end, &expected,
					     (int)reason);
	if (won) {
		vm->exit_code = exit_code;
		vm->crashed_vcpu = vcpu_id;
	}
	pthread_mutex_unlock(&vm->lock);
	kvm_kick_vcpus(vm);
	return won;
}

void vm_output_failed(struct uhyve_vm *vm, int rc)
{
	if (rc == 0 || rc == -EINTR)
		return;
	vm_end_run(vm, RUN_END_OUTPUT, -rc, -1);
}

/* The kernel file, mapped privately: libelf may write to its copy. */
struct kernel_file {
	void *data;
	size_t size;
};

static int map_kernel(const char *path, struct kernel_file *file, char **error)
{
	struct stat st;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	int code;

	if (fd < 0) {
		code = errno;
		if (code == ENOENT)
			return set_error(error, -ENOENT,
					 "kernel file %s does not exist", path);
		return set_error(error, -code, "cannot open kernel file %s: %s",
				 path, strerror(code));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		bool directory = S_ISDIR(st.st_mode);
		bool regular = S_ISREG(st.st_mode);

		close(fd);
		if (directory)
			return set_error(error, -EISDIR,
					 "kernel path %s is a directory, not a "
					 "kernel file",
					 path);
		if (!regular)
			return set_error(error, -ENOEXEC,
					 "kernel path %s is not a regular file",
					 path);
		return set_error(error, -ENOEXEC, "kernel file %s is empty",
				 path);
	}
	file->size = (size_t)st.st_size;
	file->data =
	    mmap(NULL, file->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	code = errno;
	close(fd);
	if (file->data == MAP_FAILED)
		return set_error(error, -code, "cannot map kernel file %s: %s",
				 path, strerror(code));
	return 0;
}

static uint64_t random_u64(void)
{
	uint64_t value = 0;

	if (getrandom(&value, sizeof(value), 0) != sizeof(value))
		value = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL;
	return value;
}

/* Returns true for kernels older than Hermit 0.10 (no version note). */
static bool is_legacy_kernel(const struct uhyve_vm *vm)
{
	const uint32_t *version = vm->image.hermit_version;

	return !vm->image.has_hermit_version ||
	       (version[0] == 0 && version[1] < 10);
}

/* Returns the end of the boot identity mapping. Kernels from Hermit 0.10
 * on map the rest themselves; older ones expect the whole 1 GiB-aligned
 * region that contains the kernel. */
static uint64_t identity_map_end(const struct uhyve_vm *vm)
{
	uint64_t end = vm->layout.kernel_end;
	uint64_t region_end;

	if (!is_legacy_kernel(vm))
		return end;
	region_end = (vm->layout.kernel_addr / GIB + 1) * GIB;
	return region_end > end ? region_end : end;
}

/* Writes the boot page tables. Older kernels also get the first 2 MiB of
 * addresses mapped: their application processors log through gs:0 while
 * the GS base is still 0, which reads zeros with guest memory at 0. With
 * memory elsewhere, reads of the low 1 MiB outside guest memory return
 * zeros (see handle_mmio()), so both placements behave alike. */
static int write_page_tables(const struct uhyve_vm *vm)
{
	if (is_legacy_kernel(vm))
		return uhyve_arch_write_page_tables_with_low(
		    &vm->mem, identity_map_end(vm));
	return uhyve_arch_write_page_tables(&vm->mem, identity_map_end(vm));
}

static int load_kernel(struct uhyve_vm *vm, const struct kernel_file *file,
		       char **error)
{
	int rc =
	    elf_loader_load(file->data, file->size, vm->kernel_path, &vm->image,
			    &vm->mem, vm->layout.kernel_addr, error);

	if (rc)
		return rc;
	if (uhyve_arch_write_gdt(&vm->mem) || write_page_tables(vm))
		return set_error(error, -E2BIG,
				 "the boot page tables do not fit below "
				 "%#x",
				 HERMIT_PAGE_TABLES_END_OFFSET);
	return 0;
}

static int prepare_arguments(struct uhyve_vm *vm, char **error)
{
	struct uhyve_config *config = vm->config;

	vm->bootargs =
	    bootargs_build(config->kernel_args, config->env, config->app_args);
	/* Only interface v1 kernels ask through Cmdsize/Cmdval, whose limits
	 * of 128 arguments and variables do not bind v2 kernels. */
	if (vm->image.interface_version != 1)
		return 0;
	return v1_command_line_build(vm->kernel_path, config->kernel_args,
				     config->app_args, config->env,
				     &vm->command_line, error);
}

static int check_config(const struct uhyve_config *config, char **error)
{
	if (config->affinity->len > 0 &&
	    config->affinity->len != config->cpu_count)
		return set_error(error, -EINVAL,
				 "the CPU affinity lists %u host CPUs, but the "
				 "VM has %u vCPUs: give one host CPU per vCPU",
				 config->affinity->len, config->cpu_count);
	/* "strict" isolation rejects a kernel without Landlock up front. */
	if (config->isolation == UHYVE_ISOLATION_STRICT &&
	    guest_files_landlock_abi(config->isolation, error) < 0)
		return -EOPNOTSUPP;
	return 0;
}

static unsigned io_flags(const struct uhyve_config *config)
{
	unsigned flags = 0;

	if (config->io_mode & UHYVE_IO_DIRECT)
		flags |= O_DIRECT;
	if (config->io_mode & UHYVE_IO_SYNC)
		flags |= O_SYNC;
	return flags;
}

static struct uhyve_vm *vm_alloc(const struct uhyve_config *config,
				 const char *kernel_path)
{
	struct uhyve_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->config = config_copy(config);
	if (!vm->config) {
		free(vm);
		return NULL;
	}
	vm->kernel_path = g_strdup(kernel_path);
	vm->kvm_fd = -1;
	vm->vm_fd = -1;
	vm->output.fd = -1;
	vm->crashed_vcpu = -1;
	atomic_init(&vm->run_end, RUN_END_NONE);
	atomic_init(&vm->running, false);
	pthread_mutex_init(&vm->lock, NULL);
	vm->logged_ports = g_hash_table_new(g_direct_hash, g_direct_equal);
	guest_files_init(&vm->files, vm->config->tempdir, io_flags(vm->config));
	return vm;
}

static int create_machine(struct uhyve_vm *vm, char **error)
{
	struct kernel_file file = {0};
	int rc;

	rc = map_kernel(vm->kernel_path, &file, error);
	if (rc)
		return rc;

	if (image_archive_detect(file.data, file.size)) {
		rc = image_archive_load(vm, &file.data, &file.size, error);
		if (rc)
			goto out;
	}

	rc = elf_loader_parse(file.data, file.size, vm->kernel_path, &vm->image,
			      error);
	if (rc)
		goto out;

	rc = layout_choose(&vm->image, vm->config->memory_size,
			   vm->config->aslr, random_u64(), &vm->layout, error);
	if (rc)
		goto out;

	rc = prepare_arguments(vm, error);
	if (rc)
		goto out;

	rc = kvm_open(vm, error);
	if (rc)
		goto out;

	rc = kvm_create_machine(vm, error);
	if (rc)
		goto out;

	rc = load_kernel(vm, &file, error);
	if (rc)
		goto out;

	rc = kvm_setup_vcpus(vm, error);
out:
	munmap(file.data, file.size);
	return rc;
}

int uhyve_vm_create(const struct uhyve_config *config, const char *kernel_path,
		    struct uhyve_vm **vm_out, char **error)
{
	struct uhyve_config *defaults = NULL;
	struct uhyve_vm *vm;
	int rc;

	if (!vm_out || !kernel_path)
		return set_error(error, -EINVAL,
				 "uhyve_vm_create needs a kernel path and a "
				 "place for the VM");
	*vm_out = NULL;
	if (!config) {
		defaults = uhyve_config_new();
		config = defaults;
	}
	rc = config ? check_config(config, error) : -ENOMEM;
	if (rc)
		goto out;

	vm = vm_alloc(config, kernel_path);
	rc = vm ? 0 : -ENOMEM;
	if (rc)
		goto out;

	rc = output_open(&vm->output, config->output_kind, config->output_path,
			 error);
	vm->output.stop = &vm->run_end;
	if (rc == 0)
		rc = create_machine(vm, error);
	if (rc) {
		uhyve_vm_destroy(vm);
		goto out;
	}
	*vm_out = vm;
out:
	uhyve_config_free(defaults);
	if (rc == -ENOMEM && error && !*error)
		set_error(error, rc, "out of memory");
	return rc;
}

int uhyve_vm_mount(struct uhyve_vm *vm, const char *host_path,
		   const char *guest_path, char **error)
{
	if (!vm || !host_path || !guest_path)
		return set_error(error, -EINVAL,
				 "uhyve_vm_mount needs a VM, a host path and a "
				 "guest path");
	if (vm->has_run)
		return set_error(error, -EBUSY,
				 "cannot mount %s: the VM has run already",
				 host_path);
	return guest_files_mount(&vm->files, host_path, guest_path, error);
}

static int write_boot_data(struct uhyve_vm *vm, char **error)
{
	char **mounts = filetree_list_mount_points(vm->files.tree);
	struct boot_params params = {
	    .image = &vm->image,
	    .layout = &vm->layout,
	    .cpu_count = vm->vcpu_count,
	    .tsc_khz = vm->tsc_khz,
	    .bootargs = vm->bootargs,
	    .mounts = (const char *const *)mounts,
	};
	int rc = 0;

	if (boot_info_write(&vm->mem, &params))
		rc = set_error(error, -E2BIG,
			       "guest memory is too small for the boot "
			       "information");
	if (rc == 0)
		rc = device_tree_write(&vm->mem, &params, error);
	g_strfreev(mounts);
	return rc;
}

/* Builds the Landlock ruleset of the VM's threads. Without Landlock,
 * "normal" isolation logs a warning and runs the VM without it. */
static int prepare_isolation(struct uhyve_vm *vm, char **error)
{
	const struct uhyve_config *config = vm->config;
	const char *output = config->output_kind == UHYVE_OUTPUT_FILE
				 ? config->output_path
				 : NULL;
	char *message = NULL;
	int abi = guest_files_landlock_abi(config->isolation, &message);

	if (abi == -EOPNOTSUPP && config->isolation == UHYVE_ISOLATION_NORMAL) {
		vm_log(vm, UHYVE_LOG_WARNING, "%s; the VM runs without it",
		       message);
		abi = 0;
	} else if (abi < 0) {
		set_error(error, abi, "%s", message);
	}
	free(message);
	if (abi <= 0)
		return abi;
	return guest_files_isolate(&vm->files, abi, vm->kernel_path, output,
				   error);
}

static int run_result(struct uhyve_vm *vm, int *exit_code, char **error)
{
	switch (atomic_load(&vm->run_end)) {
	case RUN_END_EXIT:
		if (exit_code)
			*exit_code = vm->exit_code;
		return 0;
	case RUN_END_STOP:
		return set_error(error, -ECANCELED, "the run was stopped");
	case RUN_END_OUTPUT:
		return set_error(error, -EIO,
				 "writing the guest's output failed: %s; the "
				 "run was stopped",
				 strerror(vm->exit_code));
	case RUN_END_CRASH:
		if (vm->crashed_vcpu >= 0 && vm->vcpus[vm->crashed_vcpu].error)
			return set_error(error, -EFAULT, "%s",
					 vm->vcpus[vm->crashed_vcpu].error);
		return set_error(error, -EFAULT, "the guest crashed");
	default:
		return set_error(error, -EFAULT,
				 "the vCPUs stopped without an Exit hypercall");
	}
}

int uhyve_vm_run(struct uhyve_vm *vm, int *exit_code, char **error)
{
	int rc;

	if (!vm)
		return set_error(error, -EINVAL, "uhyve_vm_run needs a VM");
	if (vm->has_run)
		return set_error(error, -EBUSY,
				 "the VM has run already; create a new one");
	vm->has_run = true;

	rc = write_boot_data(vm, error);
	if (rc)
		return rc;

	rc = prepare_isolation(vm, error);
	if (rc)
		return rc;

	rc = kvm_run_vcpus(vm, error);
	if (rc)
		return rc;
	return run_result(vm, exit_code, error);
}

void uhyve_vm_stop(struct uhyve_vm *vm)
{
	if (vm)
		vm_end_run(vm, RUN_END_STOP, 0, -1);
}

const uint8_t *uhyve_vm_output(const struct uhyve_vm *vm, size_t *len)
{
	if (!vm || !vm->output.buffer) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = vm->output.buffer->len;
	return vm->output.buffer->data;
}

size_t uhyve_vm_stats(const struct uhyve_vm *vm, struct uhyve_vcpu_stats *stats,
		      size_t capacity)
{
	if (!vm)
		return 0;
	for (size_t i = 0; stats && i < capacity && i < vm->vcpu_count; i++)
		stats[i] = vm->vcpus[i].stats;
	return vm->vcpu_count;
}

void uhyve_vm_destroy(struct uhyve_vm *vm)
{
	if (!vm)
		return;
	if (atomic_load(&vm->running))
		uhyve_vm_stop(vm);
	kvm_destroy_machine(vm);
	output_close(&vm->output);
	guest_files_destroy(&vm->files);
	v1_command_line_clear(&vm->command_line);
	g_free(vm->bootargs);
	g_free(vm->kernel_path);
	g_hash_table_unref(vm->logged_ports);
	pthread_mutex_destroy(&vm->lock);
	uhyve_config_free(vm->config);
	free(vm);
}
