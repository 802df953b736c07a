/* libFuzzer target: the Hermit image archive reader, then applying the archive
 * to a configuration and a file tree. */
/*
 * The first input byte chooses the form of the rest: odd means the rest is
 * the archive file itself, even means the rest is a tar stream that this
 * target compresses with gzip first. The second form lets the fuzzer reach
 * the tar and hermit.toml parsers past the gzip checksum.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "uhyve/uhyve.h"

#include "filetree.h"
#include "guest_files.h"
#include "image_archive.h"

#include "fuzz_common.h"

#define NAME "fuzz.hermit"

/* Small limits, so that the limit checks are reached and a run stays fast. */
static const struct image_archive_limits limits = {
    .max_total_size = 1 << 20,
    .max_entries = 64,
};

/* Compresses `size` bytes of `data` into a new gzip stream in *out (g_free)
 * and returns its length. */
static size_t gzip(const uint8_t *data, size_t size, uint8_t **out)
{
	z_stream stream = {0};
	size_t capacity;

	FUZZ_CHECK(deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED,
				16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	capacity = deflateBound(&stream, size);
	*out = g_malloc(capacity);
	stream.next_in = (Bytef *)data;
	stream.avail_in = (uInt)size;
	stream.next_out = *out;
	stream.avail_out = (uInt)capacity;
	FUZZ_CHECK(deflate(&stream, Z_FINISH) == Z_STREAM_END);
	deflateEnd(&stream);
	return capacity - stream.avail_out;
}

static void check_path(const char *path)
{
	char *cleaned = NULL;

	FUZZ_CHECK(path[0] != '\0' && path[0] != '/');
	FUZZ_CHECK(filetree_clean_path(path, &cleaned, NULL) == 0);
	FUZZ_CHECK(strcmp(cleaned, path) == 0);
	g_free(cleaned);
}

static void check_archive(const struct image_archive *archive)
{
	uint64_t total = 0;

	FUZZ_CHECK(archive->kernel != NULL);
	FUZZ_CHECK(archive->kernel_path != NULL);
	check_path(archive->kernel_path);
	FUZZ_CHECK(archive->files->len <= limits.max_entries);
	for (guint i = 0; i < archive->files->len; i++) {
		const struct image_archive_file *file =
		    archive->files->pdata[i];

		check_path(file->path);
		total += g_bytes_get_size(file->bytes);
	}
	FUZZ_CHECK(total <= limits.max_total_size);
	for (guint i = 0; i < archive->env->len; i++)
		FUZZ_CHECK(strchr(archive->env->pdata[i], '=') != NULL);
}

/* Applies the archive to a default configuration and fresh guest files. */
static void apply(const struct image_archive *archive)
{
	struct uhyve_config *config = uhyve_config_new();
	struct guest_files files;
	char *error = NULL;
	int rc;

	FUZZ_CHECK(config != NULL);
	guest_files_init(&files, NULL, 0);
	rc = image_archive_apply(archive, NAME, config, &files, &error);
	FUZZ_CHECK((rc == 0) == (error == NULL));
	if (rc == 0) {
		/* Every file of the archive is now a virtual file. */
		for (guint i = 0; i < archive->files->len; i++) {
			const struct image_archive_file *file =
			    archive->files->pdata[i];
			struct filetree_entry entry;

			FUZZ_CHECK(filetree_resolve(files.tree, file->path,
						    &entry, NULL) == 0);
			FUZZ_CHECK(entry.kind == FILETREE_VIRTUAL_FILE);
			filetree_entry_clear(&entry);
		}
	}
	free(error);
	guest_files_destroy(&files);
	uhyve_config_free(config);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_archive archive;
	uint8_t *compressed = NULL;
	char *error = NULL;
	int rc;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		/* Never NULL, as the launcher's mapping of a file never is. */
		size = size - 1;
		compressed = g_malloc(size ? size : 1);
		memcpy(compressed, data + 1, size);
	} else {
		size = gzip(data + 1, size - 1, &compressed);
	}

	rc = image_archive_read(compressed, size, NAME, &limits, &archive,
				&error);
	FUZZ_CHECK(rc == 0 || rc == -ENOEXEC || rc == -EFBIG || rc == -ENOMEM);
	FUZZ_CHECK((rc == 0) == (error == NULL));
	free(error);
	if (rc == 0) {
		check_archive(&archive);
		apply(&archive);
		image_archive_clear(&archive);
	}
	g_free(compressed);
	return 0;
}
