/* Hypercall wrappers of the test guests for interface versions 1 and 2. */
#include "runtime.h"

#if GUEST_INTERFACE == 1
#define PORT(v1, v2) (v1)
#else
#define PORT(v1, v2) (v2)
#endif

void guest_hypercall(uint16_t port, uint64_t gpa)
{
#if GUEST_INTERFACE == 1
	guest_out32(port, (uint32_t)gpa);
#else
	guest_out_v2(port, gpa);
#endif
}

int guest_open(const char *path, int flags, int mode)
{
	struct hermit_v1_file_open block = {
	    .name = (uintptr_t)path,
	    .flags = flags,
	    .mode = mode,
	    .ret = GUEST_RET_UNSET,
	};

	guest_hypercall(PORT(HERMIT_V1_FILE_OPEN, HERMIT_V2_FILE_OPEN),
			(uintptr_t)&block);
	return block.ret;
}

int guest_close(int fd)
{
	struct hermit_v1_file_close block = {
	    .fd = fd,
	    .ret = GUEST_RET_UNSET,
	};

	guest_hypercall(PORT(HERMIT_V1_FILE_CLOSE, HERMIT_V2_FILE_CLOSE),
			(uintptr_t)&block);
	return block.ret;
}

int guest_unlink(const char *path)
{
	struct hermit_v1_file_unlink block = {
	    .name = (uintptr_t)path,
	    .ret = GUEST_RET_UNSET,
	};

	guest_hypercall(PORT(HERMIT_V1_FILE_UNLINK, HERMIT_V2_FILE_UNLINK),
			(uintptr_t)&block);
	return block.ret;
}

#if GUEST_INTERFACE == 1

int64_t guest_read(int fd, void *buf, uint64_t len)
{
	struct hermit_v1_file_read block = {
	    .fd = fd,
	    .buf = (uintptr_t)buf,
	    .len = len,
	    .ret = GUEST_RET_UNSET,
	};

	guest_hypercall(HERMIT_V1_FILE_READ, (uintptr_t)&block);
	return block.ret;
}

int64_t guest_write_fd(int fd, const void *buf, uint64_t len)
{
	struct hermit_v1_file_write block = {
	    .fd = fd,
	    .buf = (uintptr_t)buf,
	    .len = len,
	};

	guest_hypercall(HERMIT_V1_FILE_WRITE, (uintptr_t)&block);
	return (int64_t)len;
}

int64_t guest_lseek(int fd, int64_t offset, int whence)
{
	struct hermit_v1_file_lseek block = {
	    .fd = fd,
	    .offset = offset,
	    .whence = whence,
	};

	guest_hypercall(HERMIT_V1_FILE_LSEEK, (uintptr_t)&block);
	return block.offset;
}

#else /* GUEST_INTERFACE == 2 */

int64_t guest_read(int fd, void *buf, uint64_t len)
{
	struct hermit_v2_file_read block = {
	    .len = len,
	    .ret = GUEST_RET_UNSET,
	    .buf = (uintptr_t)buf,
	    .fd = fd,
	};

	guest_hypercall(HERMIT_V2_FILE_READ, (uintptr_t)&block);
	return block.ret;
}

int64_t guest_write_fd(int fd, const void *buf, uint64_t len)
{
	struct hermit_v2_file_write block = {
	    .len = len,
	    .ret = GUEST_RET_UNSET,
	    .buf = (uintptr_t)buf,
	    .fd = fd,
	};

	guest_hypercall(HERMIT_V2_FILE_WRITE, (uintptr_t)&block);
	return block.ret;
}

int64_t guest_lseek(int fd, int64_t offset, int whence)
{
	struct hermit_v2_file_lseek block = {
	    .offset = offset,
	    .whence = (uint32_t)whence,
	    .fd = fd,
	};

	guest_hypercall(HERMIT_V2_FILE_LSEEK, (uintptr_t)&block);
	return block.offset;
}

#endif /* GUEST_INTERFACE */

#define ARG_POOL_SIZE (64 * 1024)

static struct guest_args args;
static struct hermit_v1_cmdsize cmdsize;
static uint64_t argv_gpas[HERMIT_V1_MAX_ARGS];
static uint64_t envp_gpas[HERMIT_V1_MAX_ENVS];
static char arg_pool[ARG_POOL_SIZE];
static size_t arg_pool_used;

/* Takes size bytes of the pool for one string. Returns NULL if the size is
 * invalid or does not fit. */
static char *alloc_string(int32_t size)
{
	char *str;

	if (size <= 0 || (size_t)size > ARG_POOL_SIZE - arg_pool_used)
		return NULL;
	str = arg_pool + arg_pool_used;
	arg_pool_used += (size_t)size;
	return str;
}

/* Points argv_gpas and envp_gpas at pool space of the announced sizes. */
static int alloc_args(void)
{
	if (cmdsize.argc < 0 || cmdsize.argc > HERMIT_V1_MAX_ARGS ||
	    cmdsize.envc < 0 || cmdsize.envc > HERMIT_V1_MAX_ENVS)
		return -1;

	for (int i = 0; i < cmdsize.argc; i++) {
		args.argv[i] = alloc_string(cmdsize.argsz[i]);
		if (args.argv[i] == NULL)
			return -1;
		argv_gpas[i] = (uintptr_t)args.argv[i];
	}
	for (int i = 0; i < cmdsize.envc; i++) {
		args.envp[i] = alloc_string(cmdsize.envsz[i]);
		if (args.envp[i] == NULL)
			return -1;
		envp_gpas[i] = (uintptr_t)args.envp[i];
	}
	args.argc = cmdsize.argc;
	args.envc = cmdsize.envc;
	return 0;
}

/* Cuts every string at its announced size, in case the host wrote a longer
 * or unterminated one. */
static void terminate_args(void)
{
	for (int i = 0; i < args.argc; i++)
		args.argv[i][cmdsize.argsz[i] - 1] = '\0';
	for (int i = 0; i < args.envc; i++)
		args.envp[i][cmdsize.envsz[i] - 1] = '\0';
}

const struct guest_args *guest_load_args(void)
{
	static int state; /* 0: not fetched, 1: fetched, -1: failed */
	struct hermit_v1_cmdval cmdval = {
	    .argv = (uintptr_t)argv_gpas,
	    .envp = (uintptr_t)envp_gpas,
	};

	if (state != 0)
		return state > 0 ? &args : NULL;

	state = -1;
	cmdsize.argc = -1;
	guest_out32(HERMIT_V1_CMDSIZE, (uint32_t)(uintptr_t)&cmdsize);
	if (alloc_args() < 0)
		return NULL;
	guest_out32(HERMIT_V1_CMDVAL, (uint32_t)(uintptr_t)&cmdval);
	terminate_args();
	state = 1;
	return &args;
}
