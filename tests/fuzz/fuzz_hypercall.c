/* libFuzzer target: the hypercall dispatcher of both interface versions against
 * fuzzer-filled guest memory and a fake vCPU. */
/*
 * No KVM is involved: a struct uhyve_vm is put together by hand around
 * guest memory that lies between PROT_NONE guard regions, so that any read
 * or write outside it crashes. The input is a fixed-size header of up to
 * CALL_SLOTS calls (port, written value, rdi and cr3 of the fake vCPU),
 * followed by the initial contents of guest memory.
 *
 * Each input gets a fresh set of guest files: a host directory mapped at
 * /data, a host file mapped at /etc/config.txt and a virtual file at
 * /proc/version. The host paths lie in a per-input directory, next to a
 * file that no guest path names. After the calls the target checks that this
 * file is unchanged and that the process has exactly as many descriptors as
 * before.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uhyve/hermit_abi.h"
#include "uhyve/uhyve.h"

#include "hypercall.h"
#include "uhyve_private.h"

#include "fuzz_common.h"

#define MEMORY_SIZE (64 * 1024)
#define CALL_SLOTS  8

/* Bits of call_record.cpu_flags that make the fake vCPU fail to read a
 * register. */
#define FAIL_RDI 0x1
#define FAIL_CR3 0x2

struct call_record {
	uint8_t port_index; /* an index into known_ports, else raw_port */
	uint8_t cpu_flags;
	uint16_t raw_port;
	uint32_t value; /* what the guest wrote to the port */
	uint64_t rdi;
	uint64_t cr3;
} __attribute__((packed));

struct input_header {
	uint8_t memory_start_index; /* an index into memory_starts */
	uint8_t call_count;	    /* 1 + call_count % CALL_SLOTS calls */
	struct call_record calls[CALL_SLOTS];
} __attribute__((packed));

/* Every port of both versions, and two that are not hypercalls. */
static const uint16_t known_ports[] = {
    HERMIT_V1_FILE_WRITE,
    HERMIT_V1_FILE_OPEN,
    HERMIT_V1_FILE_CLOSE,
    HERMIT_V1_FILE_READ,
    HERMIT_V1_EXIT,
    HERMIT_V1_FILE_LSEEK,
    HERMIT_V1_CMDSIZE,
    HERMIT_V1_CMDVAL,
    HERMIT_V1_UART,
    HERMIT_V1_FILE_UNLINK,
    HERMIT_V1_SERIAL_WRITE_BUFFER,
    HERMIT_V2_EXIT,
    HERMIT_V2_SERIAL_WRITE_BYTE,
    HERMIT_V2_SERIAL_WRITE_BUFFER,
    HERMIT_V2_SERIAL_READ_BYTE,
    HERMIT_V2_SERIAL_READ_BUFFER,
    HERMIT_V2_FILE_WRITE,
    HERMIT_V2_FILE_OPEN,
    HERMIT_V2_FILE_CLOSE,
    HERMIT_V2_FILE_READ,
    HERMIT_V2_FILE_LSEEK,
    HERMIT_V2_FILE_UNLINK,
    HERMIT_V2_SHARED_MEM_OPEN,
    HERMIT_V2_SHARED_MEM_CLOSE,
};

/* Guest-physical starts of memory: at 0, in the middle of the v1 range,
 * ending exactly at 4 GiB, and at the start of the v2 range. */
static const uint64_t memory_starts[] = {
    0,
    0x40000000ULL,
    0x100000000ULL - MEMORY_SIZE,
    HERMIT_V2_MEMORY_START,
};

static const char outside_text[] = "no guest path names this file\n";

/* State kept across inputs. */
static struct {
	uint8_t *memory;
	struct uhyve_config *config;
	struct v1_command_line command_line;
	char *base;  /* private directory of this process's files */
	pid_t owner; /* the process that created base */
} fuzz;

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_base(void)
{
	/* Forked replay tests inherit this handler; only the creator
	 * removes the directory. */
	if (getpid() == fuzz.owner)
		remove_tree(fuzz.base);
}

/* Creates `path` with `text`, without the fsync of g_file_set_contents(),
 * which would slow every input down. */
static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void build_command_line(void)
{
	GPtrArray *kernel_args = g_ptr_array_new();
	GPtrArray *app_args = g_ptr_array_new();
	GPtrArray *env = g_ptr_array_new();

	g_ptr_array_add(kernel_args, "kernel-arg");
	g_ptr_array_add(app_args, "app arg");
	g_ptr_array_add(env, "KEY=value");
	FUZZ_CHECK(v1_command_line_build("/fuzz/kernel", kernel_args, app_args,
					 env, &fuzz.command_line, NULL) == 0);
	g_ptr_array_unref(kernel_args);
	g_ptr_array_unref(app_args);
	g_ptr_array_unref(env);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	(void)argc;
	(void)argv;
	/* Guest reads of descriptor 0 must not wait for a terminal. */
	FUZZ_CHECK(null_fd >= 0);
	FUZZ_CHECK(dup2(null_fd, STDIN_FILENO) == STDIN_FILENO);
	close(null_fd);

	fuzz.memory = fuzz_guarded_alloc(MEMORY_SIZE);
	FUZZ_CHECK(fuzz.memory != NULL);
	fuzz.config = uhyve_config_new();
	FUZZ_CHECK(fuzz.config != NULL);
	FUZZ_CHECK(uhyve_config_set_output(fuzz.config, UHYVE_OUTPUT_NONE, NULL,
					   NULL) == 0);
	build_command_line();

	/* A tmpfs where there is one: creating and removing the per-input
	 * directories on a disk file system dominates the run time. */
	fuzz.base = g_build_filename(
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : g_get_tmp_dir(),
	    "uhyve-fuzz-XXXXXX", NULL);
	FUZZ_CHECK(g_mkdtemp(fuzz.base) != NULL);
	fuzz.owner = getpid();
	atexit(remove_base);
	return 0;
}

/* Creates the per-input directory with the mapped files and the file
 * outside every mapping. Returns its path (g_free). */
static char *make_input_dir(void)
{
	char *dir = g_build_filename(fuzz.base, "input-XXXXXX", NULL);
	char *path;

	FUZZ_CHECK(g_mkdtemp(dir) != NULL);
	path = g_build_filename(dir, "data", NULL);
	FUZZ_CHECK(mkdir(path, 0700) == 0);
	g_free(path);
	path = g_build_filename(dir, "data", "in.txt", NULL);
	write_file(path, "mapped input\n");
	g_free(path);
	path = g_build_filename(dir, "config.txt", NULL);
	write_file(path, "mapped=file\n");
	g_free(path);
	path = g_build_filename(dir, "outside.txt", NULL);
	write_file(path, outside_text);
	g_free(path);
	return dir;
}

static void setup_files(struct uhyve_vm *vm, const char *dir)
{
	char *data = g_build_filename(dir, "data", NULL);
	char *config = g_build_filename(dir, "config.txt", NULL);
	static const char version[] = "Hermit fuzz\n";

	guest_files_init(&vm->files, fuzz.base, 0);
	FUZZ_CHECK(guest_files_mount(&vm->files, data, "/data", NULL) == 0);
	FUZZ_CHECK(guest_files_mount(&vm->files, config, "/etc/config.txt",
				     NULL) == 0);
	FUZZ_CHECK(filetree_insert_virtual(vm->files.tree, "/proc/version",
					   version, strlen(version),
					   NULL) == 0);
	g_free(config);
	g_free(data);
}

static void check_outside_unchanged(const char *dir)
{
	char *path = g_build_filename(dir, "outside.txt", NULL);
	char *text = NULL;

	FUZZ_CHECK(g_file_get_contents(path, &text, NULL, NULL));
	FUZZ_CHECK(strcmp(text, outside_text) == 0);
	g_free(text);
	g_free(path);
}

static int get_rdi(void *opaque, uint64_t *rdi)
{
	const struct call_record *call = opaque;

	if (call->cpu_flags & FAIL_RDI)
		return -EIO;
	*rdi = call->rdi;
	return 0;
}

static int get_cr3(void *opaque, uint64_t *cr3)
{
	const struct call_record *call = opaque;

	if (call->cpu_flags & FAIL_CR3)
		return -EIO;
	*cr3 = call->cr3;
	return 0;
}

static uint16_t call_port(const struct call_record *call)
{
	if (call->port_index < G_N_ELEMENTS(known_ports))
		return known_ports[call->port_index];
	return call->raw_port;
}

/* Sends the calls until the guest exits. */
static void run_calls(struct uhyve_vm *vm, struct input_header *header)
{
	unsigned count = 1 + header->call_count % CALL_SLOTS;

	for (unsigned i = 0; i < count; i++) {
		struct call_record *call = &header->calls[i];
		struct hypercall_cpu cpu = {get_rdi, get_cr3, call};
		enum uhyve_hypercall_id id = UHYVE_HC_COUNT;
		enum hypercall_result result;
		int exit_code = 0;

		result = hypercall_dispatch(vm, &cpu, call_port(call),
					    call->value, &id, &exit_code);
		FUZZ_CHECK(result == HYPERCALL_NOT_HYPERCALL ||
			   result == HYPERCALL_CONTINUE ||
			   result == HYPERCALL_EXIT);
		if (result != HYPERCALL_NOT_HYPERCALL)
			FUZZ_CHECK((unsigned)id < UHYVE_HC_COUNT);
		if (result == HYPERCALL_EXIT)
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input_header header = {0};
	size_t header_size = size < sizeof(header) ? size : sizeof(header);
	size_t memory_bytes = size - header_size;
	/* Counted per input, because libFuzzer itself opens descriptors
	 * between inputs (for llvm-symbolizer, for example). */
	int fd_count = fuzz_count_fds();
	struct uhyve_vm vm = {0};
	char *dir;

	FUZZ_CHECK(fd_count > 0);
	memcpy(&header, data, header_size);
	if (memory_bytes > MEMORY_SIZE)
		memory_bytes = MEMORY_SIZE;
	memset(fuzz.memory, 0, MEMORY_SIZE);
	memcpy(fuzz.memory, data + header_size, memory_bytes);

	vm.config = fuzz.config;
	vm.mem.host = fuzz.memory;
	vm.mem.start = memory_starts[header.memory_start_index %
				     G_N_ELEMENTS(memory_starts)];
	vm.mem.size = MEMORY_SIZE;
	vm.command_line = fuzz.command_line;
	FUZZ_CHECK(output_open(&vm.output, UHYVE_OUTPUT_NONE, NULL, NULL) == 0);
	dir = make_input_dir();
	setup_files(&vm, dir);

	run_calls(&vm, &header);

	guest_files_destroy(&vm.files);
	output_close(&vm.output);
	check_outside_unchanged(dir);
	remove_tree(dir);
	g_free(dir);
	if (fuzz_count_fds() != fd_count) {
		fprintf(stderr, "%d descriptors were open before the input:\n",
			fd_count);
		fuzz_print_fds();
		FUZZ_CHECK(fuzz_count_fds() == fd_count);
	}
	return 0;
}
