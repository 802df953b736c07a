/* Emulation of guest code that KVM cannot complete, with the Unicorn CPU
 * emulator. */
#include "uhyve_build_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "fallback_internal.h"

#if UHYVE_HAVE_UNICORN

#include "fallback_unicorn.h"

/* The end address for uc_emu_start(): not canonical, so never executed. */
#define END_ADDRESS 0x8000000000000000ULL

#define LEGACY_FCW	 0
#define LEGACY_FSW	 2
#define LEGACY_FTW	 4
#define LEGACY_FOP	 6
#define LEGACY_FIP	 8
#define LEGACY_FDP	 16
#define LEGACY_MXCSR	 24
#define LEGACY_ST	 32
#define LEGACY_XMM	 160
#define LEGACY_USED_END	 416
#define OFFSET_XSTATE_BV 512

/* Unicorn's numbers of the general registers in x86 order (rax, rcx, ...). */
static const int gpr_ids[16] = {
    UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
    UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
    UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
    UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};

uint64_t fallback_unicorn_gpr(void *opaque, unsigned number)
{
	struct fallback_unicorn *u = opaque;
	uint64_t value = 0;

	uc_reg_read(u->uc, gpr_ids[number & 15], &value);
	return value;
}

static void on_interrupt(uc_engine *uc, uint32_t vector, void *data)
{
	struct fallback_unicorn *u = data;

	u->reason = STOP_EXCEPTION;
	u->vector = vector;
	u->in_instruction = true;
	uc_emu_stop(uc);
}

/* Returns whether CLI, STI or POPF would change IF (or POPF set TF). */
static bool changes_interrupt_flag(struct fallback_unicorn *u,
				   const struct x86_insn *insn)
{
	uint64_t rflags = 0, rsp = 0, popped = 0;

	if (uc_reg_read(u->uc, UC_X86_REG_RFLAGS, &rflags))
		return true;
	if (insn->opcode == 0xfa)
		return rflags & X86_RFLAGS_IF;
	if (insn->opcode == 0xfb)
		return !(rflags & X86_RFLAGS_IF);
	if (uc_reg_read(u->uc, UC_X86_REG_RSP, &rsp) ||
	    uc_mem_read(u->uc, rsp, &popped, insn->opsize ? 2 : 8))
		return true;
	return (popped ^ rflags) & (X86_RFLAGS_IF | X86_RFLAGS_TF);
}

/* Decides whether the stretch ends before the instruction at `address`. */
static bool must_stop(struct fallback_unicorn *u, uint64_t address,
		      uint32_t size)
{
	uint8_t bytes[X86_MAX_INSN_LENGTH];
	struct x86_insn insn;

	if (size > sizeof(bytes) || uc_mem_read(u->uc, address, bytes, size))
		return true;
	x86_decode(bytes, size, &insn);
	/* Unicorn 2.0.1 has no AVX, so VEX vector instructions end it too. */
	if (insn.flags & (X86_INSN_HOST | X86_INSN_VECTOR | X86_INSN_TRUNCATED |
			  X86_INSN_TOO_LONG) ||
	    x86_direct_kind(&insn) != X86_DIRECT_NONE)
		return true;
	if ((insn.flags & X86_INSN_FPU) && u->fpu_disabled)
		return true;
	if ((insn.flags & X86_INSN_IF) && changes_interrupt_flag(u, &insn))
		return true;
	return !fallback_accesses_mappable(u, &insn, address, size);
}

/* Runs before each instruction and counts it or ends the stretch there. */
static void on_code(uc_engine *uc, uint64_t address, uint32_t size, void *data)
{
	struct fallback_unicorn *u = data;
	const struct poisoned *page;
	uint64_t fault_address;

	/* A faulting store lets its instruction finish: stop right after. */
	if (u->reason != STOP_NONE) {
		uc_emu_stop(uc);
		return;
	}
	if (fallback_reaches_poison(u, address, size, &page, &fault_address)) {
		fallback_record_fault(u, page->kind, fault_address, page->gpa,
				      false, true);
		uc_emu_stop(uc);
		return;
	}
	if (u->executed > 0) {
		if (u->executed >= u->limit)
			u->reason = STOP_LIMIT;
		else if (must_stop(u, address, size))
			u->reason = STOP_BEFORE;
		if (u->reason != STOP_NONE) {
			uc_emu_stop(uc);
			return;
		}
	}
	u->executed++;
	u->last_address = address;
}

static int open_engine(struct fallback_ctx *ctx, struct fallback_unicorn **out)
{
	struct fallback_unicorn *u = calloc(1, sizeof(*u));
	uc_hook hook;
	uc_err err;

	if (!u)
		return set_error(ctx->error, -ENOMEM, "out of memory");
	u->poison = aligned_alloc(X86_PAGE_SIZE, X86_PAGE_SIZE);
	if (!u->poison) {
		free(u);
		return set_error(ctx->error, -ENOMEM, "out of memory");
	}
	memset(u->poison, 0, X86_PAGE_SIZE);

	err = uc_open(UC_ARCH_X86, UC_MODE_64, &u->uc);
	if (!err)
		err = uc_hook_add(u->uc, &hook, UC_HOOK_CODE, on_code, u, 1, 0);
	if (!err)
		err = uc_hook_add(u->uc, &hook, UC_HOOK_MEM_UNMAPPED,
				  fallback_on_unmapped, u, 1, 0);
	if (!err)
		err = uc_hook_add(u->uc, &hook, UC_HOOK_MEM_PROT,
				  fallback_on_protected, u, 1, 0);
	if (!err)
		err = uc_hook_add(u->uc, &hook, UC_HOOK_INTR, on_interrupt, u,
				  1, 0);
	if (err) {
		fallback_unicorn_free(u);
		return set_error(ctx->error, -EIO,
				 "cannot start the Unicorn CPU emulator: %s",
				 uc_strerror(err));
	}
	*out = u;
	return 0;
}

void fallback_unicorn_free(struct fallback_unicorn *unicorn)
{
	if (!unicorn)
		return;
	if (unicorn->uc)
		uc_close(unicorn->uc);
	free(unicorn->poison);
	free(unicorn);
}

/* Unicorn keeps only whether each physical x87 register is empty. */
static uint16_t full_tag(uint8_t abridged)
{
	uint16_t tag = 0;

	for (unsigned i = 0; i < 8; i++)
		if (!(abridged >> i & 1))
			tag |= 3 << (2 * i);
	return tag;
}

static uint8_t abridged_tag(uint16_t tag)
{
	uint8_t abridged = 0;

	for (unsigned i = 0; i < 8; i++)
		if ((tag >> (2 * i) & 3) != 3)
			abridged |= 1 << i;
	return abridged;
}

/* Register values in the types Unicorn reads and writes. */
struct fpu_values {
	uint16_t fcw, fsw, tag, fop;
	uint64_t fip, fdp;
	uint32_t mxcsr;
	uint8_t st[8][10];
	uint64_t xmm[16][2];
};

static void fpu_from_legacy(struct fpu_values *fpu, const uint8_t *legacy)
{
	memcpy(&fpu->fcw, legacy + LEGACY_FCW, 2);
	memcpy(&fpu->fsw, legacy + LEGACY_FSW, 2);
	fpu->tag = full_tag(legacy[LEGACY_FTW]);
	memcpy(&fpu->fop, legacy + LEGACY_FOP, 2);
	memcpy(&fpu->fip, legacy + LEGACY_FIP, 8);
	memcpy(&fpu->fdp, legacy + LEGACY_FDP, 8);
	memcpy(&fpu->mxcsr, legacy + LEGACY_MXCSR, 4);
	for (unsigned i = 0; i < 8; i++)
		memcpy(fpu->st[i], legacy + LEGACY_ST + 16 * i, 10);
	memcpy(fpu->xmm, legacy + LEGACY_XMM, sizeof(fpu->xmm));
}

static void fpu_to_legacy(const struct fpu_values *fpu, uint8_t *legacy)
{
	memcpy(legacy + LEGACY_FCW, &fpu->fcw, 2);
	memcpy(legacy + LEGACY_FSW, &fpu->fsw, 2);
	legacy[LEGACY_FTW] = abridged_tag(fpu->tag);
	memcpy(legacy + LEGACY_FOP, &fpu->fop, 2);
	memcpy(legacy + LEGACY_FIP, &fpu->fip, 8);
	memcpy(legacy + LEGACY_FDP, &fpu->fdp, 8);
	memcpy(legacy + LEGACY_MXCSR, &fpu->mxcsr, 4);
	for (unsigned i = 0; i < 8; i++)
		memcpy(legacy + LEGACY_ST + 16 * i, fpu->st[i], 10);
	memcpy(legacy + LEGACY_XMM, fpu->xmm, sizeof(fpu->xmm));
}

/*
 * Lists the registers the fallback exchanges with Unicorn. FPSW comes
 * before ST0-ST7 because it sets the top of the x87 stack.
 */
static int list_registers(struct fallback_ctx *ctx, uint64_t *rflags,
			  struct fpu_values *fpu, int *ids, void **values)
{
	int count = 0;

	for (unsigned i = 0; i < 16; i++) {
		ids[count] = gpr_ids[i];
		values[count++] = fallback_gpr(&ctx->regs, i);
	}
	ids[count] = UC_X86_REG_RIP;
	values[count++] = &ctx->regs.rip;
	ids[count] = UC_X86_REG_RFLAGS;
	values[count++] = rflags;
	ids[count] = UC_X86_REG_FS_BASE;
	values[count++] = &ctx->sregs.fs.base;
	ids[count] = UC_X86_REG_GS_BASE;
	values[count++] = &ctx->sregs.gs.base;

	ids[count] = UC_X86_REG_FPCW;
	values[count++] = &fpu->fcw;
	ids[count] = UC_X86_REG_FPSW;
	values[count++] = &fpu->fsw;
	ids[count] = UC_X86_REG_FPTAG;
	values[count++] = &fpu->tag;
	ids[count] = UC_X86_REG_FOP;
	values[count++] = &fpu->fop;
	ids[count] = UC_X86_REG_FIP;
	values[count++] = &fpu->fip;
	ids[count] = UC_X86_REG_FDP;
	values[count++] = &fpu->fdp;
	ids[count] = UC_X86_REG_MXCSR;
	values[count++] = &fpu->mxcsr;
	for (unsigned i = 0; i < 8; i++) {
		ids[count] = UC_X86_REG_ST0 + i;
		values[count++] = fpu->st[i];
	}
	for (unsigned i = 0; i < 16; i++) {
		ids[count] = UC_X86_REG_XMM0 + i;
		values[count++] = fpu->xmm[i];
	}
	return count;
}

#define REGISTER_COUNT (16 + 4 + 7 + 8 + 16)

static int exchange_registers(struct fallback_unicorn *u,
			      struct fallback_ctx *ctx, uint64_t *rflags,
			      struct fpu_values *fpu, bool write)
{
	int ids[REGISTER_COUNT];
	void *values[REGISTER_COUNT];
	int count = list_registers(ctx, rflags, fpu, ids, values);
	uc_err err = write ? uc_reg_write_batch(u->uc, ids, values, count)
			   : uc_reg_read_batch(u->uc, ids, values, count);

	if (err)
		return fallback_fail(
		    ctx, -EIO, "cannot exchange registers with Unicorn: %s",
		    uc_strerror(err));
	return 0;
}

/* Turns a fault of the first instruction into #PF, #GP or an error. */
static int raise_fault(struct fallback_ctx *ctx, const struct fault *fault)
{
	uint64_t gpa, remaining;
	int rc;

	switch (fault->kind) {
	case FAULT_NOT_PRESENT:
	case FAULT_NOT_CANONICAL:
		rc = fallback_translate(ctx, fault->address, fault->write,
					fault->fetch, &gpa, &remaining);
		if (rc)
			return rc;
		return fallback_fail(
		    ctx, -EAGAIN,
		    "the address 0x%llx translated on the second attempt",
		    (unsigned long long)fault->address);
	case FAULT_OUTSIDE_MEMORY:
		return fallback_fail(
		    ctx, -EFAULT,
		    "it accesses 0x%llx, which maps to gpa 0x%llx outside "
		    "guest memory (device memory is not supported)",
		    (unsigned long long)fault->address,
		    (unsigned long long)fault->gpa);
	case FAULT_UPPER_HALF:
		return fallback_fail(
		    ctx, -ENOTSUP,
		    "it accesses 0x%llx in the upper half of the address "
		    "space, which Unicorn 2.0.1 cannot map",
		    (unsigned long long)fault->address);
	default:
		return fallback_fail(ctx, -E2BIG,
				     "it needs more than %u mapped ranges",
				     MAX_MAPPINGS);
	}
}

/*
 * Passes an exception of the first instruction on to the guest.
 * NOTE: Unicorn does not report error codes, so #GP, #SS and #AC get 0,
 * which is right for the alignment checks that raise them in 64-bit code.
 */
static int raise_vector(struct fallback_ctx *ctx, uint32_t vector)
{
	switch (vector) {
	case X86_VECTOR_DE:
	case X86_VECTOR_NM:
	case X86_VECTOR_MF:
	case X86_VECTOR_XM:
		return fallback_raise(ctx, vector, false, 0);
	case X86_VECTOR_SS:
	case X86_VECTOR_GP:
	case X86_VECTOR_AC:
		return fallback_raise(ctx, vector, true, 0);
	default:
		return fallback_fail(ctx, -ENOTSUP,
				     "Unicorn raised interrupt %u for it",
				     vector);
	}
}

static int fail_first(struct fallback_unicorn *u, struct fallback_ctx *ctx,
		      uc_err err)
{
	switch (u->reason) {
	case STOP_FAULT:
		return raise_fault(ctx, &u->fault);
	case STOP_EXCEPTION:
		return raise_vector(ctx, u->vector);
	case STOP_INVALID:
		return fallback_fail(
		    ctx, -ENOTSUP,
		    "Unicorn 2.0.1 raised #UD for it; its CPU model lacks AVX, "
		    "POPCNT, MOVBE, PCLMULQDQ, RDRAND and later extensions");
	default:
		return fallback_fail(
		    ctx, -EIO, "Unicorn stopped without completing it: %s",
		    uc_strerror(err));
	}
}

/* Copies the state after `completed` instructions back to the vCPU. */
static int commit(struct fallback_unicorn *u, struct fallback_ctx *ctx,
		  uint64_t completed, const uint8_t *legacy_before)
{
	uint8_t *legacy = (uint8_t *)ctx->fallback->xsave.region;
	uint64_t tf = ctx->regs.rflags & X86_RFLAGS_TF;
	struct fpu_values fpu;
	uint64_t rflags = 0;
	uint64_t xstate_bv;
	int rc;

	rc = exchange_registers(u, ctx, &rflags, &fpu, false);
	if (rc)
		return rc;
	ctx->regs.rflags = (rflags & ~X86_RFLAGS_TF) | tf;
	rc = fallback_set_regs(ctx);
	if (rc)
		return rc;

	fpu_to_legacy(&fpu, legacy);
	if (memcmp(legacy, legacy_before, LEGACY_USED_END)) {
		/* The legacy region now contains explicit x87 and SSE values.
		 */
		memcpy(&xstate_bv, legacy + OFFSET_XSTATE_BV, 8);
		xstate_bv |= 0x3;
		memcpy(legacy + OFFSET_XSTATE_BV, &xstate_bv, 8);
		rc = fallback_set_xsave(ctx);
		if (rc)
			return rc;
	}
	ctx->instructions = completed;
	return 0;
}

static void start_stretch(struct fallback_unicorn *u, struct fallback_ctx *ctx)
{
	uint64_t cr0 = ctx->sregs.cr0;

	u->ctx = ctx;
	u->limit = ctx->fallback->max_batch;
	/*
	 * NOTE: with RFLAGS.TF set only one instruction runs, and the #DB
	 * trap that should follow it is not raised.
	 */
	if (ctx->regs.rflags & X86_RFLAGS_TF)
		u->limit = 1;
	u->executed = 0;
	u->last_address = 0;
	u->reason = STOP_NONE;
	u->in_instruction = false;
	u->fpu_disabled = (cr0 & (X86_CR0_TS | X86_CR0_EM)) ||
			  !(ctx->sregs.cr4 & X86_CR4_OSFXSR);
}

static int run_stretch(struct fallback_unicorn *u, struct fallback_ctx *ctx,
		       const uint8_t *legacy_before)
{
	uint64_t rflags = ctx->regs.rflags & ~X86_RFLAGS_TF;
	uint64_t completed, rip = 0;
	struct fpu_values fpu;
	uc_err err;
	int rc;

	fpu_from_legacy(&fpu, legacy_before);
	rc = exchange_registers(u, ctx, &rflags, &fpu, true);
	if (rc)
		return rc;

	err = uc_emu_start(u->uc, ctx->regs.rip, END_ADDRESS, 0, 0);
	if (err == UC_ERR_INSN_INVALID) {
		u->reason = STOP_INVALID;
		u->in_instruction = true;
	}
	uc_reg_read(u->uc, UC_X86_REG_RIP, &rip);

	/* A fault or exception interrupts the last instruction started. */
	completed = u->executed;
	if (u->in_instruction && completed)
		completed--;
	if (completed == 0)
		return fail_first(u, ctx, err);
	if (u->in_instruction && rip != u->last_address)
		return fallback_fail(
		    ctx, -EIO,
		    "a store at 0x%llx faulted in the emulated code at 0x%llx "
		    "after it had been checked, and Unicorn cannot undo the "
		    "rest of that instruction",
		    (unsigned long long)u->fault.address,
		    (unsigned long long)u->last_address);
	return commit(u, ctx, completed, legacy_before);
}

/*
 * NOTE: Unicorn 2.0.1 (QEMU 5.0) never sets the MXCSR exception flags
 * (bits 0-5) and never raises #XM, so after an emulated stretch those flags
 * keep their earlier values. Rounding control, the masks, DAZ and FZ do
 * take effect.
 */
int fallback_emulate(struct fallback_ctx *ctx)
{
	struct uhyve_fallback *fallback = ctx->fallback;
	uint8_t legacy_before[LEGACY_USED_END];
	int rc;

	if (!fallback->unicorn) {
		rc = open_engine(ctx, &fallback->unicorn);
		if (rc)
			return rc;
	}
	rc = fallback_get_xsave(ctx);
	if (rc)
		return rc;
	memcpy(legacy_before, fallback->xsave.region, LEGACY_USED_END);

	start_stretch(fallback->unicorn, ctx);
	fallback_revalidate_mappings(fallback->unicorn);
	/* Code from ranges mapped before it runs is translated properly. */
	fallback_ensure_mapped(fallback->unicorn, ctx->regs.rip, ctx->fetched);
	rc = run_stretch(fallback->unicorn, ctx, legacy_before);
	fallback_drop_translations(fallback->unicorn);
	return rc;
}

#else /* !UHYVE_HAVE_UNICORN */

int fallback_emulate(struct fallback_ctx *ctx)
{
	return fallback_fail(ctx, -ENOTSUP,
			     "this build has no Unicorn support");
}

void fallback_unicorn_free(struct fallback_unicorn *unicorn)
{
	(void)unicorn;
}

#endif /* UHYVE_HAVE_UNICORN */
