/* libFuzzer target: the GDB remote serial protocol parser and the argument
 * parsers on every packet it yields. */
/*
 * The first input byte sets the size of the pieces in which the rest is fed
 * to the parser, as a debugger's bytes arrive in arbitrary pieces. Each
 * complete packet is run through every argument parser, and framed and
 * parsed again, which must give back the same payload.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gdb_packet.h"

#include "fuzz_common.h"

#define MAX_VCONT_ACTIONS 16

static struct gdb_parser parser;
static struct gdb_parser reparser;
static char frame[GDB_FRAME_SIZE];
static char copy[GDB_PACKET_SIZE + 1];
static uint8_t decoded[GDB_PACKET_SIZE / 2];

static void parse_arguments(const char *payload, size_t len)
{
	struct gdb_vcont_action actions[MAX_VCONT_ACTIONS];
	enum gdb_break_type type;
	const char *cursor;
	const char *rest;
	uint64_t address;
	uint64_t length;
	uint64_t value;
	int64_t thread;
	int count;

	if (gdb_parse_address_length(payload + (len > 0), &address, &length,
				     &rest))
		FUZZ_CHECK(rest >= payload && rest <= payload + len);
	if (gdb_parse_breakpoint(payload + (len > 0), &type, &address, &length))
		FUZZ_CHECK(type <= GDB_WATCH_ACCESS);
	count = gdb_parse_vcont(payload, actions, MAX_VCONT_ACTIONS);
	FUZZ_CHECK(count >= -1 && count <= MAX_VCONT_ACTIONS);
	for (int i = 0; i < count; i++)
		FUZZ_CHECK(actions[i].kind == 'c' || actions[i].kind == 's');

	cursor = payload;
	if (gdb_parse_thread_id(&cursor, &thread))
		FUZZ_CHECK(cursor > payload && cursor <= payload + len);
	cursor = payload;
	if (gdb_parse_hex(&cursor, &value))
		FUZZ_CHECK(cursor > payload && cursor <= payload + 16);
	else
		FUZZ_CHECK(cursor == payload);
	(void)gdb_hex_decode(payload, len / 2, decoded);
}

/* Frames the raw payload and parses the frame: unescaping what comes back
 * must give the payload again, unless the escapes made it too long. */
static void check_round_trip(const char *payload, size_t len)
{
	size_t framed = gdb_packet_frame(payload, len, frame, sizeof(frame));
	enum gdb_input input = GDB_INPUT_NONE;
	size_t used;
	long unescaped;

	/* "$", "#" and two checksum digits around the escaped payload. */
	FUZZ_CHECK(framed >= len + 4);
	gdb_parser_init(&reparser);
	used =
	    gdb_parser_feed(&reparser, (const uint8_t *)frame, framed, &input);
	FUZZ_CHECK(used == framed);
	if (framed - 4 > GDB_PACKET_SIZE) {
		FUZZ_CHECK(input == GDB_INPUT_TOO_LONG);
		return;
	}
	FUZZ_CHECK(input == GDB_INPUT_PACKET);
	memcpy(copy, reparser.payload, reparser.len);
	unescaped = gdb_packet_unescape(copy, reparser.len);
	FUZZ_CHECK(unescaped == (long)len);
	FUZZ_CHECK(memcmp(copy, payload, len) == 0);
}

static void handle_packet(void)
{
	char *payload = parser.payload;
	size_t len = parser.len;

	FUZZ_CHECK(len <= GDB_PACKET_SIZE);
	FUZZ_CHECK(payload[len] == '\0');
	check_round_trip(payload, len);
	parse_arguments(payload, len);

	/* Unescaping works in place and never makes the data longer. */
	memcpy(copy, payload, len + 1);
	FUZZ_CHECK(gdb_packet_unescape(copy, len) <= (long)len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t piece;

	if (size == 0)
		return 0;
	piece = (size_t)data[0] + 1;
	data++;
	size--;

	gdb_parser_init(&parser);
	while (size > 0) {
		size_t chunk = size < piece ? size : piece;
		size_t offset = 0;

		while (offset < chunk) {
			enum gdb_input input = GDB_INPUT_NONE;
			size_t used = gdb_parser_feed(&parser, data + offset,
						      chunk - offset, &input);

			FUZZ_CHECK(used > 0 && used <= chunk - offset);
			offset += used;
			if (input == GDB_INPUT_PACKET)
				handle_packet();
			else if (input != GDB_INPUT_NONE)
				FUZZ_CHECK(input <= GDB_INPUT_NACK);
		}
		data += chunk;
		size -= chunk;
	}
	return 0;
}
