/* Unit tests of the GDB packet parser and the x86-64 register encodings. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdb_packet.h"
#include "x86_64/gdb_arch.h"

/* Feeds `text` in one call per `step` bytes and returns the first input
 * that completes, with the bytes consumed in *used. */
static enum gdb_input feed_text(struct gdb_parser *parser, const char *text,
				size_t step, size_t *used)
{
	size_t len = strlen(text);
	enum gdb_input input = GDB_INPUT_NONE;

	*used = 0;
	while (*used < len && input == GDB_INPUT_NONE) {
		size_t chunk = len - *used < step ? len - *used : step;

		*used += gdb_parser_feed(parser, (const uint8_t *)text + *used,
					 chunk, &input);
	}
	return input;
}

START_TEST(parser_reads_packet)
{
	struct gdb_parser parser;
	size_t used;

	gdb_parser_init(&parser);
	ck_assert_int_eq(feed_text(&parser, "$qC#b4", 64, &used),
			 GDB_INPUT_PACKET);
	ck_assert_uint_eq(used, 6);
	ck_assert_str_eq(parser.payload, "qC");
	ck_assert_uint_eq(parser.len, 2);
}
END_TEST

START_TEST(parser_joins_split_bytes)
{
	struct gdb_parser parser;
	size_t used;

	gdb_parser_init(&parser);
	ck_assert_int_eq(feed_text(&parser, "$m10,4#2e", 1, &used),
			 GDB_INPUT_PACKET);
	ck_assert_str_eq(parser.payload, "m10,4");
}
END_TEST

START_TEST(parser_stops_after_packet)
{
	struct gdb_parser parser;
	size_t used;

	gdb_parser_init(&parser);
	ck_assert_int_eq(feed_text(&parser, "$?#3f$g#67", 64, &used),
			 GDB_INPUT_PACKET);
	ck_assert_uint_eq(used, 5);
	ck_assert_str_eq(parser.payload, "?");
}
END_TEST

START_TEST(parser_rejects_bad_checksum)
{
	struct gdb_parser parser;
	size_t used;

	gdb_parser_init(&parser);
	ck_assert_int_eq(feed_text(&parser, "$qC#00", 64, &used),
			 GDB_INPUT_BAD_CHECKSUM);
}
END_TEST

START_TEST(parser_rejects_non_hex_checksum)
{
	struct gdb_parser parser;
	size_t used;

	gdb_parser_init(&parser);
	ck_assert_int_eq(feed_text(&parser, "$qC#zz", 64, &used),
			 GDB_INPUT_BAD_CHECKSUM);
	ck_assert_uint_eq(used, 5);
}
END_TEST

START_TEST(parser_reports_control_bytes)
{
	struct gdb_parser parser;
	size_t used;

	gdb_parser_init(&parser);
	ck_assert_int_eq(feed_text(&parser, "\x03", 64, &used),
			 GDB_INPUT_INTERRUPT);
	ck_assert_int_eq(feed_text(&parser, "+", 64, &used), GDB_INPUT_ACK);
	ck_assert_int_eq(feed_text(&parser, "-", 64, &used), GDB_INPUT_NACK);
}
END_TEST

START_TEST(parser_skips_noise)
{
	struct gdb_parser parser;
	size_t used;

	gdb_parser_init(&parser);
	ck_assert_int_eq(feed_text(&parser, "junk\r\n$?#3f", 64, &used),
			 GDB_INPUT_PACKET);
	ck_assert_str_eq(parser.payload, "?");
}
END_TEST

START_TEST(parser_restarts_on_dollar)
{
	struct gdb_parser parser;
	size_t used;

	gdb_parser_init(&parser);
	ck_assert_int_eq(feed_text(&parser, "$qSup$?#3f", 64, &used),
			 GDB_INPUT_PACKET);
	ck_assert_str_eq(parser.payload, "?");
}
END_TEST

START_TEST(parser_drops_long_packet)
{
	size_t len = GDB_PACKET_SIZE + 10;
	char *text = malloc(len + 5);
	struct gdb_parser parser;
	unsigned sum = 0;
	size_t used;

	text[0] = '$';
	memset(text + 1, 'a', len);
	for (size_t i = 0; i < len; i++)
		sum += 'a';
	snprintf(text + 1 + len, 4, "#%02x", sum & 0xff);
	gdb_parser_init(&parser);
	ck_assert_int_eq(feed_text(&parser, text, 4096, &used),
			 GDB_INPUT_TOO_LONG);
	ck_assert_uint_eq(used, len + 4);
	ck_assert_uint_eq(parser.len, GDB_PACKET_SIZE);
	free(text);
}
END_TEST

START_TEST(frame_escapes_specials)
{
	char out[32];
	size_t len = gdb_packet_frame("a#$}*", 5, out, sizeof(out));

	ck_assert_uint_eq(len, 13);
	out[len] = '\0';
	/* 'a' + four escaped bytes: checksum over the escaped form. */
	ck_assert_str_eq(out, "$a}\x03}\x04}]}\x0a#c3");
}
END_TEST

START_TEST(frame_rejects_small_buffer)
{
	char out[8];

	ck_assert_uint_eq(gdb_packet_frame("OK", 2, out, 5), 0);
	ck_assert_uint_eq(gdb_packet_frame("OK", 2, out, 6), 6);
	ck_assert_uint_eq(gdb_packet_frame("}", 1, out, 5), 0);
	ck_assert_uint_eq(gdb_packet_frame("}", 1, out, 6), 6);
}
END_TEST

START_TEST(frame_then_parse_round_trip)
{
	const char payload[] = "X1000,3:#$}";
	char frame[64];
	struct gdb_parser parser;
	size_t len = gdb_packet_frame(payload, strlen(payload), frame,
				      sizeof(frame) - 1);
	size_t used;
	long unescaped;

	frame[len] = '\0';
	gdb_parser_init(&parser);
	ck_assert_int_eq(feed_text(&parser, frame, 3, &used), GDB_INPUT_PACKET);
	unescaped = gdb_packet_unescape(parser.payload, parser.len);
	ck_assert_int_eq(unescaped, (long)strlen(payload));
	ck_assert_mem_eq(parser.payload, payload, strlen(payload));
}
END_TEST

START_TEST(unescape_rejects_trailing_escape)
{
	char data[] = "ab}";

	ck_assert_int_eq(gdb_packet_unescape(data, 3), -1);
}
END_TEST

START_TEST(hex_parse_limits)
{
	const char *ok = "ffffffffffffffff,";
	const char *too_long = "10000000000000000";
	const char *empty = ",1";
	uint64_t value = 7;

	ck_assert(gdb_parse_hex(&ok, &value));
	ck_assert_uint_eq(value, UINT64_MAX);
	ck_assert_str_eq(ok, ",");
	ck_assert(!gdb_parse_hex(&too_long, &value));
	ck_assert(!gdb_parse_hex(&empty, &value));
	ck_assert_str_eq(empty, ",1");
}
END_TEST

START_TEST(hex_decode_rejects_junk)
{
	uint8_t out[2];

	ck_assert(gdb_hex_decode("a0Ff", 2, out));
	ck_assert_uint_eq(out[0], 0xa0);
	ck_assert_uint_eq(out[1], 0xff);
	ck_assert(!gdb_hex_decode("a0g0", 2, out));
	ck_assert(!gdb_hex_decode("a\0", 1, out));
}
END_TEST

START_TEST(thread_id_forms)
{
	const char *all = "-1";
	const char *hex = "1f;";
	const char *bad = "x";
	int64_t thread;

	ck_assert(gdb_parse_thread_id(&all, &thread));
	ck_assert_int_eq(thread, GDB_THREAD_ALL);
	ck_assert(gdb_parse_thread_id(&hex, &thread));
	ck_assert_int_eq(thread, 0x1f);
	ck_assert_str_eq(hex, ";");
	ck_assert(!gdb_parse_thread_id(&bad, &thread));
}
END_TEST

START_TEST(breakpoint_arguments_parsed)
{
	enum gdb_break_type type;
	uint64_t address;
	uint64_t kind;

	ck_assert(gdb_parse_breakpoint("2,1000,4", &type, &address, &kind));
	ck_assert_int_eq(type, GDB_WATCH_WRITE);
	ck_assert_uint_eq(address, 0x1000);
	ck_assert_uint_eq(kind, 4);
	ck_assert(!gdb_parse_breakpoint("5,1000,4", &type, &address, &kind));
	ck_assert(!gdb_parse_breakpoint("0,1000", &type, &address, &kind));
	ck_assert(!gdb_parse_breakpoint("0,1000,1;X", &type, &address, &kind));
}
END_TEST

START_TEST(vcont_actions_parsed)
{
	struct gdb_vcont_action actions[4];

	ck_assert_int_eq(gdb_parse_vcont(";s:1;c", actions, 4), 2);
	ck_assert_int_eq(actions[0].kind, 's');
	ck_assert_int_eq(actions[0].thread, 1);
	ck_assert_int_eq(actions[1].kind, 'c');
	ck_assert_int_eq(actions[1].thread, GDB_THREAD_ALL);
	ck_assert_int_eq(gdb_parse_vcont(";C05:2", actions, 4), 1);
	ck_assert_int_eq(actions[0].kind, 'c');
	ck_assert_int_eq(actions[0].thread, 2);
}
END_TEST

/* vCont arguments that must be rejected. */
static const char *const bad_vcont[] = {
    "", ";", ";t", ";r1,2", ";c:0", ";s:zz", ";C", ";Czz", ";c;c;c;c;c", "c",
};

START_TEST(vcont_rejects_malformed)
{
	struct gdb_vcont_action actions[4];

	ck_assert_int_eq(gdb_parse_vcont(bad_vcont[_i], actions, 4), -1);
}
END_TEST

START_TEST(slots_fill_and_overflow)
{
	struct gdb_x86_debug_slots slots = {0};

	for (uint64_t i = 0; i < GDB_X86_DEBUG_SLOTS; i++)
		ck_assert_int_eq(gdb_x86_slots_insert(
				     &slots, GDB_BREAK_HARDWARE, 0x1000 + i, 1),
				 0);
	ck_assert_int_eq(
	    gdb_x86_slots_insert(&slots, GDB_BREAK_HARDWARE, 0x2000, 1),
	    -ENOSPC);
	ck_assert_int_eq(
	    gdb_x86_slots_remove(&slots, GDB_BREAK_HARDWARE, 0x1002, 1), 0);
	ck_assert_int_eq(
	    gdb_x86_slots_insert(&slots, GDB_BREAK_HARDWARE, 0x2000, 1), 0);
}
END_TEST

START_TEST(slots_split_unaligned_watch)
{
	struct gdb_x86_debug_slots slots = {0};

	/* [0x1001, 0x1004): one byte at 0x1001, two at 0x1002. */
	ck_assert_int_eq(
	    gdb_x86_slots_insert(&slots, GDB_WATCH_WRITE, 0x1001, 3), 0);
	ck_assert_uint_eq(slots.slot[0].address, 0x1001);
	ck_assert_uint_eq(slots.slot[0].len, 1);
	ck_assert_uint_eq(slots.slot[1].address, 0x1002);
	ck_assert_uint_eq(slots.slot[1].len, 2);
	ck_assert(!slots.slot[2].used);
	ck_assert_int_eq(
	    gdb_x86_slots_remove(&slots, GDB_WATCH_WRITE, 0x1001, 3), 0);
	ck_assert(!gdb_x86_slots_used(&slots));
}
END_TEST

START_TEST(slots_reject_bad_requests)
{
	struct gdb_x86_debug_slots slots = {0};

	ck_assert_int_eq(
	    gdb_x86_slots_insert(&slots, GDB_WATCH_WRITE, 0x1000, 0), -EINVAL);
	ck_assert_int_eq(
	    gdb_x86_slots_insert(&slots, GDB_WATCH_WRITE, 0x1000, 33), -EINVAL);
	ck_assert_int_eq(
	    gdb_x86_slots_insert(&slots, GDB_BREAK_SOFTWARE, 0x1000, 1),
	    -EINVAL);
	/* [0x1001, 0x1021) needs seven blocks, more than the four slots. */
	ck_assert_int_eq(
	    gdb_x86_slots_insert(&slots, GDB_WATCH_ACCESS, 0x1001, 32),
	    -ENOSPC);
	ck_assert_int_eq(
	    gdb_x86_slots_remove(&slots, GDB_WATCH_WRITE, 0x1000, 4), -ENOENT);
}
END_TEST

START_TEST(slots_encode_dr7)
{
	struct gdb_x86_debug_slots slots = {0};
	struct kvm_guest_debug debug = {0};

	gdb_x86_slots_insert(&slots, GDB_WATCH_WRITE, 0x2000, 4);
	gdb_x86_slots_insert(&slots, GDB_BREAK_HARDWARE, 0x3000, 1);
	gdb_x86_slots_encode(&slots, &debug);
	ck_assert_uint_eq(debug.arch.debugreg[0], 0x2000);
	ck_assert_uint_eq(debug.arch.debugreg[1], 0x3000);
	/* GE and bit 10, G0 with R/W0 = write and LEN0 = 4 bytes, G1 with
	 * R/W1 = execute and LEN1 = 1 byte. */
	ck_assert_uint_eq(debug.arch.debugreg[7],
			  0x600 | 0x2 | 0x1ULL << 16 | 0x3ULL << 18 | 0x8);
}
END_TEST

START_TEST(debug_exit_decoded)
{
	struct gdb_x86_debug_slots slots = {0};
	struct kvm_debug_exit_arch exit = {.exception = 3};
	unsigned slot = 9;

	ck_assert_int_eq(gdb_x86_decode_debug_exit(&exit, &slots, &slot),
			 GDB_X86_DEBUG_BREAKPOINT);
	exit = (struct kvm_debug_exit_arch){.exception = 1, .dr6 = 0x4002};
	ck_assert_int_eq(gdb_x86_decode_debug_exit(&exit, &slots, &slot),
			 GDB_X86_DEBUG_STEP);
	gdb_x86_slots_insert(&slots, GDB_BREAK_HARDWARE, 0x1000, 1);
	gdb_x86_slots_insert(&slots, GDB_BREAK_HARDWARE, 0x2000, 1);
	ck_assert_int_eq(gdb_x86_decode_debug_exit(&exit, &slots, &slot),
			 GDB_X86_DEBUG_SLOT);
	ck_assert_uint_eq(slot, 1);
	exit.dr6 = 0;
	ck_assert_int_eq(gdb_x86_decode_debug_exit(&exit, &slots, &slot),
			 GDB_X86_DEBUG_UNKNOWN);
}
END_TEST

START_TEST(register_sizes_total)
{
	size_t total = 0;

	for (unsigned i = 0; i < GDB_X86_REGISTER_COUNT; i++)
		total += gdb_x86_register_size(i);
	ck_assert_uint_eq(total, GDB_X86_REGISTERS_SIZE);
	ck_assert_uint_eq(gdb_x86_register_size(GDB_X86_REGISTER_COUNT), 0);
}
END_TEST

START_TEST(registers_follow_gdb_order)
{
	struct gdb_x86_registers registers = {0};
	uint8_t all[GDB_X86_REGISTERS_SIZE];
	uint64_t value;

	registers.regs.rbp = 0x1111;
	registers.regs.rsp = 0x2222;
	registers.regs.rip = 0x3333;
	registers.regs.rflags = 0x246;
	registers.sregs.cs.selector = 0x8;
	registers.sregs.fs.base = 0x4444;
	gdb_x86_registers_get_all(&registers, all);
	memcpy(&value, all + 6 * 8, 8);
	ck_assert_uint_eq(value, 0x1111);
	memcpy(&value, all + 7 * 8, 8);
	ck_assert_uint_eq(value, 0x2222);
	memcpy(&value, all + 16 * 8, 8);
	ck_assert_uint_eq(value, 0x3333);
	value = 0;
	memcpy(&value, all + 17 * 8, 4);
	ck_assert_uint_eq(value, 0x246);
	memcpy(&value, all + 17 * 8 + 4, 4);
	ck_assert_uint_eq(value, 0x8);
	memcpy(&value, all + GDB_X86_REGISTERS_SIZE - 16, 8);
	ck_assert_uint_eq(value, 0x4444);
}
END_TEST

START_TEST(registers_round_trip)
{
	struct gdb_x86_registers registers = {0};
	struct gdb_x86_registers copy;
	uint8_t all[GDB_X86_REGISTERS_SIZE];
	uint8_t again[GDB_X86_REGISTERS_SIZE];

	registers.regs.r15 = 0x123456789abcdefULL;
	registers.fpu.xmm[3][5] = 0x77;
	registers.fpu.mxcsr = 0x1f80;
	registers.fpu.last_ip = 0x1122334455667788ULL;
	gdb_x86_registers_get_all(&registers, all);
	copy = (struct gdb_x86_registers){0};
	ck_assert_int_eq(gdb_x86_registers_set_all(&copy, all), 0);
	gdb_x86_registers_get_all(&copy, again);
	ck_assert_mem_eq(all, again, sizeof(all));
	ck_assert_uint_eq(copy.fpu.last_ip, 0x1122334455667788ULL);
	ck_assert(copy.fpu_changed);
	ck_assert(copy.sregs_changed);
}
END_TEST

START_TEST(selector_change_rejected)
{
	struct gdb_x86_registers registers = {0};
	uint8_t selector[4] = {0x10, 0, 0, 0};

	registers.sregs.ss.selector = 0x18;
	/* Register 19 is ss. */
	ck_assert_int_eq(gdb_x86_register_set(&registers, 19, selector),
			 -EINVAL);
	ck_assert_uint_eq(registers.sregs.ss.selector, 0x18);
	selector[0] = 0x18;
	ck_assert_int_eq(gdb_x86_register_set(&registers, 19, selector), 0);
}
END_TEST

START_TEST(tag_word_expanded)
{
	struct gdb_x86_registers registers = {0};
	uint8_t tag[4];
	uint32_t value;

	/* TOP = 7, so ST(0) is physical register 7; it contains +0.0. */
	registers.fpu.fsw = 7 << 11;
	registers.fpu.ftwx = 0x80;
	gdb_x86_register_get(&registers, 34, tag);
	memcpy(&value, tag, 4);
	ck_assert_uint_eq(value, 0x7fff);
	ck_assert_int_eq(gdb_x86_register_set(&registers, 34, tag), 0);
	ck_assert_uint_eq(registers.fpu.ftwx, 0x80);
}
END_TEST

START_TEST(target_xml_names_registers)
{
	const char *xml = gdb_x86_target_xml();

	ck_assert_ptr_nonnull(strstr(xml, "i386:x86-64"));
	ck_assert_ptr_nonnull(strstr(xml, "org.gnu.gdb.i386.core"));
	ck_assert_ptr_nonnull(strstr(xml, "<reg name=\"fs_base\""));
	ck_assert_ptr_null(strchr(xml, '$'));
}
END_TEST

static Suite *gdb_packet_suite(void)
{
	Suite *suite = suite_create("gdb_packet");
	TCase *protocol = tcase_create("protocol");
	TCase *x86 = tcase_create("x86_64");

	tcase_add_test(protocol, parser_reads_packet);
	tcase_add_test(protocol, parser_joins_split_bytes);
	tcase_add_test(protocol, parser_stops_after_packet);
	tcase_add_test(protocol, parser_rejects_bad_checksum);
	tcase_add_test(protocol, parser_rejects_non_hex_checksum);
	tcase_add_test(protocol, parser_reports_control_bytes);
	tcase_add_test(protocol, parser_skips_noise);
	tcase_add_test(protocol, parser_restarts_on_dollar);
	tcase_add_test(protocol, parser_drops_long_packet);
	tcase_add_test(protocol, frame_escapes_specials);
	tcase_add_test(protocol, frame_rejects_small_buffer);
	tcase_add_test(protocol, frame_then_parse_round_trip);
	tcase_add_test(protocol, unescape_rejects_trailing_escape);
	tcase_add_test(protocol, hex_parse_limits);
	tcase_add_test(protocol, hex_decode_rejects_junk);
	tcase_add_test(protocol, thread_id_forms);
	tcase_add_test(protocol, breakpoint_arguments_parsed);
	tcase_add_test(protocol, vcont_actions_parsed);
	tcase_add_loop_test(protocol, vcont_rejects_malformed, 0,
			    sizeof(bad_vcont) / sizeof(bad_vcont[0]));
	suite_add_tcase(suite, protocol);

	tcase_add_test(x86, slots_fill_and_overflow);
	tcase_add_test(x86, slots_split_unaligned_watch);
	tcase_add_test(x86, slots_reject_bad_requests);
	tcase_add_test(x86, slots_encode_dr7);
	tcase_add_test(x86, debug_exit_decoded);
	tcase_add_test(x86, register_sizes_total);
	tcase_add_test(x86, registers_follow_gdb_order);
	tcase_add_test(x86, registers_round_trip);
	tcase_add_test(x86, selector_change_rejected);
	tcase_add_test(x86, tag_word_expanded);
	tcase_add_test(x86, target_xml_names_registers);
	suite_add_tcase(suite, x86);
	return suite;
}

int main(void)
{
	SRunner *runner = srunner_create(gdb_packet_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
