/* Test guest that checks the results of the file hypercalls. */
#include "runtime.h"

#define NEW_PATH "/tmp_test/new.txt"
#define SEEK_SET 0

static const char file_text[] = "hello file\n";
static int failures;

/* Prints "<step>: <value>" and counts the step as failed unless ok. */
static int64_t report(const char *step, int64_t value, int ok)
{
	guest_print(step);
	guest_print(": ");
	guest_print_i64(value);
	if (!ok) {
		guest_print(" (unexpected)");
		failures++;
	}
	guest_print("\n");
	return value;
}

static int64_t expect_eq(const char *step, int64_t value, int64_t expected)
{
	return report(step, value, value == expected);
}

static int expect_fd(const char *step, int64_t value)
{
	return (int)report(step, value, value >= 3);
}

static void expect_text(const char *step, const char *buf, const char *text)
{
	int ok = memcmp(buf, text, strlen(text)) == 0;

	guest_print(step);
	guest_print(ok ? ": ok\n" : ": mismatch\n");
	if (!ok)
		failures++;
}

static void create_and_write(void)
{
	int fd = expect_fd(
	    "open create",
	    guest_open(NEW_PATH, HERMIT_O_CREAT | HERMIT_O_WRONLY, 0644));

	expect_eq("write", guest_write_fd(fd, file_text, strlen(file_text)),
		  (int64_t)strlen(file_text));
	expect_eq("close after write", guest_close(fd), 0);
}

static void read_back(void)
{
	char buf[32] = {0};
	int fd =
	    expect_fd("open read", guest_open(NEW_PATH, HERMIT_O_RDONLY, 0));

	expect_eq("read", guest_read(fd, buf, sizeof(buf)),
		  (int64_t)strlen(file_text));
	expect_text("compare", buf, file_text);

	memset(buf, 0, sizeof(buf));
	expect_eq("lseek", guest_lseek(fd, 6, SEEK_SET), 6);
	expect_eq("read after lseek", guest_read(fd, buf, sizeof(buf)), 5);
	expect_text("compare after lseek", buf, "file\n");
	expect_eq("close after read", guest_close(fd), 0);
}

static void remove_file(void)
{
	expect_eq("unlink", guest_unlink(NEW_PATH), 0);
	expect_eq("open removed", guest_open(NEW_PATH, HERMIT_O_RDONLY, 0),
		  -GUEST_ENOENT);
}

/* Prints the mapped file named by kernel argument 1 and closes it twice. */
static void read_mapped(const struct hermit_boot_info *boot_info)
{
	static char path[256];
	static char content[1024];
	int64_t len;
	int fd;

	if (guest_first_arg(boot_info, path, sizeof(path)) < 0) {
		guest_print("open mapped: missing path argument\n");
		failures++;
		return;
	}
	fd = expect_fd("open mapped", guest_open(path, HERMIT_O_RDONLY, 0));
	len = guest_read(fd, content, sizeof(content));
	report("read mapped", len, len >= 0);
	guest_print("mapped=");
	if (len > 0)
		guest_write(content, (uint64_t)len);
	guest_print("\n");

	expect_eq("close mapped", guest_close(fd), 0);
	expect_eq("close mapped again", guest_close(fd), -GUEST_EBADF);
}

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	static const char fd1_text[] = "fd1 works\n";

	(void)cpu;
	create_and_write();
	read_back();
	remove_file();
	read_mapped(boot_info);
	expect_eq("open create directory",
		  guest_open("/tmp_test/dir",
			     HERMIT_O_CREAT | HERMIT_O_DIRECTORY, 0755),
		  -GUEST_EINVAL);
	expect_eq("write fd1", guest_write_fd(1, fd1_text, strlen(fd1_text)),
		  (int64_t)strlen(fd1_text));

	guest_print("failures: ");
	guest_print_u64((uint64_t)failures);
	guest_print("\n");
	return failures == 0 ? 0 : 1;
}
