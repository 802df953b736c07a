/* End-to-end tests of the library API: every test guest booted through
 * uhyve_vm_*. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uhyve/uhyve.h"

#include "test_common.h"

/* The result of one run of a guest with output captured in memory. */
struct run_result {
	int create_rc;
	int run_rc;
	int exit_code;
	char *output; /* NUL-terminated copy */
	char *error;
};

static void run_result_clear(struct run_result *result)
{
	g_free(result->output);
	free(result->error);
	memset(result, 0, sizeof(*result));
}

/* Boots guest `name` with `config` (output is redirected to memory). */
static void run_guest(struct uhyve_config *config, const char *name,
		      struct run_result *result)
{
	char *path = guest_path(name);
	struct uhyve_vm *vm = NULL;
	const uint8_t *output;
	size_t len = 0;

	memset(result, 0, sizeof(*result));
	result->exit_code = -1000;
	uhyve_config_set_output(config, UHYVE_OUTPUT_BUFFER, NULL, NULL);
	result->create_rc = uhyve_vm_create(config, path, &vm, &result->error);
	g_free(path);
	if (result->create_rc)
		return;
	result->run_rc = uhyve_vm_run(vm, &result->exit_code, &result->error);
	output = uhyve_vm_output(vm, &len);
	result->output = g_strndup((const char *)output, len);
	uhyve_vm_destroy(vm);
}

static struct uhyve_config *config_with_args(const char *const *kernel_args)
{
	struct uhyve_config *config = uhyve_config_new();

	for (size_t i = 0; kernel_args && kernel_args[i]; i++)
		uhyve_config_add_kernel_arg(config, kernel_args[i], NULL);
	return config;
}

START_TEST(hello_v1_prints_greeting)
{
	struct uhyve_config *config = uhyve_config_new();
	struct run_result result;

	run_guest(config, "hello_v1", &result);
	ck_assert_int_eq(result.create_rc, 0);
	ck_assert_int_eq(result.run_rc, 0);
	ck_assert_int_eq(result.exit_code, 0);
	ck_assert_str_eq(result.output, "Hello from the v1 guest!\n"
					"Byte by byte from the v1 guest!\n");
	run_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

START_TEST(hello_v2_prints_greeting)
{
	struct uhyve_config *config = uhyve_config_new();
	struct run_result result;

	run_guest(config, "hello_v2", &result);
	ck_assert_int_eq(result.create_rc, 0);
	ck_assert_int_eq(result.run_rc, 0);
	ck_assert_int_eq(result.exit_code, 0);
	ck_assert_str_eq(result.output, "Hello from the v2 guest!\n"
					"Byte by byte from the v2 guest!\n");
	run_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

/* Exit codes as the guest passes them; the library reports them as they
 * are, including negative ones (the launcher keeps the low 8 bits). */
static const struct {
	const char *guest;
	const char *code;
	int expected;
} exit_cases[] = {
    {"exit_code_v1", "0", 0},	  {"exit_code_v1", "1", 1},
    {"exit_code_v1", "255", 255}, {"exit_code_v1", "-1", -1},
    {"exit_code_v2", "0", 0},	  {"exit_code_v2", "1", 1},
    {"exit_code_v2", "255", 255}, {"exit_code_v2", "-1", -1},
};

START_TEST(exit_code_reaches_caller)
{
	const char *args[] = {exit_cases[_i].code, NULL};
	struct uhyve_config *config = config_with_args(args);
	struct run_result result;

	run_guest(config, exit_cases[_i].guest, &result);
	ck_assert_int_eq(result.create_rc, 0);
	ck_assert_int_eq(result.run_rc, 0);
	ck_assert_int_eq(result.exit_code, exit_cases[_i].expected);
	run_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

static struct uhyve_config *config_for_round_trip(void)
{
	const char *args[] = {"plain", "with space",	     "quo'te",
			      "a=b",   "gr\xc3\xbc\xc3\x9f", NULL};
	struct uhyve_config *config = config_with_args(args);

	uhyve_config_add_app_arg(config, "app one", NULL);
	uhyve_config_add_env(config, "GREETING=hi there", NULL);
	uhyve_config_add_env(config, "EQ=x=y", NULL);
	uhyve_config_add_env(config, "UMLAUT=\xc3\xa4", NULL);
	return config;
}

START_TEST(args_v1_round_trip)
{
	struct uhyve_config *config = config_for_round_trip();
	char *path = guest_path("args_v1");
	char *expected = g_strdup_printf(
	    "arg[0]=%s\narg[1]=plain\narg[2]=with space\narg[3]=quo'te\n"
	    "arg[4]=a=b\narg[5]=gr\xc3\xbc\xc3\x9f\narg[6]=app one\n"
	    "env[0]=GREETING=hi there\nenv[1]=EQ=x=y\n"
	    "env[2]=UMLAUT=\xc3\xa4\n",
	    path);
	struct run_result result;

	run_guest(config, "args_v1", &result);
	ck_assert_int_eq(result.run_rc, 0);
	ck_assert_int_eq(result.exit_code, 0);
	ck_assert_str_eq(result.output, expected);
	g_free(expected);
	g_free(path);
	run_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

START_TEST(args_v2_round_trip)
{
	struct uhyve_config *config = config_for_round_trip();
	struct run_result result;

	run_guest(config, "args_v2", &result);
	ck_assert_int_eq(result.run_rc, 0);
	ck_assert_int_eq(result.exit_code, 0);
	ck_assert_str_eq(result.output,
			 "bootargs=plain 'with space' 'quo'\\''te' a=b "
			 "'gr\xc3\xbc\xc3\x9f' env=GREETING='hi there' "
			 "env=EQ=x=y env=UMLAUT='\xc3\xa4' -- 'app one'\n");
	run_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

START_TEST(smp_every_cpu_reports)
{
	const char *guests[] = {"smp_v1", "smp_v2"};
	struct uhyve_config *config = uhyve_config_new();
	struct run_result result;

	uhyve_config_set_cpu_count(config, 4, NULL);
	run_guest(config, guests[_i], &result);
	ck_assert_int_eq(result.run_rc, 0);
	ck_assert_int_eq(result.exit_code, 0);
	for (int cpu = 0; cpu < 4; cpu++) {
		char *line = g_strdup_printf("cpu %d reporting\n", cpu);

		ck_assert_ptr_nonnull(strstr(result.output, line));
		g_free(line);
	}
	ck_assert_ptr_nonnull(strstr(result.output, "all 4 cpus reported\n"));
	run_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

/* Every call with a result field must report -EFAULT (-14) or, for a path
 * without a NUL before the end of memory, -EINVAL (-22). */
static void check_hostile_results(const char *output)
{
	char **lines = g_strsplit(output, "\n", -1);
	int results = 0;

	for (size_t i = 0; lines[i]; i++) {
		const char *ret = strstr(lines[i], ": ret=");

		if (!ret)
			continue;
		results++;
		ck_assert_msg(!strcmp(ret, ": ret=-14") ||
				  !strcmp(ret, ": ret=-22"),
			      "unexpected result: %s", lines[i]);
	}
	ck_assert_int_gt(results, 5);
	g_strfreev(lines);
}

START_TEST(hostile_parameters_rejected)
{
	const char *guests[] = {"hostile_v1", "hostile_v2"};
	struct uhyve_config *config = uhyve_config_new();
	struct run_result result;

	uhyve_config_set_aslr(config, false);
	run_guest(config, guests[_i], &result);
	ck_assert_int_eq(result.run_rc, 0);
	ck_assert_int_eq(result.exit_code, 0);
	ck_assert_ptr_nonnull(strstr(result.output, "hostile done\n"));
	ck_assert_ptr_nonnull(
	    strstr(result.output, "last page unchanged: yes\n"));
	/* The last page of guest memory is filled with 'A': none of it may
	 * reach the output through a buffer that runs off the end. */
	ck_assert_ptr_null(strstr(result.output, "AAAA"));
	check_hostile_results(result.output);
	run_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

START_TEST(triple_fault_reports_crash)
{
	struct uhyve_config *config = uhyve_config_new();
	struct run_result result;

	run_guest(config, "triple_fault", &result);
	ck_assert_int_eq(result.create_rc, 0);
	ck_assert_int_eq(result.run_rc, -EFAULT);
	ck_assert_ptr_nonnull(result.error);
	ck_assert_ptr_nonnull(strstr(result.error, "vCPU 0: the guest "
						   "triple-faulted"));
	ck_assert_ptr_nonnull(strstr(result.error, "rip "));
	run_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

static void *stop_later(void *opaque)
{
	usleep(300 * 1000);
	uhyve_vm_stop(opaque);
	return NULL;
}

START_TEST(spinning_guest_stops)
{
	struct uhyve_config *config = uhyve_config_new();
	char *path = guest_path("spin");
	struct uhyve_vm *vm = NULL;
	char *error = NULL;
	int exit_code = 42;
	pthread_t stopper;

	uhyve_config_set_cpu_count(config, 2, NULL);
	uhyve_config_set_output(config, UHYVE_OUTPUT_NONE, NULL, NULL);
	ck_assert_int_eq(uhyve_vm_create(config, path, &vm, &error), 0);
	pthread_create(&stopper, NULL, stop_later, vm);
	ck_assert_int_eq(uhyve_vm_run(vm, &exit_code, &error), -ECANCELED);
	ck_assert_int_eq(exit_code, 42);
	pthread_join(stopper, NULL);
	ck_assert_int_eq(uhyve_vm_run(vm, &exit_code, NULL), -EBUSY);
	uhyve_vm_destroy(vm);
	free(error);
	g_free(path);
	uhyve_config_free(config);
}
END_TEST

static void *run_hello(void *opaque)
{
	struct run_result *result = opaque;
	struct uhyve_config *config = uhyve_config_new();

	run_guest(config, "hello_v2", result);
	uhyve_config_free(config);
	return NULL;
}

START_TEST(vms_run_side_by_side)
{
	struct run_result results[3];
	pthread_t threads[3];

	for (int i = 0; i < 3; i++)
		pthread_create(&threads[i], NULL, run_hello, &results[i]);
	for (int i = 0; i < 3; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(results[i].run_rc, 0);
		ck_assert_ptr_nonnull(
		    strstr(results[i].output, "Hello from the v2 guest!"));
		run_result_clear(&results[i]);
	}
}
END_TEST

START_TEST(missing_kernel_rejected)
{
	struct uhyve_vm *vm = (struct uhyve_vm *)0x1;
	char *error = NULL;

	ck_assert_int_eq(
	    uhyve_vm_create(NULL, "/nonexistent/kernel", &vm, &error), -ENOENT);
	ck_assert_ptr_null(vm);
	ck_assert_str_eq(error,
			 "kernel file /nonexistent/kernel does not exist");
	free(error);
}
END_TEST

START_TEST(directory_kernel_rejected)
{
	struct uhyve_vm *vm = NULL;
	char *error = NULL;

	ck_assert_int_eq(uhyve_vm_create(NULL, "/tmp", &vm, &error), -EISDIR);
	ck_assert_str_eq(error, "kernel path /tmp is a directory, not a "
				"kernel file");
	free(error);
}
END_TEST

START_TEST(v1_memory_limit_enforced)
{
	struct uhyve_config *config = uhyve_config_new();
	char *path = guest_path("hello_v1");
	struct uhyve_vm *vm = NULL;
	char *error = NULL;

	uhyve_config_set_memory_size(config, 3ULL << 30, NULL);
	ck_assert_int_eq(uhyve_vm_create(config, path, &vm, &error), -EINVAL);
	ck_assert_str_eq(error, "memory size 3072 MiB is too large for an "
				"interface version 1 kernel: it must be less "
				"than 3 GiB (3072 MiB)");
	free(error);
	g_free(path);
	uhyve_config_free(config);
}
END_TEST

START_TEST(v2_accepts_large_memory)
{
	struct uhyve_config *config = uhyve_config_new();
	struct run_result result;

	uhyve_config_set_memory_size(config, 4ULL << 30, NULL);
	uhyve_config_set_aslr(config, false);
	run_guest(config, "hello_v2", &result);
	ck_assert_int_eq(result.create_rc, 0);
	ck_assert_int_eq(result.run_rc, 0);
	run_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

START_TEST(existing_output_file_rejected)
{
	struct uhyve_config *config = uhyve_config_new();
	char *path = guest_path("hello_v2");
	char *output =
	    g_build_filename(g_get_tmp_dir(), "uhyve-test-XXXXXX", NULL);
	struct uhyve_vm *vm = NULL;
	char *error = NULL;
	char *expected;
	int fd = g_mkstemp(output);

	close(fd);
	uhyve_config_set_output(config, UHYVE_OUTPUT_FILE, output, NULL);
	ck_assert_int_eq(uhyve_vm_create(config, path, &vm, &error), -EEXIST);
	expected = g_strdup_printf("output file %s already exists; remove it "
				   "or choose another name",
				   output);
	ck_assert_str_eq(error, expected);
	unlink(output);
	g_free(expected);
	g_free(output);
	free(error);
	g_free(path);
	uhyve_config_free(config);
}
END_TEST

START_TEST(output_file_receives_output)
{
	struct uhyve_config *config = uhyve_config_new();
	char *path = guest_path("hello_v1");
	char *dir = g_dir_make_tmp("uhyve-test-XXXXXX", NULL);
	char *output = g_build_filename(dir, "out.txt", NULL);
	struct uhyve_vm *vm = NULL;
	char *contents = NULL;
	int exit_code = -1;

	uhyve_config_set_output(config, UHYVE_OUTPUT_FILE, output, NULL);
	ck_assert_int_eq(uhyve_vm_create(config, path, &vm, NULL), 0);
	ck_assert_int_eq(uhyve_vm_run(vm, &exit_code, NULL), 0);
	uhyve_vm_destroy(vm);
	ck_assert(g_file_get_contents(output, &contents, NULL, NULL));
	ck_assert_str_eq(contents, "Hello from the v1 guest!\n"
				   "Byte by byte from the v1 guest!\n");
	unlink(output);
	rmdir(dir);
	g_free(contents);
	g_free(output);
	g_free(dir);
	g_free(path);
	uhyve_config_free(config);
}
END_TEST

START_TEST(stats_count_hypercalls)
{
	struct uhyve_config *config = uhyve_config_new();
	char *path = guest_path("hello_v2");
	struct uhyve_vcpu_stats stats[1];
	struct uhyve_vm *vm = NULL;
	int exit_code = -1;

	uhyve_config_set_stats(config, true);
	uhyve_config_set_output(config, UHYVE_OUTPUT_NONE, NULL, NULL);
	ck_assert_int_eq(uhyve_vm_create(config, path, &vm, NULL), 0);
	ck_assert_int_eq(uhyve_vm_run(vm, &exit_code, NULL), 0);
	ck_assert_uint_eq(uhyve_vm_stats(vm, stats, 1), 1);
	ck_assert_uint_eq(stats[0].hypercalls[UHYVE_HC_EXIT], 1);
	/* hello_v2 prints its first line in three SerialWriteBuffer calls and
	 * its second one byte by byte. */
	ck_assert_uint_eq(stats[0].hypercalls[UHYVE_HC_SERIAL_WRITE_BUFFER], 3);
	ck_assert_uint_eq(stats[0].hypercalls[UHYVE_HC_SERIAL_WRITE_BYTE],
			  strlen("Byte by byte from the v2 guest!\n"));
	ck_assert_uint_gt(stats[0].run_time_ns, 0);
	uhyve_vm_destroy(vm);
	g_free(path);
	uhyve_config_free(config);
}
END_TEST

START_TEST(example_guest_boots)
{
	const char *root = getenv("UHYVE_BUILD_ROOT");
	char *path = g_build_filename(root ? root : ".", "examples",
				      "hello_guest", NULL);
	struct uhyve_config *config = uhyve_config_new();
	struct uhyve_vm *vm = NULL;
	const uint8_t *output;
	int exit_code = -1;
	size_t len;

	uhyve_config_set_output(config, UHYVE_OUTPUT_BUFFER, NULL, NULL);
	ck_assert_int_eq(uhyve_vm_create(config, path, &vm, NULL), 0);
	ck_assert_int_eq(uhyve_vm_run(vm, &exit_code, NULL), 0);
	ck_assert_int_eq(exit_code, 0);
	output = uhyve_vm_output(vm, &len);
	ck_assert_ptr_nonnull(g_strstr_len((const char *)output, (gssize)len,
					   "Hello from a Hermit-ABI guest on "
					   "libuhyve!"));
	uhyve_vm_destroy(vm);
	uhyve_config_free(config);
	g_free(path);
}
END_TEST

/* Runs a files guest with a host directory mapped at /data, holding in.txt. */
START_TEST(files_guest_round_trip)
{
	const char *guests[] = {"files_v1", "files_v2"};
	char *dir = g_dir_make_tmp("uhyve-files-XXXXXX", NULL);
	char *input = g_build_filename(dir, "in.txt", NULL);
	const char *args[] = {"/data/in.txt", NULL};
	struct uhyve_config *config = config_with_args(args);
	char *path = guest_path(guests[_i]);
	struct uhyve_vm *vm = NULL;
	const uint8_t *output;
	int exit_code = -1;
	char *text;
	size_t len;

	g_file_set_contents(input, "mapped content", -1, NULL);
	uhyve_config_set_output(config, UHYVE_OUTPUT_BUFFER, NULL, NULL);
	uhyve_config_set_tempdir(config, dir, NULL);
	ck_assert_int_eq(uhyve_vm_create(config, path, &vm, NULL), 0);
	ck_assert_int_eq(uhyve_vm_mount(vm, dir, "/data", NULL), 0);
	ck_assert_int_eq(uhyve_vm_run(vm, &exit_code, NULL), 0);
	output = uhyve_vm_output(vm, &len);
	text = g_strndup((const char *)output, len);
	ck_assert_ptr_nonnull(strstr(text, "mapped=mapped content\n"));
	ck_assert_ptr_nonnull(strstr(text, "failures: 0\n"));
	ck_assert_int_eq(exit_code, 0);
	uhyve_vm_destroy(vm);

	/* The files the guest created went to the VM's temporary directory,
	 * which is gone now; the mapped file is untouched. */
	g_free(text);
	ck_assert(g_file_get_contents(input, &text, NULL, NULL));
	ck_assert_str_eq(text, "mapped content");
	unlink(input);
	g_free(text);
	text = g_strdup_printf("%s/uhyve-%u", dir, (unsigned)getuid());
	ck_assert_int_eq(rmdir(text), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	g_free(text);
	g_free(path);
	g_free(input);
	g_free(dir);
	uhyve_config_free(config);
}
END_TEST

START_TEST(mount_conflict_rejected)
{
	char *path = guest_path("hello_v2");
	struct uhyve_vm *vm = NULL;
	char *error = NULL;

	ck_assert_int_eq(uhyve_vm_create(NULL, path, &vm, NULL), 0);
	ck_assert_int_eq(uhyve_vm_mount(vm, "/tmp", "/data", &error), 0);
	ck_assert_int_eq(uhyve_vm_mount(vm, "/etc", "/data/x", &error),
			 -EEXIST);
	ck_assert_ptr_nonnull(strstr(error, "\"/data/x\""));
	ck_assert_ptr_nonnull(strstr(error, "\"/tmp\""));
	ck_assert_int_eq(uhyve_vm_mount(vm, "/nonexistent/a/b", "/b", &error),
			 -ENOENT);
	ck_assert_int_eq(uhyve_vm_mount(vm, "/tmp", "/../..", &error), -EINVAL);
	uhyve_vm_destroy(vm);
	free(error);
	g_free(path);
}
END_TEST

static Suite *vm_suite(void)
{
	Suite *suite = suite_create("vm");
	TCase *boot = tcase_create("boot");
	TCase *errors = tcase_create("errors");

	tcase_set_timeout(boot, 120);
	tcase_add_test(boot, hello_v1_prints_greeting);
	tcase_add_test(boot, hello_v2_prints_greeting);
	tcase_add_loop_test(boot, exit_code_reaches_caller, 0,
			    G_N_ELEMENTS(exit_cases));
	tcase_add_test(boot, args_v1_round_trip);
	tcase_add_test(boot, args_v2_round_trip);
	tcase_add_loop_test(boot, smp_every_cpu_reports, 0, 2);
	tcase_add_loop_test(boot, hostile_parameters_rejected, 0, 2);
	tcase_add_test(boot, triple_fault_reports_crash);
	tcase_add_test(boot, spinning_guest_stops);
	tcase_add_test(boot, vms_run_side_by_side);
	tcase_add_test(boot, output_file_receives_output);
	tcase_add_test(boot, stats_count_hypercalls);
	tcase_add_test(boot, v2_accepts_large_memory);
	tcase_add_test(boot, example_guest_boots);
	tcase_add_loop_test(boot, files_guest_round_trip, 0, 2);
	suite_add_tcase(suite, boot);

	tcase_add_test(errors, missing_kernel_rejected);
	tcase_add_test(errors, directory_kernel_rejected);
	tcase_add_test(errors, v1_memory_limit_enforced);
	tcase_add_test(errors, existing_output_file_rejected);
	tcase_add_test(errors, mount_conflict_rejected);
	suite_add_tcase(suite, errors);
	return suite;
}

int main(void)
{
	SRunner *runner;
	int failed;

	require_kvm();
	runner = srunner_create(vm_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
