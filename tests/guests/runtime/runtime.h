/* Freestanding runtime of the test guests: entry, hypercalls, output. */
/*
 * A guest defines guest_main() and is built with -DGUEST_INTERFACE=1 or 2,
 * the hypercall interface version it announces in its UHYVEIF note. Page
 * tables map guest memory 1:1, so the address of any object is its gpa.
 * Parameter blocks live on the caller's stack, so the calls are safe to use
 * from several vCPUs at once.
 */
#ifndef GUEST_RUNTIME_H
#define GUEST_RUNTIME_H

/* Number of vCPUs that get a stack. vCPU 0 uses the boot stack and the
 * others a GUEST_AP_STACK_SIZE slice of a static array. Higher-numbered
 * vCPUs halt at entry. */
#define GUEST_MAX_CPUS	     16
#define GUEST_AP_STACK_SHIFT 14
#define GUEST_AP_STACK_SIZE  (1 << GUEST_AP_STACK_SHIFT)

#ifndef __ASSEMBLER__

#include <stddef.h>
#include <stdint.h>
#include <uhyve/hermit_abi.h>

#if !defined(GUEST_INTERFACE) || (GUEST_INTERFACE != 1 && GUEST_INTERFACE != 2)
#error "build guests with -DGUEST_INTERFACE=1 or -DGUEST_INTERFACE=2"
#endif

/* Linux errno values, as Hermit uses them. */
#define GUEST_ENOENT 2
#define GUEST_EBADF  9
#define GUEST_EFAULT 14
#define GUEST_EINVAL 22
#define GUEST_ENOSYS 38

/* Value preset in a result field, so a call the host leaves unanswered
 * reads as "not implemented". */
#define GUEST_RET_UNSET (-GUEST_ENOSYS)

/* Runs on vCPU 0. Its return value becomes the VM's exit code. */
int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu);
/* Runs on every other vCPU, which halts when it returns. The weak default
 * returns at once. */
void guest_ap_main(const struct hermit_boot_info *boot_info, unsigned cpu);

/* Port I/O. Interface v1 passes the value in eax. Interface v2 passes it in
 * rdi and ignores eax, which guest_out_v2 sets to the low half anyway. */
static inline void guest_out8(uint16_t port, uint8_t value)
{
	__asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline void guest_out32(uint16_t port, uint32_t value)
{
	__asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline uint32_t guest_in32(uint16_t port)
{
	uint32_t value;

	__asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port) : "memory");
	return value;
}

static inline void guest_out_v2(uint16_t port, uint64_t rdi)
{
	__asm__ volatile("outl %%eax, %%dx"
			 :
			 : "a"((uint32_t)rdi), "d"(port), "D"(rdi)
			 : "memory");
}

static inline void guest_pause(void)
{
	__asm__ volatile("pause" : : : "memory");
}

/* Sends a hypercall whose parameter block is at gpa, in this guest's
 * interface version. Interface v1 truncates gpa to 32 bits. */
void guest_hypercall(uint16_t port, uint64_t gpa);

void guest_write(const char *buf, uint64_t len);
void guest_write_byte(char byte);
void guest_print(const char *str);
void guest_print_u64(uint64_t value);
void guest_print_i64(int64_t value);
void guest_print_hex(uint64_t value);
_Noreturn void guest_exit(int code);

/* File calls return the host's result field: a descriptor, count or offset,
 * or -errno. Interface v1 FileWrite has no result field, so guest_write_fd
 * returns len there, and v1 FileLseek reports any failure as -1. */
int guest_open(const char *path, int flags, int mode);
int guest_close(int fd);
int64_t guest_read(int fd, void *buf, uint64_t len);
int64_t guest_write_fd(int fd, const void *buf, uint64_t len);
int64_t guest_lseek(int fd, int64_t offset, int whence);
int guest_unlink(const char *path);

/* Arguments and environment fetched with Cmdsize and Cmdval (interface v1). */
struct guest_args {
	int argc;
	int envc;
	char *argv[HERMIT_V1_MAX_ARGS];
	char *envp[HERMIT_V1_MAX_ENVS];
};

/* Fetches the arguments once and caches them. Returns NULL when the host's
 * sizes are invalid or do not fit the static string pool. vCPU 0 only. */
const struct guest_args *guest_load_args(void);

/* Returns the value of property prop of the root's child node (name, with
 * or without a unit address) in the device tree fdt, or NULL. */
const void *guest_fdt_property(const void *fdt, const char *node,
			       const char *prop, uint32_t *len);
/* Returns /chosen/bootargs as a NUL-terminated string, or NULL. */
const char *guest_bootargs(const struct hermit_boot_info *boot_info);
/* Copies kernel argument 1 (v1: argv[1]; v2: the first bootargs word
 * unless it is "--" or an env= word) into buf. Returns its length, or -1
 * when there is none or it does not fit. */
int guest_first_arg(const struct hermit_boot_info *boot_info, char *buf,
		    size_t size);

static inline void guest_spin_lock(int *lock)
{
	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(lock, __ATOMIC_RELAXED))
			guest_pause();
}

static inline void guest_spin_unlock(int *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

/* gcc may emit calls to these even in freestanding code. */
void *memcpy(void *dest, const void *src, size_t len);
void *memmove(void *dest, const void *src, size_t len);
void *memset(void *dest, int byte, size_t len);
int memcmp(const void *a, const void *b, size_t len);
size_t strlen(const char *str);
int guest_streq(const char *a, const char *b);

#endif /* __ASSEMBLER__ */
#endif /* GUEST_RUNTIME_H */
