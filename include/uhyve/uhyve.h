/* libuhyve: run Hermit unikernels on KVM from a C program. */
/*
 * Usage is configure, then start:
 *
 *     struct uhyve_config *config = uhyve_config_new();
 *     uhyve_config_set_memory_size(config, 64 << 20, NULL);
 *     struct uhyve_vm *vm;
 *     int rc = uhyve_vm_create(config, "app", &vm, &message);
 *     uhyve_vm_mount(vm, "/srv/data", "/data", &message);
 *     rc = uhyve_vm_run(vm, &exit_code, &message);
 *     uhyve_vm_destroy(vm);
 *     uhyve_config_free(config);
 *
 * Every function that can fail returns 0 on success or a negative errno
 * value on failure. Where it takes `char **error`, a non-NULL pointer
 * receives a message that names the cause (the file, the value, the limit).
 * The caller owns that message and frees it with free(). On success
 * *error is left untouched.
 *
 * The library never prints, exits or aborts on its own. It logs through
 * GLib under the "uhyve" domain, and only at the verbosity a caller sets
 * with uhyve_config_set_log_level(); the default is silent.
 *
 * Thread safety: a configuration and a VM are used by one thread at a time,
 * except uhyve_vm_stop(), which may be called from any thread. Several VMs
 * may exist and run at once in one process.
 */
#ifndef UHYVE_UHYVE_H
#define UHYVE_UHYVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UHYVE_VERSION_MAJOR 0
#define UHYVE_VERSION_MINOR 1
#define UHYVE_VERSION_PATCH 0

/* Defaults and limits of the configuration. */
#define UHYVE_DEFAULT_MEMORY_SIZE (64ULL << 20)
#define UHYVE_MIN_MEMORY_SIZE	  (16ULL << 20)
#define UHYVE_MEMORY_ALIGNMENT	  (2ULL << 20)
#define UHYVE_DEFAULT_GDB_PORT	  6677

/* Returns the library's version as "MAJOR.MINOR.PATCH". */
const char *uhyve_version(void);

/* Optional capabilities that depend on how the library was built or on the
 * running kernel. */
enum uhyve_feature {
	/* Completion of instructions the host's KVM cannot emulate. */
	UHYVE_FEATURE_INSTRUCTION_FALLBACK = 1,
	/* File isolation with Landlock on the running kernel. */
	UHYVE_FEATURE_LANDLOCK = 2,
	/* Debugging over the GDB remote serial protocol. */
	UHYVE_FEATURE_GDB = 3,
	/* Hermit image archives (.hermit, gzip-compressed tar). */
	UHYVE_FEATURE_IMAGE_ARCHIVE = 4,
};

/* Returns true when this build and host support `feature`. Unknown values
 * return false, so a caller built against a newer header can probe. */
bool uhyve_feature_supported(enum uhyve_feature feature);

/* Destination of the guest's serial output and its writes to descriptors 1
 * and 2. */
enum uhyve_output_kind {
	UHYVE_OUTPUT_STDOUT = 0, /* the host's standard output (default) */
	UHYVE_OUTPUT_FILE = 1,	 /* a new file; an existing one is rejected */
	UHYVE_OUTPUT_BUFFER = 2, /* memory, read with uhyve_vm_output() */
	UHYVE_OUTPUT_NONE = 3,	 /* discarded */
};

/* Verbosity of the library's GLib log messages. */
enum uhyve_log_level {
	UHYVE_LOG_NONE = 0,
	UHYVE_LOG_ERROR = 1,
	UHYVE_LOG_WARNING = 2,
	UHYVE_LOG_INFO = 3,
	UHYVE_LOG_DEBUG = 4,
};

enum uhyve_file_isolation {
	UHYVE_ISOLATION_NONE = 0,   /* no Landlock rules */
	UHYVE_ISOLATION_NORMAL = 1, /* Landlock where the kernel supports it */
	UHYVE_ISOLATION_STRICT = 2, /* Landlock, or uhyve_vm_create() fails */
};

/* Flags added to host opens for guest files (see uhyve_config_set_io_mode). */
#define UHYVE_IO_DIRECT 0x1u
#define UHYVE_IO_SYNC	0x2u

struct uhyve_config;
struct uhyve_vm;

/*
 * Configuration
 *
 * A configuration is copied by uhyve_vm_create(), so it may be changed or
 * freed afterwards without affecting VMs created from it.
 */

/* Creates a configuration with the defaults: 64 MiB, 1 vCPU, address
 * randomisation on, output to standard output, silent logging. Returns NULL
 * only when memory runs out. The caller frees it with uhyve_config_free(). */
struct uhyve_config *uhyve_config_new(void);

/* Frees `config` and everything it owns. NULL is allowed. */
void uhyve_config_free(struct uhyve_config *config);

/* Sets the guest memory size in bytes. It must be at least 16 MiB and a
 * multiple of 2 MiB; the interface version's limit is checked later by
 * uhyve_vm_create(), once the kernel is known. Returns -EINVAL otherwise. */
int uhyve_config_set_memory_size(struct uhyve_config *config, uint64_t bytes,
				 char **error);

/* Sets the number of vCPUs, from 1; the upper limit KVM allows is checked
 * by uhyve_vm_create(). Returns -EINVAL for 0. */
int uhyve_config_set_cpu_count(struct uhyve_config *config, uint32_t count,
			       char **error);

/* Appends a kernel argument (before "--" on the launcher's command line).
 * The string is copied. Returns -EINVAL for NULL, -ENOMEM without memory. */
int uhyve_config_add_kernel_arg(struct uhyve_config *config, const char *arg,
				char **error);

/* Appends an application argument (after "--"). The string is copied. */
int uhyve_config_add_app_arg(struct uhyve_config *config, const char *arg,
			     char **error);

/* Adds an environment variable "KEY=VALUE" for the guest; a later entry
 * with the same key replaces the earlier one. The string is copied.
 * Returns -EINVAL when there is no '=' or the key is empty. */
int uhyve_config_add_env(struct uhyve_config *config, const char *key_value,
			 char **error);

/* Turns address randomisation of relocatable kernels on (default) or off. */
void uhyve_config_set_aslr(struct uhyve_config *config, bool enabled);

/* Chooses where guest output goes. `path` is required for
 * UHYVE_OUTPUT_FILE and ignored otherwise; it is copied. The file is
 * created by uhyve_vm_create(), which fails with -EEXIST if it exists. */
int uhyve_config_set_output(struct uhyve_config *config,
			    enum uhyve_output_kind kind, const char *path,
			    char **error);

/* Sets the library's log verbosity for VMs made from this configuration. */
void uhyve_config_set_log_level(struct uhyve_config *config,
				enum uhyve_log_level level);

/* Pins vCPU i to host CPU cpus[i]. `count` must equal the vCPU count when
 * the VM is created. The array is copied; count 0 removes the pinning. */
int uhyve_config_set_affinity(struct uhyve_config *config, const uint32_t *cpus,
			      size_t count, char **error);

/* Advises transparent huge pages on guest memory (madvise MADV_HUGEPAGE). */
void uhyve_config_set_thp(struct uhyve_config *config, bool enabled);

/* Advises same-page merging on guest memory (madvise MADV_MERGEABLE). */
void uhyve_config_set_ksm(struct uhyve_config *config, bool enabled);

/* Creates an in-kernel PIT (KVM_CREATE_PIT2) for the guest. */
void uhyve_config_set_pit(struct uhyve_config *config, bool enabled);

/* Lets the guest manage idle states by disabling the HLT, PAUSE, MWAIT and
 * C-state exits that KVM offers. A refusal by KVM is logged, not fatal. */
void uhyve_config_set_cpu_pm(struct uhyve_config *config, bool enabled);

/* Counts every vCPU exit by kind, read with uhyve_vm_stats() (default off). */
void uhyve_config_set_stats(struct uhyve_config *config, bool enabled);

/* Sets the directory below which each VM creates its private temporary
 * directory; NULL restores the default ($TMPDIR, else /tmp). Copied. */
int uhyve_config_set_tempdir(struct uhyve_config *config, const char *path,
			     char **error);

/* Chooses the file isolation for the VM's threads. Default: none. */
void uhyve_config_set_file_isolation(struct uhyve_config *config,
				     enum uhyve_file_isolation isolation);

/* Sets UHYVE_IO_DIRECT and/or UHYVE_IO_SYNC for host opens of guest files.
 * Returns -EINVAL for other bits. */
int uhyve_config_set_io_mode(struct uhyve_config *config, unsigned flags,
			     char **error);

/*
 * Debugs the guest over the GDB remote serial protocol: uhyve_vm_run()
 * listens on 127.0.0.1:`port` only, waits for one debugger connection
 * before the guest runs its first instruction (uhyve_vm_stop() ends the
 * wait), and serves it until the guest exits or the debugger detaches or
 * kills the guest. uhyve_vm_run() then fails with -EADDRINUSE when the port
 * is taken, and a kill ends the run like uhyve_vm_stop(). Port 0 turns
 * debugging off (default).
 */
void uhyve_config_set_gdb_port(struct uhyve_config *config, uint16_t port);

/*
 * Virtual machines
 */

/*
 * Creates a VM for the Hermit kernel at `kernel_path`: reads and checks the
 * file, lays out guest memory, and creates the KVM VM and its vCPUs.
 * `kernel_path` may also name a Hermit image archive (a gzip-compressed
 * tar with a hermit.toml); its files become read-only guest files, and its
 * arguments, environment and requirements apply as the header of
 * hermit.toml's format describes them. `config` may be NULL for the
 * defaults and is not kept.
 *
 * On success returns 0 and stores a VM in *vm that the caller frees with
 * uhyve_vm_destroy(). Errors include:
 *   -ENOENT, -EISDIR, -EACCES  the kernel file cannot be read;
 *   -ENOEXEC                   the file is not a usable Hermit kernel;
 *   -EINVAL                    the configuration does not fit the kernel
 *                              (memory size, arguments, vCPU count);
 *   -ENODEV                    /dev/kvm is missing;
 *   -EPERM                     /dev/kvm is not accessible;
 *   -EBUSY                     KVM is in use by another hypervisor;
 *   -EEXIST                    the output file exists;
 *   -E2BIG                     more than 128 arguments or variables for an
 *                              interface version 1 kernel;
 *   -EOPNOTSUPP                strict file isolation without Landlock, or
 *                              an image archive in a build without
 *                              libarchive (the message says which);
 *   -EFBIG                     an image archive over the size limits.
 */
int uhyve_vm_create(const struct uhyve_config *config, const char *kernel_path,
		    struct uhyve_vm **vm, char **error);

/*
 * Makes the host file or directory `host_path` visible to the guest at
 * `guest_path`. Both strings are copied. Call it after uhyve_vm_create()
 * and before uhyve_vm_run().
 *
 * Returns -ENOENT when neither the host path nor its parent directory
 * exists, -EEXIST when the guest path or one of its parents is already
 * mapped (the message names both mappings), -EINVAL for a guest path that
 * is empty after cleaning or not valid UTF-8, -EBUSY once the VM has run.
 */
int uhyve_vm_mount(struct uhyve_vm *vm, const char *host_path,
		   const char *guest_path, char **error);

/*
 * Runs the guest until it exits and stores its exit code in *exit_code.
 * Blocks the calling thread; the vCPUs run in threads of their own.
 *
 * Returns 0 when the guest called its Exit hypercall. Otherwise:
 *   -ECANCELED  uhyve_vm_stop() ended the run (*exit_code is not set);
 *   -EFAULT     the guest crashed: a triple fault, an unexpected exit or an
 *               instruction that could not be completed; the message
 *               names the vCPU and contains its registers;
 *   -EBUSY      the VM has run already (a VM runs once).
 *
 * A negative exit code from the guest is returned as it is; the launcher
 * turns it into a process status by keeping its low 8 bits.
 */
int uhyve_vm_run(struct uhyve_vm *vm, int *exit_code, char **error);

/* Asks a running VM to stop; uhyve_vm_run() then returns -ECANCELED.
 * Safe to call from any thread, also before or after the run. */
void uhyve_vm_stop(struct uhyve_vm *vm);

/* Returns the guest output captured with UHYVE_OUTPUT_BUFFER and stores
 * its length in *len. The bytes are owned by the VM and valid until the
 * next run or uhyve_vm_destroy(); they are not NUL-terminated. Returns
 * NULL with *len = 0 for other output kinds. */
const uint8_t *uhyve_vm_output(const struct uhyve_vm *vm, size_t *len);

/* Exit statistics of one vCPU. The exit counts are collected only when
 * uhyve_config_set_stats() enabled them, and stay 0 otherwise;
 * instruction_fallbacks and run_time_ns are always recorded. */
struct uhyve_vcpu_stats {
	uint64_t hypercalls[32]; /* indexed by enum uhyve_hypercall_id */
	uint64_t io_reads;	 /* port reads that are not hypercalls */
	uint64_t io_writes;	 /* port writes that are not hypercalls */
	uint64_t mmio_reads;
	uint64_t mmio_writes;
	uint64_t hlt;
	uint64_t debug;
	uint64_t
	    instruction_fallbacks; /* instructions completed by the library */
	uint64_t run_time_ns;	   /* time spent inside KVM_RUN and exits */
};

/* Hypercall identities for uhyve_vcpu_stats.hypercalls. */
enum uhyve_hypercall_id {
	UHYVE_HC_EXIT = 0,
	UHYVE_HC_SERIAL_WRITE_BYTE,
	UHYVE_HC_SERIAL_WRITE_BUFFER,
	UHYVE_HC_SERIAL_READ_BUFFER,
	UHYVE_HC_CMDSIZE,
	UHYVE_HC_CMDVAL,
	UHYVE_HC_FILE_OPEN,
	UHYVE_HC_FILE_CLOSE,
	UHYVE_HC_FILE_READ,
	UHYVE_HC_FILE_WRITE,
	UHYVE_HC_FILE_LSEEK,
	UHYVE_HC_FILE_UNLINK,
	UHYVE_HC_COUNT
};

/* Returns the name of a hypercall identity ("FileOpen", ...), or NULL. */
const char *uhyve_hypercall_name(enum uhyve_hypercall_id id);

/* Returns the number of vCPUs of `vm` and, when `stats` is not NULL, copies
 * up to `capacity` per-vCPU records into it. Valid after uhyve_vm_run(). */
size_t uhyve_vm_stats(const struct uhyve_vm *vm, struct uhyve_vcpu_stats *stats,
		      size_t capacity);

/* Closes the VM's KVM handles, removes its temporary directory and frees
 * it. NULL is allowed. Call it only after uhyve_vm_run() has returned (use
 * uhyve_vm_stop() to end a run from another thread first). */
void uhyve_vm_destroy(struct uhyve_vm *vm);

#ifdef __cplusplus
}
#endif

#endif /* UHYVE_UHYVE_H */
