/* Unit tests of guest layout, page tables, boot information, device tree and
 * arguments. */
#include "guest_setup.h"
#include "x86_64/paging.h"

#include <check.h>
#include <errno.h>
#include <glib.h>
#include <libfdt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uhyve/hermit_abi.h"

#define KIB	  (1ULL << 10)
#define MIB	  (1ULL << 20)
#define GIB	  (1ULL << 30)
#define FILL_BYTE 0xaa

/* Load span of the shared x86_64 hello_world image (from readelf). */
#define HELLO_WORLD_LOAD_SPAN 0x9c600ULL

static char *error;
static struct guest_mem mem;

static void setup(void)
{
	error = NULL;
	mem.host = NULL;
}

static void teardown(void)
{
	free(error);
	free(mem.host);
}

/* Allocates the scratch guest memory [start, start + size), filled with
 * FILL_BYTE so that tests can see which bytes were written. */
static void make_guest_memory(uint64_t start, uint64_t size)
{
	free(mem.host);
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

static uint64_t read_u64(uint64_t gpa)
{
	uint64_t value;

	memcpy(&value, guest_bytes(gpa), sizeof(value));
	return value;
}

static void write_u64(uint64_t gpa, uint64_t value)
{
	memcpy(guest_bytes(gpa), &value, sizeof(value));
}

/* A static-pie kernel like the shared hello_world image. */
static struct kernel_image relocatable_image(uint32_t interface_version)
{
	struct kernel_image image = {
	    .relocatable = true,
	    .interface_version = interface_version,
	    .load_start = 0,
	    .load_span = HELLO_WORLD_LOAD_SPAN,
	    .entry = 0x360e0,
	    .has_tls = true,
	    .tls_vaddr = 0x906f8,
	    .tls_filesz = 0x20,
	    .tls_memsz = 0x81,
	    .tls_align = 8,
	};

	return image;
}

/* A fixed-address kernel like the shared hello_c image. */
static struct kernel_image fixed_image(void)
{
	struct kernel_image image = {
	    .relocatable = false,
	    .interface_version = 1,
	    .load_start = 0x800000,
	    .load_span = 0x147480,
	    .entry = 0x8422a0,
	    .has_tls = true,
	    .tls_vaddr = 0x8ca000,
	    .tls_memsz = 4,
	    .tls_align = 4,
	};

	return image;
}

START_TEST(layout_v1_without_aslr)
{
	struct kernel_image image = relocatable_image(1);
	struct guest_layout layout;

	ck_assert_int_eq(
	    layout_choose(&image, 64 * MIB, false, 12345, &layout, &error), 0);
	ck_assert_ptr_null(error);
	ck_assert_uint_eq(layout.memory_start, 0);
	ck_assert_uint_eq(layout.memory_size, 64 * MIB);
	ck_assert_uint_eq(layout.kernel_addr, 0x40000);
	ck_assert_uint_eq(layout.kernel_end, 0x40000 + HELLO_WORLD_LOAD_SPAN);
}
END_TEST

/* Checks the ASLR invariants for `random` in [range_start, range_end) and
 * returns the chosen G. */
static uint64_t check_aslr_layout(const struct kernel_image *image,
				  uint64_t memory_size, uint64_t random,
				  uint64_t range_start, uint64_t range_end)
{
	struct guest_layout layout;
	uint64_t g;

	ck_assert_int_eq(
	    layout_choose(image, memory_size, true, random, &layout, &error),
	    0);
	g = layout.memory_start;
	ck_assert_msg(g % (2 * MIB) == 0, "random %#llx: G %#llx unaligned",
		      (unsigned long long)random, (unsigned long long)g);
	ck_assert_msg(g >= range_start, "random %#llx: G %#llx below range",
		      (unsigned long long)random, (unsigned long long)g);
	ck_assert_msg(g + HERMIT_KERNEL_OFFSET + image->load_span +
			      memory_size <=
			  range_end,
		      "random %#llx: G %#llx leaves no room",
		      (unsigned long long)random, (unsigned long long)g);
	ck_assert_uint_eq(layout.kernel_addr, g + HERMIT_KERNEL_OFFSET);
	ck_assert_uint_eq(layout.kernel_end,
			  g + HERMIT_KERNEL_OFFSET + image->load_span);
	return g;
}

/* Runs check_aslr_layout() over sequential and pseudo-random values and
 * checks that G takes many values, up to the highest aligned one that
 * fits. */
static void check_aslr_range(uint32_t interface_version, uint64_t range_start,
			     uint64_t range_end)
{
	struct kernel_image image = relocatable_image(interface_version);
	const uint64_t memory_size = 64 * MIB;
	uint64_t needed = HERMIT_KERNEL_OFFSET + image.load_span + memory_size;
	uint64_t highest = range_start + (range_end - range_start - needed) /
					     (2 * MIB) * (2 * MIB);
	static const uint64_t edges[] = {0, 1, UINT64_MAX, 1ULL << 63};
	/* Sequential values cover every slot if G depends on random modulo
	 * the slot count, as in layout_choose(). */
	uint64_t sequential = (range_end - range_start) / (2 * MIB) + 1;
	GHashTable *starts = g_hash_table_new(g_int64_hash, g_int64_equal);
	GRand *generator = g_rand_new_with_seed(7);
	uint64_t *values =
	    g_new(uint64_t, G_N_ELEMENTS(edges) + sequential + 10000);
	uint64_t max_g = 0;
	size_t count = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(edges); i++)
		values[count++] = edges[i];
	for (uint64_t i = 0; i < sequential; i++)
		values[count++] = i;
	for (size_t i = 0; i < 10000; i++)
		values[count++] = (uint64_t)g_rand_int(generator) << 32 |
				  g_rand_int(generator);

	for (size_t i = 0; i < count; i++) {
		values[i] = check_aslr_layout(&image, memory_size, values[i],
					      range_start, range_end);
		g_hash_table_add(starts, &values[i]);
		if (values[i] > max_g)
			max_g = values[i];
	}
	ck_assert_uint_gt(g_hash_table_size(starts), 1000);
	ck_assert_uint_eq(max_g, highest);

	g_hash_table_destroy(starts);
	g_rand_free(generator);
	g_free(values);
}

START_TEST(layout_v1_aslr_range)
{
	check_aslr_range(1, 0, 3 * GIB);
}
END_TEST

START_TEST(layout_v2_aslr_range)
{
	check_aslr_range(2, 4 * GIB, 64 * GIB);
}
END_TEST

START_TEST(layout_aslr_without_room)
{
	/* Memory that fills the whole v1 range leaves only G = 0. */
	struct kernel_image image = relocatable_image(1);
	struct guest_layout layout;

	ck_assert_int_eq(layout_choose(&image, 3 * GIB - 2 * MIB, true,
				       0x123456789, &layout, &error),
			 0);
	ck_assert_uint_eq(layout.memory_start, 0);
	ck_assert_uint_eq(layout.kernel_addr, 0x40000);
}
END_TEST

START_TEST(layout_v1_3_gib_rejected)
{
	struct kernel_image image = relocatable_image(1);
	struct guest_layout layout;

	ck_assert_int_eq(
	    layout_choose(&image, 3 * GIB, false, 0, &layout, &error), -EINVAL);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "memory size 3072 MiB is too large for an "
				"interface version 1 kernel: it must be less "
				"than 3 GiB (3072 MiB)");
}
END_TEST

START_TEST(layout_v1_largest_memory)
{
	struct kernel_image image = relocatable_image(1);
	struct guest_layout layout;

	ck_assert_int_eq(
	    layout_choose(&image, 3 * GIB - 2 * MIB, false, 0, &layout, &error),
	    0);
	ck_assert_uint_eq(layout.memory_start, 0);
	ck_assert_uint_eq(layout.memory_size, 3 * GIB - 2 * MIB);
}
END_TEST

START_TEST(layout_v2_without_aslr)
{
	struct kernel_image image = relocatable_image(2);
	struct guest_layout layout;

	ck_assert_int_eq(
	    layout_choose(&image, 64 * MIB, false, 99, &layout, &error), 0);
	ck_assert_uint_eq(layout.memory_start, 4 * GIB);
	ck_assert_uint_eq(layout.kernel_addr, 4 * GIB + 0x40000);
	ck_assert_uint_eq(layout.kernel_end,
			  4 * GIB + 0x40000 + HELLO_WORLD_LOAD_SPAN);
}
END_TEST

START_TEST(layout_v2_accepts_4_gib)
{
	struct kernel_image image = relocatable_image(2);
	struct guest_layout layout;

	ck_assert_int_eq(
	    layout_choose(&image, 4 * GIB, false, 0, &layout, &error), 0);
	ck_assert_ptr_null(error);
	ck_assert_uint_eq(layout.memory_start, 4 * GIB);
	ck_assert_uint_eq(layout.memory_size, 4 * GIB);
}
END_TEST

START_TEST(layout_v2_accepts_60_gib)
{
	struct kernel_image image = relocatable_image(2);
	struct guest_layout layout;

	ck_assert_int_eq(
	    layout_choose(&image, 60 * GIB, true, 5, &layout, &error), 0);
	ck_assert_uint_eq(layout.memory_start, 4 * GIB);
}
END_TEST

START_TEST(layout_v2_61_gib_rejected)
{
	struct kernel_image image = relocatable_image(2);
	struct guest_layout layout;

	ck_assert_int_eq(
	    layout_choose(&image, 61 * GIB, false, 0, &layout, &error),
	    -EINVAL);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "memory size 62464 MiB is too large: "
				"interface version 2 kernels allow at most "
				"61440 MiB");
}
END_TEST

START_TEST(layout_fixed_kernel)
{
	struct kernel_image image = fixed_image();
	struct guest_layout layout;
	static const bool aslr[] = {false, true};

	for (size_t i = 0; i < G_N_ELEMENTS(aslr); i++) {
		ck_assert_int_eq(layout_choose(&image, 64 * MIB, aslr[i],
					       0xfedcba987654321, &layout,
					       &error),
				 0);
		ck_assert_uint_eq(layout.memory_start, 0);
		ck_assert_uint_eq(layout.kernel_addr, 0x800000);
		ck_assert_uint_eq(layout.kernel_end, 0x800000 + 0x147480);
	}
}
END_TEST

START_TEST(layout_fixed_outside_memory)
{
	struct kernel_image image = fixed_image();
	struct guest_layout layout;

	ck_assert_int_eq(
	    layout_choose(&image, 8 * MIB, false, 0, &layout, &error), -EINVAL);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "kernel image [0x800000, 0x947480) does not "
				"fit in guest memory [0, 0x800000): use a "
				"larger memory size");
}
END_TEST

START_TEST(layout_fixed_too_low)
{
	struct kernel_image image = fixed_image();
	struct guest_layout layout;

	image.load_start = 0x1000;
	ck_assert_int_eq(
	    layout_choose(&image, 64 * MIB, false, 0, &layout, &error),
	    -EINVAL);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "kernel load address 0x1000 is too low: it "
				"must be at least 0x40000");
}
END_TEST

START_TEST(layout_fixed_v2_too_low)
{
	struct kernel_image image = fixed_image();
	struct guest_layout layout;

	image.interface_version = 2;
	ck_assert_int_eq(
	    layout_choose(&image, 64 * MIB, false, 0, &layout, &error),
	    -EINVAL);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "kernel load address 0x800000 is too low: it "
				"must be at least 0x100040000");
}
END_TEST

START_TEST(layout_kernel_too_big)
{
	struct kernel_image image = relocatable_image(1);
	struct guest_layout layout;

	image.load_span = 100 * MIB;
	ck_assert_int_eq(
	    layout_choose(&image, 64 * MIB, false, 0, &layout, &error),
	    -EINVAL);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "kernel image [0x40000, 0x6440000) does not "
				"fit in guest memory [0, 0x4000000): use a "
				"larger memory size");
}
END_TEST

START_TEST(layout_kernel_fills_memory)
{
	struct kernel_image image = relocatable_image(1);
	struct guest_layout layout;

	image.load_span = 64 * MIB - 0x40000;
	ck_assert_int_eq(
	    layout_choose(&image, 64 * MIB, true, 77, &layout, &error), 0);
	ck_assert_uint_eq(layout.kernel_end,
			  layout.memory_start + layout.memory_size);

	image.load_span++;
	ck_assert_int_eq(
	    layout_choose(&image, 64 * MIB, true, 77, &layout, &error),
	    -EINVAL);
	ck_assert_ptr_nonnull(error);
}
END_TEST

/* Checks that `gva` translates to itself through the tables at `cr3`. */
static void assert_identity(uint64_t cr3, uint64_t gva)
{
	uint64_t gpa = 0;
	uint64_t remaining = 0;

	ck_assert_msg(uhyve_arch_translate(&mem, cr3, gva, &gpa, &remaining) ==
			  0,
		      "%#llx does not translate", (unsigned long long)gva);
	ck_assert_msg(gpa == gva, "%#llx translates to %#llx",
		      (unsigned long long)gva, (unsigned long long)gpa);
	ck_assert_msg(remaining == 2 * MIB - gva % (2 * MIB),
		      "%#llx: %#llx bytes remaining", (unsigned long long)gva,
		      (unsigned long long)remaining);
}

static int translate(uint64_t cr3, uint64_t gva, uint64_t *gpa)
{
	uint64_t remaining;

	return uhyve_arch_translate(&mem, cr3, gva, gpa, &remaining);
}

START_TEST(page_tables_entries_and_flags)
{
	uint64_t pml4 = 0x10000;
	uint64_t pdpt = 0x11000;
	uint64_t pd = 0x12000;

	make_guest_memory(0, 64 * MIB);
	ck_assert_int_eq(uhyve_arch_write_page_tables(&mem, 1 * GIB), 0);

	ck_assert_uint_eq(read_u64(pml4 + 511 * 8), pml4 | 0x03);
	ck_assert_uint_eq(read_u64(pml4), pdpt | 0x03);
	for (unsigned i = 1; i < 511; i++)
		ck_assert_uint_eq(read_u64(pml4 + i * 8), 0);
	ck_assert_uint_eq(read_u64(pdpt), pd | 0x03);
	for (unsigned i = 1; i < 512; i++)
		ck_assert_uint_eq(read_u64(pdpt + i * 8), 0);
	for (unsigned i = 0; i < 512; i++)
		ck_assert_uint_eq(read_u64(pd + i * 8), i * 2 * MIB | 0x83);

	/* The next table page stays untouched. */
	ck_assert_uint_eq(*guest_bytes(0x13000), FILL_BYTE);
}
END_TEST

START_TEST(page_tables_identity_translation)
{
	static const uint64_t addresses[] = {
	    0,		 0x1234,  0x9000,     0x40000,
	    2 * MIB - 1, 2 * MIB, 0x3ffff000, 1 * GIB - 1,
	};

	make_guest_memory(0, 64 * MIB);
	ck_assert_int_eq(uhyve_arch_write_page_tables(&mem, 1 * GIB), 0);
	for (size_t i = 0; i < G_N_ELEMENTS(addresses); i++)
		assert_identity(0x10000, addresses[i]);
}
END_TEST

START_TEST(page_tables_unmapped_addresses)
{
	static const uint64_t addresses[] = {
	    1 * GIB,		   /* just past map_end */
	    512 * GIB,		   /* PML4 entry 1 */
	    0xffff800000000000ULL, /* canonical, PML4 entry 256 */
	    0x0000800000000000ULL, /* not canonical */
	    0x8000000000000000ULL, /* not canonical */
	    0x00fffffffffff000ULL, /* not canonical */
	};
	uint64_t gpa;

	make_guest_memory(0, 64 * MIB);
	ck_assert_int_eq(uhyve_arch_write_page_tables(&mem, 1 * GIB), 0);
	for (size_t i = 0; i < G_N_ELEMENTS(addresses); i++)
		ck_assert_msg(translate(0x10000, addresses[i], &gpa) == -EFAULT,
			      "%#llx translates",
			      (unsigned long long)addresses[i]);
}
END_TEST

START_TEST(page_tables_recursive_entry)
{
	uint64_t gpa = 0;

	make_guest_memory(0, 64 * MIB);
	ck_assert_int_eq(uhyve_arch_write_page_tables(&mem, 1 * GIB), 0);

	/* Index 511 at all four levels reaches the PML4 page itself. */
	ck_assert_int_eq(translate(0x10000, 0xfffffffffffff018ULL, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x10018);
	/* 511, 511, 511, 0 reaches the page that PML4 entry 0 points to. */
	ck_assert_int_eq(translate(0x10000, 0xffffffffffe00008ULL, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x11008);
}
END_TEST

START_TEST(page_tables_round_up_2_mib)
{
	uint64_t gpa;

	make_guest_memory(0, 64 * MIB);
	ck_assert_int_eq(
	    uhyve_arch_write_page_tables(&mem, 0x40000 + HELLO_WORLD_LOAD_SPAN),
	    0);
	assert_identity(0x10000, 0x40000 + HELLO_WORLD_LOAD_SPAN);
	assert_identity(0x10000, 2 * MIB - 1);
	ck_assert_int_eq(translate(0x10000, 2 * MIB, &gpa), -EFAULT);
}
END_TEST

START_TEST(page_tables_largest_mapping)
{
	/* PML4, one PDPT and 30 page directories fill 0x10000-0x30000. */
	uint64_t gpa;

	make_guest_memory(0, 64 * MIB);
	ck_assert_int_eq(uhyve_arch_write_page_tables(&mem, 30 * GIB), 0);
	assert_identity(0x10000, 30 * GIB - 1);
	assert_identity(0x10000, 17 * GIB + 0x12345);
	ck_assert_int_eq(translate(0x10000, 30 * GIB, &gpa), -EFAULT);
	ck_assert_uint_eq(*guest_bytes(0x30000), FILL_BYTE);
}
END_TEST

START_TEST(page_tables_too_many_tables)
{
	make_guest_memory(0, 64 * MIB);
	ck_assert_int_eq(uhyve_arch_write_page_tables(&mem, 30 * GIB + 1),
			 -E2BIG);
	ck_assert_int_eq(uhyve_arch_write_page_tables(&mem, 64 * GIB), -E2BIG);
	ck_assert_uint_eq(*guest_bytes(0x30000), FILL_BYTE);
}
END_TEST

START_TEST(page_tables_memory_too_small)
{
	/* Memory that ends after the PML4 has no room for a PDPT. */
	make_guest_memory(0, 0x11000);
	ck_assert_int_eq(uhyve_arch_write_page_tables(&mem, 2 * MIB), -E2BIG);
}
END_TEST

START_TEST(page_tables_v2_at_4_gib)
{
	uint64_t g = 4 * GIB;
	uint64_t pml4 = g + 0x10000;
	uint64_t gpa;

	make_guest_memory(g, 64 * MIB);
	ck_assert_int_eq(uhyve_arch_write_page_tables(&mem, g + 1 * GIB), 0);
	ck_assert_uint_eq(read_u64(pml4 + 511 * 8), pml4 | 0x03);
	ck_assert_uint_eq(read_u64(pml4), (g + 0x11000) | 0x03);
	ck_assert_uint_eq(read_u64(g + 0x11000 + 4 * 8), (g + 0x12000) | 0x03);
	ck_assert_uint_eq(read_u64(g + 0x12000), g | 0x83);

	assert_identity(pml4, g);
	assert_identity(pml4, g + 0x40000);
	assert_identity(pml4, g + 1 * GIB - 1);
	ck_assert_int_eq(translate(pml4, 0, &gpa), -EFAULT);
	ck_assert_int_eq(translate(pml4, 3 * GIB, &gpa), -EFAULT);
	ck_assert_int_eq(translate(pml4, g + 1 * GIB, &gpa), -EFAULT);
}
END_TEST

/* Hand-built tables in 4 MiB of memory: PML4 at 0x1000, PDPT at 0x2000,
 * page directory at 0x3000, page table at 0x4000. */
static void build_hand_tables(void)
{
	make_guest_memory(0, 4 * MIB);
	memset(mem.host, 0, mem.size);

	write_u64(0x1000 + 0 * 8, 0x2000 | 0x03);
	write_u64(0x1000 + 1 * 8, 0x10000000 | 0x03); /* outside memory */
	write_u64(0x1000 + 2 * 8, 0x1000 | 0x03);     /* points to itself */

	write_u64(0x2000 + 0 * 8, 0x3000 | 0x03);
	write_u64(0x2000 + 1 * 8, 0x40000000 | 0x83);
	write_u64(0x2000 + 2 * 8, 0x80001000 | 0x83); /* PAT bit 12 set */

	write_u64(0x3000 + 0 * 8, 0x4000 | 0x03);
	write_u64(0x3000 + 1 * 8, 0x600000 | 0x83);
	write_u64(0x3000 + 2 * 8, 0x7fff000000ULL | 0x03); /* outside */
	write_u64(0x3000 + 3 * 8, 0x5000);		   /* not present */

	write_u64(0x4000 + 5 * 8, 0x123000 | 0x03);
	write_u64(0x4000 + 6 * 8, 0x8000000000124000ULL | 0x03); /* NX */
}

START_TEST(translate_hand_built_pages)
{
	static const struct {
		uint64_t gva;
		uint64_t gpa;
		uint64_t remaining;
	} cases[] = {
	    {0x5678, 0x123678, 0x988},
	    {0x6010, 0x124010, 0xff0},
	    {0x200010, 0x600010, 2 * MIB - 0x10},
	    {0x40012345, 0x40012345, 1 * GIB - 0x12345},
	    {0x80000005, 0x80000005, 1 * GIB - 5},
	};

	build_hand_tables();
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		uint64_t gpa = 0;
		uint64_t remaining = 0;

		ck_assert_int_eq(uhyve_arch_translate(&mem, 0x1000,
						      cases[i].gva, &gpa,
						      &remaining),
				 0);
		ck_assert_uint_eq(gpa, cases[i].gpa);
		ck_assert_uint_eq(remaining, cases[i].remaining);
	}
}
END_TEST

START_TEST(translate_missing_or_outside_tables)
{
	static const uint64_t addresses[] = {
	    0x7000,	/* page table entry not present */
	    0x400000,	/* page table outside guest memory */
	    0x600000,	/* page directory entry not present */
	    0xc0000000, /* PDPT entry not present */
	    1ULL << 39, /* PDPT outside guest memory */
	    3ULL << 39, /* PML4 entry not present */
	};
	uint64_t gpa;

	build_hand_tables();
	for (size_t i = 0; i < G_N_ELEMENTS(addresses); i++)
		ck_assert_msg(translate(0x1000, addresses[i], &gpa) == -EFAULT,
			      "%#llx translates",
			      (unsigned long long)addresses[i]);
}
END_TEST

START_TEST(translate_hostile_cr3)
{
	uint64_t gpa = 0;

	build_hand_tables();
	ck_assert_int_eq(translate(4 * MIB, 0, &gpa), -EFAULT);
	ck_assert_int_eq(translate(UINT64_MAX, 0, &gpa), -EFAULT);
	ck_assert_int_eq(translate(0x3ff000, 0, &gpa), -EFAULT);
	/* PWT and PCD in cr3 are not part of the table address. */
	ck_assert_int_eq(translate(0x1000 | 0x18, 0x5678, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x123678);
}
END_TEST

START_TEST(translate_self_reference_ends)
{
	/* PML4 entry 2 points to the PML4, so the walk reads it at every
	 * level and stops after four. */
	uint64_t gva = 2ULL << 39 | 2ULL << 30 | 2ULL << 21 | 2ULL << 12 | 0x8;
	uint64_t gpa = 0;

	build_hand_tables();
	ck_assert_int_eq(translate(0x1000, gva, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x1008);
}
END_TEST

/* Boot parameters for a relocatable v1 or v2 kernel with 64 MiB at G. */
struct boot_fixture {
	struct kernel_image image;
	struct guest_layout layout;
	struct boot_params params;
};

static void make_boot_fixture(struct boot_fixture *fixture,
			      uint32_t interface_version, uint64_t g)
{
	fixture->image = relocatable_image(interface_version);
	fixture->layout.memory_start = g;
	fixture->layout.memory_size = 64 * MIB;
	fixture->layout.kernel_addr = g + 0x40000;
	fixture->layout.kernel_end = g + 0x40000 + HELLO_WORLD_LOAD_SPAN;
	fixture->params.image = &fixture->image;
	fixture->params.layout = &fixture->layout;
	fixture->params.cpu_count = 4;
	fixture->params.tsc_khz = 2500000;
	fixture->params.bootargs = "";
	fixture->params.mounts = NULL;
	make_guest_memory(g, 64 * MIB);
}

static uint64_t boot_info_u64(size_t offset)
{
	return read_u64(mem.start + HERMIT_BOOT_INFO_OFFSET + offset);
}

static const uint8_t *boot_info_bytes(void)
{
	return guest_bytes(mem.start + HERMIT_BOOT_INFO_OFFSET);
}

static int64_t realtime_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

START_TEST(boot_info_field_offsets)
{
	struct boot_fixture fixture;
	const uint8_t *info;
	uint16_t serial_port;
	uint32_t platform;
	uint32_t khz;
	__int128 boot_time;
	int64_t before;
	int64_t after;

	make_boot_fixture(&fixture, 1, 0);
	before = realtime_ns();
	ck_assert_int_eq(boot_info_write(&mem, &fixture.params), 0);
	after = realtime_ns();
	info = boot_info_bytes();

	ck_assert_uint_eq(boot_info_u64(0), 0);
	ck_assert_uint_eq(boot_info_u64(8), 64 * MIB);
	memcpy(&serial_port, info + 16, sizeof(serial_port));
	ck_assert_uint_eq(serial_port, 0x800);
	ck_assert_uint_eq(boot_info_u64(24), 0x5000);
	ck_assert_uint_eq(boot_info_u64(32), 0x40000);
	ck_assert_uint_eq(boot_info_u64(40), 0x40000 + HELLO_WORLD_LOAD_SPAN);
	ck_assert_uint_eq(boot_info_u64(48), 0x40000 + 0x906f8);
	ck_assert_uint_eq(boot_info_u64(56), 0x20);
	ck_assert_uint_eq(boot_info_u64(64), 0x81);
	ck_assert_uint_eq(boot_info_u64(72), 8);
	memcpy(&platform, info + 80, sizeof(platform));
	ck_assert_uint_eq(platform, 1);
	ck_assert_uint_eq(info[88], 1);
	ck_assert_uint_eq(boot_info_u64(96), 4);
	memcpy(&khz, info + 104, sizeof(khz));
	ck_assert_uint_eq(khz, 2500000);
	memcpy(&boot_time, info + 112, sizeof(boot_time));
	ck_assert(boot_time >= before);
	ck_assert(boot_time <= after);
}
END_TEST

START_TEST(boot_info_unlisted_bytes_zero)
{
	static const size_t padding[][2] = {
	    {18, 24},
	    {84, 88},
	    {89, 96},
	    {108, 112},
	};
	struct boot_fixture fixture;
	const uint8_t *info;

	make_boot_fixture(&fixture, 1, 0);
	ck_assert_int_eq(boot_info_write(&mem, &fixture.params), 0);
	info = boot_info_bytes();
	for (size_t i = 0; i < G_N_ELEMENTS(padding); i++)
		for (size_t j = padding[i][0]; j < padding[i][1]; j++)
			ck_assert_msg(info[j] == 0, "byte %zu is %#x", j,
				      info[j]);

	/* Only the 128 bytes of the block are written. */
	ck_assert_uint_eq(info[-1], FILL_BYTE);
	ck_assert_uint_eq(info[128], FILL_BYTE);
}
END_TEST

START_TEST(boot_info_v2_at_4_gib)
{
	struct boot_fixture fixture;
	uint16_t serial_port;

	make_boot_fixture(&fixture, 2, 4 * GIB);
	ck_assert_int_eq(boot_info_write(&mem, &fixture.params), 0);
	memcpy(&serial_port, boot_info_bytes() + 16, sizeof(serial_port));
	ck_assert_uint_eq(serial_port, 0x1030);
	ck_assert_uint_eq(boot_info_u64(0), 4 * GIB);
	ck_assert_uint_eq(boot_info_u64(8), 4 * GIB + 64 * MIB);
	ck_assert_uint_eq(boot_info_u64(24), 4 * GIB + 0x5000);
	ck_assert_uint_eq(boot_info_u64(32), 4 * GIB + 0x40000);
	ck_assert_uint_eq(boot_info_u64(48), 4 * GIB + 0x40000 + 0x906f8);
}
END_TEST

START_TEST(boot_info_without_tls)
{
	struct boot_fixture fixture;

	make_boot_fixture(&fixture, 1, 0);
	fixture.image.has_tls = false;
	fixture.params.tsc_khz = 0;
	ck_assert_int_eq(boot_info_write(&mem, &fixture.params), 0);
	for (size_t offset = 48; offset <= 72; offset += 8)
		ck_assert_uint_eq(boot_info_u64(offset), 0);
	ck_assert_uint_eq(boot_info_u64(104) & 0xffffffff, 0);
}
END_TEST

START_TEST(boot_info_fixed_kernel_tls)
{
	struct boot_fixture fixture;

	make_boot_fixture(&fixture, 1, 0);
	fixture.image = fixed_image();
	fixture.layout.kernel_addr = 0x800000;
	fixture.layout.kernel_end = 0x800000 + 0x147480;
	ck_assert_int_eq(boot_info_write(&mem, &fixture.params), 0);
	ck_assert_uint_eq(boot_info_u64(32), 0x800000);
	ck_assert_uint_eq(boot_info_u64(40), 0x947480);
	ck_assert_uint_eq(boot_info_u64(48), 0x8ca000);
	ck_assert_uint_eq(boot_info_u64(64), 4);
}
END_TEST

START_TEST(boot_info_memory_too_small)
{
	struct boot_fixture fixture;

	make_boot_fixture(&fixture, 1, 0);
	mem.size = HERMIT_BOOT_INFO_OFFSET + 64;
	ck_assert_int_eq(boot_info_write(&mem, &fixture.params), -E2BIG);
}
END_TEST

static const void *device_tree(void)
{
	return guest_bytes(mem.start + HERMIT_FDT_OFFSET);
}

/* Returns the value of property `name` of the node at `path`, checking
 * that it is `length` bytes long. */
static const void *fdt_property_of(const char *path, const char *name,
				   int length)
{
	const void *fdt = device_tree();
	int node = fdt_path_offset(fdt, path);
	const void *value;
	int found_length = -1;

	ck_assert_msg(node >= 0, "node %s not found: %s", path,
		      fdt_strerror(node));
	value = fdt_getprop(fdt, node, name, &found_length);
	ck_assert_msg(value != NULL, "%s has no property %s", path, name);
	ck_assert_int_eq(found_length, length);
	return value;
}

static uint32_t fdt_u32_of(const char *path, const char *name)
{
	fdt32_t value;

	memcpy(&value, fdt_property_of(path, name, 4), sizeof(value));
	return fdt32_to_cpu(value);
}

START_TEST(device_tree_root_and_memory)
{
	struct boot_fixture fixture;
	fdt64_t reg[2];
	const void *fdt;

	make_boot_fixture(&fixture, 1, 0);
	ck_assert_int_eq(device_tree_write(&mem, &fixture.params, &error), 0);
	ck_assert_ptr_null(error);
	fdt = device_tree();

	ck_assert_int_eq(fdt_check_header(fdt), 0);
	ck_assert_int_eq(fdt_version(fdt), 17);
	ck_assert_uint_le(fdt_totalsize(fdt), HERMIT_FDT_MAX_SIZE);
	ck_assert_str_eq(fdt_property_of("/", "compatible", 13),
			 "hermit,uhyve");
	ck_assert_uint_eq(fdt_u32_of("/", "#address-cells"), 2);
	ck_assert_uint_eq(fdt_u32_of("/", "#size-cells"), 2);
	ck_assert_str_eq(fdt_property_of("/memory@0", "device_type", 7),
			 "memory");
	/* Properties are only 4-byte aligned, so copy before reading. */
	memcpy(reg, fdt_property_of("/memory@0", "reg", 16), sizeof(reg));
	ck_assert_uint_eq(fdt64_to_cpu(reg[0]), 0);
	ck_assert_uint_eq(fdt64_to_cpu(reg[1]), 64 * MIB);
}
END_TEST

START_TEST(device_tree_memory_at_4_gib)
{
	static const uint8_t expected_reg[16] = {
	    0, 0, 0, 1, 0, 0, 0, 0, /* G = 0x100000000, big-endian */
	    0, 0, 0, 0, 4, 0, 0, 0, /* M = 0x4000000 */
	};
	struct boot_fixture fixture;

	make_boot_fixture(&fixture, 2, 4 * GIB);
	ck_assert_int_eq(device_tree_write(&mem, &fixture.params, &error), 0);
	ck_assert_int_eq(fdt_check_header(device_tree()), 0);
	ck_assert_mem_eq(fdt_property_of("/memory@100000000", "reg", 16),
			 expected_reg, 16);
}
END_TEST

START_TEST(device_tree_bootargs)
{
	static const char *const bootargs[] = {"", "-v env=A=1 -- x y"};
	struct boot_fixture fixture;

	for (size_t i = 0; i < G_N_ELEMENTS(bootargs); i++) {
		make_boot_fixture(&fixture, 1, 0);
		fixture.params.bootargs = bootargs[i];
		ck_assert_int_eq(
		    device_tree_write(&mem, &fixture.params, &error), 0);
		ck_assert_str_eq(fdt_property_of("/chosen", "bootargs",
						 (int)strlen(bootargs[i]) + 1),
				 bootargs[i]);
	}
}
END_TEST

START_TEST(device_tree_tsc_khz)
{
	struct boot_fixture fixture;

	make_boot_fixture(&fixture, 1, 0);
	ck_assert_int_eq(device_tree_write(&mem, &fixture.params, &error), 0);
	ck_assert_uint_eq(fdt_u32_of("/hermit,tsc", "khz"), 2500000);

	fixture.params.tsc_khz = 0;
	ck_assert_int_eq(device_tree_write(&mem, &fixture.params, &error), 0);
	ck_assert_int_eq(fdt_path_offset(device_tree(), "/hermit,tsc"),
			 -FDT_ERR_NOTFOUND);
}
END_TEST

START_TEST(device_tree_mounts)
{
	static const char *const mounts[] = {"/data", "/root/out", NULL};
	static const char *const no_mounts[] = {NULL};
	struct boot_fixture fixture;
	const void *fdt;
	int node;

	make_boot_fixture(&fixture, 1, 0);
	fixture.params.mounts = mounts;
	ck_assert_int_eq(device_tree_write(&mem, &fixture.params, &error), 0);
	fdt = device_tree();
	ck_assert_mem_eq(fdt_property_of("/uhyve,mounts", "mounts", 16),
			 "/data\0/root/out", 16);
	node = fdt_path_offset(fdt, "/uhyve,mounts");
	ck_assert_int_eq(fdt_stringlist_count(fdt, node, "mounts"), 2);
	ck_assert_str_eq(fdt_stringlist_get(fdt, node, "mounts", 1, NULL),
			 "/root/out");

	fixture.params.mounts = no_mounts;
	ck_assert_int_eq(device_tree_write(&mem, &fixture.params, &error), 0);
	ck_assert_int_eq(fdt_path_offset(device_tree(), "/uhyve,mounts"),
			 -FDT_ERR_NOTFOUND);

	fixture.params.mounts = NULL;
	ck_assert_int_eq(device_tree_write(&mem, &fixture.params, &error), 0);
	ck_assert_int_eq(fdt_path_offset(device_tree(), "/uhyve,mounts"),
			 -FDT_ERR_NOTFOUND);
}
END_TEST

START_TEST(device_tree_too_big)
{
	struct boot_fixture fixture;
	char *bootargs = g_strnfill(HERMIT_FDT_MAX_SIZE, 'a');

	make_boot_fixture(&fixture, 1, 0);
	fixture.params.bootargs = bootargs;
	ck_assert_int_eq(device_tree_write(&mem, &fixture.params, &error),
			 -E2BIG);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "the device tree does not fit in its 16384 "
				"bytes: use fewer or shorter arguments, "
				"variables or mappings");
	/* The boot information that follows is not overwritten. */
	ck_assert_uint_eq(*guest_bytes(HERMIT_BOOT_INFO_OFFSET), FILL_BYTE);
	g_free(bootargs);
}
END_TEST

START_TEST(device_tree_memory_too_small)
{
	struct boot_fixture fixture;

	make_boot_fixture(&fixture, 1, 0);
	mem.size = 0x8000;
	ck_assert_int_eq(device_tree_write(&mem, &fixture.params, &error),
			 -E2BIG);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error,
			 "guest memory is too small for the device tree");
}
END_TEST

/* Returns a new array of copies of the NULL-terminated `items`. */
static GPtrArray *string_array(const char *const *items)
{
	GPtrArray *array = g_ptr_array_new_with_free_func(g_free);

	for (size_t i = 0; items && items[i]; i++)
		g_ptr_array_add(array, g_strdup(items[i]));
	return array;
}

/* Returns `count` strings "<prefix><n>". */
static GPtrArray *numbered_array(const char *prefix, unsigned count)
{
	GPtrArray *array = g_ptr_array_new_with_free_func(g_free);

	for (unsigned i = 0; i < count; i++)
		g_ptr_array_add(array, g_strdup_printf("%s%u", prefix, i));
	return array;
}

START_TEST(bootargs_table_of_inputs)
{
	static const struct {
		const char *kernel[3];
		const char *env[3];
		const char *app[3];
		const char *expected;
	} cases[] = {
	    {{NULL}, {NULL}, {NULL}, ""},
	    {{"-freq", "2000"}, {NULL}, {NULL}, "-freq 2000"},
	    {{NULL}, {"RUST_LOG=debug"}, {NULL}, "env=RUST_LOG=debug"},
	    {{NULL}, {NULL}, {"x", "y"}, "-- x y"},
	    {{"-v"},
	     {"A=1", "B=2"},
	     {"file.txt"},
	     "-v env=A=1 env=B=2 -- file.txt"},
	    {{"-v"}, {NULL}, {"a"}, "-v -- a"},
	    {{NULL}, {"A=1"}, {"a"}, "env=A=1 -- a"},
	    {{NULL}, {"MSG=hello world"}, {NULL}, "env=MSG='hello world'"},
	    {{NULL}, {"Q=it's"}, {NULL}, "env=Q='it'\\''s'"},
	    {{NULL}, {"X=a=b"}, {NULL}, "env=X=a=b"},
	    {{NULL}, {"E="}, {NULL}, "env=E=''"},
	    {{NULL}, {"N=\xc3\xbc"}, {NULL}, "env=N='\xc3\xbc'"},
	    {{"a b", "it's"},
	     {NULL},
	     {"", "c d"},
	     "'a b' 'it'\\''s' -- '' 'c d'"},
	    {{NULL}, {"K Y=v"}, {NULL}, "env='K Y'=v"},
	    {{NULL}, {"P=$HOME;ls"}, {NULL}, "env=P='$HOME;ls'"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		GPtrArray *kernel = string_array(cases[i].kernel);
		GPtrArray *env = string_array(cases[i].env);
		GPtrArray *app = string_array(cases[i].app);
		char *bootargs = bootargs_build(kernel, env, app);

		ck_assert_msg(strcmp(bootargs, cases[i].expected) == 0,
			      "case %zu: \"%s\", expected \"%s\"", i, bootargs,
			      cases[i].expected);
		g_free(bootargs);
		g_ptr_array_unref(kernel);
		g_ptr_array_unref(env);
		g_ptr_array_unref(app);
	}
}
END_TEST

START_TEST(shell_quote_table_of_words)
{
	static const struct {
		const char *word;
		const char *expected;
	} cases[] = {
	    {"", "''"},
	    {"abc", "abc"},
	    {"a=b,c:d/e.f-g+h@i%j_k", "a=b,c:d/e.f-g+h@i%j_k"},
	    {"a b", "'a b'"},
	    {"it's", "'it'\\''s'"},
	    {"'", "''\\'''"},
	    {"$HOME", "'$HOME'"},
	    {"*", "'*'"},
	    {"~", "'~'"},
	    {"tab\there", "'tab\there'"},
	    {"line\nbreak", "'line\nbreak'"},
	    {"\"quoted\"", "'\"quoted\"'"},
	    {"\xc3\xbc", "'\xc3\xbc'"},
	    {"back\\slash", "'back\\slash'"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *quoted = shell_quote(cases[i].word);

		ck_assert_msg(strcmp(quoted, cases[i].expected) == 0,
			      "shell_quote(\"%s\") is \"%s\", expected \"%s\"",
			      cases[i].word, quoted, cases[i].expected);
		g_free(quoted);
	}
}
END_TEST

START_TEST(v1_command_line_order)
{
	static const char *const kernel_items[] = {"-v", NULL};
	static const char *const app_items[] = {"b", "c d", NULL};
	static const char *const env_items[] = {"A=1", "B=two words", NULL};
	static const char *const expected_argv[] = {"/images/hello_world", "-v",
						    "b", "c d"};
	GPtrArray *kernel = string_array(kernel_items);
	GPtrArray *app = string_array(app_items);
	GPtrArray *env = string_array(env_items);
	struct v1_command_line command_line = {0};

	ck_assert_int_eq(v1_command_line_build("/images/hello_world", kernel,
					       app, env, &command_line, &error),
			 0);
	ck_assert_ptr_null(error);
	ck_assert_uint_eq(command_line.argv->len, G_N_ELEMENTS(expected_argv));
	for (guint i = 0; i < G_N_ELEMENTS(expected_argv); i++)
		ck_assert_str_eq(command_line.argv->pdata[i], expected_argv[i]);

	ck_assert_uint_eq(command_line.envp->len, V1_MIN_ENV_ENTRIES);
	ck_assert_uint_eq(V1_MIN_ENV_ENTRIES, 32);
	ck_assert_str_eq(command_line.envp->pdata[0], "A=1");
	ck_assert_str_eq(command_line.envp->pdata[1], "B=two words");
	for (guint i = 2; i < command_line.envp->len; i++)
		ck_assert_str_eq(command_line.envp->pdata[i], "");

	v1_command_line_clear(&command_line);
	ck_assert_ptr_null(command_line.argv);
	ck_assert_ptr_null(command_line.envp);
	g_ptr_array_unref(kernel);
	g_ptr_array_unref(app);
	g_ptr_array_unref(env);
}
END_TEST

START_TEST(v1_command_line_empty)
{
	GPtrArray *none = string_array(NULL);
	struct v1_command_line command_line = {0};

	ck_assert_int_eq(
	    v1_command_line_build("k", none, none, none, &command_line, &error),
	    0);
	ck_assert_uint_eq(command_line.argv->len, 1);
	ck_assert_str_eq(command_line.argv->pdata[0], "k");
	ck_assert_uint_eq(command_line.envp->len, 32);
	v1_command_line_clear(&command_line);
	g_ptr_array_unref(none);
}
END_TEST

START_TEST(v1_command_line_no_padding)
{
	GPtrArray *none = string_array(NULL);
	GPtrArray *env = numbered_array("V=", 40);
	struct v1_command_line command_line = {0};

	ck_assert_int_eq(
	    v1_command_line_build("k", none, none, env, &command_line, &error),
	    0);
	ck_assert_uint_eq(command_line.envp->len, 40);
	ck_assert_str_eq(command_line.envp->pdata[39], "V=39");
	v1_command_line_clear(&command_line);
	g_ptr_array_unref(none);
	g_ptr_array_unref(env);
}
END_TEST

START_TEST(v1_command_line_128_accepted)
{
	GPtrArray *kernel = numbered_array("k", 63);
	GPtrArray *app = numbered_array("a", 64);
	GPtrArray *env = numbered_array("V=", 128);
	struct v1_command_line command_line = {0};

	ck_assert_int_eq(v1_command_line_build("path", kernel, app, env,
					       &command_line, &error),
			 0);
	ck_assert_ptr_null(error);
	ck_assert_uint_eq(command_line.argv->len, 128);
	ck_assert_str_eq(command_line.argv->pdata[127], "a63");
	ck_assert_uint_eq(command_line.envp->len, 128);
	v1_command_line_clear(&command_line);
	g_ptr_array_unref(kernel);
	g_ptr_array_unref(app);
	g_ptr_array_unref(env);
}
END_TEST

START_TEST(v1_command_line_129_args)
{
	GPtrArray *kernel = numbered_array("k", 64);
	GPtrArray *app = numbered_array("a", 64);
	GPtrArray *none = string_array(NULL);
	struct v1_command_line command_line = {0};

	ck_assert_int_eq(v1_command_line_build("path", kernel, app, none,
					       &command_line, &error),
			 -E2BIG);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "129 arguments (with the kernel path) are too "
				"many for an interface version 1 kernel: the "
				"limit is 128");
	ck_assert_ptr_null(command_line.argv);
	ck_assert_ptr_null(command_line.envp);
	g_ptr_array_unref(kernel);
	g_ptr_array_unref(app);
	g_ptr_array_unref(none);
}
END_TEST

START_TEST(v1_command_line_129_variables)
{
	GPtrArray *env = numbered_array("V=", 129);
	GPtrArray *none = string_array(NULL);
	struct v1_command_line command_line = {0};

	ck_assert_int_eq(v1_command_line_build("path", none, none, env,
					       &command_line, &error),
			 -E2BIG);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, "129 environment variables are too many for "
				"an interface version 1 kernel: the limit is "
				"128");
	ck_assert_ptr_null(command_line.argv);
	g_ptr_array_unref(env);
	g_ptr_array_unref(none);
}
END_TEST

static TCase *new_tcase(const char *name)
{
	TCase *tcase = tcase_create(name);

	tcase_add_checked_fixture(tcase, setup, teardown);
	return tcase;
}

int main(void)
{
	Suite *suite = suite_create("setup");
	SRunner *runner;
	TCase *tcase;
	int failed;

	tcase = new_tcase("layout");
	tcase_add_test(tcase, layout_v1_without_aslr);
	tcase_add_test(tcase, layout_v1_aslr_range);
	tcase_add_test(tcase, layout_v2_aslr_range);
	tcase_add_test(tcase, layout_aslr_without_room);
	tcase_add_test(tcase, layout_v1_3_gib_rejected);
	tcase_add_test(tcase, layout_v1_largest_memory);
	tcase_add_test(tcase, layout_v2_without_aslr);
	tcase_add_test(tcase, layout_v2_accepts_4_gib);
	tcase_add_test(tcase, layout_v2_accepts_60_gib);
	tcase_add_test(tcase, layout_v2_61_gib_rejected);
	tcase_add_test(tcase, layout_fixed_kernel);
	tcase_add_test(tcase, layout_fixed_outside_memory);
	tcase_add_test(tcase, layout_fixed_too_low);
	tcase_add_test(tcase, layout_fixed_v2_too_low);
	tcase_add_test(tcase, layout_kernel_too_big);
	tcase_add_test(tcase, layout_kernel_fills_memory);
	suite_add_tcase(suite, tcase);

	tcase = new_tcase("paging");
	tcase_add_test(tcase, page_tables_entries_and_flags);
	tcase_add_test(tcase, page_tables_identity_translation);
	tcase_add_test(tcase, page_tables_unmapped_addresses);
	tcase_add_test(tcase, page_tables_recursive_entry);
	tcase_add_test(tcase, page_tables_round_up_2_mib);
	tcase_add_test(tcase, page_tables_largest_mapping);
	tcase_add_test(tcase, page_tables_too_many_tables);
	tcase_add_test(tcase, page_tables_memory_too_small);
	tcase_add_test(tcase, page_tables_v2_at_4_gib);
	tcase_add_test(tcase, translate_hand_built_pages);
	tcase_add_test(tcase, translate_missing_or_outside_tables);
	tcase_add_test(tcase, translate_hostile_cr3);
	tcase_add_test(tcase, translate_self_reference_ends);
	suite_add_tcase(suite, tcase);

	tcase = new_tcase("boot_info");
	tcase_add_test(tcase, boot_info_field_offsets);
	tcase_add_test(tcase, boot_info_unlisted_bytes_zero);
	tcase_add_test(tcase, boot_info_v2_at_4_gib);
	tcase_add_test(tcase, boot_info_without_tls);
	tcase_add_test(tcase, boot_info_fixed_kernel_tls);
	tcase_add_test(tcase, boot_info_memory_too_small);
	suite_add_tcase(suite, tcase);

	tcase = new_tcase("device_tree");
	tcase_add_test(tcase, device_tree_root_and_memory);
	tcase_add_test(tcase, device_tree_memory_at_4_gib);
	tcase_add_test(tcase, device_tree_bootargs);
	tcase_add_test(tcase, device_tree_tsc_khz);
	tcase_add_test(tcase, device_tree_mounts);
	tcase_add_test(tcase, device_tree_too_big);
	tcase_add_test(tcase, device_tree_memory_too_small);
	suite_add_tcase(suite, tcase);

	tcase = new_tcase("arguments");
	tcase_add_test(tcase, bootargs_table_of_inputs);
	tcase_add_test(tcase, shell_quote_table_of_words);
	tcase_add_test(tcase, v1_command_line_order);
	tcase_add_test(tcase, v1_command_line_empty);
	tcase_add_test(tcase, v1_command_line_no_padding);
	tcase_add_test(tcase, v1_command_line_128_accepted);
	tcase_add_test(tcase, v1_command_line_129_args);
	tcase_add_test(tcase, v1_command_line_129_variables);
	suite_add_tcase(suite, tcase);

	runner = srunner_create(suite);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
