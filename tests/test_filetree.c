/* Unit tests of the virtual file tree: cleaning, mapping, lookup, removal. */
#include "filetree.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static struct filetree *tree;
static char *error;

static void setup(void)
{
	tree = filetree_new();
	error = NULL;
}

static void teardown(void)
{
	filetree_free(tree);
	free(error);
}

/* Returns the cleaned form of `path`, or "<error N>" when cleaning fails. */
static char *clean(const char *path)
{
	char *cleaned = NULL;
	int rc = filetree_clean_path(path, &cleaned, NULL);

	if (rc < 0)
		return g_strdup_printf("<error %d>", rc);
	return cleaned;
}

/* Returns a string of `length` bytes repeating `pattern`. */
static char *repeat(const char *pattern, size_t length)
{
	size_t pattern_length = strlen(pattern);
	char *text = g_malloc(length + 1);
	size_t i;

	for (i = 0; i < length; i++)
		text[i] = pattern[i % pattern_length];
	text[length] = '\0';
	return text;
}

START_TEST(clean_table_of_inputs)
{
	static const struct {
		const char *input;
		const char *expected;
	} cases[] = {
	    {"../../etc/passwd", "etc/passwd"},
	    {"/a/../../b", "b"},
	    {"", ""},
	    {"/", ""},
	    {"////////", ""},
	    {".", ""},
	    {"..", ""},
	    {"./..", ""},
	    {"/./.././", ""},
	    {"../..", ""},
	    {"/data/file.txt", "data/file.txt"},
	    {"data/file.txt", "data/file.txt"},
	    {"a//b///c/", "a/b/c"},
	    {"/a/./b/../c", "a/c"},
	    {"a/b/c/../../..", ""},
	    {"a/b/../../../../c", "c"},
	    {"a/.../..b/b..", "a/.../..b/b.."},
	    {".hidden/./x", ".hidden/x"},
	    {"/dätä/ü", "dätä/ü"},
	};
	size_t i;
	char *cleaned;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		cleaned = clean(cases[i].input);
		ck_assert_msg(strcmp(cleaned, cases[i].expected) == 0,
			      "clean(\"%s\") is \"%s\", expected \"%s\"",
			      cases[i].input, cleaned, cases[i].expected);
		g_free(cleaned);
	}
}
END_TEST

START_TEST(clean_result_and_return)
{
	char *cleaned = NULL;

	ck_assert_int_eq(filetree_clean_path("//x/./y/", &cleaned, &error), 0);
	ck_assert_str_eq(cleaned, "x/y");
	ck_assert_ptr_null(error);
	g_free(cleaned);
}
END_TEST

START_TEST(clean_embedded_nul_prefix)
{
	static const char path[] = "a/b\0/../c";
	char *cleaned = NULL;

	ck_assert_int_eq(filetree_clean_path(path, &cleaned, &error), 0);
	ck_assert_str_eq(cleaned, "a/b");
	g_free(cleaned);
}
END_TEST

START_TEST(clean_path_of_4096_bytes)
{
	char *path = repeat("a/", PATH_MAX);
	char *cleaned = NULL;

	ck_assert_uint_eq(strlen(path), 4096);
	ck_assert_int_eq(filetree_clean_path(path, &cleaned, &error), 0);
	ck_assert_uint_eq(strlen(cleaned), 4095);
	ck_assert_int_eq(strncmp(cleaned, path, 4095), 0);
	g_free(cleaned);
	g_free(path);
}
END_TEST

START_TEST(clean_single_4096_byte_name)
{
	char *path = repeat("x", PATH_MAX);
	char *cleaned = NULL;

	ck_assert_int_eq(filetree_clean_path(path, &cleaned, &error), 0);
	ck_assert_str_eq(cleaned, path);
	g_free(cleaned);
	g_free(path);
}
END_TEST

START_TEST(clean_rejects_4097_bytes)
{
	char *path = repeat("/", PATH_MAX + 1);
	char *cleaned = NULL;

	ck_assert_int_eq(filetree_clean_path(path, &cleaned, &error),
			 -ENAMETOOLONG);
	ck_assert_ptr_null(cleaned);
	ck_assert_str_eq(error,
			 "guest path is longer than the maximum of 4096 bytes");
	g_free(path);
}
END_TEST

START_TEST(clean_rejects_non_utf8)
{
	char *cleaned = NULL;

	ck_assert_int_eq(filetree_clean_path("a/\xff/b", &cleaned, &error),
			 -EINVAL);
	ck_assert_ptr_null(cleaned);
	ck_assert_str_eq(
	    error, "guest path is not valid UTF-8: byte 0xff at offset 2");
}
END_TEST

START_TEST(clean_rejects_overlong_utf8)
{
	char *cleaned = NULL;

	/* 0xc0 0xaf is an overlong encoding of '/' that lax decoders accept. */
	ck_assert_int_eq(
	    filetree_clean_path("..\xc0\xaf..\xc0\xaf", &cleaned, &error),
	    -EINVAL);
	ck_assert_ptr_null(cleaned);
}
END_TEST

START_TEST(clean_rejects_null_path)
{
	char *cleaned = NULL;

	ck_assert_int_eq(filetree_clean_path(NULL, &cleaned, &error), -EINVAL);
	ck_assert_str_eq(error, "guest path is missing");
}
END_TEST

START_TEST(resolve_host_file)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_insert_host_file(tree, "/etc/app.toml",
						   "/home/u/app.toml", &error),
			 0);
	ck_assert_int_eq(
	    filetree_resolve(tree, "etc//app.toml", &entry, &error), 0);
	ck_assert_int_eq(entry.kind, FILETREE_HOST_FILE);
	ck_assert_str_eq(entry.host_path, "/home/u/app.toml");
	ck_assert_ptr_null(entry.bytes);
	ck_assert_ptr_null(error);
	filetree_entry_clear(&entry);
	ck_assert_ptr_null(entry.host_path);
}
END_TEST

START_TEST(resolve_host_directory_itself)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_insert_host_directory(tree, "/data",
							"/home/u/data", &error),
			 0);
	ck_assert_int_eq(filetree_resolve(tree, "/data/", &entry, &error), 0);
	ck_assert_int_eq(entry.kind, FILETREE_HOST_DIRECTORY);
	ck_assert_str_eq(entry.host_path, "/home/u/data");
	filetree_entry_clear(&entry);
}
END_TEST

START_TEST(resolve_below_host_directory)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_insert_host_directory(tree, "/data",
							"/home/u/data", &error),
			 0);
	ck_assert_int_eq(
	    filetree_resolve(tree, "/data/sub/../sub//x.txt", &entry, &error),
	    0);
	ck_assert_int_eq(entry.kind, FILETREE_IN_HOST_DIRECTORY);
	ck_assert_str_eq(entry.host_path, "/home/u/data/sub/x.txt");
	filetree_entry_clear(&entry);
}
END_TEST

START_TEST(resolve_dotdot_stays_inside)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_insert_host_directory(tree, "/data",
							"/home/u/data", &error),
			 0);
	ck_assert_int_eq(
	    filetree_resolve(tree, "/data/../../../etc/passwd", &entry, &error),
	    -ENOENT);
	ck_assert_str_eq(error, "guest path \"/etc/passwd\" not found");
	ck_assert_ptr_null(entry.host_path);
}
END_TEST

START_TEST(resolve_root_and_directories)
{
	static const char *const paths[] = {"",	 "/",	  "////",    "..",
					    "a", "/a/b/", "a/b/c/.."};
	struct filetree_entry entry;
	size_t i;

	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "/a/b/c", "/h/c", &error), 0);
	for (i = 0; i < G_N_ELEMENTS(paths); i++) {
		ck_assert_int_eq(
		    filetree_resolve(tree, paths[i], &entry, &error), 0);
		ck_assert_msg(entry.kind == FILETREE_DIRECTORY,
			      "\"%s\" resolves to kind %d", paths[i],
			      entry.kind);
		ck_assert_ptr_null(entry.host_path);
		filetree_entry_clear(&entry);
	}
}
END_TEST

START_TEST(resolve_unknown_path_not_found)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_resolve(tree, "/nope", &entry, &error),
			 -ENOENT);
	ck_assert_str_eq(error, "guest path \"/nope\" not found");
	ck_assert_int_eq(entry.kind, 0);
}
END_TEST

START_TEST(resolve_below_host_file)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_insert_host_file(tree, "/f", "/h/f", &error),
			 0);
	ck_assert_int_eq(filetree_resolve(tree, "/f/x", &entry, &error),
			 -ENOTDIR);
	ck_assert_str_eq(error, "guest path \"/f/x\" is below the mapping "
				"\"/h/f\" -> \"/f\", which is not a directory");
	ck_assert_ptr_null(entry.host_path);
}
END_TEST

START_TEST(resolve_below_virtual_file)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_insert_virtual(tree, "/v", "x", 1, &error),
			 0);
	ck_assert_int_eq(filetree_resolve(tree, "/v/x/y", &entry, &error),
			 -ENOTDIR);
	ck_assert_str_eq(error, "guest path \"/v/x/y\" is below the virtual "
				"file \"/v\", which is not a directory");
	ck_assert_ptr_null(entry.bytes);
}
END_TEST

START_TEST(resolve_invalid_utf8_path)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_resolve(tree, "\xfe", &entry, &error),
			 -EINVAL);
	ck_assert_ptr_nonnull(error);
}
END_TEST

START_TEST(resolve_embedded_nul_prefix)
{
	static const char path[] = "/data\0/../etc";
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_insert_host_directory(tree, "/data",
							"/home/u/data", &error),
			 0);
	ck_assert_int_eq(filetree_resolve(tree, path, &entry, &error), 0);
	ck_assert_int_eq(entry.kind, FILETREE_HOST_DIRECTORY);
	ck_assert_str_eq(entry.host_path, "/home/u/data");
	filetree_entry_clear(&entry);
}
END_TEST

START_TEST(virtual_file_copies_data)
{
	char data[] = "hello";
	struct filetree_entry entry;

	ck_assert_int_eq(
	    filetree_insert_virtual(tree, "/root/hello.txt", data, 5, &error),
	    0);
	data[0] = 'J';
	ck_assert_int_eq(
	    filetree_resolve(tree, "root/hello.txt", &entry, &error), 0);
	ck_assert_int_eq(entry.kind, FILETREE_VIRTUAL_FILE);
	ck_assert_uint_eq(entry.size, 5);
	ck_assert_mem_eq(entry.data, "hello", 5);
	ck_assert_ptr_nonnull(entry.bytes);
	ck_assert_ptr_null(entry.host_path);
	filetree_entry_clear(&entry);
	ck_assert_ptr_null(entry.bytes);
}
END_TEST

START_TEST(virtual_file_shares_bytes)
{
	GBytes *bytes = g_bytes_new_static("kernel", 6);
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_insert_bytes(tree, "/boot/k", bytes, &error),
			 0);
	ck_assert_int_eq(filetree_resolve(tree, "/boot/k", &entry, &error), 0);
	ck_assert_ptr_eq(entry.bytes, bytes);
	ck_assert_ptr_eq(entry.data, g_bytes_get_data(bytes, NULL));
	ck_assert_uint_eq(entry.size, 6);
	filetree_entry_clear(&entry);
	g_bytes_unref(bytes);
}
END_TEST

START_TEST(virtual_file_empty)
{
	struct filetree_entry entry;

	ck_assert_int_eq(
	    filetree_insert_virtual(tree, "/empty", NULL, 0, &error), 0);
	ck_assert_int_eq(filetree_resolve(tree, "/empty", &entry, &error), 0);
	ck_assert_int_eq(entry.kind, FILETREE_VIRTUAL_FILE);
	ck_assert_uint_eq(entry.size, 0);
	filetree_entry_clear(&entry);
}
END_TEST

START_TEST(virtual_bytes_outlive_unlink)
{
	struct filetree_entry resolved;
	struct filetree_entry removed;

	ck_assert_int_eq(filetree_insert_virtual(tree, "/v", "abc", 3, &error),
			 0);
	ck_assert_int_eq(filetree_resolve(tree, "/v", &resolved, &error), 0);
	ck_assert_int_eq(filetree_unlink(tree, "/v", &removed, &error), 0);
	ck_assert_int_eq(removed.kind, FILETREE_VIRTUAL_FILE);
	ck_assert_mem_eq(resolved.data, "abc", 3);
	filetree_entry_clear(&removed);
	filetree_entry_clear(&resolved);
}
END_TEST

START_TEST(insert_duplicate_rejected)
{
	ck_assert_int_eq(filetree_insert_host_directory(tree, "/data",
							"/home/u/data", &error),
			 0);
	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "data/", "/other", &error),
	    -EEXIST);
	ck_assert_str_eq(error, "guest path \"/data\" conflicts with the "
				"mapping \"/home/u/data\" -> \"/data\"");
}
END_TEST

START_TEST(insert_duplicate_virtual_rejected)
{
	ck_assert_int_eq(filetree_insert_virtual(tree, "/a/v", "x", 1, &error),
			 0);
	ck_assert_int_eq(
	    filetree_insert_virtual(tree, "/a/./v", "y", 1, &error), -EEXIST);
	ck_assert_str_eq(error, "guest path \"/a/v\" conflicts with the "
				"virtual file \"/a/v\"");
}
END_TEST

START_TEST(insert_parent_is_file)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_insert_host_file(tree, "/f", "/h/f", &error),
			 0);
	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "/f/x/y", "/h/y", &error),
	    -ENOTDIR);
	ck_assert_str_eq(error, "guest path \"/f/x/y\" conflicts with the "
				"mapping \"/h/f\" -> \"/f\"");
	ck_assert_int_eq(filetree_resolve(tree, "/f", &entry, NULL), 0);
	ck_assert_int_eq(entry.kind, FILETREE_HOST_FILE);
	filetree_entry_clear(&entry);
}
END_TEST

START_TEST(insert_parent_is_virtual_file)
{
	ck_assert_int_eq(filetree_insert_virtual(tree, "/v", "x", 1, &error),
			 0);
	ck_assert_int_eq(filetree_insert_virtual(tree, "/v/x", "y", 1, &error),
			 -ENOTDIR);
	ck_assert_str_eq(error,
			 "guest path \"/v/x\" conflicts with the virtual file "
			 "\"/v\"");
}
END_TEST

START_TEST(insert_inside_host_directory)
{
	ck_assert_int_eq(filetree_insert_host_directory(tree, "/data",
							"/home/u/data", &error),
			 0);
	ck_assert_int_eq(filetree_insert_host_directory(tree, "/data/x",
							"/home/u/x", &error),
			 -ENOTDIR);
	ck_assert_str_eq(error, "guest path \"/data/x\" conflicts with the "
				"mapping \"/home/u/data\" -> \"/data\"");
}
END_TEST

START_TEST(insert_over_mapped_directory)
{
	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "/a/b/c", "/h/c", &error), 0);
	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "/a/b/d", "/h/d", &error), 0);
	ck_assert_int_eq(
	    filetree_insert_host_directory(tree, "/a", "/h", &error), -EEXIST);
	ck_assert_str_eq(error, "guest path \"/a\" conflicts with the "
				"mapping \"/h/c\" -> \"/a/b/c\"");
}
END_TEST

START_TEST(insert_over_empty_directory)
{
	struct filetree_entry entry;

	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "/a/b", "/h/b", &error), 0);
	ck_assert_int_eq(filetree_unlink(tree, "/a/b", &entry, &error), 0);
	filetree_entry_clear(&entry);
	ck_assert_int_eq(filetree_insert_host_file(tree, "/a", "/h/a", &error),
			 -EEXIST);
	ck_assert_str_eq(
	    error, "guest path \"/a\" conflicts with the directory \"/a\"");
}
END_TEST

START_TEST(insert_root_rejected)
{
	static const char *const paths[] = {"",	 "/",	"////",
					    ".", "/..", "a/.."};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(paths); i++)
		ck_assert_msg(filetree_insert_host_directory(
				  tree, paths[i], "/h", NULL) == -EINVAL,
			      "inserting at \"%s\" succeeded", paths[i]);
	ck_assert_int_eq(filetree_insert_virtual(tree, "/..", "x", 1, &error),
			 -EINVAL);
	ck_assert_str_eq(error, "guest path \"/..\" is the root directory, "
				"which cannot be mapped");
}
END_TEST

START_TEST(insert_empty_host_path)
{
	ck_assert_int_eq(filetree_insert_host_file(tree, "/x", "", &error),
			 -EINVAL);
	ck_assert_str_eq(error,
			 "host path for guest path \"/x\" is missing or empty");
	free(error);
	error = NULL;
	ck_assert_int_eq(filetree_insert_host_file(tree, "/x", NULL, &error),
			 -EINVAL);
	ck_assert_ptr_nonnull(error);
}
END_TEST

START_TEST(insert_invalid_guest_path)
{
	char *path = repeat("a", PATH_MAX + 1);

	ck_assert_int_eq(filetree_insert_host_file(tree, "/\x80", "/h", &error),
			 -EINVAL);
	ck_assert_int_eq(filetree_insert_host_file(tree, path, "/h", &error),
			 -ENAMETOOLONG);
	ck_assert_int_eq(filetree_insert_host_file(tree, NULL, "/h", &error),
			 -EINVAL);
	g_free(path);
}
END_TEST

START_TEST(insert_without_error_pointer)
{
	ck_assert_int_eq(filetree_insert_host_file(tree, "/x", "/h", NULL), 0);
	ck_assert_int_eq(filetree_insert_host_file(tree, "/x", "/h", NULL),
			 -EEXIST);
}
END_TEST

START_TEST(insert_dotdot_in_guest_path)
{
	struct filetree_entry entry;

	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "../../x/./y//z", "/h/z", &error),
	    0);
	ck_assert_int_eq(filetree_resolve(tree, "/x/y/z", &entry, &error), 0);
	ck_assert_str_eq(entry.host_path, "/h/z");
	filetree_entry_clear(&entry);
}
END_TEST

START_TEST(insert_records_created_file)
{
	struct filetree_entry entry;

	/* A guest open with O_CREAT creates a file in the temporary directory.
	 */
	ck_assert_int_eq(
	    filetree_insert_virtual(tree, "/root/hello", "x", 1, &error), 0);
	ck_assert_int_eq(filetree_insert_host_file(tree, "/root/new.txt",
						   "/tmp/uhyve-1000/vm/1",
						   &error),
			 0);
	ck_assert_int_eq(filetree_resolve(tree, "root/new.txt", &entry, &error),
			 0);
	ck_assert_int_eq(entry.kind, FILETREE_HOST_FILE);
	ck_assert_str_eq(entry.host_path, "/tmp/uhyve-1000/vm/1");
	filetree_entry_clear(&entry);
}
END_TEST

START_TEST(insert_4096_byte_deep_path)
{
	char *path = repeat("a/", PATH_MAX);
	struct filetree_entry entry;
	char **points;

	ck_assert_int_eq(
	    filetree_insert_host_file(tree, path, "/h/deep", &error), 0);
	ck_assert_int_eq(filetree_resolve(tree, path, &entry, &error), 0);
	ck_assert_int_eq(entry.kind, FILETREE_HOST_FILE);
	filetree_entry_clear(&entry);
	ck_assert_int_eq(
	    filetree_insert_host_file(tree, path, "/h/deep", &error), -EEXIST);
	points = filetree_list_mount_points(tree);
	ck_assert_ptr_nonnull(points[0]);
	ck_assert_uint_eq(strlen(points[0]), 4094);
	ck_assert_ptr_null(points[1]);
	g_strfreev(points);
	g_free(path);
}
END_TEST

START_TEST(unlink_host_file)
{
	struct filetree_entry entry;

	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "/d/f", "/h/f", &error), 0);
	ck_assert_int_eq(filetree_unlink(tree, "d/./f", &entry, &error), 0);
	ck_assert_int_eq(entry.kind, FILETREE_HOST_FILE);
	ck_assert_str_eq(entry.host_path, "/h/f");
	filetree_entry_clear(&entry);
	ck_assert_int_eq(filetree_resolve(tree, "/d/f", &entry, &error),
			 -ENOENT);
}
END_TEST

START_TEST(unlink_below_host_directory)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_insert_host_directory(tree, "/data",
							"/home/u/data", &error),
			 0);
	ck_assert_int_eq(filetree_unlink(tree, "/data/sub/x", &entry, &error),
			 0);
	ck_assert_int_eq(entry.kind, FILETREE_IN_HOST_DIRECTORY);
	ck_assert_str_eq(entry.host_path, "/home/u/data/sub/x");
	filetree_entry_clear(&entry);
	ck_assert_int_eq(filetree_resolve(tree, "/data", &entry, &error), 0);
	ck_assert_int_eq(entry.kind, FILETREE_HOST_DIRECTORY);
	filetree_entry_clear(&entry);
}
END_TEST

START_TEST(unlink_virtual_file)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_insert_virtual(tree, "/v", "x", 1, &error),
			 0);
	ck_assert_int_eq(filetree_unlink(tree, "/v", &entry, &error), 0);
	ck_assert_int_eq(entry.kind, FILETREE_VIRTUAL_FILE);
	ck_assert_ptr_null(entry.host_path);
	filetree_entry_clear(&entry);
	ck_assert_int_eq(filetree_resolve(tree, "/v", &entry, &error), -ENOENT);
}
END_TEST

START_TEST(unlink_empty_directory)
{
	struct filetree_entry entry;

	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "/a/b", "/h/b", &error), 0);
	ck_assert_int_eq(filetree_unlink(tree, "/a/b", &entry, &error), 0);
	filetree_entry_clear(&entry);
	ck_assert_int_eq(filetree_unlink(tree, "/a", &entry, &error), 0);
	ck_assert_int_eq(entry.kind, FILETREE_DIRECTORY);
	ck_assert_ptr_null(entry.host_path);
	ck_assert_int_eq(filetree_resolve(tree, "/a", &entry, &error), -ENOENT);
}
END_TEST

START_TEST(unlink_nonempty_directory)
{
	struct filetree_entry entry;

	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "/a/b", "/h/b", &error), 0);
	ck_assert_int_eq(filetree_unlink(tree, "/a", &entry, &error),
			 -ENOTEMPTY);
	ck_assert_str_eq(error, "guest directory \"/a\" is not empty");
	ck_assert_int_eq(entry.kind, 0);
}
END_TEST

START_TEST(unlink_unknown_path)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_unlink(tree, "/nope/x", &entry, &error),
			 -ENOENT);
	ck_assert_str_eq(error, "guest path \"/nope/x\" not found");
}
END_TEST

START_TEST(unlink_root_rejected)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_unlink(tree, "//..", &entry, &error), -EBUSY);
	ck_assert_str_eq(error, "guest path \"//..\" is the root directory, "
				"which cannot be removed");
}
END_TEST

START_TEST(unlink_host_directory_rejected)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_insert_host_directory(tree, "/data",
							"/home/u/data", &error),
			 0);
	ck_assert_int_eq(filetree_unlink(tree, "/data", &entry, &error),
			 -EBUSY);
	ck_assert_str_eq(error, "guest path \"/data\" is the mount point of "
				"the mapping \"/home/u/data\" -> \"/data\" and "
				"cannot be removed");
	ck_assert_ptr_null(entry.host_path);
}
END_TEST

START_TEST(unlink_below_virtual_file)
{
	struct filetree_entry entry;

	ck_assert_int_eq(filetree_insert_virtual(tree, "/v", "x", 1, &error),
			 0);
	ck_assert_int_eq(filetree_unlink(tree, "/v/x", &entry, &error),
			 -ENOTDIR);
	ck_assert_ptr_nonnull(error);
}
END_TEST

START_TEST(mount_points_empty_tree)
{
	char **points = filetree_list_mount_points(tree);

	ck_assert_ptr_nonnull(points);
	ck_assert_ptr_null(points[0]);
	g_strfreev(points);
}
END_TEST

START_TEST(mount_points_sorted_unique)
{
	static const char *const expected[] = {"/data", "/etc/config", "/mnt",
					       "/mnt/a", "/root"};
	char **points;
	size_t i;

	ck_assert_int_eq(
	    filetree_insert_virtual(tree, "/root/world", "w", 1, &error), 0);
	ck_assert_int_eq(
	    filetree_insert_host_directory(tree, "/mnt/a", "/h/a", &error), 0);
	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "/top.txt", "/h/top", &error), 0);
	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "/mnt/a2", "/h/a2", &error), 0);
	ck_assert_int_eq(filetree_insert_host_file(tree,
						   "/etc/x/../config/app.toml",
						   "/h/app.toml", &error),
			 0);
	ck_assert_int_eq(
	    filetree_insert_host_directory(tree, "//data/", "/h/data", &error),
	    0);
	ck_assert_int_eq(
	    filetree_insert_virtual(tree, "/root/hello", "h", 1, &error), 0);

	points = filetree_list_mount_points(tree);
	ck_assert_uint_eq(g_strv_length(points), G_N_ELEMENTS(expected));
	for (i = 0; i < G_N_ELEMENTS(expected); i++)
		ck_assert_str_eq(points[i], expected[i]);
	g_strfreev(points);
}
END_TEST

START_TEST(mount_points_skip_root)
{
	char **points;

	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "/a.txt", "/h/a", &error), 0);
	ck_assert_int_eq(
	    filetree_insert_virtual(tree, "/b.txt", "b", 1, &error), 0);
	points = filetree_list_mount_points(tree);
	ck_assert_ptr_null(points[0]);
	g_strfreev(points);
}
END_TEST

START_TEST(host_mappings_listed_sorted)
{
	struct filetree_mapping *mapping;
	GPtrArray *mappings;

	ck_assert_int_eq(
	    filetree_insert_host_file(tree, "/z/file", "/h/file", &error), 0);
	ck_assert_int_eq(
	    filetree_insert_virtual(tree, "/m/virtual", "v", 1, &error), 0);
	ck_assert_int_eq(
	    filetree_insert_host_directory(tree, "/a/dir", "/h/dir", &error),
	    0);

	mappings = filetree_list_host_mappings(tree);
	ck_assert_uint_eq(mappings->len, 2);
	mapping = g_ptr_array_index(mappings, 0);
	ck_assert_str_eq(mapping->guest_path, "/a/dir");
	ck_assert_str_eq(mapping->host_path, "/h/dir");
	ck_assert_int_eq(mapping->kind, FILETREE_HOST_DIRECTORY);
	mapping = g_ptr_array_index(mappings, 1);
	ck_assert_str_eq(mapping->guest_path, "/z/file");
	ck_assert_str_eq(mapping->host_path, "/h/file");
	ck_assert_int_eq(mapping->kind, FILETREE_HOST_FILE);
	g_ptr_array_unref(mappings);
}
END_TEST

START_TEST(host_mappings_empty_tree)
{
	GPtrArray *mappings = filetree_list_host_mappings(tree);

	ck_assert_uint_eq(mappings->len, 0);
	g_ptr_array_unref(mappings);
}
END_TEST

START_TEST(free_null_tree)
{
	filetree_free(NULL);
}
END_TEST

static void add_tests(Suite *suite, const char *name,
		      const TTest *const tests[], size_t count)
{
	TCase *tcase = tcase_create(name);
	size_t i;

	tcase_add_checked_fixture(tcase, setup, teardown);
	for (i = 0; i < count; i++)
		tcase_add_test(tcase, tests[i]);
	suite_add_tcase(suite, tcase);
}

int main(void)
{
	const TTest *const cleaning[] = {
	    clean_table_of_inputs,	 clean_result_and_return,
	    clean_embedded_nul_prefix,	 clean_path_of_4096_bytes,
	    clean_single_4096_byte_name, clean_rejects_4097_bytes,
	    clean_rejects_non_utf8,	 clean_rejects_overlong_utf8,
	    clean_rejects_null_path,
	};
	const TTest *const resolving[] = {
	    resolve_host_file,
	    resolve_host_directory_itself,
	    resolve_below_host_directory,
	    resolve_dotdot_stays_inside,
	    resolve_root_and_directories,
	    resolve_unknown_path_not_found,
	    resolve_below_host_file,
	    resolve_below_virtual_file,
	    resolve_invalid_utf8_path,
	    resolve_embedded_nul_prefix,
	    virtual_file_copies_data,
	    virtual_file_shares_bytes,
	    virtual_file_empty,
	    virtual_bytes_outlive_unlink,
	};
	const TTest *const inserting[] = {
	    insert_duplicate_rejected,	  insert_duplicate_virtual_rejected,
	    insert_parent_is_file,	  insert_parent_is_virtual_file,
	    insert_inside_host_directory, insert_over_mapped_directory,
	    insert_over_empty_directory,  insert_root_rejected,
	    insert_empty_host_path,	  insert_invalid_guest_path,
	    insert_without_error_pointer, insert_dotdot_in_guest_path,
	    insert_records_created_file,  insert_4096_byte_deep_path,
	};
	const TTest *const unlinking[] = {
	    unlink_host_file,	       unlink_below_host_directory,
	    unlink_virtual_file,       unlink_empty_directory,
	    unlink_nonempty_directory, unlink_unknown_path,
	    unlink_root_rejected,      unlink_host_directory_rejected,
	    unlink_below_virtual_file,
	};
	const TTest *const listing[] = {
	    mount_points_empty_tree,  mount_points_sorted_unique,
	    mount_points_skip_root,   host_mappings_listed_sorted,
	    host_mappings_empty_tree, free_null_tree,
	};
	Suite *suite = suite_create("filetree");
	SRunner *runner;
	int failed;

	add_tests(suite, "clean", cleaning, G_N_ELEMENTS(cleaning));
	add_tests(suite, "resolve", resolving, G_N_ELEMENTS(resolving));
	add_tests(suite, "insert", inserting, G_N_ELEMENTS(inserting));
	add_tests(suite, "unlink", unlinking, G_N_ELEMENTS(unlinking));
	add_tests(suite, "list", listing, G_N_ELEMENTS(listing));

	runner = srunner_create(suite);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
