/* Unit tests of the strict TOML reader in lib/toml.c. */
#include "toml.h"

#include <check.h>
#include <glib.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Parses a copy of `len` bytes in a buffer of exactly that size without a
 * terminating NUL, so AddressSanitizer and Valgrind catch reads past `len`.
 */
static int parse_bytes(const char *text, size_t len,
		       struct toml_document **document, char **error)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, text, len);
	rc = toml_parse(copy, len, "test.toml", document, error);
	free(copy);
	return rc;
}

static struct toml_document *parse_ok(const char *text)
{
	struct toml_document *document = NULL;
	char *error = NULL;
	int rc = parse_bytes(text, strlen(text), &document, &error);

	ck_assert_msg(rc == 0, "toml_parse failed with %d: %s", rc,
		      error ? error : "(no message)");
	ck_assert_ptr_null(error);
	ck_assert_ptr_nonnull(document);
	return document;
}

/* Returns the message of a parse that must fail with -EINVAL. */
static char *parse_error_bytes(const char *text, size_t len)
{
	struct toml_document *document = NULL;
	char *error = NULL;
	int rc = parse_bytes(text, len, &document, &error);

	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_ptr_null(document);
	ck_assert_ptr_nonnull(error);
	return error;
}

static void check_error(const char *text, const char *expected)
{
	char *error = parse_error_bytes(text, strlen(text));

	ck_assert_str_eq(error, expected);
	free(error);
}

static const struct toml_value *get(const struct toml_document *document,
				    const char *key)
{
	const struct toml_value *value =
	    toml_table_get(toml_document_root(document), key);

	ck_assert_msg(value != NULL, "key %s is missing", key);
	return value;
}

static int64_t get_integer(const struct toml_document *document,
			   const char *key)
{
	const struct toml_value *value = get(document, key);

	ck_assert_int_eq(value->type, TOML_INTEGER);
	return value->integer;
}

static const char *get_string(const struct toml_document *document,
			      const char *key)
{
	const struct toml_value *value = get(document, key);

	ck_assert_int_eq(value->type, TOML_STRING);
	return value->string;
}

START_TEST(empty_document)
{
	struct toml_document *document = parse_ok("");
	const struct toml_table *root = toml_document_root(document);

	ck_assert_uint_eq(toml_table_size(root), 0);
	ck_assert_str_eq(toml_table_name(root), "");
	toml_document_free(document);
}
END_TEST

START_TEST(comments_and_blank_lines)
{
	struct toml_document *document = parse_ok("# first\n"
						  "\n"
						  "   # indented\n"
						  "a = 1 # after a value\n"
						  "[t] # after a header\n"
						  "b = 2#no space\n"
						  "# last without newline");

	ck_assert_int_eq(get_integer(document, "a"), 1);
	ck_assert_int_eq(
	    toml_table_get(
		toml_table_get_table(toml_document_root(document), "t"), "b")
		->integer,
	    2);
	toml_document_free(document);
}
END_TEST

START_TEST(strings_basic_and_literal)
{
	struct toml_document *document =
	    parse_ok("basic = \"hello world\"\n"
		     "literal = 'C:\\path\\n'\n"
		     "empty = \"\"\n"
		     "empty_literal = ''\n"
		     "utf8 = \"grüße €\"\n"
		     "quote_in_literal = 'say \"hi\"'\n"
		     "tab = \"a\tb\"\n");

	ck_assert_str_eq(get_string(document, "basic"), "hello world");
	ck_assert_str_eq(get_string(document, "literal"), "C:\\path\\n");
	ck_assert_str_eq(get_string(document, "empty"), "");
	ck_assert_str_eq(get_string(document, "empty_literal"), "");
	ck_assert_str_eq(get_string(document, "utf8"), "grüße €");
	ck_assert_str_eq(get_string(document, "quote_in_literal"),
			 "say \"hi\"");
	ck_assert_str_eq(get_string(document, "tab"), "a\tb");
	toml_document_free(document);
}
END_TEST

START_TEST(string_escapes)
{
	struct toml_document *document =
	    parse_ok("s = \"\\b\\t\\n\\f\\r\\\"\\\\/\"\n");

	ck_assert_str_eq(get_string(document, "s"), "\b\t\n\f\r\"\\/");
	toml_document_free(document);
}
END_TEST

START_TEST(unicode_escapes)
{
	struct toml_document *document =
	    parse_ok("two = \"\\u00e9\"\n"
		     "three = \"\\u20AC\"\n"
		     "four = \"\\U0001F600\"\n"
		     "one = \"\\u0041\\U00000042\"\n"
		     "control = \"\\u0001\"\n"
		     "max = \"\\U0010FFFF\"\n");

	ck_assert_str_eq(get_string(document, "two"), "\xc3\xa9");
	ck_assert_str_eq(get_string(document, "three"), "\xe2\x82\xac");
	ck_assert_str_eq(get_string(document, "four"), "\xf0\x9f\x98\x80");
	ck_assert_str_eq(get_string(document, "one"), "AB");
	ck_assert_str_eq(get_string(document, "control"), "\x01");
	ck_assert_str_eq(get_string(document, "max"), "\xf4\x8f\xbf\xbf");
	toml_document_free(document);
}
END_TEST

START_TEST(integers)
{
	struct toml_document *document = parse_ok("zero = 0\n"
						  "plus_zero = +0\n"
						  "minus_zero = -0\n"
						  "positive = +17\n"
						  "negative = -17\n"
						  "separated = 1_000_000\n"
						  "hex = 0xDEAD_beef\n"
						  "hex_zeros = 0x00ff\n"
						  "octal = 0o755\n"
						  "binary = 0b1010\n");

	ck_assert_int_eq(get_integer(document, "zero"), 0);
	ck_assert_int_eq(get_integer(document, "plus_zero"), 0);
	ck_assert_int_eq(get_integer(document, "minus_zero"), 0);
	ck_assert_int_eq(get_integer(document, "positive"), 17);
	ck_assert_int_eq(get_integer(document, "negative"), -17);
	ck_assert_int_eq(get_integer(document, "separated"), 1000000);
	ck_assert_int_eq(get_integer(document, "hex"), 0xdeadbeef);
	ck_assert_int_eq(get_integer(document, "hex_zeros"), 255);
	ck_assert_int_eq(get_integer(document, "octal"), 0755);
	ck_assert_int_eq(get_integer(document, "binary"), 10);
	toml_document_free(document);
}
END_TEST

START_TEST(integer_limits)
{
	struct toml_document *document =
	    parse_ok("max = 9223372036854775807\n"
		     "min = -9223372036854775808\n"
		     "hex_max = 0x7fffffffffffffff\n"
		     "binary_max = 0b111111111111111111111111111111111111"
		     "111111111111111111111111111\n");

	ck_assert_int_eq(get_integer(document, "max"), INT64_MAX);
	ck_assert_int_eq(get_integer(document, "min"), INT64_MIN);
	ck_assert_int_eq(get_integer(document, "hex_max"), INT64_MAX);
	ck_assert_int_eq(get_integer(document, "binary_max"), INT64_MAX);
	toml_document_free(document);
}
END_TEST

START_TEST(integer_overflow)
{
	check_error("n = 9223372036854775808\n",
		    "test.toml:1:5: integer 9223372036854775808 for key \"n\" "
		    "is out of the 64-bit range");
	check_error("n = -9223372036854775809\n",
		    "test.toml:1:5: integer -9223372036854775809 for key \"n\" "
		    "is out of the 64-bit range");
	check_error("n = 0x8000000000000000\n",
		    "test.toml:1:5: integer 0x8000000000000000 for key \"n\" "
		    "is out of the 64-bit range");
	check_error("n = 99999999999999999999999999999\n",
		    "test.toml:1:5: integer 99999999999999999999999999999 for "
		    "key \"n\" is out of the 64-bit range");
}
END_TEST

START_TEST(integer_invalid)
{
	check_error("n = 012\n", "test.toml:1:5: invalid integer 012 for key "
				 "\"n\", leading zeros are not allowed");
	check_error("n = -00\n", "test.toml:1:5: invalid integer -00 for key "
				 "\"n\", leading zeros are not allowed");
	check_error("n = 1__2\n",
		    "test.toml:1:5: invalid integer 1__2 for key "
		    "\"n\", '_' is only allowed between two digits");
	check_error("n = 1_\n",
		    "test.toml:1:5: invalid integer 1_ for key "
		    "\"n\", '_' is only allowed between two digits");
	check_error("n = 0x_1\n",
		    "test.toml:1:5: invalid integer 0x_1 for key "
		    "\"n\", '_' is only allowed between two digits");
	check_error("n = +0x1\n",
		    "test.toml:1:5: invalid integer +0x1 for key \"n\", 0x, 0o "
		    "and 0b integers take no sign");
	check_error("n = 0x\n", "test.toml:1:5: invalid integer 0x for key "
				"\"n\"");
	check_error("n = 0o8\n", "test.toml:1:5: invalid integer 0o8 for key "
				 "\"n\"");
	check_error("n = 0b102\n", "test.toml:1:5: invalid integer 0b102 for "
				   "key \"n\"");
	check_error("n = 12ab\n", "test.toml:1:5: invalid integer 12ab for key "
				  "\"n\"");
	check_error("n = 0X1F\n", "test.toml:1:5: invalid integer 0X1F for key "
				  "\"n\"");
	check_error("n = -\n", "test.toml:1:5: invalid integer - for key "
			       "\"n\"");
}
END_TEST

START_TEST(booleans)
{
	struct toml_document *document = parse_ok("yes = true\nno = false\n");

	ck_assert_int_eq(get(document, "yes")->type, TOML_BOOLEAN);
	ck_assert(get(document, "yes")->boolean);
	ck_assert_int_eq(get(document, "no")->type, TOML_BOOLEAN);
	ck_assert(!get(document, "no")->boolean);
	toml_document_free(document);

	check_error("b = True\n", "test.toml:1:5: invalid value True for key "
				  "\"b\", strings need quotes");
	check_error("b = truest\n", "test.toml:1:5: invalid value truest for "
				    "key \"b\", strings need quotes");
}
END_TEST

START_TEST(arrays)
{
	struct toml_document *document = parse_ok("empty = []\n"
						  "numbers = [ 1, 2, 3 ]\n"
						  "strings = [\"a\", 'b']\n"
						  "mixed = [1, \"x\", true]\n");
	const struct toml_array *array;

	ck_assert_int_eq(get(document, "empty")->type, TOML_ARRAY);
	ck_assert_uint_eq(toml_array_size(get(document, "empty")->array), 0);

	array = get(document, "numbers")->array;
	ck_assert_uint_eq(toml_array_size(array), 3);
	ck_assert_int_eq(toml_array_get(array, 0)->integer, 1);
	ck_assert_int_eq(toml_array_get(array, 2)->integer, 3);
	ck_assert_ptr_null(toml_array_get(array, 3));

	array = get(document, "strings")->array;
	ck_assert_str_eq(toml_array_get(array, 0)->string, "a");
	ck_assert_str_eq(toml_array_get(array, 1)->string, "b");

	array = get(document, "mixed")->array;
	ck_assert_int_eq(toml_array_get(array, 0)->type, TOML_INTEGER);
	ck_assert_int_eq(toml_array_get(array, 1)->type, TOML_STRING);
	ck_assert_int_eq(toml_array_get(array, 2)->type, TOML_BOOLEAN);
	toml_document_free(document);
}
END_TEST

START_TEST(array_multi_line)
{
	struct toml_document *document =
	    parse_ok("list = [ # opening\n"
		     "  \"one\",   # first\n"
		     "  # a whole comment line\n"
		     "\n"
		     "  \"two\"\n"
		     "  ,\r\n"
		     "  \"three\",  # trailing comma\n"
		     "]\n"
		     "after = 7\n");
	const struct toml_array *array = get(document, "list")->array;

	ck_assert_uint_eq(toml_array_size(array), 3);
	ck_assert_str_eq(toml_array_get(array, 0)->string, "one");
	ck_assert_uint_eq(toml_array_get(array, 0)->line, 2);
	ck_assert_str_eq(toml_array_get(array, 1)->string, "two");
	ck_assert_uint_eq(toml_array_get(array, 1)->line, 5);
	ck_assert_str_eq(toml_array_get(array, 2)->string, "three");
	ck_assert_uint_eq(toml_array_get(array, 2)->line, 7);
	ck_assert_uint_eq(get(document, "after")->line, 9);
	toml_document_free(document);
}
END_TEST

START_TEST(array_nested)
{
	struct toml_document *document =
	    parse_ok("nested = [[1, 2], [[3]], []]\n");
	const struct toml_array *outer = get(document, "nested")->array;
	const struct toml_array *first;
	const struct toml_array *second;

	ck_assert_uint_eq(toml_array_size(outer), 3);
	first = toml_array_get(outer, 0)->array;
	ck_assert_uint_eq(toml_array_size(first), 2);
	ck_assert_int_eq(toml_array_get(first, 1)->integer, 2);
	second = toml_array_get(outer, 1)->array;
	ck_assert_int_eq(toml_array_get(second, 0)->type, TOML_ARRAY);
	ck_assert_int_eq(
	    toml_array_get(toml_array_get(second, 0)->array, 0)->integer, 3);
	ck_assert_uint_eq(toml_array_size(toml_array_get(outer, 2)->array), 0);
	toml_document_free(document);
}
END_TEST

/* Returns "x = " followed by `depth` '[' and as many ']'. */
static char *nested_arrays(unsigned depth)
{
	char *text = malloc(depth * 2 + 6);
	unsigned i;

	ck_assert_ptr_nonnull(text);
	strcpy(text, "x = ");
	for (i = 0; i < depth; i++)
		text[4 + i] = '[';
	for (i = 0; i < depth; i++)
		text[4 + depth + i] = ']';
	strcpy(text + 4 + 2 * depth, "\n");
	return text;
}

START_TEST(array_depth_limit)
{
	char *text = nested_arrays(TOML_MAX_DEPTH);
	struct toml_document *document = parse_ok(text);

	toml_document_free(document);
	free(text);

	text = nested_arrays(TOML_MAX_DEPTH + 1);
	check_error(text, "test.toml:1:37: arrays nested more than 32 levels "
			  "deep in the value of key \"x\"");
	free(text);

	text = nested_arrays(100000);
	check_error(text, "test.toml:1:37: arrays nested more than 32 levels "
			  "deep in the value of key \"x\"");
	free(text);
}
END_TEST

START_TEST(tables_and_order)
{
	struct toml_document *document = parse_ok("title = 'x'\n"
						  "[memory]\n"
						  "size = 1\n"
						  "\n"
						  "[cpu]\n"
						  "count = 2\n"
						  "pit = false\n");
	const struct toml_table *root = toml_document_root(document);
	const struct toml_table *cpu = toml_table_get_table(root, "cpu");

	ck_assert_uint_eq(toml_table_size(root), 3);
	ck_assert_str_eq(toml_table_key(root, 0), "title");
	ck_assert_str_eq(toml_table_key(root, 1), "memory");
	ck_assert_str_eq(toml_table_key(root, 2), "cpu");
	ck_assert_ptr_null(toml_table_key(root, 3));
	ck_assert_int_eq(toml_table_value(root, 1)->type, TOML_TABLE);
	ck_assert_uint_eq(toml_table_value(root, 1)->line, 2);
	ck_assert_uint_eq(toml_table_value(root, 2)->line, 5);
	ck_assert_ptr_null(toml_table_value(root, 3));

	ck_assert_ptr_nonnull(cpu);
	ck_assert_str_eq(toml_table_name(cpu), "cpu");
	ck_assert_uint_eq(toml_table_size(cpu), 2);
	ck_assert_str_eq(toml_table_key(cpu, 0), "count");
	ck_assert_str_eq(toml_table_key(cpu, 1), "pit");
	ck_assert_uint_eq(toml_table_value(cpu, 1)->line, 7);
	ck_assert_uint_eq(toml_table_value(cpu, 1)->column, 7);
	toml_document_free(document);
}
END_TEST

START_TEST(table_lookups)
{
	struct toml_document *document = parse_ok("a = 1\n[t]\n");
	const struct toml_table *root = toml_document_root(document);

	ck_assert_ptr_null(toml_table_get(root, "missing"));
	ck_assert_ptr_null(toml_table_get(root, NULL));
	ck_assert_ptr_null(toml_table_get_table(root, "a"));
	ck_assert_ptr_null(toml_table_get_table(root, "missing"));
	ck_assert_ptr_nonnull(toml_table_get_table(root, "t"));
	ck_assert_ptr_null(toml_table_get(NULL, "a"));
	ck_assert_ptr_null(toml_table_get_table(NULL, "a"));
	ck_assert_uint_eq(toml_table_size(NULL), 0);
	ck_assert_ptr_null(toml_table_key(NULL, 0));
	ck_assert_ptr_null(toml_table_value(NULL, 0));
	toml_document_free(document);
}
END_TEST

START_TEST(many_keys)
{
	GString *text = g_string_new(NULL);
	struct toml_document *document;
	const struct toml_table *root;
	char key[32];
	unsigned i;

	for (i = 0; i < 5000; i++)
		g_string_append_printf(text, "key%u = %u\n", i, i);
	document = parse_ok(text->str);
	root = toml_document_root(document);

	ck_assert_uint_eq(toml_table_size(root), 5000);
	for (i = 0; i < 5000; i += 499) {
		snprintf(key, sizeof(key), "key%u", i);
		ck_assert_int_eq(toml_table_get(root, key)->integer, i);
		ck_assert_str_eq(toml_table_key(root, i), key);
	}
	toml_document_free(document);
	g_string_free(text, TRUE);
}
END_TEST

START_TEST(quoted_keys)
{
	struct toml_document *document = parse_ok("\"with space\" = 1\n"
						  "'literal key' = 2\n"
						  "\"\" = 3\n"
						  "\"\\u00e9\" = 4\n"
						  "1234 = 5\n"
						  "true = 6\n"
						  "bare-key_2 = 7\n");

	ck_assert_int_eq(get_integer(document, "with space"), 1);
	ck_assert_int_eq(get_integer(document, "literal key"), 2);
	ck_assert_int_eq(get_integer(document, ""), 3);
	ck_assert_int_eq(get_integer(document, "\xc3\xa9"), 4);
	ck_assert_int_eq(get_integer(document, "1234"), 5);
	ck_assert_int_eq(get_integer(document, "true"), 6);
	ck_assert_int_eq(get_integer(document, "bare-key_2"), 7);
	toml_document_free(document);
}
END_TEST

START_TEST(dotted_tables)
{
	struct toml_document *document = parse_ok("[a.b]\n"
						  "x = 1\n"
						  "[a]\n"
						  "y = 2\n"
						  "[ a . \"c d\" ]\n"
						  "z = 3\n");
	const struct toml_table *a =
	    toml_table_get_table(toml_document_root(document), "a");
	const struct toml_table *b = toml_table_get_table(a, "b");
	const struct toml_table *cd = toml_table_get_table(a, "c d");

	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(get(document, "a")->line, 3);
	ck_assert_str_eq(toml_table_name(a), "a");
	ck_assert_str_eq(toml_table_name(b), "a.b");
	ck_assert_str_eq(toml_table_name(cd), "a.\"c d\"");
	ck_assert_str_eq(toml_table_key(a, 0), "b");
	ck_assert_str_eq(toml_table_key(a, 1), "y");
	ck_assert_str_eq(toml_table_key(a, 2), "c d");
	ck_assert_int_eq(toml_table_get(b, "x")->integer, 1);
	ck_assert_int_eq(toml_table_get(a, "y")->integer, 2);
	ck_assert_int_eq(toml_table_get(cd, "z")->integer, 3);
	toml_document_free(document);
}
END_TEST

START_TEST(dotted_keys)
{
	struct toml_document *document = parse_ok("a.b = 1\n"
						  "a.c = 2\n"
						  "[t]\n"
						  "x . y . z = 3\n"
						  "[t.x.w]\n"
						  "v = 4\n");
	const struct toml_table *root = toml_document_root(document);
	const struct toml_table *a = toml_table_get_table(root, "a");
	const struct toml_table *x =
	    toml_table_get_table(toml_table_get_table(root, "t"), "x");

	ck_assert_int_eq(toml_table_get(a, "b")->integer, 1);
	ck_assert_int_eq(toml_table_get(a, "c")->integer, 2);
	ck_assert_int_eq(
	    toml_table_get(toml_table_get_table(x, "y"), "z")->integer, 3);
	ck_assert_int_eq(
	    toml_table_get(toml_table_get_table(x, "w"), "v")->integer, 4);
	toml_document_free(document);
}
END_TEST

START_TEST(table_depth_limit)
{
	GString *text = g_string_new("[t");
	struct toml_document *document;
	char *error;
	unsigned i;

	for (i = 1; i < TOML_MAX_DEPTH; i++)
		g_string_append(text, ".t");
	g_string_append(text, "]\n");
	document = parse_ok(text->str);
	toml_document_free(document);

	g_string_append(text, "u.v = 1\n");
	error = parse_error_bytes(text->str, text->len);
	ck_assert_str_eq(error, "test.toml:2:1: tables nested more than 32 "
				"levels deep at key \"u\"");
	free(error);

	g_string_assign(text, "[t");
	for (i = 1; i <= TOML_MAX_DEPTH; i++)
		g_string_append(text, ".t");
	g_string_append(text, "]\n");
	error = parse_error_bytes(text->str, text->len);
	ck_assert_str_eq(error, "test.toml:1:66: key with more than 32 dotted "
				"parts");
	free(error);
	g_string_free(text, TRUE);
}
END_TEST

START_TEST(line_endings_and_bom)
{
	struct toml_document *document = parse_ok("\xef\xbb\xbf"
						  "a = 1\r\n"
						  "[t]\r\n"
						  "b = 'x'\r\n");

	ck_assert_int_eq(get_integer(document, "a"), 1);
	ck_assert_uint_eq(get(document, "a")->column, 5);
	ck_assert_uint_eq(get(document, "t")->line, 2);
	toml_document_free(document);
}
END_TEST

START_TEST(length_not_nul_terminated)
{
	struct toml_document *document = NULL;
	char *error = NULL;

	ck_assert_int_eq(parse_bytes("a = 12345", 5, &document, &error), 0);
	ck_assert_int_eq(get_integer(document, "a"), 1);
	toml_document_free(document);

	error = parse_error_bytes("a = \"abc\"", 8);
	ck_assert_str_eq(error, "test.toml:1:5: unterminated string");
	free(error);

	ck_assert_int_eq(toml_parse(NULL, 0, NULL, &document, &error), 0);
	ck_assert_uint_eq(toml_table_size(toml_document_root(document)), 0);
	toml_document_free(document);
}
END_TEST

START_TEST(error_unterminated_string)
{
	check_error("a = \"abc\n", "test.toml:1:5: unterminated string");
	check_error("a = \"abc", "test.toml:1:5: unterminated string");
	check_error("a = 'abc\nb = 1\n", "test.toml:1:5: unterminated string");
	check_error("a = \"abc\\", "test.toml:1:5: unterminated string");
	check_error("x = 1\n\"key = 1\n", "test.toml:2:1: unterminated string");
}
END_TEST

START_TEST(error_duplicate_key)
{
	check_error("[memory]\n"
		    "memory_size = 1\n"
		    "memory_size = 2\n",
		    "test.toml:3:1: duplicate key \"memory_size\" in table "
		    "[memory] (first defined on line 2)");
	check_error("a = 1\n\"a\" = 2\n",
		    "test.toml:2:1: duplicate key \"a\" in the root table "
		    "(first defined on line 1)");
	check_error("[a.b]\n[a]\nb = 1\n",
		    "test.toml:3:1: duplicate key \"b\" in table [a] (first "
		    "defined on line 1)");
	check_error("a.b = 1\na.b = 2\n",
		    "test.toml:2:1: duplicate key \"a.b\" in the root table "
		    "(first defined on line 1)");
}
END_TEST

START_TEST(error_duplicate_table)
{
	check_error("[memory]\n"
		    "a = 1\n"
		    "[cpu]\n"
		    "[memory]\n",
		    "test.toml:4:2: duplicate table [memory] (first defined "
		    "on line 1)");
	check_error("[a.b]\n[a]\n[a]\n",
		    "test.toml:3:2: duplicate table [a] (first defined on "
		    "line 2)");
	check_error("[a]\nb.c = 1\n[a.b]\n",
		    "test.toml:3:2: table [a.b] is already defined by dotted "
		    "keys on line 2");
	check_error("[a.b]\n[a]\nb.c = 1\n",
		    "test.toml:3:1: dotted key \"b.c\" cannot add to table "
		    "[a.b], which a table header created on line 1");
}
END_TEST

START_TEST(error_table_conflicts_with_value)
{
	check_error("a = 1\n[a.b]\n",
		    "test.toml:2:2: table [a.b] cannot be defined because "
		    "\"a\" is already an integer defined on line 1");
	check_error("a = [1]\n[a]\n",
		    "test.toml:2:2: table [a] cannot be defined because \"a\" "
		    "is already an array defined on line 1");
	check_error("a = 'x'\na.b = 1\n",
		    "test.toml:2:1: key \"a.b\" cannot be defined because "
		    "\"a\" is already a string defined on line 1");
}
END_TEST

START_TEST(error_invalid_escape)
{
	check_error(
	    "a = \"x\\qy\"\n",
	    "test.toml:1:7: invalid escape sequence \"\\q\" in a string, "
	    "valid escapes are \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX "
	    "and \\UXXXXXXXX");
	check_error("a = \"\\\xc3\xa9\"\n",
		    "test.toml:1:6: invalid escape sequence in a string, a "
		    "backslash followed by U+00E9, valid escapes are \\b \\t "
		    "\\n \\f \\r \\\" \\\\ \\uXXXX and \\UXXXXXXXX");
	check_error("a = \"\\u12\"\n",
		    "test.toml:1:6: escape \\u needs 4 hexadecimal digits");
	check_error("a = \"\\U1234\"",
		    "test.toml:1:6: escape \\U needs 8 hexadecimal digits");
	check_error("a = \"\\ud800\"\n",
		    "test.toml:1:6: escape \\ud800 is not a Unicode scalar "
		    "value");
	check_error("a = \"\\U00110000\"\n",
		    "test.toml:1:6: escape \\U00110000 is not a Unicode scalar "
		    "value");
	check_error("a = \"\\u0000\"\n",
		    "test.toml:1:6: escape \\u0000 is not supported because "
		    "strings are NUL-terminated");
}
END_TEST

START_TEST(error_control_characters)
{
	check_error("a = \"x\x01y\"\n",
		    "test.toml:1:7: control character U+0001 in a string, "
		    "write it as an escape sequence");
	check_error("a = 'x\x7f'\n",
		    "test.toml:1:7: control character U+007F in a string, "
		    "write it as an escape sequence");
	check_error("a = \"x\ry\"\n",
		    "test.toml:1:7: control character U+000D in a string, "
		    "write it as an escape sequence");
	check_error("# bell \x07\n",
		    "test.toml:1:8: control character U+0007 in a comment");
}
END_TEST

START_TEST(error_trailing_garbage)
{
	check_error("a = 1 2\n",
		    "test.toml:1:7: unexpected '2' after the value of key "
		    "\"a\", expected a comment or a new line");
	check_error("a = \"x\"y\n",
		    "test.toml:1:8: unexpected 'y' after the value of key "
		    "\"a\", expected a comment or a new line");
	check_error("a = [1] ]\n",
		    "test.toml:1:9: unexpected ']' after the value of key "
		    "\"a\", expected a comment or a new line");
	check_error("[t] x\n",
		    "test.toml:1:5: unexpected 'x' after table header [t], "
		    "expected a comment or a new line");
	check_error("a = 1\r\r\n",
		    "test.toml:1:6: unexpected U+000D after the value of key "
		    "\"a\", expected a comment or a new line");
}
END_TEST

START_TEST(error_missing_value)
{
	check_error("a =\n", "test.toml:1:4: missing value for key \"a\"");
	check_error("a = ", "test.toml:1:5: missing value for key \"a\"");
	check_error("a = # comment\n",
		    "test.toml:1:5: missing value for key \"a\"");
	check_error("a = [1,,2]\n",
		    "test.toml:1:8: missing value for key \"a\"");
	check_error("a = [,]\n", "test.toml:1:6: missing value for key \"a\"");
	check_error("a = hello\n", "test.toml:1:5: invalid value hello for "
				   "key \"a\", strings need quotes");
	check_error("a = @\n", "test.toml:1:5: invalid value for key \"a\" "
			       "starting with '@'");
}
END_TEST

START_TEST(error_missing_equals)
{
	check_error("a\n", "test.toml:1:2: missing '=' after key \"a\"");
	check_error("a", "test.toml:1:2: missing '=' after key \"a\"");
	check_error("[t]\nkey 1\n",
		    "test.toml:2:5: missing '=' after key \"key\"");
	check_error("a: 1\n", "test.toml:1:2: missing '=' after key \"a\"");
	check_error("= 1\n", "test.toml:1:1: expected a key, found '='");
	check_error("a. = 1\n", "test.toml:1:4: expected a key, found '='");
}
END_TEST

START_TEST(error_array_syntax)
{
	check_error("a = [1, 2\n",
		    "test.toml:1:5: unterminated array in the value of key "
		    "\"a\"");
	check_error("a = [1,\n", "test.toml:1:5: unterminated array in the "
				 "value of key \"a\"");
	check_error("a = [1 2]\n",
		    "test.toml:1:8: expected ',' or ']' after an element of "
		    "the array of key \"a\", found '2'");
}
END_TEST

START_TEST(error_header_syntax)
{
	check_error("[]\n", "test.toml:1:2: expected a key, found ']'");
	check_error("[a\n",
		    "test.toml:1:3: expected ']' after table name a, found "
		    "U+000A");
	check_error("[a b]\n", "test.toml:1:4: expected ']' after table name "
			       "a, found 'b'");
}
END_TEST

START_TEST(error_embedded_nul)
{
	char *error = parse_error_bytes("a = 1\nb = \"x\0y\"\n", 15);

	ck_assert_str_eq(error, "test.toml:2:7: embedded NUL byte");
	free(error);
}
END_TEST

START_TEST(error_invalid_utf8)
{
	check_error("a = 1\nb = \"\xff\"\n",
		    "test.toml:2:6: invalid UTF-8 sequence starting with byte "
		    "0xff");
	check_error("# \xc0\xaf overlong\n",
		    "test.toml:1:3: invalid UTF-8 sequence starting with byte "
		    "0xc0");
	check_error("a = '\xed\xa0\x80'\n",
		    "test.toml:1:6: invalid UTF-8 sequence starting with byte "
		    "0xed");
	check_error("a = '\xc3'",
		    "test.toml:1:6: invalid UTF-8 sequence starting with byte "
		    "0xc3");
}
END_TEST

START_TEST(error_unsupported)
{
	check_error("a = \"\"\"x\"\"\"\n",
		    "test.toml:1:5: multi-line strings are not supported, "
		    "found in the value of key \"a\"");
	check_error("a = '''x'''\n",
		    "test.toml:1:5: multi-line strings are not supported, "
		    "found in the value of key \"a\"");
	check_error("a = 1.5\n", "test.toml:1:5: floating-point numbers are "
				 "not supported, found in the value of key "
				 "\"a\"");
	check_error("a = 1e6\n", "test.toml:1:5: floating-point numbers are "
				 "not supported, found in the value of key "
				 "\"a\"");
	check_error("a = -inf\n", "test.toml:1:5: floating-point numbers are "
				  "not supported, found in the value of key "
				  "\"a\"");
	check_error("a = nan\n", "test.toml:1:5: floating-point numbers are "
				 "not supported, found in the value of key "
				 "\"a\"");
	check_error("a = 1979-05-27\n",
		    "test.toml:1:5: dates and times are not supported, found "
		    "in the value of key \"a\"");
	check_error("a = 07:32:00\n",
		    "test.toml:1:5: dates and times are not supported, found "
		    "in the value of key \"a\"");
	check_error("a = { b = 1 }\n",
		    "test.toml:1:5: inline tables are not supported, found in "
		    "the value of key \"a\"");
	check_error("[[servers]]\n", "test.toml:1:1: arrays of tables [[...]] "
				     "are not supported");
	check_error("\"\"\"a\"\"\" = 1\n",
		    "test.toml:1:1: a key cannot be a multi-line string");
}
END_TEST

START_TEST(error_messages_escape_keys)
{
	check_error("\"a\\nb\" = 1\n\"a\\nb\" = 2\n",
		    "test.toml:2:1: duplicate key \"\"a\\u000Ab\"\" in the "
		    "root table (first defined on line 1)");
}
END_TEST

START_TEST(error_without_message_pointer)
{
	struct toml_document *document = NULL;

	ck_assert_int_eq(toml_parse("a = ", 4, "x.toml", &document, NULL),
			 -EINVAL);
	ck_assert_ptr_null(document);
}
END_TEST

START_TEST(error_default_file_name)
{
	struct toml_document *document = NULL;
	char *error = NULL;

	ck_assert_int_eq(toml_parse("a = ", 4, NULL, &document, &error),
			 -EINVAL);
	ck_assert_str_eq(error, "(input):1:5: missing value for key \"a\"");
	free(error);
}
END_TEST

START_TEST(error_replaces_old_message)
{
	struct toml_document *document = NULL;
	char *error = strdup("old");

	ck_assert_int_eq(toml_parse("a", 1, "x.toml", &document, &error),
			 -EINVAL);
	ck_assert_str_eq(error, "x.toml:1:2: missing '=' after key \"a\"");
	free(error);
}
END_TEST

START_TEST(type_names)
{
	ck_assert_str_eq(toml_type_name(TOML_STRING), "string");
	ck_assert_str_eq(toml_type_name(TOML_INTEGER), "integer");
	ck_assert_str_eq(toml_type_name(TOML_BOOLEAN), "boolean");
	ck_assert_str_eq(toml_type_name(TOML_ARRAY), "array");
	ck_assert_str_eq(toml_type_name(TOML_TABLE), "table");
}
END_TEST

static const char uhyve_toml[] =
    "# Launcher configuration of one Hermit application.\n"
    "[uhyve]\n"
    "output = \"stdio\"          # or \"none\" or a file path\n"
    "stats = true\n"
    "tempdir = '/tmp/uhyve'\n"
    "file_isolation = \"landlock\"\n"
    "io_mode = \"direct\"\n"
    "gdb_port = 6677\n"
    "\n"
    "[memory]\n"
    "memory_size = \"1GiB\"\n"
    "no_aslr = false\n"
    "thp = true\n"
    "ksm = false\n"
    "\n"
    "[cpu]\n"
    "cpu_count = 4\n"
    "cpu_pm = false\n"
    "pit = false\n"
    "affinity = [\n"
    "\t0, 1,\n"
    "\t2, 3, # the last comma is optional\n"
    "]\n"
    "\n"
    "[guest]\n"
    "env_vars = [\"RUST_LOG=debug\", \"HOME=/root\"]\n";

START_TEST(sample_uhyve_toml)
{
	struct toml_document *document = parse_ok(uhyve_toml);
	const struct toml_table *root = toml_document_root(document);
	const struct toml_table *uhyve = toml_table_get_table(root, "uhyve");
	const struct toml_table *memory = toml_table_get_table(root, "memory");
	const struct toml_table *cpu = toml_table_get_table(root, "cpu");
	const struct toml_table *guest = toml_table_get_table(root, "guest");
	const struct toml_array *affinity;
	const struct toml_array *env_vars;

	ck_assert_uint_eq(toml_table_size(root), 4);
	ck_assert_str_eq(toml_table_key(root, 3), "guest");

	ck_assert_uint_eq(toml_table_size(uhyve), 6);
	ck_assert_str_eq(toml_table_get(uhyve, "output")->string, "stdio");
	ck_assert(toml_table_get(uhyve, "stats")->boolean);
	ck_assert_str_eq(toml_table_get(uhyve, "tempdir")->string,
			 "/tmp/uhyve");
	ck_assert_str_eq(toml_table_get(uhyve, "file_isolation")->string,
			 "landlock");
	ck_assert_str_eq(toml_table_get(uhyve, "io_mode")->string, "direct");
	ck_assert_int_eq(toml_table_get(uhyve, "gdb_port")->integer, 6677);
	ck_assert_uint_eq(toml_table_get(uhyve, "gdb_port")->line, 8);

	ck_assert_str_eq(toml_table_key(memory, 0), "memory_size");
	ck_assert_str_eq(toml_table_get(memory, "memory_size")->string, "1GiB");
	ck_assert(!toml_table_get(memory, "no_aslr")->boolean);
	ck_assert(toml_table_get(memory, "thp")->boolean);
	ck_assert(!toml_table_get(memory, "ksm")->boolean);

	ck_assert_int_eq(toml_table_get(cpu, "cpu_count")->integer, 4);
	ck_assert(!toml_table_get(cpu, "cpu_pm")->boolean);
	ck_assert(!toml_table_get(cpu, "pit")->boolean);
	affinity = toml_table_get(cpu, "affinity")->array;
	ck_assert_uint_eq(toml_array_size(affinity), 4);
	ck_assert_int_eq(toml_array_get(affinity, 3)->integer, 3);
	ck_assert_uint_eq(toml_array_get(affinity, 3)->line, 22);

	env_vars = toml_table_get(guest, "env_vars")->array;
	ck_assert_uint_eq(toml_array_size(env_vars), 2);
	ck_assert_str_eq(toml_array_get(env_vars, 0)->string, "RUST_LOG=debug");
	ck_assert_str_eq(toml_array_get(env_vars, 1)->string, "HOME=/root");
	toml_document_free(document);
}
END_TEST

START_TEST(sample_uhyve_toml_affinity_string)
{
	struct toml_document *document =
	    parse_ok("[cpu]\ncpu_count = 2\naffinity = \"0-1\"\n");
	const struct toml_table *cpu =
	    toml_table_get_table(toml_document_root(document), "cpu");

	ck_assert_int_eq(toml_table_get(cpu, "affinity")->type, TOML_STRING);
	ck_assert_str_eq(toml_table_get(cpu, "affinity")->string, "0-1");
	toml_document_free(document);
}
END_TEST

static const char hermit_toml[] = "version = \"1\"\n"
				  "kernel = \"path/in/archive/to/kernel\"\n"
				  "[input]\n"
				  "kernel_args = []\n"
				  "app_args = [\"a\", \"b\"]\n"
				  "env_vars = [\"KEY=value\"]\n"
				  "[requirements]\n"
				  "memory = \"64MiB\"\n"
				  "cpus = 2\n";

START_TEST(sample_hermit_toml)
{
	struct toml_document *document = parse_ok(hermit_toml);
	const struct toml_table *root = toml_document_root(document);
	const struct toml_table *input = toml_table_get_table(root, "input");
	const struct toml_table *requirements =
	    toml_table_get_table(root, "requirements");
	const struct toml_array *app_args;

	ck_assert_str_eq(get_string(document, "version"), "1");
	ck_assert_str_eq(get_string(document, "kernel"),
			 "path/in/archive/to/kernel");
	ck_assert_uint_eq(
	    toml_array_size(toml_table_get(input, "kernel_args")->array), 0);
	app_args = toml_table_get(input, "app_args")->array;
	ck_assert_uint_eq(toml_array_size(app_args), 2);
	ck_assert_str_eq(toml_array_get(app_args, 1)->string, "b");
	ck_assert_str_eq(
	    toml_array_get(toml_table_get(input, "env_vars")->array, 0)->string,
	    "KEY=value");
	ck_assert_str_eq(toml_table_get(requirements, "memory")->string,
			 "64MiB");
	ck_assert_int_eq(toml_table_get(requirements, "cpus")->integer, 2);
	ck_assert_uint_eq(toml_table_get(requirements, "cpus")->line, 9);
	toml_document_free(document);
}
END_TEST

/* Parses `len` bytes and checks that a failure leaves a message. */
static void parse_any(const char *text, size_t len)
{
	struct toml_document *document = NULL;
	char *error = NULL;
	int rc = parse_bytes(text, len, &document, &error);

	if (rc == 0) {
		ck_assert_ptr_nonnull(document);
		ck_assert_ptr_null(error);
	} else {
		ck_assert_int_eq(rc, -EINVAL);
		ck_assert_ptr_null(document);
		ck_assert_ptr_nonnull(error);
	}
	toml_document_free(document);
	free(error);
}

START_TEST(truncated_inputs)
{
	size_t len;

	for (len = 0; len <= strlen(uhyve_toml); len++)
		parse_any(uhyve_toml, len);
	for (len = 0; len <= strlen(hermit_toml); len++)
		parse_any(hermit_toml, len);
}
END_TEST

START_TEST(mutated_inputs)
{
	static const char replacements[] = "\0\n\r\"'[]#=,.\\_x0\x80\xff";
	size_t len = strlen(uhyve_toml);
	char *text = malloc(len);
	size_t i;
	size_t r;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < len; i++) {
		for (r = 0; r < sizeof(replacements) - 1; r++) {
			memcpy(text, uhyve_toml, len);
			text[i] = replacements[r];
			parse_any(text, len);
		}
	}
	free(text);
}
END_TEST

static Suite *toml_suite(void)
{
	Suite *suite = suite_create("toml");
	TCase *valid = tcase_create("valid");
	TCase *invalid = tcase_create("invalid");
	TCase *samples = tcase_create("samples");

	tcase_add_test(valid, empty_document);
	tcase_add_test(valid, comments_and_blank_lines);
	tcase_add_test(valid, strings_basic_and_literal);
	tcase_add_test(valid, string_escapes);
	tcase_add_test(valid, unicode_escapes);
	tcase_add_test(valid, integers);
	tcase_add_test(valid, integer_limits);
	tcase_add_test(valid, booleans);
	tcase_add_test(valid, arrays);
	tcase_add_test(valid, array_multi_line);
	tcase_add_test(valid, array_nested);
	tcase_add_test(valid, array_depth_limit);
	tcase_add_test(valid, tables_and_order);
	tcase_add_test(valid, table_lookups);
	tcase_add_test(valid, many_keys);
	tcase_add_test(valid, quoted_keys);
	tcase_add_test(valid, dotted_tables);
	tcase_add_test(valid, dotted_keys);
	tcase_add_test(valid, table_depth_limit);
	tcase_add_test(valid, line_endings_and_bom);
	tcase_add_test(valid, length_not_nul_terminated);
	tcase_add_test(valid, type_names);
	suite_add_tcase(suite, valid);

	tcase_add_test(invalid, integer_overflow);
	tcase_add_test(invalid, integer_invalid);
	tcase_add_test(invalid, error_unterminated_string);
	tcase_add_test(invalid, error_duplicate_key);
	tcase_add_test(invalid, error_duplicate_table);
	tcase_add_test(invalid, error_table_conflicts_with_value);
	tcase_add_test(invalid, error_invalid_escape);
	tcase_add_test(invalid, error_control_characters);
	tcase_add_test(invalid, error_trailing_garbage);
	tcase_add_test(invalid, error_missing_value);
	tcase_add_test(invalid, error_missing_equals);
	tcase_add_test(invalid, error_array_syntax);
	tcase_add_test(invalid, error_header_syntax);
	tcase_add_test(invalid, error_embedded_nul);
	tcase_add_test(invalid, error_invalid_utf8);
	tcase_add_test(invalid, error_unsupported);
	tcase_add_test(invalid, error_messages_escape_keys);
	tcase_add_test(invalid, error_without_message_pointer);
	tcase_add_test(invalid, error_default_file_name);
	tcase_add_test(invalid, error_replaces_old_message);
	suite_add_tcase(suite, invalid);

	tcase_add_test(samples, sample_uhyve_toml);
	tcase_add_test(samples, sample_uhyve_toml_affinity_string);
	tcase_add_test(samples, sample_hermit_toml);
	tcase_add_test(samples, truncated_inputs);
	tcase_add_test(samples, mutated_inputs);
	suite_add_tcase(suite, samples);
	return suite;
}

int main(void)
{
	SRunner *runner = srunner_create(toml_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
