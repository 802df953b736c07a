/* x86-64 part of the GDB stub: registers, target description, DR0-DR7. */
#include "gdb_arch.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "fallback_internal.h"

/* Register numbers of the groups in GDB's amd64 layout. */
#define REG_EFLAGS  17
#define REG_CS	    18
#define REG_ST0	    24
#define REG_FCTRL   32
#define REG_FSTAT   33
#define REG_FTAG    34
#define REG_FISEG   35
#define REG_FIOFF   36
#define REG_FOSEG   37
#define REG_FOOFF   38
#define REG_FOP	    39
#define REG_XMM0    40
#define REG_MXCSR   56
#define REG_FS_BASE 57
#define REG_GS_BASE 58

#define X87_REGISTER_SIZE 10
#define X87_TAG_VALID	  0
#define X87_TAG_ZERO	  1
#define X87_TAG_SPECIAL	  2
#define X87_TAG_EMPTY	  3

#define DR6_BS		 (1ULL << 14)
#define DR7_GE		 (1ULL << 9)
#define DR7_RESERVED_ONE (1ULL << 10)
#define DR7_RW_EXECUTE	 0
#define DR7_RW_WRITE	 1
#define DR7_RW_ACCESS	 3

#define DEBUG_VECTOR	  1 /* #DB */
#define BREAKPOINT_VECTOR 3 /* #BP */

/* The registers GDB's amd64 target needs (core and SSE) and the fs and gs
 * bases, in the order of GDB's register numbers. */
static const char target_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
    "<target version=\"1.0\">\n"
    "<architecture>i386:x86-64</architecture>\n"
    "<feature name=\"org.gnu.gdb.i386.core\">\n"
    "<flags id=\"i386_eflags\" size=\"4\">\n"
    "<field name=\"CF\" start=\"0\" end=\"0\"/>\n"
    "<field name=\"\" start=\"1\" end=\"1\"/>\n"
    "<field name=\"PF\" start=\"2\" end=\"2\"/>\n"
    "<field name=\"AF\" start=\"4\" end=\"4\"/>\n"
    "<field name=\"ZF\" start=\"6\" end=\"6\"/>\n"
    "<field name=\"SF\" start=\"7\" end=\"7\"/>\n"
    "<field name=\"TF\" start=\"8\" end=\"8\"/>\n"
    "<field name=\"IF\" start=\"9\" end=\"9\"/>\n"
    "<field name=\"DF\" start=\"10\" end=\"10\"/>\n"
    "<field name=\"OF\" start=\"11\" end=\"11\"/>\n"
    "<field name=\"NT\" start=\"14\" end=\"14\"/>\n"
    "<field name=\"RF\" start=\"16\" end=\"16\"/>\n"
    "<field name=\"VM\" start=\"17\" end=\"17\"/>\n"
    "<field name=\"AC\" start=\"18\" end=\"18\"/>\n"
    "<field name=\"VIF\" start=\"19\" end=\"19\"/>\n"
    "<field name=\"VIP\" start=\"20\" end=\"20\"/>\n"
    "<field name=\"ID\" start=\"21\" end=\"21\"/>\n"
    "</flags>\n"
    "<reg name=\"rax\" bitsize=\"64\" type=\"int64\" regnum=\"0\"/>\n"
    "<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n"
    "<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>\n"
    "<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.i386.sse\">\n"
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n"
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n"
    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n"
    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n"
    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n"
    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
    "<union id=\"vec128\">\n"
    "<field name=\"v4_float\" type=\"v4f\"/>\n"
    "<field name=\"v2_double\" type=\"v2d\"/>\n"
    "<field name=\"v16_int8\" type=\"v16i8\"/>\n"
    "<field name=\"v8_int16\" type=\"v8i16\"/>\n"
    "<field name=\"v4_int32\" type=\"v4i32\"/>\n"
    "<field name=\"v2_int64\" type=\"v2i64\"/>\n"
    "<field name=\"uint128\" type=\"uint128\"/>\n"
    "</union>\n"
    "<flags id=\"i386_mxcsr\" size=\"4\">\n"
    "<field name=\"IE\" start=\"0\" end=\"0\"/>\n"
    "<field name=\"DE\" start=\"1\" end=\"1\"/>\n"
    "<field name=\"ZE\" start=\"2\" end=\"2\"/>\n"
    "<field name=\"OE\" start=\"3\" end=\"3\"/>\n"
    "<field name=\"UE\" start=\"4\" end=\"4\"/>\n"
    "<field name=\"PE\" start=\"5\" end=\"5\"/>\n"
    "<field name=\"DAZ\" start=\"6\" end=\"6\"/>\n"
    "<field name=\"IM\" start=\"7\" end=\"7\"/>\n"
    "<field name=\"DM\" start=\"8\" end=\"8\"/>\n"
    "<field name=\"ZM\" start=\"9\" end=\"9\"/>\n"
    "<field name=\"OM\" start=\"10\" end=\"10\"/>\n"
    "<field name=\"UM\" start=\"11\" end=\"11\"/>\n"
    "<field name=\"PM\" start=\"12\" end=\"12\"/>\n"
    "<field name=\"FZ\" start=\"15\" end=\"15\"/>\n"
    "</flags>\n"
    "<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" regnum=\"40\"/>\n"
    "<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" "
    "group=\"vector\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.i386.segments\">\n"
    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int\" regnum=\"57\"/>\n"
    "<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>\n"
    "</feature>\n"
    "</target>\n";

const char *gdb_x86_target_xml(void)
{
	return target_xml;
}

int gdb_x86_registers_load(int vcpu_fd, struct gdb_x86_registers *registers)
{
	memset(registers, 0, sizeof(*registers));
	if (ioctl(vcpu_fd, KVM_GET_REGS, &registers->regs) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_SREGS, &registers->sregs) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_FPU, &registers->fpu) < 0)
		return -errno;
	return 0;
}

int gdb_x86_registers_store(int vcpu_fd,
			    const struct gdb_x86_registers *registers)
{
	if (ioctl(vcpu_fd, KVM_SET_REGS, &registers->regs) < 0)
		return -errno;
	if (registers->sregs_changed &&
	    ioctl(vcpu_fd, KVM_SET_SREGS, &registers->sregs) < 0)
		return -errno;
	if (registers->fpu_changed &&
	    ioctl(vcpu_fd, KVM_SET_FPU, &registers->fpu) < 0)
		return -errno;
	return 0;
}

size_t gdb_x86_register_size(unsigned number)
{
	if (number < REG_EFLAGS)
		return 8;
	if (number < REG_ST0)
		return 4;
	if (number < REG_FCTRL)
		return X87_REGISTER_SIZE;
	if (number < REG_XMM0)
		return 4;
	if (number < REG_MXCSR)
		return 16;
	if (number == REG_MXCSR)
		return 4;
	if (number < GDB_X86_REGISTER_COUNT)
		return 8;
	return 0;
}

/* GDB numbers rbp before rsp, unlike struct kvm_regs. */
static __u64 *general_register(struct kvm_regs *regs, unsigned number)
{
	__u64 *const order[] = {
	    &regs->rax, &regs->rbx, &regs->rcx, &regs->rdx, &regs->rsi,
	    &regs->rdi, &regs->rbp, &regs->rsp, &regs->r8,  &regs->r9,
	    &regs->r10, &regs->r11, &regs->r12, &regs->r13, &regs->r14,
	    &regs->r15, &regs->rip,
	};

	return order[number];
}

static struct kvm_segment *segment(struct kvm_sregs *sregs, unsigned number)
{
	struct kvm_segment *const order[] = {
	    &sregs->cs, &sregs->ss, &sregs->ds,
	    &sregs->es, &sregs->fs, &sregs->gs,
	};

	return order[number - REG_CS];
}

/* Classifies an 80-bit x87 value for the full tag word. */
static unsigned x87_tag(const uint8_t *value)
{
	unsigned exponent = (unsigned)(value[9] & 0x7f) << 8 | value[8];
	bool integer_bit = value[7] & 0x80;
	bool mantissa_zero = true;

	for (int i = 0; i < 8; i++)
		mantissa_zero = mantissa_zero && value[i] == 0;
	if (exponent == 0x7fff)
		return X87_TAG_SPECIAL;
	if (exponent == 0)
		return mantissa_zero ? X87_TAG_ZERO : X87_TAG_SPECIAL;
	return integer_bit ? X87_TAG_VALID : X87_TAG_SPECIAL;
}

/* Expands FXSAVE's abridged tag (one bit per physical register) into the
 * full tag word GDB shows. fpr[i] contains ST(i), the physical register
 * (TOP + i) mod 8. */
static uint32_t full_tag_word(const struct kvm_fpu *fpu)
{
	unsigned top = (fpu->fsw >> 11) & 7;
	uint32_t tag = 0;

	for (unsigned physical = 0; physical < 8; physical++) {
		unsigned value = X87_TAG_EMPTY;

		if (fpu->ftwx & (1u << physical))
			value = x87_tag(fpu->fpr[(physical - top) & 7]);
		tag |= value << (2 * physical);
	}
	return tag;
}

static uint8_t abridged_tag(uint32_t tag)
{
	uint8_t abridged = 0;

	for (unsigned physical = 0; physical < 8; physical++) {
		if (((tag >> (2 * physical)) & 3) != X87_TAG_EMPTY)
			abridged |= (uint8_t)(1u << physical);
	}
	return abridged;
}

static uint32_t fpu_control_get(const struct kvm_fpu *fpu, unsigned number)
{
	switch (number) {
	case REG_FCTRL:
		return fpu->fcw;
	case REG_FSTAT:
		return fpu->fsw;
	case REG_FTAG:
		return full_tag_word(fpu);
	case REG_FISEG:
		return (uint32_t)(fpu->last_ip >> 32);
	case REG_FIOFF:
		return (uint32_t)fpu->last_ip;
	case REG_FOSEG:
		return (uint32_t)(fpu->last_dp >> 32);
	case REG_FOOFF:
		return (uint32_t)fpu->last_dp;
	default:
		return fpu->last_opcode;
	}
}

/* The 64-bit FXSAVE layout keeps the upper halves of the last instruction
 * and operand pointers where 32-bit code had segments, and GDB's amd64
 * target shows them as fiseg and foseg. */
static void fpu_control_set(struct kvm_fpu *fpu, unsigned number,
			    uint32_t value)
{
	switch (number) {
	case REG_FCTRL:
		fpu->fcw = (uint16_t)value;
		break;
	case REG_FSTAT:
		fpu->fsw = (uint16_t)value;
		break;
	case REG_FTAG:
		fpu->ftwx = abridged_tag(value);
		break;
	case REG_FISEG:
		fpu->last_ip = (fpu->last_ip & 0xffffffffULL) | (uint64_t)value
								    << 32;
		break;
	case REG_FIOFF:
		fpu->last_ip = (fpu->last_ip & ~0xffffffffULL) | value;
		break;
	case REG_FOSEG:
		fpu->last_dp = (fpu->last_dp & 0xffffffffULL) | (uint64_t)value
								    << 32;
		break;
	case REG_FOOFF:
		fpu->last_dp = (fpu->last_dp & ~0xffffffffULL) | value;
		break;
	default:
		fpu->last_opcode = (uint16_t)value;
		break;
	}
}

size_t gdb_x86_register_get(const struct gdb_x86_registers *registers,
			    unsigned number, uint8_t *out)
{
	/* The accessors take non-const pointers; nothing is written. */
	struct gdb_x86_registers *r = (struct gdb_x86_registers *)registers;
	size_t size = gdb_x86_register_size(number);
	uint64_t value;

	if (size == 0)
		return 0;
	if (number <= GDB_X86_REGISTER_RIP)
		value = *general_register(&r->regs, number);
	else if (number == REG_EFLAGS)
		value = r->regs.rflags;
	else if (number < REG_ST0)
		value = segment(&r->sregs, number)->selector;
	else if (number < REG_FCTRL) {
		memcpy(out, r->fpu.fpr[number - REG_ST0], size);
		return size;
	} else if (number < REG_XMM0)
		value = fpu_control_get(&r->fpu, number);
	else if (number < REG_MXCSR) {
		memcpy(out, r->fpu.xmm[number - REG_XMM0], size);
		return size;
	} else if (number == REG_MXCSR)
		value = r->fpu.mxcsr;
	else if (number == REG_FS_BASE)
		value = r->sregs.fs.base;
	else
		value = r->sregs.gs.base;
	/* The host is little-endian like the guest. */
	memcpy(out, &value, size);
	return size;
}

int gdb_x86_register_set(struct gdb_x86_registers *registers, unsigned number,
			 const uint8_t *in)
{
	size_t size = gdb_x86_register_size(number);
	uint64_t value = 0;

	if (size == 0)
		return -EINVAL;
	if (size <= sizeof(value))
		memcpy(&value, in, size);

	if (number <= GDB_X86_REGISTER_RIP) {
		*general_register(&registers->regs, number) = value;
	} else if (number == REG_EFLAGS) {
		registers->regs.rflags = value;
	} else if (number < REG_ST0) {
		if (segment(&registers->sregs, number)->selector != value)
			return -EINVAL;
	} else if (number < REG_FCTRL) {
		memcpy(registers->fpu.fpr[number - REG_ST0], in, size);
		registers->fpu_changed = true;
	} else if (number < REG_XMM0) {
		fpu_control_set(&registers->fpu, number, (uint32_t)value);
		registers->fpu_changed = true;
	} else if (number < REG_MXCSR) {
		memcpy(registers->fpu.xmm[number - REG_XMM0], in, size);
		registers->fpu_changed = true;
	} else if (number == REG_MXCSR) {
		registers->fpu.mxcsr = (uint32_t)value;
		registers->fpu_changed = true;
	} else {
		struct kvm_segment *base = number == REG_FS_BASE
					       ? &registers->sregs.fs
					       : &registers->sregs.gs;

		base->base = value;
		registers->sregs_changed = true;
	}
	return 0;
}

void gdb_x86_registers_get_all(const struct gdb_x86_registers *registers,
			       uint8_t *out)
{
	size_t offset = 0;

	for (unsigned number = 0; number < GDB_X86_REGISTER_COUNT; number++)
		offset += gdb_x86_register_get(registers, number, out + offset);
}

int gdb_x86_registers_set_all(struct gdb_x86_registers *registers,
			      const uint8_t *in)
{
	struct gdb_x86_registers copy = *registers;
	size_t offset = 0;

	for (unsigned number = 0; number < GDB_X86_REGISTER_COUNT; number++) {
		if (gdb_x86_register_set(&copy, number, in + offset))
			return -EINVAL;
		offset += gdb_x86_register_size(number);
	}
	*registers = copy;
	return 0;
}

/* Returns the largest block of 8, 4, 2 or 1 bytes that starts at `address`,
 * is aligned to its size and fits into `remaining`. */
static unsigned block_len(uint64_t address, uint64_t remaining)
{
	for (unsigned len = 8; len > 1; len /= 2) {
		if (address % len == 0 && remaining >= len)
			return len;
	}
	return 1;
}

static unsigned blocks_needed(uint64_t address, uint64_t len)
{
	unsigned count = 0;

	while (len > 0) {
		unsigned block = block_len(address, len);

		address += block;
		len -= block;
		count++;
	}
	return count;
}

static unsigned free_slots(const struct gdb_x86_debug_slots *slots)
{
	unsigned count = 0;

	for (unsigned i = 0; i < GDB_X86_DEBUG_SLOTS; i++)
		count += !slots->slot[i].used;
	return count;
}

int gdb_x86_slots_insert(struct gdb_x86_debug_slots *slots,
			 enum gdb_break_type type, uint64_t address,
			 uint64_t len)
{
	uint64_t next = address;
	uint64_t remaining;

	if (type == GDB_BREAK_SOFTWARE || type > GDB_WATCH_ACCESS)
		return -EINVAL;
	/* An execution breakpoint covers one instruction start, whatever
	 * kind GDB gives. */
	if (type == GDB_BREAK_HARDWARE)
		len = 1;
	if (len == 0 || len > 8 * GDB_X86_DEBUG_SLOTS)
		return -EINVAL;
	if (blocks_needed(address, len) > free_slots(slots))
		return -ENOSPC;

	remaining = len;
	for (unsigned i = 0; i < GDB_X86_DEBUG_SLOTS && remaining > 0; i++) {
		unsigned block;

		if (slots->slot[i].used)
			continue;
		block = block_len(next, remaining);
		slots->slot[i].used = true;
		slots->slot[i].type = type;
		slots->slot[i].address = next;
		slots->slot[i].len = block;
		slots->slot[i].request_address = address;
		slots->slot[i].request_len = len;
		next += block;
		remaining -= block;
	}
	return 0;
}

/* Returns the index of the used slot that contains `block_address` for the
 * request, or -1. */
static int find_block(const struct gdb_x86_debug_slots *slots,
		      enum gdb_break_type type, uint64_t address, uint64_t len,
		      uint64_t block_address)
{
	for (int i = 0; i < GDB_X86_DEBUG_SLOTS; i++) {
		if (slots->slot[i].used && slots->slot[i].type == type &&
		    slots->slot[i].request_address == address &&
		    slots->slot[i].request_len == len &&
		    slots->slot[i].address == block_address)
			return i;
	}
	return -1;
}

int gdb_x86_slots_remove(struct gdb_x86_debug_slots *slots,
			 enum gdb_break_type type, uint64_t address,
			 uint64_t len)
{
	uint64_t next = address;
	uint64_t remaining;

	if (type == GDB_BREAK_HARDWARE)
		len = 1;
	if (len == 0 || find_block(slots, type, address, len, address) < 0)
		return -ENOENT;

	/* Free the blocks of one insertion, even when the same request was
	 * inserted twice. */
	remaining = len;
	while (remaining > 0) {
		unsigned block = block_len(next, remaining);
		int i = find_block(slots, type, address, len, next);

		if (i >= 0)
			slots->slot[i].used = false;
		next += block;
		remaining -= block;
	}
	return 0;
}

bool gdb_x86_slots_used(const struct gdb_x86_debug_slots *slots)
{
	return free_slots(slots) < GDB_X86_DEBUG_SLOTS;
}

static uint64_t dr7_length_bits(unsigned len)
{
	switch (len) {
	case 2:
		return 1;
	case 4:
		return 3;
	case 8:
		return 2;
	default:
		return 0;
	}
}

/* x86 has no debug condition for reads alone, so read watchpoints use the
 * read-or-write condition, and GDB ignores hits that changed the value. */
static uint64_t dr7_condition_bits(enum gdb_break_type type)
{
	switch (type) {
	case GDB_WATCH_WRITE:
		return DR7_RW_WRITE;
	case GDB_WATCH_READ:
	case GDB_WATCH_ACCESS:
		return DR7_RW_ACCESS;
	default:
		return DR7_RW_EXECUTE;
	}
}

void gdb_x86_slots_encode(const struct gdb_x86_debug_slots *slots,
			  struct kvm_guest_debug *debug)
{
	uint64_t dr7 = DR7_GE | DR7_RESERVED_ONE;

	for (unsigned i = 0; i < GDB_X86_DEBUG_SLOTS; i++) {
		debug->arch.debugreg[i] = 0;
		if (!slots->slot[i].used)
			continue;
		debug->arch.debugreg[i] = slots->slot[i].address;
		/* The global enable bit G<i>, then R/W<i> and LEN<i>. */
		dr7 |= 2ULL << (i * 2);
		dr7 |= dr7_condition_bits(slots->slot[i].type) << (16 + i * 4);
		dr7 |= dr7_length_bits(slots->slot[i].len) << (18 + i * 4);
	}
	debug->arch.debugreg[7] = dr7;
}

enum gdb_x86_debug_cause
gdb_x86_decode_debug_exit(const struct kvm_debug_exit_arch *exit,
			  const struct gdb_x86_debug_slots *slots,
			  unsigned *slot)
{
	if (exit->exception == BREAKPOINT_VECTOR)
		return GDB_X86_DEBUG_BREAKPOINT;
	if (exit->exception != DEBUG_VECTOR)
		return GDB_X86_DEBUG_UNKNOWN;
	for (unsigned i = 0; i < GDB_X86_DEBUG_SLOTS; i++) {
		if ((exit->dr6 & (1ULL << i)) && slots->slot[i].used) {
			*slot = i;
			return GDB_X86_DEBUG_SLOT;
		}
	}
	if (exit->dr6 & DR6_BS)
		return GDB_X86_DEBUG_STEP;
	return GDB_X86_DEBUG_UNKNOWN;
}

/*
 * Memory accesses of one instruction, for read and access watchpoints on
 * hosts without data breakpoints. The decoder gives the addressing but not
 * the operand size, which the functions below derive for general-purpose
 * instructions. Other operands count as the widest size they can have.
 */

/* Operand bytes assumed for SSE and MMX (the xmm width), VEX and XOP (ymm)
 * and EVEX (zmm) instructions, whose exact size is not decoded. */
#define SPAN_SSE  16
#define SPAN_VEX  32
#define SPAN_EVEX 64
/* x87 operands: the widest data operand (m80), and FSAVE/FRSTOR, whose
 * 108 bytes also cover FLDENV/FSTENV (28). */
#define SPAN_X87       10
#define SPAN_X87_STATE 108
#define SPAN_FXSAVE    512
/* An estimate above the largest XSAVE area of current CPUs: the standard
 * format with AMX tile data ends at byte 11008. */
#define SPAN_XSAVE 16384
/* A far pointer (m16:64) and the stack frames of a far return and IRETQ. */
#define SPAN_FAR_POINTER 10
#define SPAN_FAR_RETURN	 16
#define SPAN_IRET	 40
#define X86_RFLAGS_DF	 0x400ULL

struct access_list {
	struct gdb_x86_access *entries;
	unsigned count;
};

/* Adds [address, address + len), cut off at the end of the address
 * space. */
static void add_access(struct access_list *list, uint64_t address, uint64_t len,
		       bool read)
{
	uint64_t last = address + len - 1;

	if (len == 0 || list->count >= GDB_X86_MAX_ACCESSES)
		return;
	if (last < address)
		last = UINT64_MAX;
	list->entries[list->count++] = (struct gdb_x86_access){
	    .first = address,
	    .last = last,
	    .read = read,
	};
}

static uint64_t gpr_value(void *regs, unsigned number)
{
	return *fallback_gpr(regs, number);
}

/* The size of a general-purpose operand: 8 with REX.W, 2 with 66, else 4. */
static uint64_t full_size(const struct x86_insn *insn)
{
	if (insn->rex & 8)
		return 8;
	return insn->opsize ? 2 : 4;
}

/* The size of a push or pop: 2 with 66, else 8. */
static uint64_t stack_size(const struct x86_insn *insn)
{
	return insn->opsize && !(insn->rex & 8) ? 2 : 8;
}

/* Bit 0 of many one-byte opcodes selects a byte or a full-size operand. */
static uint64_t byte_or_full(const struct x86_insn *insn)
{
	return insn->opcode & 1 ? full_size(insn) : 1;
}

static uint64_t x87_size(const struct x86_insn *insn)
{
	bool state = (insn->opcode == 0xd9 || insn->opcode == 0xdd) &&
		     (insn->reg == 4 || insn->reg == 6);

	return state ? SPAN_X87_STATE : SPAN_X87;
}

/* Returns the size of the ModRM memory operand of a legacy one-byte
 * opcode, or 0 when it accesses no memory (LEA). */
static uint64_t one_byte_operand_size(const struct x86_insn *insn)
{
	uint8_t op = insn->opcode;

	if (op < 0x40 && (op & 7) < 4)
		return byte_or_full(insn); /* ADD ... CMP */
	if (op >= 0xd8 && op <= 0xdf)
		return x87_size(insn);
	switch (op) {
	case 0x63: /* MOVSXD */
		return 4;
	case 0x80:
	case 0x82:
	case 0xfe:
		return 1;
	case 0x84 ... 0x8b:
	case 0xc0:
	case 0xc1:
	case 0xc6:
	case 0xc7:
	case 0xd0 ... 0xd3:
	case 0xf6:
	case 0xf7:
		return byte_or_full(insn);
	case 0x8c: /* MOV to and from segment registers */
	case 0x8e:
		return 2;
	case 0x8d: /* LEA */
		return 0;
	case 0x8f: /* POP r/m */
		return stack_size(insn);
	case 0xff:
		if (insn->reg == 2 || insn->reg == 4) /* near CALL and JMP */
			return 8;
		if (insn->reg == 3 || insn->reg == 5) /* far CALL and JMP */
			return SPAN_FAR_POINTER;
		return insn->reg == 6 ? stack_size(insn) : full_size(insn);
	default:
		return full_size(insn);
	}
}

/* Group 15 (0F AE) with a memory operand. */
static uint64_t group15_size(const struct x86_insn *insn)
{
	switch (insn->reg) {
	case 0: /* FXSAVE, FXRSTOR */
	case 1:
		return SPAN_FXSAVE;
	case 2: /* LDMXCSR, STMXCSR */
	case 3:
		return 4;
	case 7: /* CLFLUSH and CLFLUSHOPT write back a line but read none */
		return 0;
	default: /* XSAVE, XRSTOR, XSAVEOPT and, with 66, CLWB */
		return SPAN_XSAVE;
	}
}

/* Returns the size of the ModRM memory operand of a legacy 0F opcode, or 0
 * when it accesses no memory (prefetches, hint NOPs, INVLPG, CLFLUSH). */
static uint64_t two_byte_operand_size(const struct x86_insn *insn)
{
	uint8_t op = insn->opcode;

	if (op == 0x0d || (op >= 0x18 && op <= 0x1f))
		return 0;
	if (op >= 0x90 && op <= 0x9f) /* SETcc */
		return 1;
	switch (op) {
	case 0x00: /* SLDT, STR, LLDT, LTR, VERR, VERW */
		return 2;
	case 0x01:
		if (insn->reg == 7) /* INVLPG */
			return 0;
		return insn->reg == 4 || insn->reg == 6 ? 2 : SPAN_FAR_POINTER;
	case 0xae:
		return group15_size(insn);
	case 0xb0: /* CMPXCHG, XADD with byte operands */
	case 0xc0:
	case 0xb6: /* MOVZX, MOVSX from a byte */
	case 0xbe:
		return 1;
	case 0xb7: /* MOVZX, MOVSX from a word */
	case 0xbf:
		return 2;
	case 0xc7:
		if (insn->reg == 1) /* CMPXCHG8B, CMPXCHG16B */
			return insn->rex & 8 ? 16 : 8;
		return insn->reg >= 3 && insn->reg <= 5 ? SPAN_XSAVE : 8;
	default:
		return insn->flags & X86_INSN_FPU ? SPAN_SSE : full_size(insn);
	}
}

/* Returns the size of the ModRM memory operand, or 0 for none. */
static uint64_t operand_size(const struct x86_insn *insn)
{
	if (!insn->has_modrm || insn->mod == 3)
		return 0;
	switch (insn->encoding) {
	case X86_ENCODING_EVEX:
		return SPAN_EVEX;
	case X86_ENCODING_VEX:
	case X86_ENCODING_XOP:
		return insn->flags & X86_INSN_VECTOR ? SPAN_VEX : 8;
	default:
		break;
	}
	switch (insn->map) {
	case X86_MAP_ONE_BYTE:
		return one_byte_operand_size(insn);
	case X86_MAP_0F:
		return two_byte_operand_size(insn);
	case X86_MAP_0F38:
		/* MOVBE and CRC32 with a byte operand (F2 0F 38 F0). */
		if (insn->opcode == 0xf0 || insn->opcode == 0xf1)
			return insn->repne && insn->opcode == 0xf0
				   ? 1
				   : full_size(insn);
		return insn->flags & X86_INSN_FPU ? SPAN_SSE : full_size(insn);
	default:
		return SPAN_SSE;
	}
}

/* Returns true when the instruction only writes its ModRM operand. Others
 * count as reads, so a store that the list below misses is reported to a
 * read watchpoint too. */
static bool operand_store_only(const struct x86_insn *insn)
{
	uint8_t op = insn->opcode;

	if (insn->encoding != X86_ENCODING_LEGACY)
		return false;
	if (insn->map == X86_MAP_ONE_BYTE)
		return op == 0x88 || op == 0x89 || op == 0x8c || op == 0x8f ||
		       op == 0xc6 || op == 0xc7;
	if (insn->map != X86_MAP_0F)
		return false;
	if (op >= 0x90 && op <= 0x9f) /* SETcc */
		return true;
	switch (op) {
	case 0x00: /* SLDT, STR */
		return insn->reg <= 1;
	case 0x01: /* SGDT, SIDT, SMSW */
		return insn->reg <= 1 || insn->reg == 4;
	case 0x11: /* MOVUPS, MOVSS, ... to memory */
	case 0x13:
	case 0x17:
	case 0x29:
	case 0x2b:
	case 0x7f:
	case 0xc3: /* MOVNTI */
	case 0xd6:
	case 0xe7:
		return true;
	case 0x7e: /* MOVD/MOVQ to memory; with F3 a load */
		return !insn->rep;
	case 0xae: /* FXSAVE, STMXCSR, XSAVE, XSAVEOPT */
		return insn->reg == 0 || insn->reg == 3 || insn->reg == 4 ||
		       insn->reg == 6;
	case 0xc7: /* XSAVEC, XSAVES */
		return insn->reg == 4 || insn->reg == 5;
	default:
		return false;
	}
}

/* BT, BTS, BTR and BTC with a register bit offset address the operand-size
 * word that contains the bit, which may lie far from the ModRM address. */
static uint64_t bit_test_address(const struct x86_insn *insn,
				 struct kvm_regs *regs, uint64_t address,
				 uint64_t size)
{
	uint64_t value =
	    *fallback_gpr(regs, insn->reg | (insn->rex & 4 ? 8 : 0));
	int64_t offset;
	unsigned shift;

	if (insn->encoding != X86_ENCODING_LEGACY || insn->map != X86_MAP_0F ||
	    (insn->opcode != 0xa3 && insn->opcode != 0xab &&
	     insn->opcode != 0xb3 && insn->opcode != 0xbb))
		return address;
	if (size == 8) {
		offset = (int64_t)value;
		shift = 6;
	} else if (size == 4) {
		offset = (int32_t)value;
		shift = 5;
	} else {
		offset = (int16_t)value;
		shift = 4;
	}
	/* An arithmetic shift rounds down, also for negative offsets. */
	return address + (uint64_t)((offset >> shift) * (int64_t)size);
}

static void add_modrm_access(struct access_list *list,
			     const struct x86_insn *insn,
			     const struct kvm_regs *regs,
			     const struct kvm_sregs *sregs)
{
	struct kvm_regs copy = *regs;
	struct x86_address_base base = {
	    .gpr = gpr_value,
	    .opaque = &copy,
	    .fs_base = sregs->fs.base,
	    .gs_base = sregs->gs.base,
	};
	uint64_t size = operand_size(insn);
	uint64_t address;

	if (size == 0)
		return;
	/* NOTE: gathers and scatters (VSIB) index with a vector register,
	 * so their address comes out wrong and their elements are missed. */
	address = x86_effective_address(insn, regs->rip + insn->length, &base);
	address = bit_test_address(insn, &copy, address, size);
	add_access(list, address, size, !operand_store_only(insn));
}

/* Pushes (write below rsp) and pops (read at rsp) of the instruction. */
static void add_stack_access(struct access_list *list,
			     const struct x86_insn *insn, const uint8_t *bytes,
			     const struct kvm_regs *regs)
{
	uint8_t op = insn->opcode;
	uint64_t push = 0;
	uint64_t pop = 0;

	if (insn->encoding != X86_ENCODING_LEGACY)
		return;
	if (insn->map == X86_MAP_0F) {
		if (op == 0xa0 || op == 0xa8) /* PUSH FS, PUSH GS */
			push = stack_size(insn);
		else if (op == 0xa1 || op == 0xa9) /* POP FS, POP GS */
			pop = stack_size(insn);
	} else if (insn->map == X86_MAP_ONE_BYTE) {
		if ((op >= 0x50 && op <= 0x57) || op == 0x68 || op == 0x6a ||
		    op == 0x9c || (op == 0xff && insn->reg == 6))
			push = stack_size(insn);
		else if (op == 0xe8 || (op == 0xff && insn->reg == 2))
			push = 8; /* near CALL */
		else if ((op >= 0x58 && op <= 0x5f) || op == 0x8f || op == 0x9d)
			pop = stack_size(insn);
		else if (op == 0xc2 || op == 0xc3) /* near RET */
			pop = 8;
		else if (op == 0xca || op == 0xcb) /* far RET */
			pop = SPAN_FAR_RETURN;
		else if (op == 0xcf)
			pop = SPAN_IRET;
	}
	if (push)
		add_access(list, regs->rsp - push, push, false);
	if (pop)
		add_access(list, regs->rsp, pop, true);

	if (insn->map != X86_MAP_ONE_BYTE)
		return;
	if (op == 0xc9) /* LEAVE pops rbp from where rbp points */
		add_access(list, regs->rbp, stack_size(insn), true);
	if (op == 0xc8) {
		/* ENTER pushes rbp and a frame pointer per nesting level L
		 * (the last byte, modulo 32), copying L - 1 of them from
		 * below rbp. */
		uint64_t level = bytes[insn->length - 1] & 31;

		add_access(list, regs->rsp - 8 * (level + 1), 8 * (level + 1),
			   false);
		if (level > 1)
			add_access(list, regs->rbp - 8 * (level - 1),
				   8 * (level - 1), true);
	}
}

/* Adds the elements at `pointer` that a string instruction touches: one
 * element, or with a REP prefix all rcx that remain, in the direction that
 * RFLAGS.DF gives. */
static void add_string_range(struct access_list *list,
			     const struct x86_insn *insn,
			     const struct kvm_regs *regs, uint64_t pointer,
			     uint64_t segment_base, uint64_t element, bool read)
{
	uint64_t count = 1;
	uint64_t len;

	if (insn->rep || insn->repne)
		count = insn->addrsize ? (uint32_t)regs->rcx : regs->rcx;
	if (count == 0)
		return;
	if (insn->addrsize)
		pointer = (uint32_t)pointer;
	pointer += segment_base;
	/* Saturates, so that a huge count covers the rest of the address
	 * space. */
	len = count > UINT64_MAX / element ? UINT64_MAX : count * element;
	if (!(regs->rflags & X86_RFLAGS_DF)) {
		add_access(list, pointer, len, read);
		return;
	}
	len -= element;
	if (len > pointer)
		add_access(list, 0, pointer + element, read);
	else
		add_access(list, pointer - len, len + element, read);
}

/* String instructions, XLAT, MOV with a 64-bit offset (A0-A3) and
 * MASKMOVQ/MASKMOVDQU: accesses at rsi, rdi, rbx or an immediate. */
static void add_implicit_access(struct access_list *list,
				const struct x86_insn *insn,
				const uint8_t *bytes,
				const struct kvm_regs *regs,
				const struct kvm_sregs *sregs)
{
	uint64_t segment_base = 0;
	uint8_t op = insn->opcode;
	uint64_t element = byte_or_full(insn);

	if (insn->encoding != X86_ENCODING_LEGACY)
		return;
	/* A segment override applies to the rsi operand, never to rdi. */
	if (insn->segment == X86_SEG_FS)
		segment_base = sregs->fs.base;
	else if (insn->segment == X86_SEG_GS)
		segment_base = sregs->gs.base;

	if (insn->map == X86_MAP_0F) {
		if (op == 0xf7 && insn->mod == 3)
			add_string_range(list, insn, regs, regs->rdi, 0,
					 SPAN_SSE, false);
		return;
	}
	if (insn->map != X86_MAP_ONE_BYTE)
		return;
	switch (op) {
	case 0xa4: /* MOVS */
	case 0xa5:
		add_string_range(list, insn, regs, regs->rsi, segment_base,
				 element, true);
		add_string_range(list, insn, regs, regs->rdi, 0, element,
				 false);
		break;
	case 0xa6: /* CMPS */
	case 0xa7:
		add_string_range(list, insn, regs, regs->rsi, segment_base,
				 element, true);
		add_string_range(list, insn, regs, regs->rdi, 0, element, true);
		break;
	case 0xaa: /* STOS */
	case 0xab:
	case 0x6c: /* INS */
	case 0x6d:
		add_string_range(list, insn, regs, regs->rdi, 0, element,
				 false);
		break;
	case 0xac: /* LODS */
	case 0xad:
	case 0x6e: /* OUTS */
	case 0x6f:
		add_string_range(list, insn, regs, regs->rsi, segment_base,
				 element, true);
		break;
	case 0xae: /* SCAS */
	case 0xaf:
		add_string_range(list, insn, regs, regs->rdi, 0, element, true);
		break;
	case 0xd7: { /* XLAT reads [rbx + al] */
		uint64_t address = regs->rbx + (regs->rax & 0xff);

		if (insn->addrsize)
			address = (uint32_t)address;
		add_access(list, address + segment_base, 1, true);
		break;
	}
	case 0xa0 ... 0xa3: {
		/* MOV between rax and the address in the immediate, which
		 * is 4 bytes with 67 and else 8. */
		unsigned offset_size = insn->addrsize ? 4 : 8;
		uint64_t address = 0;

		memcpy(&address, bytes + insn->length - offset_size,
		       offset_size);
		add_access(list, address + segment_base, element, op < 0xa2);
		break;
	}
	default:
		break;
	}
}

unsigned gdb_x86_instruction_accesses(const uint8_t *bytes, unsigned count,
				      const struct kvm_regs *regs,
				      const struct kvm_sregs *sregs,
				      struct gdb_x86_access *accesses)
{
	struct access_list list = {.entries = accesses};
	struct x86_insn insn;

	/* NOTE: only the instruction's own operands are covered. The frames
	 * that INT, INT3, SYSCALL, exceptions and interrupts push, and the
	 * descriptor tables they read, are not. */
	x86_decode(bytes, count, &insn);
	if (insn.flags & (X86_INSN_TRUNCATED | X86_INSN_TOO_LONG) ||
	    insn.length > count)
		return 0;
	add_modrm_access(&list, &insn, regs, sregs);
	add_stack_access(&list, &insn, bytes, regs);
	add_implicit_access(&list, &insn, bytes, regs, sregs);
	return list.count;
}
