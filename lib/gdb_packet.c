/* GDB remote serial protocol framing and argument parsing, free of I/O. */
#include "gdb_packet.h"

#include <string.h>

#define GDB_INTERRUPT_BYTE 0x03
#define GDB_ESCAPE	   '}'
#define GDB_ESCAPE_XOR	   0x20

/* Position of the parser in the byte stream. */
enum parser_state {
	STATE_IDLE = 0,	 /* between packets */
	STATE_PAYLOAD,	 /* after '$' */
	STATE_CHECKSUM1, /* after '#' */
	STATE_CHECKSUM2, /* after the first checksum digit */
};

void gdb_parser_init(struct gdb_parser *parser)
{
	parser->state = STATE_IDLE;
	parser->sum = 0;
	parser->checksum = 0;
	parser->overflow = false;
	parser->len = 0;
	parser->payload[0] = '\0';
}

static void start_packet(struct gdb_parser *parser)
{
	parser->state = STATE_PAYLOAD;
	parser->sum = 0;
	parser->checksum = 0;
	parser->overflow = false;
	parser->len = 0;
}

static enum gdb_input idle_byte(struct gdb_parser *parser, uint8_t byte)
{
	switch (byte) {
	case '$':
		start_packet(parser);
		return GDB_INPUT_NONE;
	case '+':
		return GDB_INPUT_ACK;
	case '-':
		return GDB_INPUT_NACK;
	case GDB_INTERRUPT_BYTE:
		return GDB_INPUT_INTERRUPT;
	default:
		return GDB_INPUT_NONE;
	}
}

static void payload_byte(struct gdb_parser *parser, uint8_t byte)
{
	if (byte == '$') {
		start_packet(parser);
		return;
	}
	if (byte == '#') {
		parser->state = STATE_CHECKSUM1;
		return;
	}
	parser->sum += byte;
	if (parser->len >= GDB_PACKET_SIZE) {
		parser->overflow = true;
		return;
	}
	parser->payload[parser->len++] = (char)byte;
}

static enum gdb_input finish_packet(struct gdb_parser *parser)
{
	parser->state = STATE_IDLE;
	parser->payload[parser->len] = '\0';
	if (parser->checksum != parser->sum)
		return GDB_INPUT_BAD_CHECKSUM;
	if (parser->overflow)
		return GDB_INPUT_TOO_LONG;
	return GDB_INPUT_PACKET;
}

static enum gdb_input checksum_byte(struct gdb_parser *parser, uint8_t byte)
{
	int digit = gdb_hex_digit((char)byte);

	if (digit < 0) {
		/* Not a checksum: the packet is damaged. */
		parser->state = STATE_IDLE;
		parser->payload[parser->len] = '\0';
		return GDB_INPUT_BAD_CHECKSUM;
	}
	parser->checksum = (uint8_t)(parser->checksum << 4 | digit);
	if (parser->state == STATE_CHECKSUM1) {
		parser->state = STATE_CHECKSUM2;
		return GDB_INPUT_NONE;
	}
	return finish_packet(parser);
}

static enum gdb_input parse_byte(struct gdb_parser *parser, uint8_t byte)
{
	switch (parser->state) {
	case STATE_PAYLOAD:
		payload_byte(parser, byte);
		return GDB_INPUT_NONE;
	case STATE_CHECKSUM1:
	case STATE_CHECKSUM2:
		return checksum_byte(parser, byte);
	default:
		return idle_byte(parser, byte);
	}
}

size_t gdb_parser_feed(struct gdb_parser *parser, const uint8_t *data,
		       size_t len, enum gdb_input *input)
{
	size_t used = 0;

	*input = GDB_INPUT_NONE;
	while (used < len && *input == GDB_INPUT_NONE)
		*input = parse_byte(parser, data[used++]);
	return used;
}

static bool needs_escape(char c)
{
	return c == '$' || c == '#' || c == GDB_ESCAPE || c == '*';
}

size_t gdb_packet_frame(const char *payload, size_t len, char *out,
			size_t capacity)
{
	static const char digits[] = "0123456789abcdef";
	uint8_t sum = 0;
	size_t pos = 0;

	if (capacity < 4)
		return 0;
	out[pos++] = '$';
	for (size_t i = 0; i < len; i++) {
		char c = payload[i];
		bool escape = needs_escape(c);

		/* Room for this byte, its escape and "#xx". */
		if (capacity - pos < (escape ? 2u : 1u) + 3)
			return 0;
		if (escape) {
			out[pos++] = GDB_ESCAPE;
			sum += GDB_ESCAPE;
			c ^= GDB_ESCAPE_XOR;
		}
		out[pos++] = c;
		sum += (uint8_t)c;
	}
	out[pos++] = '#';
	out[pos++] = digits[sum >> 4];
	out[pos++] = digits[sum & 0xf];
	return pos;
}

long gdb_packet_unescape(char *data, size_t len)
{
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (c == GDB_ESCAPE) {
			if (++i == len)
				return -1;
			c = (char)(data[i] ^ GDB_ESCAPE_XOR);
		}
		data[out++] = c;
	}
	return (long)out;
}

int gdb_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool gdb_parse_hex(const char **cursor, uint64_t *value)
{
	const char *p = *cursor;
	uint64_t result = 0;
	unsigned digits = 0;
	int digit;

	while ((digit = gdb_hex_digit(*p)) >= 0) {
		if (++digits > 16)
			return false;
		result = result << 4 | (uint64_t)digit;
		p++;
	}
	if (digits == 0)
		return false;
	*value = result;
	*cursor = p;
	return true;
}

void gdb_hex_encode(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0xf];
	}
}

bool gdb_hex_decode(const char *hex, size_t len, uint8_t *out)
{
	for (size_t i = 0; i < len; i++) {
		int high = gdb_hex_digit(hex[2 * i]);
		int low = high < 0 ? -1 : gdb_hex_digit(hex[2 * i + 1]);

		if (low < 0)
			return false;
		out[i] = (uint8_t)(high << 4 | low);
	}
	return true;
}

bool gdb_parse_thread_id(const char **cursor, int64_t *thread)
{
	uint64_t value;

	if (strncmp(*cursor, "-1", 2) == 0) {
		*cursor += 2;
		*thread = GDB_THREAD_ALL;
		return true;
	}
	if (!gdb_parse_hex(cursor, &value) || value > INT32_MAX)
		return false;
	*thread = (int64_t)value;
	return true;
}

bool gdb_parse_address_length(const char *args, uint64_t *address,
			      uint64_t *length, const char **rest)
{
	const char *p = args;

	if (!gdb_parse_hex(&p, address) || *p != ',')
		return false;
	p++;
	if (!gdb_parse_hex(&p, length))
		return false;
	*rest = p;
	return true;
}

bool gdb_parse_breakpoint(const char *args, enum gdb_break_type *type,
			  uint64_t *address, uint64_t *kind)
{
	const char *p = args;
	uint64_t number;

	if (!gdb_parse_hex(&p, &number) || number > GDB_WATCH_ACCESS ||
	    *p != ',')
		return false;
	if (!gdb_parse_address_length(p + 1, address, kind, &p) || *p != '\0')
		return false;
	*type = (enum gdb_break_type)number;
	return true;
}

/* Parses one ";ACTION[:THREAD]" at *cursor. */
static bool parse_vcont_action(const char **cursor,
			       struct gdb_vcont_action *action)
{
	const char *p = *cursor;
	uint64_t signal;

	if (*p != ';')
		return false;
	p++;
	switch (*p) {
	case 'c':
	case 's':
		action->kind = *p++;
		break;
	case 'C':
	case 'S':
		/* The guest has no signals to deliver, so C and S act like
		 * c and s. */
		action->kind = (char)(*p++ - 'A' + 'a');
		if (!gdb_parse_hex(&p, &signal) || signal > 0xff)
			return false;
		break;
	default:
		return false;
	}
	action->thread = GDB_THREAD_ALL;
	if (*p == ':') {
		p++;
		if (!gdb_parse_thread_id(&p, &action->thread) ||
		    action->thread == GDB_THREAD_ANY)
			return false;
	}
	*cursor = p;
	return true;
}

int gdb_parse_vcont(const char *args, struct gdb_vcont_action *actions,
		    size_t capacity)
{
	const char *p = args;
	size_t count = 0;

	while (*p != '\0') {
		if (count == capacity)
			return -1;
		if (!parse_vcont_action(&p, &actions[count]))
			return -1;
		count++;
	}
	return count == 0 ? -1 : (int)count;
}
