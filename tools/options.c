/* Parsing of the uhyve launcher's command line and environment variables. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* Stores a message in *error (g_free) and returns -EINVAL. */
static int invalid(char **error, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

static int invalid(char **error, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	if (error) {
		g_free(*error);
		*error = g_strdup_vprintf(format, args);
	}
	va_end(args);
	return -EINVAL;
}

struct size_suffix {
	const char *name;
	unsigned shift;
};

static const struct size_suffix size_suffixes[] = {
	{"", 0},     {"b", 0},	   {"k", 10},	{"ki", 10}, {"kib", 10},
	{"kb", 10},  {"m", 20},	   {"mi", 20},	{"mib", 20}, {"mb", 20},
	{"g", 30},   {"gi", 30},   {"gib", 30}, {"gb", 30}, {"t", 40},
	{"ti", 40},  {"tib", 40},  {"tb", 40},
};

int parse_size(const char *text, uint64_t *bytes, char **error)
{
	char *end = NULL;
	uint64_t number;

	if (!text || !g_ascii_isdigit(text[0]))
		goto invalid;
	errno = 0;
	number = g_ascii_strtoull(text, &end, 10);
	if (errno)
		goto invalid;
	while (*end == ' ')
		end++;

	for (size_t i = 0; i < G_N_ELEMENTS(size_suffixes); i++) {
		unsigned shift = size_suffixes[i].shift;

		if (g_ascii_strcasecmp(end, size_suffixes[i].name))
			continue;
		if (shift && number > (UINT64_MAX >> shift))
			goto invalid;
		*bytes = number << shift;
		return 0;
	}
invalid:
	return invalid(error,
		       "invalid size \"%s\": use a number of bytes with an "
		       "optional suffix such as 64MiB, 512M or 1GiB",
		       text ? text : "");
}

int parse_number(const char *text, uint64_t min, uint64_t max,
		 const char *what, uint64_t *value, char **error)
{
	char *end = NULL;
	uint64_t number;

	if (!text || !g_ascii_isdigit(text[0]))
		return invalid(error, "invalid %s \"%s\": expected a number",
			       what, text ? text : "");
	errno = 0;
	number = g_ascii_strtoull(text, &end, 10);
	if (errno || *end)
		return invalid(error, "invalid %s \"%s\": expected a number",
			       what, text);
	if (number < min || number > max)
		return invalid(error,
			       "%s %s is out of range: it must be between "
			       "%llu and %llu", what, text,
			       (unsigned long long)min,
			       (unsigned long long)max);
	*value = number;
	return 0;
}

static int parse_cpu_item(const char *item, GArray *cpus, char **error)
{
	const char *dash = strchr(item, '-');
	uint64_t first;
	uint64_t last;
	char *low;
	int rc;

	if (!dash) {
		rc = parse_number(item, 0, CPU_SETSIZE - 1, "host CPU", &first,
				  error);
		if (rc == 0) {
			uint32_t cpu = (uint32_t)first;

			g_array_append_val(cpus, cpu);
		}
		return rc;
	}
	low = g_strndup(item, (gsize)(dash - item));
	rc = parse_number(low, 0, CPU_SETSIZE - 1, "host CPU", &first, error);
	g_free(low);
	if (rc == 0)
		rc = parse_number(dash + 1, 0, CPU_SETSIZE - 1, "host CPU",
				  &last, error);
	if (rc)
		return rc;
	if (last < first)
		return invalid(error, "invalid CPU range \"%s\": the end is "
				      "below the start", item);
	for (uint64_t cpu = first; cpu <= last; cpu++) {
		uint32_t value = (uint32_t)cpu;

		g_array_append_val(cpus, value);
	}
	return 0;
}

int parse_cpu_list(const char *text, GArray *cpus, char **error)
{
	char **items = g_strsplit_set(text, ", \t", -1);
	int rc = 0;

	for (size_t i = 0; items[i] && rc == 0; i++) {
		if (items[i][0] == '\0')
			continue;
		rc = parse_cpu_item(items[i], cpus, error);
	}
	g_strfreev(items);
	if (rc == 0 && cpus->len == 0)
		return invalid(error, "CPU list \"%s\" is empty", text);
	return rc;
}

enum option_id {
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

static const struct option long_options[] = {
	{"memory-size", required_argument, NULL, 'm'},
	{"cpu-count", required_argument, NULL, 'c'},
	{"affinity", required_argument, NULL, 'a'},
	{"env", required_argument, NULL, 'e'},
	{"output", required_argument, NULL, 'o'},
	{"gdb-port", optional_argument, NULL, 's'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"no-aslr", no_argument, NULL, OPTION_NO_ASLR},
	{"thp", no_argument, NULL, OPTION_THP},
	{"ksm", no_argument, NULL, OPTION_KSM},
	{"pit", no_argument, NULL, OPTION_PIT},
	{"cpu-pm", no_argument, NULL, OPTION_CPU_PM},
	{"stats", no_argument, NULL, OPTION_STATS},
	{"file-mapping", required_argument, NULL, OPTION_FILE_MAPPING},
	{"tempdir", required_argument, NULL, OPTION_TEMPDIR},
	{"file-isolation", required_argument, NULL, OPTION_FILE_ISOLATION},
	{"io-mode", required_argument, NULL, OPTION_IO_MODE},
	{"config", required_argument, NULL, OPTION_CONFIG},
	{NULL, 0, NULL, 0},
};

void options_print_help(FILE *stream)
{
	fprintf(stream,
		"Usage: uhyve [OPTIONS] KERNEL [KERNEL_ARGS...] [-- APP_ARGS...]\n"
		"Run a Hermit unikernel on KVM.\n"
		"\n"
		"Memory and CPUs:\n"
		"  -m, --memory-size SIZE   guest memory, e.g. 64MiB, 512M, 1GiB; at least\n"
		"                           16 MiB, a multiple of 2 MiB, below 3 GiB for\n"
		"                           interface v1 kernels (default 64MiB,\n"
		"                           env HERMIT_MEMORY_SIZE)\n"
		"  -c, --cpu-count N        number of vCPUs (default 1, env HERMIT_CPU_COUNT)\n"
		"  -a, --affinity CPUS      pin vCPU i to the i-th host CPU of a list such as\n"
		"                           0-1,2 or \"0 1 2\"; one CPU per vCPU (default: none)\n"
		"      --no-aslr            load relocatable kernels at the lowest address\n"
		"                           (default: random address)\n"
		"      --thp                advise transparent huge pages on guest memory\n"
		"      --ksm                advise same-page merging on guest memory\n"
		"      --pit                give the guest a PIT timer (default: none)\n"
		"      --cpu-pm             let the guest manage idle states (disable the\n"
		"                           HLT, PAUSE, MWAIT and C-state exits)\n"
		"\n"
		"Guest environment and output:\n"
		"  -e, --env KEY=VALUE      add an environment variable; \"host\" passes the\n"
		"                           whole host environment (repeatable; default: none)\n"
		"  -o, --output FILE|none   write guest output to a new FILE or discard it\n"
		"                           (default: standard output)\n"
		"      --stats              print per-vCPU exit statistics after the run\n"
		"\n"
		"Files:\n"
		"      --file-mapping HOST:GUEST\n"
		"                           make a host file or directory visible to the\n"
		"                           guest at GUEST (repeatable)\n"
		"      --tempdir DIR        base directory of the VM's temporary directory\n"
		"                           (default: $TMPDIR, else /tmp)\n"
		"      --file-isolation none|normal|strict\n"
		"                           Landlock isolation of guest file access\n"
		"                           (default: normal)\n"
		"      --io-mode host=direct|sync|direct,sync\n"
		"                           add O_DIRECT and/or O_SYNC to host opens\n"
		"\n"
		"Debugging and configuration:\n"
		"  -s, --gdb-port[=PORT]    wait for GDB on 127.0.0.1:PORT before the guest\n"
		"                           runs (default 6677 when given without PORT,\n"
		"                           env HERMIT_GDB_PORT)\n"
		"      --config FILE        read options from a TOML file (default:\n"
		"                           ./uhyve.toml, else $XDG_CONFIG_HOME/uhyve/uhyve.toml;\n"
		"                           env HERMIT_CONFIG)\n"
		"  -v, --verbose            log more: once for info, twice for debug\n"
		"  -h, --help               print this help and exit\n"
		"  -V, --version            print the version and exit\n"
		"\n"
		"Arguments after KERNEL up to a lone -- go to the kernel, the rest to the\n"
		"application. The exit status is the guest's exit code (its low 8 bits);\n"
		"uhyve's own failures exit with status 125.\n");
}

static int add_environment(struct launcher_options *options, const char *value,
			   char **error)
{
	char *message = NULL;
	int rc;

	if (strcmp(value, "host") == 0) {
		for (char **variable = environ; variable && *variable;
		     variable++) {
			if (strchr(*variable, '=') && **variable != '=')
				uhyve_config_add_env(options->config, *variable,
						     NULL);
		}
		return 0;
	}
	rc = uhyve_config_add_env(options->config, value, &message);
	if (rc)
		rc = invalid(error, "%s", message);
	free(message);
	return rc;
}

/* Forwards a library error message (malloc) as a launcher one (g_free). */
static int forward(int rc, char *message, char **error)
{
	if (rc)
		invalid(error, "%s", message ? message : "invalid value");
	free(message);
	return rc ? -EINVAL : 0;
}

static int set_memory_size(struct launcher_options *options, const char *text,
			   char **error)
{
	char *message = NULL;
	uint64_t bytes;
	int rc = parse_size(text, &bytes, error);

	if (rc)
		return rc;
	rc = uhyve_config_set_memory_size(options->config, bytes, &message);
	return forward(rc, message, error);
}

static int set_cpu_count(struct launcher_options *options, const char *text,
			 char **error)
{
	char *message = NULL;
	uint64_t count;
	int rc = parse_number(text, 0, UINT32_MAX, "vCPU count", &count, error);

	if (rc)
		return rc;
	rc = uhyve_config_set_cpu_count(options->config, (uint32_t)count,
					&message);
	return forward(rc, message, error);
}

static int set_affinity(struct launcher_options *options, const char *text,
			char **error)
{
	GArray *cpus = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	char *message = NULL;
	int rc = parse_cpu_list(text, cpus, error);

	if (rc == 0)
		rc = forward(uhyve_config_set_affinity(options->config,
						       (uint32_t *)cpus->data,
						       cpus->len, &message),
			     message, error);
	g_array_unref(cpus);
	return rc;
}

static int set_output(struct launcher_options *options, const char *text,
		      char **error)
{
	char *message = NULL;
	int rc;

	if (strcmp(text, "none") == 0)
		rc = uhyve_config_set_output(options->config, UHYVE_OUTPUT_NONE,
					     NULL, &message);
	else
		rc = uhyve_config_set_output(options->config, UHYVE_OUTPUT_FILE,
					     text, &message);
	return forward(rc, message, error);
}

static int set_gdb_port(struct launcher_options *options, const char *text,
			char **error)
{
	uint64_t port = UHYVE_DEFAULT_GDB_PORT;
	int rc = 0;

	if (text)
		rc = parse_number(text, 1, 65535, "GDB port", &port, error);
	if (rc == 0)
		uhyve_config_set_gdb_port(options->config, (uint16_t)port);
	return rc;
}

static int set_file_isolation(struct launcher_options *options,
			      const char *text, char **error)
{
	static const char *const names[] = {"none", "normal", "strict"};

	for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
		if (strcmp(text, names[i]) == 0) {
			uhyve_config_set_file_isolation(
				options->config, (enum uhyve_file_isolation)i);
			return 0;
		}
	}
	return invalid(error,
		       "invalid file isolation \"%s\": use none, normal or "
		       "strict", text);
}

static int set_io_mode(struct launcher_options *options, const char *text,
		       char **error)
{
	static const char *const modes[] = {"host=direct", "host=sync",
					    "host=direct,sync",
					    "host=sync,direct"};
	static const unsigned flags[] = {UHYVE_IO_DIRECT, UHYVE_IO_SYNC,
					 UHYVE_IO_DIRECT | UHYVE_IO_SYNC,
					 UHYVE_IO_DIRECT | UHYVE_IO_SYNC};
	char *message = NULL;

	for (unsigned i = 0; i < G_N_ELEMENTS(modes); i++) {
		if (strcmp(text, modes[i]) == 0)
			return forward(uhyve_config_set_io_mode(
					       options->config, flags[i],
					       &message),
				       message, error);
	}
	return invalid(error,
		       "invalid I/O mode \"%s\": use host=direct, host=sync or "
		       "host=direct,sync", text);
}

static int set_tempdir(struct launcher_options *options, const char *text,
		       char **error)
{
	char *message = NULL;

	return forward(uhyve_config_set_tempdir(options->config, text,
						&message),
		       message, error);
}

static int add_mapping(struct launcher_options *options, const char *text,
		       char **error)
{
	const char *colon = strrchr(text, ':');

	if (!colon || colon == text || colon[1] == '\0')
		return invalid(error,
			       "invalid file mapping \"%s\": use HOST:GUEST",
			       text);
	g_ptr_array_add(options->mappings, g_strdup(text));
	return 0;
}

static int apply_option(struct launcher_options *options, int id,
			const char *arg, char **error)
{
	switch (id) {
	case 'm':
		return set_memory_size(options, arg, error);
	case 'c':
		return set_cpu_count(options, arg, error);
	case 'a':
		return set_affinity(options, arg, error);
	case 'e':
		return add_environment(options, arg, error);
	case 'o':
		return set_output(options, arg, error);
	case 's':
		return set_gdb_port(options, arg, error);
	case 'v':
		options->verbosity++;
		return 0;
	case 'h':
		options->help = true;
		return 0;
	case 'V':
		options->version = true;
		return 0;
	case OPTION_NO_ASLR:
		uhyve_config_set_aslr(options->config, false);
		return 0;
	case OPTION_THP:
		uhyve_config_set_thp(options->config, true);
		return 0;
	case OPTION_KSM:
		uhyve_config_set_ksm(options->config, true);
		return 0;
	case OPTION_PIT:
		uhyve_config_set_pit(options->config, true);
		return 0;
	case OPTION_CPU_PM:
		uhyve_config_set_cpu_pm(options->config, true);
		return 0;
	case OPTION_STATS:
		options->stats = true;
		uhyve_config_set_stats(options->config, true);
		return 0;
	case OPTION_FILE_MAPPING:
		return add_mapping(options, arg, error);
	case OPTION_TEMPDIR:
		return set_tempdir(options, arg, error);
	case OPTION_FILE_ISOLATION:
		return set_file_isolation(options, arg, error);
	case OPTION_IO_MODE:
		return set_io_mode(options, arg, error);
	case OPTION_CONFIG:
		options->config_file = arg;
		return 0;
	default:
		return invalid(error, "unknown option; see uhyve --help");
	}
}

/* Applies the HERMIT_* variables, which the command line overrides. */
static int apply_environment(struct launcher_options *options, char **error)
{
	const char *value;
	int rc = 0;

	value = getenv("HERMIT_MEMORY_SIZE");
	if (value && rc == 0)
		rc = set_memory_size(options, value, error);
	value = getenv("HERMIT_CPU_COUNT");
	if (value && rc == 0)
		rc = set_cpu_count(options, value, error);
	value = getenv("HERMIT_GDB_PORT");
	if (value && rc == 0)
		rc = set_gdb_port(options, value, error);
	value = getenv("HERMIT_CONFIG");
	if (value && rc == 0)
		options->config_file = value;
	if (rc)
		return rc;
	return 0;
}

static int add_guest_arguments(struct launcher_options *options, int argc,
			       char **argv, int first)
{
	bool application = false;

	for (int i = first; i < argc; i++) {
		if (!application && strcmp(argv[i], "--") == 0) {
			application = true;
			continue;
		}
		if (application)
			uhyve_config_add_app_arg(options->config, argv[i], NULL);
		else
			uhyve_config_add_kernel_arg(options->config, argv[i],
						    NULL);
	}
	return 0;
}

int options_parse(int argc, char **argv, struct launcher_options *options,
		  char **error)
{
	int id;
	int rc;

	options->mappings = g_ptr_array_new_with_free_func(g_free);
	rc = apply_environment(options, error);
	if (rc)
		return rc;

	optind = 0;
	opterr = 0;
	while ((id = getopt_long(argc, argv, "+m:c:a:e:o:s::vhV", long_options,
				 NULL)) != -1) {
		if (id == '?' || id == ':') {
			const char *name = argv[optind - 1];

			return invalid(error,
				       "invalid option or missing value in "
				       "\"%s\"; see uhyve --help", name);
		}
		rc = apply_option(options, id, optarg, error);
		if (rc)
			return rc;
	}
	if (options->help || options->version)
		return 0;
	if (optind >= argc)
		return invalid(error, "no kernel given; usage: uhyve [OPTIONS] "
				      "KERNEL [ARGS...]");
	options->kernel = argv[optind];
	return add_guest_arguments(options, argc, argv, optind + 1);
}

void options_clear(struct launcher_options *options)
{
	if (options->mappings)
		g_ptr_array_unref(options->mappings);
	options->mappings = NULL;
}
