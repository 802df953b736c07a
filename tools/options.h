/* Parsing of the uhyve launcher's command line and environment variables. */
#ifndef UHYVE_TOOLS_OPTIONS_H
#define UHYVE_TOOLS_OPTIONS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "uhyve/uhyve.h"

/* The launcher's settings, before they are applied to a uhyve_config. */
struct launcher_options {
	struct uhyve_config *config;
	GPtrArray *mappings; /* "HOST:GUEST" strings for uhyve_vm_mount */
	const char *kernel;
	const char *config_file;
	bool help;
	bool version;
	bool stats;
	int verbosity; /* 0 warnings, 1 info, 2 debug */
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
int parse_number(const char *text, uint64_t min, uint64_t max,
		 const char *what, uint64_t *value, char **error);

/* Parses argv and the HERMIT_* environment variables into *options, whose
 * config must already exist. Returns 0 or -EINVAL with a message. */
int options_parse(int argc, char **argv, struct launcher_options *options,
		  char **error);

/* Prints the usage text to `stream`. */
void options_print_help(FILE *stream);

void options_clear(struct launcher_options *options);

#endif /* UHYVE_TOOLS_OPTIONS_H */
