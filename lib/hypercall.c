/* Hypercall dispatch: a table by port for interface versions 1 and 2. */
#include "hypercall.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "uhyve/hermit_abi.h"

#include "file_hypercalls.h"
#include "uhyve_private.h"
#include "x86_64/paging.h"

/* One call in progress: the VM, the calling vCPU and the argument, which
 * is the written value for v1 and rdi for v2. */
struct call {
	struct uhyve_vm *vm;
	const struct hypercall_cpu *cpu;
	uint64_t arg;
	int exit_code;
};

typedef enum hypercall_result (*handler_fn)(struct call *call);

struct hypercall {
	uint16_t port;
	uint8_t version;
	enum uhyve_hypercall_id id;
	handler_fn handle;
};

static const char *const hypercall_names[UHYVE_HC_COUNT] = {
    [UHYVE_HC_EXIT] = "Exit",
    [UHYVE_HC_SERIAL_WRITE_BYTE] = "SerialWriteByte",
    [UHYVE_HC_SERIAL_WRITE_BUFFER] = "SerialWriteBuffer",
    [UHYVE_HC_SERIAL_READ_BUFFER] = "SerialReadBuffer",
    [UHYVE_HC_CMDSIZE] = "Cmdsize",
    [UHYVE_HC_CMDVAL] = "Cmdval",
    [UHYVE_HC_FILE_OPEN] = "FileOpen",
    [UHYVE_HC_FILE_CLOSE] = "FileClose",
    [UHYVE_HC_FILE_READ] = "FileRead",
    [UHYVE_HC_FILE_WRITE] = "FileWrite",
    [UHYVE_HC_FILE_LSEEK] = "FileLseek",
    [UHYVE_HC_FILE_UNLINK] = "FileUnlink",
};

const char *uhyve_hypercall_name(enum uhyve_hypercall_id id)
{
	if ((unsigned)id >= UHYVE_HC_COUNT)
		return NULL;
	return hypercall_names[id];
}

/* Logs a rejected parameter block once per port, so that a guest cannot
 * flood the log. */
static void warn_bad_block(struct call *call, uint16_t port, const char *what)
{
	vm_warn_guest(
	    call->vm,
	    "port %#x: %s at %#llx is outside guest memory or misaligned; call "
	    "ignored",
	    port, what, (unsigned long long)call->arg);
}

static enum hypercall_result write_output(struct call *call, const void *data,
					  size_t len)
{
	vm_output_failed(call->vm, output_write(&call->vm->output, data, len));
	return HYPERCALL_CONTINUE;
}

static enum hypercall_result v1_exit(struct call *call)
{
	struct hermit_v1_exit *block =
	    GUEST_MEM_OBJECT(&call->vm->mem, call->arg, struct hermit_v1_exit);

	if (!block) {
		warn_bad_block(call, HERMIT_V1_EXIT, "Exit block");
		return HYPERCALL_CONTINUE;
	}
	call->exit_code = block->code;
	return HYPERCALL_EXIT;
}

static enum hypercall_result v2_exit(struct call *call)
{
	call->exit_code = (int32_t)(uint32_t)call->arg;
	return HYPERCALL_EXIT;
}

static enum hypercall_result serial_write_byte(struct call *call)
{
	uint8_t byte = (uint8_t)call->arg;

	return write_output(call, &byte, 1);
}

static enum hypercall_result
write_guest_buffer(struct call *call, uint16_t port, uint64_t buf, uint64_t len)
{
	const void *data = guest_mem_range(&call->vm->mem, buf, len);

	if (!data) {
		vm_warn_guest(
		    call->vm,
		    "port %#x: buffer [%#llx, +%llu) lies outside guest "
		    "memory; call ignored",
		    port, (unsigned long long)buf, (unsigned long long)len);
		return HYPERCALL_CONTINUE;
	}
	return write_output(call, data, len);
}

static enum hypercall_result v1_serial_write_buffer(struct call *call)
{
	struct hermit_v1_serial_write_buffer *block = GUEST_MEM_OBJECT(
	    &call->vm->mem, call->arg, struct hermit_v1_serial_write_buffer);

	if (!block) {
		warn_bad_block(call, HERMIT_V1_SERIAL_WRITE_BUFFER,
			       "SerialWriteBuffer block");
		return HYPERCALL_CONTINUE;
	}
	return write_guest_buffer(call, HERMIT_V1_SERIAL_WRITE_BUFFER,
				  block->buf, block->len);
}

static enum hypercall_result v2_serial_write_buffer(struct call *call)
{
	struct hermit_v2_serial_write_buffer *block = GUEST_MEM_OBJECT(
	    &call->vm->mem, call->arg, struct hermit_v2_serial_write_buffer);

	if (!block) {
		warn_bad_block(call, HERMIT_V2_SERIAL_WRITE_BUFFER,
			       "SerialWriteBuffer block");
		return HYPERCALL_CONTINUE;
	}
	return write_guest_buffer(call, HERMIT_V2_SERIAL_WRITE_BUFFER,
				  block->buf, block->len);
}

static enum hypercall_result v2_serial_read_buffer(struct call *call)
{
	struct hermit_v2_serial_read_buffer *block = GUEST_MEM_OBJECT(
	    &call->vm->mem, call->arg, struct hermit_v2_serial_read_buffer);
	void *buf;
	ssize_t got;

	if (!block) {
		warn_bad_block(call, HERMIT_V2_SERIAL_READ_BUFFER,
			       "SerialReadBuffer block");
		return HYPERCALL_CONTINUE;
	}
	block->len = 0;
	buf = guest_mem_range(&call->vm->mem, block->buf, block->maxlen);
	if (!buf) {
		warn_bad_block(call, HERMIT_V2_SERIAL_READ_BUFFER,
			       "SerialReadBuffer buffer");
		return HYPERCALL_CONTINUE;
	}
	got = file_read_stdin(call->vm, buf, block->maxlen);
	if (got > 0)
		block->len = (uint64_t)got;
	return HYPERCALL_CONTINUE;
}

static enum hypercall_result v1_cmdsize(struct call *call)
{
	struct hermit_v1_cmdsize *block = GUEST_MEM_OBJECT(
	    &call->vm->mem, call->arg, struct hermit_v1_cmdsize);
	GPtrArray *argv = call->vm->command_line.argv;
	GPtrArray *envp = call->vm->command_line.envp;

	if (!block) {
		warn_bad_block(call, HERMIT_V1_CMDSIZE, "Cmdsize block");
		return HYPERCALL_CONTINUE;
	}
	if (!argv || !envp) {
		vm_warn_guest(call->vm, "Cmdsize from an interface v2 kernel; "
					"call ignored");
		return HYPERCALL_CONTINUE;
	}
	memset(block, 0, sizeof(*block));
	block->argc = (int32_t)argv->len;
	for (guint i = 0; i < argv->len; i++)
		block->argsz[i] = (int32_t)strlen(argv->pdata[i]) + 1;
	block->envc = (int32_t)envp->len;
	for (guint i = 0; i < envp->len; i++)
		block->envsz[i] = (int32_t)strlen(envp->pdata[i]) + 1;
	return HYPERCALL_CONTINUE;
}

/* Writes each string of `strings` to the gpa stored in the guest's array
 * at `array`. Stops at the first slot or string that is out of range. */
static void copy_strings_to_guest(struct call *call, uint64_t array,
				  GPtrArray *strings, const char *what)
{
	const struct guest_mem *mem = &call->vm->mem;
	const uint64_t *slots = guest_mem_range(
	    mem, array, (uint64_t)strings->len * sizeof(uint64_t));

	if (!slots) {
		vm_warn_guest(
		    call->vm,
		    "Cmdval: %s array at %#llx lies outside guest memory", what,
		    (unsigned long long)array);
		return;
	}
	for (guint i = 0; i < strings->len; i++) {
		const char *string = strings->pdata[i];
		size_t size = strlen(string) + 1;
		uint64_t target;
		void *dest;

		memcpy(&target, &slots[i], sizeof(target));
		dest = guest_mem_range(mem, target, size);
		if (!dest) {
			vm_warn_guest(
			    call->vm,
			    "Cmdval: %s %u at %#llx lies outside guest "
			    "memory",
			    what, i, (unsigned long long)target);
			return;
		}
		memcpy(dest, string, size);
	}
}

static enum hypercall_result v1_cmdval(struct call *call)
{
	struct hermit_v1_cmdval *block = GUEST_MEM_OBJECT(
	    &call->vm->mem, call->arg, struct hermit_v1_cmdval);
	struct hermit_v1_cmdval copy;

	if (!block) {
		warn_bad_block(call, HERMIT_V1_CMDVAL, "Cmdval block");
		return HYPERCALL_CONTINUE;
	}
	if (!call->vm->command_line.argv) {
		vm_warn_guest(call->vm, "Cmdval from an interface v2 kernel; "
					"call ignored");
		return HYPERCALL_CONTINUE;
	}
	memcpy(&copy, block, sizeof(copy));
	copy_strings_to_guest(call, copy.argv, call->vm->command_line.argv,
			      "argument");
	copy_strings_to_guest(call, copy.envp, call->vm->command_line.envp,
			      "environment");
	return HYPERCALL_CONTINUE;
}

/* The file hypercalls take the same context as the others. */
static enum hypercall_result
file_call(struct call *call, enum file_call_kind kind, uint32_t version)
{
	struct file_call file = {
	    .vm = call->vm,
	    .cpu = call->cpu,
	    .block = call->arg,
	    .version = version,
	};

	file_hypercall(&file, kind);
	return HYPERCALL_CONTINUE;
}

#define FILE_HANDLERS(kind, name)                                              \
	static enum hypercall_result v1_##name(struct call *call)              \
	{                                                                      \
		return file_call(call, kind, 1);                               \
	}                                                                      \
	static enum hypercall_result v2_##name(struct call *call)              \
	{                                                                      \
		return file_call(call, kind, 2);                               \
	}

FILE_HANDLERS(FILE_CALL_OPEN, file_open)
FILE_HANDLERS(FILE_CALL_CLOSE, file_close)
FILE_HANDLERS(FILE_CALL_READ, file_read)
FILE_HANDLERS(FILE_CALL_WRITE, file_write)
FILE_HANDLERS(FILE_CALL_LSEEK, file_lseek)
FILE_HANDLERS(FILE_CALL_UNLINK, file_unlink)

static const struct hypercall hypercalls[] = {
    {HERMIT_V1_FILE_WRITE, 1, UHYVE_HC_FILE_WRITE, v1_file_write},
    {HERMIT_V1_FILE_OPEN, 1, UHYVE_HC_FILE_OPEN, v1_file_open},
    {HERMIT_V1_FILE_CLOSE, 1, UHYVE_HC_FILE_CLOSE, v1_file_close},
    {HERMIT_V1_FILE_READ, 1, UHYVE_HC_FILE_READ, v1_file_read},
    {HERMIT_V1_EXIT, 1, UHYVE_HC_EXIT, v1_exit},
    {HERMIT_V1_FILE_LSEEK, 1, UHYVE_HC_FILE_LSEEK, v1_file_lseek},
    {HERMIT_V1_CMDSIZE, 1, UHYVE_HC_CMDSIZE, v1_cmdsize},
    {HERMIT_V1_CMDVAL, 1, UHYVE_HC_CMDVAL, v1_cmdval},
    {HERMIT_V1_UART, 1, UHYVE_HC_SERIAL_WRITE_BYTE, serial_write_byte},
    {HERMIT_V1_FILE_UNLINK, 1, UHYVE_HC_FILE_UNLINK, v1_file_unlink},
    {HERMIT_V1_SERIAL_WRITE_BUFFER, 1, UHYVE_HC_SERIAL_WRITE_BUFFER,
     v1_serial_write_buffer},
    {HERMIT_V2_EXIT, 2, UHYVE_HC_EXIT, v2_exit},
    {HERMIT_V2_SERIAL_WRITE_BYTE, 2, UHYVE_HC_SERIAL_WRITE_BYTE,
     serial_write_byte},
    {HERMIT_V2_SERIAL_WRITE_BUFFER, 2, UHYVE_HC_SERIAL_WRITE_BUFFER,
     v2_serial_write_buffer},
    {HERMIT_V2_SERIAL_READ_BUFFER, 2, UHYVE_HC_SERIAL_READ_BUFFER,
     v2_serial_read_buffer},
    {HERMIT_V2_FILE_WRITE, 2, UHYVE_HC_FILE_WRITE, v2_file_write},
    {HERMIT_V2_FILE_OPEN, 2, UHYVE_HC_FILE_OPEN, v2_file_open},
    {HERMIT_V2_FILE_CLOSE, 2, UHYVE_HC_FILE_CLOSE, v2_file_close},
    {HERMIT_V2_FILE_READ, 2, UHYVE_HC_FILE_READ, v2_file_read},
    {HERMIT_V2_FILE_LSEEK, 2, UHYVE_HC_FILE_LSEEK, v2_file_lseek},
    {HERMIT_V2_FILE_UNLINK, 2, UHYVE_HC_FILE_UNLINK, v2_file_unlink},
};

static const struct hypercall *find_hypercall(uint16_t port)
{
	for (size_t i = 0; i < G_N_ELEMENTS(hypercalls); i++) {
		if (hypercalls[i].port == port)
			return &hypercalls[i];
	}
	return NULL;
}

enum hypercall_result hypercall_dispatch(struct uhyve_vm *vm,
					 const struct hypercall_cpu *cpu,
					 uint16_t port, uint32_t value,
					 enum uhyve_hypercall_id *id,
					 int *exit_code)
{
	const struct hypercall *hypercall = find_hypercall(port);
	struct call call = {.vm = vm, .cpu = cpu, .arg = value};
	enum hypercall_result result;

	if (!hypercall)
		return HYPERCALL_NOT_HYPERCALL;
	*id = hypercall->id;

	if (hypercall->version == 2 && cpu->get_rdi(cpu->opaque, &call.arg)) {
		vm_warn_guest(vm, "port %#x: reading rdi failed; call ignored",
			      port);
		return HYPERCALL_CONTINUE;
	}

	result = hypercall->handle(&call);
	if (result == HYPERCALL_EXIT)
		*exit_code = call.exit_code;
	return result;
}
