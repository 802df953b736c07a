/* Private interfaces shared by the files of the instruction fallback. */
#ifndef UHYVE_X86_64_FALLBACK_INTERNAL_H
#define UHYVE_X86_64_FALLBACK_INTERNAL_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "../guest_mem.h"
#include "fallback.h"

#define X86_MAX_INSN_LENGTH 15
#define X86_PAGE_SIZE	    0x1000ULL

#define X86_CR0_MP	0x2ULL
#define X86_CR0_EM	0x4ULL
#define X86_CR0_TS	0x8ULL
#define X86_CR4_OSFXSR	0x200ULL
#define X86_CR4_OSXSAVE 0x40000ULL
#define X86_EFER_LMA	0x400ULL
#define X86_EFER_NXE	0x800ULL
#define X86_RFLAGS_TF	0x100ULL
#define X86_RFLAGS_IF	0x200ULL

/* Exception vectors the fallback raises in the guest. */
#define X86_VECTOR_DE 0
#define X86_VECTOR_BP 3
#define X86_VECTOR_UD 6
#define X86_VECTOR_NM 7
#define X86_VECTOR_SS 12
#define X86_VECTOR_GP 13
#define X86_VECTOR_PF 14
#define X86_VECTOR_MF 16
#define X86_VECTOR_AC 17
#define X86_VECTOR_XM 19

/* Page-fault error code bits. */
#define X86_PF_WRITE 0x2U
#define X86_PF_USER  0x4U
#define X86_PF_FETCH 0x10U

/* Segment override prefixes that matter in 64-bit mode. */
enum x86_segment {
	X86_SEG_DEFAULT,
	X86_SEG_FS,
	X86_SEG_GS,
};

enum x86_encoding {
	X86_ENCODING_LEGACY,
	X86_ENCODING_VEX,
	X86_ENCODING_EVEX,
	X86_ENCODING_XOP,
};

/* Opcode maps of legacy, VEX, EVEX and XOP encodings. */
enum x86_map {
	X86_MAP_ONE_BYTE,
	X86_MAP_0F,
	X86_MAP_0F38,
	X86_MAP_0F3A,
	X86_MAP_XOP,
};

/* Properties of an instruction that decide how the fallback treats it. */
enum x86_insn_flags {
	/* Uses x87, MMX, SSE, AVX or XSAVE-managed state: #NM when CR0.TS. */
	X86_INSN_FPU = 1 << 0,
	/* An x87 escape (D8-DF): #NM also when CR0.EM. */
	X86_INSN_X87 = 1 << 1,
	/* WAIT/FWAIT: #NM only when CR0.TS and CR0.MP. */
	X86_INSN_WAIT = 1 << 2,
	/*
	 * Its effect belongs to the host or to the real vCPU (I/O, CPUID, MSRs,
	 * control and segment registers, descriptor tables, interrupts, the
	 * XSAVE family, ...): an emulated stretch stops before it.
	 */
	X86_INSN_HOST = 1 << 3,
	/* CLI, STI or POPF: a stretch stops before it when it changes IF. */
	X86_INSN_IF = 1 << 4,
	/* A VEX, EVEX or XOP vector instruction (AVX and later). */
	X86_INSN_VECTOR = 1 << 5,
	/* The bytes end before the instruction does. */
	X86_INSN_TRUNCATED = 1 << 6,
	/* Longer than 15 bytes: #GP. */
	X86_INSN_TOO_LONG = 1 << 7,
};

/* A decoded instruction: prefixes, opcode, ModRM addressing and length. */
struct x86_insn {
	unsigned length; /* total bytes, immediates included */
	unsigned flags;	 /* enum x86_insn_flags */
	bool lock;
	bool rep;      /* F3 */
	bool repne;    /* F2 */
	bool opsize;   /* 66 */
	bool addrsize; /* 67 */
	enum x86_segment segment;
	uint8_t rex;
	enum x86_encoding encoding;
	enum x86_map map;
	uint8_t map_select; /* map field of a VEX, EVEX or XOP prefix */
	uint8_t opcode;
	bool has_modrm;
	uint8_t mod, reg, rm; /* reg and rm without the REX extensions */
	bool has_sib;
	uint8_t sib;
	int32_t disp;
	unsigned modrm_end; /* offset just past ModRM, SIB and displacement */
};

/*
 * Decodes the 64-bit-mode instruction in `bytes` (`count` of them
 * available). Always fills *insn, and X86_INSN_TRUNCATED in insn->flags means
 * that more bytes are needed.
 */
void x86_decode(const uint8_t *bytes, unsigned count, struct x86_insn *insn);

/* Instructions that the fallback completes itself instead of emulating. */
enum x86_direct {
	X86_DIRECT_NONE,
	X86_DIRECT_XGETBV,
	X86_DIRECT_XSETBV,
	X86_DIRECT_FXSAVE,
	X86_DIRECT_FXRSTOR,
	X86_DIRECT_XSAVE,
	X86_DIRECT_XRSTOR,
	X86_DIRECT_XSAVEOPT,
	X86_DIRECT_XSAVEC,
	X86_DIRECT_XSAVES,
	X86_DIRECT_XRSTORS,
	X86_DIRECT_INT3,
	X86_DIRECT_POPCNT,
	X86_DIRECT_RDTSCP,
};

enum x86_direct x86_direct_kind(const struct x86_insn *insn);

/* Cached host facts and the lazily created emulator of one vCPU. */
struct uhyve_fallback {
	uint64_t max_batch;
	bool have_layout;
	uint32_t xstate_offset[64]; /* standard format, from host CPUID 0xD */
	uint32_t xstate_size[64];
	uint64_t xstate_align64;   /* components aligned to 64 when compacted */
	uint64_t xstate_supported; /* user components the host enumerates */
	bool have_guest_cpuid;
	uint32_t guest_cpuid_d1_eax;	   /* CPUID.(EAX=0DH,ECX=1):EAX */
	uint32_t guest_cpuid_80000001_edx; /* CPUID.80000001H:EDX */
	struct kvm_xsave xsave; /* scratch copy of the vCPU's state */
	struct fallback_unicorn *unicorn;
};

/* An exception the completed instruction raises in the guest. */
struct fallback_exception {
	bool raised;
	uint8_t vector;
	bool has_error_code;
	uint32_t error_code;
	bool set_cr2;
	uint64_t cr2;
};

/* The state of one uhyve_fallback_complete() call. */
struct fallback_ctx {
	struct uhyve_fallback *fallback;
	int vcpu_fd;
	struct kvm_run *run;
	const struct guest_mem *mem;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint8_t bytes[X86_MAX_INSN_LENGTH];
	unsigned fetched; /* bytes of the instruction that could be fetched */
	struct x86_insn insn;
	struct fallback_exception exception;
	uint64_t instructions; /* completed by this call */
	char **error;
};

/*
 * Return value of the handlers below besides 0 (done) and negative errno
 * values (failed, with *ctx->error set): ctx->exception contains an exception
 * for the guest instead.
 */
#define FALLBACK_EXCEPTION 1

/* Records an exception for the guest and returns FALLBACK_EXCEPTION. */
int fallback_raise(struct fallback_ctx *ctx, uint8_t vector,
		   bool has_error_code, uint32_t error_code);

/*
 * Translates the guest-virtual `gva` for an access of the given kind.
 * Returns 0 with the gpa and the bytes to the end of its page, or
 * FALLBACK_EXCEPTION with #PF (not present) or #GP(0) (not canonical).
 */
int fallback_translate(struct fallback_ctx *ctx, uint64_t gva, bool write,
		       bool fetch, uint64_t *gpa, uint64_t *page_remaining);

/*
 * Copies between guest-virtual memory and `buffer`, page by page. Checks
 * every page before copying anything, so a fault leaves memory unchanged.
 * Returns 0, FALLBACK_EXCEPTION, or -EFAULT when a page lies outside guest
 * memory.
 */
int fallback_read(struct fallback_ctx *ctx, uint64_t gva, void *buffer,
		  uint64_t len);
int fallback_write(struct fallback_ctx *ctx, uint64_t gva, const void *buffer,
		   uint64_t len);
/* Checks that [gva, gva + len) can be accessed, without copying. */
int fallback_check(struct fallback_ctx *ctx, uint64_t gva, uint64_t len,
		   bool write);

/* Returns the guest register with x86 number 0-15 (rax, rcx, ...). */
__u64 *fallback_gpr(struct kvm_regs *regs, unsigned number);

/* The register values an effective address is computed from. */
struct x86_address_base {
	uint64_t (*gpr)(void *opaque, unsigned number); /* rax = 0, rcx = 1 */
	void *opaque;
	uint64_t fs_base;
	uint64_t gs_base;
};

/*
 * Computes the linear address of the ModRM memory operand of `insn`, with
 * `next_rip` the address of the following instruction.
 */
uint64_t x86_effective_address(const struct x86_insn *insn, uint64_t next_rip,
			       const struct x86_address_base *base);

/* Computes the address of the memory operand of ctx->insn at the vCPU's rip. */
uint64_t fallback_effective_address(const struct fallback_ctx *ctx);

/* Sets an error that names the rip and the instruction bytes, returns `code`.
 */
int fallback_fail(struct fallback_ctx *ctx, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads the guest's CPUID entries into ctx->fallback once. */
int fallback_guest_cpuid(struct fallback_ctx *ctx);

/* Completes POPCNT and RDTSCP (fallback_integer.c). */
int fallback_popcnt(struct fallback_ctx *ctx);
int fallback_rdtscp(struct fallback_ctx *ctx);

/* Completes XGETBV, XSETBV and the XSAVE family (fallback_xsave.c). */
int fallback_xcr(struct fallback_ctx *ctx, enum x86_direct kind);
int fallback_xsave(struct fallback_ctx *ctx, enum x86_direct kind);

/* Reads the vCPU's XSAVE state into ctx->fallback->xsave, or writes it back. */
int fallback_get_xsave(struct fallback_ctx *ctx);
int fallback_set_xsave(struct fallback_ctx *ctx);
int fallback_get_xcr0(struct fallback_ctx *ctx, uint64_t *xcr0);
/* Writes ctx->regs to the vCPU. */
int fallback_set_regs(struct fallback_ctx *ctx);

/* Emulates a stretch of guest code with Unicorn (fallback_unicorn.c). */
int fallback_emulate(struct fallback_ctx *ctx);
void fallback_unicorn_free(struct fallback_unicorn *unicorn);

#endif /* UHYVE_X86_64_FALLBACK_INTERNAL_H */
