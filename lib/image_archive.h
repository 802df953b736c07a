/* Hermit image archives: gzip-compressed tar files with hermit.toml. */
#ifndef UHYVE_IMAGE_ARCHIVE_H
#define UHYVE_IMAGE_ARCHIVE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uhyve_config;
struct uhyve_vm;
struct guest_files;

/* The archive's contents stay in host memory for the VM's lifetime, so
 * the unpacked size and the number of entries are bounded. */
#define IMAGE_ARCHIVE_MAX_TOTAL_SIZE (1ULL << 30)
#define IMAGE_ARCHIVE_MAX_ENTRIES    65536

struct image_archive_limits {
	uint64_t max_total_size; /* sum of the sizes of all regular files */
	uint64_t max_entries;	 /* entries of any type, directories too */
};

/* One regular file of an archive. */
struct image_archive_file {
	char *path;    /* cleaned as by filetree_clean_path(), no leading '/' */
	GBytes *bytes; /* its contents */
};

/* An archive's files and the settings of its hermit.toml. */
struct image_archive {
	GPtrArray *files;  /* struct image_archive_file *, in archive order */
	GBytes *kernel;	   /* contents of the kernel entry */
	char *kernel_path; /* the kernel entry's cleaned path */
	GPtrArray *kernel_args; /* char *, [input] kernel_args */
	GPtrArray *app_args;	/* char *, [input] app_args */
	GPtrArray *env;	 /* char * "KEY=VALUE", [input] env_vars with a key */
	uint64_t memory; /* [requirements] memory in bytes, 0 for none */
	uint32_t cpus;	 /* [requirements] cpus, 0 for none */
};

/* Returns true when `data` starts with the gzip magic 1f 8b 08. */
bool image_archive_detect(const void *data, size_t size);

/*
 * Unpacks the archive in `data` (`size` bytes, named `name` in messages)
 * into *archive and reads its hermit.toml. Directory entries are skipped,
 * because the file tree creates directories as needed; any other entry
 * that is not a regular file is rejected.
 *
 * Returns 0, or with a message that names the archive and the entry:
 *   -ENOEXEC  the archive is corrupt or truncated, holds a link, device or
 *             duplicate path, lacks hermit.toml or the kernel entry, or
 *             hermit.toml is invalid;
 *   -EFBIG    the archive exceeds `limits`;
 *   -ENOTSUP  the library was built without libarchive.
 * On failure *archive is empty. image_archive_clear() releases it.
 */
int image_archive_read(const void *data, size_t size, const char *name,
		       const struct image_archive_limits *limits,
		       struct image_archive *archive, char **error);

void image_archive_clear(struct image_archive *archive);

/*
 * Applies the archive to a VM's configuration and files. Its arguments are
 * used only when `config` has neither kernel nor application arguments.
 * Its environment variables come first and those of `config` override
 * them. Every file becomes a read-only virtual file at its archive path.
 * Returns 0, or -EINVAL with a message that names both numbers when a
 * requirement exceeds the configured memory or vCPU count, or the error
 * of guest_files_add_virtual().
 */
int image_archive_apply(const struct image_archive *archive, const char *name,
			struct uhyve_config *config, struct guest_files *files,
			char **error);

/*
 * Unpacks the archive that `vm`'s kernel path names, mapped at *data
 * (*size bytes), and applies it to the VM. On success the mapping is
 * unmapped and replaced by a private anonymous mapping of the kernel
 * entry, which the caller unmaps with munmap() as before. On failure
 * *data and *size are unchanged.
 */
int image_archive_load(struct uhyve_vm *vm, void **data, size_t *size,
		       char **error);

#endif /* UHYVE_IMAGE_ARCHIVE_H */
