/* Completion of guest instructions that the host's KVM reports it cannot
 * emulate. */
#include "fallback.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../error.h"
#include "fallback_internal.h"
#include "paging.h"

#define MAX_CPUID_ENTRIES 256

int uhyve_fallback_new(struct uhyve_fallback **fallback)
{
	struct uhyve_fallback *result = calloc(1, sizeof(*result));

	if (!result)
		return -ENOMEM;
	result->max_batch = UHYVE_FALLBACK_DEFAULT_MAX_BATCH;
	*fallback = result;
	return 0;
}

void uhyve_fallback_free(struct uhyve_fallback *fallback)
{
	if (!fallback)
		return;
	fallback_unicorn_free(fallback->unicorn);
	free(fallback);
}

void uhyve_fallback_set_max_batch(struct uhyve_fallback *fallback,
				  uint64_t max_instructions)
{
	fallback->max_batch = max_instructions ? max_instructions : 1;
}

int fallback_fail(struct fallback_ctx *ctx, int code, const char *format, ...)
{
	unsigned count = ctx->fetched;
	char bytes[3 * X86_MAX_INSN_LENGTH + 1] = "";
	char *reason = NULL;
	va_list args;

	if (!(ctx->insn.flags & X86_INSN_TRUNCATED) && ctx->insn.length &&
	    ctx->insn.length < count)
		count = ctx->insn.length;
	for (unsigned i = 0, used = 0; i < count; i++)
		used += snprintf(bytes + used, sizeof(bytes) - used, "%s%02x",
				 i ? " " : "", ctx->bytes[i]);

	va_start(args, format);
	if (vasprintf(&reason, format, args) < 0)
		reason = NULL;
	va_end(args);
	set_error(
	    ctx->error, code,
	    "cannot complete the instruction at rip 0x%llx (bytes %s): %s",
	    (unsigned long long)ctx->regs.rip, count ? bytes : "unknown",
	    reason ? reason : "out of memory");
	free(reason);
	return code;
}

int fallback_raise(struct fallback_ctx *ctx, uint8_t vector,
		   bool has_error_code, uint32_t error_code)
{
	ctx->exception.raised = true;
	ctx->exception.vector = vector;
	ctx->exception.has_error_code = has_error_code;
	ctx->exception.error_code = error_code;
	return FALLBACK_EXCEPTION;
}

static bool is_canonical(uint64_t gva)
{
	uint64_t upper = gva >> 47;

	return upper == 0 || upper == 0x1ffff;
}

int fallback_translate(struct fallback_ctx *ctx, uint64_t gva, bool write,
		       bool fetch, uint64_t *gpa, uint64_t *page_remaining)
{
	uint32_t error_code = 0;

	/* NOTE: a non-canonical stack access raises #GP here, not #SS. */
	if (!is_canonical(gva))
		return fallback_raise(ctx, X86_VECTOR_GP, true, 0);
	/*
	 * NOTE: uhyve_arch_translate() does not check the writable, user and
	 * no-execute bits, nor set accessed and dirty bits, so only missing
	 * translations fault here.
	 */
	if (!uhyve_arch_translate(ctx->mem, ctx->sregs.cr3, gva, gpa,
				  page_remaining))
		return 0;

	if (write)
		error_code |= X86_PF_WRITE;
	if (ctx->sregs.cs.dpl == 3)
		error_code |= X86_PF_USER;
	if (fetch && (ctx->sregs.efer & X86_EFER_NXE))
		error_code |= X86_PF_FETCH;
	ctx->exception.set_cr2 = true;
	ctx->exception.cr2 = gva;
	return fallback_raise(ctx, X86_VECTOR_PF, true, error_code);
}

/* Walks [gva, gva + len) page by page, copying when `buffer` is set. */
static int access_range(struct fallback_ctx *ctx, uint64_t gva, uint8_t *buffer,
			uint64_t len, bool write)
{
	uint64_t done = 0;

	while (done < len) {
		uint64_t gpa, remaining, chunk;
		uint8_t *host;
		int rc = fallback_translate(ctx, gva + done, write, false, &gpa,
					    &remaining);

		if (rc)
			return rc;
		chunk = remaining < len - done ? remaining : len - done;
		host = guest_mem_range(ctx->mem, gpa, chunk);
		if (!host)
			return fallback_fail(
			    ctx, -EFAULT,
			    "its memory operand at 0x%llx maps to gpa 0x%llx "
			    "outside guest memory",
			    (unsigned long long)(gva + done),
			    (unsigned long long)gpa);
		if (buffer && write)
			memcpy(host, buffer + done, chunk);
		else if (buffer)
			memcpy(buffer + done, host, chunk);
		done += chunk;
	}
	return 0;
}

int fallback_check(struct fallback_ctx *ctx, uint64_t gva, uint64_t len,
		   bool write)
{
	return access_range(ctx, gva, NULL, len, write);
}

int fallback_read(struct fallback_ctx *ctx, uint64_t gva, void *buffer,
		  uint64_t len)
{
	int rc = access_range(ctx, gva, NULL, len, false);

	return rc ? rc : access_range(ctx, gva, buffer, len, false);
}

int fallback_write(struct fallback_ctx *ctx, uint64_t gva, const void *buffer,
		   uint64_t len)
{
	int rc = access_range(ctx, gva, NULL, len, true);

	return rc ? rc : access_range(ctx, gva, (uint8_t *)buffer, len, true);
}

__u64 *fallback_gpr(struct kvm_regs *regs, unsigned number)
{
	__u64 *gprs[16] = {
	    &regs->rax, &regs->rcx, &regs->rdx, &regs->rbx,
	    &regs->rsp, &regs->rbp, &regs->rsi, &regs->rdi,
	    &regs->r8,	&regs->r9,  &regs->r10, &regs->r11,
	    &regs->r12, &regs->r13, &regs->r14, &regs->r15,
	};

	return gprs[number & 15];
}

uint64_t x86_effective_address(const struct x86_insn *insn, uint64_t next_rip,
			       const struct x86_address_base *base)
{
	unsigned rex_b = insn->rex & 1 ? 8 : 0;
	unsigned rex_x = insn->rex & 2 ? 8 : 0;
	uint64_t address = 0;

	if (insn->has_sib) {
		unsigned reg = (insn->sib & 7) | rex_b;
		unsigned index = (insn->sib >> 3 & 7) | rex_x;

		if (insn->mod != 0 || (insn->sib & 7) != 5)
			address = base->gpr(base->opaque, reg);
		if (index != 4)
			address += base->gpr(base->opaque, index)
				   << (insn->sib >> 6);
	} else if (insn->mod == 0 && insn->rm == 5) {
		address = next_rip;
	} else {
		address = base->gpr(base->opaque, insn->rm | rex_b);
	}
	address += (uint64_t)(int64_t)insn->disp;
	if (insn->addrsize)
		address = (uint32_t)address;

	if (insn->segment == X86_SEG_FS)
		address += base->fs_base;
	else if (insn->segment == X86_SEG_GS)
		address += base->gs_base;
	return address;
}

static uint64_t kvm_gpr(void *regs, unsigned number)
{
	return *fallback_gpr(regs, number);
}

uint64_t fallback_effective_address(const struct fallback_ctx *ctx)
{
	struct kvm_regs regs = ctx->regs;
	struct x86_address_base base = {
	    .gpr = kvm_gpr,
	    .opaque = &regs,
	    .fs_base = ctx->sregs.fs.base,
	    .gs_base = ctx->sregs.gs.base,
	};

	return x86_effective_address(&ctx->insn,
				     ctx->regs.rip + ctx->insn.length, &base);
}

static int vcpu_ioctl(struct fallback_ctx *ctx, unsigned long request,
		      void *arg, const char *name)
{
	if (ioctl(ctx->vcpu_fd, request, arg) < 0) {
		int code = -errno;

		return set_error(ctx->error, code, "%s failed: %s", name,
				 strerror(-code));
	}
	return 0;
}

int fallback_get_xsave(struct fallback_ctx *ctx)
{
	/*
	 * NOTE: KVM_GET_XSAVE fails with EINVAL once a vCPU's XSAVE state
	 * exceeds 4096 bytes (AMX). Such state needs KVM_GET_XSAVE2.
	 */
	return vcpu_ioctl(ctx, KVM_GET_XSAVE, &ctx->fallback->xsave,
			  "KVM_GET_XSAVE");
}

int fallback_set_xsave(struct fallback_ctx *ctx)
{
	return vcpu_ioctl(ctx, KVM_SET_XSAVE, &ctx->fallback->xsave,
			  "KVM_SET_XSAVE");
}

int fallback_get_xcr0(struct fallback_ctx *ctx, uint64_t *xcr0)
{
	struct kvm_xcrs xcrs;
	int rc = vcpu_ioctl(ctx, KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS");

	if (rc)
		return rc;
	for (uint32_t i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++) {
		if (xcrs.xcrs[i].xcr == 0) {
			*xcr0 = xcrs.xcrs[i].value;
			return 0;
		}
	}
	return set_error(ctx->error, -EIO, "KVM_GET_XCRS returned no XCR0");
}

int fallback_set_regs(struct fallback_ctx *ctx)
{
	return vcpu_ioctl(ctx, KVM_SET_REGS, &ctx->regs, "KVM_SET_REGS");
}

/* Reads the CPUID entries the fallback needs once, with KVM_GET_CPUID2. */
int fallback_guest_cpuid(struct fallback_ctx *ctx)
{
	struct uhyve_fallback *fallback = ctx->fallback;
	struct kvm_cpuid2 *cpuid;

	if (fallback->have_guest_cpuid)
		return 0;
	cpuid = calloc(1, sizeof(*cpuid) +
			      MAX_CPUID_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return set_error(ctx->error, -ENOMEM, "out of memory");
	cpuid->nent = MAX_CPUID_ENTRIES;
	if (ioctl(ctx->vcpu_fd, KVM_GET_CPUID2, cpuid) < 0) {
		int code = -errno;

		free(cpuid);
		return set_error(ctx->error, code, "KVM_GET_CPUID2 failed: %s",
				 strerror(-code));
	}
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *entry = &cpuid->entries[i];

		if (entry->function == 0xd && entry->index == 1)
			fallback->guest_cpuid_d1_eax = entry->eax;
		if (entry->function == 0x80000001)
			fallback->guest_cpuid_80000001_edx = entry->edx;
	}
	free(cpuid);
	fallback->have_guest_cpuid = true;
	return 0;
}

/* Delivers ctx->exception to the guest at the next KVM_RUN. */
static int inject_exception(struct fallback_ctx *ctx)
{
	struct kvm_vcpu_events events;
	int rc;

	if (ctx->exception.set_cr2) {
		ctx->sregs.cr2 = ctx->exception.cr2;
		rc = vcpu_ioctl(ctx, KVM_SET_SREGS, &ctx->sregs,
				"KVM_SET_SREGS");
		if (rc)
			return rc;
	}
	rc = vcpu_ioctl(ctx, KVM_GET_VCPU_EVENTS, &events,
			"KVM_GET_VCPU_EVENTS");
	if (rc)
		return rc;
	events.exception.injected = 1;
	events.exception.pending = 0;
	events.exception.nr = ctx->exception.vector;
	events.exception.has_error_code = ctx->exception.has_error_code;
	events.exception.error_code = ctx->exception.error_code;
	events.exception_has_payload = 0;
	return vcpu_ioctl(ctx, KVM_SET_VCPU_EVENTS, &events,
			  "KVM_SET_VCPU_EVENTS");
}

/* Fetches up to 15 instruction bytes at rip, page by page. */
static int fetch(struct fallback_ctx *ctx)
{
	uint64_t rip = ctx->regs.rip;

	ctx->fetched = 0;
	while (ctx->fetched < X86_MAX_INSN_LENGTH) {
		uint64_t gva = rip + ctx->fetched;
		uint64_t gpa, remaining, chunk;
		const uint8_t *host;
		int rc =
		    fallback_translate(ctx, gva, false, true, &gpa, &remaining);

		if (rc) {
			/* The instruction may end first: decoding tells. */
			if (ctx->fetched) {
				ctx->exception = (struct fallback_exception){0};
				return 0;
			}
			return rc;
		}
		chunk = X86_MAX_INSN_LENGTH - ctx->fetched;
		if (chunk > remaining)
			chunk = remaining;
		host = guest_mem_range(ctx->mem, gpa, chunk);
		if (!host)
			return fallback_fail(
			    ctx, -EFAULT,
			    "its bytes at gpa 0x%llx lie outside guest memory",
			    (unsigned long long)gpa);
		memcpy(ctx->bytes + ctx->fetched, host, chunk);
		ctx->fetched += chunk;
	}
	return 0;
}

/* Raises the fault that stopped fetching at rip + ctx->fetched. */
static int fetch_fault(struct fallback_ctx *ctx)
{
	uint64_t gpa, remaining;
	int rc;

	if (ctx->fetched >= X86_MAX_INSN_LENGTH)
		return fallback_raise(ctx, X86_VECTOR_GP, true, 0);
	rc = fallback_translate(ctx, ctx->regs.rip + ctx->fetched, false, true,
				&gpa, &remaining);
	return rc ? rc : fallback_fail(ctx, -EIO, "the fetch did not fault");
}

/* Raises #UD or #NM for FPU, SSE and AVX instructions the guest disabled. */
static int check_fpu_access(struct fallback_ctx *ctx)
{
	unsigned flags = ctx->insn.flags;
	uint64_t cr0 = ctx->sregs.cr0;

	if (!(flags & X86_INSN_FPU))
		return 0;
	if (flags & X86_INSN_WAIT) {
		if ((cr0 & X86_CR0_TS) && (cr0 & X86_CR0_MP))
			return fallback_raise(ctx, X86_VECTOR_NM, false, 0);
		return 0;
	}
	if (flags & X86_INSN_X87) {
		if (cr0 & (X86_CR0_EM | X86_CR0_TS))
			return fallback_raise(ctx, X86_VECTOR_NM, false, 0);
		return 0;
	}
	if (flags & X86_INSN_VECTOR) {
		uint64_t need =
		    ctx->insn.encoding == X86_ENCODING_EVEX ? 0xe6 : 0x6;
		uint64_t xcr0 = 0;
		int rc;

		if (!(ctx->sregs.cr4 & X86_CR4_OSXSAVE))
			return fallback_raise(ctx, X86_VECTOR_UD, false, 0);
		rc = fallback_get_xcr0(ctx, &xcr0);
		if (rc)
			return rc;
		if ((xcr0 & need) != need)
			return fallback_raise(ctx, X86_VECTOR_UD, false, 0);
	} else if (cr0 & X86_CR0_EM) {
		return fallback_raise(ctx, X86_VECTOR_UD, false, 0);
	}
	if (cr0 & X86_CR0_TS)
		return fallback_raise(ctx, X86_VECTOR_NM, false, 0);
	return 0;
}

/*
 * INT3 as a software exception: the guest's handler returns after it. On
 * this KVM the return address pushed for an injected #BP is the rip that
 * KVM_SET_REGS set.
 */
static int complete_int3(struct fallback_ctx *ctx)
{
	int rc;

	ctx->regs.rip += ctx->insn.length;
	rc = fallback_set_regs(ctx);
	if (rc)
		return rc;
	return fallback_raise(ctx, X86_VECTOR_BP, false, 0);
}

static int dispatch(struct fallback_ctx *ctx)
{
	enum x86_direct kind = x86_direct_kind(&ctx->insn);
	int rc;

	switch (kind) {
	case X86_DIRECT_XGETBV:
	case X86_DIRECT_XSETBV:
		return fallback_xcr(ctx, kind);
	case X86_DIRECT_INT3:
		return complete_int3(ctx);
	case X86_DIRECT_POPCNT:
		return fallback_popcnt(ctx);
	case X86_DIRECT_RDTSCP:
		return fallback_rdtscp(ctx);
	case X86_DIRECT_NONE:
		break;
	default:
		return fallback_xsave(ctx, kind);
	}

	rc = check_fpu_access(ctx);
	if (rc)
		return rc;
	if (ctx->insn.flags & X86_INSN_HOST)
		return fallback_fail(ctx, -ENOTSUP,
				     "its effect belongs to the host or to the "
				     "vCPU, so only KVM may complete it");
	return fallback_emulate(ctx);
}

static int decode_and_dispatch(struct fallback_ctx *ctx)
{
	int rc;

	if (!(ctx->sregs.efer & X86_EFER_LMA) || !ctx->sregs.cs.l)
		return fallback_fail(ctx, -ENOTSUP,
				     "the vCPU is not in 64-bit mode");
	rc = fetch(ctx);
	if (rc)
		return rc;
	x86_decode(ctx->bytes, ctx->fetched, &ctx->insn);
	if (ctx->insn.flags & X86_INSN_TRUNCATED)
		return fetch_fault(ctx);
	if (ctx->insn.flags & X86_INSN_TOO_LONG)
		return fallback_raise(ctx, X86_VECTOR_GP, true, 0);
	return dispatch(ctx);
}

int uhyve_fallback_complete(struct uhyve_fallback *fallback, int vcpu_fd,
			    struct kvm_run *run, const struct guest_mem *mem,
			    uint64_t *instructions, char **error)
{
	struct fallback_ctx ctx = {
	    .fallback = fallback,
	    .vcpu_fd = vcpu_fd,
	    .run = run,
	    .mem = mem,
	    .error = error,
	};
	int rc;

	rc = vcpu_ioctl(&ctx, KVM_GET_REGS, &ctx.regs, "KVM_GET_REGS");
	if (rc)
		return rc;
	rc = vcpu_ioctl(&ctx, KVM_GET_SREGS, &ctx.sregs, "KVM_GET_SREGS");
	if (rc)
		return rc;

	rc = decode_and_dispatch(&ctx);
	if (rc == FALLBACK_EXCEPTION)
		rc = inject_exception(&ctx);
	if (rc == 0 && instructions)
		*instructions += ctx.instructions;
	return rc;
}
