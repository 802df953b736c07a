/* Tests of the instruction fallback on this host's KVM: XGETBV, XSETBV, the
 * XSAVE family, #NM, Unicorn stretches and faults. */
#include <check.h>
#include <cpuid.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "fallback_fixture.h"
#include "test_common.h"
#include "uhyve_build_config.h"
#include "x86_64/fallback_internal.h"

/* The guest code below writes to this port to end a run. */
_Static_assert(FIXTURE_PORT_DONE == 0x10, "guest code uses port 0x10");
#define DONE "out %eax, $0x10\n"

#define VECTOR_BP 3
#define VECTOR_UD 6
#define VECTOR_NM 7
#define VECTOR_GP 13
#define VECTOR_PF 14

#define OFFSET_MXCSR  24
#define OFFSET_ST     32
#define OFFSET_XMM    160
#define OFFSET_HEADER 512
#define AREA_SIZE     4096

#define SET_TS                                                                 \
	"mov %cr0, %r11\n"                                                     \
	"or $8, %r11\n"                                                        \
	"mov %r11, %cr0\n"

GUEST_CODE(code_xgetbv, "xgetbv\n" DONE);
GUEST_CODE(code_xsetbv, "xsetbv\n" DONE);
GUEST_CODE(code_xsave, "xsave (%rcx)\n" DONE);
GUEST_CODE(code_xsave64, "xsave64 (%rcx)\n" DONE);
GUEST_CODE(code_xsaveopt, "xsaveopt (%rcx)\n" DONE);
GUEST_CODE(code_xsavec, "xsavec (%rcx)\n" DONE);
GUEST_CODE(code_xrstor, "xrstor (%rcx)\n" DONE);
GUEST_CODE(code_fxsave, "fxsave (%rcx)\n" DONE);
GUEST_CODE(code_fxsave64, "fxsave64 (%rcx)\n" DONE);
GUEST_CODE(code_fxrstor64, "fxrstor64 (%rcx)\n" DONE);
GUEST_CODE(code_ts_addps, SET_TS "addps %xmm1, %xmm0\n" DONE);
GUEST_CODE(code_ts_xsave, SET_TS "xsave (%rcx)\n" DONE);
GUEST_CODE(nm_handler, "clts\n"
		       "inc %r15\n"
		       "iretq\n");
GUEST_CODE(code_int3, "int3\n" DONE);
GUEST_CODE(code_popcnt, "popcnt %rax, %rbx\n"
			"popcnt (%rcx), %r9w\n"
			"popcnt %rdx, %r10\n" DONE);
GUEST_CODE(code_rdtscp, "rdtscp\n" DONE);
/* This host's KVM completes MOVUPS itself but not LDDQU or MOVSD. */
GUEST_CODE(code_lddqu, "lddqu (%rcx), %xmm0\n" DONE);
GUEST_CODE(code_movsd_store, "movsd %xmm1, (%rdx)\n" DONE);
GUEST_CODE(code_sse_math, "xorps %xmm7, %xmm7\n"
			  "movups (%rsi), %xmm0\n"
			  "movups 16(%rsi), %xmm1\n"
			  "addps %xmm1, %xmm0\n"
			  "mulps %xmm1, %xmm0\n"
			  "divps 32(%rsi), %xmm0\n"
			  "sqrtps %xmm0, %xmm2\n"
			  "movups %xmm2, 64(%rsi)\n"
			  "movsd 48(%rsi), %xmm3\n"
			  "mulsd %xmm3, %xmm3\n"
			  "cvttsd2si %xmm3, %rbx\n"
			  "pshufd $0x1b, %xmm1, %xmm4\n"
			  "pmulld %xmm1, %xmm4\n"
			  "ldmxcsr 80(%rsi)\n"
			  "movss 84(%rsi), %xmm5\n"
			  "divss 88(%rsi), %xmm5\n"
			  "stmxcsr 92(%rsi)\n"
			  "ucomiss %xmm1, %xmm0\n" DONE);
GUEST_CODE(code_x87, "xorps %xmm5, %xmm5\n"
		     "fldl (%rsi)\n"
		     "fmull 8(%rsi)\n"
		     "fstpl 16(%rsi)\n"
		     "fldpi\n" DONE);
GUEST_CODE(code_loop, "1: addps %xmm1, %xmm0\n"
		      "dec %ecx\n"
		      "jnz 1b\n" DONE);
GUEST_CODE(code_sti, "addps %xmm1, %xmm0\n"
		     "sti\n"
		     "addps %xmm1, %xmm0\n" DONE);
GUEST_CODE(code_cli, "addps %xmm1, %xmm0\n"
		     "cli\n"
		     "addps %xmm1, %xmm0\n" DONE);
GUEST_CODE(code_cpuid, "addps %xmm1, %xmm0\n"
		       "cpuid\n"
		       "addps %xmm1, %xmm0\n" DONE);
GUEST_CODE(code_mid_fault, "addps %xmm1, %xmm0\n"
			   "mov $5, %r8d\n"
			   "lddqu (%rcx), %xmm2\n" DONE);
GUEST_CODE(code_vaddps, "vaddps %ymm1, %ymm2, %ymm3\n" DONE);
GUEST_CODE(code_rep_stos, "addps %xmm1, %xmm0\n"
			  "mov $0xab, %eax\n"
			  "rep stosb\n" DONE);
GUEST_CODE(code_jump_far, "addps %xmm1, %xmm0\n"
			  "movabs $0x300000, %rax\n"
			  "jmp *%rax\n");
GUEST_CODE(code_far_one, "addps %xmm1, %xmm0\n"
			 "mov $1, %ebx\n" DONE);
GUEST_CODE(code_far_two, "addps %xmm1, %xmm0\n"
			 "mov $2, %ebx\n" DONE);

/* Instructions with their expected decoding, in the order of decode_cases. */
GUEST_CODE(code_decode, "xorps %xmm0, %xmm0\n"
			"palignr $8, %xmm1, %xmm0\n"
			"movabs $0x1122334455667788, %rax\n"
			"vbroadcastss 0(%rip), %xmm0\n"
			"andn %rcx, %rax, %rax\n"
			"vaddps %zmm1, %zmm0, %zmm0\n"
			"xgetbv\n"
			"xsave (%rax)\n"
			"xrstor64 0x40(%rsp)\n"
			"xsavec (%rax)\n"
			"out %al, $0x80\n"
			"in %dx, %al\n"
			"cpuid\n"
			"rdtsc\n"
			"mov %rax, %cr3\n"
			"invlpg (%rax)\n"
			"cli\n"
			"popf\n"
			"fld1\n"
			"popcnt %rcx, %rax\n"
			"nopw 0(%rax, %rax, 1)\n"
			"rep movsq\n"
			"add $0x12345678, %ebx\n"
			"add $0x1234, %bx\n"
			"test $1, %bl\n"
			"test $1, %ebx\n"
			"call .+5\n"
			"je .+0x106\n"
			"enter $0x10, $0\n"
			"movabs 0x1122334455667788, %eax\n"
			"fxsave64 (%rcx)\n"
			"mov %fs:0x10(%rbx, %rcx, 4), %rax\n"
			"lea 0x12345678(%rip), %rax\n"
			"vzeroupper\n"
			"ldmxcsr (%rax)\n"
			"rdfsbase %rax\n"
			"lfence\n"
			"cmpxchg16b (%rdi)\n"
			"rdrand %eax\n"
			"mov %ds, %ax\n"
			"pushq $0x12345678\n"
			"imul $0x1234, %eax, %ecx\n"
			"crc32q %rax, %rbx\n"
			"pshufb %xmm1, %xmm0\n"
			"vpaddd %ymm1, %ymm2, %ymm3\n"
			"ljmp *(%rax)\n"
			"int3\n"
			"iretq\n"
			"sti\n"
			"hlt\n"
			"wrmsr\n"
			"lgdt (%rax)\n"
			"swapgs\n"
			"sysretq\n"
			"fwait\n"
			"xsaveopt (%rax)\n"
			"fxrstor (%rax)\n"
			"xsetbv\n"
			"rdtscp\n"
			"addr32 xrstor 8(%eax)\n");

#define FPU  X86_INSN_FPU
#define X87  X86_INSN_X87
#define HOST X86_INSN_HOST
#define IF   X86_INSN_IF
#define VEC  X86_INSN_VECTOR

static const struct {
	const char *text;
	unsigned length;
	unsigned flags;
	enum x86_direct direct;
} decode_cases[] = {
    {"xorps", 3, FPU, X86_DIRECT_NONE},
    {"palignr", 6, FPU, X86_DIRECT_NONE},
    {"movabs imm64", 10, 0, X86_DIRECT_NONE},
    {"vbroadcastss", 9, FPU | VEC, X86_DIRECT_NONE},
    {"andn", 5, 0, X86_DIRECT_NONE},
    {"vaddps zmm", 6, FPU | VEC, X86_DIRECT_NONE},
    {"xgetbv", 3, HOST, X86_DIRECT_XGETBV},
    {"xsave", 3, FPU | HOST, X86_DIRECT_XSAVE},
    {"xrstor64", 6, FPU | HOST, X86_DIRECT_XRSTOR},
    {"xsavec", 3, FPU | HOST, X86_DIRECT_XSAVEC},
    {"out", 2, HOST, X86_DIRECT_NONE},
    {"in", 1, HOST, X86_DIRECT_NONE},
    {"cpuid", 2, HOST, X86_DIRECT_NONE},
    {"rdtsc", 2, HOST, X86_DIRECT_NONE},
    {"mov cr3", 3, HOST, X86_DIRECT_NONE},
    {"invlpg", 3, HOST, X86_DIRECT_NONE},
    {"cli", 1, IF, X86_DIRECT_NONE},
    {"popf", 1, IF, X86_DIRECT_NONE},
    {"fld1", 2, FPU | X87, X86_DIRECT_NONE},
    {"popcnt", 5, 0, X86_DIRECT_POPCNT},
    {"nopw", 5, 0, X86_DIRECT_NONE},
    {"rep movsq", 3, 0, X86_DIRECT_NONE},
    {"add imm32", 6, 0, X86_DIRECT_NONE},
    {"add imm16", 5, 0, X86_DIRECT_NONE},
    {"test imm8", 3, 0, X86_DIRECT_NONE},
    {"test imm32", 6, 0, X86_DIRECT_NONE},
    {"call", 5, 0, X86_DIRECT_NONE},
    {"je rel32", 6, 0, X86_DIRECT_NONE},
    {"enter", 4, 0, X86_DIRECT_NONE},
    {"movabs moffs", 9, 0, X86_DIRECT_NONE},
    {"fxsave64", 4, FPU | HOST, X86_DIRECT_FXSAVE},
    {"mov fs: sib", 6, 0, X86_DIRECT_NONE},
    {"lea rip", 7, 0, X86_DIRECT_NONE},
    {"vzeroupper", 3, FPU | VEC, X86_DIRECT_NONE},
    {"ldmxcsr", 3, FPU, X86_DIRECT_NONE},
    {"rdfsbase", 5, HOST, X86_DIRECT_NONE},
    {"lfence", 3, 0, X86_DIRECT_NONE},
    {"cmpxchg16b", 4, 0, X86_DIRECT_NONE},
    {"rdrand", 3, HOST, X86_DIRECT_NONE},
    {"mov from ds", 3, HOST, X86_DIRECT_NONE},
    {"push imm32", 5, 0, X86_DIRECT_NONE},
    {"imul imm32", 6, 0, X86_DIRECT_NONE},
    {"crc32", 6, 0, X86_DIRECT_NONE},
    {"pshufb", 5, FPU, X86_DIRECT_NONE},
    {"vpaddd", 4, FPU | VEC, X86_DIRECT_NONE},
    {"ljmp", 2, HOST, X86_DIRECT_NONE},
    {"int3", 1, HOST, X86_DIRECT_INT3},
    {"iretq", 2, HOST, X86_DIRECT_NONE},
    {"sti", 1, IF, X86_DIRECT_NONE},
    {"hlt", 1, HOST, X86_DIRECT_NONE},
    {"wrmsr", 2, HOST, X86_DIRECT_NONE},
    {"lgdt", 3, HOST, X86_DIRECT_NONE},
    {"swapgs", 3, HOST, X86_DIRECT_NONE},
    {"sysretq", 3, HOST, X86_DIRECT_NONE},
    {"fwait", 1, FPU | X86_INSN_WAIT, X86_DIRECT_NONE},
    {"xsaveopt", 3, FPU | HOST, X86_DIRECT_XSAVEOPT},
    {"fxrstor", 3, FPU | HOST, X86_DIRECT_FXRSTOR},
    {"xsetbv", 3, HOST, X86_DIRECT_XSETBV},
    {"rdtscp", 3, HOST, X86_DIRECT_RDTSCP},
    {"addr32 xrstor", 5, FPU | HOST, X86_DIRECT_XRSTOR},
};

#define DECODE_CASES (sizeof(decode_cases) / sizeof(decode_cases[0]))

/* Returns the offset of decode_cases[index] in code_decode. */
static size_t decode_offset(size_t index)
{
	size_t offset = 0;

	for (size_t i = 0; i < index; i++)
		offset += decode_cases[i].length;
	return offset;
}

START_TEST(decode_lengths_and_classes)
{
	const uint8_t *code = code_decode_start;
	size_t size = (size_t)(code_decode_end - code_decode_start);
	size_t offset = 0;

	for (size_t i = 0; i < DECODE_CASES; i++) {
		struct x86_insn insn;
		unsigned count = size - offset < 15 ? size - offset : 15;

		x86_decode(code + offset, count, &insn);
		ck_assert_msg(insn.length == decode_cases[i].length,
			      "%s: length %u, expected %u",
			      decode_cases[i].text, insn.length,
			      decode_cases[i].length);
		ck_assert_msg(insn.flags == decode_cases[i].flags,
			      "%s: flags 0x%x, expected 0x%x",
			      decode_cases[i].text, insn.flags,
			      decode_cases[i].flags);
		ck_assert_msg(x86_direct_kind(&insn) == decode_cases[i].direct,
			      "%s: direct kind %d, expected %d",
			      decode_cases[i].text, x86_direct_kind(&insn),
			      decode_cases[i].direct);
		offset += insn.length;
	}
	ck_assert_uint_eq(offset, size);
}
END_TEST

START_TEST(decode_truncated_and_too_long)
{
	static const uint8_t escape[] = {0x0f};
	static const uint8_t disp_cut[] = {0x0f, 0xae, 0xa0, 0x00};
	uint8_t prefixes[16];
	struct x86_insn insn;

	x86_decode(escape, sizeof(escape), &insn);
	ck_assert(insn.flags & X86_INSN_TRUNCATED);
	x86_decode(disp_cut, sizeof(disp_cut), &insn);
	ck_assert(insn.flags & X86_INSN_TRUNCATED);

	memset(prefixes, 0x66, 15);
	prefixes[15] = 0x90;
	x86_decode(prefixes, 15, &insn);
	ck_assert(insn.flags & X86_INSN_TRUNCATED);
	x86_decode(prefixes, 16, &insn);
	ck_assert(insn.flags & X86_INSN_TOO_LONG);
}
END_TEST

START_TEST(effective_address_forms)
{
	const uint8_t *code = code_decode_start;
	struct fallback_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.regs.rbx = 0x1000;
	ctx.regs.rcx = 0x20;
	ctx.regs.rsp = 0x8000;
	ctx.regs.rip = 0x400000;
	ctx.sregs.fs.base = 0x7000000;

	/* xrstor64 0x40(%rsp) */
	x86_decode(code + decode_offset(8), 15, &ctx.insn);
	ck_assert_uint_eq(fallback_effective_address(&ctx), 0x8040);

	/* mov %fs:0x10(%rbx, %rcx, 4), %rax */
	x86_decode(code + decode_offset(31), 15, &ctx.insn);
	ck_assert_uint_eq(fallback_effective_address(&ctx),
			  0x7000000 + 0x1000 + 0x20 * 4 + 0x10);

	/* lea 0x12345678(%rip), %rax: relative to the next instruction */
	x86_decode(code + decode_offset(32), 15, &ctx.insn);
	ck_assert_uint_eq(fallback_effective_address(&ctx),
			  0x400000 + 7 + 0x12345678);

	/* addr32 xrstor 8(%eax): a 32-bit address wraps around */
	ctx.regs.rax = 0x1fffffffcULL;
	x86_decode(code + decode_offset(DECODE_CASES - 1), 5, &ctx.insn);
	ck_assert_uint_eq(fallback_effective_address(&ctx), 0x4);
}
END_TEST

/* XSAVE layout of the host, which KVM and the guest share. */
struct layout {
	uint32_t offset[64];
	uint32_t size[64];
	uint64_t align64;
};

static void host_layout(struct layout *layout)
{
	unsigned eax, ebx, ecx, edx;

	memset(layout, 0, sizeof(*layout));
	for (unsigned i = 2; i < 63; i++) {
		__cpuid_count(0xd, i, eax, ebx, ecx, edx);
		layout->size[i] = eax;
		layout->offset[i] = ebx;
		if (ecx & 2)
			layout->align64 |= 1ULL << i;
	}
}

static void compacted_offsets(const struct layout *layout, uint64_t xcomp_bv,
			      uint32_t *offsets)
{
	uint32_t offset = 576;

	for (unsigned i = 2; i < 63; i++) {
		if (!(xcomp_bv >> i & 1))
			continue;
		if (layout->align64 >> i & 1)
			offset = (offset + 63) & ~63U;
		offsets[i] = offset;
		offset += layout->size[i];
	}
}

static void open_fixture(struct fixture *f)
{
	char *reason = NULL;
	int rc = fixture_open(f, &reason);

	ck_assert_msg(rc == 0, "cannot create the VM: %s",
		      reason ? reason : strerror(-rc));
}

/* Sets XCR0 to x87 | SSE | AVX, plus AVX-512 where KVM allows it. */
static uint64_t enable_avx(struct fixture *f)
{
	if (fixture_set_xcr0(f, 0xe7) == 0)
		return 0xe7;
	ck_assert_int_eq(fixture_set_xcr0(f, 0x7), 0);
	return 0x7;
}

static void load(struct fixture *f, const uint8_t *start, const uint8_t *end)
{
	fixture_load_code(f, start, end);
}

static void set_gprs(struct fixture *f, uint64_t rax, uint64_t rcx,
		     uint64_t rdx, uint64_t rsi)
{
	struct kvm_regs regs;

	fixture_get_regs(f, &regs);
	regs.rax = rax;
	regs.rcx = rcx;
	regs.rdx = rdx;
	regs.rsi = rsi;
	fixture_set_regs(f, &regs);
}

static int run(struct fixture *f)
{
	int port = fixture_run(f, 1000);

	ck_assert_msg(port >= 0, "the run failed with %d: %s", port,
		      f->error ? f->error : "no message");
	return port;
}

static void expect_done(struct fixture *f)
{
	ck_assert_int_eq(run(f), FIXTURE_PORT_DONE);
}

/* Expects the default handler of `vector` to end the run; returns regs. */
static struct kvm_regs expect_exception(struct fixture *f, unsigned vector)
{
	struct kvm_regs regs;

	ck_assert_int_eq(run(f), FIXTURE_PORT_EXCEPTION);
	fixture_get_regs(f, &regs);
	ck_assert_uint_eq(regs.rax, vector);
	return regs;
}

static uint8_t pattern(uint8_t seed, unsigned offset)
{
	return (uint8_t)(seed * 31 + offset * 7 + 1);
}

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

/*
 * Fills the legacy region and the components of `xstate_bv` of an XSAVE
 * image (standard format) with values derived from `seed`. FOP, FIP and
 * FDP stay zero because AMD processors save them only with an unmasked
 * x87 exception pending.
 */
static void fill_image(uint8_t *image, uint8_t seed, uint64_t xstate_bv,
		       const struct layout *layout)
{
	uint16_t fcw = 0x037f | (seed & 3) << 10;

	memset(image, 0, OFFSET_MXCSR);
	memcpy(image, &fcw, 2);
	image[4] = 0xff; /* all eight x87 registers valid */
	put32(image + OFFSET_MXCSR, 0x1f80 | (seed & 3) << 13);
	for (unsigned i = 0; i < 8; i++) {
		memset(image + OFFSET_ST + 16 * i, 0, 16);
		for (unsigned k = 0; k < 10; k++)
			image[OFFSET_ST + 16 * i + k] =
			    pattern(seed, OFFSET_ST + 16 * i + k);
	}
	for (unsigned k = OFFSET_XMM; k < 416; k++)
		image[k] = pattern(seed, k);
	for (unsigned i = 2; i < 63; i++) {
		if (!(xstate_bv >> i & 1))
			continue;
		for (unsigned k = 0; k < layout->size[i]; k++)
			image[layout->offset[i] + k] =
			    pattern(seed, layout->offset[i] + k);
	}
	memset(image + OFFSET_HEADER, 0, 64);
	put64(image + OFFSET_HEADER, xstate_bv);
}

/* Gives the vCPU the state fill_image() describes. */
static void set_state(struct fixture *f, uint8_t seed, uint64_t xstate_bv,
		      const struct layout *layout)
{
	struct kvm_xsave state;

	fixture_get_xsave(f, &state);
	fill_image((uint8_t *)state.region, seed, xstate_bv, layout);
	fixture_set_xsave(f, &state);
}

static void assert_bytes(const uint8_t *actual, const uint8_t *expected,
			 size_t len, const char *what)
{
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(actual[i] == expected[i],
			      "%s: byte %zu is 0x%02x, expected 0x%02x", what,
			      i, actual[i], expected[i]);
}

START_TEST(xgetbv_reads_xcr0)
{
	struct fixture f;
	struct kvm_regs regs;
	uint64_t xcr0;

	open_fixture(&f);
	xcr0 = enable_avx(&f);
	load(&f, code_xgetbv_start, code_xgetbv_end);
	set_gprs(&f, ~0ULL, 0, ~0ULL, 0);
	expect_done(&f);

	fixture_get_regs(&f, &regs);
	ck_assert_uint_eq(regs.rax, xcr0);
	ck_assert_uint_eq(regs.rdx, 0);
	ck_assert_uint_eq(regs.rip, FIXTURE_CODE + 5);
	ck_assert_uint_eq(f.fallback_calls, 1);
	ck_assert_uint_eq(f.instructions, 1);
	fixture_close(&f);
}
END_TEST

START_TEST(xgetbv_ecx1_reads_xinuse)
{
	struct fixture f;
	struct layout layout;
	struct kvm_regs regs;
	uint64_t xcr0;

	host_layout(&layout);
	open_fixture(&f);
	xcr0 = enable_avx(&f);
	set_state(&f, 1, 0x7, &layout);
	load(&f, code_xgetbv_start, code_xgetbv_end);
	set_gprs(&f, 0, 1, 0, 0);
	expect_done(&f);

	fixture_get_regs(&f, &regs);
	/* x87, SSE and AVX hold values that are not their initial state. */
	ck_assert_uint_eq(regs.rax & 0x7, 0x7);
	ck_assert_uint_eq(regs.rax & ~xcr0, 0);
	fixture_close(&f);
}
END_TEST

START_TEST(xgetbv_unknown_xcr_raises_gp)
{
	struct fixture f;
	struct kvm_regs regs;

	open_fixture(&f);
	load(&f, code_xgetbv_start, code_xgetbv_end);
	set_gprs(&f, 0, 2, 0, 0);
	regs = expect_exception(&f, VECTOR_GP);
	ck_assert_uint_eq(regs.rcx, 0);
	ck_assert_uint_eq(regs.rdx, FIXTURE_CODE);
	fixture_close(&f);
}
END_TEST

START_TEST(xsetbv_sets_xcr0)
{
	struct fixture f;
	struct kvm_regs regs;

	/* This host's KVM completes XSETBV itself, so call the fallback. */
	open_fixture(&f);
	load(&f, code_xsetbv_start, code_xsetbv_end);
	set_gprs(&f, 0x7, 0, 0, 0);
	ck_assert_int_eq(fixture_complete(&f), 0);
	ck_assert_uint_eq(fixture_get_xcr0(&f), 0x7);
	ck_assert_uint_eq(f.instructions, 1);
	fixture_get_regs(&f, &regs);
	ck_assert_uint_eq(regs.rip, FIXTURE_CODE + 3);
	expect_done(&f);
	fixture_close(&f);
}
END_TEST

START_TEST(xsetbv_invalid_value_raises_gp)
{
	/* AVX without SSE, x87 missing, and an XCR other than 0 */
	static const uint64_t cases[][2] = {{0x5, 0}, {0x2, 0}, {0x3, 1}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture f;
		struct kvm_regs regs;

		open_fixture(&f);
		load(&f, code_xsetbv_start, code_xsetbv_end);
		set_gprs(&f, cases[i][0], cases[i][1], 0, 0);
		ck_assert_int_eq(fixture_complete(&f), 0);
		ck_assert_uint_eq(f.instructions, 0);
		regs = expect_exception(&f, VECTOR_GP);
		ck_assert_uint_eq(regs.rcx, 0);
		ck_assert_uint_eq(fixture_get_xcr0(&f), 0x3);
		fixture_close(&f);
	}
}
END_TEST

/*
 * Runs `code` (XSAVE, XSAVE64 or XSAVEOPT at rcx) with the requested mask
 * in edx:eax over an area filled with 0xaa and compares every byte with
 * what the instruction may write.
 */
static void check_xsave_mask(struct fixture *f, const uint8_t *start,
			     const uint8_t *end, uint64_t xcr0,
			     uint64_t request, const struct layout *layout)
{
	uint8_t *area = fixture_host(f, FIXTURE_DATA, AREA_SIZE);
	uint8_t expected[AREA_SIZE];
	struct kvm_xsave state;
	const uint8_t *kvm = (const uint8_t *)state.region;
	uint64_t rfbm = request & xcr0;
	uint64_t xstate_bv;
	char what[64];

	memset(area, 0xaa, AREA_SIZE);
	load(f, start, end);
	set_gprs(f, (uint32_t)request, FIXTURE_DATA, request >> 32, 0);
	expect_done(f);
	fixture_get_xsave(f, &state);

	memset(expected, 0xaa, sizeof(expected));
	xstate_bv = (0xaaaaaaaaaaaaaaaaULL & ~rfbm) |
		    (get64(kvm + OFFSET_HEADER) & rfbm);
	put64(expected + OFFSET_HEADER, xstate_bv);
	if (rfbm & 1) {
		memcpy(expected, kvm, OFFSET_MXCSR);
		memcpy(expected + OFFSET_ST, kvm + OFFSET_ST, 128);
	}
	if (rfbm & 6)
		memcpy(expected + OFFSET_MXCSR, kvm + OFFSET_MXCSR, 8);
	if (rfbm & 2)
		memcpy(expected + OFFSET_XMM, kvm + OFFSET_XMM, 256);
	for (unsigned i = 2; i < 63; i++)
		if (rfbm >> i & 1)
			memcpy(expected + layout->offset[i],
			       kvm + layout->offset[i], layout->size[i]);

	snprintf(what, sizeof(what), "XSAVE with RFBM 0x%llx",
		 (unsigned long long)rfbm);
	assert_bytes(area, expected, AREA_SIZE, what);
}

START_TEST(xsave_writes_only_requested_components)
{
	/* Bit 8 lies outside XCR0 and must be ignored. */
	const uint64_t requests[] = {0, 1,     2,    4,	    3,
				     6, 0x104, 0xe7, ~0ULL, 0xe1};
	struct fixture f;
	struct layout layout;
	struct kvm_xsave state;
	uint64_t xcr0;

	host_layout(&layout);
	open_fixture(&f);
	xcr0 = enable_avx(&f);
	set_state(&f, 1, xcr0, &layout);

	/* The vCPU contains the values set_state() gave it. */
	fixture_get_xsave(&f, &state);
	ck_assert_uint_eq(((uint8_t *)state.region)[OFFSET_XMM + 5],
			  pattern(1, OFFSET_XMM + 5));
	ck_assert_uint_eq(((uint8_t *)state.region)[layout.offset[2] + 9],
			  pattern(1, layout.offset[2] + 9));

	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		check_xsave_mask(&f, code_xsave_start, code_xsave_end, xcr0,
				 requests[i], &layout);
		check_xsave_mask(&f, code_xsave64_start, code_xsave64_end, xcr0,
				 requests[i], &layout);
		check_xsave_mask(&f, code_xsaveopt_start, code_xsaveopt_end,
				 xcr0, requests[i], &layout);
	}
	ck_assert_uint_eq(f.fallback_calls, 30);
	fixture_close(&f);
}
END_TEST

START_TEST(xsave_misaligned_raises_gp)
{
	struct fixture f;
	struct kvm_regs regs;

	open_fixture(&f);
	memset(fixture_host(&f, FIXTURE_DATA, AREA_SIZE), 0xaa, AREA_SIZE);
	load(&f, code_xsave_start, code_xsave_end);
	set_gprs(&f, 3, FIXTURE_DATA + 32, 0, 0);
	regs = expect_exception(&f, VECTOR_GP);
	ck_assert_uint_eq(regs.rcx, 0);
	ck_assert_uint_eq(*(uint8_t *)fixture_host(&f, FIXTURE_DATA + 32, 1),
			  0xaa);
	fixture_close(&f);
}
END_TEST

/* Writes a standard-format image (seed, XSTATE_BV) to FIXTURE_DATA. */
static void put_image(struct fixture *f, uint8_t seed, uint64_t xstate_bv,
		      const struct layout *layout)
{
	uint8_t image[AREA_SIZE];

	memset(image, 0, sizeof(image));
	fill_image(image, seed, 0xe7, layout);
	put64(image + OFFSET_HEADER, xstate_bv);
	memcpy(fixture_host(f, FIXTURE_DATA, AREA_SIZE), image, sizeof(image));
}

/* Runs XRSTOR over the state of seed 1 from an image of seed 2. */
static void run_xrstor(struct fixture *f, uint64_t xcr0, uint64_t rfbm,
		       uint64_t xstate_bv, const struct layout *layout,
		       uint8_t *after)
{
	struct kvm_xsave state;

	set_state(f, 1, xcr0, layout);
	put_image(f, 2, xstate_bv, layout);
	load(f, code_xrstor_start, code_xrstor_end);
	set_gprs(f, (uint32_t)rfbm, FIXTURE_DATA, rfbm >> 32, 0);
	expect_done(f);
	fixture_get_xsave(f, &state);
	memcpy(after, state.region, AREA_SIZE);
}

START_TEST(xrstor_loads_requested_components)
{
	struct fixture f;
	struct layout layout;
	uint8_t one[AREA_SIZE], two[AREA_SIZE], zero[AREA_SIZE];
	uint8_t after[AREA_SIZE];
	uint32_t avx;
	uint64_t xcr0;

	host_layout(&layout);
	avx = layout.offset[2];
	fill_image(one, 1, 0xe7, &layout);
	fill_image(two, 2, 0xe7, &layout);
	memset(zero, 0, sizeof(zero));
	open_fixture(&f);
	xcr0 = enable_avx(&f);

	/* SSE and AVX requested; the image has x87 and AVX, SSE init. */
	run_xrstor(&f, xcr0, 0x6, 0x5, &layout, after);
	assert_bytes(after + OFFSET_ST, one + OFFSET_ST, 128, "x87 kept");
	assert_bytes(after + OFFSET_XMM, zero, 256, "XMM initialized");
	assert_bytes(after + OFFSET_MXCSR, two + OFFSET_MXCSR, 4,
		     "MXCSR loaded");
	assert_bytes(after + avx, two + avx, 256, "AVX loaded");

	/* Only AVX: the standard form still loads MXCSR. */
	run_xrstor(&f, xcr0, 0x4, 0x4, &layout, after);
	assert_bytes(after + OFFSET_XMM, one + OFFSET_XMM, 256, "XMM kept");
	assert_bytes(after + OFFSET_MXCSR, two + OFFSET_MXCSR, 4,
		     "MXCSR loaded with AVX");
	assert_bytes(after + avx, two + avx, 256, "AVX loaded");

	/* AVX requested but absent from the image: initialized. */
	run_xrstor(&f, xcr0, 0x4, 0x0, &layout, after);
	assert_bytes(after + avx, zero, 256, "AVX initialized");
	assert_bytes(after + OFFSET_XMM, one + OFFSET_XMM, 256, "XMM kept");

	/* x87 requested but absent from the image: initialized. */
	run_xrstor(&f, xcr0, 0x1, 0x0, &layout, after);
	ck_assert_uint_eq(after[0] | after[1] << 8, 0x037f);
	assert_bytes(after + 2, zero, 22, "x87 control state initialized");
	assert_bytes(after + OFFSET_ST, zero, 128, "x87 registers zero");
	assert_bytes(after + OFFSET_XMM, one + OFFSET_XMM, 256, "XMM kept");
	assert_bytes(after + avx, one + avx, 256, "AVX kept");

	/* Everything, from an image with everything. */
	run_xrstor(&f, xcr0, ~0ULL, xcr0, &layout, after);
	assert_bytes(after + OFFSET_ST, two + OFFSET_ST, 128, "x87 loaded");
	assert_bytes(after + OFFSET_XMM, two + OFFSET_XMM, 256, "XMM loaded");
	for (unsigned i = 2; i < 8; i++)
		if (xcr0 >> i & 1)
			assert_bytes(after + layout.offset[i],
				     two + layout.offset[i], layout.size[i],
				     "extended component loaded");
	fixture_close(&f);
}
END_TEST

START_TEST(xrstor_invalid_image_raises_gp)
{
	struct fixture f;
	struct layout layout;
	struct kvm_xsave state;
	uint8_t one[AREA_SIZE];
	uint8_t *image;

	host_layout(&layout);
	fill_image(one, 1, 0x7, &layout);
	open_fixture(&f);
	enable_avx(&f);
	image = fixture_host(&f, FIXTURE_DATA, AREA_SIZE);

	for (unsigned c = 0; c < 4; c++) {
		uint64_t base = FIXTURE_DATA;

		set_state(&f, 1, 0x7, &layout);
		put_image(&f, 2, 0x3, &layout);
		if (c == 0)
			put32(image + OFFSET_MXCSR, 0xffff1f80); /* reserved */
		else if (c == 1)
			put64(image + OFFSET_HEADER,
			      1ULL << 9); /* not in XCR0 */
		else if (c == 2)
			put64(image + OFFSET_HEADER + 8, 1); /* no bit 63 */
		else
			base += 16; /* not 64-byte aligned */
		load(&f, code_xrstor_start, code_xrstor_end);
		set_gprs(&f, 0x7, base, 0, 0);
		ck_assert_uint_eq(expect_exception(&f, VECTOR_GP).rcx, 0);
		fixture_get_xsave(&f, &state);
		assert_bytes((uint8_t *)state.region + OFFSET_XMM,
			     one + OFFSET_XMM, 256, "XMM unchanged after #GP");
	}
	fixture_close(&f);
}
END_TEST

START_TEST(xsavec_writes_compacted_format)
{
	struct fixture f;
	struct layout layout;
	struct kvm_xsave state;
	const uint8_t *kvm = (const uint8_t *)state.region;
	uint8_t *area;
	uint8_t expected[AREA_SIZE];
	uint32_t offsets[64] = {0};
	uint64_t xcr0, xinuse;

	host_layout(&layout);
	open_fixture(&f);
	xcr0 = enable_avx(&f);
	/* AVX starts in its initial state, so XSAVEC may skip it. */
	set_state(&f, 1, xcr0 & ~0x4ULL, &layout);
	area = fixture_host(&f, FIXTURE_DATA, AREA_SIZE);
	memset(area, 0xaa, AREA_SIZE);
	load(&f, code_xsavec_start, code_xsavec_end);
	set_gprs(&f, (uint32_t)xcr0, FIXTURE_DATA, 0, 0);
	expect_done(&f);
	fixture_get_xsave(&f, &state);

	/*
	 * XSTATE_BV is RFBM & XINUSE. XINUSE may count an initial-state
	 * component as in use, so the expectations follow what was written.
	 */
	xinuse = get64(area + OFFSET_HEADER);
	ck_assert_uint_eq(xinuse & ~xcr0, 0);
	ck_assert_uint_eq(xinuse & 0x3, 0x3);
	memset(expected, 0xaa, sizeof(expected));
	memcpy(expected, kvm, 416);
	put64(expected + OFFSET_HEADER, xinuse);
	put64(expected + OFFSET_HEADER + 8, xcr0 | 1ULL << 63);
	compacted_offsets(&layout, xcr0, offsets);
	for (unsigned i = 2; i < 63; i++)
		if (xinuse >> i & 1)
			memcpy(expected + offsets[i], kvm + layout.offset[i],
			       layout.size[i]);
	assert_bytes(area, expected, AREA_SIZE, "XSAVEC area");
	fixture_close(&f);
}
END_TEST

START_TEST(xrstor_compacted_form)
{
	struct fixture f;
	struct layout layout;
	uint8_t two[AREA_SIZE], zero[AREA_SIZE];
	uint8_t *image;
	uint32_t offsets[64] = {0};
	uint64_t xcr0, format;
	struct kvm_xsave state;
	const uint8_t *after = (const uint8_t *)state.region;

	host_layout(&layout);
	fill_image(two, 2, 0xe7, &layout);
	memset(zero, 0, sizeof(zero));
	open_fixture(&f);
	xcr0 = enable_avx(&f);
	set_state(&f, 1, xcr0, &layout);

	/* AVX left out of the format, SSE in it but marked initial. */
	format = xcr0 & ~0x4ULL;
	compacted_offsets(&layout, format, offsets);
	image = fixture_host(&f, FIXTURE_DATA, AREA_SIZE);
	memset(image, 0, AREA_SIZE);
	memcpy(image, two, 416);
	put64(image + OFFSET_HEADER, format & ~0x2ULL);
	put64(image + OFFSET_HEADER + 8, format | 1ULL << 63);
	for (unsigned i = 3; i < 63; i++)
		if (format >> i & 1)
			memcpy(image + offsets[i], two + layout.offset[i],
			       layout.size[i]);

	load(&f, code_xrstor_start, code_xrstor_end);
	set_gprs(&f, (uint32_t)xcr0, FIXTURE_DATA, 0, 0);
	expect_done(&f);
	fixture_get_xsave(&f, &state);

	assert_bytes(after + OFFSET_ST, two + OFFSET_ST, 128, "x87 loaded");
	assert_bytes(after + OFFSET_XMM, zero, 256, "XMM initialized");
	ck_assert_uint_eq(get32(after + OFFSET_MXCSR), 0x1f80);
	assert_bytes(after + layout.offset[2], zero, 256,
		     "AVX initialized although not in the format");
	for (unsigned i = 5; i < 8; i++)
		if (format >> i & 1)
			assert_bytes(after + layout.offset[i],
				     two + layout.offset[i], layout.size[i],
				     "AVX-512 component loaded");
	fixture_close(&f);
}
END_TEST

START_TEST(fxsave_both_formats)
{
	struct fixture f;
	struct layout layout;
	struct kvm_xsave state;
	const uint8_t *kvm = (const uint8_t *)state.region;
	uint8_t expected[AREA_SIZE];
	uint8_t *area;

	host_layout(&layout);
	open_fixture(&f);
	set_state(&f, 3, 0x3, &layout);
	area = fixture_host(&f, FIXTURE_DATA, AREA_SIZE);

	for (unsigned rex_w = 0; rex_w < 2; rex_w++) {
		memset(area, 0xaa, AREA_SIZE);
		if (rex_w)
			load(&f, code_fxsave64_start, code_fxsave64_end);
		else
			load(&f, code_fxsave_start, code_fxsave_end);
		set_gprs(&f, 0, FIXTURE_DATA, 0, 0);
		/* This host's KVM completes FXSAVE itself. */
		ck_assert_int_eq(fixture_complete(&f), 0);
		expect_done(&f);
		fixture_get_xsave(&f, &state);

		memset(expected, 0xaa, sizeof(expected));
		memcpy(expected, kvm, 416);
		if (!rex_w) {
			/* 32-bit FIP and FDP, then FCS and FDS as zero */
			memset(expected + 12, 0, 4);
			memset(expected + 20, 0, 4);
		}
		assert_bytes(area, expected, AREA_SIZE, "FXSAVE area");
	}
	fixture_close(&f);
}
END_TEST

START_TEST(fxrstor_loads_x87_and_sse)
{
	struct fixture f;
	struct layout layout;
	struct kvm_xsave state;
	uint8_t one[AREA_SIZE], two[AREA_SIZE];
	const uint8_t *after = (const uint8_t *)state.region;
	uint64_t xcr0;

	host_layout(&layout);
	fill_image(one, 1, 0xe7, &layout);
	fill_image(two, 2, 0xe7, &layout);
	open_fixture(&f);
	xcr0 = enable_avx(&f);
	set_state(&f, 1, xcr0, &layout);
	put_image(&f, 2, 0, &layout);
	load(&f, code_fxrstor64_start, code_fxrstor64_end);
	set_gprs(&f, 0, FIXTURE_DATA, 0, 0);
	/* This host's KVM completes FXRSTOR itself. */
	ck_assert_int_eq(fixture_complete(&f), 0);
	expect_done(&f);
	fixture_get_xsave(&f, &state);

	assert_bytes(after, two, 4, "FCW, FSW");
	assert_bytes(after + OFFSET_ST, two + OFFSET_ST, 128, "x87 loaded");
	assert_bytes(after + OFFSET_MXCSR, two + OFFSET_MXCSR, 4,
		     "MXCSR loaded");
	assert_bytes(after + OFFSET_XMM, two + OFFSET_XMM, 256, "XMM loaded");
	assert_bytes(after + layout.offset[2], one + layout.offset[2], 256,
		     "AVX kept");
	fixture_close(&f);
}
END_TEST

/* Installs a #NM handler that clears CR0.TS and counts in r15. */
static void install_nm_handler(struct fixture *f)
{
	uint64_t handler = FIXTURE_CODE + 0x800;
	size_t size = (size_t)(nm_handler_end - nm_handler_start);

	memcpy(fixture_host(f, handler, size), nm_handler_start, size);
	fixture_set_handler(f, VECTOR_NM, handler);
}

static uint32_t get_mxcsr(struct fixture *f)
{
	struct kvm_xsave state;

	fixture_get_xsave(f, &state);
	return get32((uint8_t *)state.region + OFFSET_MXCSR);
}

START_TEST(ts_raises_nm_before_xsave)
{
	struct fixture f;
	struct kvm_regs regs;
	uint8_t *area;

	open_fixture(&f);
	install_nm_handler(&f);
	area = fixture_host(&f, FIXTURE_DATA, AREA_SIZE);
	memset(area, 0xaa, AREA_SIZE);
	load(&f, code_ts_xsave_start, code_ts_xsave_end);
	/* SET_TS leaves eax alone, so edx:eax requests x87 and SSE. */
	set_gprs(&f, 0x3, FIXTURE_DATA, 0, 0);
	expect_done(&f);

	fixture_get_regs(&f, &regs);
	ck_assert_uint_eq(regs.r15, 1);
	ck_assert_uint_eq(get64(area + OFFSET_HEADER) & ~0x3ULL,
			  0xaaaaaaaaaaaaaaaaULL & ~0x3ULL);
	ck_assert_uint_eq(get32(area + OFFSET_MXCSR), get_mxcsr(&f));
	fixture_close(&f);
}
END_TEST

START_TEST(int3_raises_bp_after_it)
{
	struct fixture f;
	struct kvm_regs regs;

	open_fixture(&f);
	load(&f, code_int3_start, code_int3_end);
	regs = expect_exception(&f, VECTOR_BP);
	/* The handler's return address follows the INT3. */
	ck_assert_uint_eq(regs.rcx, FIXTURE_CODE + 1);
	fixture_close(&f);
}
END_TEST

START_TEST(popcnt_completed_directly)
{
	struct fixture f;
	struct kvm_regs regs;
	uint16_t source = 0xf0f1;

	open_fixture(&f);
	memcpy(fixture_host(&f, FIXTURE_DATA, 2), &source, 2);
	load(&f, code_popcnt_start, code_popcnt_end);
	set_gprs(&f, 0xff00ff00ff00ff01ULL, FIXTURE_DATA, 0, 0);
	fixture_get_regs(&f, &regs);
	regs.r9 = 0x1234567812345678ULL;
	regs.r10 = ~0ULL;
	regs.rflags = 0x2 | 0x8d5;
	fixture_set_regs(&f, &regs);
	expect_done(&f);

	fixture_get_regs(&f, &regs);
	ck_assert_uint_eq(regs.rbx, 33);
	/* A 16-bit result keeps the upper bits of the register. */
	ck_assert_uint_eq(regs.r9, 0x1234567812340009ULL);
	ck_assert_uint_eq(regs.r10, 0);
	/* The last source was zero: ZF alone. */
	ck_assert_uint_eq(regs.rflags & 0x8d5, 0x40);
	ck_assert_uint_eq(f.instructions, 3);
	fixture_close(&f);
}
END_TEST

/* Sets or clears CPUID.80000001H:EDX.RDTSCP[bit 27] for the guest. */
static void set_rdtscp_cpuid(struct fixture *f, bool present)
{
	size_t size =
	    sizeof(struct kvm_cpuid2) + 256 * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, size);

	ck_assert_ptr_nonnull(cpuid);
	cpuid->nent = 256;
	ck_assert_int_eq(ioctl(f->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid), 0);
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		if (cpuid->entries[i].function != 0x80000001)
			continue;
		if (present)
			cpuid->entries[i].edx |= 1U << 27;
		else
			cpuid->entries[i].edx &= ~(1U << 27);
	}
	ck_assert_int_eq(ioctl(f->vcpu_fd, KVM_SET_CPUID2, cpuid), 0);
	free(cpuid);
}

START_TEST(rdtscp_reads_tsc_and_aux)
{
	struct kvm_msrs *msrs =
	    calloc(1, sizeof(*msrs) + sizeof(msrs->entries[0]));
	struct fixture f;
	struct kvm_regs regs;

	ck_assert_ptr_nonnull(msrs);
	open_fixture(&f);
	set_rdtscp_cpuid(&f, true);
	msrs->nmsrs = 1;
	msrs->entries[0].index = 0xc0000103; /* TSC_AUX */
	msrs->entries[0].data = 0x42;
	ck_assert_int_eq(ioctl(f.vcpu_fd, KVM_SET_MSRS, msrs), 1);
	free(msrs);
	load(&f, code_rdtscp_start, code_rdtscp_end);
	set_gprs(&f, 0, ~0ULL, 0, 0);
	expect_done(&f);

	fixture_get_regs(&f, &regs);
	ck_assert_uint_eq(regs.rcx, 0x42);
	ck_assert_uint_ne(regs.rdx << 32 | regs.rax, 0);
	ck_assert_uint_eq(regs.rax >> 32, 0);
	ck_assert_uint_eq(f.instructions, 1);
	fixture_close(&f);
}
END_TEST

START_TEST(rdtscp_without_cpuid_raises_ud)
{
	struct fixture f;

	open_fixture(&f);
	set_rdtscp_cpuid(&f, false);
	load(&f, code_rdtscp_start, code_rdtscp_end);
	expect_exception(&f, VECTOR_UD);
	ck_assert_uint_eq(f.fallback_calls, 1);
	fixture_close(&f);
}
END_TEST

#if UHYVE_HAVE_UNICORN

static void set_xmm(struct fixture *f, unsigned n, const void *value)
{
	struct kvm_xsave state;
	uint8_t *region = (uint8_t *)state.region;

	fixture_get_xsave(f, &state);
	memcpy(region + OFFSET_XMM + 16 * n, value, 16);
	region[OFFSET_HEADER] |= 0x2;
	fixture_set_xsave(f, &state);
}

static void get_xmm(struct fixture *f, unsigned n, void *value)
{
	struct kvm_xsave state;

	fixture_get_xsave(f, &state);
	memcpy(value, (uint8_t *)state.region + OFFSET_XMM + 16 * n, 16);
}

static void assert_floats(const float *actual, const float *expected,
			  unsigned count, const char *what)
{
	for (unsigned i = 0; i < count; i++) {
		uint32_t a, e;

		memcpy(&a, actual + i, 4);
		memcpy(&e, expected + i, 4);
		ck_assert_msg(a == e, "%s: lane %u is 0x%08x, expected 0x%08x",
			      what, i, a, e);
	}
}

START_TEST(ts_raises_nm_before_sse)
{
	static const float a[4] = {1, 2, 3, 4}, b[4] = {10, 20, 30, 40};
	static const float sum[4] = {11, 22, 33, 44};
	struct fixture f;
	struct kvm_regs regs;
	float result[4];

	open_fixture(&f);
	install_nm_handler(&f);
	set_xmm(&f, 0, a);
	set_xmm(&f, 1, b);
	load(&f, code_ts_addps_start, code_ts_addps_end);
	expect_done(&f);

	fixture_get_regs(&f, &regs);
	ck_assert_uint_eq(regs.r15, 1);
	get_xmm(&f, 0, result);
	assert_floats(result, sum, 4, "addps after #NM");
	/* One call injects #NM, the next one runs ADDPS. */
	ck_assert_uint_eq(f.fallback_calls, 2);
	fixture_close(&f);
}
END_TEST

struct sse_data {
	float a[4], b[4], c[4];
	double d;
	uint64_t pad;
	float sqrt_out[4];
	uint32_t mxcsr_rz;
	float one, three;
	uint32_t mxcsr_out;
};

_Static_assert(offsetof(struct sse_data, sqrt_out) == 64, "layout");
_Static_assert(offsetof(struct sse_data, mxcsr_rz) == 80, "layout");
_Static_assert(offsetof(struct sse_data, mxcsr_out) == 92, "layout");

START_TEST(sse_math_is_exact)
{
	const struct sse_data data = {
	    .a = {1.5f, -2.0f, 3.25f, 100.0f},
	    .b = {0.5f, 4.0f, -1.25f, 0.001f},
	    .c = {3.0f, 7.0f, 0.1f, 9.0f},
	    .d = 12345.678,
	    .mxcsr_rz = 0x7f80,
	    .one = 1.0f,
	    .three = 3.0f,
	};
	const uint32_t third_toward_zero = 0x3eaaaaaa;
	volatile float product;
	struct sse_data *guest;
	struct kvm_regs regs;
	float xmm0[4], xmm2[4], xmm5[4], expected0[4], expected2[4];
	uint32_t xmm4[4], expected4[4], b_bits[4];
	struct fixture f;

	open_fixture(&f);
	guest = fixture_host(&f, FIXTURE_DATA, sizeof(*guest));
	*guest = data;
	load(&f, code_sse_math_start, code_sse_math_end);
	set_gprs(&f, 0, 0, 0, FIXTURE_DATA);
	expect_done(&f);

	for (unsigned i = 0; i < 4; i++) {
		product = (data.a[i] + data.b[i]) * data.b[i];
		expected0[i] = product / data.c[i];
		expected2[i] = sqrtf(expected0[i]);
	}
	memcpy(b_bits, data.b, 16);
	for (unsigned i = 0; i < 4; i++)
		expected4[i] = b_bits[3 - i] * b_bits[i];

	get_xmm(&f, 0, xmm0);
	assert_floats(xmm0, expected0, 4, "addps, mulps, divps");
	get_xmm(&f, 2, xmm2);
	assert_floats(xmm2, expected2, 4, "sqrtps");
	assert_bytes((const uint8_t *)guest->sqrt_out,
		     (const uint8_t *)expected2, 16, "movups store");
	get_xmm(&f, 4, xmm4);
	assert_bytes((const uint8_t *)xmm4, (const uint8_t *)expected4, 16,
		     "pshufd, pmulld");
	get_xmm(&f, 5, xmm5);
	assert_bytes((const uint8_t *)xmm5, (const uint8_t *)&third_toward_zero,
		     4, "divss rounded toward zero");

	fixture_get_regs(&f, &regs);
	ck_assert_uint_eq(regs.rbx, (uint64_t)(data.d * data.d));
	/* ucomiss: xmm0[0] < xmm1[0] sets CF only */
	ck_assert_uint_eq(regs.rflags & 0x45, 0x1);
	/* MXCSR control bits; the exception flags are a known gap. */
	ck_assert_uint_eq(get_mxcsr(&f) & ~0x3fU, 0x7f80);
	ck_assert_uint_eq(guest->mxcsr_out & ~0x3fU, 0x7f80);
	ck_assert_uint_eq(f.fallback_calls, 1);
	ck_assert_uint_eq(f.instructions, 18);
	fixture_close(&f);
}
END_TEST

START_TEST(x87_state_carried_over)
{
	static const uint8_t pi[10] = {0x35, 0xc2, 0x68, 0x21, 0xa2,
				       0xda, 0x0f, 0xc9, 0x00, 0x40};
	struct fixture f;
	struct kvm_xsave state;
	const uint8_t *region = (const uint8_t *)state.region;
	double *numbers;
	uint16_t fsw;

	open_fixture(&f);
	numbers = fixture_host(&f, FIXTURE_DATA, 24);
	numbers[0] = 1.5;
	numbers[1] = 2.25;
	numbers[2] = 0;
	load(&f, code_x87_start, code_x87_end);
	set_gprs(&f, 0, 0, 0, FIXTURE_DATA);
	expect_done(&f);

	ck_assert(numbers[2] == 3.375);
	fixture_get_xsave(&f, &state);
	memcpy(&fsw, region + 2, 2);
	ck_assert_uint_eq(fsw >> 11 & 7, 7); /* TOP after one push */
	ck_assert_uint_eq(region[4], 0x80);  /* only register 7 valid */
	assert_bytes(region + OFFSET_ST, pi, 10, "ST0 holds pi");
	ck_assert_uint_eq(f.fallback_calls, 1);
	fixture_close(&f);
}
END_TEST

static void start_loop(struct fixture *f)
{
	static const float ones[4] = {1, 2, 3, 4};
	static const float zeros[4] = {0};

	set_xmm(f, 0, zeros);
	set_xmm(f, 1, ones);
	load(f, code_loop_start, code_loop_end);
	set_gprs(f, 0, 1000, 0, 0);
}

START_TEST(stretch_runs_until_out)
{
	static const float sums[4] = {1000, 2000, 3000, 4000};
	struct fixture f;
	float result[4];

	open_fixture(&f);
	start_loop(&f);
	expect_done(&f);

	get_xmm(&f, 0, result);
	assert_floats(result, sums, 4, "1000 additions");
	ck_assert_uint_eq(f.fallback_calls, 1);
	ck_assert_uint_eq(f.instructions, 3000);
	fixture_close(&f);
}
END_TEST

START_TEST(stretch_respects_max_batch)
{
	static const float sums[4] = {1000, 2000, 3000, 4000};
	struct fixture f;
	float result[4];

	open_fixture(&f);
	uhyve_fallback_set_max_batch(f.fallback, 100);
	start_loop(&f);
	expect_done(&f);

	get_xmm(&f, 0, result);
	assert_floats(result, sums, 4, "1000 additions");
	ck_assert_uint_ge(f.fallback_calls, 30);
	ck_assert_uint_le(f.instructions, 100 * f.fallback_calls);
	fixture_close(&f);
}
END_TEST

START_TEST(stretch_stops_before_host_instructions)
{
	struct fixture f;
	struct kvm_regs regs;

	/* STI would set IF: KVM executes it between two fallback calls. */
	open_fixture(&f);
	load(&f, code_sti_start, code_sti_end);
	expect_done(&f);
	fixture_get_regs(&f, &regs);
	ck_assert(regs.rflags & 0x200);
	ck_assert_uint_eq(f.fallback_calls, 2);
	ck_assert_uint_eq(f.instructions, 2);
	fixture_close(&f);

	/* CLI with IF already clear changes nothing: one stretch. */
	open_fixture(&f);
	load(&f, code_cli_start, code_cli_end);
	expect_done(&f);
	ck_assert_uint_eq(f.fallback_calls, 1);
	ck_assert_uint_eq(f.instructions, 3);
	fixture_close(&f);

	/* CPUID belongs to KVM. */
	open_fixture(&f);
	load(&f, code_cpuid_start, code_cpuid_end);
	expect_done(&f);
	ck_assert_uint_eq(f.fallback_calls, 2);
	ck_assert_uint_eq(f.instructions, 2);
	fixture_close(&f);
}
END_TEST

/* Maps two virtual pages to physical pages in reverse order. */
static void map_split_pages(struct fixture *f)
{
	fixture_map_page(f, FIXTURE_MAPPED_BASE, 0x500000);
	fixture_map_page(f, FIXTURE_MAPPED_BASE + 0x1000, 0x300000);
}

START_TEST(xsave_across_split_pages)
{
	struct fixture f;
	struct layout layout;
	struct kvm_xsave state;
	const uint8_t *kvm = (const uint8_t *)state.region;
	uint8_t *low, *high, *after_low;

	host_layout(&layout);
	open_fixture(&f);
	enable_avx(&f);
	set_state(&f, 1, 0x7, &layout);
	map_split_pages(&f);
	low = fixture_host(&f, 0x500e00, 0x200);
	after_low = fixture_host(&f, 0x501000, 0x200);
	high = fixture_host(&f, 0x300000, 0x200);
	memset(low, 0xaa, 0x200);
	memset(after_low, 0xaa, 0x200);
	memset(high, 0, 0x200);

	load(&f, code_xsave_start, code_xsave_end);
	set_gprs(&f, 0x7, FIXTURE_MAPPED_BASE + 0xe00, 0, 0);
	expect_done(&f);
	fixture_get_xsave(&f, &state);

	/* The legacy region fills the end of the first page ... */
	assert_bytes(low, kvm, 416, "legacy region");
	/* ... the header and AVX state the start of the other one. */
	ck_assert_uint_eq(get64(high) & 0x7, get64(kvm + OFFSET_HEADER) & 0x7);
	ck_assert_uint_eq(layout.offset[2], 576);
	assert_bytes(high + 64, kvm + 576, 256, "AVX state");
	for (unsigned i = 0; i < 0x200; i++)
		ck_assert_uint_eq(after_low[i], 0xaa);

	/* XRSTOR reads it back from the same split area. */
	set_state(&f, 2, 0x7, &layout);
	load(&f, code_xrstor_start, code_xrstor_end);
	set_gprs(&f, 0x7, FIXTURE_MAPPED_BASE + 0xe00, 0, 0);
	expect_done(&f);
	fixture_get_xsave(&f, &state);
	assert_bytes(kvm + OFFSET_XMM, low + OFFSET_XMM, 256, "XMM restored");
	assert_bytes(kvm + 576, high + 64, 256, "AVX restored");
	fixture_close(&f);
}
END_TEST

START_TEST(sse_across_split_pages)
{
	static const uint8_t value[16] = {1, 2,	 3,  4,	 5,  6,	 7,  8,
					  9, 10, 11, 12, 13, 14, 15, 16};
	struct fixture f;
	uint8_t result[16];
	uint8_t *low, *high;

	open_fixture(&f);
	map_split_pages(&f);
	low = fixture_host(&f, 0x500ff8, 8);
	high = fixture_host(&f, 0x300000, 8);
	memcpy(low, value, 8);
	memcpy(high, value + 8, 8);

	load(&f, code_lddqu_start, code_lddqu_end);
	set_gprs(&f, 0, FIXTURE_MAPPED_BASE + 0xff8, 0, 0);
	expect_done(&f);
	get_xmm(&f, 0, result);
	assert_bytes(result, value, 16, "load across pages");

	memset(low, 0, 8);
	memset(high, 0, 8);
	set_xmm(&f, 1, value);
	load(&f, code_movsd_store_start, code_movsd_store_end);
	set_gprs(&f, 0, 0, FIXTURE_MAPPED_BASE + 0xffc, 0);
	expect_done(&f);
	assert_bytes(low + 4, value, 4, "store, first page");
	assert_bytes(high, value + 4, 4, "store, second page");
	ck_assert_uint_eq(f.fallback_calls, 2);
	fixture_close(&f);
}
END_TEST

/* Puts guest code at `gpa`, as fixture_load_code() does at FIXTURE_CODE. */
static void put_code(struct fixture *f, uint64_t gpa, const uint8_t *start,
		     const uint8_t *end)
{
	memcpy(fixture_host(f, gpa, (size_t)(end - start)), start,
	       (size_t)(end - start));
}

START_TEST(changed_code_is_translated_again)
{
	struct fixture f;
	struct kvm_regs regs;

	open_fixture(&f);
	for (unsigned round = 0; round < 3; round++) {
		bool two = round % 2;

		/* The stretch jumps to a page Unicorn has not mapped yet. */
		if (two)
			put_code(&f, 0x300000, code_far_two_start,
				 code_far_two_end);
		else
			put_code(&f, 0x300000, code_far_one_start,
				 code_far_one_end);
		load(&f, code_jump_far_start, code_jump_far_end);
		expect_done(&f);
		fixture_get_regs(&f, &regs);
		ck_assert_uint_eq(regs.rbx, two ? 2U : 1U);
	}
	ck_assert_uint_eq(f.fallback_calls, 3);
	fixture_close(&f);
}
END_TEST

START_TEST(emulated_faults_reach_the_guest)
{
	const uint64_t unmapped = FIXTURE_MAPPED_BASE + 0x10000;
	struct fixture f;
	struct kvm_regs regs;

	/* A load from a page that is not present: #PF, read. */
	open_fixture(&f);
	fixture_map_page(&f, FIXTURE_MAPPED_BASE, 0x500000);
	load(&f, code_lddqu_start, code_lddqu_end);
	set_gprs(&f, 0, unmapped + 4, 0, 0);
	regs = expect_exception(&f, VECTOR_PF);
	ck_assert_uint_eq(regs.rbx, unmapped + 4);
	ck_assert_uint_eq(regs.rcx, 0);
	ck_assert_uint_eq(regs.rdx, FIXTURE_CODE);

	/* A store: #PF with the write bit. */
	load(&f, code_movsd_store_start, code_movsd_store_end);
	set_gprs(&f, 0, 0, unmapped, 0);
	regs = expect_exception(&f, VECTOR_PF);
	ck_assert_uint_eq(regs.rbx, unmapped);
	ck_assert_uint_eq(regs.rcx, 2);

	/* A load that runs into the missing page: CR2 is its first byte. */
	load(&f, code_lddqu_start, code_lddqu_end);
	set_gprs(&f, 0, FIXTURE_MAPPED_BASE + 0xff8, 0, 0);
	regs = expect_exception(&f, VECTOR_PF);
	ck_assert_uint_eq(regs.rbx, FIXTURE_MAPPED_BASE + 0x1000);

	/* XSAVE into the missing page writes nothing and faults. */
	load(&f, code_xsave_start, code_xsave_end);
	set_gprs(&f, 0x3, unmapped, 0, 0);
	regs = expect_exception(&f, VECTOR_PF);
	ck_assert_uint_eq(regs.rbx, unmapped + OFFSET_HEADER);
	ck_assert_uint_eq(regs.rcx, 2);

	/* A non-canonical address: #GP(0). */
	load(&f, code_lddqu_start, code_lddqu_end);
	set_gprs(&f, 0, 0x0000800000000000ULL, 0, 0);
	regs = expect_exception(&f, VECTOR_GP);
	ck_assert_uint_eq(regs.rcx, 0);
	ck_assert_uint_eq(f.fallback_calls, 5);
	fixture_close(&f);
}
END_TEST

START_TEST(rep_stos_stops_at_missing_page)
{
	struct fixture f;
	struct kvm_regs regs;
	uint8_t *page;

	open_fixture(&f);
	fixture_map_page(&f, FIXTURE_MAPPED_BASE, 0x500000);
	page = fixture_host(&f, 0x500000, 0x1000);
	memset(page, 0, 0x1000);
	load(&f, code_rep_stos_start, code_rep_stos_end);
	fixture_get_regs(&f, &regs);
	regs.rdi = FIXTURE_MAPPED_BASE + 0xff0;
	regs.rcx = 0x40;
	fixture_set_regs(&f, &regs);

	/* 16 bytes fit; the 17th store faults in the next page. */
	regs = expect_exception(&f, VECTOR_PF);
	ck_assert_uint_eq(regs.rbx, FIXTURE_MAPPED_BASE + 0x1000);
	ck_assert_uint_eq(regs.rdi, FIXTURE_MAPPED_BASE + 0x1000);
	for (unsigned i = 0xff0; i < 0x1000; i++)
		ck_assert_uint_eq(page[i], 0xab);
	ck_assert_uint_eq(page[0xfef], 0);
	fixture_close(&f);
}
END_TEST

START_TEST(fault_later_in_stretch_keeps_earlier_work)
{
	static const float one[4] = {1, 1, 1, 1}, zero[4] = {0};
	struct fixture f;
	struct kvm_regs regs;
	float result[4];

	open_fixture(&f);
	set_xmm(&f, 0, zero);
	set_xmm(&f, 1, one);
	load(&f, code_mid_fault_start, code_mid_fault_end);
	set_gprs(&f, 0, FIXTURE_MAPPED_BASE + 0x20000, 0, 0);
	regs = expect_exception(&f, VECTOR_PF);
	ck_assert_uint_eq(regs.r8, 5);
	ck_assert_uint_eq(regs.rbx, FIXTURE_MAPPED_BASE + 0x20000);
	ck_assert_uint_eq(regs.rdx, FIXTURE_CODE + 9);
	get_xmm(&f, 0, result);
	assert_floats(result, one, 4, "addps before the fault");
	/* The first call completes two instructions, the second faults. */
	ck_assert_uint_eq(f.instructions, 2);
	ck_assert_uint_eq(f.fallback_calls, 2);
	fixture_close(&f);
}
END_TEST

START_TEST(access_outside_guest_memory_fails)
{
	struct fixture f;
	int rc;

	open_fixture(&f);
	fixture_map_page(&f, FIXTURE_MAPPED_BASE, 0x20000000);
	load(&f, code_lddqu_start, code_lddqu_end);
	set_gprs(&f, 0, FIXTURE_MAPPED_BASE, 0, 0);
	rc = fixture_run(&f, 10);
	ck_assert_int_eq(rc, -EFAULT);
	ck_assert_ptr_nonnull(strstr(f.error, "outside guest memory"));

	load(&f, code_xsave_start, code_xsave_end);
	set_gprs(&f, 0x3, FIXTURE_MAPPED_BASE, 0, 0);
	rc = fixture_run(&f, 10);
	ck_assert_int_eq(rc, -EFAULT);
	ck_assert_ptr_nonnull(strstr(f.error, "outside guest memory"));
	fixture_close(&f);
}
END_TEST

START_TEST(avx_is_refused_or_undefined)
{
	struct fixture f;
	char expected[200];
	int rc;

	/* With AVX enabled Unicorn cannot run it: an error. */
	open_fixture(&f);
	enable_avx(&f);
	load(&f, code_vaddps_start, code_vaddps_end);
	rc = fixture_run(&f, 10);
	ck_assert_int_eq(rc, -ENOTSUP);
	snprintf(expected, sizeof(expected),
		 "cannot complete the instruction at rip 0x%llx (bytes c5 ec "
		 "58 d9): Unicorn 2.0.1 raised #UD",
		 (unsigned long long)FIXTURE_CODE);
	ck_assert_msg(strncmp(f.error, expected, strlen(expected)) == 0,
		      "message: %s", f.error);
	fixture_close(&f);

	/* With AVX disabled in XCR0 the guest gets #UD. */
	open_fixture(&f);
	load(&f, code_vaddps_start, code_vaddps_end);
	expect_exception(&f, VECTOR_UD);
	fixture_close(&f);
}
END_TEST

/* Runs the SSE loop in one VM per thread, each with its own fallback. */
static void *run_loop_thread(void *arg)
{
	static const float sums[4] = {1000, 2000, 3000, 4000};
	struct fixture *f = arg;
	float result[4];

	for (unsigned round = 0; round < 5; round++) {
		start_loop(f);
		if (fixture_run(f, 1000) != FIXTURE_PORT_DONE)
			return "the run failed";
		get_xmm(f, 0, result);
		if (memcmp(result, sums, sizeof(sums)))
			return "wrong sums";
	}
	return NULL;
}

START_TEST(vcpu_threads_run_in_parallel)
{
	struct fixture fixtures[3];
	pthread_t threads[3];

	for (unsigned i = 0; i < 3; i++) {
		open_fixture(&fixtures[i]);
		uhyve_fallback_set_max_batch(fixtures[i].fallback, 50);
	}
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL,
						run_loop_thread, &fixtures[i]),
				 0);
	for (unsigned i = 0; i < 3; i++) {
		void *failure;

		ck_assert_int_eq(pthread_join(threads[i], &failure), 0);
		ck_assert_msg(failure == NULL, "thread %u: %s", i,
			      (const char *)failure);
		/* At most 50 instructions per call: about 60 calls a round. */
		ck_assert_uint_ge(fixtures[i].fallback_calls, 5 * 50);
		fixture_close(&fixtures[i]);
	}
}
END_TEST

#else /* !UHYVE_HAVE_UNICORN */

/* An SSE instruction in a build without Unicorn fails with a message. */
START_TEST(sse_without_unicorn_fails)
{
	struct fixture f;
	char expected[160];
	int rc;

	open_fixture(&f);
	load(&f, code_lddqu_start, code_lddqu_end);
	set_gprs(&f, 0, FIXTURE_DATA, 0, 0);
	rc = fixture_run(&f, 10);
	ck_assert_int_eq(rc, -ENOTSUP);
	snprintf(expected, sizeof(expected),
		 "cannot complete the instruction at rip 0x%llx (bytes f2 0f "
		 "f0 01): this build has no Unicorn support",
		 (unsigned long long)FIXTURE_CODE);
	ck_assert_str_eq(f.error, expected);
	fixture_close(&f);
}
END_TEST

#endif /* UHYVE_HAVE_UNICORN */

static Suite *fallback_suite(bool have_kvm)
{
	Suite *suite = suite_create("fallback");
	TCase *decode = tcase_create("decode");
	TCase *direct = tcase_create("direct");
	TCase *emulated = tcase_create("emulated");

	tcase_add_test(decode, decode_lengths_and_classes);
	tcase_add_test(decode, decode_truncated_and_too_long);
	tcase_add_test(decode, effective_address_forms);
	suite_add_tcase(suite, decode);
	if (!have_kvm)
		return suite;

	tcase_add_test(direct, xgetbv_reads_xcr0);
	tcase_add_test(direct, xgetbv_ecx1_reads_xinuse);
	tcase_add_test(direct, xgetbv_unknown_xcr_raises_gp);
	tcase_add_test(direct, xsetbv_sets_xcr0);
	tcase_add_test(direct, xsetbv_invalid_value_raises_gp);
	tcase_add_test(direct, xsave_writes_only_requested_components);
	tcase_add_test(direct, xsave_misaligned_raises_gp);
	tcase_add_test(direct, xrstor_loads_requested_components);
	tcase_add_test(direct, xrstor_invalid_image_raises_gp);
	tcase_add_test(direct, xsavec_writes_compacted_format);
	tcase_add_test(direct, xrstor_compacted_form);
	tcase_add_test(direct, fxsave_both_formats);
	tcase_add_test(direct, fxrstor_loads_x87_and_sse);
	tcase_add_test(direct, ts_raises_nm_before_xsave);
	tcase_add_test(direct, int3_raises_bp_after_it);
	tcase_add_test(direct, popcnt_completed_directly);
	tcase_add_test(direct, rdtscp_reads_tsc_and_aux);
	tcase_add_test(direct, rdtscp_without_cpuid_raises_ud);
	suite_add_tcase(suite, direct);

#if UHYVE_HAVE_UNICORN
	tcase_add_test(emulated, ts_raises_nm_before_sse);
	tcase_add_test(emulated, sse_math_is_exact);
	tcase_add_test(emulated, x87_state_carried_over);
	tcase_add_test(emulated, stretch_runs_until_out);
	tcase_add_test(emulated, stretch_respects_max_batch);
	tcase_add_test(emulated, stretch_stops_before_host_instructions);
	tcase_add_test(emulated, xsave_across_split_pages);
	tcase_add_test(emulated, sse_across_split_pages);
	tcase_add_test(emulated, changed_code_is_translated_again);
	tcase_add_test(emulated, emulated_faults_reach_the_guest);
	tcase_add_test(emulated, fault_later_in_stretch_keeps_earlier_work);
	tcase_add_test(emulated, rep_stos_stops_at_missing_page);
	tcase_add_test(emulated, vcpu_threads_run_in_parallel);
	tcase_add_test(emulated, access_outside_guest_memory_fails);
	tcase_add_test(emulated, avx_is_refused_or_undefined);
#else
	tcase_add_test(emulated, sse_without_unicorn_fails);
#endif
	suite_add_tcase(suite, emulated);
	return suite;
}

int main(void)
{
	struct fixture probe;
	char *reason = NULL;
	bool have_kvm = fixture_open(&probe, &reason) == 0;
	SRunner *runner;
	int failed;

	if (have_kvm)
		fixture_close(&probe);
	runner = srunner_create(fallback_suite(have_kvm));
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	if (failed)
		return EXIT_FAILURE;
	if (!have_kvm) {
		printf("SKIP: the KVM tests need /dev/kvm (%s)\n",
		       reason ? reason : "unknown reason");
		free(reason);
		return TEST_SKIP_STATUS;
	}
	return EXIT_SUCCESS;
}
