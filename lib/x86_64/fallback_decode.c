/* Length decoding and classification of 64-bit x86 instructions for the
 * instruction fallback. */
#include "fallback_internal.h"

#include <string.h>

/* Reads instruction bytes and notes when it runs past the available ones. */
struct cursor {
	const uint8_t *bytes;
	unsigned count;
	unsigned pos;
	bool truncated;
};

static uint8_t peek(const struct cursor *c)
{
	return c->pos < c->count ? c->bytes[c->pos] : 0;
}

static uint8_t next(struct cursor *c)
{
	uint8_t byte = peek(c);

	if (c->pos >= c->count)
		c->truncated = true;
	c->pos++;
	return byte;
}

static void skip(struct cursor *c, unsigned count)
{
	c->pos += count;
	if (c->pos > c->count)
		c->truncated = true;
}

static bool apply_legacy_prefix(struct x86_insn *insn, uint8_t byte)
{
	switch (byte) {
	case 0xf0:
		insn->lock = true;
		return true;
	case 0xf2:
		insn->repne = true;
		insn->rep = false;
		return true;
	case 0xf3:
		insn->rep = true;
		insn->repne = false;
		return true;
	case 0x66:
		insn->opsize = true;
		return true;
	case 0x67:
		insn->addrsize = true;
		return true;
	case 0x64:
		insn->segment = X86_SEG_FS;
		return true;
	case 0x65:
		insn->segment = X86_SEG_GS;
		return true;
	case 0x26:
	case 0x2e:
	case 0x36:
	case 0x3e:
		/* ES, CS, SS and DS overrides have no effect in 64-bit mode. */
		return true;
	default:
		return false;
	}
}

/* A REX prefix counts only when it comes last, right before the opcode. */
static void decode_prefixes(struct cursor *c, struct x86_insn *insn)
{
	while (c->pos < c->count && c->pos <= X86_MAX_INSN_LENGTH) {
		uint8_t byte = peek(c);

		if (apply_legacy_prefix(insn, byte))
			insn->rex = 0;
		else if ((byte & 0xf0) == 0x40)
			insn->rex = byte;
		else
			return;
		next(c);
	}
}

static void apply_vex_pp(struct x86_insn *insn, uint8_t pp)
{
	if (pp == 1)
		insn->opsize = true;
	else if (pp == 2)
		insn->rep = true;
	else if (pp == 3)
		insn->repne = true;
}

/* Decodes a VEX (C4, C5), EVEX (62) or XOP (8F) prefix and the opcode. */
static void decode_vex(struct cursor *c, struct x86_insn *insn, uint8_t escape)
{
	uint8_t p0 = next(c);
	uint8_t select;
	uint8_t p1;

	if (escape == 0xc5) {
		insn->encoding = X86_ENCODING_VEX;
		insn->rex = 0x40 | (~p0 >> 5 & 0x4);
		insn->map = X86_MAP_0F;
		apply_vex_pp(insn, p0 & 3);
		insn->opcode = next(c);
		return;
	}

	p1 = next(c);
	insn->rex = 0x40 | (p1 >> 4 & 0x8) | (~p0 >> 5 & 0x7);
	apply_vex_pp(insn, p1 & 3);
	if (escape == 0x62) {
		insn->encoding = X86_ENCODING_EVEX;
		next(c); /* third payload byte */
		select = p0 & 0x7;
	} else {
		insn->encoding =
		    escape == 0x8f ? X86_ENCODING_XOP : X86_ENCODING_VEX;
		select = p0 & 0x1f;
	}
	insn->map_select = select;
	if (insn->encoding == X86_ENCODING_XOP)
		insn->map = X86_MAP_XOP;
	else if (select == 2)
		insn->map = X86_MAP_0F38;
	else if (select == 3)
		insn->map = X86_MAP_0F3A;
	else
		insn->map = X86_MAP_0F;
	insn->opcode = next(c);
}

static void decode_opcode(struct cursor *c, struct x86_insn *insn)
{
	uint8_t op = next(c);

	if (op == 0xc4 || op == 0xc5 || op == 0x62 ||
	    (op == 0x8f && (peek(c) & 0x1f) >= 8)) {
		decode_vex(c, insn, op);
		return;
	}
	if (op != 0x0f) {
		insn->map = X86_MAP_ONE_BYTE;
		insn->opcode = op;
		return;
	}
	op = next(c);
	if (op == 0x38 || op == 0x3a) {
		insn->map = op == 0x38 ? X86_MAP_0F38 : X86_MAP_0F3A;
		insn->opcode = next(c);
	} else {
		insn->map = X86_MAP_0F;
		insn->opcode = op;
	}
}

static bool one_byte_has_modrm(uint8_t op)
{
	if (op < 0x40)
		return (op & 7) < 4;
	if ((op >= 0x80 && op <= 0x8f) || (op >= 0xc4 && op <= 0xc7) ||
	    (op >= 0xd0 && op <= 0xd3) || (op >= 0xd8 && op <= 0xdf))
		return true;
	switch (op) {
	case 0x63:
	case 0x69:
	case 0x6b:
	case 0xc0:
	case 0xc1:
	case 0xf6:
	case 0xf7:
	case 0xfe:
	case 0xff:
		return true;
	default:
		return false;
	}
}

static bool two_byte_has_modrm(uint8_t op)
{
	if (op < 0x10)
		return op <= 0x03 || op == 0x0d || op == 0x0f;
	if (op < 0x30)
		return true;
	if (op < 0x40)
		return false;
	if (op < 0x80)
		return op != 0x77;
	if (op < 0x90)
		return false;
	if (op < 0xa0)
		return true;
	if (op < 0xb0)
		return op == 0xa3 || op == 0xa4 || op == 0xa5 || op >= 0xab;
	if (op < 0xc8)
		return true;
	return op >= 0xd0;
}

static bool has_modrm(const struct x86_insn *insn)
{
	if (insn->encoding == X86_ENCODING_VEX && insn->map == X86_MAP_0F &&
	    insn->opcode == 0x77)
		return false; /* vzeroupper, vzeroall */
	if (insn->encoding != X86_ENCODING_LEGACY)
		return true;
	switch (insn->map) {
	case X86_MAP_ONE_BYTE:
		return one_byte_has_modrm(insn->opcode);
	case X86_MAP_0F:
		return two_byte_has_modrm(insn->opcode);
	default:
		return true;
	}
}

static void decode_modrm(struct cursor *c, struct x86_insn *insn)
{
	uint8_t modrm = next(c);

	insn->has_modrm = true;
	insn->mod = modrm >> 6;
	insn->reg = modrm >> 3 & 7;
	insn->rm = modrm & 7;

	/* MOV to and from control, debug and test registers ignore mod. */
	if (insn->encoding == X86_ENCODING_LEGACY && insn->map == X86_MAP_0F &&
	    insn->opcode >= 0x20 && insn->opcode <= 0x27)
		insn->mod = 3;
	if (insn->mod == 3)
		return;

	if (insn->rm == 4) {
		insn->has_sib = true;
		insn->sib = next(c);
	}
	if (insn->mod == 1) {
		insn->disp = (int8_t)next(c);
	} else if (insn->mod == 2 || (insn->mod == 0 && insn->rm == 5) ||
		   (insn->mod == 0 && insn->has_sib && (insn->sib & 7) == 5)) {
		uint32_t disp = 0;

		for (unsigned i = 0; i < 4; i++)
			disp |= (uint32_t)next(c) << (8 * i);
		insn->disp = (int32_t)disp;
	}
}

static unsigned one_byte_immediate(const struct x86_insn *insn)
{
	uint8_t op = insn->opcode;
	unsigned z = insn->opsize ? 2 : 4;

	if (op < 0x40)
		return (op & 7) == 4 ? 1 : (op & 7) == 5 ? z : 0;
	if ((op >= 0x70 && op <= 0x7f) || (op >= 0xb0 && op <= 0xb7) ||
	    (op >= 0xe0 && op <= 0xe7))
		return 1;
	if (op >= 0xa0 && op <= 0xa3)
		return insn->addrsize ? 4 : 8;
	if (op >= 0xb8 && op <= 0xbf)
		return insn->rex & 0x8 ? 8 : z;
	switch (op) {
	case 0x6a:
	case 0x6b:
	case 0x80:
	case 0x82:
	case 0x83:
	case 0xa8:
	case 0xc0:
	case 0xc1:
	case 0xc6:
	case 0xcd:
	case 0xd4:
	case 0xd5:
	case 0xeb:
		return 1;
	case 0x68:
	case 0x69:
	case 0x81:
	case 0xa9:
	case 0xc7:
		return z;
	case 0xc2:
	case 0xca:
		return 2;
	case 0xc8:
		return 3;
	case 0xe8:
	case 0xe9:
		return 4;
	case 0xf6:
		return insn->reg < 2 ? 1 : 0;
	case 0xf7:
		return insn->reg < 2 ? z : 0;
	default:
		return 0;
	}
}

static unsigned two_byte_immediate(const struct x86_insn *insn)
{
	uint8_t op = insn->opcode;

	if (op >= 0x80 && op <= 0x8f)
		return 4;
	if (op == 0x78 && (insn->opsize || insn->repne))
		return 2; /* EXTRQ, INSERTQ with two immediates */
	switch (op) {
	case 0x0f: /* 3DNow! opcode suffix */
	case 0x70:
	case 0x71:
	case 0x72:
	case 0x73:
	case 0xa4:
	case 0xac:
	case 0xba:
	case 0xc2:
	case 0xc4:
	case 0xc5:
	case 0xc6:
		return 1;
	default:
		return 0;
	}
}

static unsigned immediate_size(const struct x86_insn *insn)
{
	if (insn->encoding == X86_ENCODING_XOP)
		return insn->map_select == 8	 ? 1
		       : insn->map_select == 0xa ? 4
						 : 0;
	switch (insn->map) {
	case X86_MAP_ONE_BYTE:
		return one_byte_immediate(insn);
	case X86_MAP_0F:
		if (insn->encoding == X86_ENCODING_LEGACY)
			return two_byte_immediate(insn);
		return (insn->opcode >= 0x70 && insn->opcode <= 0x73) ||
			       insn->opcode == 0xc2 ||
			       (insn->opcode >= 0xc4 && insn->opcode <= 0xc6)
			   ? 1
			   : 0;
	case X86_MAP_0F3A:
		return 1;
	default:
		return 0;
	}
}

static unsigned classify_one_byte(const struct x86_insn *insn)
{
	uint8_t op = insn->opcode;

	if (op >= 0xd8 && op <= 0xdf)
		return X86_INSN_FPU | X86_INSN_X87;
	/* I/O, far returns, INT3, INT, INTO and IRET */
	if ((op >= 0x6c && op <= 0x6f) || (op >= 0xe4 && op <= 0xe7) ||
	    (op >= 0xec && op <= 0xef) || (op >= 0xca && op <= 0xcf))
		return X86_INSN_HOST;
	switch (op) {
	case 0x9b:
		return X86_INSN_FPU | X86_INSN_WAIT;
	case 0x8c: /* MOV from and to segment registers */
	case 0x8e:
	case 0xf1: /* INT1 */
	case 0xf4: /* HLT */
		return X86_INSN_HOST;
	case 0x9d: /* POPF */
	case 0xfa: /* CLI */
	case 0xfb: /* STI */
		return X86_INSN_IF;
	case 0xff: /* far CALL and JMP through memory */
		return insn->reg == 3 || insn->reg == 5 ? X86_INSN_HOST : 0;
	default:
		return 0;
	}
}

/* Group 15: FXSAVE ... XSAVEOPT, LDMXCSR, fences, RDFSBASE and others. */
static unsigned classify_0f_ae(const struct x86_insn *insn)
{
	bool prefixed = insn->opsize || insn->rep || insn->repne;

	if (insn->mod == 3) {
		/* LFENCE, MFENCE and SFENCE run, other forms touch host state.
		 */
		return !prefixed && insn->reg >= 5 ? 0 : X86_INSN_HOST;
	}
	if (insn->rep || insn->repne)
		return X86_INSN_HOST; /* PTWRITE, CLRSSBSY */
	switch (insn->reg) {
	case 2: /* LDMXCSR */
	case 3: /* STMXCSR */
		return X86_INSN_FPU;
	case 6:
		/* XSAVEOPT, or CLWB with 66 */
		return insn->opsize ? 0 : X86_INSN_FPU | X86_INSN_HOST;
	case 7: /* CLFLUSH, CLFLUSHOPT */
		return 0;
	default: /* FXSAVE, FXRSTOR, XSAVE, XRSTOR */
		return X86_INSN_FPU | X86_INSN_HOST;
	}
}

/* Group 9: CMPXCHG8B/16B, the compacted XSAVE forms, VMX, RDRAND. */
static unsigned classify_0f_c7(const struct x86_insn *insn)
{
	if (insn->mod == 3)
		return insn->reg >= 6 ? X86_INSN_HOST : 0;
	switch (insn->reg) {
	case 1:
		return 0;
	case 3: /* XRSTORS */
	case 4: /* XSAVEC */
	case 5: /* XSAVES */
		return X86_INSN_FPU | X86_INSN_HOST;
	default:
		return X86_INSN_HOST;
	}
}

static unsigned classify_0f(const struct x86_insn *insn)
{
	uint8_t op = insn->opcode;

	/* Descriptor tables, SYSCALL, CLTS, caches, MOV CR/DR, MSRs, TSC */
	if ((op <= 0x09 && op != 0x04) || (op >= 0x20 && op <= 0x27) ||
	    (op >= 0x30 && op <= 0x37))
		return X86_INSN_HOST;
	if (op == 0x78 ||
	    op == 0x79) /* VMREAD and VMWRITE, or SSE4a with 66 or F2 */
		return insn->opsize || insn->repne ? X86_INSN_FPU
						   : X86_INSN_HOST;
	if (op == 0x0e || op == 0x0f || (op >= 0x10 && op <= 0x17) ||
	    (op >= 0x28 && op <= 0x2f) || (op >= 0x50 && op <= 0x7f) ||
	    (op >= 0xd0 && op <= 0xfe))
		return X86_INSN_FPU;
	switch (op) {
	case 0xa0: /* PUSH FS, POP FS, CPUID, PUSH GS, POP GS, RSM */
	case 0xa1:
	case 0xa2:
	case 0xa8:
	case 0xa9:
	case 0xaa:
	case 0xb2: /* LSS, LFS, LGS */
	case 0xb4:
	case 0xb5:
		return X86_INSN_HOST;
	case 0xae:
		return classify_0f_ae(insn);
	case 0xb8: /* POPCNT with F3, JMPE without */
		return insn->rep ? 0 : X86_INSN_HOST;
	case 0xc2:
	case 0xc4:
	case 0xc5:
	case 0xc6:
		return X86_INSN_FPU;
	case 0xc7:
		return classify_0f_c7(insn);
	default:
		return 0;
	}
}

static unsigned classify_0f38(const struct x86_insn *insn)
{
	if (insn->opcode >= 0x80 && insn->opcode <= 0x82)
		return X86_INSN_HOST; /* INVEPT, INVVPID, INVPCID */
	if (insn->opcode >= 0xf0)
		return 0; /* MOVBE, CRC32, ADCX, ADOX, MOVDIRI, ... */
	return X86_INSN_FPU;
}

/* VEX-encoded BMI instructions use only general registers. */
static bool vex_general_purpose(const struct x86_insn *insn)
{
	if (insn->encoding != X86_ENCODING_VEX)
		return false;
	if (insn->map == X86_MAP_0F38)
		return insn->opcode == 0xf2 || insn->opcode == 0xf3 ||
		       (insn->opcode >= 0xf5 && insn->opcode <= 0xf7);
	return insn->map == X86_MAP_0F3A && insn->opcode == 0xf0;
}

static unsigned classify(const struct x86_insn *insn)
{
	if (insn->encoding != X86_ENCODING_LEGACY)
		return vex_general_purpose(insn)
			   ? 0
			   : X86_INSN_FPU | X86_INSN_VECTOR;
	switch (insn->map) {
	case X86_MAP_ONE_BYTE:
		return classify_one_byte(insn);
	case X86_MAP_0F:
		return classify_0f(insn);
	case X86_MAP_0F38:
		return classify_0f38(insn);
	default:
		return X86_INSN_FPU;
	}
}

void x86_decode(const uint8_t *bytes, unsigned count, struct x86_insn *insn)
{
	struct cursor c = {.bytes = bytes, .count = count};

	memset(insn, 0, sizeof(*insn));
	decode_prefixes(&c, insn);
	decode_opcode(&c, insn);
	if (has_modrm(insn))
		decode_modrm(&c, insn);
	insn->modrm_end = c.pos;
	skip(&c, immediate_size(insn));

	insn->length = c.pos;
	insn->flags = classify(insn);
	if (c.truncated)
		insn->flags |= X86_INSN_TRUNCATED;
	if (c.pos > X86_MAX_INSN_LENGTH)
		insn->flags |= X86_INSN_TOO_LONG;
}

static enum x86_direct direct_0f(const struct x86_insn *insn)
{
	static const enum x86_direct group15[8] = {
	    X86_DIRECT_FXSAVE,	 X86_DIRECT_FXRSTOR, X86_DIRECT_NONE,
	    X86_DIRECT_NONE,	 X86_DIRECT_XSAVE,   X86_DIRECT_XRSTOR,
	    X86_DIRECT_XSAVEOPT, X86_DIRECT_NONE,
	};
	static const enum x86_direct group9[8] = {
	    X86_DIRECT_NONE,	X86_DIRECT_NONE,   X86_DIRECT_NONE,
	    X86_DIRECT_XRSTORS, X86_DIRECT_XSAVEC, X86_DIRECT_XSAVES,
	    X86_DIRECT_NONE,	X86_DIRECT_NONE,
	};

	switch (insn->opcode) {
	case 0x01:
		if (insn->mod == 3 && insn->reg == 7 && insn->rm == 1)
			return X86_DIRECT_RDTSCP;
		if (insn->mod != 3 || insn->reg != 2 || insn->rm > 1)
			return X86_DIRECT_NONE;
		return insn->rm == 0 ? X86_DIRECT_XGETBV : X86_DIRECT_XSETBV;
	case 0xae:
		return insn->mod == 3 ? X86_DIRECT_NONE : group15[insn->reg];
	case 0xc7:
		return insn->mod == 3 ? X86_DIRECT_NONE : group9[insn->reg];
	default:
		return X86_DIRECT_NONE;
	}
}

enum x86_direct x86_direct_kind(const struct x86_insn *insn)
{
	if (insn->encoding != X86_ENCODING_LEGACY)
		return X86_DIRECT_NONE;
	if (insn->map == X86_MAP_ONE_BYTE)
		return insn->opcode == 0xcc ? X86_DIRECT_INT3 : X86_DIRECT_NONE;
	if (insn->map != X86_MAP_0F)
		return X86_DIRECT_NONE;
	if (insn->opcode == 0xb8 && insn->rep && !insn->repne)
		return X86_DIRECT_POPCNT;
	/* With 66, F2 or F3 these opcodes are other instructions. */
	if (insn->opsize || insn->rep || insn->repne)
		return X86_DIRECT_NONE;
	return direct_0f(insn);
}
