/* End-to-end tests of the uhyve executable: output, exit status and error lines. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_common.h"

/* What one launcher run printed and returned. */
struct launch {
	char *out;
	char *err;
	int status; /* exit status, or -1 when it did not exit normally */
};

static void launch_clear(struct launch *launch)
{
	g_free(launch->out);
	g_free(launch->err);
}

/* Runs the launcher with `args` (NULL-terminated), in an environment with
 * `extra_env` (NULL-terminated "KEY=VALUE" strings) added. */
static void launch_env(const char *const *args, const char *const *extra_env,
		       struct launch *launch)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	char **envp = g_get_environ();
	GError *error = NULL;
	int wait_status = 0;

	g_ptr_array_add(argv, launcher_path());
	for (size_t i = 0; args[i]; i++)
		g_ptr_array_add(argv, g_strdup(args[i]));
	g_ptr_array_add(argv, NULL);
	for (size_t i = 0; extra_env && extra_env[i]; i++) {
		char **pair = g_strsplit(extra_env[i], "=", 2);

		envp = g_environ_setenv(envp, pair[0], pair[1], TRUE);
		g_strfreev(pair);
	}

	ck_assert(g_spawn_sync(NULL, (char **)argv->pdata, envp,
			       G_SPAWN_DEFAULT, NULL, NULL, &launch->out,
			       &launch->err, &wait_status, &error));
	launch->status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
	g_ptr_array_unref(argv);
	g_strfreev(envp);
}

static void launch(const char *const *args, struct launch *result)
{
	launch_env(args, NULL, result);
}

START_TEST(hello_through_launcher)
{
	char *guest = guest_path("hello_v2");
	const char *args[] = {guest, NULL};
	struct launch result;

	launch(args, &result);
	ck_assert_int_eq(result.status, 0);
	ck_assert_str_eq(result.out, "Hello from the v2 guest!\n"
				     "Byte by byte from the v2 guest!\n");
	ck_assert_str_eq(result.err, "");
	launch_clear(&result);
	g_free(guest);
}
END_TEST

static const struct {
	const char *code;
	int status;
} status_cases[] = {
	{"0", 0}, {"1", 1}, {"255", 255}, {"-1", 255}, {"256", 0},
};

START_TEST(guest_code_becomes_status)
{
	char *guest = guest_path(_i % 2 ? "exit_code_v1" : "exit_code_v2");
	const char *args[] = {guest, status_cases[_i].code, NULL};
	struct launch result;

	launch(args, &result);
	ck_assert_int_eq(result.status, status_cases[_i].status);
	launch_clear(&result);
	g_free(guest);
}
END_TEST

START_TEST(env_and_args_reach_guest)
{
	char *guest = guest_path("args_v1");
	const char *args[] = {"-e", "GREETING=hi", guest, "--", "a", "b",
			      NULL};
	char *expected = g_strdup_printf("arg[0]=%s\narg[1]=a\narg[2]=b\n"
					 "env[0]=GREETING=hi\n", guest);
	struct launch result;

	launch(args, &result);
	ck_assert_int_eq(result.status, 0);
	ck_assert_str_eq(result.out, expected);
	g_free(expected);
	launch_clear(&result);
	g_free(guest);
}
END_TEST

START_TEST(env_host_passes_environment)
{
	char *guest = guest_path("args_v2");
	const char *args[] = {"-e", "host", guest, NULL};
	const char *env[] = {"UHYVE_TEST_MARKER=present here", NULL};
	struct launch result;

	launch_env(args, env, &result);
	ck_assert_int_eq(result.status, 0);
	ck_assert_ptr_nonnull(
		strstr(result.out, "env=UHYVE_TEST_MARKER='present here'"));
	launch_clear(&result);
	g_free(guest);
}
END_TEST

START_TEST(output_none_discards)
{
	char *guest = guest_path("hello_v1");
	const char *args[] = {"-o", "none", guest, NULL};
	struct launch result;

	launch(args, &result);
	ck_assert_int_eq(result.status, 0);
	ck_assert_str_eq(result.out, "");
	launch_clear(&result);
	g_free(guest);
}
END_TEST

START_TEST(cpu_count_from_environment)
{
	char *guest = guest_path("smp_v2");
	const char *args[] = {guest, NULL};
	const char *env[] = {"HERMIT_CPU_COUNT=3", NULL};
	struct launch result;

	launch_env(args, env, &result);
	ck_assert_int_eq(result.status, 0);
	ck_assert_ptr_nonnull(strstr(result.out, "all 3 cpus reported\n"));
	launch_clear(&result);
	g_free(guest);
}
END_TEST

/* Launcher failures: arguments and the exact single line on stderr. */
static const struct {
	const char *args[4];
	const char *message;
} error_cases[] = {
	{{NULL},
	 "uhyve: error: no kernel given; usage: uhyve [OPTIONS] KERNEL "
	 "[ARGS...]\n"},
	{{"/nonexistent/kernel", NULL},
	 "uhyve: error: kernel file /nonexistent/kernel does not exist\n"},
	{{"/tmp", NULL},
	 "uhyve: error: kernel path /tmp is a directory, not a kernel file\n"},
	{{"-m", "abc", "GUEST", NULL},
	 "uhyve: error: invalid size \"abc\": use a number of bytes with an "
	 "optional suffix such as 64MiB, 512M or 1GiB\n"},
	{{"-m", "19MiB", "GUEST", NULL},
	 "uhyve: error: memory size 19922944 bytes is not a multiple of 2 MiB "
	 "(2097152 bytes)\n"},
	{{"-m", "12MiB", "GUEST", NULL},
	 "uhyve: error: memory size 12582912 bytes is too small: the minimum "
	 "is 16 MiB (16777216 bytes)\n"},
	{{"-m", "4GiB", "GUEST1", NULL},
	 "uhyve: error: memory size 4096 MiB is too large for an interface "
	 "version 1 kernel: it must be less than 3 GiB (3072 MiB)\n"},
	{{"-c", "0", "GUEST", NULL},
	 "uhyve: error: vCPU count 0 is invalid: a VM needs at least one "
	 "vCPU\n"},
	{{"-c", "100000", "GUEST", NULL}, NULL},
	{{"--bogus", "GUEST", NULL},
	 "uhyve: error: invalid option or missing value in \"--bogus\"; see "
	 "uhyve --help\n"},
	{{"-e", "NOEQUALS", "GUEST", NULL},
	 "uhyve: error: environment variable \"NOEQUALS\" has no '=': use "
	 "KEY=VALUE\n"},
};

START_TEST(launcher_errors_exit_125)
{
	char *guest = guest_path("hello_v2");
	char *guest_v1 = guest_path("hello_v1");
	const char *args[5] = {NULL};
	struct launch result;

	for (int i = 0; i < 4 && error_cases[_i].args[i]; i++) {
		const char *arg = error_cases[_i].args[i];

		if (strcmp(arg, "GUEST") == 0)
			arg = guest;
		else if (strcmp(arg, "GUEST1") == 0)
			arg = guest_v1;
		args[i] = arg;
	}
	launch(args, &result);
	ck_assert_int_eq(result.status, 125);
	if (error_cases[_i].message)
		ck_assert_str_eq(result.err, error_cases[_i].message);
	else
		ck_assert_ptr_nonnull(strstr(result.err, "uhyve: error: "));
	ck_assert_str_eq(result.out, "");
	launch_clear(&result);
	g_free(guest_v1);
	g_free(guest);
}
END_TEST

START_TEST(triple_fault_exits_125)
{
	char *guest = guest_path("triple_fault");
	const char *args[] = {guest, NULL};
	struct launch result;

	launch(args, &result);
	ck_assert_int_eq(result.status, 125);
	ck_assert(g_str_has_prefix(result.err, "uhyve: error: vCPU 0: the "
					       "guest triple-faulted "
					       "(KVM_EXIT_SHUTDOWN)\nrip "));
	launch_clear(&result);
	g_free(guest);
}
END_TEST

START_TEST(aarch64_image_rejected)
{
	char *image = hermit_image_path("aarch64/hello_world");
	const char *args[] = {image, NULL};
	char *expected;
	struct launch result;

	if (!image)
		return;
	launch(args, &result);
	ck_assert_int_eq(result.status, 125);
	expected = g_strdup_printf("uhyve: error: %s: kernel is built for "
				   "aarch64, but this host runs x86_64 "
				   "kernels only\n", image);
	ck_assert_str_eq(result.err, expected);
	g_free(expected);
	launch_clear(&result);
	g_free(image);
}
END_TEST

START_TEST(help_lists_options)
{
	static const char *const options[] = {
		"--memory-size", "--cpu-count", "--affinity", "--no-aslr",
		"--thp", "--ksm", "--pit", "--cpu-pm", "--output", "--stats",
		"--file-mapping", "--tempdir", "--file-isolation", "--io-mode",
		"--gdb-port", "--config", "--env", "--help", "--version",
		"HERMIT_MEMORY_SIZE", "HERMIT_CPU_COUNT", "HERMIT_GDB_PORT",
		"HERMIT_CONFIG", "125",
	};
	const char *args[] = {"--help", NULL};
	struct launch result;

	launch(args, &result);
	ck_assert_int_eq(result.status, 0);
	for (size_t i = 0; i < G_N_ELEMENTS(options); i++)
		ck_assert_msg(strstr(result.out, options[i]),
			      "--help does not mention %s", options[i]);
	launch_clear(&result);
}
END_TEST

START_TEST(version_prints_version)
{
	const char *args[] = {"-V", NULL};
	struct launch result;

	launch(args, &result);
	ck_assert_int_eq(result.status, 0);
	ck_assert_str_eq(result.out, "uhyve 0.1.0\n");
	launch_clear(&result);
}
END_TEST

static Suite *launcher_suite(void)
{
	Suite *suite = suite_create("launcher");
	TCase *runs = tcase_create("runs");
	TCase *errors = tcase_create("errors");

	tcase_set_timeout(runs, 120);
	tcase_add_test(runs, hello_through_launcher);
	tcase_add_loop_test(runs, guest_code_becomes_status, 0,
			    G_N_ELEMENTS(status_cases));
	tcase_add_test(runs, env_and_args_reach_guest);
	tcase_add_test(runs, env_host_passes_environment);
	tcase_add_test(runs, output_none_discards);
	tcase_add_test(runs, cpu_count_from_environment);
	tcase_add_test(runs, help_lists_options);
	tcase_add_test(runs, version_prints_version);
	suite_add_tcase(suite, runs);

	tcase_set_timeout(errors, 120);
	tcase_add_loop_test(errors, launcher_errors_exit_125, 0,
			    G_N_ELEMENTS(error_cases));
	tcase_add_test(errors, triple_fault_exits_125);
	tcase_add_test(errors, aarch64_image_rejected);
	suite_add_tcase(suite, errors);
	return suite;
}

int main(void)
{
	SRunner *runner;
	int failed;

	require_kvm();
	runner = srunner_create(launcher_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
