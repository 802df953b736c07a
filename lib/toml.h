/* A strict reader for the TOML subset of uhyve.toml and hermit.toml. */
#ifndef UHYVE_TOML_H
#define UHYVE_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Supported: tables [a] and [a.b], bare, quoted and dotted keys, basic and
 * literal single-line strings, 64-bit signed integers (decimal, 0x, 0o, 0b),
 * booleans, arrays (also nested and multi-line) and comments.
 * Rejected with a "not supported" error: multi-line strings, floats, dates
 * and times, inline tables, arrays of tables [[a]], and the escape \u0000
 * because strings are NUL-terminated.
 */

/* Maximum nesting of arrays in one value and of tables in the document. */
#define TOML_MAX_DEPTH 32

struct toml_document;
struct toml_table;
struct toml_array;

enum toml_type {
	TOML_STRING,
	TOML_INTEGER,
	TOML_BOOLEAN,
	TOML_ARRAY,
	TOML_TABLE,
};

/*
 * One value of a table or an array. The position is where the value starts,
 * and for a table the table header or the first key that created it. Lines
 * and columns count from 1, and columns count characters, not bytes.
 */
struct toml_value {
	enum toml_type type;
	unsigned line;
	unsigned column;
	union {
		const char *string; /* valid UTF-8 without NUL bytes */
		int64_t integer;
		bool boolean;
		const struct toml_array *array;
		const struct toml_table *table;
	};
};

/*
 * Parses `len` bytes of `text`, which need not be NUL-terminated, into a new
 * document stored in *document. `file_name` only prefixes error messages, as
 * in "uhyve.toml:3:1: duplicate key ...", and NULL prints "(input)".
 * Returns 0 on success. On failure *document is NULL and *error receives a
 * message that names the line, the column and the key (see set_error()).
 * The error codes are -EINVAL for invalid or unsupported TOML, -EFBIG for
 * input of UINT_MAX bytes or more, and -ENOMEM. The caller frees the document
 * with toml_document_free(), and every pointer read from it stays valid until
 * then.
 */
int toml_parse(const char *text, size_t len, const char *file_name,
	       struct toml_document **document, char **error);

/* Frees a document from toml_parse() and everything in it. NULL is ignored. */
void toml_document_free(struct toml_document *document);

/* Returns the root table, which contains the keys before the first header. */
const struct toml_table *
toml_document_root(const struct toml_document *document);

/*
 * Returns the dotted name of `table` as in its header, such as "a.b", for
 * messages, or "" for the root table. Parts that are not bare keys appear
 * in double quotes with control characters escaped.
 */
const char *toml_table_name(const struct toml_table *table);

/*
 * The toml_table_* functions below accept a NULL table and then behave as
 * for an empty table, so lookups can be chained:
 *     toml_table_get(toml_table_get_table(root, "memory"), "memory_size")
 */

/* Returns the number of keys in `table`. */
size_t toml_table_size(const struct toml_table *table);

/*
 * Returns the key at `index` (0 to toml_table_size() - 1) in the order of
 * first appearance in the file, or NULL when `index` is out of range.
 * A sub-table counts where its header or first dotted key appears.
 */
const char *toml_table_key(const struct toml_table *table, size_t index);

/* Returns the value of the key at `index`, or NULL when out of range. */
const struct toml_value *toml_table_value(const struct toml_table *table,
					  size_t index);

/* Returns the value of `key` in `table`, or NULL when the key is missing or
 * NULL. */
const struct toml_value *toml_table_get(const struct toml_table *table,
					const char *key);

/*
 * Returns the sub-table `key` of `table`, or NULL when the key is missing or
 * its value is not a table.
 */
const struct toml_table *toml_table_get_table(const struct toml_table *table,
					      const char *key);

/* Returns the number of elements of `array`. */
size_t toml_array_size(const struct toml_array *array);

/* Returns the element at `index`, or NULL when `index` is out of range. */
const struct toml_value *toml_array_get(const struct toml_array *array,
					size_t index);

/* Returns the TOML name of `type` for messages, such as "integer". */
const char *toml_type_name(enum toml_type type);

#endif /* UHYVE_TOML_H */
