/* The file hypercalls (open, close, read, write, lseek, unlink) of both interface versions. */
#include "file_hypercalls.h"

#include <errno.h>
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
	ssize_t n;

	if (fd == STDOUT_FILENO || fd == STDERR_FILENO) {
		if (output_write(&call->vm->output, host, len))
			vm_warn_guest(call->vm,
			       "writing %zu bytes of guest output failed", len);
		return (ssize_t)len;
	}
	n = write(fd, host, len);
	return n < 0 ? -errno : n;
}

static ssize_t read_piece(struct file_call *call, int fd, uint8_t *host,
			  size_t len)
{
	ssize_t n;

	(void)call;
	do {
		n = read(fd, host, len);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Returns the host descriptor behind guest descriptor `fd`, or -EBADF.
 * NOTE: only the standard streams exist until the virtual file tree is
 * connected; opening other files fails with -ENOENT. */
static int host_fd(struct file_call *call, int32_t fd)
{
	(void)call;
	if (fd >= 0 && fd <= 2)
		return fd;
	return -EBADF;
}

static ssize_t transfer(struct file_call *call, int32_t guest_fd,
			const struct buffer *buffer, piece_fn fn)
{
	int fd = host_fd(call, guest_fd);

	if (fd < 0)
		return fd;
	return for_each_piece(call, fd, buffer, fn);
}

static void warn_block(struct file_call *call, const char *what)
{
	vm_warn_guest(call->vm,
	       "%s block at %#llx lies outside guest memory; call ignored",
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

	if (!block)
		return warn_block(call, "FileOpen");
	block->ret = -ENOENT;
}

static void file_close(struct file_call *call)
{
	struct hermit_v1_file_close *block = GUEST_MEM_OBJECT(
		&call->vm->mem, call->block, struct hermit_v1_file_close);

	if (!block)
		return warn_block(call, "FileClose");
	block->ret = host_fd(call, block->fd) < 0 ? -EBADF : 0;
}

static void file_lseek(struct file_call *call)
{
	const struct guest_mem *mem = &call->vm->mem;

	if (call->version == 1) {
		struct hermit_v1_file_lseek *block = GUEST_MEM_OBJECT(
			mem, call->block, struct hermit_v1_file_lseek);

		if (!block)
			return warn_block(call, "FileLseek");
		block->offset = -1;
	} else {
		struct hermit_v2_file_lseek *block = GUEST_MEM_OBJECT(
			mem, call->block, struct hermit_v2_file_lseek);

		if (!block)
			return warn_block(call, "FileLseek");
		block->offset = host_fd(call, block->fd) < 0 ? -EBADF : -ESPIPE;
	}
}

static void file_unlink(struct file_call *call)
{
	struct hermit_v1_file_unlink *block = GUEST_MEM_OBJECT(
		&call->vm->mem, call->block, struct hermit_v1_file_unlink);

	if (!block)
		return warn_block(call, "FileUnlink");
	block->ret = -ENOENT;
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
