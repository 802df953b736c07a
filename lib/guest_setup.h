/* Boot-time guest contents: memory placement, boot information, device tree,
 * arguments. */
#ifndef UHYVE_GUEST_SETUP_H
#define UHYVE_GUEST_SETUP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "elf_loader.h"
#include "guest_mem.h"

/* Interface v1 kernels whose environment array has fewer entries than this
 * get empty strings appended: Hermit 0.6.x kernels never store the NULL
 * that ends their environment-pointer array, and with few entries the
 * spare slot holds heap garbage (seen: 0–3 variables crash, 4 or more
 * work). Hermit's Rust runtime skips entries without '=', so a Rust
 * application sees exactly the configured variables; a C application
 * (newlib) sees the padding as empty strings in environ. */
#define V1_MIN_ENV_ENTRIES 32

/* Placement of guest memory and the kernel. */
struct guest_layout {
	uint64_t memory_start; /* G */
	uint64_t memory_size;  /* M */
	uint64_t kernel_addr;  /* K */
	uint64_t kernel_end;   /* K + load span */
};

/*
 * Chooses G and K for `image` with `memory_size` bytes, randomising G for
 * relocatable kernels when `aslr` is set (`random` supplies the bits).
 * Returns 0, or -EINVAL with a message naming the value and the limit.
 */
int layout_choose(const struct kernel_image *image, uint64_t memory_size,
		  bool aslr, uint64_t random, struct guest_layout *layout,
		  char **error);

/* Inputs of the boot information and the device tree. */
struct boot_params {
	const struct kernel_image *image;
	const struct guest_layout *layout;
	uint32_t cpu_count;
	uint32_t tsc_khz;
	const char *bootargs;
	const char *const *mounts; /* NULL-terminated, or NULL for none */
};

/* Writes the boot information block. Returns 0 or -E2BIG. */
int boot_info_write(const struct guest_mem *mem,
		    const struct boot_params *params);

/* Writes the flattened device tree at G + 0x5000. Returns 0, or -E2BIG
 * with a message when it does not fit below G + 0x9000. */
int device_tree_write(const struct guest_mem *mem,
		      const struct boot_params *params, char **error);

/* Returns the device tree's bootargs (g_free): kernel arguments, then one
 * env=KEY=VALUE word per variable, then "--" and the application arguments
 * if any. Arguments, keys and values are quoted for a POSIX shell where
 * needed, because Hermit splits the line into words as a shell does. */
char *bootargs_build(GPtrArray *kernel_args, GPtrArray *env,
		     GPtrArray *app_args);

/* Returns `word` quoted for a POSIX shell when it needs quoting (g_free). */
char *shell_quote(const char *word);

/* Argument and environment strings of interface v1's Cmdsize/Cmdval. */
struct v1_command_line {
	GPtrArray
	    *argv; /* kernel path, kernel arguments, application arguments */
	GPtrArray *envp; /* "KEY=VALUE", padded with "" to V1_MIN_ENV_ENTRIES */
};

/* Builds the v1 strings. Returns 0, or -E2BIG with a message when more than
 * 128 arguments or variables would be needed. */
int v1_command_line_build(const char *kernel_path, GPtrArray *kernel_args,
			  GPtrArray *app_args, GPtrArray *env,
			  struct v1_command_line *command_line, char **error);

void v1_command_line_clear(struct v1_command_line *command_line);

#endif /* UHYVE_GUEST_SETUP_H */
