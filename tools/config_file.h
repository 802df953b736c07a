/* The launcher's configuration file, uhyve.toml. */
#ifndef UHYVE_TOOLS_CONFIG_FILE_H
#define UHYVE_TOOLS_CONFIG_FILE_H

#include "options.h"

/*
 * Reads the TOML configuration file `path` and applies its settings to
 * *options, whose config must exist. When `path` is NULL, reads
 * ./uhyve.toml, else $XDG_CONFIG_HOME/uhyve/uhyve.toml ($HOME/.config when
 * XDG_CONFIG_HOME is unset), and does nothing when neither exists. Stores
 * the path of the file read in options->config_file.
 *
 * The tables and keys are [uhyve] output, stats, tempdir, file_isolation,
 * io_mode, gdb_port; [memory] memory_size, no_aslr, thp, ksm; [cpu]
 * cpu_count, cpu_pm, pit, affinity; [guest] env_vars.
 *
 * Returns 0 or a negative errno value with a message (g_free): -ENOENT,
 * -EISDIR or -EFBIG for a file that cannot be read, -EINVAL for invalid
 * TOML, an unknown table or key, a wrong type or a bad value. Messages
 * about the contents start with "FILE:LINE:" and name the key.
 */
int config_file_apply(struct launcher_options *options, const char *path,
		      char **error);

#endif /* UHYVE_TOOLS_CONFIG_FILE_H */
