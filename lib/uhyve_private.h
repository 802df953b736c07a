/* Internal state of configurations, VMs and vCPUs, shared by the core's units.
 */
#ifndef UHYVE_PRIVATE_H
#define UHYVE_PRIVATE_H

#include <glib.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "uhyve/uhyve.h"

#include "elf_loader.h"
#include "error.h"
#include "guest_files.h"
#include "guest_mem.h"
#include "guest_setup.h"
#include "output.h"

struct uhyve_fallback;
struct gdb_stub;

struct uhyve_config {
	uint64_t memory_size;
	uint32_t cpu_count;
	GPtrArray *kernel_args; /* char * */
	GPtrArray *app_args;	/* char * */
	GPtrArray *env;		/* char * "KEY=VALUE", keys unique */
	bool aslr;
	enum uhyve_output_kind output_kind;
	char *output_path;
	enum uhyve_log_level log_level;
	GArray *affinity; /* uint32_t host CPU per vCPU */
	bool thp;
	bool ksm;
	bool pit;
	bool cpu_pm;
	bool stats;
	char *tempdir;
	enum uhyve_file_isolation isolation;
	unsigned io_mode;
	uint16_t gdb_port;
};

/* Returns a deep copy of `config`, or NULL without memory. */
struct uhyve_config *config_copy(const struct uhyve_config *config);

struct uhyve_vcpu {
	struct uhyve_vm *vm;
	uint32_t id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	struct uhyve_fallback *fallback;
	struct uhyve_vcpu_stats stats;
	char *error; /* why this vCPU ended the run, or NULL */
};

/* Reason a run ended. The first reason recorded wins. */
enum run_end {
	RUN_END_NONE = 0,
	RUN_END_EXIT,	/* the guest's Exit hypercall */
	RUN_END_STOP,	/* uhyve_vm_stop() */
	RUN_END_CRASH,	/* a vCPU failed; its error says why */
	RUN_END_OUTPUT, /* writing guest output failed; exit_code is the errno
			 */
};

struct uhyve_vm {
	struct uhyve_config *config;
	char *kernel_path;
	struct kernel_image image;
	struct guest_mem mem;
	struct guest_layout layout;
	uint32_t tsc_khz;
	struct v1_command_line command_line;
	char *bootargs;

	int kvm_fd;
	int vm_fd;
	size_t run_size;
	struct uhyve_vcpu *vcpus;
	uint32_t vcpu_count;

	struct output output;
	struct guest_files files;

	atomic_int run_end;  /* enum run_end */
	int exit_code;	     /* valid with RUN_END_EXIT and RUN_END_OUTPUT */
	int crashed_vcpu;    /* valid with RUN_END_CRASH */
	atomic_bool running; /* vCPU threads exist */
	bool has_run;
	pthread_mutex_t lock;	  /* guards run_end's companions */
	GHashTable *logged_ports; /* ports and addresses already warned about */
	atomic_uint guest_warnings; /* warnings about bad guest parameters */
	/* The GDB stub during a run with a GDB port, else NULL. It is set and
	 * cleared with `lock` held. */
	struct gdb_stub *gdb;
};

/* Records why the run ends (only the first call has an effect) and kicks
 * every vCPU out of KVM_RUN. Returns true for the call that won. */
bool vm_end_run(struct uhyve_vm *vm, enum run_end reason, int exit_code,
		int vcpu_id);

/* Logs through GLib under the "uhyve" domain when the VM's configured
 * verbosity allows `level`, with the source location. */
#define vm_log(vm, level, ...)                                                 \
	do {                                                                   \
		if ((vm)->config->log_level >= (level))                        \
			log_message((level), G_STRLOC, __VA_ARGS__);           \
	} while (0)

/* How many warnings about bad guest parameters a VM logs before it goes
 * quiet, so that a hostile guest cannot flood the host's log. */
#define GUEST_WARNING_LIMIT 32

/* Logs a warning about a guest's bad parameters, up to the limit. */
#define vm_warn_guest(vm, ...)                                                 \
	do {                                                                   \
		unsigned count_ = atomic_fetch_add(&(vm)->guest_warnings, 1);  \
		if (count_ < GUEST_WARNING_LIMIT)                              \
			vm_log(vm, UHYVE_LOG_WARNING, __VA_ARGS__);            \
		else if (count_ == GUEST_WARNING_LIMIT)                        \
			vm_log(vm, UHYVE_LOG_WARNING,                          \
			       "further warnings about guest parameters are "  \
			       "suppressed");                                  \
	} while (0)

/* Ends the run because guest output could not be written (`rc` is the
 * negative errno from output_write()); -EINTR, the end of the run, is
 * not a failure. */
void vm_output_failed(struct uhyve_vm *vm, int rc);

void log_message(enum uhyve_log_level level, const char *location,
		 const char *format, ...) __attribute__((format(printf, 3, 4)));

#endif /* UHYVE_PRIVATE_H */
