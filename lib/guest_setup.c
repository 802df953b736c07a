/* Boot-time guest contents: memory placement, boot information, device tree,
 * arguments. */
#include "guest_setup.h"

#include <errno.h>
#include <libfdt.h>
#include <string.h>
#include <time.h>

#include "uhyve/hermit_abi.h"

#include "error.h"
#include "uhyve/uhyve.h"

#define MIB (1ULL << 20)

static void interface_range(uint32_t version, uint64_t *start, uint64_t *end)
{
	if (version == 2) {
		*start = HERMIT_V2_MEMORY_START;
		*end = HERMIT_V2_MEMORY_END;
	} else {
		*start = 0;
		*end = HERMIT_V1_MEMORY_END;
	}
}

static int check_memory_size(uint32_t version, uint64_t size, uint64_t range,
			     char **error)
{
	if (version == 1 && size >= HERMIT_V1_MEMORY_END)
		return set_error(error, -EINVAL,
				 "memory size %llu MiB is too large for an "
				 "interface version 1 kernel: it must be less "
				 "than 3 GiB (3072 MiB)",
				 (unsigned long long)(size / MIB));
	if (size > range)
		return set_error(error, -EINVAL,
				 "memory size %llu MiB is too large: interface "
				 "version %u kernels allow at most %llu MiB",
				 (unsigned long long)(size / MIB), version,
				 (unsigned long long)(range / MIB));
	return 0;
}

static int place_fixed(const struct kernel_image *image, uint64_t range_start,
		       struct guest_layout *layout, char **error)
{
	layout->memory_start = range_start;
	layout->kernel_addr = image->load_start;
	if (image->load_start < range_start + HERMIT_KERNEL_OFFSET)
		return set_error(
		    error, -EINVAL,
		    "kernel load address %#llx is too low: it must "
		    "be at least %#llx",
		    (unsigned long long)image->load_start,
		    (unsigned long long)(range_start + HERMIT_KERNEL_OFFSET));
	return 0;
}

static void place_relocatable(const struct kernel_image *image,
			      uint64_t range_start, uint64_t range_end,
			      bool aslr, uint64_t random,
			      struct guest_layout *layout)
{
	uint64_t needed =
	    HERMIT_KERNEL_OFFSET + image->load_span + layout->memory_size;
	uint64_t start = range_start;

	if (aslr && needed < range_end - range_start) {
		uint64_t slots = (range_end - range_start - needed) /
				     UHYVE_MEMORY_ALIGNMENT +
				 1;

		start += (random % slots) * UHYVE_MEMORY_ALIGNMENT;
	}
	layout->memory_start = start;
	layout->kernel_addr = start + HERMIT_KERNEL_OFFSET;
}

int layout_choose(const struct kernel_image *image, uint64_t memory_size,
		  bool aslr, uint64_t random, struct guest_layout *layout,
		  char **error)
{
	uint64_t range_start;
	uint64_t range_end;
	uint64_t memory_end;
	int rc;

	interface_range(image->interface_version, &range_start, &range_end);
	rc = check_memory_size(image->interface_version, memory_size,
			       range_end - range_start, error);
	if (rc)
		return rc;

	layout->memory_size = memory_size;
	if (image->relocatable) {
		place_relocatable(image, range_start, range_end, aslr, random,
				  layout);
	} else {
		rc = place_fixed(image, range_start, layout, error);
		if (rc)
			return rc;
	}

	memory_end = layout->memory_start + memory_size;
	layout->kernel_end = layout->kernel_addr +
			     (image->relocatable ? image->load_start : 0) +
			     image->load_span;
	if (image->load_span > memory_size || layout->kernel_end > memory_end ||
	    layout->kernel_end < layout->kernel_addr)
		return set_error(error, -EINVAL,
				 "kernel image [%#llx, %#llx) does not fit in "
				 "guest memory [%#llx, %#llx): use a larger "
				 "memory size",
				 (unsigned long long)layout->kernel_addr,
				 (unsigned long long)layout->kernel_end,
				 (unsigned long long)layout->memory_start,
				 (unsigned long long)memory_end);
	return 0;
}

int boot_info_write(const struct guest_mem *mem,
		    const struct boot_params *params)
{
	const struct kernel_image *image = params->image;
	const struct guest_layout *layout = params->layout;
	struct hermit_boot_info *info = GUEST_MEM_OBJECT(
	    mem, mem->start + HERMIT_BOOT_INFO_OFFSET, struct hermit_boot_info);
	struct timespec now;
	__int128 boot_time;

	if (!info)
		return -E2BIG;
	memset(info, 0, sizeof(*info));
	info->phys_addr_start = layout->memory_start;
	info->phys_addr_end = layout->memory_start + layout->memory_size;
	info->serial_port = image->interface_version == 2
				? HERMIT_V2_SERIAL_PORT
				: HERMIT_V1_SERIAL_PORT;
	info->fdt_addr = layout->memory_start + HERMIT_FDT_OFFSET;
	info->kernel_start = layout->kernel_addr;
	info->kernel_end = layout->kernel_end;
	if (image->has_tls) {
		info->tls_start =
		    image->tls_vaddr +
		    (image->relocatable ? layout->kernel_addr : 0);
		info->tls_filesz = image->tls_filesz;
		info->tls_memsz = image->tls_memsz;
		info->tls_align = image->tls_align;
	}
	info->platform = HERMIT_PLATFORM_UHYVE;
	info->has_pci = 1;
	info->cpu_count = params->cpu_count;
	info->cpu_freq_khz = params->tsc_khz;

	clock_gettime(CLOCK_REALTIME, &now);
	boot_time = (__int128)now.tv_sec * 1000000000 + now.tv_nsec;
	memcpy(info->boot_time_ns, &boot_time, sizeof(boot_time));
	return 0;
}

static int add_mounts(void *fdt, const char *const *mounts)
{
	GString *list = g_string_new(NULL);
	int rc;

	for (size_t i = 0; mounts[i]; i++)
		g_string_append_len(list, mounts[i], strlen(mounts[i]) + 1);

	rc = fdt_begin_node(fdt, "uhyve,mounts");
	if (!rc)
		rc = fdt_property(fdt, "mounts", list->str, (int)list->len);
	if (!rc)
		rc = fdt_end_node(fdt);
	g_string_free(list, TRUE);
	return rc;
}

static int add_memory_node(void *fdt, const struct guest_layout *layout)
{
	fdt64_t reg[2] = {cpu_to_fdt64(layout->memory_start),
			  cpu_to_fdt64(layout->memory_size)};
	char name[32];
	int rc;

	g_snprintf(name, sizeof(name), "memory@%llx",
		   (unsigned long long)layout->memory_start);
	rc = fdt_begin_node(fdt, name);
	if (!rc)
		rc = fdt_property_string(fdt, "device_type", "memory");
	if (!rc)
		rc = fdt_property(fdt, "reg", reg, sizeof(reg));
	if (!rc)
		rc = fdt_end_node(fdt);
	return rc;
}

static int build_tree(void *fdt, int size, const struct boot_params *params)
{
	int rc = fdt_create(fdt, size);

	if (!rc)
		rc = fdt_finish_reservemap(fdt);
	if (!rc)
		rc = fdt_begin_node(fdt, "");
	if (!rc)
		rc = fdt_property_string(fdt, "compatible", "hermit,uhyve");
	if (!rc)
		rc = fdt_property_u32(fdt, "#address-cells", 2);
	if (!rc)
		rc = fdt_property_u32(fdt, "#size-cells", 2);
	if (!rc)
		rc = add_memory_node(fdt, params->layout);
	if (!rc)
		rc = fdt_begin_node(fdt, "chosen");
	if (!rc)
		rc = fdt_property_string(fdt, "bootargs", params->bootargs);
	if (!rc)
		rc = fdt_end_node(fdt);
	if (!rc && params->tsc_khz) {
		rc = fdt_begin_node(fdt, "hermit,tsc");
		if (!rc)
			rc = fdt_property_u32(fdt, "khz", params->tsc_khz);
		if (!rc)
			rc = fdt_end_node(fdt);
	}
	if (!rc && params->mounts && params->mounts[0])
		rc = add_mounts(fdt, params->mounts);
	if (!rc)
		rc = fdt_end_node(fdt);
	if (!rc)
		rc = fdt_finish(fdt);
	return rc;
}

int device_tree_write(const struct guest_mem *mem,
		      const struct boot_params *params, char **error)
{
	void *fdt = guest_mem_range(mem, mem->start + HERMIT_FDT_OFFSET,
				    HERMIT_FDT_MAX_SIZE);
	int rc;

	if (!fdt)
		return set_error(
		    error, -E2BIG,
		    "guest memory is too small for the device tree");
	rc = build_tree(fdt, HERMIT_FDT_MAX_SIZE, params);
	if (rc == -FDT_ERR_NOSPACE)
		return set_error(
		    error, -E2BIG,
		    "the device tree does not fit in its %d bytes: "
		    "use fewer or shorter arguments, variables or "
		    "mappings",
		    HERMIT_FDT_MAX_SIZE);
	if (rc)
		return set_error(error, -EINVAL,
				 "writing the device tree "
				 "failed: %s",
				 fdt_strerror(rc));
	return 0;
}

static bool is_shell_safe(char c)
{
	return g_ascii_isalnum(c) || strchr("_@%+=:,./-", c);
}

char *shell_quote(const char *word)
{
	GString *quoted;
	bool safe = *word != '\0';

	for (const char *c = word; *c && safe; c++)
		safe = is_shell_safe(*c);
	if (safe)
		return g_strdup(word);

	quoted = g_string_new("'");
	for (const char *c = word; *c; c++) {
		if (*c == '\'')
			g_string_append(quoted, "'\\''");
		else
			g_string_append_c(quoted, *c);
	}
	g_string_append_c(quoted, '\'');
	return g_string_free(quoted, FALSE);
}

static void append_word(GString *line, const char *word)
{
	if (line->len > 0)
		g_string_append_c(line, ' ');
	g_string_append(line, word);
}

/* Appends `word` quoted for a POSIX shell where it needs quoting, because
 * Hermit splits bootargs into words as a shell does. */
static void append_quoted(GString *line, const char *word)
{
	char *quoted = shell_quote(word);

	append_word(line, quoted);
	g_free(quoted);
}

char *bootargs_build(GPtrArray *kernel_args, GPtrArray *env,
		     GPtrArray *app_args)
{
	GString *line = g_string_new(NULL);

	for (guint i = 0; i < kernel_args->len; i++)
		append_quoted(line, kernel_args->pdata[i]);

	for (guint i = 0; i < env->len; i++) {
		const char *variable = env->pdata[i];
		const char *equals = strchr(variable, '=');

		/* uhyve_config_add_env() only stores KEY=VALUE entries. */
		if (!equals)
			continue;
		char *key = g_strndup(variable, (gsize)(equals - variable));
		char *quoted_key = shell_quote(key);
		char *quoted_value = shell_quote(equals + 1);
		char *word =
		    g_strdup_printf("env=%s=%s", quoted_key, quoted_value);

		append_word(line, word);
		g_free(word);
		g_free(quoted_value);
		g_free(quoted_key);
		g_free(key);
	}

	if (app_args->len > 0) {
		append_word(line, "--");
		for (guint i = 0; i < app_args->len; i++)
			append_quoted(line, app_args->pdata[i]);
	}
	return g_string_free(line, FALSE);
}

int v1_command_line_build(const char *kernel_path, GPtrArray *kernel_args,
			  GPtrArray *app_args, GPtrArray *env,
			  struct v1_command_line *command_line, char **error)
{
	guint argc = 1 + kernel_args->len + app_args->len;

	if (argc > HERMIT_V1_MAX_ARGS)
		return set_error(error, -E2BIG,
				 "%u arguments (with the kernel path) are too "
				 "many for an interface version 1 kernel: the "
				 "limit is %d",
				 argc, HERMIT_V1_MAX_ARGS);
	if (env->len > HERMIT_V1_MAX_ENVS)
		return set_error(error, -E2BIG,
				 "%u environment variables are too many for an "
				 "interface version 1 kernel: the limit is %d",
				 env->len, HERMIT_V1_MAX_ENVS);

	command_line->argv = g_ptr_array_new_with_free_func(g_free);
	command_line->envp = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(command_line->argv, g_strdup(kernel_path));
	for (guint i = 0; i < kernel_args->len; i++)
		g_ptr_array_add(command_line->argv,
				g_strdup(kernel_args->pdata[i]));
	for (guint i = 0; i < app_args->len; i++)
		g_ptr_array_add(command_line->argv,
				g_strdup(app_args->pdata[i]));
	for (guint i = 0; i < env->len; i++)
		g_ptr_array_add(command_line->envp, g_strdup(env->pdata[i]));
	while (command_line->envp->len < V1_MIN_ENV_ENTRIES)
		g_ptr_array_add(command_line->envp, g_strdup(""));
	return 0;
}

void v1_command_line_clear(struct v1_command_line *command_line)
{
	if (command_line->argv)
		g_ptr_array_unref(command_line->argv);
	if (command_line->envp)
		g_ptr_array_unref(command_line->envp);
	command_line->argv = NULL;
	command_line->envp = NULL;
}
