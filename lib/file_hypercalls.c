/* The file hypercalls (open, close, read, write, lseek, unlink). */
#include "file_hypercalls.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "uhyve/hermit_abi.h"

#include "hypercall.h"
#include "uhyve_private.h"
#include "x86_64/paging.h"

/* Calls `fn` on each host piece of a guest buffer until it returns less
 * than the piece's size or fails. */
typedef ssize_t (*piece_fn)(struct file_call *call, int fd, uint8_t *host,
			    size_t len);

struct buffer {
	uint64_t addr;
	uint64_t len;
	bool virtual; /* v1: guest-virtual, translated through cr3 */
};

/* Checks that every page of a guest-virtual buffer translates to guest
 * memory, so that a bad buffer fails as a whole before any I/O. A buffer
 * larger than guest memory is rejected first, which also bounds the walk. */
static bool virtual_range_valid(const struct guest_mem *mem, uint64_t cr3,
				const struct buffer *buffer)
{
	uint64_t checked = 0;

	if (buffer->len > mem->size ||
	    buffer->addr + buffer->len < buffer->addr)
		return false;
	while (checked < buffer->len) {
		uint64_t gpa;
		uint64_t piece;

		if (uhyve_arch_translate(mem, cr3, buffer->addr + checked, &gpa,
					 &piece))
			return false;
		if (piece > buffer->len - checked)
			piece = buffer->len - checked;
		if (!guest_mem_range(mem, gpa, piece))
			return false;
		checked += piece;
	}
	return true;
}

static ssize_t for_each_piece(struct file_call *call, int fd,
			      const struct buffer *buffer, piece_fn fn)
{
	const struct guest_mem *mem = &call->vm->mem;
	uint64_t done = 0;
	uint64_t cr3 = 0;

	if (!buffer->virtual) {
		uint8_t *host = guest_mem_range(mem, buffer->addr, buffer->len);

		if (!host)
			return -EFAULT;
		return fn(call, fd, host, buffer->len);
	}
	if (call->cpu->get_cr3(call->cpu->opaque, &cr3))
		return -EFAULT;
	if (!virtual_range_valid(mem, cr3, buffer))
		return -EFAULT;

	while (done < buffer->len) {
		uint64_t gpa;
		uint64_t piece;
		uint8_t *host;
		ssize_t n;

		if (uhyve_arch_translate(mem, cr3, buffer->addr + done, &gpa,
					 &piece))
			return done ? (ssize_t)done : -EFAULT;
		if (piece > buffer->len - done)
			piece = buffer->len - done;
		host = guest_mem_range(mem, gpa, piece);
		if (!host)
			return done ? (ssize_t)done : -EFAULT;
		n = fn(call, fd, host, piece);
		if (n < 0)
			return done ? (ssize_t)done : n;
		done += (uint64_t)n;
		if ((uint64_t)n < piece)
			break;
	}
	return (ssize_t)done;
}

static ssize_t write_piece(struct file_call *call, int fd, uint8_t *host,
			   size_t len)
{
	if (fd == STDOUT_FILENO || fd == STDERR_FILENO) {
		vm_output_failed(call->vm,
				 output_write(&call->vm->output, host, len));
		return (ssize_t)len;
	}
	if (fd == STDIN_FILENO)
		return -EBADF;
	return guest_files_write(&call->vm->files, fd, host, len);
}

/* How long a guest's read of standard input waits before it checks again
 * whether the run has ended, in milliseconds. */
#define STDIN_POLL_MS 100

/*
 * Reads the host's standard input for the guest. It waits with poll() in
 * slices, because the signal that ends a run may arrive just before read()
 * would block, and a blocked read() would then keep the vCPU thread, and
 * uhyve_vm_run(), waiting for input. Returns -EINTR once the run ends.
 */
ssize_t file_read_stdin(struct uhyve_vm *vm, uint8_t *host, size_t len)
{
	struct pollfd input = {.fd = STDIN_FILENO, .events = POLLIN};
	ssize_t n;
	int ready = 0;

	while (ready <= 0) {
		if (atomic_load(&vm->run_end) != RUN_END_NONE)
			return -EINTR;
		ready = poll(&input, 1, STDIN_POLL_MS);
		if (ready < 0 && errno != EINTR)
			return -errno;
	}
	n = read(STDIN_FILENO, host, len);
	return n < 0 ? -errno : n;
}

static ssize_t read_piece(struct file_call *call, int fd, uint8_t *host,
			  size_t len)
{
	if (fd == STDOUT_FILENO || fd == STDERR_FILENO)
		return -EBADF;
	if (fd != STDIN_FILENO)
		return guest_files_read(&call->vm->files, fd, host, len);
	return file_read_stdin(call->vm, host, len);
}

static ssize_t transfer(struct file_call *call, int32_t guest_fd,
			const struct buffer *buffer, piece_fn fn)
{
	if (guest_fd < 0)
		return -EBADF;
	return for_each_piece(call, guest_fd, buffer, fn);
}

/* Copies the guest's NUL-terminated path at `gpa` into host memory, so
 * that another vCPU changing it meanwhile cannot change what the host
 * checks and uses. Returns the copy (g_free), or NULL with *rc = -EFAULT
 * (outside memory), -ENAMETOOLONG or -EINVAL (not terminated before the
 * end of guest memory). */
static char *guest_path(struct file_call *call, uint64_t gpa, int *rc)
{
	const struct guest_mem *mem = &call->vm->mem;
	const char *path;
	size_t len;

	if (!guest_mem_range(mem, gpa, 1)) {
		*rc = -EFAULT;
		return NULL;
	}
	path = guest_mem_string(mem, gpa, PATH_MAX + 1, &len);
	if (!path) {
		*rc = guest_mem_range(mem, gpa, PATH_MAX + 1) ? -ENAMETOOLONG
							      : -EINVAL;
		return NULL;
	}
	return g_strndup(path, len);
}

static void warn_block(struct file_call *call, const char *what)
{
	vm_warn_guest(call->vm,
		      "%s block at %#llx is outside guest memory or "
		      "misaligned; call ignored",
		      what, (unsigned long long)call->block);
}

static void file_write(struct file_call *call)
{
	const struct guest_mem *mem = &call->vm->mem;

	if (call->version == 1) {
		struct hermit_v1_file_write *block = GUEST_MEM_OBJECT(
		    mem, call->block, struct hermit_v1_file_write);
		struct buffer buffer;

		if (!block)
			return warn_block(call, "FileWrite");
		buffer = (struct buffer){block->buf, block->len, true};
		/* v1 FileWrite has no result field. */
		(void)transfer(call, block->fd, &buffer, write_piece);
	} else {
		struct hermit_v2_file_write *block = GUEST_MEM_OBJECT(
		    mem, call->block, struct hermit_v2_file_write);
		struct buffer buffer;

		if (!block)
			return warn_block(call, "FileWrite");
		buffer = (struct buffer){block->buf, block->len, false};
		block->ret = transfer(call, block->fd, &buffer, write_piece);
	}
}

static void file_read(struct file_call *call)
{
	const struct guest_mem *mem = &call->vm->mem;

	if (call->version == 1) {
		struct hermit_v1_file_read *block = GUEST_MEM_OBJECT(
		    mem, call->block, struct hermit_v1_file_read);
		struct buffer buffer;

		if (!block)
			return warn_block(call, "FileRead");
		buffer = (struct buffer){block->buf, block->len, true};
		block->ret = transfer(call, block->fd, &buffer, read_piece);
	} else {
		struct hermit_v2_file_read *block = GUEST_MEM_OBJECT(
		    mem, call->block, struct hermit_v2_file_read);
		struct buffer buffer;

		if (!block)
			return warn_block(call, "FileRead");
		buffer = (struct buffer){block->buf, block->len, false};
		block->ret = transfer(call, block->fd, &buffer, read_piece);
	}
}

static void file_open(struct file_call *call)
{
	struct hermit_v1_file_open *block = GUEST_MEM_OBJECT(
	    &call->vm->mem, call->block, struct hermit_v1_file_open);
	char *path;
	int rc = 0;

	if (!block)
		return warn_block(call, "FileOpen");
	path = guest_path(call, block->name, &rc);
	if (path)
		rc = guest_files_open(&call->vm->files, path, block->flags,
				      block->mode);
	g_free(path);
	block->ret = rc;
}

static void file_close(struct file_call *call)
{
	struct hermit_v1_file_close *block = GUEST_MEM_OBJECT(
	    &call->vm->mem, call->block, struct hermit_v1_file_close);

	if (!block)
		return warn_block(call, "FileClose");
	if (block->fd >= 0 && block->fd <= 2)
		block->ret = 0;
	else
		block->ret = guest_files_close(&call->vm->files, block->fd);
}

static int64_t seek(struct file_call *call, int32_t fd, int64_t offset,
		    int whence)
{
	if (fd >= 0 && fd <= 2)
		return -ESPIPE;
	return guest_files_lseek(&call->vm->files, fd, offset, whence);
}

static void file_lseek(struct file_call *call)
{
	const struct guest_mem *mem = &call->vm->mem;

	if (call->version == 1) {
		struct hermit_v1_file_lseek *block = GUEST_MEM_OBJECT(
		    mem, call->block, struct hermit_v1_file_lseek);
		int64_t result;

		if (!block)
			return warn_block(call, "FileLseek");
		result = seek(call, block->fd, block->offset, block->whence);
		/* v1 reports every failure as -1. */
		block->offset = result < 0 ? -1 : result;
	} else {
		struct hermit_v2_file_lseek *block = GUEST_MEM_OBJECT(
		    mem, call->block, struct hermit_v2_file_lseek);

		if (!block)
			return warn_block(call, "FileLseek");
		block->offset =
		    seek(call, block->fd, block->offset, (int)block->whence);
	}
}

static void file_unlink(struct file_call *call)
{
	struct hermit_v1_file_unlink *block = GUEST_MEM_OBJECT(
	    &call->vm->mem, call->block, struct hermit_v1_file_unlink);
	char *path;
	int rc = 0;

	if (!block)
		return warn_block(call, "FileUnlink");
	path = guest_path(call, block->name, &rc);
	if (path)
		rc = guest_files_unlink(&call->vm->files, path);
	g_free(path);
	block->ret = rc;
}

void file_hypercall(struct file_call *call, enum file_call_kind kind)
{
	switch (kind) {
	case FILE_CALL_OPEN:
		return file_open(call);
	case FILE_CALL_CLOSE:
		return file_close(call);
	case FILE_CALL_READ:
		return file_read(call);
	case FILE_CALL_WRITE:
		return file_write(call);
	case FILE_CALL_LSEEK:
		return file_lseek(call);
	case FILE_CALL_UNLINK:
		return file_unlink(call);
	}
}
