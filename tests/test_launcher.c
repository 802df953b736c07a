/* End-to-end tests of the uhyve executable: output, exit status and error
 * lines. */
#include <check.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uhyve/hermit_abi.h"

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

/* Returns the environment for a launcher run: this process's, without the
 * settings of the machine running the tests (HERMIT_* variables and the
 * user's uhyve.toml), plus `extra_env` (NULL-terminated "KEY=VALUE"). */
static char **launcher_environment(const char *const *extra_env)
{
	char **envp = g_get_environ();

	envp = g_environ_unsetenv(envp, "HERMIT_MEMORY_SIZE");
	envp = g_environ_unsetenv(envp, "HERMIT_CPU_COUNT");
	envp = g_environ_unsetenv(envp, "HERMIT_GDB_PORT");
	envp = g_environ_unsetenv(envp, "HERMIT_CONFIG");
	envp = g_environ_setenv(envp, "XDG_CONFIG_HOME",
				"/nonexistent/uhyve-test-config", TRUE);
	for (size_t i = 0; extra_env && extra_env[i]; i++) {
		char **pair = g_strsplit(extra_env[i], "=", 2);

		envp = g_environ_setenv(envp, pair[0], pair[1], TRUE);
		g_strfreev(pair);
	}
	return envp;
}

/* Returns argv for the launcher with `args` (NULL-terminated) after it. */
static GPtrArray *launcher_argv(const char *const *args)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

	g_ptr_array_add(argv, launcher_path());
	for (size_t i = 0; args[i]; i++)
		g_ptr_array_add(argv, g_strdup(args[i]));
	g_ptr_array_add(argv, NULL);
	return argv;
}

/* Runs the launcher with `args` in the directory `dir` (NULL: this one),
 * with `extra_env` added to the environment. */
static void launch_in(const char *dir, const char *const *args,
		      const char *const *extra_env, struct launch *launch)
{
	GPtrArray *argv = launcher_argv(args);
	char **envp = launcher_environment(extra_env);
	GError *error = NULL;
	int wait_status = 0;

	ck_assert(g_spawn_sync(dir, (char **)argv->pdata, envp, G_SPAWN_DEFAULT,
			       NULL, NULL, &launch->out, &launch->err,
			       &wait_status, &error));
	launch->status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
	g_ptr_array_unref(argv);
	g_strfreev(envp);
}

static void launch_env(const char *const *args, const char *const *extra_env,
		       struct launch *launch)
{
	launch_in(NULL, args, extra_env, launch);
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
	const char *args[] = {"-e", "GREETING=hi", guest, "--", "a", "b", NULL};
	char *expected = g_strdup_printf("arg[0]=%s\narg[1]=a\narg[2]=b\n"
					 "env[0]=GREETING=hi\n",
					 guest);
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
	const char *args[6];
	const char *message;
} error_cases[] = {
    {{NULL},
     "uhyve: error: no kernel given; usage: uhyve [OPTIONS] KERNEL "
     "[ARGS...]\n"},
    {{"/nonexistent/kernel", NULL},
     "uhyve: error: kernel file /nonexistent/kernel does not exist\n"},
    {{"/dev/zero", NULL},
     "uhyve: error: kernel path /dev/zero is not a regular file\n"},
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
    {{"-m", "64GiB", "GUEST", NULL},
     "uhyve: error: memory size 65536 MiB is too large: interface version "
     "2 kernels allow at most 61440 MiB\n"},
    {{"-c", "2", "-a", "0", "GUEST", NULL},
     "uhyve: error: the CPU affinity lists 1 host CPUs, but the VM has 2 "
     "vCPUs: give one host CPU per vCPU\n"},
    {{"--bogus", "GUEST", NULL},
     "uhyve: error: invalid option \"--bogus\"; see uhyve --help\n"},
    {{"--config", "/nonexistent/uhyve.toml", "GUEST", NULL},
     "uhyve: error: configuration file /nonexistent/uhyve.toml does not "
     "exist\n"},
    {{"-e", "NOEQUALS", "GUEST", NULL},
     "uhyve: error: environment variable \"NOEQUALS\" has no '=': use "
     "KEY=VALUE\n"},
};

START_TEST(launcher_errors_exit_125)
{
	char *guest = guest_path("hello_v2");
	char *guest_v1 = guest_path("hello_v1");
	const char *args[7] = {NULL};
	struct launch result;

	for (int i = 0; i < 6 && error_cases[_i].args[i]; i++) {
		const char *arg = error_cases[_i].args[i];

		if (strcmp(arg, "GUEST") == 0)
			arg = guest;
		else if (strcmp(arg, "GUEST1") == 0)
			arg = guest_v1;
		args[i] = arg;
	}
	launch(args, &result);
	ck_assert_int_eq(result.status, 125);
	ck_assert_str_eq(result.err, error_cases[_i].message);
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
				   "kernels only\n",
				   image);
	ck_assert_str_eq(result.err, expected);
	g_free(expected);
	launch_clear(&result);
	g_free(image);
}
END_TEST

/* A temporary directory for one test, removed with everything in it. */
static char *make_temp_dir(void)
{
	char *dir = g_dir_make_tmp("uhyve-launcher-XXXXXX", NULL);

	ck_assert_ptr_nonnull(dir);
	return dir;
}

static void remove_temp_dir(char *dir)
{
	char *command = g_strdup_printf("rm -rf '%s'", dir);

	ck_assert_int_eq(system(command), 0);
	g_free(command);
	g_free(dir);
}

/* Writes `text` to `name` in `dir` and returns the file's path (g_free). */
static char *write_temp_file(const char *dir, const char *name,
			     const char *text)
{
	char *path = g_build_filename(dir, name, NULL);

	ck_assert(g_file_set_contents(path, text, -1, NULL));
	return path;
}

START_TEST(config_file_option_run)
{
	char *dir = make_temp_dir();
	char *file = write_temp_file(dir, "settings.toml",
				     "[memory]\n"
				     "memory_size = \"32MiB\"\n"
				     "[guest]\n"
				     "env_vars = [\"FROM_FILE=yes\", "
				     "\"SHARED=file\"]\n");
	char *guest = guest_path("args_v1");
	const char *args[] = {"--config", file, "-e", "SHARED=command line",
			      guest,	  NULL};
	char *expected = g_strdup_printf("arg[0]=%s\nenv[0]=FROM_FILE=yes\n"
					 "env[1]=SHARED=command line\n",
					 guest);
	struct launch result;

	launch(args, &result);
	ck_assert_int_eq(result.status, 0);
	ck_assert_str_eq(result.out, expected);
	ck_assert_str_eq(result.err, "");
	launch_clear(&result);
	g_free(expected);
	g_free(guest);
	g_free(file);
	remove_temp_dir(dir);
}
END_TEST

/* ./uhyve.toml is read without --config, and -v prints which file it was. */
START_TEST(config_file_current_directory)
{
	char *dir = make_temp_dir();
	char *file =
	    write_temp_file(dir, "uhyve.toml", "[cpu]\ncpu_count = 3\n");
	char *guest = guest_path("smp_v2");
	const char *args[] = {"-v", guest, NULL};
	struct launch result;

	launch_in(dir, args, NULL, &result);
	ck_assert_int_eq(result.status, 0);
	ck_assert_ptr_nonnull(strstr(result.out, "all 3 cpus reported\n"));
	ck_assert_ptr_nonnull(
	    strstr(result.err, "uhyve: info: read settings from uhyve.toml\n"));
	launch_clear(&result);
	g_free(guest);
	g_free(file);
	remove_temp_dir(dir);
}
END_TEST

START_TEST(config_file_error_exits_125)
{
	char *dir = make_temp_dir();
	char *file = write_temp_file(dir, "uhyve.toml",
				     "[memory]\nmemory_size = \"64MiB\"\n"
				     "huge_pages = true\n");
	char *guest = guest_path("hello_v2");
	const char *args[] = {guest, NULL};
	struct launch result;

	launch_in(dir, args, NULL, &result);
	ck_assert_int_eq(result.status, 125);
	ck_assert_str_eq(result.err,
			 "uhyve: error: uhyve.toml:3: memory.huge_pages: "
			 "unknown key; the keys of [memory] are memory_size, "
			 "no_aslr, thp, ksm\n");
	ck_assert_str_eq(result.out, "");
	launch_clear(&result);
	g_free(guest);
	g_free(file);
	remove_temp_dir(dir);
}
END_TEST

/* Splits the launcher's standard error into lines. */
static char **stats_lines(const struct launch *result)
{
	return g_strsplit(result->err, "\n", -1);
}

/* hello_v2 makes 3 SerialWriteBuffer calls, one SerialWriteByte call per
 * byte of "Byte by byte from the v2 guest!\n" (32) and one Exit. */
START_TEST(stats_table_exact_counts)
{
	char *guest = guest_path("hello_v2");
	const char *args[] = {"--stats", guest, NULL};
	struct launch result;
	char **lines;

	launch(args, &result);
	ck_assert_int_eq(result.status, 0);
	ck_assert_str_eq(result.out, "Hello from the v2 guest!\n"
				     "Byte by byte from the v2 guest!\n");
	lines = stats_lines(&result);
	ck_assert_uint_eq(g_strv_length(lines), 12);
	ck_assert_str_eq(lines[0], "exits                       vCPU 0");
	ck_assert_str_eq(lines[1], "Exit                             1");
	ck_assert_str_eq(lines[2], "SerialWriteByte                 32");
	ck_assert_str_eq(lines[3], "SerialWriteBuffer                3");
	ck_assert_str_eq(lines[4], "port reads                       0");
	ck_assert_str_eq(lines[5], "port writes                      0");
	ck_assert_str_eq(lines[6], "MMIO reads                       0");
	ck_assert_str_eq(lines[7], "MMIO writes                      0");
	ck_assert_str_eq(lines[8], "HLT                              0");
	ck_assert_str_eq(lines[9], "debug                            0");
	ck_assert(g_str_has_prefix(lines[10], "run time (ms)         "));
	ck_assert_str_eq(lines[11], "");
	g_strfreev(lines);
	launch_clear(&result);
	g_free(guest);
}
END_TEST

/* With 2 vCPUs every vCPU gets a column. In smp_v2 each vCPU prints its
 * line with 3 SerialWriteBuffer calls, and vCPU 0 then the summary line with
 * 3 more before its Exit. */
START_TEST(stats_table_per_vcpu)
{
	char *guest = guest_path("smp_v2");
	const char *args[] = {"--stats", "-c", "2", guest, NULL};
	struct launch result;
	char **lines;

	launch(args, &result);
	ck_assert_int_eq(result.status, 0);
	lines = stats_lines(&result);
	ck_assert_uint_eq(g_strv_length(lines), 11);
	ck_assert_str_eq(lines[0],
			 "exits                       vCPU 0      vCPU 1");
	ck_assert_str_eq(lines[1],
			 "Exit                             1           0");
	ck_assert_str_eq(lines[2],
			 "SerialWriteBuffer                6           3");
	ck_assert_str_eq(lines[8],
			 "debug                            0           0");
	ck_assert(g_str_has_prefix(lines[9], "run time (ms) "));
	g_strfreev(lines);
	launch_clear(&result);
	g_free(guest);
}
END_TEST

/* The memory and CPU switches change how the VM is set up, not what the
 * guest sees, so the guest runs as without them. */
START_TEST(machine_flags_run)
{
	char *guest = guest_path("smp_v2");
	const char *args[] = {"--thp",	  "--ksm",     "--pit",
			      "--cpu-pm", "--no-aslr", "-c",
			      "2",	  guest,       NULL};
	struct launch result;

	launch(args, &result);
	ck_assert_int_eq(result.status, 0);
	ck_assert_ptr_nonnull(strstr(result.out, "all 2 cpus reported\n"));
	ck_assert_str_eq(result.err, "");
	launch_clear(&result);
	g_free(guest);
}
END_TEST

START_TEST(memory_4gib_runs_v2)
{
	char *guest = guest_path("hello_v2");
	const char *args[] = {"-m", "4GiB", guest, NULL};
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

/* Reads the launcher's output pipe until it contains `text`, for at most
 * `timeout_ms`. Returns true when it appeared. */
static bool wait_for_output(int fd, const char *text, int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	GString *output = g_string_new(NULL);
	bool found = false;

	while (!found && g_get_monotonic_time() < deadline) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		char buffer[256];
		ssize_t got;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		got = read(fd, buffer, sizeof(buffer));
		if (got <= 0)
			break;
		g_string_append_len(output, buffer, got);
		found = strstr(output->str, text) != NULL;
	}
	g_string_free(output, TRUE);
	return found;
}

/* Counts the launcher's own threads of `pid` whose Cpus_allowed_list is
 * exactly `list`. Kernel workers that KVM attaches to the process, such as
 * "kvm-nx-lpage-recovery", have other names and are not counted. */
static unsigned count_threads_pinned(GPid pid, const char *list)
{
	char *task_dir = g_strdup_printf("/proc/%d/task", (int)pid);
	char *expected = g_strdup_printf("Cpus_allowed_list:\t%s\n", list);
	GDir *dir = g_dir_open(task_dir, 0, NULL);
	const char *task;
	unsigned count = 0;

	while (dir && (task = g_dir_read_name(dir))) {
		char *path = g_build_filename(task_dir, task, "status", NULL);
		char *status = NULL;

		if (g_file_get_contents(path, &status, NULL, NULL) &&
		    g_str_has_prefix(status, "Name:\tuhyve\n") &&
		    strstr(status, expected))
			count++;
		g_free(status);
		g_free(path);
	}
	if (dir)
		g_dir_close(dir);
	g_free(expected);
	g_free(task_dir);
	return count;
}

/* Finds the first two CPUs this process may run on; false with fewer. */
static bool two_host_cpus(int *first, int *second)
{
	cpu_set_t set;
	int found = 0;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (found++ == 0)
			*first = cpu;
		else
			*second = cpu;
	}
	return found == 2;
}

START_TEST(affinity_pins_vcpu_threads)
{
	char *guest = guest_path("spin");
	char *dir = make_temp_dir();
	char *first_list;
	char *second_list;
	char *cpus;
	GPtrArray *argv;
	char **envp = launcher_environment(NULL);
	GError *error = NULL;
	bool started;
	unsigned first_count = 0;
	unsigned second_count = 0;
	int first = -1;
	int second = -1;
	int out_fd;
	GPid pid;

	if (!two_host_cpus(&first, &second)) {
		/* NOTE: pinning two vCPUs needs two host CPUs. */
		printf("SKIP: affinity test needs two usable host CPUs\n");
		g_strfreev(envp);
		remove_temp_dir(dir);
		g_free(guest);
		return;
	}
	cpus = g_strdup_printf("%d,%d", first, second);
	argv = launcher_argv((const char *const[]){
	    "-c", "2", "-a", cpus, "--tempdir", dir, guest, NULL});
	ck_assert(g_spawn_async_with_pipes(
	    NULL, (char **)argv->pdata, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
	    NULL, &pid, NULL, &out_fd, NULL, &error));
	started = wait_for_output(out_fd, "spinning\n", 30000);

	first_list = g_strdup_printf("%d", first);
	second_list = g_strdup_printf("%d", second);
	/* Each vCPU thread pins itself when it starts: wait up to 10 s. */
	for (int attempt = 0; started && attempt < 100; attempt++) {
		first_count = count_threads_pinned(pid, first_list);
		second_count = count_threads_pinned(pid, second_list);
		if (first_count == 1 && second_count == 1)
			break;
		g_usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(out_fd);
	g_spawn_close_pid(pid);
	g_free(second_list);
	g_free(first_list);
	g_ptr_array_unref(argv);
	g_strfreev(envp);
	g_free(cpus);
	remove_temp_dir(dir);
	g_free(guest);

	ck_assert(started);
	ck_assert_uint_eq(first_count, 1);
	ck_assert_uint_eq(second_count, 1);
}
END_TEST

START_TEST(output_file_exists_rejected)
{
	char *dir = make_temp_dir();
	char *file = write_temp_file(dir, "guest.log", "earlier run\n");
	char *guest = guest_path("hello_v2");
	const char *args[] = {"-o", file, guest, NULL};
	char *expected = g_strdup_printf("uhyve: error: output file %s already "
					 "exists; remove it or choose another "
					 "name\n",
					 file);
	char *contents = NULL;
	struct launch result;

	launch(args, &result);
	ck_assert_int_eq(result.status, 125);
	ck_assert_str_eq(result.err, expected);
	ck_assert(g_file_get_contents(file, &contents, NULL, NULL));
	ck_assert_str_eq(contents, "earlier run\n");
	launch_clear(&result);
	g_free(contents);
	g_free(expected);
	g_free(guest);
	g_free(file);
	remove_temp_dir(dir);
}
END_TEST

/* Returns KVM's vCPU limit as uhyve_vm_create() reads it. */
static int kvm_max_vcpus(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int max;

	ck_assert_int_ge(fd, 0);
	max = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	close(fd);
	return max;
}

START_TEST(cpu_count_above_kvm_limit)
{
	int max = kvm_max_vcpus();
	char *count = g_strdup_printf("%d", max + 1);
	char *guest = guest_path("hello_v2");
	const char *args[] = {"-c", count, guest, NULL};
	char *expected = g_strdup_printf("uhyve: error: vCPU count %d is above "
					 "what KVM allows (%d)\n",
					 max + 1, max);
	struct launch result;

	ck_assert_int_gt(max, 0);
	launch(args, &result);
	ck_assert_int_eq(result.status, 125);
	ck_assert_str_eq(result.err, expected);
	launch_clear(&result);
	g_free(expected);
	g_free(guest);
	g_free(count);
}
END_TEST

START_TEST(too_many_v1_arguments)
{
	char *guest = guest_path("args_v1");
	GPtrArray *args = g_ptr_array_new();
	struct launch result;

	g_ptr_array_add(args, guest);
	for (int i = 0; i < HERMIT_V1_MAX_ARGS; i++)
		g_ptr_array_add(args, "x");
	g_ptr_array_add(args, NULL);
	launch((const char *const *)args->pdata, &result);
	ck_assert_int_eq(result.status, 125);
	ck_assert_str_eq(result.err,
			 "uhyve: error: 129 arguments (with the kernel path) "
			 "are too many for an interface version 1 kernel: the "
			 "limit is 128\n");
	launch_clear(&result);
	g_ptr_array_free(args, TRUE);
	g_free(guest);
}
END_TEST

START_TEST(too_many_v1_variables)
{
	char *guest = guest_path("args_v1");
	GPtrArray *args = g_ptr_array_new_with_free_func(g_free);
	struct launch result;

	for (int i = 0; i <= HERMIT_V1_MAX_ENVS; i++) {
		g_ptr_array_add(args, g_strdup("-e"));
		g_ptr_array_add(args, g_strdup_printf("VARIABLE_%d=1", i));
	}
	g_ptr_array_add(args, g_strdup(guest));
	g_ptr_array_add(args, NULL);
	launch((const char *const *)args->pdata, &result);
	ck_assert_int_eq(result.status, 125);
	ck_assert_str_eq(result.err,
			 "uhyve: error: 129 environment variables are too many "
			 "for an interface version 1 kernel: the limit is "
			 "128\n");
	launch_clear(&result);
	g_ptr_array_unref(args);
	g_free(guest);
}
END_TEST

/* Runs `command` through sh and returns true when it exits with 0. */
static bool command_succeeds(const char *command)
{
	int status = system(command);

	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* /dev/kvm is hidden by mounting an empty tmpfs over /dev in a private
 * mount namespace, which needs root and unshare(1). */
START_TEST(kvm_missing_explained)
{
	char *guest = guest_path("hello_v2");
	char *launcher = launcher_path();
	const char *args[] = {"-m",
			      "--propagation",
			      "private",
			      "--",
			      "sh",
			      "-c",
			      "mount -t tmpfs tmpfs /dev && exec \"$@\"",
			      "sh",
			      launcher,
			      guest,
			      NULL};
	GPtrArray *argv = g_ptr_array_new();
	char **envp = launcher_environment(NULL);
	GError *error = NULL;
	char *out = NULL;
	char *err = NULL;
	int wait_status = 0;

	if (geteuid() != 0 ||
	    !command_succeeds("unshare -m --propagation private true "
			      ">/dev/null 2>&1")) {
		/* NOTE: without root the missing /dev/kvm is not tested. */
		printf("SKIP: hiding /dev/kvm needs root and unshare -m\n");
		goto out;
	}
	g_ptr_array_add(argv, "unshare");
	for (size_t i = 0; args[i]; i++)
		g_ptr_array_add(argv, (char *)args[i]);
	g_ptr_array_add(argv, NULL);
	ck_assert(g_spawn_sync(NULL, (char **)argv->pdata, envp,
			       G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
			       &wait_status, &error));
	ck_assert(WIFEXITED(wait_status));
	ck_assert_int_eq(WEXITSTATUS(wait_status), 125);
	ck_assert_str_eq(err, "uhyve: error: /dev/kvm does not exist: load the "
			      "kvm module and enable virtualisation in the "
			      "firmware\n");
out:
	g_free(out);
	g_free(err);
	g_strfreev(envp);
	g_ptr_array_free(argv, TRUE);
	g_free(launcher);
	g_free(guest);
}
END_TEST

/* The launcher runs as the user "nobody", which root can switch to with
 * setpriv(1), so the guest file must be readable for everyone. */
START_TEST(kvm_permission_explained)
{
	char *guest = guest_path("hello_v2");
	char *launcher = launcher_path();
	struct passwd *nobody = getpwnam("nobody");
	char *setpriv = NULL;
	char *uid = NULL;
	char *gid = NULL;
	struct stat st;
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	char **envp = launcher_environment(NULL);
	GError *error = NULL;
	char *out = NULL;
	char *err = NULL;
	int wait_status = 0;

	ck_assert_int_eq(stat("/dev/kvm", &st), 0);
	setpriv = g_find_program_in_path("setpriv");
	if (geteuid() != 0 || !nobody || (st.st_mode & S_IRWXO) == S_IRWXO ||
	    !setpriv) {
		/* NOTE: this case needs root, setpriv, the user "nobody" and
		 * a /dev/kvm that not everyone may open. */
		printf("SKIP: cannot run the launcher as a user without access "
		       "to /dev/kvm\n");
		goto out;
	}
	uid = g_strdup_printf("--reuid=%u", (unsigned)nobody->pw_uid);
	gid = g_strdup_printf("--regid=%u", (unsigned)nobody->pw_gid);
	g_ptr_array_add(argv, g_strdup(setpriv));
	g_ptr_array_add(argv, g_strdup(uid));
	g_ptr_array_add(argv, g_strdup(gid));
	g_ptr_array_add(argv, g_strdup("--clear-groups"));
	g_ptr_array_add(argv, g_strdup(launcher));
	g_ptr_array_add(argv, g_strdup(guest));
	g_ptr_array_add(argv, NULL);
	ck_assert(g_spawn_sync("/", (char **)argv->pdata, envp,
			       G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
			       &wait_status, &error));
	ck_assert(WIFEXITED(wait_status));
	ck_assert_int_eq(WEXITSTATUS(wait_status), 125);
	ck_assert_str_eq(err, "uhyve: error: permission denied on /dev/kvm: "
			      "add the user to the group that owns it "
			      "(usually kvm)\n");
out:
	g_free(setpriv);
	g_free(uid);
	g_free(gid);
	g_free(out);
	g_free(err);
	g_strfreev(envp);
	g_ptr_array_unref(argv);
	g_free(launcher);
	g_free(guest);
}
END_TEST

START_TEST(sigint_stops_spinning_guest)
{
	char *guest = guest_path("spin");
	char *argv[] = {launcher_path(), guest, NULL};
	GError *error = NULL;
	int wait_status = 0;
	int err_fd = -1;
	char buffer[256] = {0};
	GPid pid;

	ck_assert(g_spawn_async_with_pipes(
	    NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL,
	    NULL, &err_fd, &error));
	/* Give the guest time to start spinning inside KVM_RUN. */
	g_usleep(500 * 1000);
	kill(pid, SIGINT);
	ck_assert_int_eq(waitpid(pid, &wait_status, 0), pid);
	ck_assert(WIFEXITED(wait_status));
	ck_assert_int_eq(WEXITSTATUS(wait_status), 128 + SIGINT);
	ck_assert_int_gt(read(err_fd, buffer, sizeof(buffer) - 1), 0);
	ck_assert_str_eq(buffer, "uhyve: stopped by signal Interrupt\n");
	close(err_fd);
	g_free(argv[0]);
	g_free(guest);
}
END_TEST

START_TEST(hostile_guest_through_launcher)
{
	const char *names[] = {"hostile_v1", "hostile_v2"};
	char *guest = guest_path(names[_i]);
	const char *args[] = {"--no-aslr", guest, NULL};
	struct launch result;

	launch(args, &result);
	ck_assert_int_eq(result.status, 0);
	ck_assert_ptr_nonnull(strstr(result.out, "hostile done\n"));
	ck_assert_ptr_null(strstr(result.out, "AAAA"));
	launch_clear(&result);
	g_free(guest);
}
END_TEST

START_TEST(full_output_device_fails)
{
	char *guest = guest_path("hello_v2");
	char *launcher = launcher_path();
	char *argv[] = {"/bin/sh", "-c",  "exec \"$0\" \"$1\" >/dev/full",
			launcher,  guest, NULL};
	int wait_status = 0;
	char *err = NULL;

	ck_assert(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
			       NULL, &err, &wait_status, NULL));
	ck_assert(WIFEXITED(wait_status));
	ck_assert_int_eq(WEXITSTATUS(wait_status), 125);
	ck_assert_str_eq(err, "uhyve: error: writing the guest's output "
			      "failed: No space left on device; the run was "
			      "stopped\n");
	g_free(err);
	g_free(launcher);
	g_free(guest);
}
END_TEST

/* Makes ioctl(KVM_CREATE_VM) fail with EBUSY in the child before it runs
 * the launcher, as it does where another hypervisor holds the CPU's
 * virtualisation extensions. */
static void fail_create_vm_busy(gpointer data)
{
	struct sock_filter filter[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		     offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		     offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 3),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		     offsetof(struct seccomp_data, args[1])),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, KVM_CREATE_VM, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EBUSY),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog program = {
	    .len = G_N_ELEMENTS(filter),
	    .filter = filter,
	};

	(void)data;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program))
		_exit(99);
}

START_TEST(kvm_busy_explained)
{
	char *guest = guest_path("hello_v2");
	char *argv[] = {launcher_path(), guest, NULL};
	int wait_status = 0;
	char *out = NULL;
	char *err = NULL;

	ck_assert(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT,
			       fail_create_vm_busy, NULL, &out, &err,
			       &wait_status, NULL));
	ck_assert(WIFEXITED(wait_status));
	ck_assert_int_eq(WEXITSTATUS(wait_status), 125);
	ck_assert_str_eq(err, "uhyve: error: KVM is busy: another hypervisor "
			      "is using the virtualisation extensions; stop "
			      "it and retry\n");
	ck_assert_str_eq(out, "");
	g_free(out);
	g_free(err);
	g_free(argv[0]);
	g_free(guest);
}
END_TEST

START_TEST(help_lists_options)
{
	static const char *const options[] = {
	    "--memory-size",
	    "--cpu-count",
	    "--affinity",
	    "--no-aslr",
	    "--thp",
	    "--ksm",
	    "--pit",
	    "--cpu-pm",
	    "--output",
	    "--stats",
	    "--file-mapping",
	    "--tempdir",
	    "--file-isolation",
	    "--io-mode",
	    "--gdb-port",
	    "--config",
	    "--env",
	    "--help",
	    "--version",
	    "HERMIT_MEMORY_SIZE",
	    "HERMIT_CPU_COUNT",
	    "HERMIT_GDB_PORT",
	    "HERMIT_CONFIG",
	    "125",
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
	tcase_add_test(runs, config_file_option_run);
	tcase_add_test(runs, config_file_current_directory);
	tcase_add_test(runs, stats_table_exact_counts);
	tcase_add_test(runs, stats_table_per_vcpu);
	tcase_add_test(runs, machine_flags_run);
	tcase_add_test(runs, memory_4gib_runs_v2);
	tcase_add_test(runs, affinity_pins_vcpu_threads);
	tcase_add_test(runs, sigint_stops_spinning_guest);
	tcase_add_loop_test(runs, hostile_guest_through_launcher, 0, 2);
	tcase_add_test(runs, full_output_device_fails);
	tcase_add_test(runs, kvm_busy_explained);
	tcase_add_test(runs, help_lists_options);
	tcase_add_test(runs, version_prints_version);
	suite_add_tcase(suite, runs);

	tcase_set_timeout(errors, 120);
	tcase_add_loop_test(errors, launcher_errors_exit_125, 0,
			    G_N_ELEMENTS(error_cases));
	tcase_add_test(errors, triple_fault_exits_125);
	tcase_add_test(errors, aarch64_image_rejected);
	tcase_add_test(errors, config_file_error_exits_125);
	tcase_add_test(errors, output_file_exists_rejected);
	tcase_add_test(errors, cpu_count_above_kvm_limit);
	tcase_add_test(errors, too_many_v1_arguments);
	tcase_add_test(errors, too_many_v1_variables);
	tcase_add_test(errors, kvm_missing_explained);
	tcase_add_test(errors, kvm_permission_explained);
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
