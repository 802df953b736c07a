/* Unit tests of the launcher's settings: command line, environment and
 * uhyve.toml. */
#include <check.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tools/options.h"
#include "uhyve_private.h"

/* Each test runs in a fresh temporary directory, with the HERMIT_* variables
 * unset and XDG_CONFIG_HOME pointing at an empty directory in it, so that no
 * uhyve.toml or variable of the machine running the tests takes part. */
static char *work_dir;
static char *previous_dir;

/* Sets `name` to the absolute path of `relative` in the test's directory. */
static void set_path_variable(const char *name, const char *relative)
{
	char *path = g_build_filename(work_dir, relative, NULL);

	ck_assert(g_setenv(name, path, TRUE));
	g_free(path);
}

static void enter_work_dir(void)
{
	previous_dir = g_get_current_dir();
	work_dir = g_dir_make_tmp("uhyve-options-XXXXXX", NULL);
	ck_assert_ptr_nonnull(work_dir);
	ck_assert_int_eq(chdir(work_dir), 0);
	ck_assert_int_eq(g_mkdir("xdg", 0700), 0);
	set_path_variable("XDG_CONFIG_HOME", "xdg");
	g_unsetenv("HERMIT_MEMORY_SIZE");
	g_unsetenv("HERMIT_CPU_COUNT");
	g_unsetenv("HERMIT_GDB_PORT");
	g_unsetenv("HERMIT_CONFIG");
}

static void leave_work_dir(void)
{
	char *command = g_strdup_printf("rm -rf '%s'", work_dir);

	ck_assert_int_eq(chdir(previous_dir), 0);
	ck_assert_int_eq(system(command), 0);
	g_free(command);
	g_free(work_dir);
	g_free(previous_dir);
}

/* Writes `text` to `path`, relative to the test's directory. */
static void write_file(const char *path, const char *text)
{
	char *dir = g_path_get_dirname(path);

	ck_assert_int_eq(g_mkdir_with_parents(dir, 0700), 0);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	g_free(dir);
}

/* Parses `args` (NULL-terminated, without the program name) into *options
 * with a new configuration and returns what options_parse() returned. */
static int parse(const char *const *args, struct launcher_options *options,
		 char **error)
{
	GPtrArray *argv = g_ptr_array_new();
	int rc;

	g_ptr_array_add(argv, "uhyve");
	for (size_t i = 0; args[i]; i++)
		g_ptr_array_add(argv, (char *)args[i]);
	g_ptr_array_add(argv, NULL);

	memset(options, 0, sizeof(*options));
	options->config = uhyve_config_new();
	ck_assert_ptr_nonnull(options->config);
	*error = NULL;
	rc = options_parse((int)argv->len - 1, (char **)argv->pdata, options,
			   error);
	g_ptr_array_free(argv, TRUE);
	return rc;
}

static void parse_ok(const char *const *args, struct launcher_options *options)
{
	char *error = NULL;
	int rc = parse(args, options, &error);

	ck_assert_msg(rc == 0, "options_parse failed with %d: %s", rc,
		      error ? error : "(no message)");
	ck_assert_ptr_null(error);
}

static void release(struct launcher_options *options)
{
	options_clear(options);
	uhyve_config_free(options->config);
}

/* Checks that parsing `args` fails with `code` and the message `expected`. */
static void check_parse_error(const char *const *args, int code,
			      const char *expected)
{
	struct launcher_options options;
	char *error = NULL;

	ck_assert_int_eq(parse(args, &options, &error), code);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, expected);
	g_free(error);
	release(&options);
}

static uint32_t affinity_at(const struct launcher_options *options, guint index)
{
	return g_array_index(options->config->affinity, uint32_t, index);
}

/* One option in one of its spellings, and what it must set. */
static const struct {
	const char *args[3];
	enum option_id id;
} option_cases[] = {
    {{"-m", "128MiB"}, OPTION_MEMORY_SIZE},
    {{"-m128MiB"}, OPTION_MEMORY_SIZE},
    {{"--memory-size", "128MiB"}, OPTION_MEMORY_SIZE},
    {{"--memory-size=128MiB"}, OPTION_MEMORY_SIZE},
    {{"-c", "3"}, OPTION_CPU_COUNT},
    {{"--cpu-count", "3"}, OPTION_CPU_COUNT},
    {{"--cpu-count=3"}, OPTION_CPU_COUNT},
    {{"-a", "5"}, OPTION_AFFINITY},
    {{"--affinity", "5"}, OPTION_AFFINITY},
    {{"--affinity=5"}, OPTION_AFFINITY},
    {{"--no-aslr"}, OPTION_NO_ASLR},
    {{"--thp"}, OPTION_THP},
    {{"--ksm"}, OPTION_KSM},
    {{"--pit"}, OPTION_PIT},
    {{"--cpu-pm"}, OPTION_CPU_PM},
    {{"--stats"}, OPTION_STATS},
    {{"-o", "guest.log"}, OPTION_OUTPUT},
    {{"--output", "guest.log"}, OPTION_OUTPUT},
    {{"--output=guest.log"}, OPTION_OUTPUT},
    {{"--file-mapping", "/srv:/data"}, OPTION_FILE_MAPPING},
    {{"--file-mapping=/srv:/data"}, OPTION_FILE_MAPPING},
    {{"--tempdir", "/var/tmp"}, OPTION_TEMPDIR},
    {{"--tempdir=/var/tmp"}, OPTION_TEMPDIR},
    {{"--file-isolation", "strict"}, OPTION_FILE_ISOLATION},
    {{"--file-isolation=strict"}, OPTION_FILE_ISOLATION},
    {{"--io-mode", "host=direct,sync"}, OPTION_IO_MODE},
    {{"--io-mode=host=direct,sync"}, OPTION_IO_MODE},
    {{"-s", "1234"}, OPTION_GDB_PORT},
    {{"-s1234"}, OPTION_GDB_PORT},
    {{"--gdb-port", "1234"}, OPTION_GDB_PORT},
    {{"--gdb-port=1234"}, OPTION_GDB_PORT},
    {{"-e", "GREETING=hi"}, OPTION_ENV},
    {{"--env", "GREETING=hi"}, OPTION_ENV},
    {{"--env=GREETING=hi"}, OPTION_ENV},
    {{"--config", "other.toml"}, OPTION_CONFIG},
    {{"--config=other.toml"}, OPTION_CONFIG},
    {{"-v"}, OPTION_VERBOSE},
    {{"--verbose"}, OPTION_VERBOSE},
    {{"-h"}, OPTION_HELP},
    {{"--help"}, OPTION_HELP},
    {{"-V"}, OPTION_VERSION},
    {{"--version"}, OPTION_VERSION},
};

static void check_option_effect(const struct launcher_options *options,
				enum option_id id)
{
	const struct uhyve_config *config = options->config;

	switch (id) {
	case OPTION_MEMORY_SIZE:
		ck_assert_uint_eq(config->memory_size, 128ULL << 20);
		break;
	case OPTION_CPU_COUNT:
		ck_assert_uint_eq(config->cpu_count, 3);
		break;
	case OPTION_AFFINITY:
		ck_assert_uint_eq(config->affinity->len, 1);
		ck_assert_uint_eq(affinity_at(options, 0), 5);
		break;
	case OPTION_NO_ASLR:
		ck_assert(!config->aslr);
		break;
	case OPTION_THP:
		ck_assert(config->thp);
		break;
	case OPTION_KSM:
		ck_assert(config->ksm);
		break;
	case OPTION_PIT:
		ck_assert(config->pit);
		break;
	case OPTION_CPU_PM:
		ck_assert(config->cpu_pm);
		break;
	case OPTION_STATS:
		ck_assert(config->stats);
		ck_assert(options->stats);
		break;
	case OPTION_OUTPUT:
		ck_assert_int_eq(config->output_kind, UHYVE_OUTPUT_FILE);
		ck_assert_str_eq(config->output_path, "guest.log");
		break;
	case OPTION_FILE_MAPPING:
		ck_assert_uint_eq(options->mappings->len, 1);
		ck_assert_str_eq(options->mappings->pdata[0], "/srv:/data");
		break;
	case OPTION_TEMPDIR:
		ck_assert_str_eq(config->tempdir, "/var/tmp");
		break;
	case OPTION_FILE_ISOLATION:
		ck_assert_int_eq(config->isolation, UHYVE_ISOLATION_STRICT);
		break;
	case OPTION_IO_MODE:
		ck_assert_uint_eq(config->io_mode,
				  UHYVE_IO_DIRECT | UHYVE_IO_SYNC);
		break;
	case OPTION_GDB_PORT:
		ck_assert_uint_eq(config->gdb_port, 1234);
		break;
	case OPTION_ENV:
		ck_assert_uint_eq(config->env->len, 1);
		ck_assert_str_eq(config->env->pdata[0], "GREETING=hi");
		break;
	case OPTION_CONFIG:
		ck_assert_str_eq(options->config_file, "other.toml");
		ck_assert_uint_eq(config->cpu_count, 4);
		break;
	case OPTION_VERBOSE:
		ck_assert_int_eq(options->verbosity, 1);
		break;
	case OPTION_HELP:
		ck_assert(options->help);
		break;
	case OPTION_VERSION:
		ck_assert(options->version);
		break;
	}
}

START_TEST(every_option_both_forms)
{
	const char *args[5] = {NULL};
	struct launcher_options options;
	size_t count = 0;

	write_file("other.toml", "[cpu]\ncpu_count = 4\n");
	for (size_t i = 0; i < 3 && option_cases[_i].args[i]; i++)
		args[count++] = option_cases[_i].args[i];
	args[count] = "kernel";
	parse_ok(args, &options);
	check_option_effect(&options, option_cases[_i].id);
	if (!options.help && !options.version)
		ck_assert_str_eq(options.kernel, "kernel");
	release(&options);
}
END_TEST

START_TEST(defaults_without_options)
{
	const char *args[] = {"kernel", NULL};
	struct launcher_options options;

	parse_ok(args, &options);
	ck_assert_uint_eq(options.config->memory_size, 64ULL << 20);
	ck_assert_uint_eq(options.config->cpu_count, 1);
	ck_assert_uint_eq(options.config->affinity->len, 0);
	ck_assert(options.config->aslr);
	ck_assert(!options.config->stats);
	ck_assert_int_eq(options.config->output_kind, UHYVE_OUTPUT_STDOUT);
	ck_assert_int_eq(options.config->isolation, UHYVE_ISOLATION_NORMAL);
	ck_assert_uint_eq(options.config->gdb_port, 0);
	ck_assert_ptr_null(options.config_file);
	release(&options);
}
END_TEST

START_TEST(gdb_port_default_value)
{
	const char *short_form[] = {"-s", "kernel", NULL};
	const char *long_form[] = {"--gdb-port", "kernel", "1", NULL};
	struct launcher_options options;

	parse_ok(short_form, &options);
	ck_assert_uint_eq(options.config->gdb_port, 6677);
	ck_assert_str_eq(options.kernel, "kernel");
	release(&options);

	parse_ok(long_form, &options);
	ck_assert_uint_eq(options.config->gdb_port, 6677);
	ck_assert_str_eq(options.kernel, "kernel");
	ck_assert_uint_eq(options.config->kernel_args->len, 1);
	release(&options);
}
END_TEST

START_TEST(guest_arguments_split)
{
	const char *args[] = {"-c", "2", "kernel", "-c", "x",
			      "--", "a", "--",	   NULL};
	struct launcher_options options;

	parse_ok(args, &options);
	ck_assert_str_eq(options.kernel, "kernel");
	ck_assert_uint_eq(options.config->cpu_count, 2);
	ck_assert_uint_eq(options.config->kernel_args->len, 2);
	ck_assert_str_eq(options.config->kernel_args->pdata[0], "-c");
	ck_assert_str_eq(options.config->kernel_args->pdata[1], "x");
	ck_assert_uint_eq(options.config->app_args->len, 2);
	ck_assert_str_eq(options.config->app_args->pdata[0], "a");
	ck_assert_str_eq(options.config->app_args->pdata[1], "--");
	release(&options);
}
END_TEST

static const struct {
	const char *text;
	uint64_t bytes;
} size_cases[] = {
    {"16MiB", 16ULL << 20}, {"1GiB", 1ULL << 30}, {"1G", 1ULL << 30},
    {"512M", 512ULL << 20}, {"1048576", 1048576}, {"64 MiB", 64ULL << 20},
    {"8kb", 8192},	    {"2Ti", 2ULL << 40},  {"0", 0},
    {"3gb", 3ULL << 30},    {"100B", 100},
};

START_TEST(sizes_parse)
{
	char *error = NULL;
	uint64_t bytes = 0;

	ck_assert_int_eq(parse_size(size_cases[_i].text, &bytes, &error), 0);
	ck_assert_uint_eq(bytes, size_cases[_i].bytes);
	ck_assert_ptr_null(error);
}
END_TEST

static const char *const bad_sizes[] = {
    "abc",
    "",
    "-1",
    "12XB",
    "1.5G",
    "MiB",
    "16 MiB x",
    "17179869184T",
    "99999999999999999999",
};

START_TEST(sizes_invalid)
{
	char *expected = g_strdup_printf(
	    "invalid size \"%s\": use a number of bytes with an optional "
	    "suffix such as 64MiB, 512M or 1GiB",
	    bad_sizes[_i]);
	char *error = NULL;
	uint64_t bytes = 7;

	ck_assert_int_eq(parse_size(bad_sizes[_i], &bytes, &error), -EINVAL);
	ck_assert_str_eq(error, expected);
	ck_assert_uint_eq(bytes, 7);
	g_free(error);
	g_free(expected);
}
END_TEST

START_TEST(memory_sizes_checked)
{
	const char *aligned[] = {"-m", "19MiB", "kernel", NULL};
	const char *small[] = {"-m", "12MiB", "kernel", NULL};
	const char *bytes[] = {"-m", "1048576", "kernel", NULL};

	check_parse_error(aligned, -EINVAL,
			  "memory size 19922944 bytes is not a multiple of 2 "
			  "MiB (2097152 bytes)");
	check_parse_error(small, -EINVAL,
			  "memory size 12582912 bytes is too small: the "
			  "minimum is 16 MiB (16777216 bytes)");
	check_parse_error(bytes, -EINVAL,
			  "memory size 1048576 bytes is too small: the "
			  "minimum is 16 MiB (16777216 bytes)");
}
END_TEST

/* 4 GiB is only too large for an interface v1 kernel, which is checked when
 * the VM is created (see the launcher tests). */
START_TEST(memory_size_4gib_accepted)
{
	const char *args[] = {"-m", "4GiB", "kernel", NULL};
	struct launcher_options options;

	parse_ok(args, &options);
	ck_assert_uint_eq(options.config->memory_size, 4ULL << 30);
	release(&options);
}
END_TEST

static const struct {
	const char *list;
	const char *count;
	uint32_t cpus[4];
} affinity_cases[] = {
    {"0-1,2", "3", {0, 1, 2}},	{"0 1 2", "3", {0, 1, 2}},
    {"2,0", "2", {2, 0}},	{"1-1", "1", {1}},
    {" 3 ,, 4\t", "2", {3, 4}}, {"0-3", "4", {0, 1, 2, 3}},
};

START_TEST(affinity_forms)
{
	const char *args[] = {"-c",	affinity_cases[_i].count,
			      "-a",	affinity_cases[_i].list,
			      "kernel", NULL};
	struct launcher_options options;
	guint count = (guint)atoi(affinity_cases[_i].count);

	parse_ok(args, &options);
	ck_assert_uint_eq(options.config->affinity->len, count);
	for (guint i = 0; i < count; i++)
		ck_assert_uint_eq(affinity_at(&options, i),
				  affinity_cases[_i].cpus[i]);
	release(&options);
}
END_TEST

START_TEST(affinity_invalid)
{
	const char *reversed[] = {"-a", "2-1", "kernel", NULL};
	const char *word[] = {"-a", "one", "kernel", NULL};
	const char *empty[] = {"-a", ", ", "kernel", NULL};
	const char *large[] = {"-a", "1024", "kernel", NULL};

	check_parse_error(reversed, -EINVAL,
			  "invalid CPU range \"2-1\": the end is below the "
			  "start");
	check_parse_error(word, -EINVAL,
			  "invalid host CPU \"one\": expected a number");
	check_parse_error(empty, -EINVAL, "CPU list \", \" is empty");
	check_parse_error(large, -EINVAL,
			  "host CPU 1024 is out of range: it must be between "
			  "0 and 1023");
}
END_TEST

START_TEST(affinity_count_mismatch)
{
	const char *more[] = {"-c", "2", "-a", "0-2", "kernel", NULL};
	const char *fewer[] = {"-a", "0", "-c", "3", "kernel", NULL};

	check_parse_error(more, -EINVAL,
			  "the CPU affinity lists 3 host CPUs, but the VM has "
			  "2 vCPUs: give one host CPU per vCPU");
	check_parse_error(fewer, -EINVAL,
			  "the CPU affinity lists 1 host CPUs, but the VM has "
			  "3 vCPUs: give one host CPU per vCPU");
}
END_TEST

START_TEST(cpu_count_invalid)
{
	const char *zero[] = {"-c", "0", "kernel", NULL};
	const char *word[] = {"--cpu-count=two", "kernel", NULL};
	const char *large[] = {"-c", "4294967296", "kernel", NULL};

	check_parse_error(zero, -EINVAL,
			  "vCPU count 0 is invalid: a VM needs at least one "
			  "vCPU");
	check_parse_error(word, -EINVAL,
			  "invalid vCPU count \"two\": expected a number");
	check_parse_error(large, -EINVAL,
			  "vCPU count 4294967296 is out of range: it must be "
			  "between 0 and 4294967295");
}
END_TEST

START_TEST(command_line_errors)
{
	const char *none[] = {NULL};
	const char *unknown[] = {"--bogus", "kernel", NULL};
	const char *unknown_short[] = {"-vx", "kernel", NULL};
	const char *flag_value[] = {"--stats=1", "kernel", NULL};
	const char *missing[] = {"-m", NULL};
	const char *missing_long[] = {"--memory-size", NULL};
	const char *isolation[] = {"--file-isolation", "full", "kernel", NULL};
	const char *io_mode[] = {"--io-mode", "direct", "kernel", NULL};
	const char *mapping[] = {"--file-mapping", "/srv", "kernel", NULL};
	const char *port[] = {"--gdb-port=65536", "kernel", NULL};
	const char *env[] = {"-e", "=x", "kernel", NULL};

	check_parse_error(none, -EINVAL,
			  "no kernel given; usage: uhyve [OPTIONS] KERNEL "
			  "[ARGS...]");
	check_parse_error(unknown, -EINVAL,
			  "invalid option \"--bogus\"; see uhyve --help");
	check_parse_error(unknown_short, -EINVAL,
			  "invalid option \"-x\"; see uhyve --help");
	check_parse_error(flag_value, -EINVAL,
			  "invalid option \"--stats=1\"; see uhyve --help");
	check_parse_error(missing, -EINVAL,
			  "option \"-m\" requires a value; see uhyve --help");
	check_parse_error(missing_long, -EINVAL,
			  "option \"--memory-size\" requires a value; see "
			  "uhyve --help");
	check_parse_error(isolation, -EINVAL,
			  "invalid file isolation \"full\": use none, normal "
			  "or strict");
	check_parse_error(io_mode, -EINVAL,
			  "invalid I/O mode \"direct\": use host=direct, "
			  "host=sync or host=direct,sync");
	check_parse_error(mapping, -EINVAL,
			  "invalid file mapping \"/srv\": use HOST:GUEST");
	check_parse_error(port, -EINVAL,
			  "GDB port 65536 is out of range: it must be between "
			  "1 and 65535");
	check_parse_error(env, -EINVAL,
			  "environment variable \"=x\" has an empty name");
}
END_TEST

START_TEST(environment_sets_defaults)
{
	const char *args[] = {"kernel", NULL};
	struct launcher_options options;

	g_setenv("HERMIT_MEMORY_SIZE", "48MiB", TRUE);
	g_setenv("HERMIT_CPU_COUNT", "2", TRUE);
	g_setenv("HERMIT_GDB_PORT", "4321", TRUE);
	parse_ok(args, &options);
	ck_assert_uint_eq(options.config->memory_size, 48ULL << 20);
	ck_assert_uint_eq(options.config->cpu_count, 2);
	ck_assert_uint_eq(options.config->gdb_port, 4321);
	release(&options);
}
END_TEST

START_TEST(environment_errors_named)
{
	const char *args[] = {"kernel", NULL};

	g_setenv("HERMIT_MEMORY_SIZE", "lots", TRUE);
	check_parse_error(args, -EINVAL,
			  "environment variable HERMIT_MEMORY_SIZE: invalid "
			  "size \"lots\": use a number of bytes with an "
			  "optional suffix such as 64MiB, 512M or 1GiB");
	g_unsetenv("HERMIT_MEMORY_SIZE");

	g_setenv("HERMIT_CPU_COUNT", "0", TRUE);
	check_parse_error(args, -EINVAL,
			  "environment variable HERMIT_CPU_COUNT: vCPU count 0 "
			  "is invalid: a VM needs at least one vCPU");
	g_unsetenv("HERMIT_CPU_COUNT");

	g_setenv("HERMIT_GDB_PORT", "0", TRUE);
	check_parse_error(args, -EINVAL,
			  "environment variable HERMIT_GDB_PORT: GDB port 0 is "
			  "out of range: it must be between 1 and 65535");
}
END_TEST

static const char precedence_file[] = "[uhyve]\n"
				      "gdb_port = 1111\n"
				      "[memory]\n"
				      "memory_size = \"32MiB\"\n"
				      "[cpu]\n"
				      "cpu_count = 3\n";

START_TEST(precedence_file_env_argv)
{
	const char *plain[] = {"kernel", NULL};
	const char *given[] = {"-m", "80MiB", "-c",	"5",
			       "-s", "3333",  "kernel", NULL};
	struct launcher_options options;

	write_file("uhyve.toml", precedence_file);
	parse_ok(plain, &options);
	ck_assert_uint_eq(options.config->memory_size, 32ULL << 20);
	ck_assert_uint_eq(options.config->cpu_count, 3);
	ck_assert_uint_eq(options.config->gdb_port, 1111);
	release(&options);

	g_setenv("HERMIT_MEMORY_SIZE", "48MiB", TRUE);
	g_setenv("HERMIT_CPU_COUNT", "4", TRUE);
	g_setenv("HERMIT_GDB_PORT", "2222", TRUE);
	parse_ok(plain, &options);
	ck_assert_uint_eq(options.config->memory_size, 48ULL << 20);
	ck_assert_uint_eq(options.config->cpu_count, 4);
	ck_assert_uint_eq(options.config->gdb_port, 2222);
	release(&options);

	parse_ok(given, &options);
	ck_assert_uint_eq(options.config->memory_size, 80ULL << 20);
	ck_assert_uint_eq(options.config->cpu_count, 5);
	ck_assert_uint_eq(options.config->gdb_port, 3333);
	release(&options);
}
END_TEST

/* The count from the command line and the list from the file must match,
 * and only once all sources are applied. */
START_TEST(precedence_affinity_sources)
{
	const char *matching[] = {"-c", "2", "kernel", NULL};
	const char *mismatch[] = {"-c", "3", "kernel", NULL};
	struct launcher_options options;

	write_file("uhyve.toml", "[cpu]\naffinity = [1, 0]\n");
	parse_ok(matching, &options);
	ck_assert_uint_eq(options.config->affinity->len, 2);
	ck_assert_uint_eq(affinity_at(&options, 0), 1);
	ck_assert_uint_eq(affinity_at(&options, 1), 0);
	release(&options);

	check_parse_error(mismatch, -EINVAL,
			  "the CPU affinity lists 2 host CPUs, but the VM has "
			  "3 vCPUs: give one host CPU per vCPU");
}
END_TEST

START_TEST(config_file_search_order)
{
	const char *args[] = {"kernel", NULL};
	const char *explicit[] = {"--config", "c.toml", "kernel", NULL};
	struct launcher_options options;

	write_file("xdg/uhyve/uhyve.toml", "[cpu]\ncpu_count = 2\n");
	parse_ok(args, &options);
	ck_assert_uint_eq(options.config->cpu_count, 2);
	ck_assert(
	    g_str_has_suffix(options.config_file, "/xdg/uhyve/uhyve.toml"));
	release(&options);

	write_file("uhyve.toml", "[cpu]\ncpu_count = 3\n");
	parse_ok(args, &options);
	ck_assert_uint_eq(options.config->cpu_count, 3);
	ck_assert_str_eq(options.config_file, "uhyve.toml");
	release(&options);

	write_file("b.toml", "[cpu]\ncpu_count = 4\n");
	g_setenv("HERMIT_CONFIG", "b.toml", TRUE);
	parse_ok(args, &options);
	ck_assert_uint_eq(options.config->cpu_count, 4);
	ck_assert_str_eq(options.config_file, "b.toml");
	release(&options);

	write_file("c.toml", "[cpu]\ncpu_count = 5\n");
	parse_ok(explicit, &options);
	ck_assert_uint_eq(options.config->cpu_count, 5);
	ck_assert_str_eq(options.config_file, "c.toml");
	release(&options);
}
END_TEST

START_TEST(config_file_home_fallback)
{
	const char *args[] = {"kernel", NULL};
	struct launcher_options options;

	write_file("home/.config/uhyve/uhyve.toml", "[cpu]\ncpu_count = 6\n");
	g_unsetenv("XDG_CONFIG_HOME");
	set_path_variable("HOME", "home");
	parse_ok(args, &options);
	ck_assert_uint_eq(options.config->cpu_count, 6);
	release(&options);
}
END_TEST

static const char full_file[] = "# every setting\n"
				"[uhyve]\n"
				"output = \"guest.log\"\n"
				"stats = true\n"
				"tempdir = \"/var/tmp\"\n"
				"file_isolation = \"strict\"\n"
				"io_mode = \"host=direct,sync\"\n"
				"gdb_port = 1234\n"
				"\n"
				"[memory]\n"
				"memory_size = \"128MiB\"\n"
				"no_aslr = true\n"
				"thp = true\n"
				"ksm = true\n"
				"\n"
				"[cpu]\n"
				"cpu_count = 2\n"
				"cpu_pm = true\n"
				"pit = true\n"
				"affinity = \"1,0\"\n"
				"\n"
				"[guest]\n"
				"env_vars = [\"A=1\", \"B=two words\"]\n";

START_TEST(config_file_every_key)
{
	const char *args[] = {"kernel", NULL};
	struct launcher_options options;
	const struct uhyve_config *config;

	write_file("uhyve.toml", full_file);
	parse_ok(args, &options);
	config = options.config;
	ck_assert_int_eq(config->output_kind, UHYVE_OUTPUT_FILE);
	ck_assert_str_eq(config->output_path, "guest.log");
	ck_assert(config->stats);
	ck_assert(options.stats);
	ck_assert_str_eq(config->tempdir, "/var/tmp");
	ck_assert_int_eq(config->isolation, UHYVE_ISOLATION_STRICT);
	ck_assert_uint_eq(config->io_mode, UHYVE_IO_DIRECT | UHYVE_IO_SYNC);
	ck_assert_uint_eq(config->gdb_port, 1234);
	ck_assert_uint_eq(config->memory_size, 128ULL << 20);
	ck_assert(!config->aslr);
	ck_assert(config->thp);
	ck_assert(config->ksm);
	ck_assert_uint_eq(config->cpu_count, 2);
	ck_assert(config->cpu_pm);
	ck_assert(config->pit);
	ck_assert_uint_eq(config->affinity->len, 2);
	ck_assert_uint_eq(affinity_at(&options, 0), 1);
	ck_assert_uint_eq(affinity_at(&options, 1), 0);
	ck_assert_uint_eq(config->env->len, 2);
	ck_assert_str_eq(config->env->pdata[0], "A=1");
	ck_assert_str_eq(config->env->pdata[1], "B=two words");
	release(&options);
}
END_TEST

START_TEST(config_file_other_forms)
{
	const char *args[] = {"-e", "B=3", "kernel", NULL};
	struct launcher_options options;

	write_file("uhyve.toml", "[uhyve]\n"
				 "output = \"none\"\n"
				 "stats = false\n"
				 "[memory]\n"
				 "memory_size = 33554432\n"
				 "no_aslr = false\n"
				 "[cpu]\n"
				 "cpu_count = 3\n"
				 "affinity = [\"0-1\", 1]\n"
				 "[guest]\n"
				 "env_vars = [\"A=1\", \"B=2\"]\n");
	parse_ok(args, &options);
	ck_assert_int_eq(options.config->output_kind, UHYVE_OUTPUT_NONE);
	ck_assert(!options.config->stats);
	ck_assert_uint_eq(options.config->memory_size, 32ULL << 20);
	ck_assert(options.config->aslr);
	ck_assert_uint_eq(options.config->affinity->len, 3);
	ck_assert_uint_eq(affinity_at(&options, 2), 1);
	ck_assert_uint_eq(options.config->env->len, 2);
	ck_assert_str_eq(options.config->env->pdata[0], "A=1");
	ck_assert_str_eq(options.config->env->pdata[1], "B=3");
	release(&options);
}
END_TEST

/* A uhyve.toml and the message that rejecting it gives. */
static const struct {
	const char *text;
	const char *message;
} broken_files[] = {
    {"[memory]\nmemory_size = \"64MiB\n",
     "uhyve.toml:2:15: unterminated string"},
    {"[cpu]\ncpu_count = 1\ncpu_count = 2\n",
     "uhyve.toml:3:1: duplicate key \"cpu_count\" in table [cpu] (first "
     "defined on line 2)"},
    {"[memory]\nthp = 1\n",
     "uhyve.toml:2: memory.thp: the value has type integer, but it must be a "
     "boolean"},
    {"[cpu]\ncpu_count = \"2\"\n",
     "uhyve.toml:2: cpu.cpu_count: the value has type string, but it must be "
     "an integer"},
    {"[cpu]\naffinity = true\n",
     "uhyve.toml:2: cpu.affinity: the value has type boolean, but it must be a "
     "string such as \"0-1,2\" or an array of host CPU numbers"},
    {"[cpu]\naffinity = [0, true]\n",
     "uhyve.toml:2: cpu.affinity: element 2 has type boolean, but it must be "
     "a host CPU number or a range such as \"0-3\""},
    {"[guest]\nenv_vars = \"A=1\"\n",
     "uhyve.toml:2: guest.env_vars: the value has type string, but it must be "
     "an array of strings"},
    {"[guest]\nenv_vars = [\"A=1\",\n  2]\n",
     "uhyve.toml:3: guest.env_vars: element 2 has type integer, but it must be "
     "a string"},
    {"[cpu]\ncpu_count = 2 # two\nextra = 1\n",
     "uhyve.toml:3: cpu.extra: unknown key; the keys of [cpu] are "
     "cpu_count, cpu_pm, pit, affinity"},
    {"[memory]\nmemory_size = \"64MiB\" x\n",
     "uhyve.toml:2:23: unexpected 'x' after the value of key "
     "\"memory_size\", expected a comment or a new line"},
    {"[network]\nmode = \"tap\"\n",
     "uhyve.toml:1: unknown table \"network\": the settings belong in the "
     "tables [uhyve], [memory], [cpu] and [guest]"},
    {"cpu_count = 2\n",
     "uhyve.toml:1: unknown key \"cpu_count\": the settings belong in the "
     "tables [uhyve], [memory], [cpu] and [guest]"},
    {"[memory]\n\nmemory_size = \"19MiB\"\n",
     "uhyve.toml:3: memory.memory_size: memory size 19922944 bytes is not "
     "a multiple of 2 MiB (2097152 bytes)"},
    {"[cpu]\ncpu_count = -1\n",
     "uhyve.toml:2: cpu.cpu_count: invalid vCPU count \"-1\": expected a "
     "number"},
    {"[uhyve]\nfile_isolation = \"full\"\n",
     "uhyve.toml:2: uhyve.file_isolation: invalid file isolation "
     "\"full\": use none, normal or strict"},
    {"[uhyve]\ngdb_port = 70000\n",
     "uhyve.toml:2: uhyve.gdb_port: GDB port 70000 is out of range: it "
     "must be between 1 and 65535"},
    {"[guest]\nenv_vars = [\"A=1\", \"NOEQUALS\"]\n",
     "uhyve.toml:2: guest.env_vars: environment variable \"NOEQUALS\" has "
     "no '=': use KEY=VALUE"},
    {"[memory.extra]\nx = 1\n",
     "uhyve.toml:1: memory.extra: unknown key; the keys of [memory] are "
     "memory_size, no_aslr, thp, ksm"},
    {"[cpu]\ncpu_count = 2\naffinity = [0, 1, 2]\n",
     "the CPU affinity lists 3 host CPUs, but the VM has 2 vCPUs: give "
     "one host CPU per vCPU"},
};

START_TEST(config_file_broken)
{
	const char *args[] = {"kernel", NULL};

	write_file("uhyve.toml", broken_files[_i].text);
	check_parse_error(args, -EINVAL, broken_files[_i].message);
}
END_TEST

START_TEST(config_file_unreadable)
{
	const char *missing[] = {"--config", "absent.toml", "kernel", NULL};
	const char *directory[] = {"--config", "xdg", "kernel", NULL};
	const char *fifo[] = {"--config", "fifo", "kernel", NULL};
	const char *large[] = {"--config", "large.toml", "kernel", NULL};
	const char *args[] = {"kernel", NULL};
	char *padding = g_strnfill((1 << 20) + 1, '#');

	check_parse_error(missing, -ENOENT,
			  "configuration file absent.toml does not exist");
	check_parse_error(directory, -EISDIR,
			  "configuration file xdg is not a regular file");
	ck_assert_int_eq(mkfifo("fifo", 0600), 0);
	check_parse_error(fifo, -EINVAL,
			  "configuration file fifo is not a regular file");
	write_file("large.toml", padding);
	check_parse_error(large, -EFBIG,
			  "configuration file large.toml has 1048577 bytes; "
			  "the maximum is 1048576");
	g_setenv("HERMIT_CONFIG", "absent.toml", TRUE);
	check_parse_error(args, -ENOENT,
			  "configuration file absent.toml does not exist");
	g_free(padding);
}
END_TEST

/* --help and --version work whatever the configuration file contains. */
START_TEST(help_ignores_config_file)
{
	const char *help[] = {"--help", NULL};
	const char *version[] = {"-V", NULL};
	struct launcher_options options;

	write_file("uhyve.toml", "this is not TOML\n");
	g_setenv("HERMIT_MEMORY_SIZE", "lots", TRUE);
	parse_ok(help, &options);
	ck_assert(options.help);
	release(&options);
	parse_ok(version, &options);
	ck_assert(options.version);
	release(&options);
}
END_TEST

static Suite *options_suite(void)
{
	Suite *suite = suite_create("options");
	TCase *command_line = tcase_create("command line");
	TCase *sources = tcase_create("sources");

	tcase_add_checked_fixture(command_line, enter_work_dir, leave_work_dir);
	tcase_add_loop_test(command_line, every_option_both_forms, 0,
			    G_N_ELEMENTS(option_cases));
	tcase_add_test(command_line, defaults_without_options);
	tcase_add_test(command_line, gdb_port_default_value);
	tcase_add_test(command_line, guest_arguments_split);
	tcase_add_loop_test(command_line, sizes_parse, 0,
			    G_N_ELEMENTS(size_cases));
	tcase_add_loop_test(command_line, sizes_invalid, 0,
			    G_N_ELEMENTS(bad_sizes));
	tcase_add_test(command_line, memory_sizes_checked);
	tcase_add_test(command_line, memory_size_4gib_accepted);
	tcase_add_loop_test(command_line, affinity_forms, 0,
			    G_N_ELEMENTS(affinity_cases));
	tcase_add_test(command_line, affinity_invalid);
	tcase_add_test(command_line, affinity_count_mismatch);
	tcase_add_test(command_line, cpu_count_invalid);
	tcase_add_test(command_line, command_line_errors);
	suite_add_tcase(suite, command_line);

	tcase_add_checked_fixture(sources, enter_work_dir, leave_work_dir);
	tcase_add_test(sources, environment_sets_defaults);
	tcase_add_test(sources, environment_errors_named);
	tcase_add_test(sources, precedence_file_env_argv);
	tcase_add_test(sources, precedence_affinity_sources);
	tcase_add_test(sources, config_file_search_order);
	tcase_add_test(sources, config_file_home_fallback);
	tcase_add_test(sources, config_file_every_key);
	tcase_add_test(sources, config_file_other_forms);
	tcase_add_loop_test(sources, config_file_broken, 0,
			    G_N_ELEMENTS(broken_files));
	tcase_add_test(sources, config_file_unreadable);
	tcase_add_test(sources, help_ignores_config_file);
	suite_add_tcase(suite, sources);
	return suite;
}

int main(void)
{
	SRunner *runner = srunner_create(options_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
