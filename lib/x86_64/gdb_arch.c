/* x86-64 part of the GDB stub: registers, target description, DR0-DR7. */
#include "gdb_arch.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

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
