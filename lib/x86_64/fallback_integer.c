/* POPCNT and RDTSCP, which neither this host's KVM nor Unicorn 2.0.1 completes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../error.h"
#include "fallback_internal.h"

#define MSR_IA32_TSC 0x10
#define MSR_TSC_AUX  0xc0000103
#define CPUID_RDTSCP (1U << 27) /* CPUID.80000001H:EDX */
#define X86_CR4_TSD  0x4ULL
#define RFLAGS_ZF    0x40ULL
/* CF, PF, AF, ZF, SF and OF */
#define RFLAGS_ARITHMETIC 0x8d5ULL

static unsigned operand_size(const struct x86_insn *insn)
{
	if (insn->rex & 0x8)
		return 8;
	return insn->opsize ? 2 : 4;
}

/* Reads the r/m operand: a general register or memory. */
static int read_rm(struct fallback_ctx *ctx, unsigned size, uint64_t *value)
{
	const struct x86_insn *insn = &ctx->insn;
	uint64_t bytes = 0;
	int rc;

	if (insn->mod == 3) {
		bytes = *fallback_gpr(&ctx->regs,
				      insn->rm | (insn->rex & 0x1 ? 8 : 0));
	} else {
		rc = fallback_read(ctx, fallback_effective_address(ctx), &bytes,
				   size);
		if (rc)
			return rc;
	}
	*value = size < 8 ? bytes & ((1ULL << (8 * size)) - 1) : bytes;
	return 0;
}

/* Writes a general register the way 16-, 32- and 64-bit results do. */
static void write_gpr(struct kvm_regs *regs, unsigned number, unsigned size,
		      uint64_t value)
{
	__u64 *reg = fallback_gpr(regs, number);

	if (size == 2)
		*reg = (*reg & ~0xffffULL) | (value & 0xffff);
	else if (size == 4)
		*reg = (uint32_t)value;
	else
		*reg = value;
}

static int finish(struct fallback_ctx *ctx)
{
	ctx->regs.rip += ctx->insn.length;
	ctx->instructions = 1;
	return fallback_set_regs(ctx);
}

int fallback_popcnt(struct fallback_ctx *ctx)
{
	const struct x86_insn *insn = &ctx->insn;
	unsigned size = operand_size(insn);
	uint64_t source = 0;
	int rc;

	if (insn->lock)
		return fallback_raise(ctx, X86_VECTOR_UD, false, 0);
	rc = read_rm(ctx, size, &source);
	if (rc)
		return rc;
	write_gpr(&ctx->regs, insn->reg | (insn->rex & 0x4 ? 8 : 0), size,
		  (uint64_t)__builtin_popcountll(source));
	ctx->regs.rflags &= ~RFLAGS_ARITHMETIC;
	if (source == 0)
		ctx->regs.rflags |= RFLAGS_ZF;
	return finish(ctx);
}

/* Reads the guest's time-stamp counter and TSC_AUX with KVM_GET_MSRS. */
static int read_tsc(struct fallback_ctx *ctx, uint64_t *tsc, uint64_t *aux)
{
	struct kvm_msrs *msrs =
	    calloc(1, sizeof(*msrs) + 2 * sizeof(msrs->entries[0]));
	int read;

	if (!msrs)
		return set_error(ctx->error, -ENOMEM, "out of memory");
	msrs->nmsrs = 2;
	msrs->entries[0].index = MSR_IA32_TSC;
	msrs->entries[1].index = MSR_TSC_AUX;
	read = ioctl(ctx->vcpu_fd, KVM_GET_MSRS, msrs);
	*tsc = msrs->entries[0].data;
	*aux = msrs->entries[1].data;
	free(msrs);
	if (read < 0)
		return set_error(ctx->error, -errno, "KVM_GET_MSRS failed: %s",
				 strerror(errno));
	if (read != 2)
		return fallback_fail(
		    ctx, -EIO, "KVM_GET_MSRS read %d of the TSC MSRs", read);
	return 0;
}

int fallback_rdtscp(struct fallback_ctx *ctx)
{
	uint64_t tsc = 0, aux = 0;
	int rc;

	rc = fallback_guest_cpuid(ctx);
	if (rc)
		return rc;
	if (ctx->insn.lock ||
	    !(ctx->fallback->guest_cpuid_80000001_edx & CPUID_RDTSCP))
		return fallback_raise(ctx, X86_VECTOR_UD, false, 0);
	if ((ctx->sregs.cr4 & X86_CR4_TSD) && ctx->sregs.cs.dpl != 0)
		return fallback_raise(ctx, X86_VECTOR_GP, true, 0);
	rc = read_tsc(ctx, &tsc, &aux);
	if (rc)
		return rc;
	ctx->regs.rax = (uint32_t)tsc;
	ctx->regs.rdx = tsc >> 32;
	ctx->regs.rcx = (uint32_t)aux;
	return finish(ctx);
}
