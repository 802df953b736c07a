/* The configuration object: everything a caller can set before creating a VM.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "uhyve_private.h"

struct uhyve_config *uhyve_config_new(void)
{
	struct uhyve_config *config = calloc(1, sizeof(*config));

	if (!config)
		return NULL;
	config->memory_size = UHYVE_DEFAULT_MEMORY_SIZE;
	config->cpu_count = 1;
	config->kernel_args = g_ptr_array_new_with_free_func(g_free);
	config->app_args = g_ptr_array_new_with_free_func(g_free);
	config->env = g_ptr_array_new_with_free_func(g_free);
	config->affinity = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	config->aslr = true;
	config->output_kind = UHYVE_OUTPUT_STDOUT;
	config->log_level = UHYVE_LOG_NONE;
	config->isolation = UHYVE_ISOLATION_NONE;
	return config;
}

void uhyve_config_free(struct uhyve_config *config)
{
	if (!config)
		return;
	g_ptr_array_unref(config->kernel_args);
	g_ptr_array_unref(config->app_args);
	g_ptr_array_unref(config->env);
	g_array_unref(config->affinity);
	g_free(config->output_path);
	g_free(config->tempdir);
	free(config);
}

static GPtrArray *copy_strings(GPtrArray *strings)
{
	GPtrArray *copy = g_ptr_array_new_full(strings->len, g_free);

	for (guint i = 0; i < strings->len; i++)
		g_ptr_array_add(copy, g_strdup(strings->pdata[i]));
	return copy;
}

struct uhyve_config *config_copy(const struct uhyve_config *config)
{
	struct uhyve_config *copy = malloc(sizeof(*copy));

	if (!copy)
		return NULL;
	*copy = *config;
	copy->kernel_args = copy_strings(config->kernel_args);
	copy->app_args = copy_strings(config->app_args);
	copy->env = copy_strings(config->env);
	copy->affinity = g_array_copy(config->affinity);
	copy->output_path = g_strdup(config->output_path);
	copy->tempdir = g_strdup(config->tempdir);
	return copy;
}

int uhyve_config_set_memory_size(struct uhyve_config *config, uint64_t bytes,
				 char **error)
{
	if (bytes < UHYVE_MIN_MEMORY_SIZE)
		return set_error(error, -EINVAL,
				 "memory size %llu bytes is too small: the "
				 "minimum is 16 MiB (16777216 bytes)",
				 (unsigned long long)bytes);
	if (bytes % UHYVE_MEMORY_ALIGNMENT)
		return set_error(error, -EINVAL,
				 "memory size %llu bytes is not a multiple of "
				 "2 MiB (2097152 bytes)",
				 (unsigned long long)bytes);
	config->memory_size = bytes;
	return 0;
}

int uhyve_config_set_cpu_count(struct uhyve_config *config, uint32_t count,
			       char **error)
{
	if (count == 0)
		return set_error(error, -EINVAL,
				 "vCPU count 0 is invalid: a VM needs at least "
				 "one vCPU");
	config->cpu_count = count;
	return 0;
}

static int add_string(GPtrArray *strings, const char *value, const char *what,
		      char **error)
{
	if (!value)
		return set_error(error, -EINVAL, "%s is NULL", what);
	g_ptr_array_add(strings, g_strdup(value));
	return 0;
}

int uhyve_config_add_kernel_arg(struct uhyve_config *config, const char *arg,
				char **error)
{
	return add_string(config->kernel_args, arg, "kernel argument", error);
}

int uhyve_config_add_app_arg(struct uhyve_config *config, const char *arg,
			     char **error)
{
	return add_string(config->app_args, arg, "application argument", error);
}

int uhyve_config_add_env(struct uhyve_config *config, const char *key_value,
			 char **error)
{
	const char *equals;
	size_t key_len;

	if (!key_value)
		return set_error(error, -EINVAL,
				 "environment variable is NULL");
	equals = strchr(key_value, '=');
	if (!equals)
		return set_error(error, -EINVAL,
				 "environment variable \"%s\" has no '=': use "
				 "KEY=VALUE",
				 key_value);
	key_len = (size_t)(equals - key_value);
	if (key_len == 0)
		return set_error(
		    error, -EINVAL,
		    "environment variable \"%s\" has an empty name", key_value);

	for (guint i = 0; i < config->env->len; i++) {
		const char *existing = config->env->pdata[i];

		if (!strncmp(existing, key_value, key_len + 1)) {
			g_free(config->env->pdata[i]);
			config->env->pdata[i] = g_strdup(key_value);
			return 0;
		}
	}
	g_ptr_array_add(config->env, g_strdup(key_value));
	return 0;
}

void uhyve_config_set_aslr(struct uhyve_config *config, bool enabled)
{
	config->aslr = enabled;
}

int uhyve_config_set_output(struct uhyve_config *config,
			    enum uhyve_output_kind kind, const char *path,
			    char **error)
{
	if (kind > UHYVE_OUTPUT_NONE)
		return set_error(error, -EINVAL, "unknown output kind %d",
				 (int)kind);
	if (kind == UHYVE_OUTPUT_FILE && (!path || !*path))
		return set_error(error, -EINVAL,
				 "output to a file needs a file name");
	g_free(config->output_path);
	config->output_path = kind == UHYVE_OUTPUT_FILE ? g_strdup(path) : NULL;
	config->output_kind = kind;
	return 0;
}

void uhyve_config_set_log_level(struct uhyve_config *config,
				enum uhyve_log_level level)
{
	config->log_level = level;
}

int uhyve_config_set_affinity(struct uhyve_config *config, const uint32_t *cpus,
			      size_t count, char **error)
{
	if (count > 0 && !cpus)
		return set_error(error, -EINVAL, "CPU list is NULL");
	for (size_t i = 0; i < count; i++) {
		if (cpus[i] >= CPU_SETSIZE)
			return set_error(error, -EINVAL,
					 "host CPU %u is out of range: the "
					 "maximum is %d",
					 cpus[i], CPU_SETSIZE - 1);
	}
	g_array_set_size(config->affinity, 0);
	g_array_append_vals(config->affinity, cpus, (guint)count);
	return 0;
}

void uhyve_config_set_thp(struct uhyve_config *config, bool enabled)
{
	config->thp = enabled;
}

void uhyve_config_set_ksm(struct uhyve_config *config, bool enabled)
{
	config->ksm = enabled;
}

void uhyve_config_set_pit(struct uhyve_config *config, bool enabled)
{
	config->pit = enabled;
}

void uhyve_config_set_cpu_pm(struct uhyve_config *config, bool enabled)
{
	config->cpu_pm = enabled;
}

void uhyve_config_set_stats(struct uhyve_config *config, bool enabled)
{
	config->stats = enabled;
}

int uhyve_config_set_tempdir(struct uhyve_config *config, const char *path,
			     char **error)
{
	if (path && !*path)
		return set_error(error, -EINVAL,
				 "temporary directory name is empty");
	g_free(config->tempdir);
	config->tempdir = g_strdup(path);
	return 0;
}

void uhyve_config_set_file_isolation(struct uhyve_config *config,
				     enum uhyve_file_isolation isolation)
{
	config->isolation = isolation;
}

int uhyve_config_set_io_mode(struct uhyve_config *config, unsigned flags,
			     char **error)
{
	if (flags & ~(UHYVE_IO_DIRECT | UHYVE_IO_SYNC))
		return set_error(error, -EINVAL,
				 "I/O mode flags %#x are invalid: use "
				 "UHYVE_IO_DIRECT and UHYVE_IO_SYNC",
				 flags);
	config->io_mode = flags;
	return 0;
}

void uhyve_config_set_gdb_port(struct uhyve_config *config, uint16_t port)
{
	config->gdb_port = port;
}
