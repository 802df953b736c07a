/* Unit tests of the ELF loader on the shared Hermit images and patched copies.
 */
#include "elf_loader.h"

#include <check.h>
#include <elf.h>
#include <errno.h>
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exit status that makes meson count the test program as skipped. */
#define EXIT_SKIP 77

#define GUEST_MEMORY_SIZE (64ULL << 20)
#define KERNEL_ADDR	  0x40000ULL
#define FILL_BYTE	  0xaa

/* Values read with readelf from the shared x86_64 hello_world image. */
#define HELLO_WORLD_ENTRY	0x360e0ULL
#define HELLO_WORLD_RELOCATIONS 2245
#define HELLO_WORLD_LOAD_SPAN	(0x9a3c0ULL + 0x2240ULL)
#define HELLO_WORLD_FILE_END	(0x973c0ULL + 0x12c0ULL)

struct kernel_file {
	char *data;
	size_t size;
};

static struct kernel_file hello_world;
static struct kernel_file hello_c;
static struct kernel_file aarch64_hello_world;
static struct kernel_file hello_v2; /* size 0 when the guest is not built */

/* Per-test state, released by teardown(). */
static struct kernel_image image;
static char *error;
static uint8_t *patched; /* a copy of a kernel file that a test modifies */
static size_t patched_size;
static struct guest_mem mem;

static void setup(void)
{
	memset(&image, 0, sizeof(image));
	error = NULL;
	patched = NULL;
	patched_size = 0;
	mem.host = NULL;
}

static void teardown(void)
{
	free(error);
	g_free(patched);
	free(mem.host);
}

/* Allocates the scratch guest memory [start, start + size), filled with
 * FILL_BYTE so that tests can see which bytes the loader wrote. */
static void make_guest_memory(uint64_t start, uint64_t size)
{
	mem.host = malloc(size);
	ck_assert_ptr_nonnull(mem.host);
	memset(mem.host, FILL_BYTE, size);
	mem.start = start;
	mem.size = size;
}

static uint8_t *guest_bytes(uint64_t gpa)
{
	return mem.host + (gpa - mem.start);
}

/* Starts a patched copy of `file`, cut to `size` bytes. */
static void copy_file(const struct kernel_file *file, size_t size)
{
	g_free(patched);
	patched = g_memdup2(file->data, size ? size : 1);
	patched_size = size;
}

static uint64_t get_u64(const uint8_t *data, size_t offset)
{
	uint64_t value;

	memcpy(&value, data + offset, sizeof(value));
	return value;
}

static uint32_t get_u32(const uint8_t *data, size_t offset)
{
	uint32_t value;

	memcpy(&value, data + offset, sizeof(value));
	return value;
}

static void put_u64(uint8_t *data, size_t offset, uint64_t value)
{
	memcpy(data + offset, &value, sizeof(value));
}

static void put_u32(uint8_t *data, size_t offset, uint32_t value)
{
	memcpy(data + offset, &value, sizeof(value));
}

static void put_u16(uint8_t *data, size_t offset, uint16_t value)
{
	memcpy(data + offset, &value, sizeof(value));
}

static Elf64_Ehdr read_ehdr(const uint8_t *data)
{
	Elf64_Ehdr ehdr;

	memcpy(&ehdr, data, sizeof(ehdr));
	return ehdr;
}

/* Returns the file offset of the `nth` program header (from 0) of `type`. */
static size_t phdr_offset(const uint8_t *data, uint32_t type, unsigned nth)
{
	Elf64_Ehdr ehdr = read_ehdr(data);

	for (unsigned i = 0; i < ehdr.e_phnum; i++) {
		size_t offset = ehdr.e_phoff + (size_t)i * ehdr.e_phentsize;
		Elf64_Phdr phdr;

		memcpy(&phdr, data + offset, sizeof(phdr));
		if (phdr.p_type == type && nth-- == 0)
			return offset;
	}
	ck_abort_msg("program header %u of type %u not found", nth, type);
	return 0;
}

static Elf64_Phdr read_phdr(const uint8_t *data, uint32_t type, unsigned nth)
{
	Elf64_Phdr phdr;

	memcpy(&phdr, data + phdr_offset(data, type, nth), sizeof(phdr));
	return phdr;
}

/* Returns the file offset of virtual address `vaddr` inside a PT_LOAD. */
static size_t vaddr_to_file_offset(const uint8_t *data, uint64_t vaddr)
{
	Elf64_Ehdr ehdr = read_ehdr(data);
	unsigned loads = 0;

	for (unsigned i = 0; i < ehdr.e_phnum; i++) {
		Elf64_Phdr phdr;

		memcpy(&phdr,
		       data + ehdr.e_phoff + (size_t)i * ehdr.e_phentsize,
		       sizeof(phdr));
		if (phdr.p_type != PT_LOAD)
			continue;
		loads++;
		if (vaddr >= phdr.p_vaddr &&
		    vaddr - phdr.p_vaddr < phdr.p_filesz)
			return phdr.p_offset + (vaddr - phdr.p_vaddr);
	}
	ck_abort_msg("vaddr %#llx is in none of %u PT_LOAD segments",
		     (unsigned long long)vaddr, loads);
	return 0;
}

/* Returns the file offset of the PT_DYNAMIC entry with tag `tag`. */
static size_t dynamic_entry_offset(const uint8_t *data, int64_t tag)
{
	Elf64_Phdr dynamic = read_phdr(data, PT_DYNAMIC, 0);

	for (size_t offset = dynamic.p_offset;
	     offset < dynamic.p_offset + dynamic.p_filesz;
	     offset += sizeof(Elf64_Dyn)) {
		if ((int64_t)get_u64(data, offset) == tag)
			return offset;
	}
	ck_abort_msg("dynamic tag %lld not found", (long long)tag);
	return 0;
}

static uint64_t dynamic_value(const uint8_t *data, int64_t tag)
{
	return get_u64(data, dynamic_entry_offset(data, tag) + 8);
}

/* Returns the file offset of RELA entry `index`. */
static size_t rela_offset(const uint8_t *data, size_t index)
{
	return vaddr_to_file_offset(data, dynamic_value(data, DT_RELA)) +
	       index * sizeof(Elf64_Rela);
}

/* Returns the file offset of dynamic symbol `index`. */
static size_t symbol_offset(const uint8_t *data, size_t index)
{
	return vaddr_to_file_offset(data, dynamic_value(data, DT_SYMTAB)) +
	       index * sizeof(Elf64_Sym);
}

/* Returns the file offset of the note header owned by `owner` (4-byte
 * aligned notes, as in every image used here). */
static size_t note_offset(const uint8_t *data, const char *owner)
{
	Elf64_Phdr note = read_phdr(data, PT_NOTE, 0);
	size_t offset = note.p_offset;

	while (offset + 12 <= note.p_offset + note.p_filesz) {
		uint32_t namesz = get_u32(data, offset);
		uint32_t descsz = get_u32(data, offset + 4);

		if (namesz == strlen(owner) + 1 &&
		    !memcmp(data + offset + 12, owner, namesz))
			return offset;
		offset += 12 + ((namesz + 3) & ~3U) + ((descsz + 3) & ~3U);
	}
	ck_abort_msg("note %s not found", owner);
	return 0;
}

static size_t note_descriptor_offset(const uint8_t *data, const char *owner)
{
	size_t offset = note_offset(data, owner);

	return offset + 12 + ((get_u32(data, offset) + 3) & ~3U);
}

static int parse_file(const struct kernel_file *file, const char *name)
{
	return elf_loader_parse(file->data, file->size, name, &image, &error);
}

static int parse_patched(const char *name)
{
	return elf_loader_parse(patched, patched_size, name, &image, &error);
}

/* Parses the patched copy and checks that it is rejected with `message`. */
static void assert_patched_rejected(const char *name, const char *message)
{
	ck_assert_int_eq(parse_patched(name), -ENOEXEC);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, message);
}

/* Parses the patched copy, which must succeed, and loads it into a fresh
 * 64 MiB guest memory at KERNEL_ADDR. */
static int parse_and_load_patched(const char *name)
{
	int rc = parse_patched(name);

	ck_assert_msg(rc == 0, "parse failed with %d: %s", rc, error);
	make_guest_memory(0, GUEST_MEMORY_SIZE);
	return elf_loader_load(patched, patched_size, name, &image, &mem,
			       KERNEL_ADDR, &error);
}

START_TEST(parse_hello_world_fields)
{
	ck_assert_int_eq(parse_file(&hello_world, "hello_world"), 0);
	ck_assert_ptr_null(error);
	ck_assert(image.relocatable);
	ck_assert_uint_eq(image.interface_version, 1);
	ck_assert(!image.has_hermit_version);
	ck_assert_uint_eq(image.entry, HELLO_WORLD_ENTRY);
	ck_assert_uint_eq(image.relocation_count, HELLO_WORLD_RELOCATIONS);
	ck_assert_uint_eq(image.load_start, 0);
	ck_assert_uint_eq(image.load_span, HELLO_WORLD_LOAD_SPAN);
}
END_TEST

START_TEST(parse_hello_world_tls)
{
	ck_assert_int_eq(parse_file(&hello_world, "hello_world"), 0);
	ck_assert(image.has_tls);
	ck_assert_uint_eq(image.tls_vaddr, 0x906f8);
	ck_assert_uint_eq(image.tls_filesz, 0x20);
	ck_assert_uint_eq(image.tls_memsz, 0x81);
	ck_assert_uint_eq(image.tls_align, 8);
}
END_TEST

START_TEST(parse_hello_c_fixed)
{
	ck_assert_int_eq(parse_file(&hello_c, "hello_c"), 0);
	ck_assert_ptr_null(error);
	ck_assert(!image.relocatable);
	ck_assert_uint_eq(image.interface_version, 1);
	ck_assert(!image.has_hermit_version);
	ck_assert_uint_eq(image.load_start, 0x800000);
	ck_assert_uint_eq(image.load_span, 0x8ca000 + 0x7d480 - 0x800000);
	ck_assert_uint_eq(image.entry, 0x8422a0);
	ck_assert_uint_eq(image.relocation_count, 0);
	ck_assert(image.has_tls);
	ck_assert_uint_eq(image.tls_vaddr, 0x8ca000);
	ck_assert_uint_eq(image.tls_memsz, 4);
}
END_TEST

START_TEST(parse_aarch64_rejected)
{
	ck_assert_int_eq(
	    parse_file(&aarch64_hello_world, "aarch64/hello_world"), -ENOEXEC);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "aarch64/hello_world: kernel is built for "
				"aarch64, but this host runs x86_64 kernels "
				"only");
}
END_TEST

START_TEST(parse_guest_interface_v2)
{
	ck_assert_int_eq(parse_file(&hello_v2, "hello_v2"), 0);
	ck_assert(image.relocatable);
	ck_assert_uint_eq(image.interface_version, 2);
	ck_assert(!image.has_hermit_version);
}
END_TEST

START_TEST(parse_interface_version_3_rejected)
{
	size_t desc;

	copy_file(&hello_v2, hello_v2.size);
	desc = note_descriptor_offset(patched, "UHYVEIF");
	ck_assert_uint_eq(patched[desc + 3], 2);
	patched[desc + 3] = 3;
	assert_patched_rejected("hello_v2", "hello_v2: hypercall interface "
					    "version 3 is not supported "
					    "(expected 1 or 2)");
}
END_TEST

START_TEST(parse_interface_big_endian)
{
	size_t desc;

	/* 0x00000102 read big-endian is 258, read little-endian 0x02010000. */
	copy_file(&hello_v2, hello_v2.size);
	desc = note_descriptor_offset(patched, "UHYVEIF");
	patched[desc + 2] = 1;
	assert_patched_rejected("hello_v2", "hello_v2: hypercall interface "
					    "version 258 is not supported "
					    "(expected 1 or 2)");
}
END_TEST

/* Turns the GNU build-id note of hello_v2 into an ABI tag note with the
 * words os, major, minor, patch. */
static void patch_abi_tag(const uint32_t words[4])
{
	size_t note;

	copy_file(&hello_v2, hello_v2.size);
	note = note_offset(patched, "GNU");
	ck_assert_uint_ge(get_u32(patched, note + 4), 16);
	put_u32(patched, note + 8, NT_GNU_ABI_TAG);
	for (unsigned i = 0; i < 4; i++)
		put_u32(patched, note_descriptor_offset(patched, "GNU") + 4 * i,
			words[i]);
}

START_TEST(parse_hermit_version_note)
{
	static const uint32_t words[4] = {6, 0, 10, 2};

	patch_abi_tag(words);
	ck_assert_int_eq(parse_patched("hello_v2"), 0);
	ck_assert(image.has_hermit_version);
	ck_assert_uint_eq(image.hermit_version[0], 0);
	ck_assert_uint_eq(image.hermit_version[1], 10);
	ck_assert_uint_eq(image.hermit_version[2], 2);
}
END_TEST

START_TEST(parse_other_os_abi_tag)
{
	static const uint32_t words[4] = {0, 3, 2, 0}; /* Linux 3.2.0 */

	patch_abi_tag(words);
	ck_assert_int_eq(parse_patched("hello_v2"), 0);
	ck_assert(!image.has_hermit_version);
}
END_TEST

START_TEST(load_relative_relocation_first)
{
	/* First entry of readelf -r: offset 0x90718, addend 0x18f60. */
	ck_assert_int_eq(parse_file(&hello_world, "hello_world"), 0);
	make_guest_memory(0, GUEST_MEMORY_SIZE);
	ck_assert_int_eq(elf_loader_load(hello_world.data, hello_world.size,
					 "hello_world", &image, &mem,
					 KERNEL_ADDR, &error),
			 0);
	ck_assert_ptr_null(error);
	ck_assert_uint_eq(get_u64(mem.host, KERNEL_ADDR + 0x90718),
			  KERNEL_ADDR + 0x18f60);
}
END_TEST

START_TEST(load_every_relative_relocation)
{
	const uint8_t *data = (const uint8_t *)hello_world.data;
	uint64_t kernel_addr = 0x1240000; /* a second K, not 2 MiB aligned */

	ck_assert_int_eq(parse_file(&hello_world, "hello_world"), 0);
	make_guest_memory(0, GUEST_MEMORY_SIZE);
	ck_assert_int_eq(elf_loader_load(hello_world.data, hello_world.size,
					 "hello_world", &image, &mem,
					 kernel_addr, &error),
			 0);
	for (size_t i = 0; i < HELLO_WORLD_RELOCATIONS; i++) {
		size_t entry = rela_offset(data, i);
		uint64_t r_offset = get_u64(data, entry);
		uint64_t addend = get_u64(data, entry + 16);

		ck_assert_uint_eq(ELF64_R_TYPE(get_u64(data, entry + 8)),
				  R_X86_64_RELATIVE);
		ck_assert_msg(get_u64(mem.host, kernel_addr + r_offset) ==
				  kernel_addr + addend,
			      "relocation %zu at %#llx", i,
			      (unsigned long long)r_offset);
	}
}
END_TEST

START_TEST(load_copies_segment_bytes)
{
	const uint8_t *data = (const uint8_t *)hello_world.data;

	ck_assert_int_eq(parse_file(&hello_world, "hello_world"), 0);
	make_guest_memory(0, GUEST_MEMORY_SIZE);
	ck_assert_int_eq(elf_loader_load(hello_world.data, hello_world.size,
					 "hello_world", &image, &mem,
					 KERNEL_ADDR, &error),
			 0);

	/* The first two PT_LOADs (headers, .rela.dyn, .rodata, .text) hold
	 * no relocation targets, so they match the file byte for byte. */
	for (unsigned i = 0; i < 2; i++) {
		Elf64_Phdr load = read_phdr(data, PT_LOAD, i);

		ck_assert_mem_eq(guest_bytes(KERNEL_ADDR + load.p_vaddr),
				 data + load.p_offset, load.p_filesz);
	}
}
END_TEST

START_TEST(load_zeroes_segment_tails)
{
	const uint8_t *data = (const uint8_t *)hello_world.data;
	unsigned zeroed_tails = 0;

	ck_assert_int_eq(parse_file(&hello_world, "hello_world"), 0);
	make_guest_memory(0, GUEST_MEMORY_SIZE);
	ck_assert_int_eq(elf_loader_load(hello_world.data, hello_world.size,
					 "hello_world", &image, &mem,
					 KERNEL_ADDR, &error),
			 0);

	for (unsigned i = 0; i < 4; i++) {
		Elf64_Phdr load = read_phdr(data, PT_LOAD, i);
		uint8_t *tail =
		    guest_bytes(KERNEL_ADDR + load.p_vaddr + load.p_filesz);

		for (size_t j = 0; j < load.p_memsz - load.p_filesz; j++)
			ck_assert_msg(tail[j] == 0,
				      "PT_LOAD %u: byte %#zx after the file "
				      "bytes is %#x",
				      i, j, tail[j]);
		zeroed_tails += load.p_memsz > load.p_filesz;
	}
	ck_assert_uint_eq(zeroed_tails, 2);

	/* Nothing is written past the end of the image. */
	ck_assert_uint_eq(*guest_bytes(KERNEL_ADDR + HELLO_WORLD_LOAD_SPAN),
			  FILL_BYTE);
}
END_TEST

START_TEST(load_fixed_ignores_kernel_addr)
{
	const uint8_t *data = (const uint8_t *)hello_c.data;
	Elf64_Phdr text = read_phdr(data, PT_LOAD, 0);
	Elf64_Phdr bss = read_phdr(data, PT_LOAD, 1);

	ck_assert_int_eq(parse_file(&hello_c, "hello_c"), 0);
	make_guest_memory(0, GUEST_MEMORY_SIZE);
	ck_assert_int_eq(elf_loader_load(hello_c.data, hello_c.size, "hello_c",
					 &image, &mem, KERNEL_ADDR, &error),
			 0);
	ck_assert_mem_eq(guest_bytes(0x800000), data + text.p_offset,
			 text.p_filesz);
	ck_assert_mem_eq(guest_bytes(bss.p_vaddr), data + bss.p_offset,
			 bss.p_filesz);
	ck_assert_uint_eq(*guest_bytes(bss.p_vaddr + bss.p_memsz - 1), 0);
	ck_assert_uint_eq(*guest_bytes(KERNEL_ADDR), FILL_BYTE);
}
END_TEST

START_TEST(load_segment_outside_memory)
{
	/* The .text PT_LOAD at K + 0x18f30 (0x767c6 bytes) ends past 512 KiB.
	 */
	ck_assert_int_eq(parse_file(&hello_world, "hello_world"), 0);
	make_guest_memory(0, 0x80000);
	ck_assert_int_eq(elf_loader_load(hello_world.data, hello_world.size,
					 "hello_world", &image, &mem,
					 KERNEL_ADDR, &error),
			 -E2BIG);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "hello_world: segment at 0x58f30 (485318 "
				"bytes) does not fit in guest memory [0, "
				"0x80000)");
}
END_TEST

START_TEST(load_below_memory_start)
{
	ck_assert_int_eq(parse_file(&hello_world, "hello_world"), 0);
	make_guest_memory(0x100000, GUEST_MEMORY_SIZE);
	ck_assert_int_eq(elf_loader_load(hello_world.data, hello_world.size,
					 "hello_world", &image, &mem,
					 KERNEL_ADDR, &error),
			 -E2BIG);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "hello_world: segment at 0x40000 (98096 "
				"bytes) does not fit in guest memory "
				"[0x100000, 0x4100000)");
}
END_TEST

START_TEST(load_kernel_addr_overflows)
{
	ck_assert_int_eq(parse_file(&hello_world, "hello_world"), 0);
	make_guest_memory(0, GUEST_MEMORY_SIZE);
	ck_assert_int_eq(elf_loader_load(hello_world.data, hello_world.size,
					 "hello_world", &image, &mem,
					 UINT64_MAX - 0x1000, &error),
			 -E2BIG);
	ck_assert_ptr_nonnull(error);
}
END_TEST

START_TEST(load_fixed_outside_memory)
{
	ck_assert_int_eq(parse_file(&hello_c, "hello_c"), 0);
	make_guest_memory(0, 8ULL << 20);
	ck_assert_int_eq(elf_loader_load(hello_c.data, hello_c.size, "hello_c",
					 &image, &mem, 0, &error),
			 -E2BIG);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "hello_c: segment at 0x800000 (826272 bytes) "
				"does not fit in guest memory [0, 0x800000)");
}
END_TEST

START_TEST(reject_not_elf)
{
	static const char text[] = "#!/bin/sh\necho this is not a kernel\n";
	static const uint8_t gzip[] = {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0};

	ck_assert_int_eq(
	    elf_loader_parse(text, sizeof(text), "script", &image, &error),
	    -ENOEXEC);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "script: not an ELF file (a Hermit kernel is "
				"an ELF64 x86_64 executable)");
	ck_assert_int_eq(
	    elf_loader_parse(gzip, sizeof(gzip), "app.hermit", &image, &error),
	    -ENOEXEC);
	ck_assert_str_eq(error, "app.hermit: not an ELF file (a Hermit kernel "
				"is an ELF64 x86_64 executable)");
}
END_TEST

START_TEST(reject_empty_file)
{
	ck_assert_int_eq(elf_loader_parse("", 0, "empty", &image, &error),
			 -ENOEXEC);
	ck_assert_ptr_nonnull(error);
}
END_TEST

START_TEST(reject_32_bit_class)
{
	copy_file(&hello_world, hello_world.size);
	patched[EI_CLASS] = ELFCLASS32;
	assert_patched_rejected("hello_world", "hello_world: not a 64-bit ELF "
					       "file (Hermit kernels are "
					       "ELF64)");
}
END_TEST

START_TEST(reject_big_endian)
{
	copy_file(&hello_world, hello_world.size);
	patched[EI_DATA] = ELFDATA2MSB;
	assert_patched_rejected("hello_world",
				"hello_world: not a little-endian ELF file");
}
END_TEST

START_TEST(reject_other_machines)
{
	static const struct {
		uint16_t machine;
		const char *message;
	} cases[] = {
	    {EM_RISCV, "k: kernel is built for riscv, but this host runs "
		       "x86_64 kernels only"},
	    {EM_386, "k: kernel is built for x86 (32-bit), but this host runs "
		     "x86_64 kernels only"},
	    {0x1234, "k: kernel is built for ELF machine 4660, but this host "
		     "runs x86_64 kernels only"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		copy_file(&hello_world, hello_world.size);
		put_u16(patched, offsetof(Elf64_Ehdr, e_machine),
			cases[i].machine);
		assert_patched_rejected("k", cases[i].message);
	}
}
END_TEST

START_TEST(reject_relocatable_object)
{
	copy_file(&hello_world, hello_world.size);
	put_u16(patched, offsetof(Elf64_Ehdr, e_type), ET_REL);
	assert_patched_rejected("hello_world", "hello_world: ELF type 1 is "
					       "neither ET_EXEC nor ET_DYN");
}
END_TEST

START_TEST(reject_wrong_entry_version)
{
	size_t desc;

	copy_file(&hello_world, hello_world.size);
	desc = note_descriptor_offset(patched, "HERMIT");
	ck_assert_uint_eq(patched[desc], 4);
	patched[desc] = 3;
	assert_patched_rejected("hello_world", "hello_world: Hermit entry "
					       "version 3 is not supported "
					       "(expected 4)");
}
END_TEST

START_TEST(reject_missing_hermit_note)
{
	size_t note;

	copy_file(&hello_world, hello_world.size);
	note = note_offset(patched, "HERMIT");
	memcpy(patched + note + 12, "HERMIX", 6);
	assert_patched_rejected("hello_world", "hello_world: no HERMIT note, "
					       "so this is not a Hermit "
					       "kernel");
}
END_TEST

START_TEST(reject_hermit_note_wrong_type)
{
	size_t note;

	copy_file(&hello_world, hello_world.size);
	note = note_offset(patched, "HERMIT");
	put_u32(patched, note + 8, 0x5a01);
	assert_patched_rejected("hello_world", "hello_world: no HERMIT note, "
					       "so this is not a Hermit "
					       "kernel");
}
END_TEST

START_TEST(reject_note_outside_file)
{
	size_t note;

	copy_file(&hello_world, hello_world.size);
	note = phdr_offset(patched, PT_NOTE, 0);
	put_u64(patched, note + offsetof(Elf64_Phdr, p_offset), 0x10000000);
	assert_patched_rejected("hello_world", "hello_world: PT_NOTE segment "
					       "at file offset 0x10000000 "
					       "does not fit in the file");
}
END_TEST

START_TEST(reject_dt_needed)
{
	copy_file(&hello_world, hello_world.size);
	put_u64(patched, dynamic_entry_offset(patched, DT_FLAGS_1), DT_NEEDED);
	assert_patched_rejected("hello_world",
				"hello_world: kernel needs shared libraries "
				"(DT_NEEDED), but Hermit kernels must be "
				"statically linked");
}
END_TEST

START_TEST(reject_rel_table)
{
	copy_file(&hello_world, hello_world.size);
	put_u64(patched, dynamic_entry_offset(patched, DT_FLAGS_1), DT_REL);
	assert_patched_rejected("hello_world",
				"hello_world: unsupported relocation table "
				"(dynamic tag 17); only RELA is supported");
}
END_TEST

START_TEST(reject_unknown_relocation_type)
{
	static const struct {
		size_t index;
		uint32_t type;
		const char *message;
	} cases[] = {
	    {0, R_X86_64_IRELATIVE,
	     "hello_world: relocation 0: unknown relocation type 37 "
	     "(supported: R_X86_64_RELATIVE, R_X86_64_64, R_X86_64_GLOB_DAT)"},
	    {HELLO_WORLD_RELOCATIONS - 1, R_X86_64_PC32,
	     "hello_world: relocation 2244: unknown relocation type 2 "
	     "(supported: R_X86_64_RELATIVE, R_X86_64_64, R_X86_64_GLOB_DAT)"},
	    {7, R_X86_64_TPOFF64,
	     "hello_world: relocation 7: unknown relocation type 18 "
	     "(supported: R_X86_64_RELATIVE, R_X86_64_64, R_X86_64_GLOB_DAT)"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		copy_file(&hello_world, hello_world.size);
		put_u64(patched, rela_offset(patched, cases[i].index) + 8,
			ELF64_R_INFO(0, cases[i].type));
		assert_patched_rejected("hello_world", cases[i].message);
	}
}
END_TEST

START_TEST(reject_symbol_outside_table)
{
	copy_file(&hello_world, hello_world.size);
	put_u64(patched, rela_offset(patched, 3) + 8,
		ELF64_R_INFO(100000, R_X86_64_64));
	assert_patched_rejected("hello_world",
				"hello_world: relocation 3 names symbol "
				"100000, which is not in the symbol table");
}
END_TEST

START_TEST(reject_relocations_outside_segments)
{
	copy_file(&hello_world, hello_world.size);
	put_u64(patched, dynamic_entry_offset(patched, DT_RELA) + 8,
		0x10000000);
	assert_patched_rejected("hello_world",
				"hello_world: relocation table at 0x10000000 "
				"(53880 bytes) lies outside the file's loaded "
				"segments");
}
END_TEST

START_TEST(reject_filesz_above_memsz)
{
	size_t load;

	copy_file(&hello_world, hello_world.size);
	load = phdr_offset(patched, PT_LOAD, 0);
	put_u64(patched, load + offsetof(Elf64_Phdr, p_memsz), 0x100);
	assert_patched_rejected("hello_world",
				"hello_world: PT_LOAD 1 has an invalid size");
}
END_TEST

START_TEST(reject_segment_end_overflow)
{
	size_t load;

	copy_file(&hello_world, hello_world.size);
	load = phdr_offset(patched, PT_LOAD, 3);
	put_u64(patched, load + offsetof(Elf64_Phdr, p_memsz), UINT64_MAX);
	assert_patched_rejected("hello_world",
				"hello_world: PT_LOAD 4 has an invalid size");
}
END_TEST

START_TEST(reject_unsorted_segments)
{
	size_t load;

	copy_file(&hello_c, hello_c.size);
	load = phdr_offset(patched, PT_LOAD, 1);
	put_u64(patched, load + offsetof(Elf64_Phdr, p_vaddr), 0x700000);
	assert_patched_rejected("hello_c", "hello_c: PT_LOAD segments are not "
					   "sorted by address");
}
END_TEST

START_TEST(reject_no_load_segment)
{
	copy_file(&hello_world, hello_world.size);
	for (unsigned i = 0; i < 4; i++)
		put_u32(patched, phdr_offset(patched, PT_LOAD, 0), PT_NULL);
	assert_patched_rejected("hello_world",
				"hello_world: no PT_LOAD segment");
}
END_TEST

START_TEST(reject_fixed_entry_outside)
{
	copy_file(&hello_c, hello_c.size);
	put_u64(patched, offsetof(Elf64_Ehdr, e_entry), 0x100);
	assert_patched_rejected("hello_c", "hello_c: entry point 0x100 lies "
					   "outside the loaded image");
}
END_TEST

START_TEST(load_rejects_segment_outside_file)
{
	size_t load;

	copy_file(&hello_world, hello_world.size);
	load = phdr_offset(patched, PT_LOAD, 1);
	put_u64(patched, load + offsetof(Elf64_Phdr, p_offset), 0x10000000);
	ck_assert_int_eq(parse_and_load_patched("hello_world"), -ENOEXEC);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "hello_world: segment 2's file bytes lie "
				"outside the file");
}
END_TEST

START_TEST(load_rejects_relocation_outside_image)
{
	copy_file(&hello_world, hello_world.size);
	put_u64(patched, rela_offset(patched, 0), HELLO_WORLD_LOAD_SPAN - 4);
	ck_assert_int_eq(parse_and_load_patched("hello_world"), -ENOEXEC);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "hello_world: relocation 0: offset 0x9c5fc "
				"lies outside the image");
}
END_TEST

START_TEST(load_relocation_last_slot_fits)
{
	copy_file(&hello_world, hello_world.size);
	put_u64(patched, rela_offset(patched, 0), HELLO_WORLD_LOAD_SPAN - 8);
	ck_assert_int_eq(parse_and_load_patched("hello_world"), 0);
	ck_assert_uint_eq(
	    get_u64(mem.host, KERNEL_ADDR + HELLO_WORLD_LOAD_SPAN - 8),
	    KERNEL_ADDR + 0x18f60);
}
END_TEST

START_TEST(load_rejects_undefined_symbol)
{
	/* Dynamic symbol 1 is the undefined global __tls_get_addr. */
	copy_file(&hello_world, hello_world.size);
	put_u64(patched, rela_offset(patched, 0) + 8,
		ELF64_R_INFO(1, R_X86_64_64));
	ck_assert_int_eq(parse_and_load_patched("hello_world"), -ENOEXEC);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "hello_world: relocation 0: refers to an "
				"undefined symbol, but Hermit kernels are "
				"statically linked");
}
END_TEST

START_TEST(load_weak_undefined_untouched)
{
	const uint8_t *data = (const uint8_t *)hello_world.data;

	copy_file(&hello_world, hello_world.size);
	patched[symbol_offset(patched, 1) + offsetof(Elf64_Sym, st_info)] =
	    ELF64_ST_INFO(STB_WEAK, STT_NOTYPE);
	put_u64(patched, rela_offset(patched, 0) + 8,
		ELF64_R_INFO(1, R_X86_64_GLOB_DAT));
	ck_assert_int_eq(parse_and_load_patched("hello_world"), 0);
	ck_assert_uint_eq(get_u64(mem.host, KERNEL_ADDR + 0x90718),
			  get_u64(data, vaddr_to_file_offset(data, 0x90718)));
	ck_assert_uint_eq(get_u64(mem.host, KERNEL_ADDR + 0x90730),
			  KERNEL_ADDR + 0x18f50);
}
END_TEST

START_TEST(load_symbol_relocations)
{
	static const uint32_t types[] = {R_X86_64_64, R_X86_64_GLOB_DAT};
	size_t symbol;

	for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
		copy_file(&hello_world, hello_world.size);
		symbol = symbol_offset(patched, 1);
		put_u16(patched, symbol + offsetof(Elf64_Sym, st_shndx), 5);
		put_u64(patched, symbol + offsetof(Elf64_Sym, st_value),
			0x1000);
		put_u64(patched, rela_offset(patched, 0) + 8,
			ELF64_R_INFO(1, types[i]));
		free(mem.host);
		ck_assert_int_eq(parse_and_load_patched("hello_world"), 0);
		ck_assert_uint_eq(get_u64(mem.host, KERNEL_ADDR + 0x90718),
				  KERNEL_ADDR + 0x1000 + 0x18f60);
	}
}
END_TEST

START_TEST(load_none_relocation_untouched)
{
	const uint8_t *data = (const uint8_t *)hello_world.data;

	copy_file(&hello_world, hello_world.size);
	put_u64(patched, rela_offset(patched, 0) + 8,
		ELF64_R_INFO(0, R_X86_64_NONE));
	ck_assert_int_eq(parse_and_load_patched("hello_world"), 0);
	ck_assert_uint_eq(get_u64(mem.host, KERNEL_ADDR + 0x90718),
			  get_u64(data, vaddr_to_file_offset(data, 0x90718)));
}
END_TEST

/* Checks that the first `size` bytes of the patched copy are rejected by
 * elf_loader_parse() or, failing that, by elf_loader_load(). */
static void assert_cut_rejected(size_t size)
{
	int rc;

	patched_size = size;
	free(error);
	error = NULL;
	rc = parse_patched("cut");
	if (rc == 0)
		rc = elf_loader_load(patched, patched_size, "cut", &image, &mem,
				     KERNEL_ADDR, &error);
	ck_assert_msg(rc < 0, "file cut to %zu bytes was accepted", size);
	ck_assert_msg(error != NULL, "file cut to %zu bytes: no message", size);
}

START_TEST(truncated_file_rejected)
{
	const size_t cuts[] = {
	    1,
	    4,
	    15,
	    16,
	    63,
	    64,
	    120,
	    0x2a8 + 0x10, /* inside the HERMIT note */
	    0x338 + 100,  /* inside .rela.dyn */
	    0xd4b0 - 1,	  /* last byte of .rela.dyn */
	    0x96ae8 + 8,  /* inside PT_DYNAMIC */
	    HELLO_WORLD_FILE_END - 1,
	};

	make_guest_memory(0, GUEST_MEMORY_SIZE);
	copy_file(&hello_world, hello_world.size);
	for (size_t i = 0; i < G_N_ELEMENTS(cuts); i++)
		assert_cut_rejected(cuts[i]);
	for (size_t size = 0; size < HELLO_WORLD_FILE_END; size += 997)
		assert_cut_rejected(size);
}
END_TEST

START_TEST(truncated_section_headers_accepted)
{
	/* The section headers at the end of the file are not needed to load
	 * it, so a cut after the last PT_LOAD's file bytes still loads. */
	static const size_t extra[] = {0, 1, 0x1000};

	make_guest_memory(0, GUEST_MEMORY_SIZE);
	copy_file(&hello_world, hello_world.size);
	for (size_t i = 0; i < G_N_ELEMENTS(extra); i++) {
		patched_size = HELLO_WORLD_FILE_END + extra[i];
		ck_assert_int_eq(parse_patched("cut"), 0);
		ck_assert_int_eq(elf_loader_load(patched, patched_size, "cut",
						 &image, &mem, KERNEL_ADDR,
						 &error),
				 0);
	}
	ck_assert_uint_eq(get_u64(mem.host, KERNEL_ADDR + 0x90718),
			  KERNEL_ADDR + 0x18f60);
}
END_TEST

START_TEST(corrupted_headers_never_crash)
{
	/* Flips random bytes in the ELF and program headers, the note, the
	 * dynamic symbols and PT_DYNAMIC. Any result is acceptable except a
	 * crash, which Check reports as an error of this test. */
	const size_t regions[][2] = {
	    {0, 0x2c0},
	    {0x2c0, 0x338},
	    {0x96ae8, 0x96ae8 + 0xd0},
	};
	GRand *generator = g_rand_new_with_seed(20240601);
	unsigned accepted = 0;

	make_guest_memory(0, GUEST_MEMORY_SIZE);
	for (unsigned round = 0; round < 3000; round++) {
		const size_t *region = regions[round % G_N_ELEMENTS(regions)];
		unsigned flips = (unsigned)g_rand_int_range(generator, 1, 5);

		copy_file(&hello_world, hello_world.size);
		for (unsigned i = 0; i < flips; i++) {
			size_t offset = (size_t)g_rand_int_range(
			    generator, (gint32)region[0], (gint32)region[1]);

			patched[offset] ^=
			    (uint8_t)g_rand_int_range(generator, 1, 256);
		}
		free(error);
		error = NULL;
		if (parse_patched("corrupt") == 0 &&
		    elf_loader_load(patched, patched_size, "corrupt", &image,
				    &mem, KERNEL_ADDR, &error) == 0)
			accepted++;
		else
			ck_assert_ptr_nonnull(error);
	}
	g_rand_free(generator);
	ck_assert_uint_lt(accepted, 3000);
}
END_TEST

/* Reads `path` into *file and returns false when it cannot be read. */
static bool read_kernel_file(const char *path, struct kernel_file *file)
{
	GError *read_error = NULL;

	if (!g_file_get_contents(path, &file->data, &file->size, &read_error)) {
		fprintf(stderr, "%s\n", read_error->message);
		g_error_free(read_error);
		return false;
	}
	return true;
}

static TCase *new_tcase(const char *name)
{
	TCase *tcase = tcase_create(name);

	tcase_add_checked_fixture(tcase, setup, teardown);
	return tcase;
}

int main(void)
{
	const char *source_root = getenv("UHYVE_SOURCE_ROOT");
	const char *guest_dir = getenv("UHYVE_GUEST_DIR");
	char *images;
	char *path;
	bool found;
	Suite *suite;
	SRunner *runner;
	TCase *tcase;
	int failed;

	if (!source_root) {
		printf("SKIP: UHYVE_SOURCE_ROOT is not set, so the Hermit "
		       "images cannot be found\n");
		return EXIT_SKIP;
	}
	images = g_build_filename(source_root, "..", "shared", "hermit-images",
				  NULL);
	if (!g_file_test(images, G_FILE_TEST_IS_DIR)) {
		printf("SKIP: Hermit image folder %s not found\n", images);
		return EXIT_SKIP;
	}
	path = g_build_filename(images, "x86_64", "hello_world", NULL);
	found = read_kernel_file(path, &hello_world);
	g_free(path);
	path = g_build_filename(images, "x86_64", "hello_c", NULL);
	found = found && read_kernel_file(path, &hello_c);
	g_free(path);
	path = g_build_filename(images, "aarch64", "hello_world", NULL);
	found = found && read_kernel_file(path, &aarch64_hello_world);
	g_free(path);
	g_free(images);
	if (!found) {
		fprintf(stderr, "a Hermit image is missing or unreadable\n");
		return EXIT_FAILURE;
	}

	suite = suite_create("loader");

	tcase = new_tcase("parse");
	tcase_add_test(tcase, parse_hello_world_fields);
	tcase_add_test(tcase, parse_hello_world_tls);
	tcase_add_test(tcase, parse_hello_c_fixed);
	tcase_add_test(tcase, parse_aarch64_rejected);
	suite_add_tcase(suite, tcase);

	/* The interface version 2 cases need a test guest from the build. */
	path = guest_dir ? g_build_filename(guest_dir, "hello_v2", NULL) : NULL;
	if (path && read_kernel_file(path, &hello_v2)) {
		tcase = new_tcase("interface");
		tcase_add_test(tcase, parse_guest_interface_v2);
		tcase_add_test(tcase, parse_interface_version_3_rejected);
		tcase_add_test(tcase, parse_interface_big_endian);
		tcase_add_test(tcase, parse_hermit_version_note);
		tcase_add_test(tcase, parse_other_os_abi_tag);
		suite_add_tcase(suite, tcase);
	} else {
		printf("NOTE: hello_v2 test guest not found (UHYVE_GUEST_DIR "
		       "%s), so the interface version 2 cases do not run\n",
		       guest_dir ? guest_dir : "is not set");
	}
	g_free(path);

	tcase = new_tcase("load");
	tcase_add_test(tcase, load_relative_relocation_first);
	tcase_add_test(tcase, load_every_relative_relocation);
	tcase_add_test(tcase, load_copies_segment_bytes);
	tcase_add_test(tcase, load_zeroes_segment_tails);
	tcase_add_test(tcase, load_fixed_ignores_kernel_addr);
	tcase_add_test(tcase, load_segment_outside_memory);
	tcase_add_test(tcase, load_below_memory_start);
	tcase_add_test(tcase, load_kernel_addr_overflows);
	tcase_add_test(tcase, load_fixed_outside_memory);
	tcase_add_test(tcase, load_rejects_segment_outside_file);
	tcase_add_test(tcase, load_rejects_relocation_outside_image);
	tcase_add_test(tcase, load_relocation_last_slot_fits);
	tcase_add_test(tcase, load_rejects_undefined_symbol);
	tcase_add_test(tcase, load_weak_undefined_untouched);
	tcase_add_test(tcase, load_symbol_relocations);
	tcase_add_test(tcase, load_none_relocation_untouched);
	suite_add_tcase(suite, tcase);

	tcase = new_tcase("reject");
	tcase_add_test(tcase, reject_not_elf);
	tcase_add_test(tcase, reject_empty_file);
	tcase_add_test(tcase, reject_32_bit_class);
	tcase_add_test(tcase, reject_big_endian);
	tcase_add_test(tcase, reject_other_machines);
	tcase_add_test(tcase, reject_relocatable_object);
	tcase_add_test(tcase, reject_wrong_entry_version);
	tcase_add_test(tcase, reject_missing_hermit_note);
	tcase_add_test(tcase, reject_hermit_note_wrong_type);
	tcase_add_test(tcase, reject_note_outside_file);
	tcase_add_test(tcase, reject_dt_needed);
	tcase_add_test(tcase, reject_rel_table);
	tcase_add_test(tcase, reject_unknown_relocation_type);
	tcase_add_test(tcase, reject_symbol_outside_table);
	tcase_add_test(tcase, reject_relocations_outside_segments);
	tcase_add_test(tcase, reject_filesz_above_memsz);
	tcase_add_test(tcase, reject_segment_end_overflow);
	tcase_add_test(tcase, reject_unsorted_segments);
	tcase_add_test(tcase, reject_no_load_segment);
	tcase_add_test(tcase, reject_fixed_entry_outside);
	suite_add_tcase(suite, tcase);

	tcase = new_tcase("truncated");
	tcase_add_test(tcase, truncated_file_rejected);
	tcase_add_test(tcase, truncated_section_headers_accepted);
	tcase_add_test(tcase, corrupted_headers_never_crash);
	suite_add_tcase(suite, tcase);

	runner = srunner_create(suite);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	g_free(hello_world.data);
	g_free(hello_c.data);
	g_free(aarch64_hello_world.data);
	g_free(hello_v2.data);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
