/* Hermit notes, C entry, output and string functions of the test guests. */
#include "runtime.h"

/* An ELF note with a 4-byte descriptor: 12-byte header, name padded to 8. */
struct guest_note {
	uint32_t namesz;
	uint32_t descsz;
	uint32_t type;
	char name[8];
	uint8_t desc[4];
};

__attribute__((section(".note.hermit.entry-version"), aligned(4),
	       used)) static const struct guest_note entry_version_note = {
    .namesz = sizeof(HERMIT_NOTE_NAME),
    .descsz = 1,
    .type = HERMIT_NOTE_ENTRY_VERSION,
    .name = HERMIT_NOTE_NAME,
    .desc = {HERMIT_ENTRY_VERSION},
};

/* The interface version is a big-endian u32. */
__attribute__((section(".note.hermit.uhyve-interface-version"), aligned(4),
	       used)) static const struct guest_note interface_version_note = {
    .namesz = sizeof(HERMIT_NOTE_UHYVEIF_NAME),
    .descsz = 4,
    .type = HERMIT_NOTE_UHYVEIF,
    .name = HERMIT_NOTE_UHYVEIF_NAME,
    .desc = {0, 0, 0, GUEST_INTERFACE},
};

void guest_entry(uint64_t boot_info_gpa, uint64_t cpu);

__attribute__((weak)) void
guest_ap_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	(void)boot_info;
	(void)cpu;
}

/* Called by _start on every vCPU, already on its own stack. */
void guest_entry(uint64_t boot_info_gpa, uint64_t cpu)
{
	const struct hermit_boot_info *boot_info =
	    (const struct hermit_boot_info *)(uintptr_t)boot_info_gpa;

	if (cpu == 0)
		guest_exit(guest_main(boot_info, 0));
	guest_ap_main(boot_info, (unsigned)cpu);
	/* _start halts this vCPU when guest_entry returns. */
}

void guest_write(const char *buf, uint64_t len)
{
#if GUEST_INTERFACE == 1
	struct hermit_v1_serial_write_buffer block = {
	    .buf = (uintptr_t)buf,
	    .len = len,
	};

	guest_hypercall(HERMIT_V1_SERIAL_WRITE_BUFFER, (uintptr_t)&block);
#else
	struct hermit_v2_serial_write_buffer block = {
	    .len = len,
	    .buf = (uintptr_t)buf,
	};

	guest_hypercall(HERMIT_V2_SERIAL_WRITE_BUFFER, (uintptr_t)&block);
#endif
}

/* Hermit 0.6.9 kernels send the Uart byte with an 8-bit out, and so does
 * this runtime. */
void guest_write_byte(char byte)
{
#if GUEST_INTERFACE == 1
	guest_out8(HERMIT_V1_UART, (uint8_t)byte);
#else
	guest_out_v2(HERMIT_V2_SERIAL_WRITE_BYTE, (uint8_t)byte);
#endif
}

void guest_print(const char *str)
{
	guest_write(str, strlen(str));
}

void guest_print_u64(uint64_t value)
{
	char digits[20];
	size_t start = sizeof(digits);

	do {
		digits[--start] = (char)('0' + value % 10);
		value /= 10;
	} while (value != 0);
	guest_write(digits + start, sizeof(digits) - start);
}

void guest_print_i64(int64_t value)
{
	if (value < 0) {
		guest_print("-");
		guest_print_u64(-(uint64_t)value);
		return;
	}
	guest_print_u64((uint64_t)value);
}

void guest_print_hex(uint64_t value)
{
	static const char hex[] = "0123456789abcdef";
	char digits[2 + 16];
	size_t start = sizeof(digits);

	do {
		digits[--start] = hex[value & 0xf];
		value >>= 4;
	} while (value != 0);
	digits[--start] = 'x';
	digits[--start] = '0';
	guest_write(digits + start, sizeof(digits) - start);
}

/* The host ends the VM on Exit, so the hlt loop runs only if it does not. */
_Noreturn void guest_exit(int code)
{
#if GUEST_INTERFACE == 1
	struct hermit_v1_exit block = {.code = code};

	guest_hypercall(HERMIT_V1_EXIT, (uintptr_t)&block);
#else
	guest_out_v2(HERMIT_V2_EXIT, (uint32_t)code);
#endif
	for (;;)
		__asm__ volatile("hlt");
}

/* String instructions instead of C loops, so that gcc cannot turn the loops
 * back into calls to memcpy and memset themselves. */
void *memcpy(void *dest, const void *src, size_t len)
{
	void *ret = dest;

	__asm__ volatile("rep movsb"
			 : "+D"(dest), "+S"(src), "+c"(len)
			 :
			 : "memory");
	return ret;
}

void *memmove(void *dest, const void *src, size_t len)
{
	unsigned char *d = dest;
	const unsigned char *s = src;

	if (len == 0 || d <= s || d >= s + len)
		return memcpy(dest, src, len);

	/* Overlap with dest above src: copy from the last byte down. */
	d += len - 1;
	s += len - 1;
	__asm__ volatile("std\n\trep movsb\n\tcld"
			 : "+D"(d), "+S"(s), "+c"(len)
			 :
			 : "memory");
	return dest;
}

void *memset(void *dest, int byte, size_t len)
{
	void *ret = dest;

	__asm__ volatile("rep stosb"
			 : "+D"(dest), "+c"(len)
			 : "a"(byte)
			 : "memory");
	return ret;
}

int memcmp(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a;
	const unsigned char *y = b;

	for (size_t i = 0; i < len; i++) {
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	}
	return 0;
}

size_t strlen(const char *str)
{
	size_t len = 0;

	while (str[len] != '\0')
		len++;
	return len;
}

int guest_streq(const char *a, const char *b)
{
	size_t len = strlen(a);

	return len == strlen(b) && memcmp(a, b, len) == 0;
}
