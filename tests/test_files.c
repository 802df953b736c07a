/* Tests of guest files, temporary directories, Landlock and archives. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uhyve/hermit_abi.h"
#include "uhyve/uhyve.h"

#include "guest_files.h"
#include "image_archive.h"
#include "landlock.h"
#include "uhyve_private.h"

#include "test_common.h"

/* EACCES as the guest receives it: Linux's errno value, negated. */
#define GUEST_EACCES "-13"

/*
 * Helpers: temporary trees, files and processes
 */

static char *make_temp_dir(void)
{
	char *dir = g_dir_make_tmp("uhyve-files-XXXXXX", NULL);

	ck_assert_ptr_nonnull(dir);
	return dir;
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes `text` to `dir`/`relative`, creating the directories above it. */
static char *write_text(const char *dir, const char *relative, const char *text)
{
	char *path = g_build_filename(dir, relative, NULL);
	char *parent = g_path_get_dirname(path);

	ck_assert_int_eq(g_mkdir_with_parents(parent, 0755), 0);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	g_free(parent);
	return path;
}

/* Returns the contents of `path` (g_free), or NULL when it cannot be read. */
static char *read_text(const char *path)
{
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	return text;
}

static char *user_dir_of(const char *base)
{
	return g_strdup_printf("%s/uhyve-%u", base, (unsigned)getuid());
}

/* Runs a command and fails the test unless it exits with status 0. */
static void spawn(const char *const *argv)
{
	int status = -1;
	char *errors = NULL;

	ck_assert_msg(
	    g_spawn_sync(NULL, (char **)argv, NULL,
			 G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
			 NULL, NULL, &errors, &status, NULL),
	    "cannot run %s", argv[0]);
	ck_assert_msg(g_spawn_check_wait_status(status, NULL), "%s failed: %s",
		      argv[0], errors);
	g_free(errors);
}

static struct guest_file *host_file_of(struct guest_files *files, int fd)
{
	ck_assert_int_ge(fd, 3);
	return files->open->pdata[fd - 3];
}

/* Returns whether the running kernel offers Landlock. */
static bool have_landlock(void)
{
	return landlock_abi_version() > 0;
}

/* Makes landlock_create_ruleset fail with ENOSYS in this process from now
 * on, as on a kernel built without Landlock. Check runs every test in a
 * child process of its own, so the filter ends with the test. */
static void hide_landlock(void)
{
	struct sock_filter filter[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		     offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		     offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_landlock_create_ruleset, 0,
		     1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog program = {
	    .len = G_N_ELEMENTS(filter),
	    .filter = filter,
	};

	ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program),
			 0);
}

/*
 * Helpers: running the fileops guest
 */

struct mount {
	const char *host;
	const char *guest;
};

struct vm_result {
	int create_rc;
	int mount_rc;
	int run_rc;
	int exit_code;
	char *output;
	char *error;
};

static void vm_result_clear(struct vm_result *result)
{
	g_free(result->output);
	free(result->error);
	memset(result, 0, sizeof(*result));
}

/* Adds the NULL-terminated `commands` as kernel arguments. */
static void add_commands(struct uhyve_config *config,
			 const char *const *commands)
{
	for (size_t i = 0; commands[i]; i++)
		ck_assert_int_eq(
		    uhyve_config_add_kernel_arg(config, commands[i], NULL), 0);
}

/* Creates a VM for `kernel` with `config`, maps `mounts` (ended by a NULL
 * host path), runs it with output captured in memory and destroys it. */
static void run_vm(struct uhyve_config *config, const char *kernel,
		   const struct mount *mounts, struct vm_result *result)
{
	struct uhyve_vm *vm = NULL;
	const uint8_t *output;
	size_t len = 0;

	memset(result, 0, sizeof(*result));
	result->exit_code = -1000;
	uhyve_config_set_output(config, UHYVE_OUTPUT_BUFFER, NULL, NULL);
	result->create_rc =
	    uhyve_vm_create(config, kernel, &vm, &result->error);
	if (result->create_rc)
		return;
	for (size_t i = 0; mounts && mounts[i].host && !result->mount_rc; i++)
		result->mount_rc = uhyve_vm_mount(
		    vm, mounts[i].host, mounts[i].guest, &result->error);
	if (result->mount_rc == 0)
		result->run_rc =
		    uhyve_vm_run(vm, &result->exit_code, &result->error);
	output = uhyve_vm_output(vm, &len);
	result->output = g_strndup((const char *)output, len);
	uhyve_vm_destroy(vm);
}

/* Runs the built guest `name` and checks that it ran to its end. */
static void run_guest_ok(struct uhyve_config *config, const char *name,
			 const struct mount *mounts, struct vm_result *result)
{
	char *kernel = guest_path(name);

	run_vm(config, kernel, mounts, result);
	g_free(kernel);
	ck_assert_msg(result->create_rc == 0, "create: %s", result->error);
	ck_assert_msg(result->mount_rc == 0, "mount: %s", result->error);
	ck_assert_msg(result->run_rc == 0, "run: %s", result->error);
	ck_assert_int_eq(result->exit_code, 0);
}

/* A configuration for the fileops guest: its temporary directories go
 * below `tempdir`, and address randomisation is off so that the last page
 * of guest memory is mapped for the "offend" command. */
static struct uhyve_config *fileops_config(const char *tempdir,
					   const char *const *commands)
{
	struct uhyve_config *config = uhyve_config_new();

	uhyve_config_set_aslr(config, false);
	ck_assert_int_eq(uhyve_config_set_tempdir(config, tempdir, NULL), 0);
	add_commands(config, commands);
	return config;
}

/*
 * Descriptors, virtual files and host opens (no KVM needed)
 */

START_TEST(io_mode_flags_reach_host)
{
	char *dir = make_temp_dir();
	char *data = write_text(dir, "data/file.txt", "abc");
	char *mapped = g_build_filename(dir, "data", NULL);
	struct guest_files files;
	int flags;
	int fd;

	guest_files_init(&files, dir, O_DIRECT | O_SYNC);
	ck_assert_int_eq(guest_files_mount(&files, mapped, "/data", NULL), 0);
	fd = guest_files_open(&files, "/data/file.txt", HERMIT_O_RDWR, 0);
	flags = fcntl(host_file_of(&files, fd)->host_fd, F_GETFL);
	ck_assert_int_eq(flags & O_DIRECT, O_DIRECT);
	ck_assert_int_eq(flags & O_SYNC, O_SYNC);

	fd = guest_files_open(&files, "/new.txt",
			      HERMIT_O_CREAT | HERMIT_O_WRONLY, 0600);
	flags = fcntl(host_file_of(&files, fd)->host_fd, F_GETFL);
	ck_assert_int_eq(flags & O_DIRECT, O_DIRECT);
	ck_assert_int_eq(flags & O_SYNC, O_SYNC);
	guest_files_destroy(&files);

	guest_files_init(&files, dir, 0);
	ck_assert_int_eq(guest_files_mount(&files, mapped, "/data", NULL), 0);
	fd = guest_files_open(&files, "/data/file.txt", HERMIT_O_RDWR, 0);
	flags = fcntl(host_file_of(&files, fd)->host_fd, F_GETFL);
	ck_assert_int_eq(flags & O_DIRECT, 0);
	ck_assert_int_eq(flags & O_SYNC & ~O_DSYNC, 0);
	guest_files_destroy(&files);

	remove_tree(dir);
	g_free(mapped);
	g_free(data);
	g_free(dir);
}
END_TEST

START_TEST(virtual_file_reads_to_end)
{
	GBytes *bytes = g_bytes_new_static("0123456789", 10);
	struct guest_files files;
	char buffer[16] = {0};
	int fd;

	guest_files_init(&files, "/nonexistent", 0);
	ck_assert_int_eq(
	    guest_files_add_virtual(&files, "/v/a.txt", bytes, NULL), 0);
	fd = guest_files_open(&files, "/v/a.txt", HERMIT_O_RDONLY, 0);
	ck_assert_int_eq(guest_files_read(&files, fd, buffer, 4), 4);
	ck_assert_int_eq(guest_files_read(&files, fd, buffer + 4, 4), 4);
	ck_assert_int_eq(guest_files_read(&files, fd, buffer + 8, 4), 2);
	ck_assert_int_eq(guest_files_read(&files, fd, buffer, 4), 0);
	ck_assert_int_eq(guest_files_read(&files, fd, buffer, 4), 0);
	ck_assert_str_eq(buffer, "0123456789");

	ck_assert_int_eq(guest_files_lseek(&files, fd, -3, SEEK_END), 7);
	memset(buffer, 0, sizeof(buffer));
	ck_assert_int_eq(guest_files_read(&files, fd, buffer, sizeof(buffer)),
			 3);
	ck_assert_str_eq(buffer, "789");
	ck_assert_int_eq(guest_files_lseek(&files, fd, -1, SEEK_SET), -EINVAL);
	ck_assert_int_eq(guest_files_lseek(&files, fd, 0, 7), -EINVAL);
	ck_assert_int_eq(guest_files_write(&files, fd, "x", 1), -EROFS);
	ck_assert_int_eq(guest_files_close(&files, fd), 0);
	ck_assert_int_eq(guest_files_close(&files, fd), -EBADF);
	guest_files_destroy(&files);
	g_bytes_unref(bytes);
}
END_TEST

START_TEST(virtual_file_rejects_writes)
{
	GBytes *bytes = g_bytes_new_static("x", 1);
	struct guest_files files;

	guest_files_init(&files, "/nonexistent", 0);
	ck_assert_int_eq(
	    guest_files_add_virtual(&files, "/v/a.txt", bytes, NULL), 0);
	ck_assert_int_eq(
	    guest_files_open(&files, "/v/a.txt", HERMIT_O_WRONLY, 0), -EROFS);
	ck_assert_int_eq(guest_files_open(&files, "/v/a.txt", HERMIT_O_RDWR, 0),
			 -EROFS);
	ck_assert_int_eq(guest_files_open(&files, "/v/a.txt",
					  HERMIT_O_RDONLY | HERMIT_O_TRUNC, 0),
			 -EROFS);
	ck_assert_int_eq(guest_files_open(&files, "/v/a.txt",
					  HERMIT_O_CREAT | HERMIT_O_EXCL, 0),
			 -EEXIST);
	ck_assert_int_eq(
	    guest_files_open(&files, "/v/a.txt", HERMIT_O_DIRECTORY, 0),
	    -ENOTDIR);
	ck_assert_int_eq(guest_files_open(&files, "/v", HERMIT_O_RDONLY, 0),
			 -EISDIR);
	ck_assert_int_eq(guest_files_unlink(&files, "/v/a.txt"), 0);
	ck_assert_int_eq(
	    guest_files_open(&files, "/v/a.txt", HERMIT_O_RDONLY, 0), -ENOENT);
	guest_files_destroy(&files);
	g_bytes_unref(bytes);
}
END_TEST

START_TEST(create_drops_setuid_bits)
{
	char *dir = make_temp_dir();
	char *created = g_build_filename(dir, "setuid", NULL);
	struct guest_files files;
	struct stat st;
	int fd;

	umask(022);
	guest_files_init(&files, dir, 0);
	ck_assert_int_eq(guest_files_mount(&files, dir, "/data", NULL), 0);
	fd = guest_files_open(&files, "/data/setuid",
			      HERMIT_O_CREAT | HERMIT_O_WRONLY, 06777);
	ck_assert_int_ge(fd, 3);
	ck_assert_int_eq(stat(created, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);

	fd = guest_files_open(&files, "/unmapped",
			      HERMIT_O_CREAT | HERMIT_O_WRONLY, 04700);
	ck_assert_int_eq(fstat(host_file_of(&files, fd)->host_fd, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	guest_files_destroy(&files);

	remove_tree(dir);
	g_free(created);
	g_free(dir);
}
END_TEST

START_TEST(create_directory_flag_rejected)
{
	struct guest_files files;

	guest_files_init(&files, "/nonexistent", 0);
	ck_assert_int_eq(guest_files_open(&files, "/x",
					  HERMIT_O_CREAT | HERMIT_O_DIRECTORY,
					  0700),
			 -EINVAL);
	ck_assert_int_eq(guest_files_open(&files, "/x", HERMIT_O_RDONLY, 0),
			 -ENOENT);
	guest_files_destroy(&files);
}
END_TEST

START_TEST(fifo_open_rejected)
{
	char *dir = make_temp_dir();
	char *fifo = g_build_filename(dir, "fifo", NULL);
	struct guest_files files;

	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	guest_files_init(&files, dir, 0);
	ck_assert_int_eq(guest_files_mount(&files, dir, "/data", NULL), 0);
	/* Without a writer, a blocking open would never return. */
	ck_assert_int_eq(
	    guest_files_open(&files, "/data/fifo", HERMIT_O_RDONLY, 0), -ENXIO);
	guest_files_destroy(&files);
	unlink(fifo);
	remove_tree(dir);
	g_free(fifo);
	g_free(dir);
}
END_TEST

/*
 * Temporary directories (no KVM needed)
 */

START_TEST(tempdir_private_and_removed)
{
	char *base = make_temp_dir();
	char *user_dir = user_dir_of(base);
	struct guest_files files;
	char *tempdir;
	struct stat st;
	int fd;

	guest_files_init(&files, base, 0);
	fd = guest_files_open(&files, "/a/b.txt",
			      HERMIT_O_CREAT | HERMIT_O_RDWR, 0644);
	ck_assert_int_ge(fd, 3);
	ck_assert_int_eq(guest_files_write(&files, fd, "hi", 2), 2);
	tempdir = g_strdup(files.tempdir);
	ck_assert(g_str_has_prefix(tempdir, user_dir));
	ck_assert_int_eq(lstat(user_dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(lstat(tempdir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	guest_files_destroy(&files);

	ck_assert_int_eq(access(tempdir, F_OK), -1);
	ck_assert_int_eq(rmdir(user_dir), 0);
	ck_assert_int_eq(rmdir(base), 0);
	g_free(tempdir);
	g_free(user_dir);
	g_free(base);
}
END_TEST

START_TEST(tempdir_rejects_shared_user_dir)
{
	char *base = make_temp_dir();
	char *user_dir = user_dir_of(base);
	char *error = NULL;
	char *expected = g_strdup_printf(
	    "file isolation: temporary directory %s is writable by other "
	    "users (mode 0777): make it 0700",
	    user_dir);
	struct guest_files files;

	ck_assert_int_eq(mkdir(user_dir, 0700), 0);
	ck_assert_int_eq(chmod(user_dir, 0777), 0);
	guest_files_init(&files, base, 0);
	ck_assert_int_eq(guest_files_open(&files, "/x", HERMIT_O_CREAT, 0600),
			 -EACCES);
	ck_assert_int_eq(guest_files_isolate(&files, 1, "/", NULL, &error),
			 -EACCES);
	ck_assert_str_eq(error, expected);
	guest_files_destroy(&files);

	remove_tree(base);
	free(error);
	g_free(expected);
	g_free(user_dir);
	g_free(base);
}
END_TEST

START_TEST(tempdir_rejects_symlinked_user_dir)
{
	char *base = make_temp_dir();
	char *user_dir = user_dir_of(base);
	char *target = g_build_filename(base, "elsewhere", NULL);
	char *error = NULL;
	char *expected = g_strdup_printf(
	    "file isolation: temporary directory %s is a symbolic link, "
	    "not a directory",
	    user_dir);
	struct guest_files files;

	ck_assert_int_eq(mkdir(target, 0700), 0);
	ck_assert_int_eq(symlink(target, user_dir), 0);
	guest_files_init(&files, base, 0);
	ck_assert_int_eq(guest_files_open(&files, "/x", HERMIT_O_CREAT, 0600),
			 -ENOTDIR);
	ck_assert_int_eq(guest_files_isolate(&files, 1, "/", NULL, &error),
			 -ENOTDIR);
	ck_assert_str_eq(error, expected);
	guest_files_destroy(&files);

	remove_tree(base);
	free(error);
	g_free(expected);
	g_free(target);
	g_free(user_dir);
	g_free(base);
}
END_TEST

START_TEST(tempdir_missing_base_reported)
{
	char *error = NULL;
	char *expected = g_strdup_printf(
	    "file isolation: cannot create the temporary directory "
	    "/nonexistent/base/uhyve-%u: %s",
	    (unsigned)getuid(), strerror(ENOENT));
	struct guest_files files;

	guest_files_init(&files, "/nonexistent/base", 0);
	ck_assert_int_eq(guest_files_open(&files, "/x", HERMIT_O_CREAT, 0600),
			 -ENOENT);
	ck_assert_int_eq(guest_files_isolate(&files, 1, "/", NULL, &error),
			 -ENOENT);
	ck_assert_str_eq(error, expected);
	guest_files_destroy(&files);
	free(error);
	g_free(expected);
}
END_TEST

#define TEMPDIR_PROCESSES 4

/* One process of tempdir_processes_at_once: waits at the gate, creates a
 * file, reports its VM directory on `report` and waits for the release. */
static int tempdir_child(const char *base, int gate, int report, int release)
{
	struct guest_files files;
	char byte;
	char line[PATH_MAX];
	int fd;

	if (read(gate, &byte, 1) != 1)
		return 1;
	guest_files_init(&files, base, 0);
	fd = guest_files_open(&files, "/t.txt", HERMIT_O_CREAT | HERMIT_O_RDWR,
			      0600);
	if (fd < 3 || guest_files_write(&files, fd, "x", 1) != 1)
		return 2;
	snprintf(line, sizeof(line), "%s\n", files.tempdir);
	if (write(report, line, strlen(line)) != (ssize_t)strlen(line))
		return 3;
	if (read(release, &byte, 1) != 1)
		return 4;
	guest_files_destroy(&files);
	return 0;
}

START_TEST(tempdir_processes_at_once)
{
	char *base = make_temp_dir();
	char *user_dir = user_dir_of(base);
	int gate[2], report[2], release[2];
	pid_t children[TEMPDIR_PROCESSES];
	char reports[TEMPDIR_PROCESSES * PATH_MAX] = {0};
	size_t used = 0;
	char **paths;

	ck_assert_int_eq(pipe(gate), 0);
	ck_assert_int_eq(pipe(report), 0);
	ck_assert_int_eq(pipe(release), 0);
	for (int i = 0; i < TEMPDIR_PROCESSES; i++) {
		children[i] = fork();
		ck_assert_int_ge(children[i], 0);
		if (children[i] == 0)
			_exit(tempdir_child(base, gate[0], report[1],
					    release[0]));
	}
	/* All processes start creating at the same moment. */
	ck_assert_int_eq(write(gate[1], "gggg", TEMPDIR_PROCESSES),
			 TEMPDIR_PROCESSES);
	for (int lines = 0; lines < TEMPDIR_PROCESSES;) {
		ssize_t n =
		    read(report[0], reports + used, sizeof(reports) - 1 - used);

		ck_assert_int_gt(n, 0);
		for (ssize_t i = 0; i < n; i++)
			lines += reports[used + i] == '\n';
		used += (size_t)n;
	}

	paths = g_strsplit(g_strstrip(reports), "\n", -1);
	ck_assert_int_eq(g_strv_length(paths), TEMPDIR_PROCESSES);
	for (int i = 0; i < TEMPDIR_PROCESSES; i++) {
		ck_assert(g_str_has_prefix(paths[i], user_dir));
		ck_assert_int_eq(access(paths[i], F_OK), 0);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(paths[i], paths[j]);
	}

	ck_assert_int_eq(write(release[1], "rrrr", TEMPDIR_PROCESSES),
			 TEMPDIR_PROCESSES);
	for (int i = 0; i < TEMPDIR_PROCESSES; i++) {
		int status = -1;

		ck_assert_int_eq(waitpid(children[i], &status, 0), children[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	for (int i = 0; i < TEMPDIR_PROCESSES; i++)
		ck_assert_int_eq(access(paths[i], F_OK), -1);
	ck_assert_int_eq(rmdir(user_dir), 0);
	ck_assert_int_eq(rmdir(base), 0);
	g_strfreev(paths);
	g_free(user_dir);
	g_free(base);
}
END_TEST

/*
 * Landlock (no KVM needed; each test runs in a process of its own)
 */

struct confined_open {
	struct guest_files *files; /* NULL: use ruleset_fd directly */
	int ruleset_fd;
	const char *path; /* guest path with files, host path without */
	bool unlink;	  /* unlinks `path` in `files` instead of opening it */
	int flags;
	int result; /* descriptor or -errno */
	int restrict_rc;
};

static void *open_confined(void *opaque)
{
	struct confined_open *open_case = opaque;

	if (open_case->files) {
		open_case->restrict_rc =
		    guest_files_enter_isolation(open_case->files, NULL);
		if (open_case->unlink)
			open_case->result = guest_files_unlink(open_case->files,
							       open_case->path);
		else
			open_case->result =
			    guest_files_open(open_case->files, open_case->path,
					     open_case->flags, 0644);
		return NULL;
	}
	open_case->restrict_rc =
	    landlock_restrict_thread(open_case->ruleset_fd, NULL);
	open_case->result =
	    open(open_case->path, open_case->flags | O_CLOEXEC, 0644);
	if (open_case->result < 0)
		open_case->result = -errno;
	return NULL;
}

/* Opens in a new thread that confines itself first; this thread stays
 * free. Returns the descriptor or -errno. */
static int open_in_confined_thread(struct confined_open *open_case)
{
	pthread_t thread;

	ck_assert_int_eq(
	    pthread_create(&thread, NULL, open_confined, open_case), 0);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	ck_assert_int_eq(open_case->restrict_rc, 0);
	return open_case->result;
}

START_TEST(landlock_confines_one_thread)
{
	char *dir = make_temp_dir();
	char *allowed_dir = g_build_filename(dir, "allowed", NULL);
	char *allowed = write_text(dir, "allowed/a.txt", "a");
	char *denied = write_text(dir, "denied/b.txt", "b");
	int abi = landlock_abi_version();
	struct confined_open open_case = {.flags = O_RDONLY};
	int fd;

	ck_assert_int_eq(
	    landlock_ruleset_create(abi, &open_case.ruleset_fd, NULL), 0);
	ck_assert_int_eq(landlock_allow_path(open_case.ruleset_fd, abi,
					     allowed_dir,
					     LANDLOCK_RIGHTS_DIRECTORY, NULL),
			 0);
	open_case.path = allowed;
	fd = open_in_confined_thread(&open_case);
	ck_assert_int_ge(fd, 0);
	close(fd);
	open_case.path = denied;
	ck_assert_int_eq(open_in_confined_thread(&open_case), -EACCES);

	/* The thread that built the ruleset is not confined. */
	fd = open(denied, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	close(open_case.ruleset_fd);
	remove_tree(dir);
	g_free(denied);
	g_free(allowed);
	g_free(allowed_dir);
	g_free(dir);
}
END_TEST

START_TEST(landlock_missing_path_reported)
{
	int abi = landlock_abi_version();
	char *error = NULL;
	int ruleset_fd = -1;

	ck_assert_int_eq(landlock_ruleset_create(abi, &ruleset_fd, NULL), 0);
	ck_assert_int_eq(landlock_allow_path(ruleset_fd, abi, "/nonexistent/x",
					     LANDLOCK_RIGHTS_READ, &error),
			 -ENOENT);
	ck_assert_str_eq(error, "cannot open /nonexistent/x for a Landlock "
				"rule: No such file or directory");
	close(ruleset_fd);
	free(error);
}
END_TEST

/* Host files for the isolation tests: a directory to map with a file to
 * read, a file to write and links to a file and a directory outside it, a
 * file to map that does not exist yet and a file to map on its own. */
struct isolation_tree {
	char *base;
	char *data;    /* mapped at /data */
	char *secret;  /* outside/secret.txt */
	char *missing; /* out/result.txt, mapped at /result.txt */
	char *single;  /* single/one.txt, a file to map on its own */
};

static void isolation_tree_make(struct isolation_tree *tree)
{
	char *link;

	tree->base = make_temp_dir();
	tree->data = g_build_filename(tree->base, "data", NULL);
	g_free(write_text(tree->base, "data/in.txt", "mapped content"));
	g_free(write_text(tree->base, "data/rw.txt", "0123456789"));
	tree->secret = write_text(tree->base, "outside/secret.txt", "secret");
	tree->single = write_text(tree->base, "single/one.txt", "single");
	link = g_build_filename(tree->data, "link", NULL);
	ck_assert_int_eq(symlink(tree->secret, link), 0);
	g_free(link);
	link = g_build_filename(tree->data, "linkdir", NULL);
	ck_assert_int_eq(symlink("../outside", link), 0);
	g_free(link);
	link = g_build_filename(tree->base, "out", NULL);
	ck_assert_int_eq(mkdir(link, 0755), 0);
	tree->missing = g_build_filename(link, "result.txt", NULL);
	g_free(link);
}

static void isolation_tree_free(struct isolation_tree *tree)
{
	remove_tree(tree->base);
	g_free(tree->base);
	g_free(tree->data);
	g_free(tree->secret);
	g_free(tree->missing);
	g_free(tree->single);
}

static int open_isolated(struct guest_files *files, const char *path, int flags)
{
	struct confined_open open_case = {
	    .files = files,
	    .path = path,
	    .flags = flags,
	};

	return open_in_confined_thread(&open_case);
}

static int unlink_isolated(struct guest_files *files, const char *path)
{
	struct confined_open open_case = {
	    .files = files,
	    .path = path,
	    .unlink = true,
	};

	return open_in_confined_thread(&open_case);
}

START_TEST(isolation_rules_cover_mappings)
{
	struct isolation_tree tree;
	struct guest_files files;
	char *kernel = guest_path("hello_v2");
	char *text;
	int fd;

	isolation_tree_make(&tree);
	guest_files_init(&files, tree.base, 0);
	ck_assert_int_eq(guest_files_mount(&files, tree.data, "/data", NULL),
			 0);
	ck_assert_int_eq(
	    guest_files_mount(&files, tree.missing, "/result.txt", NULL), 0);
	ck_assert_int_eq(
	    guest_files_mount(&files, tree.single, "/single.txt", NULL), 0);
	ck_assert_int_eq(guest_files_isolate(&files, landlock_abi_version(),
					     kernel, NULL, NULL),
			 0);

	ck_assert_int_ge(open_isolated(&files, "/data/in.txt", HERMIT_O_RDONLY),
			 3);
	ck_assert_int_ge(open_isolated(&files, "/data/new.txt",
				       HERMIT_O_CREAT | HERMIT_O_WRONLY),
			 3);
	ck_assert_int_ge(open_isolated(&files, "/result.txt",
				       HERMIT_O_CREAT | HERMIT_O_WRONLY),
			 3);
	ck_assert_int_ge(open_isolated(&files, "/scratch/t.txt",
				       HERMIT_O_CREAT | HERMIT_O_WRONLY),
			 3);
	ck_assert_int_eq(open_isolated(&files, "/data/link", HERMIT_O_RDONLY),
			 -EACCES);
	ck_assert_int_eq(
	    open_isolated(&files, "/data/linkdir/secret.txt", HERMIT_O_RDONLY),
	    -EACCES);
	ck_assert_int_eq(open_isolated(&files, "/data/link",
				       HERMIT_O_WRONLY | HERMIT_O_TRUNC),
			 -EACCES);
	ck_assert_int_eq(unlink_isolated(&files, "/data/rw.txt"), 0);

	/* Removing a mapped file needs a right on its directory, which the
	 * rules do not give, and the failure keeps the mapping. */
	ck_assert_int_eq(unlink_isolated(&files, "/single.txt"), -EACCES);
	ck_assert_int_ge(open_isolated(&files, "/single.txt", HERMIT_O_RDONLY),
			 3);

	/* The test's own thread is not confined. */
	fd = open(kernel, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	text = read_text(tree.secret);
	ck_assert_str_eq(text, "secret");
	guest_files_destroy(&files);
	g_free(text);
	g_free(kernel);
	isolation_tree_free(&tree);
}
END_TEST

START_TEST(isolation_skips_missing_kernel)
{
	char *base = make_temp_dir();
	struct guest_files files;

	guest_files_init(&files, base, 0);
	ck_assert_int_eq(guest_files_isolate(&files, landlock_abi_version(),
					     "/nonexistent/kernel",
					     "/nonexistent/output", NULL),
			 0);
	ck_assert_int_ge(files.ruleset_fd, 0);
	guest_files_destroy(&files);
	remove_tree(base);
	g_free(base);
}
END_TEST

START_TEST(isolation_missing_mapping_reported)
{
	char *base = make_temp_dir();
	char *mapped = g_build_filename(base, "gone", NULL);
	char *kernel = guest_path("hello_v2");
	char *expected = g_strdup_printf("file isolation: cannot open %s for a "
					 "Landlock rule: %s",
					 mapped, strerror(ENOENT));
	struct guest_files files;
	char *error = NULL;

	ck_assert_int_eq(mkdir(mapped, 0700), 0);
	guest_files_init(&files, base, 0);
	ck_assert_int_eq(guest_files_mount(&files, mapped, "/data", NULL), 0);
	ck_assert_int_eq(rmdir(mapped), 0);
	ck_assert_int_eq(guest_files_isolate(&files, landlock_abi_version(),
					     kernel, NULL, &error),
			 -ENOENT);
	ck_assert_str_eq(error, expected);
	ck_assert_int_eq(files.ruleset_fd, -1);
	guest_files_destroy(&files);
	remove_tree(base);
	free(error);
	g_free(expected);
	g_free(kernel);
	g_free(mapped);
	g_free(base);
}
END_TEST

START_TEST(strict_needs_landlock)
{
	struct uhyve_config *config = uhyve_config_new();
	char *kernel = guest_path("hello_v2");
	struct uhyve_vm *vm = NULL;
	char *error = NULL;
	char *expected = g_strdup_printf(
	    "file isolation \"strict\" needs Landlock, but the running "
	    "kernel does not support it (landlock_create_ruleset: %s)",
	    strerror(ENOSYS));

	hide_landlock();
	ck_assert(!uhyve_feature_supported(UHYVE_FEATURE_LANDLOCK));
	uhyve_config_set_file_isolation(config, UHYVE_ISOLATION_STRICT);
	ck_assert_int_eq(uhyve_vm_create(config, kernel, &vm, &error),
			 -EOPNOTSUPP);
	ck_assert_ptr_null(vm);
	ck_assert_str_eq(error, expected);
	free(error);
	g_free(expected);
	g_free(kernel);
	uhyve_config_free(config);
}
END_TEST

/*
 * The fileops guest: file hypercalls end to end (KVM)
 */

START_TEST(file_operations_end_to_end)
{
	const char *guests[] = {"fileops_v1", "fileops_v2"};
	const char *commands[] = {
	    "put:/scratch/t.txt:hello-temp",
	    "cat:/scratch/t.txt",
	    "seek:/scratch/t.txt:6",
	    "rm:/scratch/t.txt",
	    "cat:/scratch/t.txt",
	    "put:/scratch/t.txt:again",
	    "cat:/scratch/t.txt",
	    "cat:/data/in.txt",
	    "patch:/data/rw.txt:2:AB",
	    "cat:/data/rw.txt",
	    "put:/data/new.txt:created",
	    "rm:/data/gone.txt",
	    "cat:/data/gone.txt",
	    "open:/data/dir:65600",
	    "open:/nowhere/x.txt:0",
	    "open:/data/in.txt:0",
	    "close2:/data/in.txt",
	    "fd1:hello-fd1",
	    "offend",
	    NULL,
	};
	const char *expected = "put /scratch/t.txt: 10\n"
			       "cat /scratch/t.txt: hello-temp\n"
			       "seek /scratch/t.txt: 6 temp\n"
			       "rm /scratch/t.txt: 0\n"
			       "cat /scratch/t.txt: error -2\n"
			       "put /scratch/t.txt: 5\n"
			       "cat /scratch/t.txt: again\n"
			       "cat /data/in.txt: mapped content\n"
			       "patch /data/rw.txt: 2\n"
			       "cat /data/rw.txt: 01AB456789\n"
			       "put /data/new.txt: 7\n"
			       "rm /data/gone.txt: 0\n"
			       "cat /data/gone.txt: error -2\n"
			       "open /data/dir: -22\n"
			       "open /nowhere/x.txt: -2\n"
			       "open /data/in.txt: fd\n"
			       "close2 /data/in.txt: 0 -9\n"
			       "hello-fd1\n"
			       "fd1: 9\n"
			       "offend: -22\n"
			       "done\n";
	struct isolation_tree tree;
	struct uhyve_config *config;
	struct vm_result result;
	char *user_dir;
	char *path;
	char *text;

	isolation_tree_make(&tree);
	g_free(write_text(tree.data, "gone.txt", "to be removed"));
	config = fileops_config(tree.base, commands);
	run_guest_ok(config, guests[_i],
		     (const struct mount[]){{tree.data, "/data"}, {NULL, NULL}},
		     &result);
	ck_assert_str_eq(result.output, expected);

	/* The host files show the guest's writes. */
	path = g_build_filename(tree.data, "in.txt", NULL);
	text = read_text(path);
	ck_assert_str_eq(text, "mapped content");
	g_free(text);
	g_free(path);
	path = g_build_filename(tree.data, "rw.txt", NULL);
	text = read_text(path);
	ck_assert_str_eq(text, "01AB456789");
	g_free(text);
	g_free(path);
	path = g_build_filename(tree.data, "new.txt", NULL);
	text = read_text(path);
	ck_assert_str_eq(text, "created");
	g_free(text);
	g_free(path);
	path = g_build_filename(tree.data, "gone.txt", NULL);
	ck_assert_int_eq(access(path, F_OK), -1);
	g_free(path);

	/* The VM's temporary directory is gone with everything in it. */
	user_dir = user_dir_of(tree.base);
	ck_assert_int_eq(rmdir(user_dir), 0);
	g_free(user_dir);
	vm_result_clear(&result);
	uhyve_config_free(config);
	isolation_tree_free(&tree);
}
END_TEST

START_TEST(io_mode_applies_to_vm)
{
	char *dir = make_temp_dir();
	char *file = write_text(dir, "f.txt", "x");
	struct uhyve_config *config = uhyve_config_new();
	char *kernel = guest_path("hello_v2");
	struct uhyve_vm *vm = NULL;
	int flags;
	int fd;

	ck_assert_int_eq(uhyve_config_set_io_mode(
			     config, UHYVE_IO_DIRECT | UHYVE_IO_SYNC, NULL),
			 0);
	ck_assert_int_eq(uhyve_vm_create(config, kernel, &vm, NULL), 0);
	ck_assert_int_eq(uhyve_vm_mount(vm, file, "/f.txt", NULL), 0);
	fd = guest_files_open(&vm->files, "/f.txt", HERMIT_O_RDONLY, 0);
	flags = fcntl(host_file_of(&vm->files, fd)->host_fd, F_GETFL);
	ck_assert_int_eq(flags & O_DIRECT, O_DIRECT);
	ck_assert_int_eq(flags & O_SYNC, O_SYNC);
	uhyve_vm_destroy(vm);
	uhyve_config_free(config);
	remove_tree(dir);
	g_free(kernel);
	g_free(file);
	g_free(dir);
}
END_TEST

#define CONCURRENT_VMS 3

struct concurrent_vm {
	const char *base;
	pthread_barrier_t *start;
	struct vm_result result;
};

static void *run_concurrent_vm(void *opaque)
{
	struct concurrent_vm *run = opaque;
	const char *commands[] = {"put:/scratch/t.txt:parallel",
				  "cat:/scratch/t.txt", NULL};
	struct uhyve_config *config = uhyve_config_new();
	char *kernel = guest_path("fileops_v2");

	uhyve_config_set_tempdir(config, run->base, NULL);
	for (size_t i = 0; commands[i]; i++)
		uhyve_config_add_kernel_arg(config, commands[i], NULL);
	pthread_barrier_wait(run->start);
	run_vm(config, kernel, NULL, &run->result);
	uhyve_config_free(config);
	g_free(kernel);
	return NULL;
}

START_TEST(vms_create_tempfiles_at_once)
{
	struct concurrent_vm runs[CONCURRENT_VMS];
	pthread_t threads[CONCURRENT_VMS];
	char *base = make_temp_dir();
	char *user_dir = user_dir_of(base);
	pthread_barrier_t start;

	pthread_barrier_init(&start, NULL, CONCURRENT_VMS);
	for (int i = 0; i < CONCURRENT_VMS; i++) {
		runs[i] = (struct concurrent_vm){.base = base, .start = &start};
		ck_assert_int_eq(pthread_create(&threads[i], NULL,
						run_concurrent_vm, &runs[i]),
				 0);
	}
	for (int i = 0; i < CONCURRENT_VMS; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < CONCURRENT_VMS; i++) {
		ck_assert_int_eq(runs[i].result.create_rc, 0);
		ck_assert_int_eq(runs[i].result.run_rc, 0);
		ck_assert_str_eq(runs[i].result.output,
				 "put /scratch/t.txt: 8\n"
				 "cat /scratch/t.txt: parallel\n"
				 "done\n");
		vm_result_clear(&runs[i].result);
	}
	/* Every VM removed its own directory and left the shared one. */
	ck_assert_int_eq(rmdir(user_dir), 0);
	ck_assert_int_eq(rmdir(base), 0);
	pthread_barrier_destroy(&start);
	g_free(user_dir);
	g_free(base);
}
END_TEST

/*
 * Isolation end to end (KVM and Landlock)
 */

/* Paths through which a guest that maps one directory tries to reach a
 * file outside it, and the expected results. */
static char **escape_commands(const struct isolation_tree *tree)
{
	GPtrArray *commands = g_ptr_array_new();

	g_ptr_array_add(commands, g_strdup("cat:/data/in.txt"));
	g_ptr_array_add(commands, g_strdup("cat:/data/../outside/secret.txt"));
	g_ptr_array_add(commands, g_strdup("cat:/data/link"));
	g_ptr_array_add(commands, g_strdup("cat:/data/linkdir/secret.txt"));
	g_ptr_array_add(commands, g_strdup("put:/data/link:pwned"));
	g_ptr_array_add(commands, g_strdup_printf("cat:%s", tree->secret));
	g_ptr_array_add(commands, g_strdup("put:/data/new.txt:created"));
	g_ptr_array_add(commands, g_strdup("cat:/data/new.txt"));
	g_ptr_array_add(commands, g_strdup("put:/result.txt:result"));
	g_ptr_array_add(commands, g_strdup("put:/scratch/t.txt:temp"));
	g_ptr_array_add(commands, g_strdup("cat:/scratch/t.txt"));
	g_ptr_array_add(commands, g_strdup("rm:/single.txt"));
	g_ptr_array_add(commands, g_strdup("cat:/single.txt"));
	g_ptr_array_add(commands, NULL);
	return (char **)g_ptr_array_free(commands, FALSE);
}

static char *escape_expected(const struct isolation_tree *tree)
{
	return g_strdup_printf(
	    "cat /data/in.txt: mapped content\n"
	    "cat /data/../outside/secret.txt: error -2\n"
	    "cat /data/link: error " GUEST_EACCES "\n"
	    "cat /data/linkdir/secret.txt: error " GUEST_EACCES "\n"
	    "put /data/link: " GUEST_EACCES "\n"
	    "cat %s: error -2\n"
	    "put /data/new.txt: 7\n"
	    "cat /data/new.txt: created\n"
	    "put /result.txt: 6\n"
	    "put /scratch/t.txt: 4\n"
	    "cat /scratch/t.txt: temp\n"
	    "rm /single.txt: " GUEST_EACCES "\n"
	    "cat /single.txt: single\n"
	    "done\n",
	    tree->secret);
}

static const struct {
	const char *guest;
	enum uhyve_file_isolation isolation;
} escape_cases[] = {
    {"fileops_v1", UHYVE_ISOLATION_NORMAL},
    {"fileops_v2", UHYVE_ISOLATION_NORMAL},
    {"fileops_v2", UHYVE_ISOLATION_STRICT},
};

START_TEST(isolation_blocks_escapes)
{
	struct isolation_tree tree;
	struct uhyve_config *config;
	struct vm_result result;
	char **commands;
	char *expected;
	char *text;

	isolation_tree_make(&tree);
	commands = escape_commands(&tree);
	expected = escape_expected(&tree);
	config = fileops_config(tree.base, (const char *const *)commands);
	uhyve_config_set_file_isolation(config, escape_cases[_i].isolation);
	run_guest_ok(config, escape_cases[_i].guest,
		     (const struct mount[]){{tree.data, "/data"},
					    {tree.missing, "/result.txt"},
					    {tree.single, "/single.txt"},
					    {NULL, NULL}},
		     &result);
	ck_assert_str_eq(result.output, expected);

	text = read_text(tree.secret);
	ck_assert_str_eq(text, "secret");
	g_free(text);
	text = read_text(tree.missing);
	ck_assert_str_eq(text, "result");
	g_free(text);
	vm_result_clear(&result);
	uhyve_config_free(config);
	g_free(expected);
	g_strfreev(commands);
	isolation_tree_free(&tree);
}
END_TEST

/* A mapped file that does not exist yet must not open its parent
 * directory to the VM: a symbolic link in another mapping that points
 * into that directory stays blocked. */
START_TEST(missing_file_keeps_parent_closed)
{
	char *base = make_temp_dir();
	char *data = g_build_filename(base, "data", NULL);
	char *secret = write_text(base, "secret.txt", "secret");
	char *link = g_build_filename(data, "link", NULL);
	char *missing = g_build_filename(base, "new.txt", NULL);
	const char *commands[] = {"cat:/data/link", NULL};
	struct uhyve_config *config;
	struct vm_result result;

	ck_assert_int_eq(mkdir(data, 0700), 0);
	ck_assert_int_eq(symlink(secret, link), 0);
	config = fileops_config(base, commands);
	uhyve_config_set_file_isolation(config, UHYVE_ISOLATION_STRICT);
	run_guest_ok(config, "fileops_v2",
		     (const struct mount[]){
			 {data, "/data"}, {missing, "/new.txt"}, {NULL, NULL}},
		     &result);
	ck_assert_ptr_nonnull(
	    strstr(result.output, "cat /data/link: error -13"));
	ck_assert_ptr_null(strstr(result.output, "secret"));
	vm_result_clear(&result);
	uhyve_config_free(config);
	remove_tree(base);
	g_free(missing);
	g_free(link);
	g_free(secret);
	g_free(data);
	g_free(base);
}
END_TEST

/* Without isolation the same symbolic links do lead outside, which shows
 * that isolation_blocks_escapes tests Landlock and not the file tree. */
START_TEST(no_isolation_follows_links)
{
	const char *commands[] = {"cat:/data/link",
				  "cat:/data/linkdir/secret.txt", NULL};
	struct isolation_tree tree;
	struct uhyve_config *config;
	struct vm_result result;

	isolation_tree_make(&tree);
	config = fileops_config(tree.base, commands);
	run_guest_ok(config, "fileops_v2",
		     (const struct mount[]){{tree.data, "/data"}, {NULL, NULL}},
		     &result);
	ck_assert_str_eq(result.output, "cat /data/link: secret\n"
					"cat /data/linkdir/secret.txt: secret\n"
					"done\n");
	vm_result_clear(&result);
	uhyve_config_free(config);
	isolation_tree_free(&tree);
}
END_TEST

/* A second directory with a link back into the first VM's directory. */
static char *make_second_dir(const struct isolation_tree *tree)
{
	char *second = g_build_filename(tree->base, "second", NULL);
	char *link = g_build_filename(second, "back", NULL);
	char *target = g_build_filename(tree->data, "in.txt", NULL);

	g_free(write_text(second, "file.txt", "second"));
	ck_assert_int_eq(symlink(target, link), 0);
	g_free(target);
	g_free(link);
	return second;
}

static void run_second_vm(const struct isolation_tree *tree, const char *second)
{
	const char *commands[] = {"cat:/other/file.txt", "cat:/other/back",
				  "cat:/data/in.txt", NULL};
	struct uhyve_config *config = fileops_config(tree->base, commands);
	struct vm_result result;

	uhyve_config_set_file_isolation(config, UHYVE_ISOLATION_STRICT);
	run_guest_ok(config, "fileops_v2",
		     (const struct mount[]){{second, "/other"}, {NULL, NULL}},
		     &result);
	ck_assert_str_eq(result.output,
			 "cat /other/file.txt: second\n"
			 "cat /other/back: error " GUEST_EACCES "\n"
			 "cat /data/in.txt: error -2\n"
			 "done\n");
	vm_result_clear(&result);
	uhyve_config_free(config);
}

START_TEST(second_vm_keeps_own_rules)
{
	const char *commands[] = {"cat:/data/in.txt", "cat:/data/link", NULL};
	struct isolation_tree tree;
	struct uhyve_config *config;
	struct vm_result result;
	char *second;
	char *text;

	isolation_tree_make(&tree);
	second = make_second_dir(&tree);
	config = fileops_config(tree.base, commands);
	uhyve_config_set_file_isolation(config, UHYVE_ISOLATION_NORMAL);
	run_guest_ok(config, "fileops_v2",
		     (const struct mount[]){{tree.data, "/data"}, {NULL, NULL}},
		     &result);
	ck_assert_str_eq(result.output,
			 "cat /data/in.txt: mapped content\n"
			 "cat /data/link: error " GUEST_EACCES "\n"
			 "done\n");
	vm_result_clear(&result);

	run_second_vm(&tree, second);

	/* The program itself was never confined. */
	text = read_text(tree.secret);
	ck_assert_str_eq(text, "secret");
	g_free(text);
	uhyve_config_free(config);
	g_free(second);
	isolation_tree_free(&tree);
}
END_TEST

static void *run_second_vm_thread(void *opaque)
{
	const struct isolation_tree *tree = opaque;
	char *second = g_build_filename(tree->base, "second", NULL);

	run_second_vm(tree, second);
	g_free(second);
	return NULL;
}

START_TEST(isolated_vms_side_by_side)
{
	const char *commands[] = {"cat:/data/in.txt", "cat:/data/link", NULL};
	struct isolation_tree tree;
	struct uhyve_config *config;
	struct vm_result result;
	pthread_t other;

	isolation_tree_make(&tree);
	g_free(make_second_dir(&tree));
	ck_assert_int_eq(
	    pthread_create(&other, NULL, run_second_vm_thread, &tree), 0);
	config = fileops_config(tree.base, commands);
	uhyve_config_set_file_isolation(config, UHYVE_ISOLATION_STRICT);
	run_guest_ok(config, "fileops_v2",
		     (const struct mount[]){{tree.data, "/data"}, {NULL, NULL}},
		     &result);
	ck_assert_int_eq(pthread_join(other, NULL), 0);
	ck_assert_str_eq(result.output,
			 "cat /data/in.txt: mapped content\n"
			 "cat /data/link: error " GUEST_EACCES "\n"
			 "done\n");
	vm_result_clear(&result);
	uhyve_config_free(config);
	isolation_tree_free(&tree);
}
END_TEST

static void collect_warning(const gchar *domain, GLogLevelFlags level,
			    const gchar *message, gpointer opaque)
{
	(void)domain;
	(void)level;
	g_string_append_printf(opaque, "%s\n", message);
}

START_TEST(normal_runs_without_landlock)
{
	const char *commands[] = {"cat:/data/link", NULL};
	GString *warnings = g_string_new(NULL);
	struct isolation_tree tree;
	struct uhyve_config *config;
	struct vm_result result;

	isolation_tree_make(&tree);
	hide_landlock();
	g_log_set_handler("uhyve", G_LOG_LEVEL_WARNING, collect_warning,
			  warnings);
	config = fileops_config(tree.base, commands);
	uhyve_config_set_log_level(config, UHYVE_LOG_WARNING);
	uhyve_config_set_file_isolation(config, UHYVE_ISOLATION_NORMAL);
	run_guest_ok(config, "fileops_v2",
		     (const struct mount[]){{tree.data, "/data"}, {NULL, NULL}},
		     &result);
	ck_assert_str_eq(result.output, "cat /data/link: secret\ndone\n");
	ck_assert_ptr_nonnull(
	    strstr(warnings->str, "file isolation \"normal\" needs Landlock, "
				  "but the running kernel does not support "
				  "it (landlock_create_ruleset: Function "
				  "not implemented); the VM runs without "
				  "it\n"));
	vm_result_clear(&result);
	uhyve_config_free(config);
	g_string_free(warnings, TRUE);
	isolation_tree_free(&tree);
}
END_TEST

/*
 * Hermit image archives
 */

/* The directory an archive is packed from, with a kernel copied in. */
static char *make_image_dir(const char *base, const char *kernel_name,
			    const char *config_text)
{
	char *dir = g_build_filename(base, "image", NULL);
	char *source = guest_path(kernel_name);
	char *kernel = NULL;
	gsize size = 0;
	char *target;

	ck_assert(g_file_get_contents(source, &kernel, &size, NULL));
	target = g_build_filename(dir, "bin", "app", NULL);
	ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
	g_free(write_text(dir, "bin/app", ""));
	ck_assert(g_file_set_contents(target, kernel, (gssize)size, NULL));
	g_free(write_text(dir, "hermit.toml", config_text));
	g_free(write_text(dir, "data/readme.txt", "read me to the end"));
	g_free(target);
	g_free(kernel);
	g_free(source);
	return dir;
}

/* Packs `dir` into `archive` with tar (sorted by name, in tar's `format`),
 * adds `zero_blocks` extra blocks of 512 zero bytes after the end of the
 * tar data, as some writers do, and compresses it with gzip. */
static void pack(const char *dir, const char *archive, const char *format,
		 int zero_blocks)
{
	char *tar_path = g_strdup_printf("%s.tar", archive);
	char *format_option = g_strdup_printf("--format=%s", format);
	const char *tar_argv[] = {
	    "tar",	   "--sort=name", "--mtime=@0",
	    "--owner=0",   "--group=0",	  "--numeric-owner",
	    format_option, "-cf",	  tar_path,
	    "-C",	   dir,		  ".",
	    NULL};
	const char *gzip_argv[] = {"sh", "-c",	   "gzip -n -c \"$1\" > \"$2\"",
				   "sh", tar_path, archive,
				   NULL};
	char zeros[512] = {0};
	FILE *tar;

	spawn(tar_argv);
	tar = fopen(tar_path, "ab");
	ck_assert_ptr_nonnull(tar);
	for (int i = 0; i < zero_blocks; i++)
		ck_assert_int_eq(fwrite(zeros, 1, sizeof(zeros), tar),
				 sizeof(zeros));
	fclose(tar);
	spawn(gzip_argv);
	unlink(tar_path);
	g_free(format_option);
	g_free(tar_path);
}

static const char fileops_config_text[] =
    "version = \"1\"\n"
    "kernel = \"bin/app\"\n"
    "\n"
    "[input]\n"
    "kernel_args = [\"cat:/data/readme.txt\"]\n"
    "app_args = []\n"
    "env_vars = [\"FROM_IMAGE=1\", \"NO_EQUALS\", \"=empty\"]\n"
    "\n"
    "[requirements]\n"
    "memory = \"32MiB\"\n"
    "cpus = 1\n";

/* Reads an archive file with the library's limits. */
static int read_archive_file(const char *path,
			     const struct image_archive_limits *limits,
			     struct image_archive *archive, char **error)
{
	const struct image_archive_limits defaults = {
	    .max_total_size = IMAGE_ARCHIVE_MAX_TOTAL_SIZE,
	    .max_entries = IMAGE_ARCHIVE_MAX_ENTRIES,
	};
	char *data = NULL;
	gsize size = 0;
	int rc;

	ck_assert(g_file_get_contents(path, &data, &size, NULL));
	rc = image_archive_read(data, size, "app.hermit",
				limits ? limits : &defaults, archive, error);
	g_free(data);
	return rc;
}

static const struct image_archive_file *
archive_file(const struct image_archive *archive, const char *path)
{
	for (guint i = 0; i < archive->files->len; i++) {
		const struct image_archive_file *file =
		    archive->files->pdata[i];

		if (!strcmp(file->path, path))
			return file;
	}
	return NULL;
}

static const char *const archive_formats[] = {"gnu", "pax", "ustar"};

START_TEST(archive_reads_files_and_config)
{
	char *base = make_temp_dir();
	char *dir = make_image_dir(base, "fileops_v2", fileops_config_text);
	char *archive_path = g_build_filename(base, "app.hermit", NULL);
	/* ustar splits long paths at a '/' into a prefix and a name. */
	char *long_name = g_strdup_printf(
	    "data/%s/%s.txt", "directory-with-a-long-name-0123456789",
	    "file-with-a-long-name-0123456789-"
	    "0123456789-0123456789-0123456789-"
	    "0123456789-0123456789");
	const struct image_archive_file *file;
	struct image_archive archive;
	char *error = NULL;
	size_t size;

	g_free(write_text(dir, long_name, "long"));
	pack(dir, archive_path, archive_formats[_i], 8);
	ck_assert_msg(read_archive_file(archive_path, NULL, &archive, &error) ==
			  0,
		      "%s", error);
	ck_assert_str_eq(archive.kernel_path, "bin/app");
	ck_assert_int_eq(archive.files->len, 4);
	file = archive_file(&archive, long_name);
	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(g_bytes_get_size(file->bytes), 4);
	file = archive_file(&archive, "data/readme.txt");
	ck_assert_ptr_nonnull(file);
	ck_assert_mem_eq(g_bytes_get_data(file->bytes, &size),
			 "read me to the end", 18);
	ck_assert_ptr_nonnull(archive_file(&archive, "hermit.toml"));
	ck_assert_ptr_nonnull(archive.kernel);
	ck_assert_int_eq(archive.kernel_args->len, 1);
	ck_assert_str_eq(archive.kernel_args->pdata[0], "cat:/data/readme.txt");
	ck_assert_int_eq(archive.app_args->len, 0);
	ck_assert_int_eq(archive.env->len, 1);
	ck_assert_str_eq(archive.env->pdata[0], "FROM_IMAGE=1");
	ck_assert_uint_eq(archive.memory, 32ULL << 20);
	ck_assert_uint_eq(archive.cpus, 1);
	image_archive_clear(&archive);

	remove_tree(base);
	g_free(long_name);
	g_free(archive_path);
	g_free(dir);
	g_free(base);
}
END_TEST

/* Packs an image around fileops_v2 with `config_text` and returns the
 * result of image_archive_read() on it. */
static int read_image_with_config(const char *config_text, char **error)
{
	char *base = make_temp_dir();
	char *dir = make_image_dir(base, "fileops_v2", config_text);
	char *archive_path = g_build_filename(base, "app.hermit", NULL);
	struct image_archive archive;
	int rc;

	pack(dir, archive_path, "gnu", 0);
	rc = read_archive_file(archive_path, NULL, &archive, error);
	image_archive_clear(&archive);
	remove_tree(base);
	g_free(archive_path);
	g_free(dir);
	g_free(base);
	return rc;
}

static const struct {
	const char *config;
	const char *message;
} config_cases[] = {
    {"kernel = \"bin/app\"\n[input]\nkernel_args = []\napp_args = []\n",
     "image archive app.hermit: hermit.toml: the required key version is "
     "missing"},
    {"version = \"2\"\nkernel = \"bin/app\"\n",
     "image archive app.hermit: hermit.toml:1:11: version \"2\" is not "
     "supported: only version \"1\" is"},
    {"version = 1\nkernel = \"bin/app\"\n",
     "image archive app.hermit: hermit.toml:1:11: version must be a "
     "string, not an integer"},
    {"version = \"1\"\n[input]\nkernel_args = []\napp_args = []\n",
     "image archive app.hermit: hermit.toml: the required key kernel is "
     "missing"},
    {"version = \"1\"\nkernel = \"bin/missing\"\n[input]\n"
     "kernel_args = []\napp_args = []\n",
     "image archive app.hermit: it has no entry bin/missing, the kernel "
     "that hermit.toml names"},
    {"version = \"1\"\nkernel = \"bin/app\"\n",
     "image archive app.hermit: hermit.toml: the required key input is "
     "missing"},
    {"version = \"1\"\nkernel = \"bin/app\"\n[input]\napp_args = []\n",
     "image archive app.hermit: hermit.toml: the required key "
     "input.kernel_args is missing"},
    {"version = \"1\"\nkernel = \"bin/app\"\n[input]\n"
     "kernel_args = [\"a\", 3]\napp_args = []\n",
     "image archive app.hermit: hermit.toml:4:21: element 1 of "
     "input.kernel_args must be a string, not an integer"},
    {"version = \"1\"\nkernel = \"bin/app\"\n[input]\nkernel_args = []\n"
     "app_args = []\n[requirements]\nmemory = \"lots\"\n",
     "image archive app.hermit: hermit.toml:7:10: requirements.memory "
     "\"lots\" is not a byte size such as 64MiB, 512M or 1GiB"},
    {"version = \"1\"\nkernel = \"bin/app\"\n[input]\nkernel_args = []\n"
     "app_args = []\n[requirements]\ncpus = -1\n",
     "image archive app.hermit: hermit.toml:7:8: requirements.cpus -1 is "
     "outside 0 to 4294967295"},
    {"version = \"1\"\nkernel = \"bin/app\n",
     "image archive app.hermit: hermit.toml:2:10: unterminated string"},
};

START_TEST(archive_config_errors_reported)
{
	char *error = NULL;

	ck_assert_int_eq(
	    read_image_with_config(config_cases[_i].config, &error), -ENOEXEC);
	ck_assert_str_eq(error, config_cases[_i].message);
	free(error);
}
END_TEST

START_TEST(archive_without_config_rejected)
{
	char *base = make_temp_dir();
	char *dir = make_image_dir(base, "fileops_v2", "");
	char *archive_path = g_build_filename(base, "app.hermit", NULL);
	char *config = g_build_filename(dir, "hermit.toml", NULL);
	struct image_archive archive;
	char *error = NULL;

	ck_assert_int_eq(unlink(config), 0);
	pack(dir, archive_path, "gnu", 0);
	ck_assert_int_eq(
	    read_archive_file(archive_path, NULL, &archive, &error), -ENOEXEC);
	ck_assert_str_eq(error, "image archive app.hermit: it has no "
				"hermit.toml");
	ck_assert_ptr_null(archive.files);
	remove_tree(base);
	free(error);
	g_free(config);
	g_free(archive_path);
	g_free(dir);
	g_free(base);
}
END_TEST

START_TEST(archive_links_rejected)
{
	char *base = make_temp_dir();
	char *dir = make_image_dir(base, "fileops_v2", fileops_config_text);
	char *archive_path = g_build_filename(base, "app.hermit", NULL);
	char *link = g_build_filename(dir, "data", "link", NULL);
	struct image_archive archive;
	char *error = NULL;

	ck_assert_int_eq(symlink("/etc/passwd", link), 0);
	pack(dir, archive_path, "gnu", 0);
	ck_assert_int_eq(
	    read_archive_file(archive_path, NULL, &archive, &error), -ENOEXEC);
	ck_assert_str_eq(error, "image archive app.hermit: entry ./data/link "
				"is a symbolic link; image archives may hold "
				"only regular files and directories");
	remove_tree(base);
	free(error);
	g_free(link);
	g_free(archive_path);
	g_free(dir);
	g_free(base);
}
END_TEST

START_TEST(archive_duplicate_rejected)
{
	char *base = make_temp_dir();
	char *dir = make_image_dir(base, "fileops_v2", fileops_config_text);
	char *archive_path = g_build_filename(base, "app.hermit", NULL);
	char *tar_path = g_build_filename(base, "app.tar", NULL);
	/* Two different files stored under one name; the same file given
	 * twice would become a hard link. */
	const char *tar_argv[] = {
	    "tar",	   "--transform=s,data/readme.txt,hermit.toml,",
	    "-cf",	   tar_path,
	    "-C",	   dir,
	    "hermit.toml", "data/readme.txt",
	    NULL};
	const char *gzip_argv[] = {"sh", "-c",	   "gzip -n -c \"$1\" > \"$2\"",
				   "sh", tar_path, archive_path,
				   NULL};
	struct image_archive archive;
	char *error = NULL;

	spawn(tar_argv);
	spawn(gzip_argv);
	ck_assert_int_eq(
	    read_archive_file(archive_path, NULL, &archive, &error), -ENOEXEC);
	ck_assert_str_eq(error, "image archive app.hermit: it holds the file "
				"hermit.toml twice");
	remove_tree(base);
	free(error);
	g_free(tar_path);
	g_free(archive_path);
	g_free(dir);
	g_free(base);
}
END_TEST

START_TEST(archive_limits_enforced)
{
	char *base = make_temp_dir();
	char *dir = make_image_dir(base, "fileops_v2", fileops_config_text);
	char *archive_path = g_build_filename(base, "app.hermit", NULL);
	const struct image_archive_limits small_total = {
	    .max_total_size = 10,
	    .max_entries = 100,
	};
	const struct image_archive_limits few_entries = {
	    .max_total_size = 1 << 30,
	    .max_entries = 2,
	};
	struct image_archive archive;
	char *error = NULL;

	pack(dir, archive_path, "gnu", 0);
	/* Sorted by name, ./bin/app is the first file. */
	ck_assert_int_eq(
	    read_archive_file(archive_path, &small_total, &archive, &error),
	    -EFBIG);
	ck_assert_str_eq(error, "image archive app.hermit: its regular files "
				"exceed 10 bytes in total at entry bin/app");
	ck_assert_int_eq(
	    read_archive_file(archive_path, &few_entries, &archive, &error),
	    -EFBIG);
	ck_assert_str_eq(error, "image archive app.hermit: it has more than 2 "
				"entries");
	remove_tree(base);
	free(error);
	g_free(archive_path);
	g_free(dir);
	g_free(base);
}
END_TEST

/* Ways to damage a valid archive, and the reason each gets. */
enum damage {
	DAMAGE_TRUNCATE,
	DAMAGE_OVERWRITE,
	DAMAGE_JUNK,
	DAMAGE_CRC,
	DAMAGE_LENGTH,
	DAMAGE_TRAILING,
};

static const struct {
	enum damage damage;
	const char *reason; /* NULL: any reason */
} damage_cases[] = {
    {DAMAGE_TRUNCATE, "the gzip stream ends early"},
    /* Overwritten deflate data fails in ways that depend on the
     * kernel's bytes. */
    {DAMAGE_OVERWRITE, NULL},
    {DAMAGE_JUNK, "invalid code lengths set"},
    {DAMAGE_CRC, "incorrect data check"},
    {DAMAGE_LENGTH, "incorrect length check"},
    {DAMAGE_TRAILING, "data that is not gzip follows the gzip stream"},
};

static void damage_archive(GByteArray *data, enum damage damage)
{
	static const char junk[] = "this is not deflate data at all";

	switch (damage) {
	case DAMAGE_TRUNCATE:
		g_byte_array_set_size(data, data->len / 2);
		break;
	case DAMAGE_OVERWRITE:
		memset(data->data + data->len / 4, 0xff, 64);
		break;
	case DAMAGE_JUNK:
		g_byte_array_set_size(data, 10);
		g_byte_array_append(data, (const guint8 *)junk, sizeof(junk));
		break;
	case DAMAGE_CRC:
		/* The trailer ends with the CRC-32, then the length. */
		data->data[data->len - 8] ^= 1;
		break;
	case DAMAGE_LENGTH:
		data->data[data->len - 1] ^= 1;
		break;
	case DAMAGE_TRAILING:
		g_byte_array_append(data, (const guint8 *)junk, sizeof(junk));
		break;
	}
}

START_TEST(corrupt_archive_rejected)
{
	const char prefix[] = "image archive app.hermit: it is not a valid "
			      "gzip-compressed tar archive: ";
	char *base = make_temp_dir();
	char *dir = make_image_dir(base, "fileops_v2", fileops_config_text);
	char *archive_path = g_build_filename(base, "app.hermit", NULL);
	const struct image_archive_limits limits = {
	    .max_total_size = IMAGE_ARCHIVE_MAX_TOTAL_SIZE,
	    .max_entries = IMAGE_ARCHIVE_MAX_ENTRIES,
	};
	struct image_archive archive;
	GByteArray *data = g_byte_array_new();
	char *contents = NULL;
	char *error = NULL;
	gsize size = 0;

	pack(dir, archive_path, "gnu", 0);
	ck_assert(g_file_get_contents(archive_path, &contents, &size, NULL));
	g_byte_array_append(data, (const guint8 *)contents, (guint)size);
	damage_archive(data, damage_cases[_i].damage);
	ck_assert_int_eq(image_archive_read(data->data, data->len, "app.hermit",
					    &limits, &archive, &error),
			 -ENOEXEC);
	ck_assert_msg(g_str_has_prefix(error, prefix), "message: %s", error);
	if (damage_cases[_i].reason)
		ck_assert_str_eq(error + strlen(prefix),
				 damage_cases[_i].reason);
	ck_assert_ptr_null(archive.files);

	g_byte_array_unref(data);
	remove_tree(base);
	free(error);
	g_free(contents);
	g_free(archive_path);
	g_free(dir);
	g_free(base);
}
END_TEST

/* Zero bytes after the gzip stream, as a padded copy has them, are fine. */
START_TEST(archive_zero_padding_accepted)
{
	char *base = make_temp_dir();
	char *dir = make_image_dir(base, "fileops_v2", fileops_config_text);
	char *archive_path = g_build_filename(base, "app.hermit", NULL);
	const struct image_archive_limits limits = {
	    .max_total_size = IMAGE_ARCHIVE_MAX_TOTAL_SIZE,
	    .max_entries = IMAGE_ARCHIVE_MAX_ENTRIES,
	};
	static const guint8 zeros[1024];
	struct image_archive archive;
	GByteArray *data = g_byte_array_new();
	char *contents = NULL;
	char *error = NULL;
	gsize size = 0;

	pack(dir, archive_path, "gnu", 0);
	ck_assert(g_file_get_contents(archive_path, &contents, &size, NULL));
	g_byte_array_append(data, (const guint8 *)contents, (guint)size);
	g_byte_array_append(data, zeros, sizeof(zeros));
	ck_assert_msg(image_archive_read(data->data, data->len, "app.hermit",
					 &limits, &archive, &error) == 0,
		      "%s", error);
	ck_assert_int_eq(archive.files->len, 3);
	image_archive_clear(&archive);

	g_byte_array_unref(data);
	remove_tree(base);
	g_free(contents);
	g_free(archive_path);
	g_free(dir);
	g_free(base);
}
END_TEST

START_TEST(gzip_without_tar_rejected)
{
	char *base = make_temp_dir();
	char *plain = write_text(base, "plain.txt", "just some text\n");
	char *archive_path = g_build_filename(base, "app.hermit", NULL);
	const char *gzip_argv[] = {"sh", "-c",	"gzip -n -c \"$1\" > \"$2\"",
				   "sh", plain, archive_path,
				   NULL};
	struct image_archive archive;
	char *error = NULL;

	spawn(gzip_argv);
	ck_assert_int_eq(
	    read_archive_file(archive_path, NULL, &archive, &error), -ENOEXEC);
	ck_assert_str_eq(error, "image archive app.hermit: it is not a valid "
				"gzip-compressed tar archive: Unrecognized "
				"archive format");
	remove_tree(base);
	free(error);
	g_free(archive_path);
	g_free(plain);
	g_free(base);
}
END_TEST

/* Creates a VM from an archive packed around `kernel_name` with
 * `config_text`, runs it with `config` and returns the result. */
static void run_image(struct uhyve_config *config, const char *kernel_name,
		      const char *config_text, struct vm_result *result,
		      char **archive_out)
{
	char *base = make_temp_dir();
	char *dir = make_image_dir(base, kernel_name, config_text);
	char *archive_path = g_build_filename(base, "app.hermit", NULL);

	pack(dir, archive_path, "gnu", 0);
	run_vm(config, archive_path, NULL, result);
	if (archive_out)
		*archive_out = g_strdup(archive_path);
	remove_tree(base);
	g_free(archive_path);
	g_free(dir);
	g_free(base);
}

static const char args_config_text[] =
    "version = \"1\"\n"
    "kernel = \"bin/app\"\n"
    "[input]\n"
    "kernel_args = [\"from-image\"]\n"
    "app_args = [\"app-arg\"]\n"
    "env_vars = [\"SHARED=image\", \"ONLY_IMAGE=1\"]\n";

START_TEST(archive_args_and_env_used)
{
	struct uhyve_config *config = uhyve_config_new();
	struct vm_result result;

	ck_assert_int_eq(uhyve_config_add_env(config, "SHARED=command", NULL),
			 0);
	run_image(config, "args_v2", args_config_text, &result, NULL);
	ck_assert_msg(result.create_rc == 0, "%s", result.error);
	ck_assert_int_eq(result.run_rc, 0);
	ck_assert_str_eq(result.output,
			 "bootargs=from-image env=SHARED=command "
			 "env=ONLY_IMAGE=1 -- app-arg\n");
	vm_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

START_TEST(archive_args_yield_to_caller)
{
	struct uhyve_config *config = uhyve_config_new();
	struct vm_result result;
	char *archive = NULL;
	char *expected;

	ck_assert_int_eq(uhyve_config_add_app_arg(config, "mine", NULL), 0);
	run_image(config, "args_v1", args_config_text, &result, &archive);
	ck_assert_msg(result.create_rc == 0, "%s", result.error);
	ck_assert_int_eq(result.run_rc, 0);
	expected = g_strdup_printf("arg[0]=%s\narg[1]=mine\n"
				   "env[0]=SHARED=image\nenv[1]=ONLY_IMAGE=1\n",
				   archive);
	ck_assert_str_eq(result.output, expected);
	g_free(expected);
	g_free(archive);
	vm_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

static const struct {
	const char *requirements;
	const char *message;
} requirement_cases[] = {
    {"[requirements]\nmemory = \"128MiB\"\n",
     "image archive %s requires 134217728 bytes (128 MiB) of memory, but "
     "the VM is configured with 67108864 bytes (64 MiB)"},
    {"[requirements]\ncpus = 2\n",
     "image archive %s requires 2 vCPUs, but the VM is configured with 1"},
};

START_TEST(archive_requirement_not_met)
{
	struct uhyve_config *config = uhyve_config_new();
	char *text = g_strconcat(args_config_text,
				 requirement_cases[_i].requirements, NULL);
	struct vm_result result;
	char *archive = NULL;
	char *expected;

	run_image(config, "args_v2", text, &result, &archive);
	ck_assert_int_eq(result.create_rc, -EINVAL);
	expected = g_strdup_printf(requirement_cases[_i].message, archive);
	ck_assert_str_eq(result.error, expected);
	g_free(expected);
	g_free(archive);
	g_free(text);
	vm_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

START_TEST(archive_files_read_only)
{
	const char *commands[] = {"cat:/data/readme.txt",
				  "seek:/data/readme.txt:8",
				  "put:/data/readme.txt:changed",
				  "patch:/data/readme.txt:0:X",
				  "writefd:/data/readme.txt:X",
				  "rm:/bin/app",
				  "cat:/bin/app",
				  NULL};
	struct uhyve_config *config = uhyve_config_new();
	struct vm_result result;

	add_commands(config, commands);
	run_image(config, "fileops_v2", fileops_config_text, &result, NULL);
	ck_assert_msg(result.create_rc == 0, "%s", result.error);
	ck_assert_int_eq(result.run_rc, 0);
	ck_assert_str_eq(result.output,
			 "cat /data/readme.txt: read me to the end\n"
			 "seek /data/readme.txt: 8 to the end\n"
			 "put /data/readme.txt: -30\n"
			 "patch /data/readme.txt: -30\n"
			 "writefd /data/readme.txt: -30\n"
			 "rm /bin/app: 0\n"
			 "cat /bin/app: error -2\n"
			 "done\n");
	vm_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

START_TEST(isolated_archive_runs)
{
	struct uhyve_config *config = uhyve_config_new();
	struct vm_result result;

	uhyve_config_set_file_isolation(config, UHYVE_ISOLATION_STRICT);
	run_image(config, "fileops_v2", fileops_config_text, &result, NULL);
	ck_assert_msg(result.create_rc == 0, "%s", result.error);
	ck_assert_int_eq(result.run_rc, 0);
	ck_assert_str_eq(result.output,
			 "cat /data/readme.txt: read me to the end\ndone\n");
	vm_result_clear(&result);
	uhyve_config_free(config);
}
END_TEST

START_TEST(isolated_output_file_written)
{
	const char *commands[] = {"fd1:to-the-file", NULL};
	char *base = make_temp_dir();
	char *output = g_build_filename(base, "guest.log", NULL);
	struct uhyve_config *config = fileops_config(base, commands);
	char *kernel = guest_path("fileops_v2");
	struct uhyve_vm *vm = NULL;
	int exit_code = -1;
	char *text;

	uhyve_config_set_file_isolation(config, UHYVE_ISOLATION_STRICT);
	ck_assert_int_eq(
	    uhyve_config_set_output(config, UHYVE_OUTPUT_FILE, output, NULL),
	    0);
	ck_assert_int_eq(uhyve_vm_create(config, kernel, &vm, NULL), 0);
	ck_assert_int_eq(uhyve_vm_run(vm, &exit_code, NULL), 0);
	ck_assert_int_eq(exit_code, 0);
	uhyve_vm_destroy(vm);
	text = read_text(output);
	ck_assert_str_eq(text, "to-the-file\nfd1: 11\ndone\n");
	g_free(text);
	remove_tree(base);
	uhyve_config_free(config);
	g_free(kernel);
	g_free(output);
	g_free(base);
}
END_TEST

START_TEST(archive_feature_reported)
{
	ck_assert(uhyve_feature_supported(UHYVE_FEATURE_IMAGE_ARCHIVE));
}
END_TEST

/*
 * Suites
 */

static TCase *unit_case(void)
{
	TCase *unit = tcase_create("unit");

	tcase_add_test(unit, io_mode_flags_reach_host);
	tcase_add_test(unit, virtual_file_reads_to_end);
	tcase_add_test(unit, virtual_file_rejects_writes);
	tcase_add_test(unit, create_drops_setuid_bits);
	tcase_add_test(unit, create_directory_flag_rejected);
	tcase_add_test(unit, fifo_open_rejected);
	tcase_add_test(unit, tempdir_private_and_removed);
	tcase_add_test(unit, tempdir_rejects_shared_user_dir);
	tcase_add_test(unit, tempdir_rejects_symlinked_user_dir);
	tcase_add_test(unit, tempdir_missing_base_reported);
	tcase_add_test(unit, tempdir_processes_at_once);
	tcase_add_test(unit, strict_needs_landlock);
	tcase_add_test(unit, archive_feature_reported);
	tcase_add_loop_test(unit, archive_reads_files_and_config, 0,
			    G_N_ELEMENTS(archive_formats));
	tcase_add_loop_test(unit, archive_config_errors_reported, 0,
			    G_N_ELEMENTS(config_cases));
	tcase_add_test(unit, archive_without_config_rejected);
	tcase_add_test(unit, archive_links_rejected);
	tcase_add_test(unit, archive_duplicate_rejected);
	tcase_add_test(unit, archive_limits_enforced);
	tcase_add_loop_test(unit, corrupt_archive_rejected, 0,
			    G_N_ELEMENTS(damage_cases));
	tcase_add_test(unit, archive_zero_padding_accepted);
	tcase_add_test(unit, gzip_without_tar_rejected);
	return unit;
}

static TCase *landlock_case(void)
{
	TCase *landlock = tcase_create("landlock");

	tcase_add_test(landlock, landlock_confines_one_thread);
	tcase_add_test(landlock, landlock_missing_path_reported);
	tcase_add_test(landlock, isolation_rules_cover_mappings);
	tcase_add_test(landlock, isolation_skips_missing_kernel);
	tcase_add_test(landlock, isolation_missing_mapping_reported);
	return landlock;
}

static TCase *vm_case(void)
{
	TCase *vm = tcase_create("vm");

	tcase_set_timeout(vm, 120);
	tcase_add_loop_test(vm, file_operations_end_to_end, 0, 2);
	tcase_add_test(vm, io_mode_applies_to_vm);
	tcase_add_test(vm, vms_create_tempfiles_at_once);
	tcase_add_test(vm, no_isolation_follows_links);
	tcase_add_test(vm, normal_runs_without_landlock);
	tcase_add_test(vm, archive_args_and_env_used);
	tcase_add_test(vm, archive_args_yield_to_caller);
	tcase_add_loop_test(vm, archive_requirement_not_met, 0,
			    G_N_ELEMENTS(requirement_cases));
	tcase_add_test(vm, archive_files_read_only);
	return vm;
}

static TCase *isolation_case(void)
{
	TCase *isolation = tcase_create("isolation");

	tcase_set_timeout(isolation, 120);
	tcase_add_loop_test(isolation, isolation_blocks_escapes, 0,
			    G_N_ELEMENTS(escape_cases));
	tcase_add_test(isolation, missing_file_keeps_parent_closed);
	tcase_add_test(isolation, second_vm_keeps_own_rules);
	tcase_add_test(isolation, isolated_vms_side_by_side);
	tcase_add_test(isolation, isolated_archive_runs);
	tcase_add_test(isolation, isolated_output_file_written);
	return isolation;
}

/* Runs what this host supports. When KVM or Landlock is missing, the tests
 * that need them are left out and, if the rest pass, the program reports
 * a skip with the reason. */
int main(void)
{
	bool kvm = access("/dev/kvm", R_OK | W_OK) == 0;
	bool landlock = have_landlock();
	Suite *suite = suite_create("files");
	SRunner *runner;
	int failed;

	suite_add_tcase(suite, unit_case());
	if (landlock)
		suite_add_tcase(suite, landlock_case());
	if (kvm)
		suite_add_tcase(suite, vm_case());
	if (kvm && landlock)
		suite_add_tcase(suite, isolation_case());

	runner = srunner_create(suite);
	srunner_set_fork_status(runner, CK_FORK);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	if (failed)
		return EXIT_FAILURE;
	if (!kvm)
		printf("SKIP: /dev/kvm is missing or not accessible, so the "
		       "end-to-end file tests did not run\n");
	if (!landlock)
		printf("SKIP: the running kernel lacks Landlock, so the file "
		       "isolation tests did not run\n");
	return kvm && landlock ? EXIT_SUCCESS : TEST_SKIP_STATUS;
}
