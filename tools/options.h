/* Settings of the uhyve launcher: command line, environment and config file. */
#ifndef UHYVE_TOOLS_OPTIONS_H
#define UHYVE_TOOLS_OPTIONS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "uhyve/uhyve.h"

/* Settings by identity, shared by the command line, the environment
 * variables and the configuration file: the short option letter where there
 * is one, values from 256 for long-only options. */
enum option_id {
	OPTION_AFFINITY = 'a',
	OPTION_CPU_COUNT = 'c',
	OPTION_ENV = 'e',
	OPTION_HELP = 'h',
	OPTION_MEMORY_SIZE = 'm',
	OPTION_OUTPUT = 'o',
	OPTION_GDB_PORT = 's',
	OPTION_VERBOSE = 'v',
	OPTION_VERSION = 'V',
	OPTION_NO_ASLR = 256,
	OPTION_THP,
	OPTION_KSM,
	OPTION_PIT,
	OPTION_CPU_PM,
	OPTION_STATS,
	OPTION_FILE_MAPPING,
	OPTION_TEMPDIR,
	OPTION_FILE_ISOLATION,
	OPTION_IO_MODE,
	OPTION_CONFIG,
};

/* The launcher's settings. Everything the library takes is applied to
 * `config` as it is parsed; the rest is kept here for the launcher. */
struct launcher_options {
	struct uhyve_config *config;
	GPtrArray *mappings; /* "HOST:GUEST" strings for uhyve_vm_mount */
	const char *kernel;
	char *config_file; /* the configuration file that was read, or NULL */
	bool help;
	bool version;
	bool stats;
	int verbosity;	    /* 0 warnings, 1 info, 2 debug */
	uint32_t cpu_count; /* the vCPU count set so far */
	uint32_t
	    affinity_count; /* host CPUs in the affinity list, 0 for none */
};

/* Parses a byte size: a decimal number with an optional binary suffix
 * K/Ki/KiB/KB, M/..., G/..., T/... (case-insensitive; all mean powers of
 * 1024). Returns 0, or -EINVAL with a message for anything else or an
 * overflow. */
int parse_size(const char *text, uint64_t *bytes, char **error);

/* Parses a CPU list: numbers and ranges separated by commas or blanks,
 * as in "0-1,2" or "0 1 2". Returns 0 or -EINVAL with a message. */
int parse_cpu_list(const char *text, GArray *cpus, char **error);

/* Parses a decimal number in [min, max]; `what` names it in messages. */
int parse_number(const char *text, uint64_t min, uint64_t max, const char *what,
		 uint64_t *value, char **error);

/*
 * Fills *options, whose config must already exist, from three sources, each
 * overriding the one before: the configuration file (--config FILE, else
 * $HERMIT_CONFIG, else ./uhyve.toml, else $XDG_CONFIG_HOME/uhyve/uhyve.toml),
 * the HERMIT_* environment variables, then the command line. With --help or
 * --version only the command line is read. Returns 0, or a negative errno
 * value with a message in *error (g_free) that names the source.
 */
int options_parse(int argc, char **argv, struct launcher_options *options,
		  char **error);

/* Applies one setting that takes a value, given as text. Returns 0 or
 * -EINVAL with a message (g_free) that names the value and the limit. */
int options_apply(struct launcher_options *options, enum option_id id,
		  const char *value, char **error);

/* Turns an on/off setting such as OPTION_THP or OPTION_NO_ASLR on or off. */
void options_set_flag(struct launcher_options *options, enum option_id id,
		      bool enabled);

/* Prints the usage text to `stream`. */
void options_print_help(FILE *stream);

/* Frees what options_parse() allocated; the config stays with the caller. */
void options_clear(struct launcher_options *options);

#endif /* UHYVE_TOOLS_OPTIONS_H */
