/* Settings of the uhyve launcher: command line, environment and config file. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byte_size.h"
#include "config_file.h"

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

int parse_size(const char *text, uint64_t *bytes, char **error)
{
	if (parse_byte_size(text, bytes))
		return 0;
	return invalid(error,
		       "invalid size \"%s\": use a number of bytes with an "
		       "optional suffix such as 64MiB, 512M or 1GiB",
		       text ? text : "");
}

int parse_number(const char *text, uint64_t min, uint64_t max, const char *what,
		 uint64_t *value, char **error)
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
			       "%llu and %llu",
			       what, text, (unsigned long long)min,
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
		return invalid(error,
			       "invalid CPU range \"%s\": the end is "
			       "below the start",
			       item);
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

static const struct option long_options[] = {
    {"memory-size", required_argument, NULL, OPTION_MEMORY_SIZE},
    {"cpu-count", required_argument, NULL, OPTION_CPU_COUNT},
    {"affinity", required_argument, NULL, OPTION_AFFINITY},
    {"env", required_argument, NULL, OPTION_ENV},
    {"output", required_argument, NULL, OPTION_OUTPUT},
    {"gdb-port", optional_argument, NULL, OPTION_GDB_PORT},
    {"verbose", no_argument, NULL, OPTION_VERBOSE},
    {"help", no_argument, NULL, OPTION_HELP},
    {"version", no_argument, NULL, OPTION_VERSION},
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

/* The leading '+' stops at the kernel, so that its arguments stay its own;
 * the ':' makes getopt_long() return ':' for a missing value. */
static const char short_options[] = "+:m:c:a:e:o:s::vhV";

void options_print_help(FILE *stream)
{
	fprintf(
	    stream,
	    "Usage: uhyve [OPTIONS] KERNEL [KERNEL_ARGS...] [-- APP_ARGS...]\n"
	    "Run a Hermit unikernel on KVM.\n"
	    "\n"
	    "Each option's default is given in brackets with the environment\n"
	    "variable and the configuration file key that set it; the command\n"
	    "line overrides the environment, which overrides the file.\n"
	    "\n"
	    "Memory:\n"
	    "  -m, --memory-size SIZE   guest memory in bytes or with a binary "
	    "suffix\n"
	    "                           K/M/G/T (also KiB, KB, ...), such as "
	    "64MiB or 1G;\n"
	    "                           at least 16MiB and a multiple of 2MiB, "
	    "below\n"
	    "                           3GiB for interface v1 kernels, at most "
	    "60GiB\n"
	    "                           [64MiB; HERMIT_MEMORY_SIZE; "
	    "memory.memory_size]\n"
	    "      --no-aslr            load relocatable kernels at the "
	    "lowest\n"
	    "                           address [random address; "
	    "memory.no_aslr]\n"
	    "      --thp                advise transparent huge pages on guest "
	    "memory\n"
	    "                           [off; memory.thp]\n"
	    "      --ksm                advise same-page merging on guest "
	    "memory\n"
	    "                           [off; memory.ksm]\n"
	    "\n"
	    "CPUs:\n"
	    "  -c, --cpu-count N        number of vCPUs, from 1 to what KVM "
	    "allows\n"
	    "                           [1; HERMIT_CPU_COUNT; cpu.cpu_count]\n"
	    "  -a, --affinity CPUS      pin vCPU i to the i-th host CPU of a "
	    "list such as\n"
	    "                           0-1,2 or \"0 1 2\", one CPU per vCPU\n"
	    "                           [not pinned; cpu.affinity]\n"
	    "      --pit                give the guest a PIT timer [off; "
	    "cpu.pit]\n"
	    "      --cpu-pm             let the guest manage idle states: "
	    "disable the\n"
	    "                           HLT, PAUSE, MWAIT and C-state exits "
	    "where KVM\n"
	    "                           allows it [off; cpu.cpu_pm]\n"
	    "\n"
	    "Guest environment and output:\n"
	    "  -e, --env KEY=VALUE|host add a guest environment variable; "
	    "\"host\" passes\n"
	    "                           the whole host environment "
	    "(repeatable)\n"
	    "                           [none; guest.env_vars]\n"
	    "  -o, --output FILE|none   write guest output to a new FILE or "
	    "discard it\n"
	    "                           [standard output; uhyve.output]\n"
	    "      --stats              print a table of exits per vCPU after "
	    "the run to\n"
	    "                           standard error [off; uhyve.stats]\n"
	    "\n"
	    "Files:\n"
	    "      --file-mapping HOST:GUEST\n"
	    "                           make a host file or directory visible "
	    "to the\n"
	    "                           guest at GUEST (repeatable) [none]\n"
	    "      --tempdir DIR        base directory of the VM's temporary "
	    "directory\n"
	    "                           [$TMPDIR, else /tmp; uhyve.tempdir]\n"
	    "      --file-isolation none|normal|strict\n"
	    "                           Landlock isolation of guest file "
	    "access\n"
	    "                           [normal; uhyve.file_isolation]\n"
	    "      --io-mode host=direct|sync|direct,sync\n"
	    "                           add O_DIRECT and/or O_SYNC to host "
	    "opens of\n"
	    "                           guest files [none; uhyve.io_mode]\n"
	    "\n"
	    "Debugging and configuration:\n"
	    "  -s, --gdb-port [PORT]    wait for GDB on 127.0.0.1:PORT before "
	    "the guest\n"
	    "                           runs; without PORT, or when the next "
	    "argument\n"
	    "                           is not a number, port 6677\n"
	    "                           [off; HERMIT_GDB_PORT; "
	    "uhyve.gdb_port]\n"
	    "      --config FILE        read settings from a TOML file\n"
	    "                           [./uhyve.toml, else\n"
	    "                           $XDG_CONFIG_HOME/uhyve/uhyve.toml; "
	    "HERMIT_CONFIG]\n"
	    "  -v, --verbose            log more: once for info, twice for "
	    "debug\n"
	    "                           [warnings only]\n"
	    "  -h, --help               print this help and exit\n"
	    "  -V, --version            print the version and exit\n"
	    "\n"
	    "Arguments after KERNEL up to a lone -- go to the kernel, the rest "
	    "to the\n"
	    "application. The exit status is the guest's exit code (its low 8 "
	    "bits);\n"
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
	if (rc == 0)
		options->cpu_count = (uint32_t)count;
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
	if (rc == 0)
		options->affinity_count = cpus->len;
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
		       "strict",
		       text);
}

static int set_io_mode(struct launcher_options *options, const char *text,
		       char **error)
{
	static const char *const modes[] = {
	    "host=direct", "host=sync", "host=direct,sync", "host=sync,direct"};
	static const unsigned flags[] = {UHYVE_IO_DIRECT, UHYVE_IO_SYNC,
					 UHYVE_IO_DIRECT | UHYVE_IO_SYNC,
					 UHYVE_IO_DIRECT | UHYVE_IO_SYNC};
	char *message = NULL;

	for (unsigned i = 0; i < G_N_ELEMENTS(modes); i++) {
		if (strcmp(text, modes[i]) == 0)
			return forward(uhyve_config_set_io_mode(
					   options->config, flags[i], &message),
				       message, error);
	}
	return invalid(error,
		       "invalid I/O mode \"%s\": use host=direct, host=sync or "
		       "host=direct,sync",
		       text);
}

static int set_tempdir(struct launcher_options *options, const char *text,
		       char **error)
{
	char *message = NULL;

	return forward(
	    uhyve_config_set_tempdir(options->config, text, &message), message,
	    error);
}

static int add_mapping(struct launcher_options *options, const char *text,
		       char **error)
{
	const char *colon = strrchr(text, ':');

	if (!colon || colon == text || colon[1] == '\0')
		return invalid(
		    error, "invalid file mapping \"%s\": use HOST:GUEST", text);
	g_ptr_array_add(options->mappings, g_strdup(text));
	return 0;
}

int options_apply(struct launcher_options *options, enum option_id id,
		  const char *value, char **error)
{
	switch (id) {
	case OPTION_MEMORY_SIZE:
		return set_memory_size(options, value, error);
	case OPTION_CPU_COUNT:
		return set_cpu_count(options, value, error);
	case OPTION_AFFINITY:
		return set_affinity(options, value, error);
	case OPTION_ENV:
		return add_environment(options, value, error);
	case OPTION_OUTPUT:
		return set_output(options, value, error);
	case OPTION_GDB_PORT:
		return set_gdb_port(options, value, error);
	case OPTION_FILE_MAPPING:
		return add_mapping(options, value, error);
	case OPTION_TEMPDIR:
		return set_tempdir(options, value, error);
	case OPTION_FILE_ISOLATION:
		return set_file_isolation(options, value, error);
	case OPTION_IO_MODE:
		return set_io_mode(options, value, error);
	default:
		return invalid(error, "option %d takes no value", (int)id);
	}
}

void options_set_flag(struct launcher_options *options, enum option_id id,
		      bool enabled)
{
	switch (id) {
	case OPTION_NO_ASLR:
		uhyve_config_set_aslr(options->config, !enabled);
		break;
	case OPTION_THP:
		uhyve_config_set_thp(options->config, enabled);
		break;
	case OPTION_KSM:
		uhyve_config_set_ksm(options->config, enabled);
		break;
	case OPTION_PIT:
		uhyve_config_set_pit(options->config, enabled);
		break;
	case OPTION_CPU_PM:
		uhyve_config_set_cpu_pm(options->config, enabled);
		break;
	case OPTION_STATS:
		options->stats = enabled;
		uhyve_config_set_stats(options->config, enabled);
		break;
	default:
		break;
	}
}

/* Environment variables that act as defaults for their options. */
static const struct {
	const char *name;
	enum option_id option;
} environment_options[] = {
    {"HERMIT_MEMORY_SIZE", OPTION_MEMORY_SIZE},
    {"HERMIT_CPU_COUNT", OPTION_CPU_COUNT},
    {"HERMIT_GDB_PORT", OPTION_GDB_PORT},
};

static int apply_environment(struct launcher_options *options, char **error)
{
	for (size_t i = 0; i < G_N_ELEMENTS(environment_options); i++) {
		const char *name = environment_options[i].name;
		const char *value = getenv(name);
		char *message = NULL;
		int rc;

		if (!value)
			continue;
		rc = options_apply(options, environment_options[i].option,
				   value, &message);
		if (rc) {
			invalid(error, "environment variable %s: %s", name,
				message);
			g_free(message);
			return rc;
		}
	}
	return 0;
}

/* One option of the command line, kept until the configuration file and the
 * environment have been applied. The value points into argv. */
struct given_option {
	enum option_id id;
	const char *value;
};

/* The command line, split up before anything is applied. */
struct command_line {
	GArray *given; /* struct given_option, in command line order */
	const char *config_file;
	int kernel_index; /* index of KERNEL in argv */
};

static bool is_flag(enum option_id id)
{
	return id >= OPTION_NO_ASLR && id <= OPTION_STATS;
}

static bool is_number(const char *text)
{
	if (!g_ascii_isdigit(*text))
		return false;
	while (g_ascii_isdigit(*text))
		text++;
	return *text == '\0';
}

/* Names the option that getopt_long() just rejected, as the user wrote it. */
static const char *rejected_option(char **argv, char *buffer)
{
	const char *word = argv[optind - 1];

	if (word[0] == '-' && word[1] != '-' && optopt > 0 && optopt < 256) {
		buffer[0] = '-';
		buffer[1] = (char)optopt;
		buffer[2] = '\0';
		return buffer;
	}
	return word;
}

/* Handles one option that getopt_long() returned. */
static int note_option(struct launcher_options *options,
		       struct command_line *command_line, int id, int argc,
		       char **argv, char **error)
{
	struct given_option given = {(enum option_id)id, optarg};
	char name[3];

	switch (id) {
	case '?':
		return invalid(error, "invalid option \"%s\"; see uhyve --help",
			       rejected_option(argv, name));
	case ':':
		return invalid(error,
			       "option \"%s\" requires a value; see uhyve "
			       "--help",
			       rejected_option(argv, name));
	case OPTION_HELP:
		options->help = true;
		return 0;
	case OPTION_VERSION:
		options->version = true;
		return 0;
	case OPTION_VERBOSE:
		options->verbosity++;
		return 0;
	case OPTION_CONFIG:
		command_line->config_file = optarg;
		return 0;
	case OPTION_GDB_PORT:
		/* "-s 1234" as well as "-s1234" and "--gdb-port=1234". */
		if (!given.value && optind < argc && is_number(argv[optind]))
			given.value = argv[optind++];
		break;
	default:
		break;
	}
	g_array_append_val(command_line->given, given);
	return 0;
}

static int read_command_line(int argc, char **argv,
			     struct launcher_options *options,
			     struct command_line *command_line, char **error)
{
	int id;
	int rc;

	optind = 0;
	opterr = 0;
	while ((id = getopt_long(argc, argv, short_options, long_options,
				 NULL)) != -1) {
		rc = note_option(options, command_line, id, argc, argv, error);
		if (rc)
			return rc;
	}
	command_line->kernel_index = optind;
	return 0;
}

static int apply_command_line(struct launcher_options *options,
			      const struct command_line *command_line,
			      char **error)
{
	for (guint i = 0; i < command_line->given->len; i++) {
		const struct given_option *given =
		    &g_array_index(command_line->given, struct given_option, i);
		int rc;

		if (is_flag(given->id)) {
			options_set_flag(options, given->id, true);
			continue;
		}
		rc = options_apply(options, given->id, given->value, error);
		if (rc)
			return rc;
	}
	return 0;
}

static void add_guest_arguments(struct launcher_options *options, int argc,
				char **argv, int first)
{
	bool application = false;

	for (int i = first; i < argc; i++) {
		if (!application && strcmp(argv[i], "--") == 0) {
			application = true;
			continue;
		}
		if (application)
			uhyve_config_add_app_arg(options->config, argv[i],
						 NULL);
		else
			uhyve_config_add_kernel_arg(options->config, argv[i],
						    NULL);
	}
}

/* Checks early what uhyve_vm_create() checks too, because the count and the
 * list may come from different sources. */
static int check_affinity(const struct launcher_options *options, char **error)
{
	if (options->affinity_count == 0 ||
	    options->affinity_count == options->cpu_count)
		return 0;
	return invalid(error,
		       "the CPU affinity lists %u host CPUs, but the VM has %u "
		       "vCPUs: give one host CPU per vCPU",
		       options->affinity_count, options->cpu_count);
}

/* Applies the configuration file, the environment and the command line in
 * this order, so that each overrides the one before. */
static int apply_sources(struct launcher_options *options,
			 const struct command_line *command_line, char **error)
{
	const char *config_file = command_line->config_file;
	int rc;

	if (!config_file)
		config_file = getenv("HERMIT_CONFIG");
	rc = config_file_apply(options, config_file, error);
	if (rc)
		return rc;

	rc = apply_environment(options, error);
	if (rc)
		return rc;

	return apply_command_line(options, command_line, error);
}

int options_parse(int argc, char **argv, struct launcher_options *options,
		  char **error)
{
	struct command_line command_line = {0};
	int rc;

	options->mappings = g_ptr_array_new_with_free_func(g_free);
	options->cpu_count = 1;
	/* The library defaults to no isolation; the launcher, like the Rust
	 * uhyve launcher, to Landlock where the kernel supports it. */
	uhyve_config_set_file_isolation(options->config,
					UHYVE_ISOLATION_NORMAL);
	command_line.given =
	    g_array_new(FALSE, FALSE, sizeof(struct given_option));

	rc = read_command_line(argc, argv, options, &command_line, error);
	if (rc || options->help || options->version)
		goto out;

	if (command_line.kernel_index >= argc) {
		rc = invalid(error, "no kernel given; usage: uhyve [OPTIONS] "
				    "KERNEL [ARGS...]");
		goto out;
	}
	options->kernel = argv[command_line.kernel_index];

	rc = apply_sources(options, &command_line, error);
	if (rc)
		goto out;

	add_guest_arguments(options, argc, argv, command_line.kernel_index + 1);
	rc = check_affinity(options, error);
out:
	g_array_unref(command_line.given);
	return rc;
}

void options_clear(struct launcher_options *options)
{
	if (options->mappings)
		g_ptr_array_unref(options->mappings);
	options->mappings = NULL;
	g_free(options->config_file);
	options->config_file = NULL;
}
