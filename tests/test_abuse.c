/* End-to-end abuse tests: hostile guests on real vCPUs, after which the host
 * process must still be healthy. */
/*
 * Each test runs one abusive guest and then checks the host process: it
 * has as many descriptors and threads as before, and a new VM in the same
 * process boots hello_v2. Check runs every test in a forked child, so a
 * test may redirect its standard input and output or lower its descriptor
 * limit without affecting the others.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "uhyve/uhyve.h"

#include "guest_files.h"
#include "test_common.h"

#define MIB (1ULL << 20)

/* Guest memory of the flood tests, and how much the host's peak resident
 * memory may grow during a flood: the guest memory it touches plus a
 * margin that is far below the amount flooded. */
#define FLOOD_MEMORY_SIZE   (32 * MIB)
#define FLOOD_RSS_LIMIT_KIB ((FLOOD_MEMORY_SIZE + 32 * MIB) / 1024)
#define FLOOD_MIB	    256
#define FLOOD_FILE_MIB	    64
/* What flood.c writes after the MiB chunks. */
#define FLOOD_SINGLE_BYTES 4096
#define FLOOD_TRAILER	   "\nflood done\n"

/* Descriptors left free above those open when the limit test starts. */
#define LOW_FD_HEADROOM 64

/* How long an exit_race run may take, although its guest exits as soon as
 * vCPU 1 is busy, and when the stdin test unblocks a host stuck in read()
 * so that the test fails instead of hanging. */
#define EXIT_DEADLINE_SECONDS 5
#define UNBLOCK_STDIN_SECONDS 15

/* One guest run: what to start and what came back. */
struct guest_run {
	const char *guest;
	const char *arg; /* first kernel argument, or NULL */
	uint32_t cpu_count;
	uint64_t memory_size; /* 0 for the default */
	enum uhyve_output_kind output_kind;
	const char *output_path;
	const char *mount_host; /* mapped at mount_guest, or NULL */
	const char *mount_guest;
	const char *tempdir;

	int create_rc;
	int run_rc;
	int exit_code;
	char *output; /* UHYVE_OUTPUT_BUFFER only, NUL-terminated */
	char *error;
	/* The peak resident memory during the run minus the resident memory
	 * before uhyve_vm_create(). */
	long peak_growth_kib;
	double seconds; /* uhyve_vm_run() alone */
};

/* Descriptors and threads of this process. */
struct host_state {
	int fds;
	int threads;
};

static int count_entries(const char *path)
{
	GDir *dir = g_dir_open(path, 0, NULL);
	int count = 0;

	ck_assert_ptr_nonnull(dir);
	while (g_dir_read_name(dir))
		count++;
	g_dir_close(dir);
	return count;
}

static struct host_state host_state_now(void)
{
	/* GDir keeps one descriptor open while it lists /proc/self/fd. */
	struct host_state state = {count_entries("/proc/self/fd") - 1,
				   count_entries("/proc/self/task")};

	return state;
}

/* Returns a "VmRSS"-style field of /proc/self/status in KiB. */
static long status_kib(const char *field)
{
	char *status = NULL;
	const char *line;
	long value;

	ck_assert(
	    g_file_get_contents("/proc/self/status", &status, NULL, NULL));
	line = strstr(status, field);
	ck_assert_ptr_nonnull(line);
	value = strtol(line + strlen(field) + 1, NULL, 10);
	g_free(status);
	return value;
}

/* Makes VmHWM start again from the current resident size. */
static void reset_peak_rss(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "5", 1), 1);
	close(fd);
}

static double now_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static struct uhyve_config *config_for(const struct guest_run *run)
{
	struct uhyve_config *config = uhyve_config_new();

	if (run->arg)
		uhyve_config_add_kernel_arg(config, run->arg, NULL);
	if (run->cpu_count)
		uhyve_config_set_cpu_count(config, run->cpu_count, NULL);
	if (run->memory_size)
		uhyve_config_set_memory_size(config, run->memory_size, NULL);
	if (run->tempdir)
		uhyve_config_set_tempdir(config, run->tempdir, NULL);
	uhyve_config_set_output(config, run->output_kind, run->output_path,
				NULL);
	return config;
}

/* Boots run->guest and fills in the results. */
static void run_guest(struct guest_run *run)
{
	struct uhyve_config *config = config_for(run);
	char *path = guest_path(run->guest);
	struct uhyve_vm *vm = NULL;
	long rss_before = status_kib("VmRSS:");
	double start;

	run->exit_code = -1000;
	run->create_rc = uhyve_vm_create(config, path, &vm, &run->error);
	g_free(path);
	uhyve_config_free(config);
	if (run->create_rc)
		return;
	if (run->mount_host)
		ck_assert_int_eq(
		    uhyve_vm_mount(vm, run->mount_host, run->mount_guest, NULL),
		    0);

	reset_peak_rss();
	start = now_seconds();
	run->run_rc = uhyve_vm_run(vm, &run->exit_code, &run->error);
	run->seconds = now_seconds() - start;
	run->peak_growth_kib = status_kib("VmHWM:") - rss_before;
	if (run->output_kind == UHYVE_OUTPUT_BUFFER) {
		size_t len = 0;
		const uint8_t *output = uhyve_vm_output(vm, &len);

		run->output = g_strndup((const char *)output, len);
	}
	uhyve_vm_destroy(vm);
}

static void guest_run_clear(struct guest_run *run)
{
	g_free(run->output);
	free(run->error);
	run->output = NULL;
	run->error = NULL;
}

/* Checks that the process has the descriptors and threads of `before`
 * and that a new VM boots and prints its greeting. */
static void check_host_healthy(const struct host_state *before)
{
	struct host_state after = host_state_now();
	struct guest_run hello = {.guest = "hello_v2",
				  .output_kind = UHYVE_OUTPUT_BUFFER};

	ck_assert_int_eq(after.fds, before->fds);
	ck_assert_int_eq(after.threads, before->threads);
	run_guest(&hello);
	ck_assert_int_eq(hello.create_rc, 0);
	ck_assert_int_eq(hello.run_rc, 0);
	ck_assert_int_eq(hello.exit_code, 0);
	ck_assert_ptr_nonnull(strstr(hello.output, "Hello from the v2 guest!"));
	guest_run_clear(&hello);
}

/* The directory below which the tests of one test case make their scratch
 * directories. An unchecked fixture creates it before the forked tests run
 * and removes it afterwards, with whatever a failed test left there. */
static char *scratch_root;

static void make_scratch_root(void)
{
	scratch_root = g_dir_make_tmp("uhyve-abuse-XXXXXX", NULL);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_scratch_root(void)
{
	if (scratch_root)
		nftw(scratch_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	g_free(scratch_root);
	scratch_root = NULL;
}

/* Makes a scratch directory with the file "input.txt" in it and returns
 * its path (g_free). */
static char *make_scratch_dir(void)
{
	char *dir;
	char *file;

	ck_assert_ptr_nonnull(scratch_root);
	dir = g_build_filename(scratch_root, "test-XXXXXX", NULL);
	ck_assert_ptr_nonnull(g_mkdtemp(dir));
	file = g_build_filename(dir, "input.txt", NULL);
	ck_assert(g_file_set_contents(file, "abuse input\n", -1, NULL));
	g_free(file);
	return dir;
}

/* Removes the scratch directory, which must contain only input.txt, the
 * files listed and the VM's emptied per-user temporary directory. */
static void remove_scratch_dir(char *dir, const char *const *files)
{
	char *path = g_build_filename(dir, "input.txt", NULL);

	ck_assert_int_eq(unlink(path), 0);
	g_free(path);
	for (size_t i = 0; files && files[i]; i++) {
		path = g_build_filename(dir, files[i], NULL);
		ck_assert_int_eq(unlink(path), 0);
		g_free(path);
	}
	path = g_strdup_printf("%s/uhyve-%u", dir, (unsigned)getuid());
	if (access(path, F_OK) == 0)
		ck_assert_int_eq(rmdir(path), 0);
	g_free(path);
	ck_assert_int_eq(rmdir(dir), 0);
	g_free(dir);
}

static const char *const flood_guests[] = {"flood_v1", "flood_v2"};

START_TEST(flood_discarded_memory_bounded)
{
	struct host_state before = host_state_now();
	char mib[16];
	struct guest_run run = {.guest = flood_guests[_i],
				.arg = mib,
				.memory_size = FLOOD_MEMORY_SIZE,
				.output_kind = UHYVE_OUTPUT_NONE};

	snprintf(mib, sizeof(mib), "%d", FLOOD_MIB);
	run_guest(&run);
	ck_assert_int_eq(run.create_rc, 0);
	ck_assert_int_eq(run.run_rc, 0);
	ck_assert_int_eq(run.exit_code, 0);
	ck_assert_int_lt(run.peak_growth_kib, FLOOD_RSS_LIMIT_KIB);
	guest_run_clear(&run);
	check_host_healthy(&before);
}
END_TEST

START_TEST(flood_file_gets_everything)
{
	struct host_state before = host_state_now();
	char *dir = make_scratch_dir();
	char *output = g_build_filename(dir, "output.txt", NULL);
	const char *const created[] = {"output.txt", NULL};
	char mib[16];
	struct guest_run run = {.guest = flood_guests[_i],
				.arg = mib,
				.memory_size = FLOOD_MEMORY_SIZE,
				.output_kind = UHYVE_OUTPUT_FILE,
				.output_path = output};
	char tail[sizeof(FLOOD_TRAILER) - 1];
	struct stat st;
	int fd;

	snprintf(mib, sizeof(mib), "%d", FLOOD_FILE_MIB);
	run_guest(&run);
	ck_assert_int_eq(run.run_rc, 0);
	ck_assert_int_eq(run.exit_code, 0);
	ck_assert_int_lt(run.peak_growth_kib, FLOOD_RSS_LIMIT_KIB);

	ck_assert_int_eq(stat(output, &st), 0);
	ck_assert_int_eq(st.st_size, FLOOD_FILE_MIB * MIB + FLOOD_SINGLE_BYTES +
					 strlen(FLOOD_TRAILER));
	fd = open(output, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(
	    pread(fd, tail, sizeof(tail), st.st_size - (off_t)sizeof(tail)),
	    sizeof(tail));
	ck_assert_int_eq(memcmp(tail, FLOOD_TRAILER, sizeof(tail)), 0);
	close(fd);

	guest_run_clear(&run);
	g_free(output);
	remove_scratch_dir(dir, created);
	check_host_healthy(&before);
}
END_TEST

/* Reads a pipe slowly to the end, so that the writer must wait. */
struct slow_reader {
	int fd;
	uint64_t bytes;
	char tail[sizeof(FLOOD_TRAILER) - 1]; /* the last bytes read */
	size_t tail_len;
};

static void *read_slowly(void *opaque)
{
	struct slow_reader *reader = opaque;
	static char buffer[64 * 1024];
	ssize_t n;

	while ((n = read(reader->fd, buffer, sizeof(buffer))) > 0) {
		size_t size = sizeof(reader->tail);
		size_t keep = (size_t)n < size ? (size_t)n : size;
		size_t retain = reader->tail_len < size - keep
				    ? reader->tail_len
				    : size - keep;

		memmove(reader->tail, reader->tail + reader->tail_len - retain,
			retain);
		memcpy(reader->tail + retain, buffer + n - keep, keep);
		reader->tail_len = retain + keep;
		reader->bytes += (uint64_t)n;
		usleep(20);
	}
	return NULL;
}

START_TEST(flood_pipe_applies_backpressure)
{
	struct host_state before = host_state_now();
	struct slow_reader reader = {0};
	char mib[16];
	struct guest_run run = {.guest = flood_guests[_i],
				.arg = mib,
				.memory_size = FLOOD_MEMORY_SIZE,
				.output_kind = UHYVE_OUTPUT_STDOUT};
	pthread_t thread;
	int pipe_fds[2];
	int saved_stdout = dup(STDOUT_FILENO);

	snprintf(mib, sizeof(mib), "%d", FLOOD_MIB);
	ck_assert_int_eq(pipe2(pipe_fds, O_CLOEXEC), 0);
	ck_assert_int_eq(dup2(pipe_fds[1], STDOUT_FILENO), STDOUT_FILENO);
	close(pipe_fds[1]);
	reader.fd = pipe_fds[0];
	pthread_create(&thread, NULL, read_slowly, &reader);

	run_guest(&run);
	/* Closing the last write end ends the reader. */
	dup2(saved_stdout, STDOUT_FILENO);
	close(saved_stdout);
	pthread_join(thread, NULL);
	close(pipe_fds[0]);

	ck_assert_int_eq(run.run_rc, 0);
	ck_assert_int_eq(run.exit_code, 0);
	ck_assert_int_lt(run.peak_growth_kib, FLOOD_RSS_LIMIT_KIB);
	ck_assert_uint_eq(reader.bytes, FLOOD_MIB * MIB + FLOOD_SINGLE_BYTES +
					    strlen(FLOOD_TRAILER));
	ck_assert_uint_eq(reader.tail_len, sizeof(reader.tail));
	ck_assert_int_eq(memcmp(reader.tail, FLOOD_TRAILER, reader.tail_len),
			 0);
	guest_run_clear(&run);
	check_host_healthy(&before);
}
END_TEST

static const char *const fd_guests[] = {"fd_exhaust_v1", "fd_exhaust_v2"};

START_TEST(descriptor_table_fills_cleanly)
{
	struct host_state before = host_state_now();
	char *dir = make_scratch_dir();
	char *input = g_build_filename(dir, "input.txt", NULL);
	char *expected = g_strdup_printf("opened %d\nerror %d\nclose failures "
					 "0\nreopened 3\n",
					 GUEST_FILES_MAX_OPEN, -EMFILE);
	struct guest_run run = {.guest = fd_guests[_i],
				.arg = "/data/input.txt",
				.output_kind = UHYVE_OUTPUT_BUFFER,
				.mount_host = input,
				.mount_guest = "/data/input.txt",
				.tempdir = dir};
	struct rlimit limit;

	/* The host limit must not be what stops the guest. */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &limit), 0);
	ck_assert_uint_ge(limit.rlim_max,
			  GUEST_FILES_MAX_OPEN + 2 * LOW_FD_HEADROOM);
	limit.rlim_cur = limit.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &limit), 0);

	run_guest(&run);
	ck_assert_int_eq(run.run_rc, 0);
	ck_assert_int_eq(run.exit_code, 0);
	ck_assert_str_eq(run.output, expected);
	guest_run_clear(&run);
	g_free(expected);
	g_free(input);
	remove_scratch_dir(dir, NULL);
	check_host_healthy(&before);
}
END_TEST

/* With the process's own descriptor limit lower than the guest's table,
 * the host's open fails first and the guest gets that error. */
START_TEST(host_fd_limit_reached)
{
	struct host_state before = host_state_now();
	char *dir = make_scratch_dir();
	char *input = g_build_filename(dir, "input.txt", NULL);
	struct guest_run run = {.guest = "fd_exhaust_v2",
				.arg = "/data/input.txt",
				.output_kind = UHYVE_OUTPUT_BUFFER,
				.mount_host = input,
				.mount_guest = "/data/input.txt",
				.tempdir = dir};
	struct rlimit saved;
	struct rlimit low;
	int opened = -1;
	int error = 0;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = (rlim_t)before.fds + LOW_FD_HEADROOM;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	run_guest(&run);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);

	ck_assert_int_eq(run.run_rc, 0);
	ck_assert_int_eq(run.exit_code, 0);
	ck_assert_int_eq(
	    sscanf(run.output, "opened %d\nerror %d", &opened, &error), 2);
	ck_assert_int_gt(opened, 0);
	ck_assert_int_lt(opened, LOW_FD_HEADROOM);
	ck_assert_int_eq(error, -EMFILE);
	ck_assert_ptr_nonnull(strstr(run.output, "close failures 0\n"));
	ck_assert_ptr_nonnull(strstr(run.output, "reopened 3\n"));
	guest_run_clear(&run);
	g_free(input);
	remove_scratch_dir(dir, NULL);
	check_host_healthy(&before);
}
END_TEST

/* The lines huge_write.c prints, per interface version. Interface v1
 * FileWrite has no result field, and v1 FileLseek reports every failure
 * as -1. */
static const char huge_expected_v1[] =
    "open: ret=0\n"
    "write of all guest memory: survived\n"
    "write one byte past memory: survived\n"
    "write of UINT64_MAX bytes: survived\n"
    "write of 1 TiB: survived\n"
    "write from an unmapped address: survived\n"
    "lseek to the start: ret=0\n"
    "read one byte past memory: ret=-14\n"
    "read of UINT64_MAX bytes: ret=-14\n"
    "read into an unmapped address: ret=-14\n"
    "lseek to a negative offset: ret=-1\n"
    "lseek with an invalid whence: ret=-1\n"
    "close: ret=0\n"
    "huge done\n";

static const char huge_expected_v2[] =
    "open: ret=0\n"
    "write of all guest memory: ret=67108864\n"
    "write one byte past memory: ret=-14\n"
    "write of UINT64_MAX bytes: ret=-14\n"
    "write of 1 TiB: ret=-14\n"
    "write from an unmapped address: ret=-14\n"
    "lseek to the start: ret=0\n"
    "read one byte past memory: ret=-14\n"
    "read of UINT64_MAX bytes: ret=-14\n"
    "read into an unmapped address: ret=-14\n"
    "lseek to a negative offset: ret=-22\n"
    "lseek with an invalid whence: ret=-22\n"
    "close: ret=0\n"
    "huge done\n";

START_TEST(huge_lengths_rejected)
{
	const char *guests[] = {"huge_write_v1", "huge_write_v2"};
	const char *expected[] = {huge_expected_v1, huge_expected_v2};
	struct host_state before = host_state_now();
	char *dir = make_scratch_dir();
	struct guest_run run = {.guest = guests[_i],
				.output_kind = UHYVE_OUTPUT_BUFFER,
				.tempdir = dir};

	run_guest(&run);
	ck_assert_int_eq(run.run_rc, 0);
	ck_assert_int_eq(run.exit_code, 0);
	ck_assert_str_eq(run.output, expected[_i]);
	guest_run_clear(&run);
	remove_scratch_dir(dir, NULL);
	check_host_healthy(&before);
}
END_TEST

START_TEST(shared_descriptor_survives_races)
{
	struct host_state before = host_state_now();
	char *dir = make_scratch_dir();
	struct guest_run run = {.guest = "concurrent",
				.cpu_count = 4,
				.output_kind = UHYVE_OUTPUT_BUFFER,
				.tempdir = dir};

	run_guest(&run);
	ck_assert_int_eq(run.run_rc, 0);
	ck_assert_int_eq(run.exit_code, 0);
	/* 4 vCPUs times 32 records each. */
	ck_assert_str_eq(run.output, "records 128\nmalformed 0\n"
				     "phase 1 failures 0\nclose 0\n"
				     "race failures 0\n");
	guest_run_clear(&run);
	remove_scratch_dir(dir, NULL);
	check_host_healthy(&before);
}
END_TEST

START_TEST(exit_during_file_write)
{
	struct host_state before = host_state_now();
	char *dir = make_scratch_dir();
	struct guest_run run = {.guest = "exit_race",
				.arg = "file",
				.cpu_count = 2,
				.output_kind = UHYVE_OUTPUT_BUFFER,
				.tempdir = dir};

	run_guest(&run);
	ck_assert_int_eq(run.run_rc, 0);
	ck_assert_int_eq(run.exit_code, 7);
	ck_assert_str_eq(run.output, "exiting\n");
	ck_assert(run.seconds < EXIT_DEADLINE_SECONDS);
	guest_run_clear(&run);
	remove_scratch_dir(dir, NULL);
	check_host_healthy(&before);
}
END_TEST

/* Writes to the pipe behind standard input after UNBLOCK_STDIN_SECONDS. */
static void *unblock_stdin_later(void *opaque)
{
	int fd = *(int *)opaque;

	sleep(UNBLOCK_STDIN_SECONDS);
	if (write(fd, "late input\n", 11) < 0)
		return NULL;
	return NULL;
}

/* Guest modes that leave vCPU 1 waiting in a read of the host's standard
 * input: FileRead of descriptor 0 and SerialReadBuffer. */
static const char *const stdin_modes[] = {"stdin", "serial"};

START_TEST(exit_during_stdin_read)
{
	struct host_state before = host_state_now();
	struct guest_run run = {.guest = "exit_race",
				.arg = stdin_modes[_i],
				.cpu_count = 2,
				.output_kind = UHYVE_OUTPUT_BUFFER};
	int saved_stdin = dup(STDIN_FILENO);
	pthread_t thread;
	int pipe_fds[2];

	/* Standard input is a pipe that stays open and empty. */
	ck_assert_int_eq(pipe2(pipe_fds, O_CLOEXEC), 0);
	ck_assert_int_eq(dup2(pipe_fds[0], STDIN_FILENO), STDIN_FILENO);
	close(pipe_fds[0]);
	pthread_create(&thread, NULL, unblock_stdin_later, &pipe_fds[1]);

	run_guest(&run);
	ck_assert_int_eq(run.run_rc, 0);
	ck_assert_int_eq(run.exit_code, 7);
	ck_assert(run.seconds < EXIT_DEADLINE_SECONDS);

	pthread_cancel(thread);
	pthread_join(thread, NULL);
	dup2(saved_stdin, STDIN_FILENO);
	close(saved_stdin);
	close(pipe_fds[1]);
	guest_run_clear(&run);
	check_host_healthy(&before);
}
END_TEST

static Suite *abuse_suite(void)
{
	Suite *suite = suite_create("abuse");
	TCase *flood = tcase_create("flood");
	TCase *files = tcase_create("files");
	TCase *races = tcase_create("races");

	tcase_add_unchecked_fixture(flood, make_scratch_root,
				    remove_scratch_root);
	tcase_set_timeout(flood, 120);
	tcase_add_loop_test(flood, flood_discarded_memory_bounded, 0, 2);
	tcase_add_loop_test(flood, flood_file_gets_everything, 0, 2);
	tcase_add_loop_test(flood, flood_pipe_applies_backpressure, 0, 2);
	suite_add_tcase(suite, flood);

	tcase_add_unchecked_fixture(files, make_scratch_root,
				    remove_scratch_root);
	tcase_set_timeout(files, 120);
	tcase_add_loop_test(files, descriptor_table_fills_cleanly, 0, 2);
	tcase_add_test(files, host_fd_limit_reached);
	tcase_add_loop_test(files, huge_lengths_rejected, 0, 2);
	suite_add_tcase(suite, files);

	tcase_add_unchecked_fixture(races, make_scratch_root,
				    remove_scratch_root);
	tcase_set_timeout(races, 120);
	tcase_add_test(races, shared_descriptor_survives_races);
	tcase_add_test(races, exit_during_file_write);
	tcase_add_loop_test(races, exit_during_stdin_read, 0, 2);
	suite_add_tcase(suite, races);
	return suite;
}

int main(void)
{
	SRunner *runner;
	int failed;

	require_kvm();
	runner = srunner_create(abuse_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
