/* libFuzzer target: the kernel loader on arbitrary ELF bytes, from the checks
 * to the load into guarded guest memory. */
/*
 * Runs the steps of uhyve_vm_create() that read the kernel file: parse and
 * check it, choose the memory layout, load it with its relocations and
 * write the boot page tables and boot information. Guest memory has
 * PROT_NONE guard regions on both sides, so a write outside it crashes.
 * The same kernel is also loaded into memory too small for it, which must
 * fail cleanly.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uhyve/uhyve.h"

#include "arch.h"
#include "elf_loader.h"
#include "guest_setup.h"
#include "x86_64/paging.h"

#include "fuzz_common.h"

#define NAME		  "fuzz.elf"
#define MEMORY_SIZE	  UHYVE_MIN_MEMORY_SIZE
#define SMALL_MEMORY_SIZE (2ULL << 20)

static uint8_t *memory;
static uint8_t *small_memory;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memory = fuzz_guarded_alloc(MEMORY_SIZE);
	small_memory = fuzz_guarded_alloc(SMALL_MEMORY_SIZE);
	FUZZ_CHECK(memory != NULL);
	FUZZ_CHECK(small_memory != NULL);
	return 0;
}

/* FNV-1a of the input, so that the address randomisation is the same on
 * every run of one input. */
static uint64_t input_hash(const uint8_t *data, size_t size)
{
	uint64_t hash = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < size; i++)
		hash = (hash ^ data[i]) * 0x100000001b3ULL;
	return hash;
}

static void check_image(const struct kernel_image *image)
{
	FUZZ_CHECK(image->interface_version == 1 ||
		   image->interface_version == 2);
	FUZZ_CHECK(image->load_start + image->load_span >= image->load_start);
	if (!image->relocatable) {
		FUZZ_CHECK(image->entry >= image->load_start);
		FUZZ_CHECK(image->entry - image->load_start < image->load_span);
	}
}

static void load(const uint8_t *file, size_t size,
		 const struct kernel_image *image,
		 const struct guest_layout *layout)
{
	struct guest_mem mem = {memory, layout->memory_start, MEMORY_SIZE};
	struct guest_mem small = {small_memory, layout->memory_start,
				  SMALL_MEMORY_SIZE};
	struct boot_params params = {
	    .image = image,
	    .layout = layout,
	    .cpu_count = 1,
	    .bootargs = "",
	};
	char *error = NULL;
	int rc;

	rc = elf_loader_load(file, size, NAME, image, &mem, layout->kernel_addr,
			     &error);
	FUZZ_CHECK(rc == 0 || rc == -ENOEXEC || rc == -E2BIG);
	FUZZ_CHECK((rc == 0) == (error == NULL));
	free(error);
	error = NULL;
	if (rc == 0) {
		FUZZ_CHECK(uhyve_arch_write_gdt(&mem) == 0);
		(void)uhyve_arch_write_page_tables(&mem, layout->kernel_end);
		FUZZ_CHECK(boot_info_write(&mem, &params) == 0);
	}

	rc = elf_loader_load(file, size, NAME, image, &small,
			     layout->kernel_addr, &error);
	FUZZ_CHECK(rc == 0 || rc == -ENOEXEC || rc == -E2BIG);
	FUZZ_CHECK((rc == 0) == (error == NULL));
	free(error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kernel_image image;
	struct guest_layout layout;
	char *error = NULL;
	uint8_t *file;
	int rc;

	/* libelf may write to the image it reads, and the input is const. */
	file = malloc(size ? size : 1);
	FUZZ_CHECK(file != NULL);
	memcpy(file, data, size);

	rc = elf_loader_parse(file, size, NAME, &image, &error);
	FUZZ_CHECK(rc == 0 || rc == -ENOEXEC || rc == -ENOMEM);
	FUZZ_CHECK((rc == 0) == (error == NULL));
	free(error);
	error = NULL;
	if (rc == 0) {
		check_image(&image);
		rc = layout_choose(&image, MEMORY_SIZE, true,
				   input_hash(data, size), &layout, &error);
		FUZZ_CHECK(rc == 0 || rc == -EINVAL);
		FUZZ_CHECK((rc == 0) == (error == NULL));
		free(error);
		if (rc == 0)
			load(file, size, &image, &layout);
	}
	free(file);
	return 0;
}
