/* A strict reader for the TOML subset of uhyve.toml and hermit.toml. */
#include "toml.h"

#include "error.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a table came to exist, which decides how later lines may extend it. */
enum table_kind {
	TABLE_ROOT,
	TABLE_IMPLICIT, /* created as a prefix of a header such as [a.b] */
	TABLE_HEADER,	/* defined by its own header */
	TABLE_DOTTED,	/* created by a dotted key such as a.b = 1 */
};

struct entry {
	char *key;
	struct toml_value value;
};

struct toml_table {
	char *name; /* see toml_table_name() */
	enum table_kind kind;
	unsigned depth; /* 0 for the root table */
	struct entry *entries;
	size_t size;
	size_t capacity;
	size_t *slots; /* open addressing, entry index + 1 or 0 when free */
	size_t slot_count;
};

struct toml_array {
	struct toml_value *items;
	size_t size;
	size_t capacity;
};

struct pointer_list {
	void **items;
	size_t size;
	size_t capacity;
};

/*
 * The document owns every table, array and string value in flat lists, so
 * freeing needs no recursion however deep the values nest.
 */
struct toml_document {
	struct toml_table *root;
	struct pointer_list tables;
	struct pointer_list arrays;
	struct pointer_list strings;
};

/* A growable NUL-terminated byte string. */
struct buffer {
	char *data;
	size_t size;
	size_t capacity;
};

/* A key as written, such as a."b c".d, with its escaped form for messages. */
struct key_path {
	char *parts[TOML_MAX_DEPTH];
	size_t display_end[TOML_MAX_DEPTH]; /* display length up to each part */
	size_t count;
	struct buffer display;
	unsigned line;
	unsigned column;
};

struct parser {
	const char *p; /* next byte to read */
	const char *end;
	const char *line_start;
	unsigned line;
	const char *file_name;
	char **error;
	struct toml_document *document;
	struct toml_table *table; /* table of the current section */
};

#define VALID_ESCAPES "\\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX and \\UXXXXXXXX"

/* Characters display_len of a long invalid value in messages. */
#define TOKEN_DISPLAY_MAX 40

/*
 * Returns `items`, reallocated if needed so that it has room for `size` + 1
 * items, or NULL when out of memory, which leaves `items` as it was.
 */
static void *reserve(void *items, size_t *capacity, size_t size,
		     size_t item_size)
{
	size_t new_capacity;
	void *grown;

	if (size < *capacity)
		return items;
	if (*capacity > SIZE_MAX / 2)
		return NULL;
	new_capacity = *capacity ? *capacity * 2 : 8;
	grown = reallocarray(items, new_capacity, item_size);
	if (!grown)
		return NULL;

	*capacity = new_capacity;
	return grown;
}

static int pointer_list_add(struct pointer_list *list, void *pointer)
{
	void **items = reserve(list->items, &list->capacity, list->size,
			       sizeof(*list->items));

	if (!items)
		return -ENOMEM;

	list->items = items;
	list->items[list->size++] = pointer;
	return 0;
}

static int buffer_append(struct buffer *buffer, const char *bytes, size_t len)
{
	size_t needed;
	size_t new_capacity;
	char *grown;

	if (len > SIZE_MAX - buffer->size - 1)
		return -ENOMEM;
	needed = buffer->size + len + 1;
	if (needed > buffer->capacity) {
		new_capacity = buffer->capacity ? buffer->capacity : 32;
		while (new_capacity < needed) {
			if (new_capacity > SIZE_MAX / 2)
				return -ENOMEM;
			new_capacity *= 2;
		}
		grown = realloc(buffer->data, new_capacity);
		if (!grown)
			return -ENOMEM;
		buffer->data = grown;
		buffer->capacity = new_capacity;
	}

	memcpy(buffer->data + buffer->size, bytes, len);
	buffer->size += len;
	buffer->data[buffer->size] = '\0';
	return 0;
}

/* Returns the contents, "" when empty, and leaves the buffer empty. */
static char *buffer_steal(struct buffer *buffer)
{
	char *data;

	if (!buffer->data && buffer_append(buffer, "", 0))
		return NULL;

	data = buffer->data;
	*buffer = (struct buffer){0};
	return data;
}

static bool is_bare_key_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Control characters other than tab, banned in strings and comments. */
static bool is_banned_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/*
 * Appends `part` as it would appear in a key, bare when possible and otherwise
 * in double quotes with '"', '\' and control characters escaped, so messages
 * never carry raw control characters from the input.
 */
static int append_key_display(struct buffer *buffer, const char *part)
{
	const unsigned char *c;
	char escape[8];
	bool bare = part[0] != '\0';
	int rc = 0;

	for (c = (const unsigned char *)part; *c; c++)
		bare = bare && is_bare_key_char(*c);
	if (bare)
		return buffer_append(buffer, part, strlen(part));

	rc = buffer_append(buffer, "\"", 1);
	for (c = (const unsigned char *)part; *c && !rc; c++) {
		if (*c == '"' || *c == '\\') {
			snprintf(escape, sizeof(escape), "\\%c", *c);
			rc = buffer_append(buffer, escape, 2);
		} else if (*c < 0x20 || *c == 0x7f) {
			snprintf(escape, sizeof(escape), "\\u%04X", *c);
			rc = buffer_append(buffer, escape, 6);
		} else {
			rc = buffer_append(buffer, (const char *)c, 1);
		}
	}
	if (rc)
		return rc;

	return buffer_append(buffer, "\"", 1);
}

/* Returns the 1-based column of `at` on the current line, in characters. */
static unsigned column_of(const struct parser *ps, const char *at)
{
	const char *c;
	unsigned column = 1;

	for (c = ps->line_start; c < at; c++)
		if (((unsigned char)*c & 0xc0) != 0x80)
			column++;
	return column;
}

/* Stores "file:line:column: message" in *error and returns `code`. */
static int vfail(struct parser *ps, int code, unsigned line, unsigned column,
		 const char *format, va_list args)
{
	char *message;

	if (vasprintf(&message, format, args) < 0)
		return set_error(ps->error, -ENOMEM, "%s: out of memory",
				 ps->file_name);

	set_error(ps->error, code, "%s:%u:%u: %s", ps->file_name, line, column,
		  message);
	free(message);
	return code;
}

/* Reports invalid TOML at `at` on the current line and returns -EINVAL. */
static int fail_at(struct parser *ps, const char *at, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct parser *ps, const char *at, const char *format, ...)
{
	va_list args;
	int rc;

	va_start(args, format);
	rc = vfail(ps, -EINVAL, ps->line, column_of(ps, at), format, args);
	va_end(args);
	return rc;
}

/* Reports invalid TOML at an earlier position and returns -EINVAL. */
static int fail_line(struct parser *ps, unsigned line, unsigned column,
		     const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_line(struct parser *ps, unsigned line, unsigned column,
		     const char *format, ...)
{
	va_list args;
	int rc;

	va_start(args, format);
	rc = vfail(ps, -EINVAL, line, column, format, args);
	va_end(args);
	return rc;
}

static int out_of_memory(struct parser *ps)
{
	return set_error(ps->error, -ENOMEM, "%s:%u: out of memory",
			 ps->file_name, ps->line);
}

/*
 * Describes the character at `at` for messages: 'x' for printable ASCII,
 * U+XXXX otherwise, or "end of file". The input is valid UTF-8 by now.
 */
static const char *describe_char(const struct parser *ps, const char *at,
				 char description[static 16])
{
	unsigned char c;

	if (at >= ps->end)
		return "end of file";
	c = (unsigned char)*at;
	if (c > 0x20 && c < 0x7f)
		snprintf(description, 16, "'%c'", c);
	else if (c < 0x80)
		snprintf(description, 16, "U+%04X", c);
	else
		snprintf(description, 16, "U+%04X",
			 (unsigned)g_utf8_get_char_validated(at, ps->end - at));
	return description;
}

/* Returns 1 or 2 for a newline ("\n" or "\r\n") at `at`, 0 otherwise. */
static size_t newline_length(const struct parser *ps, const char *at)
{
	if (at < ps->end && *at == '\n')
		return 1;
	if (ps->end - at >= 2 && at[0] == '\r' && at[1] == '\n')
		return 2;
	return 0;
}

static bool at_line_end(const struct parser *ps)
{
	return ps->p >= ps->end || newline_length(ps, ps->p) > 0;
}

static void consume_newline(struct parser *ps)
{
	ps->p += newline_length(ps, ps->p);
	ps->line_start = ps->p;
	ps->line++;
}

static void skip_whitespace(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* Skips a comment from '#' up to, not including, the end of the line. */
static int skip_comment(struct parser *ps)
{
	ps->p++;
	while (!at_line_end(ps)) {
		if (is_banned_control((unsigned char)*ps->p))
			return fail_at(ps, ps->p,
				       "control character U+%04X in a comment",
				       (unsigned char)*ps->p);
		ps->p++;
	}
	return 0;
}

/* Skips whitespace and a comment that may end the line. */
static int skip_to_line_end(struct parser *ps)
{
	skip_whitespace(ps);
	if (ps->p < ps->end && *ps->p == '#')
		return skip_comment(ps);
	return 0;
}

/* Skips whitespace, comments and newlines between array elements. */
static int skip_array_space(struct parser *ps)
{
	int rc;

	for (;;) {
		rc = skip_to_line_end(ps);
		if (rc)
			return rc;
		if (ps->p >= ps->end || !newline_length(ps, ps->p))
			return 0;
		consume_newline(ps);
	}
}

/* Validates the whole input up front so that later steps can trust it. */
static int check_encoding(struct parser *ps)
{
	const char *invalid;
	const char *c;

	if (g_utf8_validate_len(ps->p, ps->end - ps->p, &invalid))
		return 0;

	for (c = ps->p; c < invalid; c++) {
		if (*c == '\n') {
			ps->line++;
			ps->line_start = c + 1;
		}
	}
	if (*invalid == '\0')
		return fail_at(ps, invalid, "embedded NUL byte");
	return fail_at(ps, invalid,
		       "invalid UTF-8 sequence starting with byte 0x%02x",
		       (unsigned char)*invalid);
}

static struct toml_table *table_new(struct parser *ps,
				    const struct toml_table *parent,
				    const char *part, enum table_kind kind)
{
	struct toml_table *table = calloc(1, sizeof(*table));
	struct buffer name = {0};

	if (!table)
		return NULL;
	if (parent && parent->depth > 0 &&
	    buffer_append(&name, parent->name, strlen(parent->name)))
		goto fail;
	if (parent && parent->depth > 0 && buffer_append(&name, ".", 1))
		goto fail;
	if (part && append_key_display(&name, part))
		goto fail;
	table->name = buffer_steal(&name);
	if (!table->name)
		goto fail;
	table->kind = kind;
	table->depth = parent ? parent->depth + 1 : 0;
	if (pointer_list_add(&ps->document->tables, table))
		goto fail;
	return table;

fail:
	free(name.data);
	free(table->name);
	free(table);
	return NULL;
}

static void table_free(struct toml_table *table)
{
	size_t i;

	for (i = 0; i < table->size; i++)
		free(table->entries[i].key);
	free(table->entries);
	free(table->slots);
	free(table->name);
	free(table);
}

/* FNV-1a, 64 bits. */
static uint64_t hash_key(const char *key)
{
	uint64_t hash = 0xcbf29ce484222325ULL;

	for (; *key; key++) {
		hash ^= (unsigned char)*key;
		hash *= 0x100000001b3ULL;
	}
	return hash;
}

static struct entry *table_find(const struct toml_table *table, const char *key)
{
	size_t mask;
	size_t slot;

	if (!table->slot_count)
		return NULL;

	mask = table->slot_count - 1;
	for (slot = hash_key(key) & mask; table->slots[slot];
	     slot = (slot + 1) & mask) {
		struct entry *entry = &table->entries[table->slots[slot] - 1];

		if (strcmp(entry->key, key) == 0)
			return entry;
	}
	return NULL;
}

static void index_add(size_t *slots, size_t slot_count, const char *key,
		      size_t index)
{
	size_t mask = slot_count - 1;
	size_t slot = hash_key(key) & mask;

	while (slots[slot])
		slot = (slot + 1) & mask;
	slots[slot] = index + 1;
}

/* Doubles the hash index, keeping at most half of its slots in use. */
static int table_grow_index(struct toml_table *table)
{
	size_t count;
	size_t *slots;
	size_t i;

	if (table->slot_count > SIZE_MAX / 4)
		return -ENOMEM;
	count = table->slot_count ? table->slot_count * 2 : 16;
	slots = calloc(count, sizeof(*slots));
	if (!slots)
		return -ENOMEM;

	for (i = 0; i < table->size; i++)
		index_add(slots, count, table->entries[i].key, i);
	free(table->slots);
	table->slots = slots;
	table->slot_count = count;
	return 0;
}

/*
 * Appends a key that is not in `table` yet. On success the table owns the
 * key and *key is set to NULL, so the caller frees *key in any case.
 */
static int table_insert(struct toml_table *table, char **key,
			const struct toml_value *value)
{
	struct entry *entries;
	int rc;

	entries = reserve(table->entries, &table->capacity, table->size,
			  sizeof(*table->entries));
	if (!entries)
		return -ENOMEM;
	table->entries = entries;
	if ((table->size + 1) * 2 > table->slot_count) {
		rc = table_grow_index(table);
		if (rc)
			return rc;
	}

	table->entries[table->size].key = *key;
	table->entries[table->size].value = *value;
	index_add(table->slots, table->slot_count, *key, table->size);
	table->size++;
	*key = NULL;
	return 0;
}

/* Returns "the root table" or "table [name]" for messages. */
static const char *table_label(const struct toml_table *table,
			       struct buffer *label)
{
	if (table->depth == 0)
		return "the root table";
	if (buffer_append(label, "table [", 7) ||
	    buffer_append(label, table->name, strlen(table->name)) ||
	    buffer_append(label, "]", 1))
		return "a table";
	return label->data;
}

static void key_path_clear(struct key_path *key)
{
	size_t i;

	for (i = 0; i < key->count; i++)
		free(key->parts[i]);
	free(key->display.data);
	*key = (struct key_path){0};
}

/* Reads the 4 or 8 hexadecimal digits of \u or \U at ps->p + 2. */
static int parse_unicode_escape(struct parser *ps, size_t digits,
				struct buffer *out)
{
	const char *escape = ps->p;
	char utf8[8];
	uint32_t code_point = 0;
	size_t i;
	int len;

	if ((size_t)(ps->end - escape) < digits + 2)
		return fail_at(ps, escape,
			       "escape \\%c needs %zu hexadecimal digits",
			       escape[1], digits);
	for (i = 0; i < digits; i++) {
		int value = g_ascii_xdigit_value(escape[2 + i]);

		if (value < 0)
			return fail_at(
			    ps, escape,
			    "escape \\%c needs %zu hexadecimal digits",
			    escape[1], digits);
		code_point = code_point << 4 | (uint32_t)value;
	}
	if (code_point == 0)
		return fail_at(ps, escape,
			       "escape \\%.*s is not supported because strings "
			       "are NUL-terminated",
			       (int)digits + 1, escape + 1);
	if (code_point > 0x10ffff ||
	    (code_point >= 0xd800 && code_point <= 0xdfff))
		return fail_at(ps, escape,
			       "escape \\%.*s is not a Unicode scalar value",
			       (int)digits + 1, escape + 1);

	len = g_unichar_to_utf8(code_point, utf8);
	ps->p += digits + 2;
	return buffer_append(out, utf8, (size_t)len) ? out_of_memory(ps) : 0;
}

/* Reads the escape sequence at ps->p, inside the string opened at `open`. */
static int parse_escape(struct parser *ps, const char *open, struct buffer *out)
{
	static const char from[] = "btnfr\"\\";
	static const char to[] = "\b\t\n\f\r\"\\";
	const char *simple;
	unsigned char c;

	if (ps->end - ps->p < 2 || newline_length(ps, ps->p + 1))
		return fail_at(ps, open, "unterminated string");
	if (ps->p[1] == 'u')
		return parse_unicode_escape(ps, 4, out);
	if (ps->p[1] == 'U')
		return parse_unicode_escape(ps, 8, out);

	c = (unsigned char)ps->p[1];
	simple = c ? strchr(from, c) : NULL;
	if (!simple && c > 0x20 && c < 0x7f)
		return fail_at(ps, ps->p,
			       "invalid escape sequence \"\\%c\" in a string, "
			       "valid escapes are " VALID_ESCAPES,
			       c);
	if (!simple)
		return fail_at(ps, ps->p,
			       "invalid escape sequence in a string, a "
			       "backslash followed by U+%04X, valid escapes "
			       "are " VALID_ESCAPES,
			       (unsigned)g_utf8_get_char(ps->p + 1));

	ps->p += 2;
	if (buffer_append(out, &to[simple - from], 1))
		return out_of_memory(ps);
	return 0;
}

/*
 * Reads a single-line string at ps->p. A `quote` of '"' opens a basic string
 * with escapes, and '\'' opens a literal string without them.
 */
static int parse_quoted(struct parser *ps, char quote, struct buffer *out)
{
	const char *open = ps->p;
	const char *run;
	int rc;

	ps->p++;
	for (;;) {
		run = ps->p;
		while (ps->p < ps->end && *ps->p != quote &&
		       !(quote == '"' && *ps->p == '\\') &&
		       !is_banned_control((unsigned char)*ps->p))
			ps->p++;
		if (buffer_append(out, run, ps->p - run))
			return out_of_memory(ps);

		if (at_line_end(ps))
			return fail_at(ps, open, "unterminated string");
		if (*ps->p == quote) {
			ps->p++;
			return 0;
		}
		if (*ps->p != '\\')
			return fail_at(ps, ps->p,
				       "control character U+%04X in a string, "
				       "write it as an escape sequence",
				       (unsigned char)*ps->p);

		rc = parse_escape(ps, open, out);
		if (rc)
			return rc;
	}
}

static bool at_triple_quote(const struct parser *ps)
{
	return ps->end - ps->p >= 3 && ps->p[1] == ps->p[0] &&
	       ps->p[2] == ps->p[0];
}

/* Appends one part of a key at ps->p to `key`. */
static int parse_key_part(struct parser *ps, struct key_path *key)
{
	struct buffer part = {0};
	char description[16];
	const char *start = ps->p;
	int rc = 0;

	if (key->count == TOML_MAX_DEPTH)
		return fail_at(ps, start, "key with more than %d dotted parts",
			       TOML_MAX_DEPTH);

	if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\'')) {
		if (at_triple_quote(ps))
			return fail_at(ps, start,
				       "a key cannot be a multi-line string");
		rc = parse_quoted(ps, *ps->p, &part);
	} else {
		while (ps->p < ps->end && is_bare_key_char(*ps->p))
			ps->p++;
		if (ps->p == start)
			return fail_at(ps, start, "expected a key, found %s",
				       describe_char(ps, start, description));
		if (buffer_append(&part, start, ps->p - start))
			rc = out_of_memory(ps);
	}
	if (rc) {
		free(part.data);
		return rc;
	}

	key->parts[key->count] = buffer_steal(&part);
	if (!key->parts[key->count])
		return out_of_memory(ps);
	key->count++;

	if (key->count > 1 && buffer_append(&key->display, ".", 1))
		return out_of_memory(ps);
	if (append_key_display(&key->display, key->parts[key->count - 1]))
		return out_of_memory(ps);
	key->display_end[key->count - 1] = key->display.size;
	return 0;
}

/* Reads a possibly dotted key such as a."b c".d at ps->p. */
static int parse_key(struct parser *ps, struct key_path *key)
{
	int rc;

	key->line = ps->line;
	key->column = column_of(ps, ps->p);
	for (;;) {
		rc = parse_key_part(ps, key);
		if (rc)
			return rc;

		skip_whitespace(ps);
		if (ps->p >= ps->end || *ps->p != '.')
			return 0;
		ps->p++;
		skip_whitespace(ps);
	}
}

static int parse_value(struct parser *ps, const char *key, unsigned depth,
		       struct toml_value *value);

/* Reads an array at ps->p, nested `depth` levels deep counting itself. */
static int parse_array(struct parser *ps, const char *key, unsigned depth,
		       struct toml_value *value)
{
	struct toml_array *array;
	struct toml_value *items;
	char description[16];
	int rc;

	if (depth > TOML_MAX_DEPTH)
		return fail_at(ps, ps->p,
			       "arrays nested more than %d levels deep in the "
			       "value of key \"%s\"",
			       TOML_MAX_DEPTH, key);
	array = calloc(1, sizeof(*array));
	if (!array)
		return out_of_memory(ps);
	if (pointer_list_add(&ps->document->arrays, array)) {
		free(array);
		return out_of_memory(ps);
	}
	value->type = TOML_ARRAY;
	value->array = array;

	ps->p++;
	for (;;) {
		rc = skip_array_space(ps);
		if (rc)
			return rc;
		if (ps->p >= ps->end)
			return fail_line(ps, value->line, value->column,
					 "unterminated array in the value of "
					 "key \"%s\"",
					 key);
		if (*ps->p == ']')
			break;
		items = reserve(array->items, &array->capacity, array->size,
				sizeof(*array->items));
		if (!items)
			return out_of_memory(ps);
		array->items = items;
		rc = parse_value(ps, key, depth, &array->items[array->size]);
		if (rc)
			return rc;
		array->size++;

		rc = skip_array_space(ps);
		if (rc)
			return rc;
		if (ps->p >= ps->end)
			return fail_line(ps, value->line, value->column,
					 "unterminated array in the value of "
					 "key \"%s\"",
					 key);
		if (*ps->p == ']')
			break;
		if (*ps->p != ',')
			return fail_at(
			    ps, ps->p,
			    "expected ',' or ']' after an element of "
			    "the array of key \"%s\", found %s",
			    key, describe_char(ps, ps->p, description));
		ps->p++;
	}

	ps->p++;
	return 0;
}

static int parse_string_value(struct parser *ps, const char *key,
			      struct toml_value *value)
{
	struct buffer buffer = {0};
	char *string;
	int rc;

	if (at_triple_quote(ps))
		return fail_at(ps, ps->p,
			       "multi-line strings are not supported, found in "
			       "the value of key \"%s\"",
			       key);
	rc = parse_quoted(ps, *ps->p, &buffer);
	if (rc) {
		free(buffer.data);
		return rc;
	}

	string = buffer_steal(&buffer);
	if (!string)
		return out_of_memory(ps);
	if (pointer_list_add(&ps->document->strings, string)) {
		free(string);
		return out_of_memory(ps);
	}
	value->type = TOML_STRING;
	value->string = string;
	return 0;
}

static bool is_token_char(unsigned char c)
{
	return is_bare_key_char(c) || c == '+' || c == '.' || c == ':';
}

static bool token_is(const char *token, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(token, word, len) == 0;
}

static bool is_float_word(const char *token, size_t len)
{
	if (len > 0 && (token[0] == '+' || token[0] == '-')) {
		token++;
		len--;
	}
	return token_is(token, len, "inf") || token_is(token, len, "nan");
}

/* Tells apart dates and times such as 1979-05-27 or 07:32:00 from floats. */
static bool is_date_or_time(const char *token, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (token[i] == ':')
			return true;
		if (token[i] == '-' && i > 0 && token[i - 1] != 'e' &&
		    token[i - 1] != 'E')
			return true;
	}
	return false;
}

static int digit_value(char c, unsigned base)
{
	int value = g_ascii_xdigit_value(c);

	return value >= 0 && (unsigned)value < base ? value : -1;
}

/* Parses the digits of an integer with '_' allowed only between digits. */
static int parse_digits(struct parser *ps, const char *token, size_t len,
			const char *digits, unsigned base, bool negative,
			const char *key, int64_t *integer)
{
	const char *end = token + len;
	const char *c;
	uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
	uint64_t magnitude = 0;
	bool after_digit = false;
	int display_len =
	    len > TOKEN_DISPLAY_MAX ? TOKEN_DISPLAY_MAX : (int)len;

	for (c = digits; c < end; c++) {
		int digit = digit_value(*c, base);

		if (*c == '_' && after_digit) {
			after_digit = false;
			continue;
		}
		if (*c == '_')
			return fail_at(ps, token,
				       "invalid integer %.*s for key \"%s\", "
				       "'_' is only allowed between two digits",
				       display_len, token, key);
		if (digit < 0)
			return fail_at(ps, token,
				       "invalid integer %.*s for key \"%s\"",
				       display_len, token, key);
		if (base == 10 && c > digits && digits[0] == '0')
			return fail_at(ps, token,
				       "invalid integer %.*s for key \"%s\", "
				       "leading zeros are not allowed",
				       display_len, token, key);
		if (magnitude > (limit - (uint64_t)digit) / base)
			return fail_at(ps, token,
				       "integer %.*s for key \"%s\" is out of "
				       "the 64-bit range",
				       display_len, token, key);
		magnitude = magnitude * base + (uint64_t)digit;
		after_digit = true;
	}
	if (c > digits && !after_digit)
		return fail_at(ps, token,
			       "invalid integer %.*s for key \"%s\", "
			       "'_' is only allowed between two digits",
			       display_len, token, key);
	if (!after_digit)
		return fail_at(ps, token, "invalid integer %.*s for key \"%s\"",
			       display_len, token, key);

	if (negative && magnitude == (uint64_t)INT64_MAX + 1)
		*integer = INT64_MIN;
	else
		*integer = negative ? -(int64_t)magnitude : (int64_t)magnitude;
	return 0;
}

/* Parses a token that starts with a digit or a sign. */
static int parse_number(struct parser *ps, const char *token, size_t len,
			const char *key, struct toml_value *value)
{
	const char *digits = token;
	bool negative = token[0] == '-';
	bool sign = token[0] == '+' || token[0] == '-';
	unsigned base = 10;
	int display_len =
	    len > TOKEN_DISPLAY_MAX ? TOKEN_DISPLAY_MAX : (int)len;

	digits += sign;
	if (token + len - digits >= 2 && digits[0] == '0' &&
	    (digits[1] == 'x' || digits[1] == 'o' || digits[1] == 'b')) {
		if (digits[1] == 'x')
			base = 16;
		else if (digits[1] == 'o')
			base = 8;
		else
			base = 2;
		if (sign)
			return fail_at(ps, token,
				       "invalid integer %.*s for key \"%s\", "
				       "0x, 0o and 0b integers take no sign",
				       display_len, token, key);
		digits += 2;
	} else if (is_date_or_time(token, len)) {
		return fail_at(ps, token,
			       "dates and times are not supported, found in "
			       "the value of key \"%s\"",
			       key);
	} else if (memchr(token, '.', len) || memchr(token, 'e', len) ||
		   memchr(token, 'E', len)) {
		return fail_at(ps, token,
			       "floating-point numbers are not supported, "
			       "found in the value of key \"%s\"",
			       key);
	}

	value->type = TOML_INTEGER;
	return parse_digits(ps, token, len, digits, base, negative, key,
			    &value->integer);
}

/* Parses a value without quotes or brackets: a boolean or a number. */
static int parse_bare_value(struct parser *ps, const char *key,
			    struct toml_value *value)
{
	const char *token = ps->p;
	char description[16];
	size_t len;

	while (ps->p < ps->end && is_token_char(*ps->p))
		ps->p++;
	len = ps->p - token;

	if (len == 0 && (at_line_end(ps) || strchr("#,]", *ps->p)))
		return fail_at(ps, token, "missing value for key \"%s\"", key);
	if (len == 0)
		return fail_at(ps, token,
			       "invalid value for key \"%s\" starting with %s",
			       key, describe_char(ps, token, description));

	if (token_is(token, len, "true") || token_is(token, len, "false")) {
		value->type = TOML_BOOLEAN;
		value->boolean = token[0] == 't';
		return 0;
	}
	if (is_float_word(token, len))
		return fail_at(ps, token,
			       "floating-point numbers are not supported, "
			       "found in the value of key \"%s\"",
			       key);
	if (g_ascii_isdigit(token[0]) || token[0] == '+' || token[0] == '-')
		return parse_number(ps, token, len, key, value);

	return fail_at(
	    ps, token, "invalid value %.*s for key \"%s\", strings need quotes",
	    len > TOKEN_DISPLAY_MAX ? TOKEN_DISPLAY_MAX : (int)len, token, key);
}

/* Reads the value at ps->p. `depth` counts the arrays around it. */
static int parse_value(struct parser *ps, const char *key, unsigned depth,
		       struct toml_value *value)
{
	*value = (struct toml_value){
	    .line = ps->line,
	    .column = column_of(ps, ps->p),
	};
	if (ps->p >= ps->end)
		return fail_at(ps, ps->p, "missing value for key \"%s\"", key);

	switch (*ps->p) {
	case '"':
	case '\'':
		return parse_string_value(ps, key, value);
	case '[':
		return parse_array(ps, key, depth + 1, value);
	case '{':
		return fail_at(ps, ps->p,
			       "inline tables are not supported, found in the "
			       "value of key \"%s\"",
			       key);
	default:
		return parse_bare_value(ps, key, value);
	}
}

/*
 * Reports that the table header [key], or the dotted key `key` when `header`
 * is false, runs into the non-table value of the key path up to `part`.
 */
static int fail_not_table(struct parser *ps, const struct key_path *key,
			  size_t part, bool header, const struct entry *entry)
{
	const char *type = toml_type_name(entry->value.type);
	const char *article = type[0] == 'a' || type[0] == 'i' ? "an" : "a";

	return fail_line(ps, key->line, key->column,
			 "%s%s%s cannot be defined because \"%.*s\" is "
			 "already %s %s defined on line %u",
			 header ? "table [" : "key \"", key->display.data,
			 header ? "]" : "\"", (int)key->display_end[part],
			 key->display.data, article, type, entry->value.line);
}

/* Creates the sub-table `part` of *table and moves *table to it. */
static int add_table(struct parser *ps, struct key_path *key, size_t part,
		     enum table_kind kind, struct toml_table **table)
{
	struct toml_value value = {
	    .type = TOML_TABLE,
	    .line = key->line,
	    .column = key->column,
	};
	struct toml_table *child;

	if ((*table)->depth >= TOML_MAX_DEPTH)
		return fail_line(ps, key->line, key->column,
				 "tables nested more than %d levels deep at "
				 "key \"%.*s\"",
				 TOML_MAX_DEPTH, (int)key->display_end[part],
				 key->display.data);
	child = table_new(ps, *table, key->parts[part], kind);
	if (!child)
		return out_of_memory(ps);
	value.table = child;
	if (table_insert(*table, &key->parts[part], &value))
		return out_of_memory(ps);

	*table = child;
	return 0;
}

/* Defines the table of the header [key] and makes it the current table. */
static int define_table(struct parser *ps, struct key_path *key)
{
	struct toml_table *table = ps->document->root;
	struct toml_table *child;
	struct entry *entry;
	size_t last = key->count - 1;
	size_t i;
	int rc;

	for (i = 0; i <= last; i++) {
		entry = table_find(table, key->parts[i]);
		if (!entry) {
			rc = add_table(
			    ps, key, i,
			    i == last ? TABLE_HEADER : TABLE_IMPLICIT, &table);
			if (rc)
				return rc;
			continue;
		}
		if (entry->value.type != TOML_TABLE)
			return fail_not_table(ps, key, i, true, entry);
		child = (struct toml_table *)entry->value.table;
		if (i == last && child->kind == TABLE_HEADER)
			return fail_line(ps, key->line, key->column,
					 "duplicate table [%s] (first defined "
					 "on line %u)",
					 key->display.data, entry->value.line);
		if (i == last && child->kind == TABLE_DOTTED)
			return fail_line(ps, key->line, key->column,
					 "table [%s] is already defined by "
					 "dotted keys on line %u",
					 key->display.data, entry->value.line);
		if (i == last) {
			child->kind = TABLE_HEADER;
			entry->value.line = key->line;
			entry->value.column = key->column;
		}
		table = child;
	}

	ps->table = table;
	return 0;
}

/* Moves *table to the sub-table `part` of a dotted key, creating it. */
static int enter_dotted_table(struct parser *ps, struct key_path *key,
			      size_t part, struct toml_table **table)
{
	struct entry *entry = table_find(*table, key->parts[part]);
	struct toml_table *child;
	struct buffer label = {0};
	int rc;

	if (!entry)
		return add_table(ps, key, part, TABLE_DOTTED, table);
	if (entry->value.type != TOML_TABLE)
		return fail_not_table(ps, key, part, false, entry);

	child = (struct toml_table *)entry->value.table;
	if (child->kind != TABLE_DOTTED) {
		rc = fail_line(ps, key->line, key->column,
			       "dotted key \"%s\" cannot add to %s, which a "
			       "table header created on line %u",
			       key->display.data, table_label(child, &label),
			       entry->value.line);
		free(label.data);
		return rc;
	}

	*table = child;
	return 0;
}

/* Stores `value` under `key` in the current table. */
static int define_key(struct parser *ps, struct key_path *key,
		      const struct toml_value *value)
{
	struct toml_table *table = ps->table;
	struct buffer label = {0};
	struct entry *entry;
	size_t last = key->count - 1;
	size_t i;
	int rc;

	for (i = 0; i < last; i++) {
		rc = enter_dotted_table(ps, key, i, &table);
		if (rc)
			return rc;
	}

	entry = table_find(table, key->parts[last]);
	if (entry) {
		rc =
		    fail_line(ps, key->line, key->column,
			      "duplicate key \"%s\" in %s (first defined on "
			      "line %u)",
			      key->display.data, table_label(ps->table, &label),
			      entry->value.line);
		free(label.data);
		return rc;
	}
	if (table_insert(table, &key->parts[last], value))
		return out_of_memory(ps);
	return 0;
}

/* Reads a table header such as [a.b] at ps->p. */
static int parse_header(struct parser *ps)
{
	struct key_path key = {0};
	char description[16];
	int rc;

	if (ps->end - ps->p >= 2 && ps->p[1] == '[')
		return fail_at(ps, ps->p,
			       "arrays of tables [[...]] are not supported");
	ps->p++;
	skip_whitespace(ps);
	rc = parse_key(ps, &key);
	if (rc)
		goto out;

	if (ps->p >= ps->end || *ps->p != ']') {
		rc = fail_at(
		    ps, ps->p, "expected ']' after table name %s, found %s",
		    key.display.data, describe_char(ps, ps->p, description));
		goto out;
	}
	ps->p++;
	rc = skip_to_line_end(ps);
	if (rc)
		goto out;
	if (!at_line_end(ps)) {
		rc = fail_at(ps, ps->p,
			     "unexpected %s after table header [%s], expected "
			     "a comment or a new line",
			     describe_char(ps, ps->p, description),
			     key.display.data);
		goto out;
	}

	rc = define_table(ps, &key);
out:
	key_path_clear(&key);
	return rc;
}

/* Reads a line key = value at ps->p. */
static int parse_key_value(struct parser *ps)
{
	struct key_path key = {0};
	struct toml_value value;
	char description[16];
	int rc;

	rc = parse_key(ps, &key);
	if (rc)
		goto out;

	if (ps->p >= ps->end || *ps->p != '=') {
		rc = fail_at(ps, ps->p, "missing '=' after key \"%s\"",
			     key.display.data);
		goto out;
	}
	ps->p++;
	skip_whitespace(ps);
	rc = parse_value(ps, key.display.data, 0, &value);
	if (rc)
		goto out;

	rc = skip_to_line_end(ps);
	if (rc)
		goto out;
	if (!at_line_end(ps)) {
		rc = fail_at(ps, ps->p,
			     "unexpected %s after the value of key \"%s\", "
			     "expected a comment or a new line",
			     describe_char(ps, ps->p, description),
			     key.display.data);
		goto out;
	}

	rc = define_key(ps, &key, &value);
out:
	key_path_clear(&key);
	return rc;
}

static int parse_document(struct parser *ps)
{
	int rc;

	while (ps->p < ps->end) {
		skip_whitespace(ps);
		if (ps->p >= ps->end)
			break;

		if (newline_length(ps, ps->p)) {
			consume_newline(ps);
			continue;
		}
		if (*ps->p == '#')
			rc = skip_comment(ps);
		else if (*ps->p == '[')
			rc = parse_header(ps);
		else
			rc = parse_key_value(ps);
		if (rc)
			return rc;
	}
	return 0;
}

static struct toml_document *document_new(struct parser *ps)
{
	struct toml_document *document = calloc(1, sizeof(*document));

	if (!document)
		return NULL;

	ps->document = document;
	document->root = table_new(ps, NULL, NULL, TABLE_ROOT);
	if (!document->root) {
		toml_document_free(document);
		return NULL;
	}
	ps->table = document->root;
	return document;
}

int toml_parse(const char *text, size_t len, const char *file_name,
	       struct toml_document **document, char **error)
{
	struct parser ps = {
	    .p = text ? text : "",
	    .line = 1,
	    .file_name = file_name ? file_name : "(input)",
	    .error = error,
	};
	int rc;

	if (!document || (!text && len))
		return set_error(error, -EINVAL,
				 "toml_parse: text or document is NULL");
	*document = NULL;
	if (len >= UINT_MAX)
		return set_error(error, -EFBIG,
				 "%s: %zu bytes is too large for a TOML file, "
				 "the maximum is %u bytes",
				 ps.file_name, len, UINT_MAX - 1);
	ps.end = ps.p + len;
	ps.line_start = ps.p;

	rc = check_encoding(&ps);
	if (rc)
		return rc;
	if (ps.end - ps.p >= 3 && memcmp(ps.p, "\xef\xbb\xbf", 3) == 0)
		ps.p = ps.line_start = ps.p + 3;

	if (!document_new(&ps))
		return out_of_memory(&ps);
	rc = parse_document(&ps);
	if (rc) {
		toml_document_free(ps.document);
		return rc;
	}

	*document = ps.document;
	return 0;
}

void toml_document_free(struct toml_document *document)
{
	size_t i;

	if (!document)
		return;

	for (i = 0; i < document->tables.size; i++)
		table_free(document->tables.items[i]);
	for (i = 0; i < document->arrays.size; i++) {
		struct toml_array *array = document->arrays.items[i];

		free(array->items);
		free(array);
	}
	for (i = 0; i < document->strings.size; i++)
		free(document->strings.items[i]);
	free(document->tables.items);
	free(document->arrays.items);
	free(document->strings.items);
	free(document);
}

const struct toml_table *
toml_document_root(const struct toml_document *document)
{
	return document->root;
}

const char *toml_table_name(const struct toml_table *table)
{
	return table->name;
}

size_t toml_table_size(const struct toml_table *table)
{
	return table ? table->size : 0;
}

const char *toml_table_key(const struct toml_table *table, size_t index)
{
	return table && index < table->size ? table->entries[index].key : NULL;
}

const struct toml_value *toml_table_value(const struct toml_table *table,
					  size_t index)
{
	return table && index < table->size ? &table->entries[index].value
					    : NULL;
}

const struct toml_value *toml_table_get(const struct toml_table *table,
					const char *key)
{
	const struct entry *entry;

	if (!table || !key)
		return NULL;

	entry = table_find(table, key);
	return entry ? &entry->value : NULL;
}

const struct toml_table *toml_table_get_table(const struct toml_table *table,
					      const char *key)
{
	const struct toml_value *value = toml_table_get(table, key);

	return value && value->type == TOML_TABLE ? value->table : NULL;
}

size_t toml_array_size(const struct toml_array *array)
{
	return array->size;
}

const struct toml_value *toml_array_get(const struct toml_array *array,
					size_t index)
{
	return index < array->size ? &array->items[index] : NULL;
}

const char *toml_type_name(enum toml_type type)
{
	switch (type) {
	case TOML_STRING:
		return "string";
	case TOML_INTEGER:
		return "integer";
	case TOML_BOOLEAN:
		return "boolean";
	case TOML_ARRAY:
		return "array";
	case TOML_TABLE:
		return "table";
	}
	return "unknown type";
}
