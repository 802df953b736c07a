/* GDB remote serial protocol framing and argument parsing, free of I/O. */
#ifndef UHYVE_GDB_PACKET_H
#define UHYVE_GDB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest payload the stub accepts or sends, announced to GDB in
 * qSupported as PacketSize. */
#define GDB_PACKET_SIZE 0x4000

/* Size of a buffer that fits any framed packet. Every payload byte may need
 * an escape, and the frame adds '$', '#' and two checksum digits. */
#define GDB_FRAME_SIZE (2 * GDB_PACKET_SIZE + 4)

/* Input that a run of bytes from the debugger completes. */
enum gdb_input {
	GDB_INPUT_NONE = 0,	/* more bytes are needed */
	GDB_INPUT_PACKET,	/* a packet whose checksum matches */
	GDB_INPUT_BAD_CHECKSUM, /* a packet whose checksum does not match */
	GDB_INPUT_TOO_LONG,	/* a packet longer than GDB_PACKET_SIZE */
	GDB_INPUT_INTERRUPT,	/* 0x03 outside a packet (Ctrl-C) */
	GDB_INPUT_ACK,		/* '+' */
	GDB_INPUT_NACK,		/* '-': the debugger asks for a resend */
};

/* Incremental parser of the byte stream from the debugger. */
struct gdb_parser {
	int state;
	uint8_t sum;	  /* running checksum of the payload */
	uint8_t checksum; /* checksum digits received so far */
	bool overflow;	  /* the payload did not fit */
	size_t len;	  /* payload bytes stored */
	/* The raw (still escaped) payload of the last packet, NUL-terminated.
	 */
	char payload[GDB_PACKET_SIZE + 1];
};

void gdb_parser_init(struct gdb_parser *parser);

/*
 * Consumes bytes of `data` up to and including the one that completes an
 * input and stores what it completed in *input (GDB_INPUT_NONE when all
 * `len` bytes were consumed without completing one). Returns the number of
 * bytes consumed. After GDB_INPUT_PACKET, parser->payload and parser->len
 * hold the payload until the next call. Bytes outside packets other than
 * '+', '-' and 0x03 are skipped, and a '$' inside a packet starts a new one.
 */
size_t gdb_parser_feed(struct gdb_parser *parser, const uint8_t *data,
		       size_t len, enum gdb_input *input);

/*
 * Frames `payload` as "$payload#xx" into `out`, escaping '$', '#', '}' and
 * '*' as '}' followed by the byte XOR 0x20. Returns the framed length, or 0
 * when it does not fit into `capacity` bytes.
 */
size_t gdb_packet_frame(const char *payload, size_t len, char *out,
			size_t capacity);

/* Undoes the '}' escapes of binary data in place. Returns the new length,
 * or -1 when the data ends in a lone '}'. */
long gdb_packet_unescape(char *data, size_t len);

/* Returns the value of hex digit `c`, or -1. */
int gdb_hex_digit(char c);

/*
 * Parses 1 to 16 hex digits at *cursor into *value and advances *cursor
 * past them. Returns false, leaving *cursor, when there is no digit or more
 * than 16.
 */
bool gdb_parse_hex(const char **cursor, uint64_t *value);

/* Writes 2 * len lowercase hex digits of `data` to `out` (no NUL). */
void gdb_hex_encode(const uint8_t *data, size_t len, char *out);

/* Decodes 2 * len hex digits of `hex` into `out`. Returns false on a
 * character that is not a hex digit. */
bool gdb_hex_decode(const char *hex, size_t len, uint8_t *out);

/* Thread ids in packets: a vCPU is thread id + 1, since 0 means "any". */
#define GDB_THREAD_ANY 0
#define GDB_THREAD_ALL (-1)

/* Parses a thread id ("-1" or hex) at *cursor and advances past it. */
bool gdb_parse_thread_id(const char **cursor, int64_t *thread);

/*
 * Parses "ADDR,LENGTH" at the start of `args` and stores the position after
 * it in *rest. Returns false when either number is missing or too long.
 */
bool gdb_parse_address_length(const char *args, uint64_t *address,
			      uint64_t *length, const char **rest);

/* Breakpoint and watchpoint kinds of the Z and z packets. */
enum gdb_break_type {
	GDB_BREAK_SOFTWARE = 0,
	GDB_BREAK_HARDWARE = 1,
	GDB_WATCH_WRITE = 2,
	GDB_WATCH_READ = 3,
	GDB_WATCH_ACCESS = 4,
};

/* Parses "TYPE,ADDR,KIND" (the arguments of Z and z) that must end the
 * packet. Returns false otherwise or for a type above 4. */
bool gdb_parse_breakpoint(const char *args, enum gdb_break_type *type,
			  uint64_t *address, uint64_t *kind);

/* One action of a vCont packet. */
struct gdb_vcont_action {
	char kind;	/* 'c' continue or 's' step (signals are dropped) */
	int64_t thread; /* thread id, or GDB_THREAD_ALL */
};

/*
 * Parses the actions after "vCont" (";c", ";s:2", ";C05:1", ...) into
 * `actions`. Returns the number of actions, or -1 for a malformed list, an
 * action other than c, C, s and S, or more than `capacity` actions.
 */
int gdb_parse_vcont(const char *args, struct gdb_vcont_action *actions,
		    size_t capacity);

#endif /* UHYVE_GDB_PACKET_H */
