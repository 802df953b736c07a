/* The file hypercalls (open, close, read, write, lseek, unlink). */
#ifndef UHYVE_FILE_HYPERCALLS_H
#define UHYVE_FILE_HYPERCALLS_H

#include <stdint.h>
#include <sys/types.h>

struct uhyve_vm;
struct hypercall_cpu;

enum file_call_kind {
	FILE_CALL_OPEN,
	FILE_CALL_CLOSE,
	FILE_CALL_READ,
	FILE_CALL_WRITE,
	FILE_CALL_LSEEK,
	FILE_CALL_UNLINK,
};

struct file_call {
	struct uhyve_vm *vm;
	const struct hypercall_cpu *cpu;
	uint64_t block;	  /* gpa of the parameter block */
	uint32_t version; /* interface version: 1 or 2 */
};

/* Carries out one file hypercall and stores its result in the parameter
 * block; a block outside guest memory is ignored with a warning. */
void file_hypercall(struct file_call *call, enum file_call_kind kind);

/* Reads the host's standard input for the guest, waiting in short polls
 * so that the end of the run interrupts the wait. Returns the count read,
 * -EINTR when the run ends first, or another negative errno. */
ssize_t file_read_stdin(struct uhyve_vm *vm, uint8_t *host, size_t len);

#endif /* UHYVE_FILE_HYPERCALLS_H */
