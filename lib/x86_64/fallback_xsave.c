/* XGETBV, XSETBV and the XSAVE instruction family, completed against the vCPU's
 * KVM state. */
#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../error.h"
#include "fallback_internal.h"

/* Offsets in the legacy region and the header of an XSAVE area. */
#define OFFSET_FIP	  8
#define OFFSET_FDP	  16
#define OFFSET_MXCSR	  24
#define OFFSET_MXCSR_MASK 28
#define OFFSET_ST	  32
#define OFFSET_XMM	  160
#define LEGACY_USED_END	  416
#define OFFSET_HEADER	  512
#define HEADER_SIZE	  64
#define OFFSET_EXTENDED	  576

#define FEATURE_X87	   0x1ULL
#define FEATURE_SSE	   0x2ULL
#define FEATURE_AVX	   0x4ULL
#define XCOMP_COMPACTED	   (1ULL << 63)
#define MXCSR_DEFAULT	   0x1f80
#define MXCSR_MASK_DEFAULT 0xffbf
#define FCW_DEFAULT	   0x037f

/* Guest CPUID.(EAX=0DH,ECX=1):EAX bits. */
#define CPUID_XSAVEOPT	  0x1
#define CPUID_XSAVEC	  0x2
#define CPUID_XGETBV_ECX1 0x4
#define CPUID_XSAVES	  0x8

#define AREA_SIZE  sizeof(((struct kvm_xsave *)0)->region)
#define MAX_PIECES 72

/* An XSAVE area image and the byte ranges of it that an instruction uses. */
struct area {
	uint8_t image[AREA_SIZE];
	struct {
		uint32_t offset;
		uint32_t size;
	} pieces[MAX_PIECES];
	unsigned count;
};

static uint64_t get64(const uint8_t *p)
{
	uint64_t value;

	memcpy(&value, p, 8);
	return value;
}

static void put64(uint8_t *p, uint64_t value)
{
	memcpy(p, &value, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t value;

	memcpy(&value, p, 4);
	return value;
}

static void put32(uint8_t *p, uint32_t value)
{
	memcpy(p, &value, 4);
}

static uint8_t *kvm_area(struct fallback_ctx *ctx)
{
	return (uint8_t *)ctx->fallback->xsave.region;
}

static void add_piece(struct area *area, uint32_t offset, uint32_t size)
{
	area->pieces[area->count].offset = offset;
	area->pieces[area->count].size = size;
	area->count++;
}

/*
 * Reads the standard-format layout from the host's CPUID leaf 0DH. KVM
 * exchanges XSAVE state in this format and passes the leaf to the guest
 * unchanged, so guest, host and KVM agree on it.
 */
static void load_layout(struct uhyve_fallback *fallback)
{
	unsigned eax, ebx, ecx, edx;

	if (fallback->have_layout)
		return;
	__cpuid_count(0xd, 0, eax, ebx, ecx, edx);
	fallback->xstate_supported = (uint64_t)edx << 32 | eax;
	for (unsigned i = 2; i < 63; i++) {
		if (!(fallback->xstate_supported >> i & 1))
			continue;
		__cpuid_count(0xd, i, eax, ebx, ecx, edx);
		fallback->xstate_size[i] = eax;
		fallback->xstate_offset[i] = ebx;
		if (ecx & 0x2)
			fallback->xstate_align64 |= 1ULL << i;
	}
	fallback->have_layout = true;
}

static int guest_xsave_features(struct fallback_ctx *ctx, uint32_t *eax)
{
	int rc = fallback_guest_cpuid(ctx);

	*eax = ctx->fallback->guest_cpuid_d1_eax;
	return rc;
}

/* Ends a completed instruction: advances rip past it. */
static int finish(struct fallback_ctx *ctx)
{
	ctx->regs.rip += ctx->insn.length;
	ctx->instructions = 1;
	return fallback_set_regs(ctx);
}

static int xgetbv(struct fallback_ctx *ctx)
{
	uint32_t index = (uint32_t)ctx->regs.rcx;
	uint32_t features = 0;
	uint64_t value = 0;
	int rc;

	rc = fallback_get_xcr0(ctx, &value);
	if (rc)
		return rc;
	if (index == 1) {
		/* XINUSE: the components that are not in their initial state */
		rc = guest_xsave_features(ctx, &features);
		if (rc)
			return rc;
		if (!(features & CPUID_XGETBV_ECX1))
			return fallback_raise(ctx, X86_VECTOR_GP, true, 0);
		rc = fallback_get_xsave(ctx);
		if (rc)
			return rc;
		value &= get64(kvm_area(ctx) + OFFSET_HEADER);
	} else if (index != 0) {
		return fallback_raise(ctx, X86_VECTOR_GP, true, 0);
	}
	ctx->regs.rax = (uint32_t)value;
	ctx->regs.rdx = value >> 32;
	return finish(ctx);
}

static int xsetbv(struct fallback_ctx *ctx)
{
	struct kvm_xcrs xcrs = {.nr_xcrs = 1};

	if (ctx->sregs.cs.dpl != 0 || (uint32_t)ctx->regs.rcx != 0)
		return fallback_raise(ctx, X86_VECTOR_GP, true, 0);
	xcrs.xcrs[0].xcr = 0;
	xcrs.xcrs[0].value =
	    (uint64_t)(uint32_t)ctx->regs.rdx << 32 | (uint32_t)ctx->regs.rax;
	if (ioctl(ctx->vcpu_fd, KVM_SET_XCRS, &xcrs) < 0) {
		int code = -errno;

		/* KVM rejects the values for which XSETBV raises #GP. */
		if (code == -EINVAL)
			return fallback_raise(ctx, X86_VECTOR_GP, true, 0);
		return set_error(ctx->error, code, "KVM_SET_XCRS failed: %s",
				 strerror(-code));
	}
	return finish(ctx);
}

int fallback_xcr(struct fallback_ctx *ctx, enum x86_direct kind)
{
	if (ctx->insn.lock || !(ctx->sregs.cr4 & X86_CR4_OSXSAVE))
		return fallback_raise(ctx, X86_VECTOR_UD, false, 0);
	return kind == X86_DIRECT_XGETBV ? xgetbv(ctx) : xsetbv(ctx);
}

/*
 * Copies x87 state from KVM's buffer, which uses the 64-bit (REX.W) format,
 * into an area image. Without REX.W the image contains 32-bit FIP and FDP
 * followed by FCS and FDS.
 * NOTE: FCS and FDS are stored as zero because KVM does not provide them;
 * processors that deprecate them (CPUID.(EAX=07H,ECX=0):EBX[13]) do the same.
 */
static void x87_to_image(uint8_t *image, const uint8_t *kvm, bool rex_w)
{
	memcpy(image, kvm, OFFSET_FIP);
	if (rex_w) {
		memcpy(image + OFFSET_FIP, kvm + OFFSET_FIP, 16);
	} else {
		memset(image + OFFSET_FIP, 0, 16);
		memcpy(image + OFFSET_FIP, kvm + OFFSET_FIP, 4);
		memcpy(image + OFFSET_FDP, kvm + OFFSET_FDP, 4);
	}
	memcpy(image + OFFSET_ST, kvm + OFFSET_ST, OFFSET_XMM - OFFSET_ST);
}

static void image_to_x87(uint8_t *kvm, const uint8_t *image, bool rex_w)
{
	memcpy(kvm, image, OFFSET_FIP);
	if (rex_w) {
		memcpy(kvm + OFFSET_FIP, image + OFFSET_FIP, 16);
	} else {
		memset(kvm + OFFSET_FIP, 0, 16);
		memcpy(kvm + OFFSET_FIP, image + OFFSET_FIP, 4);
		memcpy(kvm + OFFSET_FDP, image + OFFSET_FDP, 4);
	}
	memcpy(kvm + OFFSET_ST, image + OFFSET_ST, OFFSET_XMM - OFFSET_ST);
}

static void init_x87(uint8_t *kvm)
{
	memset(kvm, 0, OFFSET_MXCSR);
	kvm[0] = FCW_DEFAULT & 0xff;
	kvm[1] = FCW_DEFAULT >> 8;
	memset(kvm + OFFSET_ST, 0, OFFSET_XMM - OFFSET_ST);
}

static uint32_t mxcsr_mask(struct fallback_ctx *ctx)
{
	uint32_t mask = get32(kvm_area(ctx) + OFFSET_MXCSR_MASK);

	return mask ? mask : MXCSR_MASK_DEFAULT;
}

/* Adds the x87 part of the legacy region (bytes 0-23 and 32-159). */
static void save_x87(struct fallback_ctx *ctx, struct area *area)
{
	x87_to_image(area->image, kvm_area(ctx), ctx->insn.rex & 0x8);
	add_piece(area, 0, OFFSET_MXCSR);
	add_piece(area, OFFSET_ST, OFFSET_XMM - OFFSET_ST);
}

/* Adds MXCSR and MXCSR_MASK (bytes 24-31). */
static void save_mxcsr(struct fallback_ctx *ctx, struct area *area)
{
	memcpy(area->image + OFFSET_MXCSR, kvm_area(ctx) + OFFSET_MXCSR, 8);
	add_piece(area, OFFSET_MXCSR, 8);
}

/* Adds XMM0-XMM15 (bytes 160-415). */
static void save_xmm(struct fallback_ctx *ctx, struct area *area)
{
	memcpy(area->image + OFFSET_XMM, kvm_area(ctx) + OFFSET_XMM,
	       LEGACY_USED_END - OFFSET_XMM);
	add_piece(area, OFFSET_XMM, LEGACY_USED_END - OFFSET_XMM);
}

/* Returns -ERANGE when component i does not fit KVM's 4096-byte buffer. */
static int check_component(struct fallback_ctx *ctx, unsigned i)
{
	struct uhyve_fallback *fallback = ctx->fallback;

	if (!(fallback->xstate_supported >> i & 1) ||
	    fallback->xstate_offset[i] + fallback->xstate_size[i] > AREA_SIZE)
		return fallback_fail(ctx, -ERANGE,
				     "XSAVE state component %u is unknown or "
				     "does not fit KVM's 4096-byte buffer",
				     i);
	return 0;
}

/* Checks that every piece of `area` can be written at `base`. */
static int check_pieces(struct fallback_ctx *ctx, uint64_t base,
			const struct area *area)
{
	for (unsigned i = 0; i < area->count; i++) {
		int rc = fallback_check(ctx, base + area->pieces[i].offset,
					area->pieces[i].size, true);

		if (rc)
			return rc;
	}
	return 0;
}

/* Writes the pieces of `area` to the guest's area at `base`, all or none. */
static int write_pieces(struct fallback_ctx *ctx, uint64_t base,
			const struct area *area)
{
	int rc = check_pieces(ctx, base, area);

	for (unsigned i = 0; !rc && i < area->count; i++)
		rc = fallback_write(ctx, base + area->pieces[i].offset,
				    area->image + area->pieces[i].offset,
				    area->pieces[i].size);
	return rc;
}

static int read_piece(struct fallback_ctx *ctx, uint64_t base,
		      struct area *area, uint32_t offset, uint32_t size)
{
	return fallback_read(ctx, base + offset, area->image + offset, size);
}

/* XSAVE and XSAVEOPT: the standard format, with XSTATE_BV merged. */
static int xsave_standard(struct fallback_ctx *ctx, uint64_t base,
			  uint64_t rfbm, struct area *area)
{
	struct uhyve_fallback *fallback = ctx->fallback;
	uint64_t xinuse = get64(kvm_area(ctx) + OFFSET_HEADER);
	uint64_t xstate_bv;
	int rc;

	add_piece(area, OFFSET_HEADER, 8);
	if (rfbm & FEATURE_X87)
		save_x87(ctx, area);
	if (rfbm & (FEATURE_SSE | FEATURE_AVX))
		save_mxcsr(ctx, area);
	if (rfbm & FEATURE_SSE)
		save_xmm(ctx, area);
	for (unsigned i = 2; i < 63; i++) {
		uint32_t offset = fallback->xstate_offset[i];
		uint32_t size = fallback->xstate_size[i];

		if (!(rfbm >> i & 1))
			continue;
		rc = check_component(ctx, i);
		if (rc)
			return rc;
		memcpy(area->image + offset, kvm_area(ctx) + offset, size);
		add_piece(area, offset, size);
	}

	/* XSAVE reads XSTATE_BV and changes only the bits RFBM selects. */
	rc = check_pieces(ctx, base, area);
	if (!rc)
		rc = read_piece(ctx, base, area, OFFSET_HEADER, 8);
	if (rc)
		return rc;
	xstate_bv = get64(area->image + OFFSET_HEADER);
	xstate_bv = (xstate_bv & ~rfbm) | (xinuse & rfbm);
	put64(area->image + OFFSET_HEADER, xstate_bv);
	return write_pieces(ctx, base, area);
}

/* Returns the offset of each component of XCOMP_BV in the compacted format. */
static void compacted_offsets(const struct uhyve_fallback *fallback,
			      uint64_t xcomp_bv, uint32_t offsets[64])
{
	uint32_t offset = OFFSET_EXTENDED;

	for (unsigned i = 2; i < 63; i++) {
		if (!(xcomp_bv >> i & 1))
			continue;
		if (fallback->xstate_align64 >> i & 1)
			offset = (offset + 63) & ~63U;
		offsets[i] = offset;
		offset += fallback->xstate_size[i];
	}
}

/*
 * XSAVEC: the compacted format with the init optimization. SSE state
 * counts as in use when MXCSR differs from its default.
 */
static int xsave_compacted(struct fallback_ctx *ctx, uint64_t base,
			   uint64_t rfbm, struct area *area)
{
	struct uhyve_fallback *fallback = ctx->fallback;
	uint64_t xinuse = get64(kvm_area(ctx) + OFFSET_HEADER);
	uint32_t offsets[64] = {0};
	uint64_t saved;
	int rc;

	if (get32(kvm_area(ctx) + OFFSET_MXCSR) != MXCSR_DEFAULT)
		xinuse |= FEATURE_SSE;
	saved = rfbm & xinuse;
	put64(area->image + OFFSET_HEADER, saved);
	put64(area->image + OFFSET_HEADER + 8, rfbm | XCOMP_COMPACTED);
	add_piece(area, OFFSET_HEADER, 16);

	if (saved & FEATURE_X87)
		save_x87(ctx, area);
	if (saved & FEATURE_SSE) {
		save_mxcsr(ctx, area);
		save_xmm(ctx, area);
	}
	compacted_offsets(fallback, rfbm, offsets);
	for (unsigned i = 2; i < 63; i++) {
		uint32_t size = fallback->xstate_size[i];

		if (!(rfbm >> i & 1))
			continue;
		rc = check_component(ctx, i);
		if (rc)
			return rc;
		if (!(saved >> i & 1))
			continue;
		memcpy(area->image + offsets[i],
		       kvm_area(ctx) + fallback->xstate_offset[i], size);
		add_piece(area, offsets[i], size);
	}
	return write_pieces(ctx, base, area);
}

/* FXSAVE: x87 and SSE state, regardless of XCR0. */
static int fxsave(struct fallback_ctx *ctx, uint64_t base, struct area *area)
{
	save_x87(ctx, area);
	save_mxcsr(ctx, area);
	save_xmm(ctx, area);
	return write_pieces(ctx, base, area);
}

/* Checks the header of an XRSTOR source area, raising #GP(0) if invalid. */
static int check_header(struct fallback_ctx *ctx, const uint8_t *header,
			uint64_t xcr0, uint32_t features)
{
	uint64_t xstate_bv = get64(header);
	uint64_t xcomp_bv = get64(header + 8);
	uint64_t format = xcomp_bv & ~XCOMP_COMPACTED;

	if (!(xcomp_bv & XCOMP_COMPACTED)) {
		/* Standard form: XCOMP_BV and bytes 16-23 must be zero. */
		if ((xstate_bv & ~xcr0) || xcomp_bv || get64(header + 16))
			return fallback_raise(ctx, X86_VECTOR_GP, true, 0);
		return 0;
	}
	if (!(features & CPUID_XSAVEC) || (format & ~xcr0) ||
	    (xstate_bv & ~format))
		return fallback_raise(ctx, X86_VECTOR_GP, true, 0);
	/* Compacted form: bytes 16-63 must be zero. */
	for (unsigned i = 16; i < HEADER_SIZE; i++)
		if (header[i])
			return fallback_raise(ctx, X86_VECTOR_GP, true, 0);
	return 0;
}

/* Loads MXCSR from the image, raising #GP(0) for reserved bits. */
static int restore_mxcsr(struct fallback_ctx *ctx, const struct area *area)
{
	uint32_t mxcsr = get32(area->image + OFFSET_MXCSR);

	if (mxcsr & ~mxcsr_mask(ctx))
		return fallback_raise(ctx, X86_VECTOR_GP, true, 0);
	put32(kvm_area(ctx) + OFFSET_MXCSR, mxcsr);
	return 0;
}

/* Reads the parts of the guest's area that XRSTOR loads into `area`. */
static int read_restored(struct fallback_ctx *ctx, uint64_t base, uint64_t load,
			 bool load_mxcsr, const uint32_t *offsets,
			 struct area *area)
{
	int rc = 0;

	if (load & FEATURE_X87) {
		rc = read_piece(ctx, base, area, 0, OFFSET_MXCSR);
		if (!rc)
			rc = read_piece(ctx, base, area, OFFSET_ST,
					OFFSET_XMM - OFFSET_ST);
	}
	if (!rc && load_mxcsr)
		rc = read_piece(ctx, base, area, OFFSET_MXCSR, 4);
	if (!rc && (load & FEATURE_SSE))
		rc = read_piece(ctx, base, area, OFFSET_XMM,
				LEGACY_USED_END - OFFSET_XMM);
	for (unsigned i = 2; !rc && i < 63; i++) {
		if (!(load >> i & 1))
			continue;
		rc = check_component(ctx, i);
		if (!rc)
			rc = read_piece(ctx, base, area, offsets[i],
					ctx->fallback->xstate_size[i]);
	}
	return rc;
}

/* Moves the loaded image into KVM's buffer; components not loaded are set to
 * init. */
static void apply_restored(struct fallback_ctx *ctx, uint64_t rfbm,
			   uint64_t load, const uint32_t *offsets,
			   const struct area *area)
{
	struct uhyve_fallback *fallback = ctx->fallback;
	uint8_t *kvm = kvm_area(ctx);
	uint64_t kvm_bv = get64(kvm + OFFSET_HEADER);

	if (load & FEATURE_X87)
		image_to_x87(kvm, area->image, ctx->insn.rex & 0x8);
	else if (rfbm & FEATURE_X87)
		init_x87(kvm);
	if (load & FEATURE_SSE)
		memcpy(kvm + OFFSET_XMM, area->image + OFFSET_XMM,
		       LEGACY_USED_END - OFFSET_XMM);
	else if (rfbm & FEATURE_SSE)
		memset(kvm + OFFSET_XMM, 0, LEGACY_USED_END - OFFSET_XMM);

	for (unsigned i = 2; i < 63; i++) {
		uint8_t *target = kvm + fallback->xstate_offset[i];

		if (!(rfbm >> i & 1))
			continue;
		if (load >> i & 1) {
			memcpy(target, area->image + offsets[i],
			       fallback->xstate_size[i]);
			kvm_bv |= 1ULL << i;
		} else {
			memset(target, 0, fallback->xstate_size[i]);
			kvm_bv &= ~(1ULL << i);
		}
	}
	/* The legacy region now holds explicit values for x87 and SSE. */
	put64(kvm + OFFSET_HEADER, kvm_bv | FEATURE_X87 | FEATURE_SSE);
}

/*
 * XRSTOR in its standard or compacted form. The standard form loads MXCSR
 * whenever RFBM[1] or RFBM[2] is set; the compacted form loads it with SSE
 * state and otherwise sets it to 1F80H when RFBM[1] is set.
 */
static int xrstor(struct fallback_ctx *ctx, uint64_t base, uint64_t xcr0,
		  uint64_t rfbm, struct area *area)
{
	uint32_t offsets[64] = {0};
	uint32_t features = 0;
	uint64_t xstate_bv, xcomp_bv, load;
	bool compacted, load_mxcsr;
	int rc;

	rc = guest_xsave_features(ctx, &features);
	if (rc)
		return rc;
	rc = read_piece(ctx, base, area, OFFSET_HEADER, HEADER_SIZE);
	if (rc)
		return rc;
	rc = check_header(ctx, area->image + OFFSET_HEADER, xcr0, features);
	if (rc)
		return rc;

	xstate_bv = get64(area->image + OFFSET_HEADER);
	xcomp_bv = get64(area->image + OFFSET_HEADER + 8);
	compacted = xcomp_bv & XCOMP_COMPACTED;
	load = rfbm & xstate_bv;
	if (compacted) {
		compacted_offsets(ctx->fallback, xcomp_bv, offsets);
		load_mxcsr = load & FEATURE_SSE;
	} else {
		memcpy(offsets, ctx->fallback->xstate_offset, sizeof(offsets));
		load_mxcsr = rfbm & (FEATURE_SSE | FEATURE_AVX);
	}

	rc = read_restored(ctx, base, load, load_mxcsr, offsets, area);
	if (!rc && load_mxcsr)
		rc = restore_mxcsr(ctx, area);
	if (rc)
		return rc;
	if (compacted && !load_mxcsr && (rfbm & FEATURE_SSE))
		put32(kvm_area(ctx) + OFFSET_MXCSR, MXCSR_DEFAULT);
	apply_restored(ctx, rfbm, load, offsets, area);
	return fallback_set_xsave(ctx);
}

/* FXRSTOR: x87 and SSE state, regardless of XCR0. */
static int fxrstor(struct fallback_ctx *ctx, uint64_t base, struct area *area)
{
	uint32_t offsets[64] = {0};
	int rc;

	rc = read_restored(ctx, base, FEATURE_X87 | FEATURE_SSE, true, offsets,
			   area);
	if (!rc)
		rc = restore_mxcsr(ctx, area);
	if (rc)
		return rc;
	apply_restored(ctx, FEATURE_X87 | FEATURE_SSE,
		       FEATURE_X87 | FEATURE_SSE, offsets, area);
	return fallback_set_xsave(ctx);
}

/* Raises the faults that come before any memory access, in SDM order. */
static int check_xsave_faults(struct fallback_ctx *ctx, enum x86_direct kind)
{
	bool fx = kind == X86_DIRECT_FXSAVE || kind == X86_DIRECT_FXRSTOR;
	uint32_t features = 0;
	uint32_t needed = 0;
	int rc;

	if (ctx->insn.lock)
		return fallback_raise(ctx, X86_VECTOR_UD, false, 0);
	if (fx && (ctx->sregs.cr0 & X86_CR0_EM))
		return fallback_raise(ctx, X86_VECTOR_UD, false, 0);
	if (!fx && !(ctx->sregs.cr4 & X86_CR4_OSXSAVE))
		return fallback_raise(ctx, X86_VECTOR_UD, false, 0);

	if (kind == X86_DIRECT_XSAVEOPT)
		needed = CPUID_XSAVEOPT;
	else if (kind == X86_DIRECT_XSAVEC)
		needed = CPUID_XSAVEC;
	else if (kind == X86_DIRECT_XSAVES || kind == X86_DIRECT_XRSTORS)
		needed = CPUID_XSAVES;
	if (needed) {
		rc = guest_xsave_features(ctx, &features);
		if (rc)
			return rc;
		if (!(features & needed))
			return fallback_raise(ctx, X86_VECTOR_UD, false, 0);
	}

	if (ctx->sregs.cr0 & X86_CR0_TS)
		return fallback_raise(ctx, X86_VECTOR_NM, false, 0);
	if (kind == X86_DIRECT_XSAVES || kind == X86_DIRECT_XRSTORS)
		return fallback_fail(
		    ctx, -ENOTSUP,
		    "XSAVES and XRSTORS (supervisor state) are not supported");
	if (fallback_effective_address(ctx) & (fx ? 15 : 63))
		return fallback_raise(ctx, X86_VECTOR_GP, true, 0);
	return 0;
}

static int run_xsave(struct fallback_ctx *ctx, enum x86_direct kind,
		     uint64_t base, uint64_t xcr0, struct area *area)
{
	uint64_t rfbm = ((uint64_t)(uint32_t)ctx->regs.rdx << 32 |
			 (uint32_t)ctx->regs.rax) &
			xcr0;

	switch (kind) {
	case X86_DIRECT_FXSAVE:
		return fxsave(ctx, base, area);
	case X86_DIRECT_FXRSTOR:
		return fxrstor(ctx, base, area);
	case X86_DIRECT_XSAVE:
	case X86_DIRECT_XSAVEOPT:
		/* NOTE: XSAVEOPT writes like XSAVE; the SDM allows skipping
		 * unmodified components but does not require it. */
		return xsave_standard(ctx, base, rfbm, area);
	case X86_DIRECT_XSAVEC:
		return xsave_compacted(ctx, base, rfbm, area);
	case X86_DIRECT_XRSTOR:
		return xrstor(ctx, base, xcr0, rfbm, area);
	default:
		return fallback_fail(ctx, -ENOTSUP, "not an XSAVE instruction");
	}
}

int fallback_xsave(struct fallback_ctx *ctx, enum x86_direct kind)
{
	struct area *area;
	uint64_t xcr0 = 0;
	int rc;

	rc = check_xsave_faults(ctx, kind);
	if (rc)
		return rc;
	load_layout(ctx->fallback);
	rc = fallback_get_xsave(ctx);
	if (!rc)
		rc = fallback_get_xcr0(ctx, &xcr0);
	if (rc)
		return rc;

	area = calloc(1, sizeof(*area));
	if (!area)
		return set_error(ctx->error, -ENOMEM, "out of memory");
	rc = run_xsave(ctx, kind, fallback_effective_address(ctx), xcr0, area);
	free(area);
	return rc ? rc : finish(ctx);
}
