/* GDB stub tests with raw and malformed packets over a loopback socket. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "uhyve/uhyve.h"

#include "test_common.h"
#include "x86_64/gdb_arch.h"

/* Addresses of the v2 test guests without address randomisation: guest
 * memory at 4 GiB, the kernel 0x40000 above it. */
#define GUEST_MEMORY_START 0x100000000ULL
#define KERNEL_ADDR	   (GUEST_MEMORY_START + 0x40000)
/* The exit code of the debug guest. */
#define DEBUG_EXIT_CODE 42
/* Bounds of every wait in these tests. */
#define REPLY_TIMEOUT_MS 5000
#define RUN_TIMEOUT_S	 20

/* A debug guest run by the library on a thread of its own, with the
 * test's connection to its GDB stub. */
struct debug_run {
	struct uhyve_vm *vm;
	pthread_t thread;
	int rc;
	int exit_code;
	char *error;
	uint16_t port;
	int fd;
};

/* Returns a TCP port on 127.0.0.1 that was free a moment ago. */
static uint16_t free_port(void)
{
	struct sockaddr_in address = {
	    .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(address);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&address, len), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&address, &len), 0);
	close(fd);
	return ntohs(address.sin_port);
}

static void *run_vm(void *opaque)
{
	struct debug_run *run = opaque;

	run->rc = uhyve_vm_run(run->vm, &run->exit_code, &run->error);
	return NULL;
}

/* Creates the debug guest with `cpus` vCPUs and kernel argument `arg`
 * (or none) and starts its run, which waits for a debugger. */
static void start_run(struct debug_run *run, const char *arg, uint32_t cpus)
{
	struct uhyve_config *config = uhyve_config_new();
	char *path = guest_path("debug_v2");
	char *error = NULL;

	memset(run, 0, sizeof(*run));
	run->fd = -1;
	run->exit_code = -1000;
	run->port = free_port();
	uhyve_config_set_aslr(config, false);
	uhyve_config_set_output(config, UHYVE_OUTPUT_BUFFER, NULL, NULL);
	uhyve_config_set_cpu_count(config, cpus, NULL);
	uhyve_config_set_gdb_port(config, run->port);
	if (arg)
		uhyve_config_add_kernel_arg(config, arg, NULL);
	ck_assert_int_eq(uhyve_vm_create(config, path, &run->vm, &error), 0);
	ck_assert_int_eq(pthread_create(&run->thread, NULL, run_vm, run), 0);
	free(error);
	g_free(path);
	uhyve_config_free(config);
}

/* Connects to 127.0.0.1:port, retrying while the stub is not listening
 * yet. Returns the socket or -1. */
static int connect_port(uint16_t port)
{
	struct sockaddr_in address = {
	    .sin_family = AF_INET,
	    .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	for (int attempt = 0; attempt < 250; attempt++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (connect(fd, (struct sockaddr *)&address, sizeof(address)) ==
		    0)
			return fd;
		close(fd);
		usleep(20 * 1000);
	}
	return -1;
}

static void connect_run(struct debug_run *run)
{
	run->fd = connect_port(run->port);
	ck_assert_int_ge(run->fd, 0);
}

/* Waits for the run to end by itself, stopping it after RUN_TIMEOUT_S.
 * Returns true when it ended by itself. */
static bool finish_run(struct debug_run *run)
{
	struct timespec deadline;
	int rc;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += RUN_TIMEOUT_S;
	rc = pthread_timedjoin_np(run->thread, NULL, &deadline);
	if (rc) {
		uhyve_vm_stop(run->vm);
		pthread_join(run->thread, NULL);
	}
	if (run->fd >= 0)
		close(run->fd);
	run->fd = -1;
	uhyve_vm_destroy(run->vm);
	return rc == 0;
}

static void clear_run(struct debug_run *run)
{
	free(run->error);
	run->error = NULL;
}

static void send_raw(int fd, const char *data, size_t len)
{
	ck_assert_int_eq(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Sends "$payload#checksum", computing the checksum here. */
static void send_packet(int fd, const char *payload)
{
	unsigned sum = 0;
	char *frame;

	for (const char *p = payload; *p; p++)
		sum += (unsigned char)*p;
	frame = g_strdup_printf("$%s#%02x", payload, sum & 0xff);
	send_raw(fd, frame, strlen(frame));
	g_free(frame);
}

/* Returns the next byte from the stub, or -1 on a timeout or a closed
 * connection. */
static int read_byte(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	unsigned char byte;

	if (poll(&pfd, 1, REPLY_TIMEOUT_MS) <= 0)
		return -1;
	if (recv(fd, &byte, 1, 0) != 1)
		return -1;
	return byte;
}

/* Reads the next packet, skipping acknowledgements, checks its checksum
 * and acknowledges it. Returns its payload (g_free), or NULL on a timeout
 * or a closed connection. */
static char *read_packet(int fd)
{
	GString *payload = g_string_new(NULL);
	unsigned sum = 0;
	char digits[3] = {0};
	int byte;

	while ((byte = read_byte(fd)) != '$') {
		if (byte < 0) {
			g_string_free(payload, TRUE);
			return NULL;
		}
	}
	while ((byte = read_byte(fd)) != '#' && byte >= 0) {
		g_string_append_c(payload, (char)byte);
		sum += (unsigned)byte;
	}
	digits[0] = (char)read_byte(fd);
	digits[1] = (char)read_byte(fd);
	ck_assert_uint_eq(strtoul(digits, NULL, 16), sum & 0xff);
	send_raw(fd, "+", 1);
	return g_string_free(payload, FALSE);
}

/* Sends a packet, checks the stub's acknowledgement and returns its
 * reply (g_free). */
static char *request(int fd, const char *payload)
{
	send_packet(fd, payload);
	ck_assert_int_eq(read_byte(fd), '+');
	return read_packet(fd);
}

/* Checks that `payload` gets the reply `expected`. */
static void expect_reply(int fd, const char *payload, const char *expected)
{
	char *reply = request(fd, payload);

	ck_assert_msg(reply && strcmp(reply, expected) == 0,
		      "packet %s: reply \"%s\", expected \"%s\"", payload,
		      reply ? reply : "(none)", expected);
	g_free(reply);
}

/* Returns the debug guest's entry point at its load address. */
static uint64_t guest_entry(void)
{
	char *path = guest_path("debug_v2");
	gchar *contents = NULL;
	gsize len = 0;
	uint64_t entry = 0;

	ck_assert(g_file_get_contents(path, &contents, &len, NULL));
	ck_assert_uint_ge(len, 0x20);
	/* e_entry of an ELF64 header. */
	memcpy(&entry, contents + 0x18, sizeof(entry));
	g_free(contents);
	g_free(path);
	return KERNEL_ADDR + entry;
}

/* Formats a 64-bit value as GDB sends registers: little-endian hex. */
static char *register_hex(uint64_t value)
{
	GString *hex = g_string_new(NULL);

	for (int i = 0; i < 8; i++)
		g_string_append_printf(hex, "%02x",
				       (unsigned)(value >> (8 * i)) & 0xff);
	return g_string_free(hex, FALSE);
}

START_TEST(start_stop_then_exit)
{
	struct debug_run run;

	start_run(&run, NULL, 1);
	connect_run(&run);
	expect_reply(run.fd, "?", "T05thread:1;");
	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.rc, 0);
	ck_assert_int_eq(run.exit_code, DEBUG_EXIT_CODE);
	clear_run(&run);
}
END_TEST

START_TEST(bad_checksum_gets_nack)
{
	struct debug_run run;

	start_run(&run, NULL, 1);
	connect_run(&run);
	send_raw(run.fd, "$?#00", 5);
	ck_assert_int_eq(read_byte(run.fd), '-');
	send_raw(run.fd, "$?#zz", 5);
	ck_assert_int_eq(read_byte(run.fd), '-');
	expect_reply(run.fd, "?", "T05thread:1;");
	expect_reply(run.fd, "D", "OK");
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.exit_code, DEBUG_EXIT_CODE);
	clear_run(&run);
}
END_TEST

START_TEST(unknown_packets_get_empty_reply)
{
	struct debug_run run;

	start_run(&run, NULL, 1);
	connect_run(&run);
	expect_reply(run.fd, "qNoSuchQuery", "");
	expect_reply(run.fd, "vNoSuchPacket", "");
	expect_reply(run.fd, "!", "");
	expect_reply(run.fd, "QStartNoAckMode", "");
	expect_reply(run.fd, "", "");
	expect_reply(run.fd, "D", "OK");
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.exit_code, DEBUG_EXIT_CODE);
	clear_run(&run);
}
END_TEST

/* Malformed packets and the exact error each gets: E16 is EINVAL, E02
 * ENOENT. */
static const struct {
	const char *packet;
	const char *reply;
} malformed[] = {
    {"m", "E16"},
    {"mzz,4", "E16"},
    {"m10", "E16"},
    {"m10,", "E16"},
    {"m10,4x", "E16"},
    {"m10000000000000000,4", "E16"},
    {"M10,2:zzzz", "E16"},
    {"M10,2:00", "E16"},
    {"M10,2", "E16"},
    {"X10,2:a", "E16"},
    {"X10,1:}", "E16"},
    {"G00", "E16"},
    {"p", "E16"},
    {"p999", "E16"},
    {"p3b", "E16"},
    {"Pzz", "E16"},
    {"P10=00", "E16"},
    {"P10", "E16"},
    {"Z9,0,1", "E16"},
    {"Z0,zz,1", "E16"},
    {"z1,1000", "E16"},
    {"vCont;x", "E16"},
    {"vCont;c:9", "E16"},
    {"vCont;", "E16"},
    {"Hx0", "E16"},
    {"Hg9", "E16"},
    {"Hgzz", "E16"},
    {"T9", "E16"},
    {"T0", "E16"},
    {"qThreadExtraInfo,9", "E16"},
    {"qXfer:features:read:other.xml:0,10", "E02"},
    {"qXfer:features:read:target.xml:zz", "E16"},
    {"qXfer:features:read:target.xml:ffffff,10", "E16"},
    {"Czz", "E16"},
    {"c12zz", "E16"},
    {"S05;zz", "E16"},
};

START_TEST(malformed_packets_get_errors)
{
	struct debug_run run;
	char *reply;

	start_run(&run, NULL, 1);
	connect_run(&run);
	for (size_t i = 0; i < G_N_ELEMENTS(malformed); i++)
		expect_reply(run.fd, malformed[i].packet, malformed[i].reply);
	/* A NUL byte inside a packet other than X. */
	send_raw(run.fd, "$m1\0,1#fb", 9);
	ck_assert_int_eq(read_byte(run.fd), '+');
	reply = read_packet(run.fd);
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(reply, "E16");
	g_free(reply);
	expect_reply(run.fd, "?", "T05thread:1;");
	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.exit_code, DEBUG_EXIT_CODE);
	clear_run(&run);
}
END_TEST

/* Guest-virtual addresses that do not map to guest memory, as "m" reads;
 * every one gets E0e (EFAULT). */
static const char *const unmapped[] = {
    "m0,10",
    "mfffff000,4",
    "m800000000000,8",
    "mffffffffffffffff,10",
    "m7ffffffff000,10",
    "mfffffffffffffff0,100",
};

START_TEST(unmapped_memory_gets_efault)
{
	struct debug_run run;

	start_run(&run, NULL, 1);
	connect_run(&run);
	for (size_t i = 0; i < G_N_ELEMENTS(unmapped); i++)
		expect_reply(run.fd, unmapped[i], "E0e");
	expect_reply(run.fd, "M0,1:00", "E0e");
	expect_reply(run.fd, "X0,1:a", "E0e");
	expect_reply(run.fd, "Z0,0,1", "E0e");
	expect_reply(run.fd, "z0,0,1", "E02");
	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.exit_code, DEBUG_EXIT_CODE);
	clear_run(&run);
}
END_TEST

START_TEST(read_stops_at_memory_end)
{
	struct debug_run run;
	char *packet;
	char *reply;

	start_run(&run, NULL, 1);
	connect_run(&run);
	/* The boot page tables map past the 64 MiB of guest memory; the read
	 * returns the 4 bytes before its end. */
	packet = g_strdup_printf(
	    "m%llx,8", (unsigned long long)(GUEST_MEMORY_START +
					    UHYVE_DEFAULT_MEMORY_SIZE - 4));
	reply = request(run.fd, packet);
	ck_assert_ptr_nonnull(reply);
	ck_assert_uint_eq(strlen(reply), 8);
	g_free(reply);
	g_free(packet);
	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	clear_run(&run);
}
END_TEST

START_TEST(long_read_is_clamped)
{
	struct debug_run run;
	char *packet;
	char *reply;

	start_run(&run, NULL, 1);
	connect_run(&run);
	packet = g_strdup_printf("m%llx,100000", KERNEL_ADDR);
	reply = request(run.fd, packet);
	ck_assert_ptr_nonnull(reply);
	/* Half the packet size in bytes, two hex digits each. */
	ck_assert_uint_eq(strlen(reply), 0x4000);
	ck_assert(strncmp(reply, "7f454c46", 8) == 0);
	g_free(reply);
	g_free(packet);
	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	clear_run(&run);
}
END_TEST

START_TEST(oversized_packet_rejected)
{
	struct debug_run run;
	size_t len = 20000;
	char *payload = g_malloc(len + 1);

	memset(payload, 'q', len);
	payload[len] = '\0';
	start_run(&run, NULL, 1);
	connect_run(&run);
	/* EMSGSIZE is 90. */
	expect_reply(run.fd, payload, "E5a");
	expect_reply(run.fd, "?", "T05thread:1;");
	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	g_free(payload);
	clear_run(&run);
}
END_TEST

START_TEST(noise_between_packets_ignored)
{
	struct debug_run run;

	start_run(&run, NULL, 1);
	connect_run(&run);
	send_raw(run.fd, "hello\r\n#00}}", 12);
	expect_reply(run.fd, "?", "T05thread:1;");
	/* A resend request repeats the last packet. */
	send_raw(run.fd, "-", 1);
	g_free(read_packet(run.fd));
	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.exit_code, DEBUG_EXIT_CODE);
	clear_run(&run);
}
END_TEST

START_TEST(memory_write_round_trip)
{
	/* A page of guest memory below the boot stack. */
	unsigned long long address = GUEST_MEMORY_START + 0x31000;
	struct debug_run run;
	char *packet;

	start_run(&run, NULL, 1);
	connect_run(&run);
	packet = g_strdup_printf("M%llx,4:deadbeef", address);
	expect_reply(run.fd, packet, "OK");
	g_free(packet);
	packet = g_strdup_printf("m%llx,4", address);
	expect_reply(run.fd, packet, "deadbeef");
	g_free(packet);

	/* X carries binary data: '}' and '#' arrive escaped. */
	packet = g_strdup_printf("X%llx,2:}]}\x03", address);
	expect_reply(run.fd, packet, "OK");
	g_free(packet);
	packet = g_strdup_printf("m%llx,4", address);
	expect_reply(run.fd, packet, "7d23beef");
	g_free(packet);
	packet = g_strdup_printf("X%llx,0:", address);
	expect_reply(run.fd, packet, "OK");
	g_free(packet);

	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	clear_run(&run);
}
END_TEST

START_TEST(breakpoint_hidden_then_hit)
{
	uint64_t entry = guest_entry();
	char *rip = register_hex(entry);
	struct debug_run run;
	char *insert = g_strdup_printf("Z0,%llx,1", (unsigned long long)entry);
	char *remove = g_strdup_printf("z0,%llx,1", (unsigned long long)entry);
	char *read = g_strdup_printf("m%llx,4", (unsigned long long)entry);
	char *before;

	start_run(&run, NULL, 1);
	connect_run(&run);
	before = request(run.fd, read);
	ck_assert_ptr_nonnull(before);
	expect_reply(run.fd, insert, "OK");
	expect_reply(run.fd, insert, "OK");
	expect_reply(run.fd, read, before);
	/* The guest is at its entry point, so it meets the breakpoint as
	 * soon as it resumes. */
	expect_reply(run.fd, "c", "T05thread:1;swbreak:;");
	expect_reply(run.fd, "p10", rip);
	expect_reply(run.fd, remove, "OK");
	expect_reply(run.fd, remove, "E02");
	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.exit_code, DEBUG_EXIT_CODE);
	g_free(before);
	g_free(read);
	g_free(remove);
	g_free(insert);
	g_free(rip);
	clear_run(&run);
}
END_TEST

START_TEST(step_advances_one_instruction)
{
	uint64_t entry = guest_entry();
	/* _start begins with "test %rsi, %rsi" (48 85 f6). */
	char *next = register_hex(entry + 3);
	char *rip = register_hex(entry);
	struct debug_run run;

	start_run(&run, NULL, 1);
	connect_run(&run);
	expect_reply(run.fd, "p10", rip);
	expect_reply(run.fd, "vCont;s:1", "T05thread:1;");
	expect_reply(run.fd, "p10", next);
	expect_reply(run.fd, "s", "T05thread:1;");
	expect_reply(run.fd, "vCont;c", "W2a");
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.exit_code, DEBUG_EXIT_CODE);
	g_free(rip);
	g_free(next);
	clear_run(&run);
}
END_TEST

START_TEST(interrupt_stops_spinning_guest)
{
	struct debug_run run;
	char *reply;

	start_run(&run, "spin", 2);
	connect_run(&run);
	send_packet(run.fd, "vCont;c");
	ck_assert_int_eq(read_byte(run.fd), '+');
	usleep(300 * 1000);
	send_raw(run.fd, "\x03", 1);
	reply = read_packet(run.fd);
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(reply, "T02thread:1;");
	g_free(reply);
	/* k ends the run without a reply. */
	send_packet(run.fd, "k");
	ck_assert_int_eq(read_byte(run.fd), '+');
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.rc, -ECANCELED);
	clear_run(&run);
}
END_TEST

START_TEST(registers_per_vcpu)
{
	uint64_t entry = guest_entry();
	char *rip = register_hex(entry);
	char *packet = g_strdup_printf("P10=%s", rip);
	struct debug_run run;
	char *reply;

	start_run(&run, NULL, 2);
	connect_run(&run);
	reply = request(run.fd, "g");
	ck_assert_ptr_nonnull(reply);
	ck_assert_uint_eq(strlen(reply), 2 * 552);
	g_free(reply);
	expect_reply(run.fd, packet, "OK");
	/* rsi contains the vCPU number at entry, and cs cannot change. */
	expect_reply(run.fd, "p4", "0000000000000000");
	expect_reply(run.fd, "Hg2", "OK");
	expect_reply(run.fd, "p4", "0100000000000000");
	expect_reply(run.fd, "P12=09000000", "E16");
	expect_reply(run.fd, "P12=08000000", "OK");
	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.exit_code, DEBUG_EXIT_CODE);
	g_free(packet);
	g_free(rip);
	clear_run(&run);
}
END_TEST

START_TEST(threads_are_vcpus)
{
	struct debug_run run;

	start_run(&run, NULL, 2);
	connect_run(&run);
	expect_reply(run.fd, "qfThreadInfo", "m1,2");
	expect_reply(run.fd, "qsThreadInfo", "l");
	expect_reply(run.fd, "qC", "QC1");
	expect_reply(run.fd, "T2", "OK");
	expect_reply(run.fd, "T3", "E16");
	/* "vCPU 1" in hex. */
	expect_reply(run.fd, "qThreadExtraInfo,2", "764350552031");
	expect_reply(run.fd, "Hc2", "OK");
	expect_reply(run.fd, "Hc-1", "OK");
	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	clear_run(&run);
}
END_TEST

START_TEST(queries_describe_target)
{
	struct debug_run run;
	char *reply;

	start_run(&run, NULL, 1);
	connect_run(&run);
	reply = request(run.fd, "qSupported:multiprocess+;swbreak+");
	ck_assert_ptr_nonnull(reply);
	ck_assert_ptr_nonnull(strstr(reply, "PacketSize=4000"));
	ck_assert_ptr_nonnull(strstr(reply, "qXfer:features:read+"));
	ck_assert_ptr_nonnull(strstr(reply, "swbreak+"));
	g_free(reply);
	expect_reply(run.fd, "qXfer:features:read:target.xml:0,10",
		     "m<?xml version=\"1");
	reply = request(run.fd, "qXfer:features:read:target.xml:0,fff");
	ck_assert_ptr_nonnull(reply);
	ck_assert_ptr_nonnull(strstr(reply, "i386:x86-64"));
	g_free(reply);
	expect_reply(run.fd, "qOffsets", "TextSeg=100040000");
	expect_reply(run.fd, "qAttached", "1");
	expect_reply(run.fd, "vCont?", "vCont;c;C;s;S");
	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	clear_run(&run);
}
END_TEST

START_TEST(hardware_slots_run_out)
{
	struct debug_run run;

	start_run(&run, NULL, 1);
	connect_run(&run);
	expect_reply(run.fd, "Z1,100041000,1", "OK");
	expect_reply(run.fd, "Z1,100041001,1", "OK");
	expect_reply(run.fd, "Z2,100031000,8", "OK");
	expect_reply(run.fd, "Z1,100041003,1", "OK");
	/* ENOSPC is 28. */
	expect_reply(run.fd, "Z1,100041004,1", "E1c");
	expect_reply(run.fd, "z1,100041001,1", "OK");
	expect_reply(run.fd, "z1,100041001,1", "E02");
	expect_reply(run.fd, "z2,100031000,8", "OK");
	expect_reply(run.fd, "z1,100041000,1", "OK");
	expect_reply(run.fd, "z1,100041003,1", "OK");
	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	clear_run(&run);
}
END_TEST

START_TEST(disconnect_when_stopped_resumes)
{
	struct debug_run run;

	start_run(&run, NULL, 1);
	connect_run(&run);
	expect_reply(run.fd, "?", "T05thread:1;");
	send_raw(run.fd, "$m1000", 6);
	close(run.fd);
	run.fd = -1;
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.rc, 0);
	ck_assert_int_eq(run.exit_code, DEBUG_EXIT_CODE);
	clear_run(&run);
}
END_TEST

START_TEST(disconnect_when_running_resumes)
{
	uint64_t entry = guest_entry();
	char *insert = g_strdup_printf("Z0,%llx,1", (unsigned long long)entry);
	struct debug_run run;

	start_run(&run, NULL, 2);
	connect_run(&run);
	/* The guest would stop at the breakpoint if the stub left it in. */
	expect_reply(run.fd, insert, "OK");
	expect_reply(run.fd, "Z1,100041000,1", "OK");
	send_packet(run.fd, "vCont;c");
	close(run.fd);
	run.fd = -1;
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.rc, 0);
	ck_assert_int_eq(run.exit_code, DEBUG_EXIT_CODE);
	g_free(insert);
	clear_run(&run);
}
END_TEST

START_TEST(second_debugger_refused)
{
	struct sockaddr_in address = {.sin_family = AF_INET};
	struct debug_run run;
	int fd;

	start_run(&run, NULL, 1);
	connect_run(&run);
	expect_reply(run.fd, "?", "T05thread:1;");
	address.sin_port = htons(run.port);
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(
	    connect(fd, (struct sockaddr *)&address, sizeof(address)), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	close(fd);
	expect_reply(run.fd, "c", "W2a");
	ck_assert(finish_run(&run));
	clear_run(&run);
}
END_TEST

START_TEST(stop_ends_wait_for_debugger)
{
	struct debug_run run;

	start_run(&run, NULL, 1);
	usleep(200 * 1000);
	uhyve_vm_stop(run.vm);
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.rc, -ECANCELED);
	clear_run(&run);
}
END_TEST

START_TEST(stop_ends_debugged_run)
{
	struct debug_run run;
	char *reply;

	start_run(&run, "spin", 1);
	connect_run(&run);
	send_packet(run.fd, "c");
	ck_assert_int_eq(read_byte(run.fd), '+');
	uhyve_vm_stop(run.vm);
	/* SIGKILL, as GDB numbers it. */
	reply = read_packet(run.fd);
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(reply, "X09");
	g_free(reply);
	ck_assert(finish_run(&run));
	ck_assert_int_eq(run.rc, -ECANCELED);
	clear_run(&run);
}
END_TEST

START_TEST(taken_port_rejected)
{
	struct sockaddr_in address = {
	    .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(address);
	struct uhyve_config *config = uhyve_config_new();
	char *path = guest_path("debug_v2");
	struct uhyve_vm *vm = NULL;
	char *error = NULL;
	char *expected;
	int exit_code;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_eq(bind(fd, (struct sockaddr *)&address, len), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	getsockname(fd, (struct sockaddr *)&address, &len);
	uhyve_config_set_output(config, UHYVE_OUTPUT_NONE, NULL, NULL);
	uhyve_config_set_gdb_port(config, ntohs(address.sin_port));
	ck_assert_int_eq(uhyve_vm_create(config, path, &vm, &error), 0);
	ck_assert_int_eq(uhyve_vm_run(vm, &exit_code, &error), -EADDRINUSE);
	expected = g_strdup_printf("127.0.0.1:%u", ntohs(address.sin_port));
	ck_assert_ptr_nonnull(strstr(error, expected));
	g_free(expected);
	uhyve_vm_destroy(vm);
	close(fd);
	free(error);
	g_free(path);
	uhyve_config_free(config);
}
END_TEST

START_TEST(data_breakpoint_probe_runs)
{
	int kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	bool reported = false;

	ck_assert_int_ge(kvm_fd, 0);
	/* Either result is valid, but the probe guest must reach one of them.
	 */
	ck_assert_int_eq(gdb_x86_probe_data_breakpoints(kvm_fd, &reported), 0);
	close(kvm_fd);
}
END_TEST

/* Instructions and the memory ranges that read and access watchpoints
 * check for them, with rax = 0x1000, rsp = 0x8000, rsi = 0x2000, rdi =
 * 0x3000 and rip = 0x5000 unless a case sets rcx or RFLAGS.DF. */
static const struct {
	const char *name;
	uint8_t bytes[15];
	unsigned count; /* bytes available to the decoder */
	uint64_t rcx;
	bool direction_down;
	unsigned accesses;
	struct gdb_x86_access expected[2];
} access_cases[] = {
    {"mov 0x10(%rax),%ecx",
     {0x8b, 0x48, 0x10},
     3,
     0,
     false,
     1,
     {{0x1010, 0x1013, true}}},
    {"mov %al,(%rax)", {0x88, 0x00}, 2, 0, false, 1, {{0x1000, 0x1000, false}}},
    {"mov %rax,0x10(%rip)",
     {0x48, 0x89, 0x05, 0x10, 0, 0, 0},
     7,
     0,
     false,
     1,
     {{0x5017, 0x501e, false}}},
    {"lea 0x10(%rax),%rcx", {0x48, 0x8d, 0x48, 0x10}, 4, 0, false, 0, {}},
    {"push %rbx", {0x53}, 1, 0, false, 1, {{0x7ff8, 0x7fff, false}}},
    {"ret", {0xc3}, 1, 0, false, 1, {{0x8000, 0x8007, true}}},
    {"call *0x8(%rax)",
     {0xff, 0x50, 0x08},
     3,
     0,
     false,
     2,
     {{0x1008, 0x100f, true}, {0x7ff8, 0x7fff, false}}},
    {"rep movsb",
     {0xf3, 0xa4},
     2,
     4,
     false,
     2,
     {{0x2000, 0x2003, true}, {0x3000, 0x3003, false}}},
    {"rep movsb, count 0", {0xf3, 0xa4}, 2, 0, false, 0, {}},
    {"std; rep stosq",
     {0xf3, 0x48, 0xab},
     3,
     2,
     true,
     1,
     {{0x2ff8, 0x3007, false}}},
    {"lodsl", {0xad}, 1, 0, false, 1, {{0x2000, 0x2003, true}}},
    {"bt %rcx,(%rax)",
     {0x48, 0x0f, 0xa3, 0x08},
     4,
     130,
     false,
     1,
     {{0x1010, 0x1017, true}}},
    {"bt %rcx,(%rax), bit -1",
     {0x48, 0x0f, 0xa3, 0x08},
     4,
     UINT64_MAX,
     false,
     1,
     {{0x0ff8, 0x0fff, true}}},
    {"movabs 0x4000,%rax",
     {0x48, 0xa1, 0x00, 0x40, 0, 0, 0, 0, 0, 0},
     10,
     0,
     false,
     1,
     {{0x4000, 0x4007, true}}},
    {"setne (%rax)",
     {0x0f, 0x95, 0x00},
     3,
     0,
     false,
     1,
     {{0x1000, 0x1000, false}}},
    {"mov (%rax) cut off", {0x8b, 0x80, 0x00}, 3, 0, false, 0, {}},
};

START_TEST(instruction_accesses_decoded)
{
	struct kvm_regs regs = {
	    .rax = 0x1000,
	    .rsp = 0x8000,
	    .rsi = 0x2000,
	    .rdi = 0x3000,
	    .rip = 0x5000,
	    .rcx = access_cases[_i].rcx,
	    .rflags = access_cases[_i].direction_down ? 0x402 : 0x2,
	};
	struct kvm_sregs sregs = {0};
	struct gdb_x86_access accesses[GDB_X86_MAX_ACCESSES];
	unsigned count = gdb_x86_instruction_accesses(access_cases[_i].bytes,
						      access_cases[_i].count,
						      &regs, &sregs, accesses);

	ck_assert_msg(count == access_cases[_i].accesses,
		      "%s: %u accesses, expected %u", access_cases[_i].name,
		      count, access_cases[_i].accesses);
	for (unsigned i = 0; i < count; i++) {
		const struct gdb_x86_access *expected =
		    &access_cases[_i].expected[i];

		ck_assert_msg(accesses[i].first == expected->first,
			      "%s: access %u starts at %#llx",
			      access_cases[_i].name, i,
			      (unsigned long long)accesses[i].first);
		ck_assert_msg(accesses[i].last == expected->last,
			      "%s: access %u ends at %#llx",
			      access_cases[_i].name, i,
			      (unsigned long long)accesses[i].last);
		ck_assert_msg(accesses[i].read == expected->read,
			      "%s: access %u read flag %d",
			      access_cases[_i].name, i, accesses[i].read);
	}
}
END_TEST

START_TEST(gdb_feature_supported)
{
	ck_assert(uhyve_feature_supported(UHYVE_FEATURE_GDB));
}
END_TEST

static Suite *gdb_protocol_suite(void)
{
	Suite *suite = suite_create("gdb_protocol");
	TCase *packets = tcase_create("packets");
	TCase *control = tcase_create("control");

	tcase_set_timeout(packets, 60);
	tcase_add_test(packets, start_stop_then_exit);
	tcase_add_test(packets, bad_checksum_gets_nack);
	tcase_add_test(packets, unknown_packets_get_empty_reply);
	tcase_add_test(packets, malformed_packets_get_errors);
	tcase_add_test(packets, unmapped_memory_gets_efault);
	tcase_add_test(packets, read_stops_at_memory_end);
	tcase_add_test(packets, long_read_is_clamped);
	tcase_add_test(packets, oversized_packet_rejected);
	tcase_add_test(packets, noise_between_packets_ignored);
	tcase_add_test(packets, memory_write_round_trip);
	tcase_add_test(packets, registers_per_vcpu);
	tcase_add_test(packets, threads_are_vcpus);
	tcase_add_test(packets, queries_describe_target);
	tcase_add_test(packets, hardware_slots_run_out);
	tcase_add_loop_test(packets, instruction_accesses_decoded, 0,
			    sizeof(access_cases) / sizeof(access_cases[0]));
	suite_add_tcase(suite, packets);

	tcase_set_timeout(control, 60);
	tcase_add_test(control, breakpoint_hidden_then_hit);
	tcase_add_test(control, step_advances_one_instruction);
	tcase_add_test(control, interrupt_stops_spinning_guest);
	tcase_add_test(control, disconnect_when_stopped_resumes);
	tcase_add_test(control, disconnect_when_running_resumes);
	tcase_add_test(control, second_debugger_refused);
	tcase_add_test(control, stop_ends_wait_for_debugger);
	tcase_add_test(control, stop_ends_debugged_run);
	tcase_add_test(control, taken_port_rejected);
	tcase_add_test(control, data_breakpoint_probe_runs);
	tcase_add_test(control, gdb_feature_supported);
	suite_add_tcase(suite, control);
	return suite;
}

int main(void)
{
	SRunner *runner;
	int failed;

	require_kvm();
	runner = srunner_create(gdb_protocol_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
