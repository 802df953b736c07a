/* x86_64 guest page-table walks and the boot-time identity mapping. */
#ifndef UHYVE_X86_64_PAGING_H
#define UHYVE_X86_64_PAGING_H

#include <stdint.h>

#include "../guest_mem.h"

#define X86_PTE_PRESENT	  0x1ULL
#define X86_PTE_WRITABLE  0x2ULL
#define X86_PTE_HUGE	  0x80ULL
#define X86_PTE_ADDR_MASK 0x000ffffffffff000ULL

/*
 * Translates the guest-virtual address `gva` through the 4-level page tables
 * at `cr3` (honouring 1 GiB and 2 MiB pages), reading every table through
 * the checked guest memory helper. Stores the gpa in *gpa and the number of
 * bytes from there to the end of its page in *page_remaining.
 * Returns 0, or -EFAULT when a table lies outside guest memory, an entry is
 * not present, or `gva` is not canonical.
 */
int uhyve_arch_translate(const struct guest_mem *mem, uint64_t cr3,
			 uint64_t gva, uint64_t *gpa, uint64_t *page_remaining);

/*
 * Writes the boot page tables: an identity mapping with 2 MiB pages of
 * [mem->start, map_end) (rounded up to 2 MiB) and the recursive PML4 entry
 * 511. Tables are placed from mem->start + HERMIT_PML4_OFFSET up to
 * HERMIT_PAGE_TABLES_END_OFFSET. Returns 0, or -E2BIG when that space is
 * too small for the mapping.
 */
int uhyve_arch_write_page_tables(const struct guest_mem *mem, uint64_t map_end);

/* Like uhyve_arch_write_page_tables(), but also identity-maps the first
 * 2 MiB of addresses when guest memory starts above them: accesses there
 * reach the host as MMIO. */
int uhyve_arch_write_page_tables_with_low(const struct guest_mem *mem,
					  uint64_t map_end);

#endif /* UHYVE_X86_64_PAGING_H */
