/* End-to-end debugging tests: gdb in batch mode against the launcher. */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_common.h"

/* The exit code of the debug guest, and the launcher's own failure status. */
#define DEBUG_EXIT_CODE	 42
#define LAUNCHER_FAILURE 125
/* Bounds of every wait in these tests. */
#define PROCESS_TIMEOUT_MS 30000
#define POLL_INTERVAL_MS   20

extern char **environ;

/* What one debugging session printed and how its processes ended. */
struct session {
	char *gdb_output;   /* gdb's standard output and error */
	char *guest_output; /* the launcher's standard output and error */
	int gdb_status;	    /* exit status, or -1 when it did not exit */
	int uhyve_status;
};

static void session_clear(struct session *session)
{
	g_free(session->gdb_output);
	g_free(session->guest_output);
}

/* Returns a TCP port on 127.0.0.1 that was free a moment ago. */
static uint16_t free_port(void)
{
	struct sockaddr_in address = {
	    .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(address);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&address, len), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&address, &len), 0);
	close(fd);
	return ntohs(address.sin_port);
}

/* Starts argv[0] (looked up in PATH) with standard output and error going
 * to `log_path`. Returns its process id. */
static pid_t spawn_logged(char **argv, const char *log_path)
{
	posix_spawn_file_actions_t actions;
	pid_t pid = -1;

	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path,
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO,
					 STDERR_FILENO);
	posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
					 O_RDONLY, 0);
	ck_assert_int_eq(
	    posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&actions);
	return pid;
}

/* Waits up to PROCESS_TIMEOUT_MS for `pid`, then kills it. Returns its
 * exit status, or -1 when it had to be killed or died of a signal. */
static int wait_bounded(pid_t pid)
{
	int status = 0;

	for (int waited = 0; waited < PROCESS_TIMEOUT_MS;
	     waited += POLL_INTERVAL_MS) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		usleep(POLL_INTERVAL_MS * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* Returns true once `text` appears in the file at `path`, within the
 * process timeout. */
static bool wait_for_text(const char *path, const char *text)
{
	for (int waited = 0; waited < PROCESS_TIMEOUT_MS;
	     waited += POLL_INTERVAL_MS) {
		gchar *contents = NULL;
		bool found = g_file_get_contents(path, &contents, NULL, NULL) &&
			     strstr(contents, text);

		g_free(contents);
		if (found)
			return true;
		usleep(POLL_INTERVAL_MS * 1000);
	}
	return false;
}

/* Sends SIGINT to gdb once it has started `continue` (after it printed
 * `marker`), as a user's Ctrl-C would, until gdb reports the stop. */
static void interrupt_gdb(pid_t gdb, const char *log_path, const char *marker)
{
	ck_assert_msg(wait_for_text(log_path, marker),
		      "gdb did not print \"%s\"", marker);
	for (int attempt = 0; attempt < 5; attempt++) {
		gchar *contents = NULL;
		bool stopped;

		usleep(500 * 1000);
		kill(gdb, SIGINT);
		usleep(500 * 1000);
		stopped =
		    g_file_get_contents(log_path, &contents, NULL, NULL) &&
		    strstr(contents, "SIGINT");
		g_free(contents);
		if (stopped)
			return;
	}
}

/* Builds gdb's command line: batch mode, no init files, no debuginfod, a
 * connection to `port`, then one -ex per command, then the guest file. */
static GPtrArray *gdb_command_line(uint16_t port, const char *const *commands,
				   const char *guest)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

	g_ptr_array_add(argv, g_strdup("gdb"));
	g_ptr_array_add(argv, g_strdup("-batch"));
	g_ptr_array_add(argv, g_strdup("-nx"));
	g_ptr_array_add(argv, g_strdup("-iex"));
	g_ptr_array_add(argv, g_strdup("set debuginfod enabled off"));
	g_ptr_array_add(argv, g_strdup("-ex"));
	g_ptr_array_add(argv, g_strdup("set tcp connect-timeout 20"));
	g_ptr_array_add(argv, g_strdup("-ex"));
	g_ptr_array_add(argv,
			g_strdup_printf("target remote 127.0.0.1:%u", port));
	for (size_t i = 0; commands[i]; i++) {
		g_ptr_array_add(argv, g_strdup("-ex"));
		g_ptr_array_add(argv, g_strdup(commands[i]));
	}
	g_ptr_array_add(argv, g_strdup(guest));
	g_ptr_array_add(argv, NULL);
	return argv;
}

static GPtrArray *uhyve_command_line(uint16_t port,
				     const char *const *uhyve_args,
				     const char *guest, const char *guest_arg)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

	g_ptr_array_add(argv, launcher_path());
	g_ptr_array_add(argv, g_strdup_printf("--gdb-port=%u", port));
	for (size_t i = 0; uhyve_args && uhyve_args[i]; i++)
		g_ptr_array_add(argv, g_strdup(uhyve_args[i]));
	g_ptr_array_add(argv, g_strdup(guest));
	if (guest_arg)
		g_ptr_array_add(argv, g_strdup(guest_arg));
	g_ptr_array_add(argv, NULL);
	return argv;
}

/* Runs the debug guest under the launcher with a GDB port and `uhyve_args`
 * and connects gdb to it, which runs `commands` (NULL-terminated). With
 * `interrupt_marker`, sends gdb a SIGINT once it printed that text. */
static void run_session(const char *const *uhyve_args, const char *guest_arg,
			const char *const *commands,
			const char *interrupt_marker, struct session *session)
{
	char *dir = g_dir_make_tmp("uhyve-gdb-XXXXXX", NULL);
	char *gdb_log = g_build_filename(dir, "gdb.log", NULL);
	char *uhyve_log = g_build_filename(dir, "uhyve.log", NULL);
	char *guest = guest_path("debug_v2");
	uint16_t port = free_port();
	GPtrArray *uhyve_argv =
	    uhyve_command_line(port, uhyve_args, guest, guest_arg);
	GPtrArray *gdb_argv = gdb_command_line(port, commands, guest);
	pid_t uhyve;
	pid_t gdb;

	ck_assert_ptr_nonnull(dir);
	uhyve = spawn_logged((char **)uhyve_argv->pdata, uhyve_log);
	gdb = spawn_logged((char **)gdb_argv->pdata, gdb_log);
	if (interrupt_marker)
		interrupt_gdb(gdb, gdb_log, interrupt_marker);
	session->gdb_status = wait_bounded(gdb);
	session->uhyve_status = wait_bounded(uhyve);
	ck_assert(
	    g_file_get_contents(gdb_log, &session->gdb_output, NULL, NULL));
	ck_assert(
	    g_file_get_contents(uhyve_log, &session->guest_output, NULL, NULL));

	unlink(gdb_log);
	unlink(uhyve_log);
	rmdir(dir);
	g_ptr_array_unref(gdb_argv);
	g_ptr_array_unref(uhyve_argv);
	g_free(guest);
	g_free(uhyve_log);
	g_free(gdb_log);
	g_free(dir);
}

/* Checks that gdb printed `text`, showing its whole output otherwise. */
static void expect_gdb(const struct session *session, const char *text)
{
	ck_assert_msg(strstr(session->gdb_output, text),
		      "gdb did not print \"%s\"; it printed:\n%s", text,
		      session->gdb_output);
}

static const char *const no_aslr[] = {"--no-aslr", NULL};

START_TEST(break_on_function)
{
	const char *const commands[] = {
	    "break debug_combine", "continue", "print first", "print second",
	    "info registers rip",  "detach",   NULL,
	};
	struct session session;

	run_session(no_aslr, NULL, commands, NULL, &session);
	expect_gdb(&session, "Breakpoint 1, debug_combine (first=");
	expect_gdb(&session, "$1 = 1\n");
	expect_gdb(&session, "$2 = 1\n");
	expect_gdb(&session, "<debug_combine>");
	expect_gdb(&session, "[Inferior 1 (Remote target) detached]");
	ck_assert_int_eq(session.gdb_status, 0);
	ck_assert_int_eq(session.uhyve_status, DEBUG_EXIT_CODE);
	ck_assert_ptr_nonnull(
	    strstr(session.guest_output, "debug guest total 66\n"));
	session_clear(&session);
}
END_TEST

START_TEST(break_relocated_kernel)
{
	const char *const commands[] = {
	    "break debug_combine",  "continue", "continue", "print combined",
	    "print debug_greeting", NULL,
	};
	struct session session;

	/* Address randomisation on: the symbols follow qOffsets. */
	run_session(NULL, NULL, commands, NULL, &session);
	expect_gdb(&session, "Breakpoint 1, debug_combine (first=");
	expect_gdb(&session, "second=second@entry=2)");
	expect_gdb(&session, "= \"debug guest\"");
	ck_assert_int_eq(session.uhyve_status, DEBUG_EXIT_CODE);
	session_clear(&session);
}
END_TEST

START_TEST(step_through_lines)
{
	const char *const commands[] = {
	    "break debug_combine",
	    "continue",
	    "print/x $pc",
	    "stepi",
	    "print/x $pc",
	    "next",
	    "next",
	    "print combined",
	    NULL,
	};
	struct session session;
	unsigned long long before = 0;
	unsigned long long after = 0;
	const char *first;
	const char *second;

	run_session(no_aslr, NULL, commands, NULL, &session);
	first = strstr(session.gdb_output, "$1 = 0x");
	second = strstr(session.gdb_output, "$2 = 0x");
	ck_assert_ptr_nonnull(first);
	ck_assert_ptr_nonnull(second);
	before = strtoull(first + 5, NULL, 16);
	after = strtoull(second + 5, NULL, 16);
	/* One x86 instruction is 1 to 15 bytes long. */
	ck_assert_uint_gt(after, before);
	ck_assert_uint_le(after, before + 15);
	expect_gdb(&session, "combined += second;");
	expect_gdb(&session, "return combined;");
	/* first * 10 + second with first = second = 1. */
	expect_gdb(&session, "$3 = 11\n");
	ck_assert_int_eq(session.uhyve_status, DEBUG_EXIT_CODE);
	session_clear(&session);
}
END_TEST

START_TEST(memory_read_and_written)
{
	const char *const commands[] = {
	    "break debug_combine",
	    "continue",
	    "print debug_greeting",
	    "x/4xb &debug_greeting",
	    "set var debug_counter = 1000",
	    "print debug_counter",
	    "x/xg 0",
	    "delete",
	    "continue",
	    NULL,
	};
	struct session session;

	run_session(no_aslr, NULL, commands, NULL, &session);
	expect_gdb(&session, "$1 = \"debug guest\"");
	expect_gdb(&session, "0x64\t0x65\t0x62\t0x75");
	expect_gdb(&session, "$2 = 1000\n");
	expect_gdb(&session, "Cannot access memory at address 0x0");
	expect_gdb(&session, "[Inferior 1 (Remote target) exited with code "
			     "052]");
	ck_assert_int_eq(session.uhyve_status, DEBUG_EXIT_CODE);
	session_clear(&session);
}
END_TEST

START_TEST(watchpoint_sees_changes)
{
	const char *const commands[] = {
	    "watch debug_counter",
	    "continue",
	    "continue",
	    "delete",
	    "continue",
	    NULL,
	};
	struct session session;

	run_session(no_aslr, NULL, commands, NULL, &session);
	expect_gdb(&session, "Hardware watchpoint 1: debug_counter");
	expect_gdb(&session, "Old value = 0\nNew value = 1\n");
	expect_gdb(&session, "Old value = 1\nNew value = 2\n");
	expect_gdb(&session, "exited with code 052");
	ck_assert_int_eq(session.uhyve_status, DEBUG_EXIT_CODE);
	session_clear(&session);
}
END_TEST

/* Returns how often `text` occurs in what gdb printed. */
static unsigned count_gdb(const struct session *session, const char *text)
{
	unsigned count = 0;

	for (const char *at = strstr(session->gdb_output, text); at;
	     at = strstr(at + 1, text))
		count++;
	return count;
}

START_TEST(read_watchpoint_sees_reads)
{
	const char *const commands[] = {
	    "rwatch debug_increment",
	    "continue",
	    "continue",
	    "delete",
	    "continue",
	    NULL,
	};
	const char *hit = "Hardware read watchpoint 1: debug_increment\n\n"
			  "Value = 1\n";
	struct session session;

	run_session(no_aslr, NULL, commands, NULL, &session);
	expect_gdb(&session, "Hardware read watchpoint 1: debug_increment");
	/* The guest reads debug_increment once in each of its rounds. */
	ck_assert_uint_eq(count_gdb(&session, hit), 2);
	expect_gdb(&session, "exited with code 052");
	ck_assert_int_eq(session.uhyve_status, DEBUG_EXIT_CODE);
	session_clear(&session);
}
END_TEST

START_TEST(access_watchpoint_sees_both)
{
	const char *const commands[] = {
	    "awatch debug_counter",
	    "continue",
	    "continue",
	    "continue",
	    "delete",
	    "continue",
	    NULL,
	};
	struct session session;

	run_session(no_aslr, NULL, commands, NULL, &session);
	/* Each round reads debug_counter, then writes the sum back. */
	expect_gdb(&session, "Hardware access (read/write) watchpoint 1: "
			     "debug_counter\n\nValue = 0\n");
	expect_gdb(&session, "Hardware access (read/write) watchpoint 1: "
			     "debug_counter\n\nOld value = 0\nNew value = 1\n");
	expect_gdb(&session, "Hardware access (read/write) watchpoint 1: "
			     "debug_counter\n\nValue = 1\n");
	expect_gdb(&session, "exited with code 052");
	ck_assert_int_eq(session.uhyve_status, DEBUG_EXIT_CODE);
	session_clear(&session);
}
END_TEST

START_TEST(hardware_breakpoint_hits)
{
	const char *const commands[] = {
	    "hbreak debug_combine", "continue", "print first", "detach", NULL,
	};
	struct session session;

	run_session(no_aslr, NULL, commands, NULL, &session);
	expect_gdb(&session, "Hardware assisted breakpoint 1 at");
	expect_gdb(&session, "Breakpoint 1, debug_combine (first=");
	expect_gdb(&session, "$1 = 1\n");
	ck_assert_int_eq(session.uhyve_status, DEBUG_EXIT_CODE);
	session_clear(&session);
}
END_TEST

START_TEST(interrupt_stops_spin)
{
	const char *const commands[] = {
	    "echo continuing\\n",     "continue", "print debug_spin",
	    "set var debug_spin = 0", "continue", NULL,
	};
	struct session session;

	run_session(no_aslr, "spin", commands, "continuing", &session);
	expect_gdb(&session, "received signal SIGINT, Interrupt.");
	expect_gdb(&session, "$1 = 1\n");
	/* The guest leaves its loop after the write and exits. */
	expect_gdb(&session, "exited with code 052");
	ck_assert_int_eq(session.uhyve_status, DEBUG_EXIT_CODE);
	session_clear(&session);
}
END_TEST

START_TEST(vcpus_listed_as_threads)
{
	static const char *const two_vcpus[] = {"--no-aslr", "-c", "2", NULL};
	const char *const commands[] = {
	    "info threads", "thread 2", "print $rsi", "detach", NULL,
	};
	struct session session;

	run_session(two_vcpus, NULL, commands, NULL, &session);
	expect_gdb(&session, "Thread 1 (vCPU 0)");
	expect_gdb(&session, "Thread 2 (vCPU 1)");
	expect_gdb(&session, "[Switching to thread 2 (Thread 2)]");
	/* rsi contains the vCPU number at entry. */
	expect_gdb(&session, "$1 = 1\n");
	ck_assert_int_eq(session.uhyve_status, DEBUG_EXIT_CODE);
	session_clear(&session);
}
END_TEST

START_TEST(detach_lets_guest_finish)
{
	const char *const commands[] = {
	    "break debug_combine",
	    "continue",
	    "detach",
	    NULL,
	};
	struct session session;

	run_session(no_aslr, NULL, commands, NULL, &session);
	expect_gdb(&session, "[Inferior 1 (Remote target) detached]");
	ck_assert_int_eq(session.uhyve_status, DEBUG_EXIT_CODE);
	ck_assert_str_eq(session.guest_output, "debug guest total 66\n");
	session_clear(&session);
}
END_TEST

START_TEST(exit_reported_to_gdb)
{
	const char *const commands[] = {"continue", NULL};
	struct session session;

	run_session(no_aslr, NULL, commands, NULL, &session);
	expect_gdb(&session, "[Inferior 1 (Remote target) exited with code "
			     "052]");
	ck_assert_int_eq(session.gdb_status, 0);
	ck_assert_int_eq(session.uhyve_status, DEBUG_EXIT_CODE);
	session_clear(&session);
}
END_TEST

START_TEST(kill_ends_run)
{
	const char *const commands[] = {
	    "break debug_combine",
	    "continue",
	    "kill",
	    NULL,
	};
	struct session session;

	run_session(no_aslr, NULL, commands, NULL, &session);
	expect_gdb(&session, "[Inferior 1 (Remote target) killed]");
	ck_assert_int_eq(session.uhyve_status, LAUNCHER_FAILURE);
	ck_assert_ptr_nonnull(strstr(session.guest_output,
				     "uhyve: error: the run was stopped\n"));
	session_clear(&session);
}
END_TEST

/* Skips the tests when gdb is not installed. */
static void require_gdb(void)
{
	char *gdb = g_find_program_in_path("gdb");

	if (!gdb) {
		printf("SKIP: gdb is not installed (apt-get install gdb)\n");
		exit(TEST_SKIP_STATUS);
	}
	g_free(gdb);
}

static Suite *gdb_suite(void)
{
	Suite *suite = suite_create("gdb");
	TCase *sessions = tcase_create("sessions");

	tcase_set_timeout(sessions, 120);
	tcase_add_test(sessions, break_on_function);
	tcase_add_test(sessions, break_relocated_kernel);
	tcase_add_test(sessions, step_through_lines);
	tcase_add_test(sessions, memory_read_and_written);
	tcase_add_test(sessions, watchpoint_sees_changes);
	tcase_add_test(sessions, read_watchpoint_sees_reads);
	tcase_add_test(sessions, access_watchpoint_sees_both);
	tcase_add_test(sessions, hardware_breakpoint_hits);
	tcase_add_test(sessions, interrupt_stops_spin);
	tcase_add_test(sessions, vcpus_listed_as_threads);
	tcase_add_test(sessions, detach_lets_guest_finish);
	tcase_add_test(sessions, exit_reported_to_gdb);
	tcase_add_test(sessions, kill_ends_run);
	suite_add_tcase(suite, sessions);
	return suite;
}

int main(void)
{
	SRunner *runner;
	int failed;

	require_kvm();
	require_gdb();
	runner = srunner_create(gdb_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
