/* libFuzzer target: guest path cleaning and random sequences of insert, resolve
 * and unlink on one file tree. */
/*
 * The input is a sequence of operations, each one byte for the operation,
 * one byte for the path length and that many bytes of path, which is cut at
 * its first NUL. Virtual files get the path bytes as contents. After every
 * operation the target checks what filetree.h promises. A cleaned path has
 * no empty, "." or ".." component, and an inserted path resolves to what
 * was inserted. An unlinked path is gone, and a failure leaves the entry
 * empty.
 */
#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filetree.h"

#include "fuzz_common.h"

enum operation {
	OP_INSERT_HOST_FILE,
	OP_INSERT_HOST_DIRECTORY,
	OP_INSERT_VIRTUAL,
	OP_INSERT_BYTES,
	OP_RESOLVE,
	OP_UNLINK,
	OP_LIST,
	OP_CLEAN,
	OP_COUNT,
};

/* Set in the operation byte: insert with an empty host path. */
#define EMPTY_HOST_PATH 0x80

struct reader {
	const uint8_t *data;
	size_t size;
};

/* Takes the next operation and its path. Returns false at the end. */
static bool next_operation(struct reader *reader, uint8_t *op, char *path)
{
	size_t len;

	if (reader->size < 2)
		return false;
	*op = reader->data[0];
	len = reader->data[1];
	reader->data += 2;
	reader->size -= 2;
	if (len > reader->size)
		len = reader->size;
	memcpy(path, reader->data, len);
	path[len] = '\0';
	reader->data += len;
	reader->size -= len;
	return true;
}

static void check_cleaned(const char *cleaned, size_t input_len)
{
	char **parts;

	FUZZ_CHECK(strlen(cleaned) <= input_len);
	if (*cleaned == '\0')
		return;
	parts = g_strsplit(cleaned, "/", -1);
	for (size_t i = 0; parts[i]; i++) {
		FUZZ_CHECK(parts[i][0] != '\0');
		FUZZ_CHECK(strcmp(parts[i], ".") != 0);
		FUZZ_CHECK(strcmp(parts[i], "..") != 0);
	}
	g_strfreev(parts);
}

static void clean(const char *path)
{
	char *cleaned = NULL;
	char *again = NULL;
	char *error = NULL;
	int rc = filetree_clean_path(path, &cleaned, &error);

	if (rc) {
		FUZZ_CHECK(rc == -EINVAL || rc == -ENAMETOOLONG);
		FUZZ_CHECK(error != NULL);
		free(error);
		return;
	}
	check_cleaned(cleaned, strlen(path));
	/* Cleaning is idempotent. */
	FUZZ_CHECK(filetree_clean_path(cleaned, &again, NULL) == 0);
	FUZZ_CHECK(strcmp(again, cleaned) == 0);
	g_free(again);
	g_free(cleaned);
}

static bool is_empty(const struct filetree_entry *entry)
{
	return entry->kind == 0 && !entry->host_path && !entry->bytes &&
	       !entry->data && entry->size == 0;
}

/* Checks that `path` resolves to a node of `kind` with `host_path` or
 * `data` as inserted. */
static void check_resolves(const struct filetree *tree, const char *path,
			   enum filetree_kind kind, const char *host_path,
			   const void *data, size_t size)
{
	struct filetree_entry entry;

	FUZZ_CHECK(filetree_resolve(tree, path, &entry, NULL) == 0);
	FUZZ_CHECK(entry.kind == kind);
	if (host_path)
		FUZZ_CHECK(entry.host_path &&
			   strcmp(entry.host_path, host_path) == 0);
	if (kind == FILETREE_VIRTUAL_FILE) {
		FUZZ_CHECK(entry.size == size);
		FUZZ_CHECK(size == 0 || memcmp(entry.data, data, size) == 0);
	}
	filetree_entry_clear(&entry);
}

static void insert(struct filetree *tree, uint8_t op, const char *path,
		   unsigned *counter)
{
	char *host_path = (op & EMPTY_HOST_PATH)
			      ? g_strdup("")
			      : g_strdup_printf("/host/%u", (*counter)++);
	size_t size = strlen(path);
	char *error = NULL;
	GBytes *bytes;
	int rc = -1;

	switch ((op & ~EMPTY_HOST_PATH) % OP_COUNT) {
	case OP_INSERT_HOST_FILE:
		rc = filetree_insert_host_file(tree, path, host_path, &error);
		if (rc == 0)
			check_resolves(tree, path, FILETREE_HOST_FILE,
				       host_path, NULL, 0);
		break;
	case OP_INSERT_HOST_DIRECTORY:
		rc = filetree_insert_host_directory(tree, path, host_path,
						    &error);
		if (rc == 0)
			check_resolves(tree, path, FILETREE_HOST_DIRECTORY,
				       host_path, NULL, 0);
		break;
	case OP_INSERT_VIRTUAL:
		rc = filetree_insert_virtual(tree, path, path, size, &error);
		if (rc == 0)
			check_resolves(tree, path, FILETREE_VIRTUAL_FILE, NULL,
				       path, size);
		break;
	default:
		bytes = g_bytes_new(path, size);
		rc = filetree_insert_bytes(tree, path, bytes, &error);
		g_bytes_unref(bytes);
		if (rc == 0)
			check_resolves(tree, path, FILETREE_VIRTUAL_FILE, NULL,
				       path, size);
		break;
	}
	if (rc) {
		FUZZ_CHECK(rc == -EINVAL || rc == -ENAMETOOLONG ||
			   rc == -EEXIST || rc == -ENOTDIR);
		FUZZ_CHECK(error != NULL);
	}
	free(error);
	g_free(host_path);
}

static void resolve(const struct filetree *tree, const char *path)
{
	struct filetree_entry entry;
	char *error = NULL;
	int rc = filetree_resolve(tree, path, &entry, &error);

	if (rc) {
		FUZZ_CHECK(rc == -EINVAL || rc == -ENAMETOOLONG ||
			   rc == -ENOENT || rc == -ENOTDIR);
		FUZZ_CHECK(error != NULL);
		FUZZ_CHECK(is_empty(&entry));
		free(error);
		return;
	}
	FUZZ_CHECK(entry.kind >= FILETREE_DIRECTORY &&
		   entry.kind <= FILETREE_VIRTUAL_FILE);
	FUZZ_CHECK((entry.host_path != NULL) ==
		   (entry.kind == FILETREE_HOST_FILE ||
		    entry.kind == FILETREE_HOST_DIRECTORY ||
		    entry.kind == FILETREE_IN_HOST_DIRECTORY));
	FUZZ_CHECK((entry.bytes != NULL) ==
		   (entry.kind == FILETREE_VIRTUAL_FILE));
	filetree_entry_clear(&entry);
}

static void unlink_path(struct filetree *tree, const char *path)
{
	struct filetree_entry entry;
	struct filetree_entry after;
	char *error = NULL;
	int rc = filetree_unlink(tree, path, &entry, &error);

	if (rc) {
		FUZZ_CHECK(rc == -EINVAL || rc == -ENAMETOOLONG ||
			   rc == -ENOENT || rc == -ENOTDIR ||
			   rc == -ENOTEMPTY || rc == -EBUSY);
		FUZZ_CHECK(error != NULL);
		FUZZ_CHECK(is_empty(&entry));
		free(error);
		return;
	}
	FUZZ_CHECK(entry.kind == FILETREE_HOST_FILE ||
		   entry.kind == FILETREE_IN_HOST_DIRECTORY ||
		   entry.kind == FILETREE_VIRTUAL_FILE ||
		   entry.kind == FILETREE_DIRECTORY);
	FUZZ_CHECK((entry.host_path != NULL) ==
		   (entry.kind == FILETREE_HOST_FILE ||
		    entry.kind == FILETREE_IN_HOST_DIRECTORY));
	/* A removed node is gone; a path below a mapped host directory
	 * still resolves, because only the host file goes. */
	rc = filetree_resolve(tree, path, &after, NULL);
	if (entry.kind == FILETREE_IN_HOST_DIRECTORY)
		FUZZ_CHECK(rc == 0 && after.kind == FILETREE_IN_HOST_DIRECTORY);
	else
		FUZZ_CHECK(rc == -ENOENT);
	filetree_entry_clear(&after);
	filetree_entry_clear(&entry);
}

/* Checks both listings against the tree. */
static void list(const struct filetree *tree)
{
	char **points = filetree_list_mount_points(tree);
	GPtrArray *mappings = filetree_list_host_mappings(tree);

	for (size_t i = 0; points[i]; i++) {
		FUZZ_CHECK(points[i][0] == '/');
		FUZZ_CHECK(strcmp(points[i], "/") != 0);
		if (i > 0)
			FUZZ_CHECK(strcmp(points[i - 1], points[i]) < 0);
	}
	for (guint i = 0; i < mappings->len; i++) {
		const struct filetree_mapping *mapping = mappings->pdata[i];

		FUZZ_CHECK(mapping->guest_path[0] == '/');
		FUZZ_CHECK(mapping->kind == FILETREE_HOST_FILE ||
			   mapping->kind == FILETREE_HOST_DIRECTORY);
		check_resolves(tree, mapping->guest_path, mapping->kind,
			       mapping->host_path, NULL, 0);
		if (i > 0) {
			const struct filetree_mapping *previous =
			    mappings->pdata[i - 1];

			FUZZ_CHECK(strcmp(previous->guest_path,
					  mapping->guest_path) < 0);
		}
	}
	g_strfreev(points);
	g_ptr_array_unref(mappings);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader reader = {data, size};
	struct filetree *tree = filetree_new();
	char path[UINT8_MAX + 1];
	unsigned counter = 0;
	uint8_t op;

	while (next_operation(&reader, &op, path)) {
		switch ((op & ~EMPTY_HOST_PATH) % OP_COUNT) {
		case OP_RESOLVE:
			resolve(tree, path);
			break;
		case OP_UNLINK:
			unlink_path(tree, path);
			break;
		case OP_LIST:
			list(tree);
			break;
		case OP_CLEAN:
			clean(path);
			break;
		default:
			insert(tree, op, path, &counter);
			break;
		}
	}
	filetree_free(tree);
	return 0;
}
