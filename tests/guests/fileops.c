/* Test guest that runs the file operations named by its arguments. */
/*
 * Each kernel argument is one command with ':' between its fields, and each
 * command prints one line "<command> <path>: <result>", where a result is a
 * count, offset, descriptor check or -errno as the host returned it:
 *
 *   cat:PATH               open read-only, read to the end in 5-byte pieces,
 *                          print the contents
 *   seek:PATH:OFFSET       open read-only, lseek(SEEK_SET), print the new
 *                          offset and the rest of the file
 *   put:PATH:TEXT          open O_WRONLY|O_CREAT|O_TRUNC (0644), write TEXT
 *   patch:PATH:OFFSET:TEXT open O_RDWR, lseek(SEEK_SET), write TEXT
 *   writefd:PATH:TEXT      open read-only, then write TEXT to it
 *   rm:PATH                unlink
 *   open:PATH:FLAGS        open with decimal Linux O_* flags and close again
 *   close2:PATH            open read-only, close twice
 *   fd1:TEXT               write TEXT and a newline to descriptor 1
 *   offend                 open a path whose bytes run up to the end of
 *                          guest memory without a NUL (the last page must
 *                          be mapped: run with address randomisation off)
 *
 * The guest prints "done" at the end and exits with 0.
 */
#include "runtime.h"

#define SEEK_SET    0
#define MAX_FIELDS  4
#define MAX_COMMAND 512
#define READ_PIECE  5
#define MAX_READS   10000
#define CREATE_MODE 0644

static char command[MAX_COMMAND];
static char contents[4096];

static void print_line_start(const char *name, const char *path)
{
	guest_print(name);
	if (path) {
		guest_print(" ");
		guest_print(path);
	}
	guest_print(": ");
}

static void print_result(const char *name, const char *path, int64_t value)
{
	print_line_start(name, path);
	guest_print_i64(value);
	guest_print("\n");
}

static int64_t parse_i64(const char *text)
{
	int negative = *text == '-';
	int64_t value = 0;

	if (negative)
		text++;
	while (*text >= '0' && *text <= '9')
		value = value * 10 + (*text++ - '0');
	return negative ? -value : value;
}

/* Splits `text` at ':' in place. Returns the number of fields. */
static int split(char *text, char **fields)
{
	int count = 1;

	fields[0] = text;
	for (char *c = text; *c && count < MAX_FIELDS; c++) {
		if (*c == ':') {
			*c = '\0';
			fields[count++] = c + 1;
		}
	}
	return count;
}

/* Reads `fd` to its end in small pieces and prints what it read. A read
 * loop that does not end is reported instead of hanging the guest. */
static void print_rest(int fd)
{
	uint64_t len = 0;
	int64_t n = 1;
	int reads;

	for (reads = 0; reads < MAX_READS && n > 0; reads++) {
		uint64_t room = sizeof(contents) - len;

		n = guest_read(fd, contents + len,
			       room < READ_PIECE ? room : READ_PIECE);
		if (n > 0)
			len += (uint64_t)n;
	}
	if (n < 0) {
		guest_print("read error ");
		guest_print_i64(n);
	} else if (reads == MAX_READS) {
		guest_print("read loop did not end");
	} else {
		guest_write(contents, len);
	}
	guest_print("\n");
}

static void cat(const char *path)
{
	int fd = guest_open(path, HERMIT_O_RDONLY, 0);

	print_line_start("cat", path);
	if (fd < 0) {
		guest_print("error ");
		guest_print_i64(fd);
		guest_print("\n");
		return;
	}
	print_rest(fd);
	guest_close(fd);
}

static void seek(const char *path, const char *offset)
{
	int fd = guest_open(path, HERMIT_O_RDONLY, 0);
	int64_t position;

	print_line_start("seek", path);
	if (fd < 0) {
		guest_print("error ");
		guest_print_i64(fd);
		guest_print("\n");
		return;
	}
	position = guest_lseek(fd, parse_i64(offset), SEEK_SET);
	guest_print_i64(position);
	guest_print(" ");
	print_rest(fd);
	guest_close(fd);
}

/* Opens `path` with `flags`, moves to `offset` unless it is negative and
 * writes `text`. Returns the count written or the first error. */
static int64_t write_at(const char *path, int flags, int64_t offset,
			const char *text)
{
	int fd = guest_open(path, flags, CREATE_MODE);
	int64_t rc;

	if (fd < 0)
		return fd;
	rc = offset >= 0 ? guest_lseek(fd, offset, SEEK_SET) : 0;
	if (rc >= 0)
		rc = guest_write_fd(fd, text, strlen(text));
	guest_close(fd);
	return rc;
}

static void open_and_close(const char *path, const char *flags)
{
	int fd = guest_open(path, (int)parse_i64(flags), CREATE_MODE);

	print_line_start("open", path);
	if (fd >= 3) {
		guest_print("fd\n");
		guest_close(fd);
		return;
	}
	guest_print_i64(fd);
	guest_print("\n");
}

static void close_twice(const char *path)
{
	int fd = guest_open(path, HERMIT_O_RDONLY, 0);

	print_line_start("close2", path);
	guest_print_i64(guest_close(fd));
	guest_print(" ");
	guest_print_i64(guest_close(fd));
	guest_print("\n");
}

static void write_fd1(const char *text)
{
	int64_t rc = guest_write_fd(1, text, strlen(text));

	guest_write_fd(1, "\n", 1);
	print_result("fd1", NULL, rc);
}

/* The path's bytes fill the last 16 bytes of guest memory, with no NUL. */
static void open_off_end(const struct hermit_boot_info *boot_info)
{
	char *path = (char *)(uintptr_t)(boot_info->phys_addr_end - 16);

	memset(path, 'B', 16);
	print_result("offend", NULL, guest_open(path, HERMIT_O_RDONLY, 0));
}

static void write_read_only(const char *path, const char *text)
{
	int fd = guest_open(path, HERMIT_O_RDONLY, 0);
	int64_t rc = fd;

	if (fd >= 0) {
		rc = guest_write_fd(fd, text, strlen(text));
		guest_close(fd);
	}
	print_result("writefd", path, rc);
}

static void run(const struct hermit_boot_info *boot_info, const char *arg)
{
	char *fields[MAX_FIELDS] = {0};
	int count;

	if (strlen(arg) >= sizeof(command)) {
		guest_print("command too long\n");
		return;
	}
	memcpy(command, arg, strlen(arg) + 1);
	count = split(command, fields);

	if (guest_streq(fields[0], "cat") && count == 2)
		cat(fields[1]);
	else if (guest_streq(fields[0], "seek") && count == 3)
		seek(fields[1], fields[2]);
	else if (guest_streq(fields[0], "put") && count == 3)
		print_result(
		    "put", fields[1],
		    write_at(fields[1],
			     HERMIT_O_WRONLY | HERMIT_O_CREAT | HERMIT_O_TRUNC,
			     -1, fields[2]));
	else if (guest_streq(fields[0], "patch") && count == 4)
		print_result("patch", fields[1],
			     write_at(fields[1], HERMIT_O_RDWR,
				      parse_i64(fields[2]), fields[3]));
	else if (guest_streq(fields[0], "writefd") && count == 3)
		write_read_only(fields[1], fields[2]);
	else if (guest_streq(fields[0], "rm") && count == 2)
		print_result("rm", fields[1], guest_unlink(fields[1]));
	else if (guest_streq(fields[0], "open") && count == 3)
		open_and_close(fields[1], fields[2]);
	else if (guest_streq(fields[0], "close2") && count == 2)
		close_twice(fields[1]);
	else if (guest_streq(fields[0], "fd1") && count == 2)
		write_fd1(fields[1]);
	else if (guest_streq(fields[0], "offend") && count == 1)
		open_off_end(boot_info);
	else {
		guest_print("unknown command ");
		guest_print(arg);
		guest_print("\n");
	}
}

#if GUEST_INTERFACE == 1

static void run_all(const struct hermit_boot_info *boot_info)
{
	const struct guest_args *args = guest_load_args();

	if (args == NULL) {
		guest_print("invalid Cmdsize result\n");
		return;
	}
	for (int i = 1; i < args->argc; i++)
		run(boot_info, args->argv[i]);
}

#else /* GUEST_INTERFACE == 2 */

static char word[MAX_COMMAND];

/* Runs each kernel argument of bootargs, which ends at "--" or at the first
 * env= word. Commands use no characters that the host quotes. */
static void run_all(const struct hermit_boot_info *boot_info)
{
	const char *next = guest_bootargs(boot_info);

	while (next && *next) {
		size_t len = 0;

		while (*next == ' ')
			next++;
		while (next[len] != '\0' && next[len] != ' ')
			len++;
		if (len == 0 || len >= sizeof(word))
			break;
		memcpy(word, next, len);
		word[len] = '\0';
		next += len;
		if (guest_streq(word, "--") ||
		    (len >= 4 && memcmp(word, "env=", 4) == 0))
			break;
		run(boot_info, word);
	}
}

#endif /* GUEST_INTERFACE */

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	(void)cpu;
	run_all(boot_info);
	guest_print("done\n");
	return 0;
}
