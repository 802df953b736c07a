/* Hermit image archives: gzip-compressed tar files with hermit.toml. */
#include "image_archive.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "uhyve_build_config.h"

#if UHYVE_HAVE_LIBARCHIVE
#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#endif

#include "byte_size.h"
#include "filetree.h"
#include "guest_files.h"
#include "toml.h"
#include "uhyve_private.h"

#define CONFIG_NAME	"hermit.toml"
#define READ_CHUNK_SIZE (64 * 1024)

bool image_archive_detect(const void *data, size_t size)
{
	static const uint8_t magic[] = {0x1f, 0x8b, 0x08};

	return size >= sizeof(magic) && memcmp(data, magic, sizeof(magic)) == 0;
}

static void file_free(gpointer pointer)
{
	struct image_archive_file *file = pointer;

	g_free(file->path);
	g_bytes_unref(file->bytes);
	g_free(file);
}

static void archive_init(struct image_archive *archive)
{
	memset(archive, 0, sizeof(*archive));
	archive->files = g_ptr_array_new_with_free_func(file_free);
	archive->kernel_args = g_ptr_array_new_with_free_func(g_free);
	archive->app_args = g_ptr_array_new_with_free_func(g_free);
	archive->env = g_ptr_array_new_with_free_func(g_free);
}

void image_archive_clear(struct image_archive *archive)
{
	if (archive->files)
		g_ptr_array_unref(archive->files);
	if (archive->kernel_args)
		g_ptr_array_unref(archive->kernel_args);
	if (archive->app_args)
		g_ptr_array_unref(archive->app_args);
	if (archive->env)
		g_ptr_array_unref(archive->env);
	if (archive->kernel)
		g_bytes_unref(archive->kernel);
	g_free(archive->kernel_path);
	memset(archive, 0, sizeof(*archive));
}

static const struct image_archive_file *
find_file(const struct image_archive *archive, const char *path)
{
	for (guint i = 0; i < archive->files->len; i++) {
		const struct image_archive_file *file =
		    archive->files->pdata[i];

		if (!strcmp(file->path, path))
			return file;
	}
	return NULL;
}

/*
 * hermit.toml
 */

/* Stores "hermit.toml:LINE:COLUMN: message" (without a position when
 * `value` is NULL) and returns -ENOEXEC. */
static int config_error(const struct toml_value *value, char **error,
			const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int config_error(const struct toml_value *value, char **error,
			const char *format, ...)
{
	va_list args;
	char *message;
	int rc;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	if (value)
		rc = set_error(error, -ENOEXEC, CONFIG_NAME ":%u:%u: %s",
			       value->line, value->column, message);
	else
		rc = set_error(error, -ENOEXEC, CONFIG_NAME ": %s", message);
	g_free(message);
	return rc;
}

/* Returns "table.key" for messages (g_free). */
static char *full_key(const struct toml_table *table, const char *key)
{
	const char *table_name = toml_table_name(table);

	if (!table_name || !*table_name)
		return g_strdup(key);
	return g_strdup_printf("%s.%s", table_name, key);
}

static const char *article(const char *noun)
{
	return strchr("aeiou", noun[0]) ? "an" : "a";
}

/* Finds `key` of `type` in `table`. Returns 0 with *value NULL for a
 * missing optional key. */
static int get_value(const struct toml_table *table, const char *key,
		     enum toml_type type, bool required,
		     const struct toml_value **value, char **error)
{
	char *name = full_key(table, key);
	int rc = 0;

	*value = toml_table_get(table, key);
	if (!*value && required)
		rc = config_error(NULL, error, "the required key %s is missing",
				  name);
	else if (*value && (*value)->type != type)
		rc = config_error(*value, error, "%s must be %s %s, not %s %s",
				  name, article(toml_type_name(type)),
				  toml_type_name(type),
				  article(toml_type_name((*value)->type)),
				  toml_type_name((*value)->type));
	g_free(name);
	return rc;
}

static int get_string_array(const struct toml_table *table, const char *key,
			    bool required, GPtrArray *strings, char **error)
{
	const struct toml_value *value;
	int rc = get_value(table, key, TOML_ARRAY, required, &value, error);

	for (size_t i = 0;
	     rc == 0 && value && i < toml_array_size(value->array); i++) {
		const struct toml_value *element =
		    toml_array_get(value->array, i);
		char *name;

		if (element->type == TOML_STRING) {
			g_ptr_array_add(strings, g_strdup(element->string));
			continue;
		}
		name = full_key(table, key);
		rc = config_error(element, error,
				  "element %zu of %s must be a string, not %s "
				  "%s",
				  i, name,
				  article(toml_type_name(element->type)),
				  toml_type_name(element->type));
		g_free(name);
	}
	return rc;
}

static int read_requirements(const struct toml_table *root,
			     struct image_archive *archive, char **error)
{
	const struct toml_table *table;
	const struct toml_value *value;
	int rc;

	rc = get_value(root, "requirements", TOML_TABLE, false, &value, error);
	if (rc || !value)
		return rc;
	table = value->table;

	rc = get_value(table, "memory", TOML_STRING, false, &value, error);
	if (rc == 0 && value &&
	    !parse_byte_size(value->string, &archive->memory))
		rc = config_error(value, error,
				  "requirements.memory \"%s\" is not a byte "
				  "size such as 64MiB, 512M or 1GiB",
				  value->string);
	if (rc)
		return rc;

	rc = get_value(table, "cpus", TOML_INTEGER, false, &value, error);
	if (rc == 0 && value &&
	    (value->integer < 0 || value->integer > UINT32_MAX))
		rc = config_error(value, error,
				  "requirements.cpus %lld is outside 0 to %u",
				  (long long)value->integer, UINT32_MAX);
	if (rc == 0 && value)
		archive->cpus = (uint32_t)value->integer;
	return rc;
}

/* Drops the entries of env_vars without a '=' or with an empty key. */
static void keep_valid_env(GPtrArray *env)
{
	for (guint i = env->len; i > 0; i--) {
		const char *entry = env->pdata[i - 1];
		const char *equals = strchr(entry, '=');

		if (!equals || equals == entry)
			g_ptr_array_remove_index(env, i - 1);
	}
}

static int read_input(const struct toml_table *root,
		      struct image_archive *archive, char **error)
{
	const struct toml_value *value;
	const struct toml_table *input;
	int rc;

	rc = get_value(root, "input", TOML_TABLE, true, &value, error);
	if (rc)
		return rc;
	input = value->table;

	rc = get_string_array(input, "kernel_args", true, archive->kernel_args,
			      error);
	if (rc == 0)
		rc = get_string_array(input, "app_args", true,
				      archive->app_args, error);
	if (rc == 0)
		rc = get_string_array(input, "env_vars", false, archive->env,
				      error);
	keep_valid_env(archive->env);
	return rc;
}

static int read_kernel_path(const struct toml_table *root,
			    struct image_archive *archive, char **error)
{
	const struct toml_value *value;
	int rc;

	rc = get_value(root, "version", TOML_STRING, true, &value, error);
	if (rc == 0 && strcmp(value->string, "1"))
		rc = config_error(value, error,
				  "version \"%s\" is not supported: only "
				  "version \"1\" is",
				  value->string);
	if (rc)
		return rc;

	rc = get_value(root, "kernel", TOML_STRING, true, &value, error);
	if (rc)
		return rc;
	rc = filetree_clean_path(value->string, &archive->kernel_path, NULL);
	if (rc == 0 && !*archive->kernel_path)
		rc = -EINVAL;
	if (rc)
		return config_error(value, error,
				    "kernel \"%s\" is not a file path",
				    value->string);
	return 0;
}

/* Reads hermit.toml and finds the kernel entry it names. */
static int read_config(struct image_archive *archive, char **error)
{
	const struct image_archive_file *file = find_file(archive, CONFIG_NAME);
	const struct image_archive_file *kernel;
	struct toml_document *document = NULL;
	const struct toml_table *root;
	size_t size;
	const char *text;
	int rc;

	if (!file)
		return set_error(error, -ENOEXEC, "it has no " CONFIG_NAME);
	text = g_bytes_get_data(file->bytes, &size);
	rc = toml_parse(text, size, CONFIG_NAME, &document, error);
	if (rc)
		return rc == -ENOMEM ? rc : -ENOEXEC;
	root = toml_document_root(document);

	rc = read_kernel_path(root, archive, error);
	if (rc == 0)
		rc = read_input(root, archive, error);
	if (rc == 0)
		rc = read_requirements(root, archive, error);
	toml_document_free(document);
	if (rc)
		return rc;

	kernel = find_file(archive, archive->kernel_path);
	if (!kernel)
		return set_error(
		    error, -ENOEXEC,
		    "it has no entry %s, the kernel that " CONFIG_NAME " names",
		    archive->kernel_path);
	archive->kernel = g_bytes_ref(kernel->bytes);
	return 0;
}

/*
 * Unpacking with libarchive
 */

#if UHYVE_HAVE_LIBARCHIVE

struct unpack {
	struct archive *reader;
	const struct image_archive_limits *limits;
	uint64_t total_size; /* bytes of regular files so far */
	uint64_t entries;
	GHashTable *paths; /* cleaned paths of the regular files so far */
	struct image_archive *archive;
};

static int invalid(const char *reason, char **error)
{
	return set_error(error, -ENOEXEC,
			 "it is not a valid gzip-compressed tar archive: %s",
			 reason ? reason : "unknown error");
}

static int corrupt(struct unpack *unpack, char **error)
{
	return invalid(archive_error_string(unpack->reader), error);
}

/* Returns true when the `size` bytes at `data` are all zero. */
static bool all_zero(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		if (data[i])
			return false;
	}
	return true;
}

/* Feeds the next piece of input to zlib, which counts in uInt. */
static void refill(z_stream *stream, const uint8_t **next, size_t *left)
{
	size_t piece = *left < (1u << 30) ? *left : (1u << 30);

	stream->next_in = (Bytef *)*next;
	stream->avail_in = (uInt)piece;
	*next += piece;
	*left -= piece;
}

/* Handles the end of one gzip member: another member may follow, and zero
 * bytes of padding after the last one are ignored as gzip(1) does. Returns
 * 1 to go on, 0 at the end or a negative errno. */
static int member_end(z_stream *stream, size_t left, char **error)
{
	/* The input left to zlib and the input not yet fed to it are
	 * contiguous. */
	const uint8_t *rest = stream->next_in;
	size_t rest_size = stream->avail_in + left;

	if (all_zero(rest, rest_size))
		return 0;
	if (!image_archive_detect(rest, rest_size))
		return invalid("data that is not gzip follows the gzip stream",
			       error);
	inflateReset(stream);
	return 1;
}

/*
 * Decompresses the whole gzip stream once with zlib, discarding the output,
 * because libarchive 3.6.2 checks neither the CRC-32 nor the length in the
 * gzip trailer and stops reading at tar's end-of-archive marker. Stops with
 * -EFBIG after `max_size` decompressed bytes.
 */
static int check_gzip(const void *data, size_t size, uint64_t max_size,
		      char **error)
{
	z_stream stream = {0};
	const uint8_t *next = data;
	uint8_t *out = g_malloc(READ_CHUNK_SIZE);
	uint64_t total = 0;
	size_t left = size;
	int rc = 1;

	if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
		g_free(out);
		return set_error(error, -ENOMEM, "out of memory for zlib");
	}
	while (rc > 0) {
		int status;

		if (stream.avail_in == 0)
			refill(&stream, &next, &left);
		stream.next_out = out;
		stream.avail_out = READ_CHUNK_SIZE;
		status = inflate(&stream, Z_NO_FLUSH);
		total += READ_CHUNK_SIZE - stream.avail_out;
		if (total > max_size)
			rc = set_error(error, -EFBIG,
				       "it decompresses to more than %llu "
				       "bytes",
				       (unsigned long long)max_size);
		else if (status == Z_STREAM_END)
			rc = member_end(&stream, left, error);
		else if (status == Z_BUF_ERROR && left == 0 &&
			 stream.avail_in == 0)
			rc = invalid("the gzip stream ends early", error);
		else if (status != Z_OK)
			rc = invalid(stream.msg, error);
	}
	inflateEnd(&stream);
	g_free(out);
	return rc;
}

static const char *entry_type_name(mode_t type)
{
	switch (type) {
	case AE_IFLNK:
		return "a symbolic link";
	case AE_IFCHR:
		return "a character device";
	case AE_IFBLK:
		return "a block device";
	case AE_IFIFO:
		return "a FIFO";
	case AE_IFSOCK:
		return "a socket";
	default:
		return "a special file";
	}
}

static int too_big(struct unpack *unpack, const char *path, char **error)
{
	return set_error(error, -EFBIG,
			 "its regular files exceed %llu bytes in total at "
			 "entry %s",
			 (unsigned long long)unpack->limits->max_total_size,
			 path);
}

/* Reads the current entry's data, bounded by what is left of the total. */
static int read_data(struct unpack *unpack, const char *path, GBytes **bytes,
		     char **error)
{
	uint64_t room = unpack->limits->max_total_size - unpack->total_size;
	uint8_t *chunk = g_malloc(READ_CHUNK_SIZE);
	GByteArray *data = g_byte_array_new();
	la_ssize_t n;
	int rc = 0;

	while ((n = archive_read_data(unpack->reader, chunk, READ_CHUNK_SIZE)) >
	       0) {
		if ((uint64_t)n > room - data->len) {
			rc = too_big(unpack, path, error);
			break;
		}
		g_byte_array_append(data, chunk, (guint)n);
	}
	if (rc == 0 && n < 0)
		rc = corrupt(unpack, error);
	g_free(chunk);
	if (rc) {
		g_byte_array_unref(data);
		return rc;
	}
	unpack->total_size += data->len;
	*bytes = g_byte_array_free_to_bytes(data);
	return 0;
}

static const char *entry_path(struct archive_entry *entry)
{
	const char *path = archive_entry_pathname_utf8(entry);

	return path ? path : archive_entry_pathname(entry);
}

/* Checks the type and path of an entry. Returns 1 for an entry to skip. */
static int check_entry(struct unpack *unpack, struct archive_entry *entry,
		       const char *raw_path, char **path, char **error)
{
	mode_t type = archive_entry_filetype(entry);
	int rc;

	if (++unpack->entries > unpack->limits->max_entries)
		return set_error(
		    error, -EFBIG, "it has more than %llu entries",
		    (unsigned long long)unpack->limits->max_entries);
	if (!raw_path)
		return set_error(error, -ENOEXEC,
				 "entry %llu has an empty or unreadable path",
				 (unsigned long long)unpack->entries);
	if (archive_entry_hardlink(entry))
		return set_error(error, -ENOEXEC,
				 "entry %s is a hard link; image archives may "
				 "hold only regular files and directories",
				 raw_path);
	if (type == AE_IFDIR)
		return 1;
	if (type != AE_IFREG)
		return set_error(error, -ENOEXEC,
				 "entry %s is %s; image archives may hold only "
				 "regular files and directories",
				 raw_path, entry_type_name(type));

	rc = filetree_clean_path(raw_path, path, error);
	if (rc)
		return prefix_error(error, -ENOEXEC, "entry %s", raw_path);
	if (!**path)
		return set_error(error, -ENOEXEC,
				 "entry %s is a file at the root directory's "
				 "path",
				 raw_path);
	if (g_hash_table_contains(unpack->paths, *path))
		return set_error(error, -ENOEXEC, "it holds the file %s twice",
				 *path);
	return 0;
}

static int read_entry(struct unpack *unpack, struct archive_entry *entry,
		      char **error)
{
	const char *raw_path = entry_path(entry);
	struct image_archive_file *file;
	char *path = NULL;
	GBytes *bytes;
	int rc;

	rc = check_entry(unpack, entry, raw_path, &path, error);
	if (rc == 0)
		rc = read_data(unpack, path, &bytes, error);
	if (rc) {
		g_free(path);
		return rc < 0 ? rc : 0;
	}
	file = g_new(struct image_archive_file, 1);
	file->path = path;
	file->bytes = bytes;
	g_hash_table_add(unpack->paths, path);
	g_ptr_array_add(unpack->archive->files, file);
	return 0;
}

static int unpack_entries(struct unpack *unpack, const void *data, size_t size,
			  char **error)
{
	struct archive_entry *entry;
	int status;
	int rc = 0;

	/* Only the gzip filter and the tar format are enabled, so no other
	 * format's parser reads an image. */
	if (archive_read_support_filter_gzip(unpack->reader) < ARCHIVE_WARN ||
	    archive_read_support_format_tar(unpack->reader) < ARCHIVE_WARN)
		return set_error(error, -ENOTSUP,
				 "libarchive cannot read gzip-compressed tar "
				 "archives: %s",
				 archive_error_string(unpack->reader));
	if (archive_read_open_memory(unpack->reader, data, size) != ARCHIVE_OK)
		return corrupt(unpack, error);

	while (rc == 0) {
		status = archive_read_next_header(unpack->reader, &entry);
		if (status == ARCHIVE_EOF)
			break;
		if (status < ARCHIVE_WARN)
			return corrupt(unpack, error);
		rc = read_entry(unpack, entry, error);
	}
	return rc;
}

/* Bounds the decompressed tar stream: each entry adds a 512-byte header,
 * up to 511 bytes of padding and maybe records for a long name. */
static uint64_t max_tar_size(const struct image_archive_limits *limits)
{
	return limits->max_total_size + limits->max_entries * 4096 + (1u << 20);
}

static int unpack_archive(const void *data, size_t size,
			  const struct image_archive_limits *limits,
			  struct image_archive *archive, char **error)
{
	struct unpack unpack = {
	    .reader = archive_read_new(),
	    .limits = limits,
	    .paths = g_hash_table_new(g_str_hash, g_str_equal),
	    .archive = archive,
	};
	int rc;

	if (!unpack.reader)
		rc = set_error(error, -ENOMEM, "out of memory");
	else
		rc = check_gzip(data, size, max_tar_size(limits), error);
	if (rc == 0)
		rc = unpack_entries(&unpack, data, size, error);
	if (unpack.reader)
		archive_read_free(unpack.reader);
	g_hash_table_unref(unpack.paths);
	return rc;
}

#else /* !UHYVE_HAVE_LIBARCHIVE */

static int unpack_archive(const void *data, size_t size,
			  const struct image_archive_limits *limits,
			  struct image_archive *archive, char **error)
{
	(void)data;
	(void)size;
	(void)limits;
	(void)archive;
	return set_error(error, -ENOTSUP,
			 "this libuhyve was built without libarchive, so it "
			 "cannot read Hermit image archives");
}

#endif /* UHYVE_HAVE_LIBARCHIVE */

int image_archive_read(const void *data, size_t size, const char *name,
		       const struct image_archive_limits *limits,
		       struct image_archive *archive, char **error)
{
	int rc;

	archive_init(archive);
	rc = unpack_archive(data, size, limits, archive, error);
	if (rc == 0)
		rc = read_config(archive, error);
	if (rc) {
		image_archive_clear(archive);
		return prefix_error(error, rc, "image archive %s", name);
	}
	return 0;
}

/*
 * Applying an archive to a VM
 */

static int check_requirements(const struct image_archive *archive,
			      const char *name,
			      const struct uhyve_config *config, char **error)
{
	if (archive->memory > config->memory_size)
		return set_error(
		    error, -EINVAL,
		    "image archive %s requires %llu bytes "
		    "(%llu MiB) of memory, but the VM is "
		    "configured with %llu bytes (%llu MiB)",
		    name, (unsigned long long)archive->memory,
		    (unsigned long long)(archive->memory >> 20),
		    (unsigned long long)config->memory_size,
		    (unsigned long long)(config->memory_size >> 20));
	if (archive->cpus > config->cpu_count)
		return set_error(error, -EINVAL,
				 "image archive %s requires %u vCPUs, but the "
				 "VM is configured with %u",
				 name, archive->cpus, config->cpu_count);
	return 0;
}

static void append_strings(GPtrArray *to, const GPtrArray *from)
{
	for (guint i = 0; i < from->len; i++)
		g_ptr_array_add(to, g_strdup(from->pdata[i]));
}

/* Puts the archive's variables first. A configured variable replaces the
 * archive's variable with the same key. */
static void merge_env(const struct image_archive *archive,
		      struct uhyve_config *config)
{
	GPtrArray *configured = config->env;

	config->env = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < archive->env->len; i++)
		uhyve_config_add_env(config, archive->env->pdata[i], NULL);
	for (guint i = 0; i < configured->len; i++)
		uhyve_config_add_env(config, configured->pdata[i], NULL);
	g_ptr_array_unref(configured);
}

int image_archive_apply(const struct image_archive *archive, const char *name,
			struct uhyve_config *config, struct guest_files *files,
			char **error)
{
	int rc = check_requirements(archive, name, config, error);

	if (rc)
		return rc;
	if (config->kernel_args->len == 0 && config->app_args->len == 0) {
		append_strings(config->kernel_args, archive->kernel_args);
		append_strings(config->app_args, archive->app_args);
	}
	merge_env(archive, config);

	for (guint i = 0; rc == 0 && i < archive->files->len; i++) {
		const struct image_archive_file *file =
		    archive->files->pdata[i];

		rc = guest_files_add_virtual(files, file->path, file->bytes,
					     error);
	}
	if (rc)
		return prefix_error(error, rc, "image archive %s", name);
	return 0;
}

/* Copies the kernel into a private anonymous mapping, which the ELF loader
 * may write to like the mapping of a kernel file. */
static int map_kernel_copy(const struct image_archive *archive,
			   const char *name, void **data, size_t *size,
			   char **error)
{
	size_t kernel_size;
	const void *kernel = g_bytes_get_data(archive->kernel, &kernel_size);
	void *copy;

	if (kernel_size == 0)
		return set_error(error, -ENOEXEC,
				 "image archive %s: the kernel entry %s is "
				 "empty",
				 name, archive->kernel_path);
	copy = mmap(NULL, kernel_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy == MAP_FAILED)
		return set_error(error, -ENOMEM,
				 "cannot allocate %zu bytes for the kernel of "
				 "image archive %s",
				 kernel_size, name);
	memcpy(copy, kernel, kernel_size);
	*data = copy;
	*size = kernel_size;
	return 0;
}

int image_archive_load(struct uhyve_vm *vm, void **data, size_t *size,
		       char **error)
{
	const struct image_archive_limits limits = {
	    .max_total_size = IMAGE_ARCHIVE_MAX_TOTAL_SIZE,
	    .max_entries = IMAGE_ARCHIVE_MAX_ENTRIES,
	};
	struct image_archive archive;
	void *kernel = NULL;
	size_t kernel_size = 0;
	int rc;

	rc = image_archive_read(*data, *size, vm->kernel_path, &limits,
				&archive, error);
	if (rc)
		return rc;

	rc = image_archive_apply(&archive, vm->kernel_path, vm->config,
				 &vm->files, error);
	if (rc == 0)
		rc = map_kernel_copy(&archive, vm->kernel_path, &kernel,
				     &kernel_size, error);
	image_archive_clear(&archive);
	if (rc)
		return rc;

	munmap(*data, *size);
	*data = kernel;
	*size = kernel_size;
	vm_log(vm, UHYVE_LOG_INFO, "loaded the kernel from image archive %s",
	       vm->kernel_path);
	return 0;
}
