/* Guest memory for the fallback's Unicorn engine: mappings at guest-virtual
 * addresses, dummy pages and faults. */
#include "uhyve_build_config.h"

#if UHYVE_HAVE_UNICORN

#include "fallback_unicorn.h"
#include "paging.h"

/* Bytes assumed for a memory operand (FNSAVE writes 108), a push and a string
 * store. */
#define MEMORY_OPERAND_SPAN 128
#define STACK_SPAN	    16
#define STRING_SPAN	    16
#define LARGE_PAGE	    0x200000ULL
/* Guest-virtual addresses from here on are not mapped, as map_guest() explains.
 */
#define UPPER_HALF (1ULL << 47)

static bool is_canonical(uint64_t address)
{
	uint64_t upper = address >> 47;

	return upper == 0 || upper == 0x1ffff;
}

/* Records the first fault of a stretch: a store can fault once per byte. */
void fallback_record_fault(struct fallback_unicorn *u, enum fault_kind kind,
			   uint64_t address, uint64_t gpa, bool write,
			   bool fetch)
{
	if (u->reason != STOP_NONE)
		return;
	u->reason = STOP_FAULT;
	u->fault = (struct fault){
	    .kind = kind,
	    .address = address,
	    .gpa = gpa,
	    .write = write,
	    .fetch = fetch,
	};
}

static int add_mapping(struct fallback_unicorn *u, uint64_t address,
		       uint64_t size, void *host, uint32_t perms, bool fetched)
{
	if (u->mapping_count >= MAX_MAPPINGS)
		return -1;
	if (uc_mem_map_ptr(u->uc, address, size, perms, host) != UC_ERR_OK)
		return -1;
	u->mappings[u->mapping_count].address = address;
	u->mappings[u->mapping_count].size = size;
	u->mappings[u->mapping_count].host = host == u->poison ? NULL : host;
	u->mappings[u->mapping_count].fetched = fetched;
	u->mapping_count++;
	return 0;
}

/* Maps the whole 2 MiB-aligned chunk around `address` if one large page covers
 * it. */
static int map_large(struct fallback_unicorn *u, uint64_t address, bool fetched)
{
	const struct guest_mem *mem = u->ctx->mem;
	uint64_t chunk = address & ~(LARGE_PAGE - 1);
	uint64_t gpa, remaining;
	void *host;

	if (uhyve_arch_translate(mem, u->ctx->sregs.cr3, chunk, &gpa,
				 &remaining) ||
	    remaining < LARGE_PAGE)
		return -1;
	host = guest_mem_range(mem, gpa, LARGE_PAGE);
	if (!host)
		return -1;
	return add_mapping(u, chunk, LARGE_PAGE, host, UC_PROT_ALL, fetched);
}

/*
 * Maps guest memory at a guest-virtual address, since Unicorn 2.0.1 treats
 * every address as physical. Returns 0, or -1 with the reason in *kind.
 */
static int map_guest(struct fallback_unicorn *u, uint64_t address, bool fetched,
		     enum fault_kind *kind, uint64_t *gpa)
{
	const struct guest_mem *mem = u->ctx->mem;
	uint64_t page = address & ~(X86_PAGE_SIZE - 1);
	uint64_t remaining;
	void *host;

	*gpa = 0;
	if (!is_canonical(address)) {
		*kind = FAULT_NOT_CANONICAL;
		return -1;
	}
	/*
	 * NOTE: Unicorn 2.0.1 strips the upper address bits when it looks up
	 * memory, so the upper half of the address space cannot be mapped.
	 */
	if (address >= UPPER_HALF) {
		*kind = FAULT_UPPER_HALF;
		return -1;
	}
	if (uhyve_arch_translate(mem, u->ctx->sregs.cr3, page, gpa,
				 &remaining)) {
		*kind = FAULT_NOT_PRESENT;
		return -1;
	}
	if (map_large(u, address, fetched) == 0)
		return 0;
	host = guest_mem_range(mem, *gpa, X86_PAGE_SIZE);
	if (!host) {
		*kind = FAULT_OUTSIDE_MEMORY;
		return -1;
	}
	*kind = FAULT_TOO_MANY_PAGES;
	return add_mapping(u, page, X86_PAGE_SIZE, host, UC_PROT_ALL, fetched);
}

/*
 * Maps the dummy page, execute only, where code cannot be fetched. Unicorn
 * translates ahead of execution, so a fetch fault counts only when the code
 * hook finds an instruction that reaches into such a page.
 */
static bool poison(struct fallback_unicorn *u, uint64_t address,
		   enum fault_kind kind, uint64_t gpa)
{
	uint64_t page = address & ~(X86_PAGE_SIZE - 1);

	if (u->poisoned_count >= MAX_POISONED ||
	    add_mapping(u, page, X86_PAGE_SIZE, u->poison, UC_PROT_EXEC, true))
		return false;
	u->poisoned[u->poisoned_count].page = page;
	u->poisoned[u->poisoned_count].kind = kind;
	u->poisoned[u->poisoned_count].gpa = gpa;
	u->poisoned_count++;
	return true;
}

static const struct poisoned *find_poisoned(const struct fallback_unicorn *u,
					    uint64_t address)
{
	uint64_t page = address & ~(X86_PAGE_SIZE - 1);

	for (unsigned i = 0; i < u->poisoned_count; i++)
		if (u->poisoned[i].page == page)
			return &u->poisoned[i];
	return NULL;
}

bool fallback_on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t address,
			  int size, int64_t value, void *data)
{
	struct fallback_unicorn *u = data;
	bool fetch = type == UC_MEM_FETCH_UNMAPPED;
	enum fault_kind kind;
	uint64_t gpa;

	(void)uc;
	(void)size;
	(void)value;
	if (map_guest(u, address, fetch, &kind, &gpa) == 0)
		return true;
	if (fetch && kind != FAULT_TOO_MANY_PAGES &&
	    poison(u, address, kind, gpa))
		return true;
	fallback_record_fault(u, kind, address, gpa,
			      type == UC_MEM_WRITE_UNMAPPED, fetch);
	u->in_instruction = !fetch;
	return false;
}

/* Data accesses to a poisoned page end here. */
bool fallback_on_protected(uc_engine *uc, uc_mem_type type, uint64_t address,
			   int size, int64_t value, void *data)
{
	struct fallback_unicorn *u = data;
	const struct poisoned *page = find_poisoned(u, address);

	(void)uc;
	(void)size;
	(void)value;
	fallback_record_fault(u, page ? page->kind : FAULT_NOT_PRESENT, address,
			      page ? page->gpa : 0, type == UC_MEM_WRITE_PROT,
			      false);
	u->in_instruction = true;
	return false;
}

static bool is_mapped(const struct fallback_unicorn *u, uint64_t address)
{
	for (unsigned i = 0; i < u->mapping_count; i++) {
		const struct mapping *m = &u->mappings[i];

		if (address - m->address < m->size)
			return m->host != NULL;
	}
	return false;
}

/* Maps the pages of [start, start + len), or returns false if it cannot. */
bool fallback_ensure_mapped(struct fallback_unicorn *u, uint64_t start,
			    uint64_t len)
{
	uint64_t last = start + len - 1;
	enum fault_kind kind;
	uint64_t gpa;

	if (last < start)
		return false;
	for (uint64_t page = start & ~(X86_PAGE_SIZE - 1);;
	     page += X86_PAGE_SIZE) {
		if (!is_mapped(u, page) &&
		    map_guest(u, page, false, &kind, &gpa))
			return false;
		if (page >= (last & ~(X86_PAGE_SIZE - 1)))
			return true;
	}
}

/*
 * Returns how many bytes below the stack pointer PUSH, PUSHF, CALL and
 * ENTER may write, or 0. ENTER with nesting level L writes 8 * L + 8 bytes
 * for the frame pointers; L is at most 31.
 */
static uint64_t stack_write_span(const struct x86_insn *insn)
{
	uint8_t op = insn->opcode;

	if (insn->encoding != X86_ENCODING_LEGACY ||
	    insn->map != X86_MAP_ONE_BYTE)
		return 0;
	if (op >= 0x50 && op <= 0x57)
		return STACK_SPAN;
	switch (op) {
	case 0x68:
	case 0x6a:
	case 0x9c:
	case 0xe8:
		return STACK_SPAN;
	case 0xc8:
		return 32 * 8 + STACK_SPAN;
	case 0xff:
		return insn->reg == 2 || insn->reg == 6 ? STACK_SPAN : 0;
	default:
		return 0;
	}
}

/* LEA, NOP with an operand and the prefetch hints never access memory. */
static bool accesses_operand(const struct x86_insn *insn)
{
	if (!insn->has_modrm || insn->mod == 3)
		return false;
	if (insn->encoding != X86_ENCODING_LEGACY)
		return true;
	if (insn->map == X86_MAP_ONE_BYTE)
		return insn->opcode != 0x8d;
	if (insn->map == X86_MAP_0F)
		return insn->opcode != 0x0d &&
		       !(insn->opcode >= 0x18 && insn->opcode <= 0x1f);
	return true;
}

/* MOVS, STOS, MASKMOVQ and MASKMOVDQU write at rdi. */
static bool writes_at_rdi(const struct x86_insn *insn)
{
	if (insn->encoding != X86_ENCODING_LEGACY)
		return false;
	if (insn->map == X86_MAP_0F)
		return insn->opcode == 0xf7;
	return insn->map == X86_MAP_ONE_BYTE &&
	       (insn->opcode == 0xa4 || insn->opcode == 0xa5 ||
		insn->opcode == 0xaa || insn->opcode == 0xab);
}

/*
 * Maps what the instruction may access in memory, with generous bounds.
 * Unicorn 2.0.1 reports a store to unmapped memory only after the rest of
 * the instruction has run, which leaves no state to hand back, so a
 * stretch ends before an instruction whose store might fault. The first
 * instruction of a stretch does not come here: its state is discarded when
 * it faults.
 */
bool fallback_accesses_mappable(struct fallback_unicorn *u,
				const struct x86_insn *insn, uint64_t address,
				uint32_t size)
{
	struct x86_address_base base = {
	    .gpr = fallback_unicorn_gpr,
	    .opaque = u,
	    .fs_base = u->ctx->sregs.fs.base,
	    .gs_base = u->ctx->sregs.gs.base,
	};

	uint64_t stack_span = stack_write_span(insn);

	if (accesses_operand(insn) &&
	    !fallback_ensure_mapped(
		u, x86_effective_address(insn, address + size, &base),
		MEMORY_OPERAND_SPAN))
		return false;
	if (stack_span &&
	    !fallback_ensure_mapped(u, fallback_unicorn_gpr(u, 4) - stack_span,
				    stack_span))
		return false;
	if (writes_at_rdi(insn) &&
	    !fallback_ensure_mapped(u, fallback_unicorn_gpr(u, 7), STRING_SPAN))
		return false;
	return true;
}

/* Returns the address of the first poisoned byte of [address, address + size).
 */
bool fallback_reaches_poison(const struct fallback_unicorn *u, uint64_t address,
			     uint32_t size, const struct poisoned **page,
			     uint64_t *fault_address)
{
	uint64_t last = address + (size ? size - 1 : 0);

	*page = find_poisoned(u, address);
	*fault_address = address;
	if (!*page) {
		*page = find_poisoned(u, last);
		*fault_address = last & ~(X86_PAGE_SIZE - 1);
	}
	return *page != NULL;
}

/* Returns whether the page tables still map `m` to the same guest memory. */
static bool still_mapped(const struct fallback_unicorn *u,
			 const struct mapping *m)
{
	const struct guest_mem *mem = u->ctx->mem;
	uint64_t gpa, remaining;

	if (!m->host ||
	    uhyve_arch_translate(mem, u->ctx->sregs.cr3, m->address, &gpa,
				 &remaining) ||
	    remaining < m->size)
		return false;
	return guest_mem_range(mem, gpa, m->size) == m->host;
}

/*
 * Unmaps the ranges that the guest's page tables no longer map the same
 * way, the dummy pages, the ranges mapped while Unicorn fetched code, and
 * everything once half the table is in use.
 *
 * Unicorn 2.0.1 translates code from a range that its fetch hook maps
 * without a physical address, so UC_CTL_TB_REMOVE_CACHE misses that code
 * and only unmapping the range stops Unicorn from running it again.
 */
void fallback_revalidate_mappings(struct fallback_unicorn *u)
{
	bool keep_any = u->mapping_count <= MAX_MAPPINGS / 2;
	unsigned kept_count = 0;

	for (unsigned i = 0; i < u->mapping_count; i++) {
		const struct mapping *m = &u->mappings[i];

		if (keep_any && !m->fetched && still_mapped(u, m))
			u->mappings[kept_count++] = *m;
		else
			uc_mem_unmap(u->uc, m->address, m->size);
	}
	u->mapping_count = kept_count;
	u->poisoned_count = 0;
}

/*
 * Drops the code translated during a stretch, since the guest may change
 * it before the next one. Unicorn also reuses the internal addresses of
 * unmapped memory, so no translation may outlive its stretch. This removes
 * them range by range because a full UC_CTL_TB_FLUSH costs about 14 ms.
 */
void fallback_drop_translations(struct fallback_unicorn *u)
{
	for (unsigned i = 0; i < u->mapping_count; i++) {
		uint64_t address = u->mappings[i].address;

		uc_ctl(u->uc, UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2), address,
		       address + u->mappings[i].size);
	}
}

#endif /* UHYVE_HAVE_UNICORN */
