/* The Unicorn engine of the instruction fallback, shared by fallback_unicorn.c
 * and fallback_unicorn_memory.c. */
#ifndef UHYVE_X86_64_FALLBACK_UNICORN_H
#define UHYVE_X86_64_FALLBACK_UNICORN_H

#include <unicorn/unicorn.h>

#include "fallback_internal.h"

#define MAX_MAPPINGS 256
#define MAX_POISONED 16

enum stop_reason {
	STOP_NONE,
	STOP_BEFORE,	/* before an instruction that KVM must complete */
	STOP_LIMIT,	/* the batch limit */
	STOP_FAULT,	/* a memory access that cannot be completed */
	STOP_EXCEPTION, /* Unicorn raised an exception */
	STOP_INVALID,	/* Unicorn raised #UD */
};

enum fault_kind {
	FAULT_NOT_PRESENT,
	FAULT_NOT_CANONICAL,
	FAULT_OUTSIDE_MEMORY,
	FAULT_UPPER_HALF,
	FAULT_TOO_MANY_PAGES,
};

struct fault {
	enum fault_kind kind;
	uint64_t address;
	uint64_t gpa; /* for FAULT_OUTSIDE_MEMORY */
	bool write;
	bool fetch;
};

/*
 * A guest-virtual range mapped into Unicorn. It stays mapped from one
 * stretch to the next while the guest's page tables map it the same way.
 */
struct mapping {
	uint64_t address;
	uint64_t size;
	void *host;   /* NULL for the dummy page */
	bool fetched; /* mapped while Unicorn translated code from it */
};

/* A page guest code cannot be fetched from, mapped to a dummy page. */
struct poisoned {
	uint64_t page;
	enum fault_kind kind;
	uint64_t gpa;
};

struct fallback_unicorn {
	uc_engine *uc;
	void *poison; /* the dummy page */
	struct mapping mappings[MAX_MAPPINGS];
	unsigned mapping_count;
	struct poisoned poisoned[MAX_POISONED];
	unsigned poisoned_count;

	/* The stretch being emulated */
	struct fallback_ctx *ctx;
	uint64_t limit;
	uint64_t executed; /* instructions started, the last maybe not done */
	uint64_t last_address;
	bool fpu_disabled; /* CR0.TS, CR0.EM or no CR4.OSFXSR */
	enum stop_reason reason;
	bool in_instruction; /* the stop interrupted a started instruction */
	uint32_t vector;
	struct fault fault;
};

/* Returns general register `number` (rax = 0, rcx = 1, ...) from Unicorn. */
uint64_t fallback_unicorn_gpr(void *opaque, unsigned number);

/* Records the first fault of a stretch. */
void fallback_record_fault(struct fallback_unicorn *u, enum fault_kind kind,
			   uint64_t address, uint64_t gpa, bool write,
			   bool fetch);

/* UC_HOOK_MEM_UNMAPPED and UC_HOOK_MEM_PROT callbacks, with the engine as
 * `data`. */
bool fallback_on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t address,
			  int size, int64_t value, void *data);
bool fallback_on_protected(uc_engine *uc, uc_mem_type type, uint64_t address,
			   int size, int64_t value, void *data);

/* Maps the pages of [start, start + len), or returns false if it cannot. */
bool fallback_ensure_mapped(struct fallback_unicorn *u, uint64_t start,
			    uint64_t len);

/*
 * Maps what the instruction at `address` (`size` bytes) may access in
 * memory, or returns false if it cannot.
 */
bool fallback_accesses_mappable(struct fallback_unicorn *u,
				const struct x86_insn *insn, uint64_t address,
				uint32_t size);

/* Finds a dummy page that [address, address + size) reaches into. */
bool fallback_reaches_poison(const struct fallback_unicorn *u, uint64_t address,
			     uint32_t size, const struct poisoned **page,
			     uint64_t *fault_address);

/* Prepares the mappings for a stretch and cleans up after one. */
void fallback_revalidate_mappings(struct fallback_unicorn *u);
void fallback_drop_translations(struct fallback_unicorn *u);

#endif /* UHYVE_X86_64_FALLBACK_UNICORN_H */
