/* The launcher's configuration file, uhyve.toml. */
#include "config_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "toml.h"

/* A larger file is rejected: it is certainly not a uhyve.toml, and the
 * limit keeps a FIFO or device given by mistake from being read forever. */
#define CONFIG_FILE_MAX_SIZE (1u << 20)

/* Kinds of key: the TOML types of the value and how it becomes a setting. */
enum key_kind {
	KEY_FLAG,	 /* boolean: turns the setting on or off */
	KEY_TEXT,	 /* string: the option's value */
	KEY_NUMBER,	 /* integer: the option's value */
	KEY_SIZE,	 /* string with a unit such as "64MiB", or integer */
	KEY_CPU_LIST,	 /* string such as "0-1,2", or array of CPUs/ranges */
	KEY_STRING_LIST, /* array of strings: the option once per element */
};

struct file_key {
	const char *table;
	const char *name;
	enum key_kind kind;
	enum option_id option;
};

static const struct file_key file_keys[] = {
    {"uhyve", "output", KEY_TEXT, OPTION_OUTPUT},
    {"uhyve", "stats", KEY_FLAG, OPTION_STATS},
    {"uhyve", "tempdir", KEY_TEXT, OPTION_TEMPDIR},
    {"uhyve", "file_isolation", KEY_TEXT, OPTION_FILE_ISOLATION},
    {"uhyve", "io_mode", KEY_TEXT, OPTION_IO_MODE},
    {"uhyve", "gdb_port", KEY_NUMBER, OPTION_GDB_PORT},
    {"memory", "memory_size", KEY_SIZE, OPTION_MEMORY_SIZE},
    {"memory", "no_aslr", KEY_FLAG, OPTION_NO_ASLR},
    {"memory", "thp", KEY_FLAG, OPTION_THP},
    {"memory", "ksm", KEY_FLAG, OPTION_KSM},
    {"cpu", "cpu_count", KEY_NUMBER, OPTION_CPU_COUNT},
    {"cpu", "cpu_pm", KEY_FLAG, OPTION_CPU_PM},
    {"cpu", "pit", KEY_FLAG, OPTION_PIT},
    {"cpu", "affinity", KEY_CPU_LIST, OPTION_AFFINITY},
    {"guest", "env_vars", KEY_STRING_LIST, OPTION_ENV},
};

static const char *const table_names[] = {"uhyve", "memory", "cpu", "guest"};

static const char *const expected_types[] = {
    [KEY_FLAG] = "a boolean",
    [KEY_TEXT] = "a string",
    [KEY_NUMBER] = "an integer",
    [KEY_SIZE] = "a string such as \"64MiB\" or an integer",
    [KEY_CPU_LIST] = "a string such as \"0-1,2\" or an array of host CPU "
		     "numbers",
    [KEY_STRING_LIST] = "an array of strings",
};

/* The file being applied, for messages. */
struct config_file {
	struct launcher_options *options;
	const char *path;
};

/* Stores a message in *error (g_free) unless `error` is NULL; returns rc. */
static int fail(char **error, int rc, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char **error, int rc, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	if (error) {
		g_free(*error);
		*error = g_strdup_vprintf(format, args);
	}
	va_end(args);
	return rc;
}

/* Stores "PATH:LINE: TABLE.KEY: message" in *error; returns -EINVAL. */
static int key_error(const struct config_file *file,
		     const struct toml_value *value, const char *table,
		     const char *key, char **error, const char *format, ...)
    __attribute__((format(printf, 6, 7)));

static int key_error(const struct config_file *file,
		     const struct toml_value *value, const char *table,
		     const char *key, char **error, const char *format, ...)
{
	va_list args;
	char *message;
	int rc;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	rc = fail(error, -EINVAL, "%s:%u: %s.%s: %s", file->path, value->line,
		  table, key, message);
	g_free(message);
	return rc;
}

static bool has_type(const struct toml_value *value, enum key_kind kind)
{
	switch (kind) {
	case KEY_FLAG:
		return value->type == TOML_BOOLEAN;
	case KEY_TEXT:
		return value->type == TOML_STRING;
	case KEY_NUMBER:
		return value->type == TOML_INTEGER;
	case KEY_SIZE:
		return value->type == TOML_STRING ||
		       value->type == TOML_INTEGER;
	case KEY_CPU_LIST:
		return value->type == TOML_STRING || value->type == TOML_ARRAY;
	case KEY_STRING_LIST:
		return value->type == TOML_ARRAY;
	}
	return false;
}

/* Applies one text value and puts the file, line and key before a message. */
static int apply_text(const struct config_file *file,
		      const struct file_key *key,
		      const struct toml_value *value, const char *text,
		      char **error)
{
	char *message = NULL;
	int rc = options_apply(file->options, key->option, text, &message);

	if (rc)
		key_error(file, value, key->table, key->name, error, "%s",
			  message);
	g_free(message);
	return rc;
}

/* Joins an array of CPU numbers, or of ranges as strings, into a list. */
static int join_cpu_list(const struct config_file *file,
			 const struct file_key *key,
			 const struct toml_value *value, GString *list,
			 char **error)
{
	const struct toml_array *array = value->array;

	for (size_t i = 0; i < toml_array_size(array); i++) {
		const struct toml_value *cpu = toml_array_get(array, i);

		if (i > 0)
			g_string_append_c(list, ',');
		if (cpu->type == TOML_INTEGER)
			g_string_append_printf(list, "%" PRId64, cpu->integer);
		else if (cpu->type == TOML_STRING)
			g_string_append(list, cpu->string);
		else
			return key_error(
			    file, cpu, key->table, key->name, error,
			    "element %zu has type %s, but it must be "
			    "a host CPU number or a range such as \"0-3\"",
			    i + 1, toml_type_name(cpu->type));
	}
	return 0;
}

static int apply_string_list(const struct config_file *file,
			     const struct file_key *key,
			     const struct toml_value *value, char **error)
{
	const struct toml_array *array = value->array;

	for (size_t i = 0; i < toml_array_size(array); i++) {
		const struct toml_value *element = toml_array_get(array, i);
		int rc;

		if (element->type != TOML_STRING)
			return key_error(
			    file, element, key->table, key->name, error,
			    "element %zu has type %s, but it must be "
			    "a string",
			    i + 1, toml_type_name(element->type));
		rc = apply_text(file, key, element, element->string, error);
		if (rc)
			return rc;
	}
	return 0;
}

static int apply_cpu_list(const struct config_file *file,
			  const struct file_key *key,
			  const struct toml_value *value, char **error)
{
	GString *list;
	int rc;

	if (value->type == TOML_STRING)
		return apply_text(file, key, value, value->string, error);

	list = g_string_new(NULL);
	rc = join_cpu_list(file, key, value, list, error);
	if (rc == 0)
		rc = apply_text(file, key, value, list->str, error);
	g_string_free(list, TRUE);
	return rc;
}

static int apply_value(const struct config_file *file,
		       const struct file_key *key,
		       const struct toml_value *value, char **error)
{
	char *number;
	int rc;

	if (!has_type(value, key->kind))
		return key_error(file, value, key->table, key->name, error,
				 "the value has type %s, but it must be %s",
				 toml_type_name(value->type),
				 expected_types[key->kind]);

	switch (key->kind) {
	case KEY_FLAG:
		options_set_flag(file->options, key->option, value->boolean);
		return 0;
	case KEY_CPU_LIST:
		return apply_cpu_list(file, key, value, error);
	case KEY_STRING_LIST:
		return apply_string_list(file, key, value, error);
	default:
		break;
	}
	if (value->type == TOML_STRING)
		return apply_text(file, key, value, value->string, error);

	number = g_strdup_printf("%" PRId64, value->integer);
	rc = apply_text(file, key, value, number, error);
	g_free(number);
	return rc;
}

static const struct file_key *find_key(const char *table, const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(file_keys); i++) {
		if (strcmp(file_keys[i].table, table) == 0 &&
		    strcmp(file_keys[i].name, name) == 0)
			return &file_keys[i];
	}
	return NULL;
}

/* Returns the keys of `table` as "a, b, c" (g_free). */
static char *list_keys(const char *table)
{
	GString *list = g_string_new(NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(file_keys); i++) {
		if (strcmp(file_keys[i].table, table) != 0)
			continue;
		if (list->len > 0)
			g_string_append(list, ", ");
		g_string_append(list, file_keys[i].name);
	}
	return g_string_free(list, FALSE);
}

static int apply_table(const struct config_file *file, const char *name,
		       const struct toml_table *table, char **error)
{
	for (size_t i = 0; i < toml_table_size(table); i++) {
		const char *key_name = toml_table_key(table, i);
		const struct toml_value *value = toml_table_value(table, i);
		const struct file_key *key = find_key(name, key_name);
		char *keys;
		int rc;

		if (!key) {
			keys = list_keys(name);
			rc = key_error(file, value, name, key_name, error,
				       "unknown key; the keys of [%s] are %s",
				       name, keys);
			g_free(keys);
			return rc;
		}
		rc = apply_value(file, key, value, error);
		if (rc)
			return rc;
	}
	return 0;
}

static bool is_table_name(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(table_names); i++) {
		if (strcmp(table_names[i], name) == 0)
			return true;
	}
	return false;
}

static int apply_document(const struct config_file *file,
			  const struct toml_table *root, char **error)
{
	for (size_t i = 0; i < toml_table_size(root); i++) {
		const char *name = toml_table_key(root, i);
		const struct toml_value *value = toml_table_value(root, i);
		int rc;

		if (value->type != TOML_TABLE || !is_table_name(name))
			return fail(error, -EINVAL,
				    "%s:%u: unknown %s \"%s\": the settings "
				    "belong in the tables [uhyve], [memory], "
				    "[cpu] and [guest]",
				    file->path, value->line,
				    value->type == TOML_TABLE ? "table" : "key",
				    name);
		rc = apply_table(file, name, value->table, error);
		if (rc)
			return rc;
	}
	return 0;
}

/* Reads all of `fd` into `text`, which has room for `capacity` bytes, and
 * stores the length in *len. Returns 0 or a negative errno value. */
static int read_all(int fd, char *text, size_t capacity, size_t *len)
{
	size_t total = 0;

	/* Every round reads at least one byte, so there are at most
	 * `capacity` rounds. */
	while (total < capacity) {
		ssize_t got = read(fd, text + total, capacity - total);

		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		total += (size_t)got;
	}
	*len = total;
	return 0;
}

static int open_file(const char *path, int *fd, char **error)
{
	struct stat st;
	int code;

	/* O_NONBLOCK: opening a FIFO by mistake must not wait for a writer. */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0) {
		code = errno;
		if (code == ENOENT)
			return fail(error, -ENOENT,
				    "configuration file %s does not exist",
				    path);
		return fail(error, -code,
			    "cannot open configuration file %s: %s", path,
			    g_strerror(code));
	}
	if (fstat(*fd, &st) < 0) {
		code = errno;
		close(*fd);
		return fail(error, -code,
			    "cannot inspect configuration file "
			    "%s: %s",
			    path, g_strerror(code));
	}
	if (S_ISREG(st.st_mode) && st.st_size <= CONFIG_FILE_MAX_SIZE)
		return 0;

	close(*fd);
	if (!S_ISREG(st.st_mode))
		return fail(error, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
			    "configuration file %s is not a regular file",
			    path);
	return fail(error, -EFBIG,
		    "configuration file %s has %lld bytes; the maximum is %u",
		    path, (long long)st.st_size, CONFIG_FILE_MAX_SIZE);
}

/* Reads a whole regular file of at most CONFIG_FILE_MAX_SIZE bytes into
 * *text (g_free). */
static int read_file(const char *path, char **text, size_t *len, char **error)
{
	int fd;
	int rc = open_file(path, &fd, error);

	if (rc)
		return rc;
	*text = g_malloc(CONFIG_FILE_MAX_SIZE + 1);
	rc = read_all(fd, *text, CONFIG_FILE_MAX_SIZE + 1, len);
	close(fd);
	if (rc == 0 && *len > CONFIG_FILE_MAX_SIZE)
		rc = -EFBIG;
	if (rc == 0)
		return 0;

	g_free(*text);
	*text = NULL;
	return fail(error, rc, "reading configuration file %s failed: %s", path,
		    g_strerror(-rc));
}

static int apply_file(struct launcher_options *options, const char *path,
		      char **error)
{
	struct config_file file = {options, path};
	struct toml_document *document = NULL;
	char *message = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = read_file(path, &text, &len, error);
	if (rc)
		return rc;

	rc = toml_parse(text, len, path, &document, &message);
	g_free(text);
	if (rc) {
		fail(error, rc, "%s", message ? message : "invalid TOML");
		free(message);
		return rc;
	}

	g_free(options->config_file);
	options->config_file = g_strdup(path);
	rc = apply_document(&file, toml_document_root(document), error);
	toml_document_free(document);
	return rc;
}

/* Returns the user's default configuration file (g_free). */
static char *user_config_file(void)
{
	const char *config_home = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");

	/* The XDG Base Directory Specification ignores relative paths. */
	if (config_home && g_path_is_absolute(config_home))
		return g_build_filename(config_home, "uhyve", "uhyve.toml",
					NULL);
	if (home && *home)
		return g_build_filename(home, ".config", "uhyve", "uhyve.toml",
					NULL);
	return NULL;
}

int config_file_apply(struct launcher_options *options, const char *path,
		      char **error)
{
	char *user_file;
	int rc = 0;

	if (path)
		return apply_file(options, path, error);
	if (access("uhyve.toml", F_OK) == 0)
		return apply_file(options, "uhyve.toml", error);

	user_file = user_config_file();
	if (user_file && access(user_file, F_OK) == 0)
		rc = apply_file(options, user_file, error);
	g_free(user_file);
	return rc;
}
