/* x86-64 part of the GDB stub: registers, target description, DR0-DR7. */
#ifndef UHYVE_X86_64_GDB_ARCH_H
#define UHYVE_X86_64_GDB_ARCH_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../gdb_packet.h"

/* Registers in GDB's amd64 numbering: the core, SSE and segment-base
 * features of the target description. */
#define GDB_X86_REGISTER_COUNT 59
#define GDB_X86_REGISTER_RIP   16
/* Bytes of all registers in a g or G packet (before hex encoding). */
#define GDB_X86_REGISTERS_SIZE 552
/* Bytes of the widest register (xmm). */
#define GDB_X86_REGISTER_MAX 16

/* One vCPU's register state as KVM stores it. The flags record which
 * parts a setter changed, so that storing leaves the others alone. */
struct gdb_x86_registers {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	bool sregs_changed;
	bool fpu_changed;
};

/* Returns the target description that qXfer:features:read serves as
 * "target.xml", NUL-terminated. */
const char *gdb_x86_target_xml(void);

/* Reads (load) or writes (store) a vCPU's registers. Returns 0 or -errno.
 * The vCPU must not be inside KVM_RUN. */
int gdb_x86_registers_load(int vcpu_fd, struct gdb_x86_registers *registers);
int gdb_x86_registers_store(int vcpu_fd,
			    const struct gdb_x86_registers *registers);

/* Returns the size in bytes of register `number`, or 0 for an unknown one. */
size_t gdb_x86_register_size(unsigned number);

/* Copies register `number` in GDB's byte layout (little-endian) to `out`,
 * which has room for GDB_X86_REGISTER_MAX bytes. Returns its size, or 0 for
 * an unknown register. */
size_t gdb_x86_register_get(const struct gdb_x86_registers *registers,
			    unsigned number, uint8_t *out);

/* Sets register `number` from gdb_x86_register_size() bytes at `in`.
 * Returns 0, or -EINVAL for an unknown register or a segment selector that
 * would change (KVM would load it without its descriptor). */
int gdb_x86_register_set(struct gdb_x86_registers *registers, unsigned number,
			 const uint8_t *in);

/* Writes all registers (GDB_X86_REGISTERS_SIZE bytes) to `out`. */
void gdb_x86_registers_get_all(const struct gdb_x86_registers *registers,
			       uint8_t *out);

/* Sets all registers from GDB_X86_REGISTERS_SIZE bytes. Returns 0 or
 * -EINVAL, in which case `registers` is unchanged. */
int gdb_x86_registers_set_all(struct gdb_x86_registers *registers,
			      const uint8_t *in);

/* Number of debug address registers (DR0 to DR3). */
#define GDB_X86_DEBUG_SLOTS 4

/* Hardware breakpoints and watchpoints held in the debug registers. A
 * watched range that is not one aligned 1-, 2-, 4- or 8-byte block takes
 * several slots that share the request's address and length. */
struct gdb_x86_debug_slots {
	struct {
		bool used;
		enum gdb_break_type type;
		uint64_t address;
		unsigned len; /* 1, 2, 4 or 8; aligned to itself */
		uint64_t request_address;
		uint64_t request_len;
	} slot[GDB_X86_DEBUG_SLOTS];
};

/* Adds a hardware breakpoint (len 1) or a watchpoint over [address,
 * address + len). Returns 0, -EINVAL for a length of 0 or above 32 or a
 * software type, or -ENOSPC when the free slots do not suffice. */
int gdb_x86_slots_insert(struct gdb_x86_debug_slots *slots,
			 enum gdb_break_type type, uint64_t address,
			 uint64_t len);

/* Removes what gdb_x86_slots_insert() added with the same arguments.
 * Returns 0 or -ENOENT. */
int gdb_x86_slots_remove(struct gdb_x86_debug_slots *slots,
			 enum gdb_break_type type, uint64_t address,
			 uint64_t len);

/* Returns true when any slot is in use. */
bool gdb_x86_slots_used(const struct gdb_x86_debug_slots *slots);

/* Fills DR0-DR3 and DR7 of `debug` from the slots. */
void gdb_x86_slots_encode(const struct gdb_x86_debug_slots *slots,
			  struct kvm_guest_debug *debug);

/* Cause of a KVM_EXIT_DEBUG. */
enum gdb_x86_debug_cause {
	GDB_X86_DEBUG_UNKNOWN = 0,
	GDB_X86_DEBUG_STEP,	  /* a single step completed */
	GDB_X86_DEBUG_BREAKPOINT, /* int3 (#BP) */
	GDB_X86_DEBUG_SLOT,	  /* a debug register matched */
};

/* Decodes the exit. For GDB_X86_DEBUG_SLOT, stores the matching slot's
 * index in *slot; a slot that is not in use does not count. */
enum gdb_x86_debug_cause
gdb_x86_decode_debug_exit(const struct kvm_debug_exit_arch *exit,
			  const struct gdb_x86_debug_slots *slots,
			  unsigned *slot);

/* At most the memory ranges that one instruction accesses: an operand and
 * the stack, or the two operands of a string instruction. */
#define GDB_X86_MAX_ACCESSES 3

/* A range of guest-virtual (linear) addresses that an instruction may
 * access, with `last` the address of its last byte. */
struct gdb_x86_access {
	uint64_t first;
	uint64_t last;
	bool read; /* false when the instruction only writes the range */
};

/*
 * Decodes the instruction in `bytes` (`count` of them available) that a
 * vCPU with `regs` and `sregs` is about to execute, and stores the memory
 * ranges it may access in `accesses`. Returns their number: 0 for an
 * instruction without memory accesses, one that is cut off or longer than
 * 15 bytes, or one the decoder does not know. Ranges err on the large side
 * where the exact operand size is not decoded.
 */
unsigned gdb_x86_instruction_accesses(const uint8_t *bytes, unsigned count,
				      const struct kvm_regs *regs,
				      const struct kvm_sregs *sregs,
				      struct gdb_x86_access *accesses);

/*
 * Runs a throwaway VM whose guest writes a byte under a write watchpoint
 * and stores in *reported whether KVM stopped it with a debug exit. Hosts
 * whose KVM executes kernel-mode guest code in a software emulator
 * (kvm_pvm) do not check data breakpoints there. Returns 0, or a negative
 * errno when the probe VM could not be set up or stopped elsewhere (-EIO).
 */
int gdb_x86_probe_data_breakpoints(int kvm_fd, bool *reported);

#endif /* UHYVE_X86_64_GDB_ARCH_H */
