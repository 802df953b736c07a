/* libFuzzer target: the TOML reader on arbitrary bytes, then every accessor on
 * the document it returns. */
#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "toml.h"

#include "fuzz_common.h"

#define FILE_NAME "fuzz.toml"

/* Tables nest up to TOML_MAX_DEPTH deep and hold arrays that nest up to
 * TOML_MAX_DEPTH deep again. */
#define MAX_WALK_DEPTH (2 * TOML_MAX_DEPTH + 1)

static void walk_value(const struct toml_value *value, unsigned depth);

static void walk_array(const struct toml_array *array, unsigned depth)
{
	size_t size = toml_array_size(array);

	for (size_t i = 0; i < size; i++) {
		const struct toml_value *element = toml_array_get(array, i);

		FUZZ_CHECK(element != NULL);
		walk_value(element, depth + 1);
	}
	FUZZ_CHECK(toml_array_get(array, size) == NULL);
}

static void walk_table(const struct toml_table *table, unsigned depth)
{
	size_t size = toml_table_size(table);

	FUZZ_CHECK(depth <= MAX_WALK_DEPTH);
	FUZZ_CHECK(toml_table_name(table) != NULL);
	for (size_t i = 0; i < size; i++) {
		const char *key = toml_table_key(table, i);
		const struct toml_value *value = toml_table_value(table, i);

		FUZZ_CHECK(key != NULL);
		FUZZ_CHECK(value != NULL);
		FUZZ_CHECK(g_utf8_validate(key, -1, NULL));
		/* Keys are unique, so a lookup finds the same value. */
		FUZZ_CHECK(toml_table_get(table, key) == value);
		walk_value(value, depth + 1);
	}
	FUZZ_CHECK(toml_table_key(table, size) == NULL);
	FUZZ_CHECK(toml_table_value(table, size) == NULL);
}

static void walk_value(const struct toml_value *value, unsigned depth)
{
	FUZZ_CHECK(depth <= MAX_WALK_DEPTH);
	FUZZ_CHECK(value->line >= 1);
	FUZZ_CHECK(value->column >= 1);
	FUZZ_CHECK(toml_type_name(value->type) != NULL);
	switch (value->type) {
	case TOML_STRING:
		FUZZ_CHECK(g_utf8_validate(value->string, -1, NULL));
		break;
	case TOML_ARRAY:
		walk_array(value->array, depth);
		break;
	case TOML_TABLE:
		walk_table(value->table, depth);
		break;
	case TOML_INTEGER:
	case TOML_BOOLEAN:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A non-NULL start value shows whether a failed parse resets it. */
	struct toml_document *document = (struct toml_document *)&document;
	char *error = NULL;
	int rc =
	    toml_parse((const char *)data, size, FILE_NAME, &document, &error);

	if (rc == 0) {
		FUZZ_CHECK(document != NULL);
		FUZZ_CHECK(error == NULL);
		walk_table(toml_document_root(document), 0);
		toml_document_free(document);
		return 0;
	}

	FUZZ_CHECK(rc == -EINVAL || rc == -EFBIG || rc == -ENOMEM);
	FUZZ_CHECK(document == NULL);
	FUZZ_CHECK(error != NULL);
	/* Syntax errors name the file, line and column. */
	if (rc == -EINVAL)
		FUZZ_CHECK(
		    strncmp(error, FILE_NAME ":", strlen(FILE_NAME ":")) == 0);
	free(error);
	return 0;
}
