/* GDB stub control of the guest: vCPU stops, guest memory, breakpoints. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch.h"
#include "gdb_stub_internal.h"
#include "kvm.h"
#include "uhyve_private.h"
#include "x86_64/fallback.h"
#include "x86_64/paging.h"

#define INT3	     0xcc
#define CR0_PG	     (1ULL << 31)
#define PAGE_SIZE_4K 0x1000ULL
/* The maximum length of an x86 instruction in bytes. */
#define MAX_INSTRUCTION_LENGTH 15

void gdb_wake(struct gdb_stub *stub)
{
	uint64_t increment = 1;

	/* Only a full counter makes the write fail, and then the serving
	 * thread wakes anyway. */
	if (write(stub->wake_fd, &increment, sizeof(increment)) < 0)
		return;
}

void gdb_stub_notify(struct uhyve_vm *vm)
{
	struct gdb_stub *stub = vm->gdb;

	if (!stub)
		return;
	pthread_mutex_lock(&stub->lock);
	pthread_cond_broadcast(&stub->resume);
	pthread_mutex_unlock(&stub->lock);
	gdb_wake(stub);
}

static bool run_ended(const struct uhyve_vm *vm)
{
	return atomic_load(&vm->run_end) != RUN_END_NONE;
}

static bool must_park(struct gdb_stub *stub, const struct gdb_vcpu *state)
{
	return atomic_load(&stub->attached) && !run_ended(stub->vm) &&
	       (stub->stopping || !state->released);
}

/* immediate_exit is cleared with the lock held. A stop request sets
 * `stopping` before it kicks, so a kick is either seen here or arrives
 * after the clear and ends the next KVM_RUN. */
void gdb_stub_vcpu_interrupted(struct uhyve_vcpu *vcpu)
{
	struct gdb_stub *stub = vcpu->vm->gdb;
	struct gdb_vcpu *state;

	if (!stub || !atomic_load(&stub->attached))
		return;
	state = &stub->vcpus[vcpu->id];
	pthread_mutex_lock(&stub->lock);
	vcpu->run->immediate_exit = 0;
	while (must_park(stub, state)) {
		if (!state->parked) {
			state->parked = true;
			gdb_wake(stub);
		}
		pthread_cond_wait(&stub->resume, &stub->lock);
		vcpu->run->immediate_exit = 0;
	}
	state->parked = false;
	pthread_mutex_unlock(&stub->lock);
}

/* Records a stop of `vcpu` and makes its next KVM_RUN return at once, so
 * that it parks. Only the first stop since the last resume is reported. A
 * later breakpoint or step is dropped, because the vCPU meets the
 * breakpoint again when it resumes. A later watchpoint hit is kept. */
static void record_stop_locked(struct gdb_stub *stub, struct uhyve_vcpu *vcpu,
			       const struct gdb_stop *stop)
{
	struct gdb_vcpu *state = &stub->vcpus[vcpu->id];

	if (!stub->stopping) {
		stub->stop = *stop;
		stub->stopping = true;
	} else if (stop->kind == GDB_STOP_WATCH &&
		   state->pending.kind == GDB_STOP_NONE) {
		state->pending = *stop;
	}
	vcpu->run->immediate_exit = 1;
	gdb_wake(stub);
}

void gdb_request_stop(struct gdb_stub *stub, enum gdb_stop_kind kind,
		      uint32_t vcpu)
{
	pthread_mutex_lock(&stub->lock);
	if (!stub->stopping) {
		stub->stopping = true;
		stub->stop = (struct gdb_stop){.kind = kind, .vcpu = vcpu};
	}
	pthread_mutex_unlock(&stub->lock);
	kvm_kick_vcpus(stub->vm);
}

bool gdb_stop_recorded(struct gdb_stub *stub)
{
	bool recorded;

	pthread_mutex_lock(&stub->lock);
	recorded = stub->stopping;
	pthread_mutex_unlock(&stub->lock);
	return recorded;
}

bool gdb_all_parked(struct gdb_stub *stub)
{
	bool parked = true;

	pthread_mutex_lock(&stub->lock);
	for (uint32_t i = 0; i < stub->vm->vcpu_count; i++)
		parked = parked && stub->vcpus[i].parked;
	pthread_mutex_unlock(&stub->lock);
	return parked;
}

/* The translation of guest-virtual addresses a vCPU uses. */
struct address_space {
	bool paging;
	uint64_t cr3;
};

static int load_address_space(const struct uhyve_vcpu *vcpu,
			      struct address_space *space)
{
	struct kvm_sregs sregs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	space->paging = sregs.cr0 & CR0_PG;
	space->cr3 = sregs.cr3;
	return 0;
}

/* Translates `address`, which is the gpa itself without paging. */
static int translate(const struct guest_mem *mem,
		     const struct address_space *space, uint64_t address,
		     uint64_t *gpa, uint64_t *page_remaining)
{
	if (space->paging)
		return uhyve_arch_translate(mem, space->cr3, address, gpa,
					    page_remaining);
	*gpa = address;
	*page_remaining = PAGE_SIZE_4K - (address & (PAGE_SIZE_4K - 1));
	return 0;
}

static struct gdb_sw_breakpoint *breakpoint_at(GArray *breakpoints,
					       uint64_t address)
{
	for (guint i = 0; i < breakpoints->len; i++) {
		struct gdb_sw_breakpoint *breakpoint =
		    &g_array_index(breakpoints, struct gdb_sw_breakpoint, i);

		if (breakpoint->address == address)
			return breakpoint;
	}
	return NULL;
}

/* Returns another breakpoint on the same guest-physical byte (through an
 * alias mapping), or NULL. */
static struct gdb_sw_breakpoint *
breakpoint_sharing(GArray *breakpoints, const struct gdb_sw_breakpoint *self,
		   uint64_t gpa)
{
	for (guint i = 0; i < breakpoints->len; i++) {
		struct gdb_sw_breakpoint *breakpoint =
		    &g_array_index(breakpoints, struct gdb_sw_breakpoint, i);

		if (breakpoint != self && breakpoint->gpa == gpa)
			return breakpoint;
	}
	return NULL;
}

/* Checks whether `vcpu` is at an int3 of the stub, with the lock held. */
static bool at_placed_int3(struct gdb_stub *stub, struct uhyve_vcpu *vcpu,
			   uint64_t rip)
{
	const struct guest_mem *mem = &stub->vm->mem;
	struct gdb_sw_breakpoint *breakpoint =
	    breakpoint_at(stub->breakpoints, rip);
	struct address_space space;
	uint64_t gpa;
	uint64_t remaining;
	const uint8_t *byte;

	if (!breakpoint || load_address_space(vcpu, &space))
		return false;
	if (translate(mem, &space, rip, &gpa, &remaining) ||
	    gpa != breakpoint->gpa)
		return false;
	byte = guest_mem_range(mem, gpa, 1);
	return byte && *byte == INT3;
}

bool gdb_stub_vcpu_breakpoint_hit(struct uhyve_vcpu *vcpu)
{
	struct gdb_stub *stub = vcpu->vm->gdb;
	struct gdb_stop stop = {.kind = GDB_STOP_SW_BREAK, .vcpu = vcpu->id};
	struct kvm_regs regs;
	bool hit;

	if (!stub || !atomic_load(&stub->attached))
		return false;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return false;
	pthread_mutex_lock(&stub->lock);
	hit = at_placed_int3(stub, vcpu, regs.rip);
	if (hit)
		record_stop_locked(stub, vcpu, &stop);
	pthread_mutex_unlock(&stub->lock);
	return hit;
}

/* Compares the blocks under write watchpoints with their copies from the
 * resume. A changed block becomes the stop, and its copy the new value. */
static bool watched_value_changed(struct gdb_stub *stub, struct gdb_stop *stop)
{
	for (unsigned i = 0; i < GDB_X86_DEBUG_SLOTS; i++) {
		struct gdb_watch_copy *copy = &stub->watch_copies[i];

		if (!copy->used ||
		    memcmp(copy->host, copy->value, copy->len) == 0)
			continue;
		memcpy(copy->value, copy->host, copy->len);
		stop->kind = GDB_STOP_WATCH;
		stop->watch_type = copy->type;
		stop->watch_address = copy->address;
		return true;
	}
	return false;
}

static void predict_access(struct gdb_stub *stub, struct uhyve_vcpu *vcpu);

/* Classifies the end of a single step, with the lock held. A changed
 * watched value comes first, then a read or access watchpoint that the
 * stepped instruction touched, then a step the debugger requested. A step
 * made only to check watchpoints goes on without a stop (GDB_STOP_NONE),
 * after the next instruction was checked. */
static void classify_step(struct gdb_stub *stub, struct uhyve_vcpu *vcpu,
			  struct gdb_stop *stop)
{
	struct gdb_vcpu *state = &stub->vcpus[vcpu->id];
	struct gdb_stop access_hit = state->access_hit;

	state->access_hit.kind = GDB_STOP_NONE;
	if (watched_value_changed(stub, stop))
		return;
	if (access_hit.kind == GDB_STOP_WATCH) {
		*stop = access_hit;
		return;
	}
	if (state->stepping) {
		stop->kind = GDB_STOP_STEP;
	} else if (state->watch_stepping) {
		stop->kind = GDB_STOP_NONE;
		predict_access(stub, vcpu);
	} else {
		stop->kind = GDB_STOP_TRAP;
	}
}

/* Classifies a debug exit, with the lock held. */
static void classify_debug_exit(struct gdb_stub *stub, struct uhyve_vcpu *vcpu,
				struct gdb_stop *stop)
{
	const struct kvm_debug_exit_arch *exit = &vcpu->run->debug.arch;
	const struct gdb_vcpu *state = &stub->vcpus[vcpu->id];
	unsigned slot = 0;

	switch (gdb_x86_decode_debug_exit(exit, &stub->slots, &slot)) {
	case GDB_X86_DEBUG_SLOT:
		if (stub->slots.slot[slot].type == GDB_BREAK_HARDWARE) {
			stop->kind = GDB_STOP_HW_BREAK;
			break;
		}
		stop->kind = GDB_STOP_WATCH;
		stop->watch_type = stub->slots.slot[slot].type;
		stop->watch_address = stub->slots.slot[slot].address;
		break;
	case GDB_X86_DEBUG_BREAKPOINT:
		/* NOTE: an int3 the guest placed itself is reported as a
		 * trap too, and resuming runs into it again. */
		stop->kind = at_placed_int3(stub, vcpu, exit->pc)
				 ? GDB_STOP_SW_BREAK
				 : GDB_STOP_TRAP;
		break;
	default:
		/* A #DB without a DR6 cause bit counts as the step when the
		 * vCPU was stepping. */
		if (state->stepping || state->watch_stepping)
			classify_step(stub, vcpu, stop);
		else
			stop->kind = GDB_STOP_TRAP;
		break;
	}
}

bool gdb_stub_vcpu_debug_exit(struct uhyve_vcpu *vcpu)
{
	struct gdb_stub *stub = vcpu->vm->gdb;
	struct gdb_stop stop = {.vcpu = vcpu->id};

	if (!stub || !atomic_load(&stub->attached))
		return false;
	pthread_mutex_lock(&stub->lock);
	classify_debug_exit(stub, vcpu, &stop);
	if (stop.kind != GDB_STOP_NONE)
		record_stop_locked(stub, vcpu, &stop);
	pthread_mutex_unlock(&stub->lock);
	return true;
}

void gdb_stub_vcpu_instruction_completed(struct uhyve_vcpu *vcpu)
{
	struct gdb_stub *stub = vcpu->vm->gdb;
	struct gdb_stop stop = {.vcpu = vcpu->id};
	const struct gdb_vcpu *state;

	if (!stub || !atomic_load(&stub->attached))
		return;
	state = &stub->vcpus[vcpu->id];
	pthread_mutex_lock(&stub->lock);
	if (state->stepping || state->watch_stepping) {
		classify_step(stub, vcpu, &stop);
		if (stop.kind != GDB_STOP_NONE)
			record_stop_locked(stub, vcpu, &stop);
	}
	pthread_mutex_unlock(&stub->lock);
}

/* Returns true when a read or access watchpoint is set. */
static bool access_watch_set(const struct gdb_x86_debug_slots *slots)
{
	for (unsigned i = 0; i < GDB_X86_DEBUG_SLOTS; i++) {
		if (slots->slot[i].used &&
		    (slots->slot[i].type == GDB_WATCH_READ ||
		     slots->slot[i].type == GDB_WATCH_ACCESS))
			return true;
	}
	return false;
}

/* Copies the blocks under write and access watchpoints for
 * watch_by_stepping, reading through the address space of `vcpu`. Returns
 * true when any is watched. */
static bool copy_watched_values(struct gdb_stub *stub, uint32_t vcpu)
{
	const struct guest_mem *mem = &stub->vm->mem;
	struct address_space space;
	bool any = false;

	memset(stub->watch_copies, 0, sizeof(stub->watch_copies));
	if (load_address_space(&stub->vm->vcpus[vcpu], &space))
		return false;
	for (unsigned i = 0; i < GDB_X86_DEBUG_SLOTS; i++) {
		struct gdb_watch_copy *copy = &stub->watch_copies[i];
		uint64_t gpa;
		uint64_t remaining;

		if (!stub->slots.slot[i].used ||
		    (stub->slots.slot[i].type != GDB_WATCH_WRITE &&
		     stub->slots.slot[i].type != GDB_WATCH_ACCESS))
			continue;
		copy->type = stub->slots.slot[i].type;
		copy->address = stub->slots.slot[i].address;
		copy->len = stub->slots.slot[i].len;
		/* A block is aligned to its size, so it lies on one page. */
		if (translate(mem, &space, copy->address, &gpa, &remaining))
			continue;
		copy->host = guest_mem_range(mem, gpa, copy->len);
		if (!copy->host)
			continue;
		memcpy(copy->value, copy->host, copy->len);
		copy->used = true;
		any = true;
	}
	return any;
}

static int set_guest_debug(struct gdb_stub *stub, const struct uhyve_vcpu *vcpu,
			   bool step)
{
	struct kvm_guest_debug debug = {
	    .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP,
	};

	/* NOTE: watchpoints in DR0-DR3 are only exercised on hardware KVM,
	 * since kvm_pvm ignores them and watch_by_stepping is used there. */
	if (gdb_x86_slots_used(&stub->slots)) {
		debug.control |= KVM_GUESTDBG_USE_HW_BP;
		gdb_x86_slots_encode(&stub->slots, &debug);
	}
	if (step)
		debug.control |= KVM_GUESTDBG_SINGLESTEP | stub->blockirq;
	if (ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG, &debug) < 0)
		return -errno;
	return 0;
}

/* Moves the pending stop of a vCPU about to resume to stub->stop. */
static bool take_pending_stop(struct gdb_stub *stub,
			      const enum gdb_resume *actions)
{
	for (uint32_t i = 0; i < stub->vm->vcpu_count; i++) {
		struct gdb_vcpu *state = &stub->vcpus[i];

		if (actions[i] == GDB_RESUME_STAY ||
		    state->pending.kind == GDB_STOP_NONE)
			continue;
		stub->stop = state->pending;
		state->pending.kind = GDB_STOP_NONE;
		return true;
	}
	return false;
}

int gdb_release_vcpus(struct gdb_stub *stub, const enum gdb_resume *actions)
{
	struct uhyve_vm *vm = stub->vm;
	bool watching;
	bool pending;
	int rc;

	pthread_mutex_lock(&stub->lock);
	pending = take_pending_stop(stub, actions);
	watching = !pending && stub->watch_by_stepping &&
		   copy_watched_values(stub, stub->stop.vcpu);
	watching = watching || (!pending && stub->watch_by_stepping &&
				access_watch_set(&stub->slots));
	pthread_mutex_unlock(&stub->lock);
	if (pending)
		return 0;

	for (uint32_t i = 0; i < vm->vcpu_count; i++) {
		rc = set_guest_debug(
		    stub, &vm->vcpus[i],
		    actions[i] == GDB_RESUME_STEP ||
			(actions[i] != GDB_RESUME_STAY && watching));
		if (rc)
			return rc;
	}

	pthread_mutex_lock(&stub->lock);
	stub->stopping = false;
	stub->stop.kind = GDB_STOP_NONE;
	for (uint32_t i = 0; i < vm->vcpu_count; i++) {
		stub->vcpus[i].released = actions[i] != GDB_RESUME_STAY;
		stub->vcpus[i].stepping = actions[i] == GDB_RESUME_STEP;
		stub->vcpus[i].watch_stepping =
		    actions[i] == GDB_RESUME_CONTINUE && watching;
		stub->vcpus[i].access_hit.kind = GDB_STOP_NONE;
		if (actions[i] != GDB_RESUME_STAY)
			predict_access(stub, &vm->vcpus[i]);
	}
	pthread_cond_broadcast(&stub->resume);
	pthread_mutex_unlock(&stub->lock);
	return 1;
}

static void restore_original(struct gdb_stub *stub,
			     const struct gdb_sw_breakpoint *breakpoint)
{
	uint8_t *byte = guest_mem_range(&stub->vm->mem, breakpoint->gpa, 1);

	if (byte &&
	    !breakpoint_sharing(stub->breakpoints, breakpoint, breakpoint->gpa))
		*byte = breakpoint->original;
}

void gdb_detach_vcpus(struct gdb_stub *stub)
{
	struct uhyve_vm *vm = stub->vm;
	struct kvm_guest_debug off = {0};

	pthread_mutex_lock(&stub->lock);
	while (stub->breakpoints->len > 0) {
		guint last = stub->breakpoints->len - 1;

		restore_original(stub, &g_array_index(stub->breakpoints,
						      struct gdb_sw_breakpoint,
						      last));
		g_array_remove_index(stub->breakpoints, last);
	}
	memset(&stub->slots, 0, sizeof(stub->slots));
	memset(stub->watch_copies, 0, sizeof(stub->watch_copies));
	pthread_mutex_unlock(&stub->lock);

	for (uint32_t i = 0; i < vm->vcpu_count; i++) {
		if (ioctl(vm->vcpus[i].fd, KVM_SET_GUEST_DEBUG, &off) < 0)
			vm_log(vm, UHYVE_LOG_WARNING,
			       "turning guest debugging off on vCPU %u "
			       "failed: %s",
			       i, strerror(errno));
	}

	pthread_mutex_lock(&stub->lock);
	atomic_store(&stub->attached, false);
	stub->stopping = false;
	for (uint32_t i = 0; i < vm->vcpu_count; i++)
		stub->vcpus[i].released = true;
	pthread_cond_broadcast(&stub->resume);
	pthread_mutex_unlock(&stub->lock);
}

/* Puts the original bytes of the stub's int3s inside [gpa, gpa + len)
 * into `data`, the copy of that range. */
static void hide_breakpoints(const struct gdb_stub *stub, uint64_t gpa,
			     uint8_t *data, uint64_t len)
{
	for (guint i = 0; i < stub->breakpoints->len; i++) {
		const struct gdb_sw_breakpoint *breakpoint = &g_array_index(
		    stub->breakpoints, struct gdb_sw_breakpoint, i);

		if (breakpoint->gpa >= gpa && breakpoint->gpa - gpa < len)
			data[breakpoint->gpa - gpa] = breakpoint->original;
	}
}

/* Finds the host bytes behind the part of [address, address + len) that
 * lies on one guest page. Returns NULL when `address` is unmapped, outside
 * guest memory, or the range wraps around. */
static uint8_t *map_chunk(const struct guest_mem *mem,
			  const struct address_space *space, uint64_t address,
			  uint64_t len, uint64_t *gpa, uint64_t *chunk)
{
	uint64_t remaining;

	if (address + len < address)
		return NULL;
	if (translate(mem, space, address, gpa, &remaining))
		return NULL;
	*chunk = len < remaining ? len : remaining;
	return guest_mem_range(mem, *gpa, *chunk);
}

/* Reads like gdb_memory_read() through the translation `space`. */
static size_t read_in_space(struct gdb_stub *stub,
			    const struct address_space *space, uint64_t address,
			    uint8_t *data, size_t len)
{
	const struct guest_mem *mem = &stub->vm->mem;
	size_t done = 0;

	while (done < len) {
		uint64_t gpa;
		uint64_t chunk;
		const uint8_t *host = map_chunk(mem, space, address + done,
						len - done, &gpa, &chunk);

		if (!host)
			break;
		memcpy(data + done, host, chunk);
		hide_breakpoints(stub, gpa, data + done, chunk);
		done += chunk;
	}
	return done;
}

size_t gdb_memory_read(struct gdb_stub *stub, uint32_t vcpu, uint64_t address,
		       uint8_t *data, size_t len)
{
	struct address_space space;

	if (load_address_space(&stub->vm->vcpus[vcpu], &space))
		return 0;
	return read_in_space(stub, &space, address, data, len);
}

/* Stores in *hit the first read or access watchpoint that `access`
 * touches, at the first watched byte it touches. */
static bool find_access_hit(const struct gdb_x86_debug_slots *slots,
			    const struct gdb_x86_access *access,
			    struct gdb_stop *hit)
{
	for (unsigned i = 0; i < GDB_X86_DEBUG_SLOTS; i++) {
		uint64_t first = slots->slot[i].address;
		uint64_t last = first + slots->slot[i].len - 1;

		if (!slots->slot[i].used ||
		    !(slots->slot[i].type == GDB_WATCH_ACCESS ||
		      (slots->slot[i].type == GDB_WATCH_READ && access->read)))
			continue;
		if (access->first > last || access->last < first)
			continue;
		hit->kind = GDB_STOP_WATCH;
		hit->watch_type = slots->slot[i].type;
		hit->watch_address =
		    access->first > first ? access->first : first;
		return true;
	}
	return false;
}

/* Decodes the instruction at the rip of `vcpu`, which is not in KVM_RUN,
 * and records in its access_hit whether it touches a read or access
 * watchpoint. With the lock held. An instruction whose bytes cannot be
 * read faults at the fetch and accesses nothing. */
static void predict_access(struct gdb_stub *stub, struct uhyve_vcpu *vcpu)
{
	struct gdb_vcpu *state = &stub->vcpus[vcpu->id];
	struct gdb_x86_access accesses[GDB_X86_MAX_ACCESSES];
	uint8_t bytes[MAX_INSTRUCTION_LENGTH];
	struct address_space space;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	unsigned count;

	state->access_hit = (struct gdb_stop){.vcpu = vcpu->id};
	if (!stub->watch_by_stepping || !access_watch_set(&stub->slots))
		return;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return;
	space.paging = sregs.cr0 & CR0_PG;
	space.cr3 = sregs.cr3;
	count = gdb_x86_instruction_accesses(
	    bytes,
	    (unsigned)read_in_space(stub, &space, regs.rip, bytes,
				    sizeof(bytes)),
	    &regs, &sregs, accesses);
	for (unsigned i = 0; i < count; i++) {
		if (find_access_hit(&stub->slots, &accesses[i],
				    &state->access_hit))
			return;
	}
}

void gdb_stub_vcpu_limit_fallback(struct uhyve_vcpu *vcpu)
{
	struct gdb_stub *stub = vcpu->vm->gdb;
	bool one_at_a_time = false;

	if (!stub || !vcpu->fallback)
		return;
	if (atomic_load(&stub->attached)) {
		const struct gdb_vcpu *state = &stub->vcpus[vcpu->id];

		pthread_mutex_lock(&stub->lock);
		one_at_a_time = state->stepping || state->watch_stepping ||
				gdb_x86_slots_used(&stub->slots);
		pthread_mutex_unlock(&stub->lock);
	}
	uhyve_fallback_set_max_batch(
	    vcpu->fallback,
	    one_at_a_time ? 1 : UHYVE_FALLBACK_DEFAULT_MAX_BATCH);
}

/* Copies one chunk into guest memory. An int3 of the stub stays in place,
 * and the new byte becomes the one it restores. */
static void write_chunk(struct gdb_stub *stub, uint8_t *host, uint64_t gpa,
			const uint8_t *data, uint64_t len)
{
	memcpy(host, data, len);
	for (guint i = 0; i < stub->breakpoints->len; i++) {
		struct gdb_sw_breakpoint *breakpoint = &g_array_index(
		    stub->breakpoints, struct gdb_sw_breakpoint, i);

		if (breakpoint->gpa < gpa || breakpoint->gpa - gpa >= len)
			continue;
		breakpoint->original = data[breakpoint->gpa - gpa];
		host[breakpoint->gpa - gpa] = INT3;
	}
}

int gdb_memory_write(struct gdb_stub *stub, uint32_t vcpu, uint64_t address,
		     const uint8_t *data, size_t len)
{
	const struct guest_mem *mem = &stub->vm->mem;
	struct address_space space;
	uint64_t gpa;
	uint64_t chunk;
	size_t done;

	if (load_address_space(&stub->vm->vcpus[vcpu], &space))
		return -EFAULT;
	/* Check every page first, so that a write is all or nothing. */
	for (done = 0; done < len; done += chunk) {
		if (!map_chunk(mem, &space, address + done, len - done, &gpa,
			       &chunk))
			return -EFAULT;
	}

	pthread_mutex_lock(&stub->lock);
	for (done = 0; done < len; done += chunk) {
		uint8_t *host = map_chunk(mem, &space, address + done,
					  len - done, &gpa, &chunk);

		write_chunk(stub, host, gpa, data + done, chunk);
	}
	pthread_mutex_unlock(&stub->lock);
	return 0;
}

int gdb_sw_breakpoint_insert(struct gdb_stub *stub, uint32_t vcpu,
			     uint64_t address)
{
	const struct guest_mem *mem = &stub->vm->mem;
	struct gdb_sw_breakpoint breakpoint = {.address = address};
	const struct gdb_sw_breakpoint *alias;
	struct address_space space;
	uint64_t remaining;
	uint8_t *byte;

	if (breakpoint_at(stub->breakpoints, address))
		return 0;
	if (stub->breakpoints->len >= GDB_MAX_SW_BREAKPOINTS)
		return -ENOSPC;
	if (load_address_space(&stub->vm->vcpus[vcpu], &space) ||
	    translate(mem, &space, address, &breakpoint.gpa, &remaining))
		return -EFAULT;
	byte = guest_mem_range(mem, breakpoint.gpa, 1);
	if (!byte)
		return -EFAULT;

	alias = breakpoint_sharing(stub->breakpoints, NULL, breakpoint.gpa);
	breakpoint.original = alias ? alias->original : *byte;
	pthread_mutex_lock(&stub->lock);
	g_array_append_val(stub->breakpoints, breakpoint);
	*byte = INT3;
	pthread_mutex_unlock(&stub->lock);
	return 0;
}

int gdb_sw_breakpoint_remove(struct gdb_stub *stub, uint64_t address)
{
	struct gdb_sw_breakpoint *breakpoint =
	    breakpoint_at(stub->breakpoints, address);

	if (!breakpoint)
		return -ENOENT;
	pthread_mutex_lock(&stub->lock);
	restore_original(stub, breakpoint);
	g_array_remove_index_fast(
	    stub->breakpoints,
	    (guint)(breakpoint - &g_array_index(stub->breakpoints,
						struct gdb_sw_breakpoint, 0)));
	pthread_mutex_unlock(&stub->lock);
	return 0;
}
