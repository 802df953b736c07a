/* The boot and hypercall contract between a Hermit kernel and its hypervisor on
 * x86_64. */
/*
 * Shared by the host (libuhyve) and by the project's own test guests, so it
 * uses only <stdint.h> and builds freestanding. All integers are
 * little-endian except the UHYVEIF note descriptor, which is big-endian.
 *
 * IN means the guest fills the field for the host; OUT means the host fills
 * it for the guest.
 */
#ifndef UHYVE_HERMIT_ABI_H
#define UHYVE_HERMIT_ABI_H

#include <stdint.h>

#define UHYVE_ABI_VERSION 1

/* ELF notes that identify a Hermit kernel. */
#define HERMIT_NOTE_NAME	  "HERMIT"
#define HERMIT_NOTE_ENTRY_VERSION 0x5a00
#define HERMIT_ENTRY_VERSION	  4
#define HERMIT_NOTE_UHYVEIF_NAME  "UHYVEIF"
#define HERMIT_NOTE_UHYVEIF	  0x5b00
#define HERMIT_GNU_ABI_TAG_OS	  6

/* Offsets from the start of guest-physical memory (G). */
#define HERMIT_GDT_OFFSET	      0x1000
#define HERMIT_FDT_OFFSET	      0x5000
#define HERMIT_FDT_MAX_SIZE	      (0x9000 - 0x5000)
#define HERMIT_BOOT_INFO_OFFSET	      0x9000
#define HERMIT_PML4_OFFSET	      0x10000
#define HERMIT_PAGE_TABLES_END_OFFSET 0x30000
#define HERMIT_KERNEL_OFFSET	      0x40000
/* The boot stack pointer is the kernel address minus this value. */
#define HERMIT_BOOT_STACK_GAP 0x8000

/* Ranges where guest memory may lie, per interface version. */
#define HERMIT_V1_MEMORY_END   0xC0000000ULL
#define HERMIT_V2_MEMORY_START 0x100000000ULL
#define HERMIT_V2_MEMORY_END   0x1000000000ULL

/* Serial port numbers written into the boot information. */
#define HERMIT_V1_SERIAL_PORT 0x800
#define HERMIT_V2_SERIAL_PORT 0x1030

#define HERMIT_PLATFORM_UHYVE 1

/* Boot information at G + HERMIT_BOOT_INFO_OFFSET, 128 bytes, all OUT. */
struct hermit_boot_info {
	uint64_t phys_addr_start; /* 0: G */
	uint64_t phys_addr_end;	  /* 8: G + memory size */
	uint16_t serial_port;	  /* 16: 0 when there is none */
	uint8_t pad0[6];
	uint64_t fdt_addr;     /* 24: gpa of the device tree, 0 = none */
	uint64_t kernel_start; /* 32: K */
	uint64_t kernel_end;   /* 40: K + load span */
	uint64_t tls_start;    /* 48: 0 without PT_TLS */
	uint64_t tls_filesz;   /* 56 */
	uint64_t tls_memsz;    /* 64 */
	uint64_t tls_align;    /* 72 */
	uint32_t platform;     /* 80: HERMIT_PLATFORM_UHYVE */
	uint8_t pad1[4];
	uint8_t has_pci; /* 88 */
	uint8_t pad2[7];
	uint64_t cpu_count;    /* 96: never 0 */
	uint32_t cpu_freq_khz; /* 104: 0 = unknown */
	uint8_t pad3[4];
	uint64_t boot_time_ns[2]; /* 112: signed 128-bit ns since the epoch */
};

_Static_assert(sizeof(struct hermit_boot_info) == 128,
	       "boot info is 128 bytes");

/* Interface version 1: port numbers. The value written is the 32-bit gpa
 * of the parameter block, except for HERMIT_V1_UART (the byte itself). */
enum hermit_v1_port {
	HERMIT_V1_FILE_WRITE = 0x400,
	HERMIT_V1_FILE_OPEN = 0x440,
	HERMIT_V1_FILE_CLOSE = 0x480,
	HERMIT_V1_FILE_READ = 0x500,
	HERMIT_V1_EXIT = 0x540,
	HERMIT_V1_FILE_LSEEK = 0x580,
	HERMIT_V1_CMDSIZE = 0x740,
	HERMIT_V1_CMDVAL = 0x780,
	HERMIT_V1_UART = 0x800,
	HERMIT_V1_FILE_UNLINK = 0x840,
	HERMIT_V1_SERIAL_WRITE_BUFFER = 0x880,
};

#define HERMIT_V1_MAX_ARGS 128
#define HERMIT_V1_MAX_ENVS 128

struct hermit_v1_file_write {
	int32_t fd;   /* IN */
	uint64_t buf; /* IN: guest-virtual */
	uint64_t len; /* IN */
} __attribute__((packed));

struct hermit_v1_file_open {
	uint64_t name; /* IN: gpa of a NUL-terminated path */
	int32_t flags; /* IN */
	int32_t mode;  /* IN */
	int32_t ret;   /* OUT: descriptor or -errno */
} __attribute__((packed));

struct hermit_v1_file_close {
	int32_t fd;  /* IN */
	int32_t ret; /* OUT: 0 or -errno */
} __attribute__((packed));

struct hermit_v1_file_read {
	int32_t fd;   /* IN */
	uint64_t buf; /* IN: guest-virtual */
	uint64_t len; /* IN */
	int64_t ret;  /* OUT: bytes read or -errno */
} __attribute__((packed));

struct hermit_v1_exit {
	int32_t code; /* IN */
} __attribute__((packed));

struct hermit_v1_file_lseek {
	int32_t fd;	/* IN */
	int64_t offset; /* IN: offset; OUT: new offset or -1 */
	int32_t whence; /* IN */
} __attribute__((packed));

struct hermit_v1_cmdsize {
	int32_t argc;			   /* OUT */
	int32_t argsz[HERMIT_V1_MAX_ARGS]; /* OUT: sizes including the NUL */
	int32_t envc;			   /* OUT */
	int32_t
	    envsz[HERMIT_V1_MAX_ENVS]; /* OUT: sizes including '=' and NUL */
} __attribute__((packed));

struct hermit_v1_cmdval {
	uint64_t
	    argv; /* IN: gpa of an array of argc gpas to write strings to */
	uint64_t
	    envp; /* IN: gpa of an array of envc gpas to write strings to */
} __attribute__((packed));

struct hermit_v1_file_unlink {
	uint64_t name; /* IN: gpa of a NUL-terminated path */
	int32_t ret;   /* OUT: 0 or -errno */
} __attribute__((packed));

struct hermit_v1_serial_write_buffer {
	uint64_t buf; /* IN: gpa */
	uint64_t len; /* IN */
} __attribute__((packed));

/* Interface version 2: port numbers. The value written is ignored and rdi
 * holds the 64-bit gpa of the parameter block, except for HERMIT_V2_EXIT
 * (rdi is the exit code) and HERMIT_V2_SERIAL_WRITE_BYTE (rdi's low byte). */
enum hermit_v2_port {
	HERMIT_V2_EXIT = 0x1010,
	HERMIT_V2_SERIAL_WRITE_BYTE = 0x1020,
	HERMIT_V2_SERIAL_WRITE_BUFFER = 0x1030,
	HERMIT_V2_SERIAL_READ_BYTE = 0x1040,
	HERMIT_V2_SERIAL_READ_BUFFER = 0x1050,
	HERMIT_V2_FILE_WRITE = 0x1100,
	HERMIT_V2_FILE_OPEN = 0x1110,
	HERMIT_V2_FILE_CLOSE = 0x1120,
	HERMIT_V2_FILE_READ = 0x1130,
	HERMIT_V2_FILE_LSEEK = 0x1140,
	HERMIT_V2_FILE_UNLINK = 0x1150,
	HERMIT_V2_SHARED_MEM_OPEN = 0x1200,
	HERMIT_V2_SHARED_MEM_CLOSE = 0x1210,
};

struct hermit_v2_serial_write_buffer {
	uint64_t len; /* IN */
	uint64_t buf; /* IN: gpa */
};

struct hermit_v2_serial_read_buffer {
	uint64_t maxlen; /* IN */
	uint64_t len;	 /* OUT */
	uint64_t buf;	 /* IN: gpa */
};

struct hermit_v2_file_write {
	uint64_t len; /* IN */
	int64_t ret;  /* OUT: bytes written or -errno */
	uint64_t buf; /* IN: gpa */
	int32_t fd;   /* IN */
};

struct hermit_v2_file_read {
	uint64_t len; /* IN */
	int64_t ret;  /* OUT: bytes read or -errno */
	uint64_t buf; /* IN: gpa */
	int32_t fd;   /* IN */
};

struct hermit_v2_file_lseek {
	int64_t offset;	 /* IN: offset; OUT: new offset or -errno */
	uint32_t whence; /* IN */
	int32_t fd;	 /* IN */
};

/* v2 FileOpen, FileClose and FileUnlink use the packed v1 layouts. */

/* Linux open flags and whence values that Hermit uses. */
#define HERMIT_O_RDONLY	   0
#define HERMIT_O_WRONLY	   1
#define HERMIT_O_RDWR	   2
#define HERMIT_O_CREAT	   0100
#define HERMIT_O_EXCL	   0200
#define HERMIT_O_TRUNC	   01000
#define HERMIT_O_APPEND	   02000
#define HERMIT_O_DIRECTORY 0200000
#define HERMIT_O_ALLOWED                                                       \
	(HERMIT_O_WRONLY | HERMIT_O_RDWR | HERMIT_O_CREAT | HERMIT_O_EXCL |    \
	 HERMIT_O_TRUNC | HERMIT_O_APPEND | HERMIT_O_DIRECTORY)

#endif /* UHYVE_HERMIT_ABI_H */
