/* Hermit kernel files: checks, notes and loading of ELF64 x86_64 images. */
#ifndef UHYVE_ELF_LOADER_H
#define UHYVE_ELF_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

/* Properties of a kernel file, as read by elf_loader_parse(). */
struct kernel_image {
	bool relocatable;	    /* ET_DYN (static-pie) */
	uint32_t interface_version; /* UHYVEIF note, 1 when absent */
	bool has_hermit_version;    /* GNU ABI tag with the Hermit OS number */
	uint32_t hermit_version[3]; /* major, minor, patch */
	uint64_t load_start;	    /* first PT_LOAD p_vaddr */
	uint64_t load_span; /* end of the last PT_LOAD minus load_start */
	uint64_t entry;	    /* e_entry, relative to the load address
			       for relocatable kernels */
	bool has_tls;
	uint64_t tls_vaddr; /* PT_TLS p_vaddr (unrelocated) */
	uint64_t tls_filesz;
	uint64_t tls_memsz;
	uint64_t tls_align;
	size_t relocation_count; /* RELA entries of PT_DYNAMIC */
};

/*
 * Parses and checks the kernel file in `data` (`size` bytes, named `name`
 * in messages) and fills *image. Returns 0, or -ENOEXEC with a message for
 * a file that is not a usable x86_64 Hermit kernel (the message names an
 * architecture that is not x86_64), or -ENOMEM.
 */
int elf_loader_parse(const void *data, size_t size, const char *name,
		     struct kernel_image *image, char **error);

/*
 * Copies the PT_LOAD segments of the parsed kernel into guest memory with
 * the image starting at guest-physical `kernel_addr` (ignored for fixed
 * kernels, which go to their own addresses), zeroes the rest of each
 * segment and applies the relocations. Every write is checked against
 * `mem`. Returns 0, or -ENOEXEC/-E2BIG with a message.
 */
int elf_loader_load(const void *data, size_t size, const char *name,
		    const struct kernel_image *image,
		    const struct guest_mem *mem, uint64_t kernel_addr,
		    char **error);

/* Returns the name of an ELF e_machine value ("aarch64", "riscv", ...) or
 * NULL when it is not one of the common ones. */
const char *elf_machine_name(unsigned machine);

#endif /* UHYVE_ELF_LOADER_H */
