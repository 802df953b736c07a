/* x86_64 guest page-table walks and the boot-time identity mapping. */
#include "paging.h"

#include <errno.h>

#include "uhyve/hermit_abi.h"

#define PAGE_SIZE_4K 0x1000ULL
#define PAGE_SIZE_2M 0x200000ULL
#define PAGE_SIZE_1G 0x40000000ULL

static int read_entry(const struct guest_mem *mem, uint64_t table,
		      unsigned index, uint64_t *entry)
{
	const uint64_t *slot = GUEST_MEM_OBJECT(
	    mem, (table & X86_PTE_ADDR_MASK) + index * 8, uint64_t);

	if (!slot)
		return -EFAULT;
	*entry = *slot;
	if (!(*entry & X86_PTE_PRESENT))
		return -EFAULT;
	return 0;
}

static bool is_canonical(uint64_t gva)
{
	uint64_t upper = gva >> 47;

	return upper == 0 || upper == 0x1ffff;
}

int uhyve_arch_translate(const struct guest_mem *mem, uint64_t cr3,
			 uint64_t gva, uint64_t *gpa, uint64_t *page_remaining)
{
	static const unsigned shifts[] = {39, 30, 21, 12};
	uint64_t table = cr3;
	uint64_t entry = 0;

	if (!is_canonical(gva))
		return -EFAULT;

	for (unsigned level = 0; level < 4; level++) {
		unsigned shift = shifts[level];
		unsigned index = (gva >> shift) & 0x1ff;
		int rc = read_entry(mem, table, index, &entry);

		if (rc)
			return rc;

		bool leaf = level == 3 || ((level == 1 || level == 2) &&
					   (entry & X86_PTE_HUGE));
		if (leaf) {
			uint64_t page_size = 1ULL << shift;
			uint64_t base =
			    entry & X86_PTE_ADDR_MASK & ~(page_size - 1);
			uint64_t offset = gva & (page_size - 1);

			*gpa = base + offset;
			*page_remaining = page_size - offset;
			return 0;
		}
		table = entry;
	}
	return -EFAULT;
}

/* Hands out zeroed 4 KiB table pages in order from the page-table area. */
struct table_allocator {
	const struct guest_mem *mem;
	uint64_t next; /* gpa of the next free page */
	uint64_t end;
};

static uint64_t *allocate_table(struct table_allocator *alloc, uint64_t *gpa)
{
	uint64_t *table;

	if (alloc->next >= alloc->end)
		return NULL;
	table = guest_mem_range(alloc->mem, alloc->next, PAGE_SIZE_4K);
	if (!table)
		return NULL;
	memset(table, 0, PAGE_SIZE_4K);
	*gpa = alloc->next;
	alloc->next += PAGE_SIZE_4K;
	return table;
}

/* Returns the table that `entry` points to, allocating it when the entry is
 * not present yet. */
static uint64_t *next_table(struct table_allocator *alloc, uint64_t *entry)
{
	const uint64_t flags = X86_PTE_PRESENT | X86_PTE_WRITABLE;
	uint64_t gpa;
	uint64_t *table;

	if (*entry & X86_PTE_PRESENT)
		return guest_mem_range(alloc->mem, *entry & X86_PTE_ADDR_MASK,
				       PAGE_SIZE_4K);
	table = allocate_table(alloc, &gpa);
	if (table)
		*entry = gpa | flags;
	return table;
}

/* Identity-maps [start, end) with 2 MiB pages below `pml4`. */
static int map_range(struct table_allocator *alloc, uint64_t *pml4,
		     uint64_t start, uint64_t end)
{
	const uint64_t flags_huge =
	    X86_PTE_PRESENT | X86_PTE_WRITABLE | X86_PTE_HUGE;

	for (uint64_t addr = start & ~(PAGE_SIZE_2M - 1); addr < end;
	     addr += PAGE_SIZE_2M) {
		uint64_t *pdpt = next_table(alloc, &pml4[(addr >> 39) & 0x1ff]);
		uint64_t *pd;

		if (!pdpt)
			return -E2BIG;
		pd = next_table(alloc, &pdpt[(addr >> 30) & 0x1ff]);
		if (!pd)
			return -E2BIG;
		pd[(addr >> 21) & 0x1ff] = addr | flags_huge;
	}
	return 0;
}

static int write_tables(const struct guest_mem *mem, uint64_t low_end,
			uint64_t map_end)
{
	struct table_allocator alloc = {
	    .mem = mem,
	    .next = mem->start + HERMIT_PML4_OFFSET,
	    .end = mem->start + HERMIT_PAGE_TABLES_END_OFFSET,
	};
	uint64_t pml4_gpa;
	uint64_t *pml4 = allocate_table(&alloc, &pml4_gpa);
	int rc = 0;

	if (!pml4)
		return -E2BIG;
	pml4[511] = pml4_gpa | X86_PTE_PRESENT | X86_PTE_WRITABLE;

	if (low_end > 0 && low_end < mem->start)
		rc = map_range(&alloc, pml4, 0, low_end);
	if (rc == 0)
		rc = map_range(&alloc, pml4, mem->start, map_end);
	return rc;
}

int uhyve_arch_write_page_tables(const struct guest_mem *mem, uint64_t map_end)
{
	return write_tables(mem, 0, map_end);
}

int uhyve_arch_write_page_tables_with_low(const struct guest_mem *mem,
					  uint64_t map_end)
{
	return write_tables(mem, PAGE_SIZE_2M, map_end);
}
