/* GDB stub state shared by its units: connection, vCPUs, breakpoints. */
#ifndef UHYVE_GDB_STUB_INTERNAL_H
#define UHYVE_GDB_STUB_INTERNAL_H

#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gdb_packet.h"
#include "gdb_stub.h"
#include "x86_64/gdb_arch.h"

struct uhyve_vm;

/* Software breakpoints one debugger may place, so that it cannot make the
 * stub allocate without bound. */
#define GDB_MAX_SW_BREAKPOINTS 1024

/* Signal numbers in stop replies, as GDB numbers them. */
#define GDB_SIGNAL_INT	2
#define GDB_SIGNAL_TRAP 5
#define GDB_SIGNAL_KILL 9
#define GDB_SIGNAL_SEGV 11

/* Cause of a stop of the guest. */
enum gdb_stop_kind {
	GDB_STOP_NONE = 0,
	GDB_STOP_START,	    /* before the first instruction */
	GDB_STOP_INTERRUPT, /* Ctrl-C from the debugger */
	GDB_STOP_STEP,
	GDB_STOP_SW_BREAK,
	GDB_STOP_HW_BREAK,
	GDB_STOP_WATCH,
	GDB_STOP_TRAP, /* a debug exception the stub did not ask for */
};

struct gdb_stop {
	enum gdb_stop_kind kind;
	uint32_t vcpu;
	enum gdb_break_type watch_type; /* with GDB_STOP_WATCH */
	uint64_t watch_address;		/* with GDB_STOP_WATCH */
};

/* Action of a vCPU when the debugger resumes the guest. */
enum gdb_resume {
	GDB_RESUME_STAY = 0, /* stays stopped */
	GDB_RESUME_CONTINUE,
	GDB_RESUME_STEP,
};

/* The stub's view of one vCPU, guarded by gdb_stub.lock. */
struct gdb_vcpu {
	bool parked;   /* waiting in gdb_stub_vcpu_interrupted() */
	bool released; /* may run until the next stop */
	bool stepping; /* released with single-stepping */
	/* Released to run, single-stepping only to check watchpoints (see
	 * gdb_stub.watch_by_stepping). */
	bool watch_stepping;
	/* With watch_by_stepping: the read or access watchpoint that the
	 * instruction about to be stepped touches, decoded before the step
	 * and reported after it (GDB_STOP_NONE for none). */
	struct gdb_stop access_hit;
	/* A watchpoint hit that came while another stop was in progress,
	 * reported when this vCPU is resumed. */
	struct gdb_stop pending;
};

/* An int3 the stub wrote into guest memory. */
struct gdb_sw_breakpoint {
	uint64_t address; /* guest-virtual, as the debugger gave it */
	uint64_t gpa;
	uint8_t original; /* the byte the int3 replaced */
};

/* The value of a write or access watchpoint's block when the guest was
 * resumed. */
struct gdb_watch_copy {
	bool used;
	enum gdb_break_type type;
	uint64_t address; /* guest-virtual, as in the slot */
	unsigned len;
	const uint8_t *host;
	uint8_t value[8];
};

/* Phase of the serving thread. */
enum gdb_state {
	GDB_RUNNING,  /* released vCPUs run; only Ctrl-C is served */
	GDB_STOPPING, /* waiting for every vCPU to park */
	GDB_STOPPED,  /* every vCPU is parked; packets are served */
};

struct gdb_stub {
	struct uhyve_vm *vm;
	uint16_t port;
	int listen_fd;
	int conn_fd;	   /* -1 once the debugger is gone */
	int wake_fd;	   /* eventfd: vCPU events and the end of the run */
	unsigned blockirq; /* KVM_GUESTDBG_BLOCKIRQ when KVM offers it */
	/* KVM does not stop the guest at data breakpoints. Running vCPUs
	 * then single-step while watchpoints are set. Each step compares the
	 * bytes under write and access watchpoints, and the instruction
	 * decoded before it is checked against read and access watchpoints. */
	bool watch_by_stepping;

	/* Set while a debugger controls the vCPUs. The vCPU hooks do nothing
	 * without it. */
	atomic_bool attached;

	pthread_mutex_t lock;  /* guards the fields down to `slots` */
	pthread_cond_t resume; /* parked vCPUs wait on it */
	bool stopping;	       /* every vCPU parks at its next EINTR */
	struct gdb_stop stop;  /* the first stop since the last resume */
	struct gdb_vcpu *vcpus;
	/* Written by the serving thread with the lock held while every vCPU
	 * is parked, and read by vCPU threads with the lock held. */
	GArray *breakpoints; /* struct gdb_sw_breakpoint */
	struct gdb_x86_debug_slots slots;
	/* Used with watch_by_stepping. Set on resume, then read and updated
	 * by the vCPUs' steps. */
	struct gdb_watch_copy watch_copies[GDB_X86_DEBUG_SLOTS];

	/* Only the serving thread uses the rest. */
	enum gdb_state state;
	bool reply_pending;	 /* the debugger waits for a stop reply */
	uint32_t general_vcpu;	 /* Hg: registers and memory */
	uint32_t last_stop_vcpu; /* the thread of the last stop reply */
	int64_t continue_thread; /* Hc: GDB_THREAD_ALL or a thread id */
	struct gdb_parser parser;
	char reply[GDB_PACKET_SIZE + 1];
	char frame[GDB_FRAME_SIZE]; /* the last packet sent, for resends */
	size_t frame_len;
	uint8_t scratch[GDB_PACKET_SIZE]; /* decoded memory and registers */
};

/* gdb_stub.c: the connection. */

/* Returns the distance between the kernel's ELF addresses and where it was
 * loaded. That is the kernel address K for a relocatable kernel, whose ELF
 * addresses start at 0, and 0 for a fixed-address kernel. */
uint64_t gdb_symbol_offset(const struct uhyve_vm *vm);

/* Sends a packet with `len` bytes of payload (text or binary). A failed
 * send closes the connection. */
void gdb_send_packet(struct gdb_stub *stub, const char *payload, size_t len);
void gdb_send_text(struct gdb_stub *stub, const char *text);
/* Sends "Exx" with the errno value `code` (positive or negative). */
void gdb_send_error(struct gdb_stub *stub, int code);
/* Sends the stop reply for stub->stop. */
void gdb_send_stop_reply(struct gdb_stub *stub);
/* Resumes the guest with one action per vCPU, or reports a pending stop
 * at once. Sends an error when KVM refuses the debug settings. */
void gdb_resume_guest(struct gdb_stub *stub, const enum gdb_resume *actions);
/* Closes the connection. The serving loop then detaches. */
void gdb_disconnect(struct gdb_stub *stub);

/* gdb_commands.c: packets served while the guest is stopped. */
void gdb_handle_packet(struct gdb_stub *stub, char *packet, size_t len);

/* gdb_target.c: vCPUs, guest memory and breakpoints. */

/* Asks every vCPU to park, recording `kind` on `vcpu` unless a stop is
 * already recorded. The stub must not hold its lock. */
void gdb_request_stop(struct gdb_stub *stub, enum gdb_stop_kind kind,
		      uint32_t vcpu);
/* Returns true when a stop was recorded since the last resume. */
bool gdb_stop_recorded(struct gdb_stub *stub);
bool gdb_all_parked(struct gdb_stub *stub);
/* Applies the debug settings and releases the vCPUs (see
 * gdb_resume_guest). Returns 1 when resumed, 0 when a pending stop was
 * moved to stub->stop instead, or a negative errno. */
int gdb_release_vcpus(struct gdb_stub *stub, const enum gdb_resume *actions);
/* Removes every breakpoint, turns guest debugging off and lets every vCPU
 * run without the stub. All vCPUs must be parked. */
void gdb_detach_vcpus(struct gdb_stub *stub);
/* Tells a waiting serving thread that something changed. */
void gdb_wake(struct gdb_stub *stub);

/* Reads up to `len` bytes at guest-virtual `address` in the address space
 * of `vcpu`, with the stub's int3 bytes replaced by the original ones.
 * Returns the number of bytes read, which stops short at the first
 * unmapped byte. */
size_t gdb_memory_read(struct gdb_stub *stub, uint32_t vcpu, uint64_t address,
		       uint8_t *data, size_t len);
/* Writes `len` bytes, all or none. Returns 0 or -EFAULT. */
int gdb_memory_write(struct gdb_stub *stub, uint32_t vcpu, uint64_t address,
		     const uint8_t *data, size_t len);
/* Place or remove an int3 at guest-virtual `address`. They return 0,
 * -EFAULT (unmapped), -ENOSPC (too many) or -ENOENT (none there). */
int gdb_sw_breakpoint_insert(struct gdb_stub *stub, uint32_t vcpu,
			     uint64_t address);
int gdb_sw_breakpoint_remove(struct gdb_stub *stub, uint64_t address);

#endif /* UHYVE_GDB_STUB_INTERNAL_H */
