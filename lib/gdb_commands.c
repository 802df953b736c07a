/* GDB stub packets: registers, memory, breakpoints, threads and resuming. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gdb_stub_internal.h"
#include "uhyve_private.h"

/* qSupported reply: the packet size and the features GDB may use. */
#define SUPPORTED_FEATURES                                                     \
	"PacketSize=4000;qXfer:features:read+;swbreak+;hwbreak+"

static struct uhyve_vcpu *general_vcpu(struct gdb_stub *stub)
{
	return &stub->vm->vcpus[stub->general_vcpu];
}

/* Returns the vCPU index of a positive thread id, or -1. */
static int64_t thread_vcpu(const struct gdb_stub *stub, int64_t thread)
{
	if (thread < 1 || thread > (int64_t)stub->vm->vcpu_count)
		return -1;
	return thread - 1;
}

static void send_hex(struct gdb_stub *stub, const uint8_t *data, size_t len)
{
	gdb_hex_encode(data, len, stub->reply);
	gdb_send_packet(stub, stub->reply, 2 * len);
}

static void read_registers(struct gdb_stub *stub)
{
	struct gdb_x86_registers registers;
	int rc = gdb_x86_registers_load(general_vcpu(stub)->fd, &registers);

	if (rc) {
		gdb_send_error(stub, rc);
		return;
	}
	gdb_x86_registers_get_all(&registers, stub->scratch);
	send_hex(stub, stub->scratch, GDB_X86_REGISTERS_SIZE);
}

static void write_registers(struct gdb_stub *stub, const char *hex)
{
	struct gdb_x86_registers registers;
	int rc;

	if (strlen(hex) != 2 * GDB_X86_REGISTERS_SIZE ||
	    !gdb_hex_decode(hex, GDB_X86_REGISTERS_SIZE, stub->scratch)) {
		gdb_send_error(stub, EINVAL);
		return;
	}
	rc = gdb_x86_registers_load(general_vcpu(stub)->fd, &registers);
	if (rc == 0)
		rc = gdb_x86_registers_set_all(&registers, stub->scratch);
	if (rc == 0)
		rc =
		    gdb_x86_registers_store(general_vcpu(stub)->fd, &registers);
	if (rc) {
		gdb_send_error(stub, rc);
		return;
	}
	gdb_send_text(stub, "OK");
}

static void read_register(struct gdb_stub *stub, const char *args)
{
	struct gdb_x86_registers registers;
	uint8_t value[GDB_X86_REGISTER_MAX];
	uint64_t number;
	size_t size;
	int rc;

	if (!gdb_parse_hex(&args, &number) || *args != '\0' ||
	    gdb_x86_register_size((unsigned)number) == 0 ||
	    number >= GDB_X86_REGISTER_COUNT) {
		gdb_send_error(stub, EINVAL);
		return;
	}
	rc = gdb_x86_registers_load(general_vcpu(stub)->fd, &registers);
	if (rc) {
		gdb_send_error(stub, rc);
		return;
	}
	size = gdb_x86_register_get(&registers, (unsigned)number, value);
	send_hex(stub, value, size);
}

static void write_register(struct gdb_stub *stub, const char *args)
{
	struct gdb_x86_registers registers;
	uint8_t value[GDB_X86_REGISTER_MAX];
	uint64_t number;
	size_t size;
	int rc;

	if (!gdb_parse_hex(&args, &number) || *args != '=' ||
	    number >= GDB_X86_REGISTER_COUNT) {
		gdb_send_error(stub, EINVAL);
		return;
	}
	args++;
	size = gdb_x86_register_size((unsigned)number);
	if (strlen(args) != 2 * size || !gdb_hex_decode(args, size, value)) {
		gdb_send_error(stub, EINVAL);
		return;
	}
	rc = gdb_x86_registers_load(general_vcpu(stub)->fd, &registers);
	if (rc == 0)
		rc = gdb_x86_register_set(&registers, (unsigned)number, value);
	if (rc == 0)
		rc =
		    gdb_x86_registers_store(general_vcpu(stub)->fd, &registers);
	if (rc) {
		gdb_send_error(stub, rc);
		return;
	}
	gdb_send_text(stub, "OK");
}

/* "m ADDR,LENGTH". A read longer than a reply can carry returns its start,
 * and one that reaches unmapped memory returns the bytes before it. */
static void read_memory(struct gdb_stub *stub, const char *args)
{
	uint64_t address;
	uint64_t length;
	size_t done;

	if (!gdb_parse_address_length(args, &address, &length, &args) ||
	    *args != '\0') {
		gdb_send_error(stub, EINVAL);
		return;
	}
	if (length > GDB_PACKET_SIZE / 2)
		length = GDB_PACKET_SIZE / 2;
	done = gdb_memory_read(stub, stub->general_vcpu, address, stub->scratch,
			       length);
	if (done == 0 && length > 0) {
		gdb_send_error(stub, EFAULT);
		return;
	}
	send_hex(stub, stub->scratch, done);
}

static void finish_write(struct gdb_stub *stub, uint64_t address,
			 uint64_t length)
{
	int rc = gdb_memory_write(stub, stub->general_vcpu, address,
				  stub->scratch, length);

	if (rc) {
		gdb_send_error(stub, rc);
		return;
	}
	gdb_send_text(stub, "OK");
}

/* "M ADDR,LENGTH:HEX" */
static void write_memory(struct gdb_stub *stub, const char *args)
{
	uint64_t address;
	uint64_t length;

	if (!gdb_parse_address_length(args, &address, &length, &args) ||
	    *args != ':' || length > GDB_PACKET_SIZE / 2 ||
	    strlen(args + 1) != 2 * length ||
	    !gdb_hex_decode(args + 1, length, stub->scratch)) {
		gdb_send_error(stub, EINVAL);
		return;
	}
	finish_write(stub, address, length);
}

/* "X ADDR,LENGTH:BINARY", where the binary data may contain NUL bytes. */
static void write_binary_memory(struct gdb_stub *stub, char *packet, size_t len)
{
	const char *args;
	uint64_t address;
	uint64_t length;
	char *data;
	long data_len;

	if (!gdb_parse_address_length(packet + 1, &address, &length, &args) ||
	    *args != ':') {
		gdb_send_error(stub, EINVAL);
		return;
	}
	data = (char *)args + 1;
	data_len = gdb_packet_unescape(data, len - (size_t)(data - packet));
	if (data_len < 0 || (uint64_t)data_len != length) {
		gdb_send_error(stub, EINVAL);
		return;
	}
	memcpy(stub->scratch, data, (size_t)data_len);
	finish_write(stub, address, length);
}

static void set_thread(struct gdb_stub *stub, const char *args)
{
	char operation = args[0];
	const char *p = args + 1;
	int64_t thread;
	int64_t vcpu = 0;

	if ((operation != 'g' && operation != 'c') ||
	    !gdb_parse_thread_id(&p, &thread) || *p != '\0') {
		gdb_send_error(stub, EINVAL);
		return;
	}
	if (thread > 0) {
		vcpu = thread_vcpu(stub, thread);
		if (vcpu < 0) {
			gdb_send_error(stub, EINVAL);
			return;
		}
	}
	if (operation == 'g' && thread > 0)
		stub->general_vcpu = (uint32_t)vcpu;
	if (operation == 'c')
		stub->continue_thread = thread > 0 ? thread : GDB_THREAD_ALL;
	gdb_send_text(stub, "OK");
}

static void thread_alive(struct gdb_stub *stub, const char *args)
{
	int64_t thread;

	if (!gdb_parse_thread_id(&args, &thread) || *args != '\0' ||
	    thread_vcpu(stub, thread) < 0) {
		gdb_send_error(stub, EINVAL);
		return;
	}
	gdb_send_text(stub, "OK");
}

static void change_breakpoint(struct gdb_stub *stub, bool insert,
			      const char *args)
{
	enum gdb_break_type type;
	uint64_t address;
	uint64_t kind;
	int rc;

	if (!gdb_parse_breakpoint(args, &type, &address, &kind)) {
		gdb_send_error(stub, EINVAL);
		return;
	}
	if (type == GDB_BREAK_SOFTWARE) {
		rc = insert ? gdb_sw_breakpoint_insert(stub, stub->general_vcpu,
						       address)
			    : gdb_sw_breakpoint_remove(stub, address);
	} else {
		/* The slots take effect when the vCPUs resume. */
		pthread_mutex_lock(&stub->lock);
		rc = insert ? gdb_x86_slots_insert(&stub->slots, type, address,
						   kind)
			    : gdb_x86_slots_remove(&stub->slots, type, address,
						   kind);
		pthread_mutex_unlock(&stub->lock);
	}
	if (rc) {
		gdb_send_error(stub, rc);
		return;
	}
	gdb_send_text(stub, "OK");
}

/* Moves the rip of `vcpu` to `address` ("c ADDR", "s ADDR"). */
static int set_rip(struct gdb_stub *stub, uint32_t vcpu, uint64_t address)
{
	struct gdb_x86_registers registers;
	uint8_t value[8];
	int rc = gdb_x86_registers_load(stub->vm->vcpus[vcpu].fd, &registers);

	memcpy(value, &address, sizeof(value));
	if (rc == 0)
		rc = gdb_x86_register_set(&registers, GDB_X86_REGISTER_RIP,
					  value);
	if (rc == 0)
		rc = gdb_x86_registers_store(stub->vm->vcpus[vcpu].fd,
					     &registers);
	return rc;
}

/*
 * "c [ADDR]", "s [ADDR]" and their "C SIG[;ADDR]", "S SIG[;ADDR]" forms:
 * every vCPU continues, and for a step the Hc thread (else the current one)
 * steps. The guest has no signals, so SIG is dropped.
 */
static void resume_simple(struct gdb_stub *stub, const char *packet)
{
	bool step = packet[0] == 's' || packet[0] == 'S';
	uint32_t vcpu = stub->continue_thread > 0
			    ? (uint32_t)(stub->continue_thread - 1)
			    : stub->general_vcpu;
	const char *p = packet + 1;
	enum gdb_resume *actions;
	uint64_t value;
	int rc;

	if (packet[0] == 'C' || packet[0] == 'S') {
		if (!gdb_parse_hex(&p, &value) || (*p != ';' && *p != '\0')) {
			gdb_send_error(stub, EINVAL);
			return;
		}
		if (*p == ';')
			p++;
	}
	if (*p != '\0') {
		if (!gdb_parse_hex(&p, &value) || *p != '\0') {
			gdb_send_error(stub, EINVAL);
			return;
		}
		rc = set_rip(stub, vcpu, value);
		if (rc) {
			gdb_send_error(stub, rc);
			return;
		}
	}

	actions = g_new(enum gdb_resume, stub->vm->vcpu_count);
	for (uint32_t i = 0; i < stub->vm->vcpu_count; i++)
		actions[i] = GDB_RESUME_CONTINUE;
	if (step)
		actions[vcpu] = GDB_RESUME_STEP;
	gdb_resume_guest(stub, actions);
	g_free(actions);
}

/* Gives each vCPU the leftmost action whose thread matches it. vCPUs that
 * no action names stay stopped. */
static bool vcont_actions(struct gdb_stub *stub,
			  const struct gdb_vcont_action *list, int count,
			  enum gdb_resume *actions)
{
	for (uint32_t i = 0; i < stub->vm->vcpu_count; i++)
		actions[i] = GDB_RESUME_STAY;
	for (int i = count - 1; i >= 0; i--) {
		enum gdb_resume action =
		    list[i].kind == 's' ? GDB_RESUME_STEP : GDB_RESUME_CONTINUE;
		int64_t vcpu;

		if (list[i].thread == GDB_THREAD_ALL) {
			for (uint32_t j = 0; j < stub->vm->vcpu_count; j++)
				actions[j] = action;
			continue;
		}
		vcpu = thread_vcpu(stub, list[i].thread);
		if (vcpu < 0)
			return false;
		actions[vcpu] = action;
	}
	return true;
}

static void resume_vcont(struct gdb_stub *stub, const char *args)
{
	uint32_t vcpu_count = stub->vm->vcpu_count;
	size_t capacity = 2 * (size_t)vcpu_count + 2;
	struct gdb_vcont_action *list =
	    g_new(struct gdb_vcont_action, capacity);
	enum gdb_resume *actions = g_new(enum gdb_resume, vcpu_count);
	int count = gdb_parse_vcont(args, list, capacity);

	if (count < 0 || !vcont_actions(stub, list, count, actions))
		gdb_send_error(stub, EINVAL);
	else
		gdb_resume_guest(stub, actions);
	g_free(actions);
	g_free(list);
}

static void kill_guest(struct gdb_stub *stub, bool reply)
{
	vm_log(stub->vm, UHYVE_LOG_INFO, "GDB killed the guest");
	if (reply)
		gdb_send_text(stub, "OK");
	vm_end_run(stub->vm, RUN_END_STOP, 0, -1);
	gdb_disconnect(stub);
}

static void handle_v_packet(struct gdb_stub *stub, const char *packet)
{
	if (strcmp(packet, "vCont?") == 0)
		gdb_send_text(stub, "vCont;c;C;s;S");
	else if (strncmp(packet, "vCont;", 6) == 0)
		resume_vcont(stub, packet + 5);
	else if (strncmp(packet, "vKill", 5) == 0)
		kill_guest(stub, true);
	else
		gdb_send_text(stub, "");
}

static void send_thread_list(struct gdb_stub *stub)
{
	size_t len = 0;

	stub->reply[len++] = 'm';
	for (uint32_t i = 0; i < stub->vm->vcpu_count; i++) {
		int written =
		    snprintf(stub->reply + len, sizeof(stub->reply) - len,
			     "%s%x", i ? "," : "", i + 1);

		if (written < 0 || (size_t)written >= sizeof(stub->reply) - len)
			break;
		len += (size_t)written;
	}
	gdb_send_packet(stub, stub->reply, len);
}

static void send_thread_extra_info(struct gdb_stub *stub, const char *args)
{
	char text[32];
	int64_t thread;
	int64_t vcpu;
	int len;

	if (!gdb_parse_thread_id(&args, &thread) || *args != '\0' ||
	    (vcpu = thread_vcpu(stub, thread)) < 0) {
		gdb_send_error(stub, EINVAL);
		return;
	}
	len = snprintf(text, sizeof(text), "vCPU %lld", (long long)vcpu);
	send_hex(stub, (const uint8_t *)text, (size_t)len);
}

/* "TextSeg" is where the kernel's first segment was loaded. GDB moves every
 * section by that segment's distance from its ELF address, which is the
 * distance of every segment. */
static void send_offsets(struct gdb_stub *stub)
{
	const struct uhyve_vm *vm = stub->vm;
	char text[32];

	snprintf(
	    text, sizeof(text), "TextSeg=%llx",
	    (unsigned long long)(gdb_symbol_offset(vm) + vm->image.load_start));
	gdb_send_text(stub, text);
}

/* "qXfer:features:read:ANNEX:OFFSET,LENGTH" serves "target.xml" in pieces:
 * "m" + data when more follows, "l" + data for the last piece. */
static void send_target_description(struct gdb_stub *stub, const char *args)
{
	static const char annex[] = "target.xml:";
	const char *xml = gdb_x86_target_xml();
	size_t xml_len = strlen(xml);
	uint64_t offset;
	uint64_t length;

	if (strncmp(args, annex, sizeof(annex) - 1) != 0) {
		gdb_send_error(stub, ENOENT);
		return;
	}
	if (!gdb_parse_address_length(args + sizeof(annex) - 1, &offset,
				      &length, &args) ||
	    *args != '\0' || offset > xml_len) {
		gdb_send_error(stub, EINVAL);
		return;
	}
	/* Escapes may double the data, so half a packet is what fits. */
	if (length > GDB_PACKET_SIZE / 2 - 1)
		length = GDB_PACKET_SIZE / 2 - 1;
	if (length > xml_len - offset)
		length = xml_len - offset;
	stub->reply[0] = offset + length < xml_len ? 'm' : 'l';
	memcpy(stub->reply + 1, xml + offset, length);
	gdb_send_packet(stub, stub->reply, 1 + length);
}

static void handle_query(struct gdb_stub *stub, const char *packet)
{
	static const char xfer[] = "qXfer:features:read:";
	static const char extra[] = "qThreadExtraInfo,";
	char text[32];

	if (strncmp(packet, "qSupported", 10) == 0) {
		gdb_send_text(stub, SUPPORTED_FEATURES);
	} else if (strncmp(packet, xfer, sizeof(xfer) - 1) == 0) {
		send_target_description(stub, packet + sizeof(xfer) - 1);
	} else if (strcmp(packet, "qfThreadInfo") == 0) {
		send_thread_list(stub);
	} else if (strcmp(packet, "qsThreadInfo") == 0) {
		gdb_send_text(stub, "l");
	} else if (strcmp(packet, "qC") == 0) {
		snprintf(text, sizeof(text), "QC%x", stub->general_vcpu + 1);
		gdb_send_text(stub, text);
	} else if (strncmp(packet, extra, sizeof(extra) - 1) == 0) {
		send_thread_extra_info(stub, packet + sizeof(extra) - 1);
	} else if (strcmp(packet, "qOffsets") == 0) {
		send_offsets(stub);
	} else if (strncmp(packet, "qAttached", 9) == 0) {
		/* "Attached", so quitting GDB detaches and the guest runs on.
		 */
		gdb_send_text(stub, "1");
	} else {
		gdb_send_text(stub, "");
	}
}

static void detach(struct gdb_stub *stub)
{
	gdb_send_text(stub, "OK");
	/* The serving loop detaches once the connection is closed. */
	gdb_disconnect(stub);
}

void gdb_handle_packet(struct gdb_stub *stub, char *packet, size_t len)
{
	/* Only X carries binary data, so elsewhere a NUL byte is malformed. */
	if (len == 0) {
		gdb_send_text(stub, "");
		return;
	}
	if (packet[0] != 'X' && strlen(packet) != len) {
		gdb_send_error(stub, EINVAL);
		return;
	}
	switch (packet[0]) {
	case '?':
		gdb_send_stop_reply(stub);
		break;
	case 'g':
		read_registers(stub);
		break;
	case 'G':
		write_registers(stub, packet + 1);
		break;
	case 'p':
		read_register(stub, packet + 1);
		break;
	case 'P':
		write_register(stub, packet + 1);
		break;
	case 'm':
		read_memory(stub, packet + 1);
		break;
	case 'M':
		write_memory(stub, packet + 1);
		break;
	case 'X':
		write_binary_memory(stub, packet, len);
		break;
	case 'c':
	case 'C':
	case 's':
	case 'S':
		resume_simple(stub, packet);
		break;
	case 'v':
		handle_v_packet(stub, packet);
		break;
	case 'q':
		handle_query(stub, packet);
		break;
	case 'H':
		set_thread(stub, packet + 1);
		break;
	case 'T':
		thread_alive(stub, packet + 1);
		break;
	case 'Z':
	case 'z':
		change_breakpoint(stub, packet[0] == 'Z', packet + 1);
		break;
	case 'D':
		detach(stub);
		break;
	case 'k':
		kill_guest(stub, false);
		break;
	default:
		gdb_send_text(stub, "");
		break;
	}
}
