/* GDB stub connection: listening, the serving loop and sending replies. */
#include "gdb_stub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gdb_stub_internal.h"
#include "uhyve_private.h"

/* How long a send may wait for the debugger to read, before the stub gives
 * up on it as if it had disconnected. */
#define SEND_TIMEOUT_MS 10000

#define RECEIVE_BUFFER_SIZE 4096

static bool run_ended(const struct uhyve_vm *vm)
{
	return atomic_load(&vm->run_end) != RUN_END_NONE;
}

uint64_t gdb_symbol_offset(const struct uhyve_vm *vm)
{
	return vm->image.relocatable ? vm->layout.kernel_addr : 0;
}

void gdb_disconnect(struct gdb_stub *stub)
{
	if (stub->conn_fd < 0)
		return;
	close(stub->conn_fd);
	stub->conn_fd = -1;
}

/* Waits until the socket takes more bytes. Returns false on a timeout or
 * an error. */
static bool wait_writable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int rc;

	do {
		rc = poll(&pfd, 1, SEND_TIMEOUT_MS);
	} while (rc < 0 && errno == EINTR);
	return rc > 0 && !(pfd.revents & (POLLERR | POLLHUP | POLLNVAL));
}

/* Sends some of `len` bytes. Returns how many, 0 when the call is to be
 * repeated, or -1 with a reason for closing the connection in *failure. */
static ssize_t send_some(int fd, const char *data, size_t len,
			 const char **failure)
{
	ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

	if (n > 0)
		return n;
	if (n < 0 && errno == EINTR)
		return 0;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		if (wait_writable(fd))
			return 0;
		*failure = "timed out";
		return -1;
	}
	*failure = n < 0 ? strerror(errno) : "nothing was sent";
	return -1;
}

static void send_bytes(struct gdb_stub *stub, const char *data, size_t len)
{
	const char *failure = NULL;
	size_t sent = 0;

	while (stub->conn_fd >= 0 && sent < len) {
		ssize_t n =
		    send_some(stub->conn_fd, data + sent, len - sent, &failure);

		if (n >= 0) {
			sent += (size_t)n;
			continue;
		}
		vm_log(stub->vm, UHYVE_LOG_WARNING,
		       "sending to the GDB client failed: %s. The stub closes "
		       "the connection and the guest runs on",
		       failure);
		gdb_disconnect(stub);
	}
}

void gdb_send_packet(struct gdb_stub *stub, const char *payload, size_t len)
{
	stub->frame_len =
	    gdb_packet_frame(payload, len, stub->frame, sizeof(stub->frame));
	send_bytes(stub, stub->frame, stub->frame_len);
}

void gdb_send_text(struct gdb_stub *stub, const char *text)
{
	gdb_send_packet(stub, text, strlen(text));
}

void gdb_send_error(struct gdb_stub *stub, int code)
{
	char text[8];

	snprintf(text, sizeof(text), "E%02x", (unsigned)abs(code) & 0xff);
	gdb_send_text(stub, text);
}

static const char *watch_name(enum gdb_break_type type)
{
	switch (type) {
	case GDB_WATCH_READ:
		return "rwatch";
	case GDB_WATCH_ACCESS:
		return "awatch";
	default:
		return "watch";
	}
}

void gdb_send_stop_reply(struct gdb_stub *stub)
{
	const struct gdb_stop *stop = &stub->stop;
	int signal =
	    stop->kind == GDB_STOP_INTERRUPT ? GDB_SIGNAL_INT : GDB_SIGNAL_TRAP;
	char text[96];
	int len = snprintf(text, sizeof(text), "T%02xthread:%x;", signal,
			   stop->vcpu + 1);

	switch (stop->kind) {
	case GDB_STOP_SW_BREAK:
		snprintf(text + len, sizeof(text) - len, "swbreak:;");
		break;
	case GDB_STOP_HW_BREAK:
		snprintf(text + len, sizeof(text) - len, "hwbreak:;");
		break;
	case GDB_STOP_WATCH:
		snprintf(text + len, sizeof(text) - len, "%s:%llx;",
			 watch_name(stop->watch_type),
			 (unsigned long long)stop->watch_address);
		break;
	default:
		break;
	}
	gdb_send_text(stub, text);
}

void gdb_resume_guest(struct gdb_stub *stub, const enum gdb_resume *actions)
{
	int rc = gdb_release_vcpus(stub, actions);

	if (rc < 0) {
		vm_log(stub->vm, UHYVE_LOG_WARNING,
		       "KVM_SET_GUEST_DEBUG failed: %s", strerror(-rc));
		gdb_send_error(stub, rc);
		return;
	}
	if (rc == 0) {
		/* A stop was pending for this resume, so it is reported
		 * at once. */
		stub->general_vcpu = stub->stop.vcpu;
		stub->last_stop_vcpu = stub->stop.vcpu;
		gdb_send_stop_reply(stub);
		return;
	}
	stub->state = GDB_RUNNING;
	stub->reply_pending = true;
}

/* Tells a waiting debugger how the run ended: "W" with the exit code, or
 * "X" with the signal GDB shows for a stop or a crash. */
static void report_run_end(struct gdb_stub *stub)
{
	struct uhyve_vm *vm = stub->vm;
	char text[8];
	int exit_code;

	if (!stub->reply_pending || stub->conn_fd < 0)
		return;
	pthread_mutex_lock(&vm->lock);
	exit_code = vm->exit_code;
	pthread_mutex_unlock(&vm->lock);

	switch (atomic_load(&vm->run_end)) {
	case RUN_END_EXIT:
		snprintf(text, sizeof(text), "W%02x", exit_code & 0xff);
		break;
	case RUN_END_STOP:
		snprintf(text, sizeof(text), "X%02x", GDB_SIGNAL_KILL);
		break;
	default:
		snprintf(text, sizeof(text), "X%02x", GDB_SIGNAL_SEGV);
		break;
	}
	gdb_send_text(stub, text);
}

static void handle_input(struct gdb_stub *stub, enum gdb_input input)
{
	switch (input) {
	case GDB_INPUT_PACKET:
		send_bytes(stub, "+", 1);
		if (stub->state == GDB_STOPPED)
			gdb_handle_packet(stub, stub->parser.payload,
					  stub->parser.len);
		else
			/* All-stop debuggers only send Ctrl-C while the
			 * guest runs. */
			gdb_send_error(stub, EBUSY);
		break;
	case GDB_INPUT_BAD_CHECKSUM:
		send_bytes(stub, "-", 1);
		break;
	case GDB_INPUT_TOO_LONG:
		send_bytes(stub, "+", 1);
		gdb_send_error(stub, EMSGSIZE);
		break;
	case GDB_INPUT_INTERRUPT:
		if (stub->state == GDB_RUNNING) {
			gdb_request_stop(stub, GDB_STOP_INTERRUPT,
					 stub->last_stop_vcpu);
			stub->state = GDB_STOPPING;
		}
		break;
	case GDB_INPUT_NACK:
		send_bytes(stub, stub->frame, stub->frame_len);
		break;
	default:
		break;
	}
}

static void receive(struct gdb_stub *stub)
{
	uint8_t buffer[RECEIVE_BUFFER_SIZE];
	ssize_t n = recv(stub->conn_fd, buffer, sizeof(buffer), 0);
	size_t used = 0;

	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		vm_log(stub->vm, UHYVE_LOG_INFO,
		       "the GDB client disconnected%s%s", n < 0 ? ": " : "",
		       n < 0 ? strerror(errno) : "");
		gdb_disconnect(stub);
		return;
	}
	while (used < (size_t)n && stub->conn_fd >= 0) {
		enum gdb_input input;

		used += gdb_parser_feed(&stub->parser, buffer + used,
					(size_t)n - used, &input);
		handle_input(stub, input);
	}
}

/* Waits for a socket event or a wake-up and handles it. While the vCPUs
 * park, which takes a kick's round trip, the debugger's bytes wait in the
 * socket, because they are packets for the stopped guest or a Ctrl-C that
 * the stop makes moot. */
static void wait_and_receive(struct gdb_stub *stub)
{
	struct pollfd fds[2] = {
	    {.fd = stub->wake_fd, .events = POLLIN},
	    {.fd = stub->conn_fd, .events = POLLIN},
	};
	bool read_socket = stub->conn_fd >= 0 && stub->state != GDB_STOPPING;
	uint64_t count;

	if (poll(fds, read_socket ? 2 : 1, -1) < 0)
		return;
	if ((fds[0].revents & POLLIN) &&
	    read(stub->wake_fd, &count, sizeof(count)) < 0)
		count = 0;
	if (read_socket && fds[1].revents)
		receive(stub);
}

/* Moves the state on by what happened. Returns false when serving ends. */
static bool advance(struct gdb_stub *stub)
{
	if (run_ended(stub->vm)) {
		report_run_end(stub);
		return false;
	}
	if (stub->state == GDB_RUNNING &&
	    (stub->conn_fd < 0 || gdb_stop_recorded(stub))) {
		/* A vCPU stopped, or the debugger left while the guest ran.
		 * Removing its breakpoints needs every vCPU parked too. */
		gdb_request_stop(stub, GDB_STOP_INTERRUPT,
				 stub->last_stop_vcpu);
		stub->state = GDB_STOPPING;
	}
	if (stub->state == GDB_STOPPING && gdb_all_parked(stub)) {
		stub->state = GDB_STOPPED;
		stub->general_vcpu = stub->stop.vcpu;
		stub->last_stop_vcpu = stub->stop.vcpu;
		if (stub->reply_pending && stub->conn_fd >= 0)
			gdb_send_stop_reply(stub);
		stub->reply_pending = false;
	}
	if (stub->state == GDB_STOPPED && stub->conn_fd < 0) {
		gdb_detach_vcpus(stub);
		vm_log(stub->vm, UHYVE_LOG_INFO,
		       "GDB detached, and the guest runs on");
		return false;
	}
	return true;
}

void gdb_stub_serve(struct uhyve_vm *vm)
{
	struct gdb_stub *stub = vm->gdb;

	if (!stub || !atomic_load(&stub->attached))
		return;
	while (advance(stub))
		wait_and_receive(stub);
	gdb_disconnect(stub);
}

static struct gdb_stub *stub_new(struct uhyve_vm *vm)
{
	struct gdb_stub *stub = calloc(1, sizeof(*stub));
	int offered;

	if (!stub)
		return NULL;
	stub->vm = vm;
	stub->port = vm->config->gdb_port;
	stub->listen_fd = -1;
	stub->conn_fd = -1;
	stub->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	stub->vcpus = g_new0(struct gdb_vcpu, vm->vcpu_count);
	stub->breakpoints =
	    g_array_new(FALSE, FALSE, sizeof(struct gdb_sw_breakpoint));
	atomic_init(&stub->attached, false);
	pthread_mutex_init(&stub->lock, NULL);
	pthread_cond_init(&stub->resume, NULL);
	gdb_parser_init(&stub->parser);
	stub->continue_thread = GDB_THREAD_ALL;

	/* Without BLOCKIRQ, a step may enter an interrupt handler. */
	offered =
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2);
	if (offered > 0 && (offered & KVM_GUESTDBG_BLOCKIRQ))
		stub->blockirq = KVM_GUESTDBG_BLOCKIRQ;
	return stub;
}

static int listen_on_port(struct gdb_stub *stub, char **error)
{
	struct sockaddr_in address = {
	    .sin_family = AF_INET,
	    .sin_port = htons(stub->port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int enable = 1;
	int code;

	if (stub->wake_fd < 0)
		return set_error(error, -errno,
				 "creating an eventfd for the GDB stub "
				 "failed: %s",
				 strerror(errno));
	/* Non-blocking, so that a connection reset before accept4() cannot
	 * block the wait. */
	stub->listen_fd =
	    socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (stub->listen_fd < 0)
		return set_error(error, -errno,
				 "creating the GDB socket failed: %s",
				 strerror(errno));
	setsockopt(stub->listen_fd, SOL_SOCKET, SO_REUSEADDR, &enable,
		   sizeof(enable));
	if (bind(stub->listen_fd, (struct sockaddr *)&address,
		 sizeof(address)) == 0 &&
	    listen(stub->listen_fd, 1) == 0)
		return 0;

	code = errno;
	return set_error(error, -code,
			 "cannot listen for GDB on 127.0.0.1:%u: %s%s",
			 stub->port, strerror(code),
			 code == EADDRINUSE ? "; choose another GDB port" : "");
}

/* Waits for the debugger's connection, or for the end of the run. */
static int accept_debugger(struct gdb_stub *stub, char **error)
{
	struct pollfd fds[2] = {
	    {.fd = stub->wake_fd, .events = POLLIN},
	    {.fd = stub->listen_fd, .events = POLLIN},
	};
	uint64_t count;
	int enable = 1;

	vm_log(stub->vm, UHYVE_LOG_INFO,
	       "waiting for a GDB connection on 127.0.0.1:%u; the kernel's "
	       "symbols are offset by %#llx",
	       stub->port, (unsigned long long)gdb_symbol_offset(stub->vm));
	while (!run_ended(stub->vm)) {
		fds[0].revents = 0;
		fds[1].revents = 0;
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return set_error(error, -errno,
					 "waiting for GDB failed: %s",
					 strerror(errno));
		if ((fds[0].revents & POLLIN) &&
		    read(stub->wake_fd, &count, sizeof(count)) < 0)
			count = 0;
		if (!(fds[1].revents & POLLIN))
			continue;
		stub->conn_fd = accept4(stub->listen_fd, NULL, NULL,
					SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (stub->conn_fd >= 0)
			break;
		if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR)
			return set_error(error, -errno,
					 "accepting the GDB connection "
					 "failed: %s",
					 strerror(errno));
	}
	/* The stub serves one debugger, so later connections are refused. */
	close(stub->listen_fd);
	stub->listen_fd = -1;
	if (stub->conn_fd >= 0) {
		setsockopt(stub->conn_fd, IPPROTO_TCP, TCP_NODELAY, &enable,
			   sizeof(enable));
		vm_log(stub->vm, UHYVE_LOG_INFO, "GDB connected");
	}
	return 0;
}

static void probe_data_breakpoints(struct gdb_stub *stub)
{
	bool reported = false;
	int rc = gdb_x86_probe_data_breakpoints(stub->vm->kvm_fd, &reported);

	if (rc)
		vm_log(stub->vm, UHYVE_LOG_WARNING,
		       "probing KVM for data breakpoints failed (%s); "
		       "watchpoints single-step the guest",
		       strerror(-rc));
	else if (!reported)
		vm_log(stub->vm, UHYVE_LOG_INFO,
		       "KVM does not report data breakpoints; watchpoints "
		       "single-step the guest");
	stub->watch_by_stepping = !reported;
}

/* Makes every vCPU park before its first instruction: its first KVM_RUN
 * returns EINTR at once. */
static void hold_vcpus(struct gdb_stub *stub)
{
	struct uhyve_vm *vm = stub->vm;

	for (uint32_t i = 0; i < vm->vcpu_count; i++)
		vm->vcpus[i].run->immediate_exit = 1;
	stub->stopping = true;
	stub->stop = (struct gdb_stop){.kind = GDB_STOP_START, .vcpu = 0};
	stub->state = GDB_STOPPING;
	atomic_store(&stub->attached, true);
}

int gdb_stub_start(struct uhyve_vm *vm, char **error)
{
	struct gdb_stub *stub = stub_new(vm);
	int rc;

	if (!stub)
		return set_error(error, -ENOMEM,
				 "out of memory for the GDB stub");
	pthread_mutex_lock(&vm->lock);
	vm->gdb = stub;
	pthread_mutex_unlock(&vm->lock);

	rc = listen_on_port(stub, error);
	if (rc)
		return rc;
	probe_data_breakpoints(stub);

	rc = accept_debugger(stub, error);
	if (rc || stub->conn_fd < 0)
		return rc;

	hold_vcpus(stub);
	return 0;
}

void gdb_stub_free(struct uhyve_vm *vm)
{
	struct gdb_stub *stub = vm->gdb;

	if (!stub)
		return;
	pthread_mutex_lock(&vm->lock);
	vm->gdb = NULL;
	pthread_mutex_unlock(&vm->lock);

	gdb_disconnect(stub);
	if (stub->listen_fd >= 0)
		close(stub->listen_fd);
	if (stub->wake_fd >= 0)
		close(stub->wake_fd);
	g_array_unref(stub->breakpoints);
	g_free(stub->vcpus);
	pthread_cond_destroy(&stub->resume);
	pthread_mutex_destroy(&stub->lock);
	free(stub);
}
