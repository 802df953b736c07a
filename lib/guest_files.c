/* A VM's guest files: file tree, descriptors, temporary directory. */
#include "guest_files.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uhyve/hermit_abi.h"

#include "error.h"
#include "landlock.h"

void guest_files_init(struct guest_files *files, const char *tempdir_base,
		      unsigned extra_flags)
{
	const char *base = tempdir_base ? tempdir_base : g_get_tmp_dir();

	memset(files, 0, sizeof(*files));
	files->tree = filetree_new();
	files->open = g_ptr_array_new();
	files->tempdir_base = g_strdup(base);
	files->extra_flags = extra_flags;
	files->ruleset_fd = -1;
	pthread_mutex_init(&files->lock, NULL);
}

static void close_file(struct guest_file *file)
{
	if (file->host_fd >= 0)
		close(file->host_fd);
	if (file->bytes)
		g_bytes_unref(file->bytes);
	g_free(file);
}

/* Removes the VM's temporary directory, which holds only regular files
 * that this VM created by name. */
static void remove_tempdir(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *entry;

	if (!dir)
		return;
	while ((entry = readdir(dir))) {
		if (entry->d_name[0] == '.')
			continue;
		unlinkat(dirfd(dir), entry->d_name, 0);
	}
	closedir(dir);
	rmdir(path);
}

void guest_files_destroy(struct guest_files *files)
{
	if (!files->open)
		return;
	for (guint i = 0; i < files->open->len; i++) {
		if (files->open->pdata[i])
			close_file(files->open->pdata[i]);
	}
	g_ptr_array_unref(files->open);
	files->open = NULL;
	filetree_free(files->tree);
	if (files->ruleset_fd >= 0)
		close(files->ruleset_fd);
	if (files->tempdir)
		remove_tempdir(files->tempdir);
	g_free(files->tempdir);
	g_free(files->tempdir_base);
	pthread_mutex_destroy(&files->lock);
}

int guest_files_mount(struct guest_files *files, const char *host_path,
		      const char *guest_path, char **error)
{
	char *absolute = g_canonicalize_filename(host_path, NULL);
	char *parent = g_path_get_dirname(absolute);
	struct stat st;
	int rc;

	pthread_mutex_lock(&files->lock);
	if (stat(absolute, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = filetree_insert_host_directory(files->tree, guest_path,
						    absolute, error);
	} else if (stat(absolute, &st) == 0 ||
		   (stat(parent, &st) == 0 && S_ISDIR(st.st_mode))) {
		rc = filetree_insert_host_file(files->tree, guest_path,
					       absolute, error);
	} else {
		rc = set_error(error, -ENOENT,
			       "host path %s does not exist, and neither does "
			       "its directory",
			       host_path);
	}
	pthread_mutex_unlock(&files->lock);
	g_free(parent);
	g_free(absolute);
	/* A parent that is already mapped is a conflict between mappings. */
	return rc == -ENOTDIR ? -EEXIST : rc;
}

/* Checks that the per-user directory, opened without following a symbolic
 * link, belongs to this user and that no other user may change its entries,
 * so that another user cannot prepare or replace the VM's directory. */
static int check_user_dir(const char *user_dir, char **error)
{
	int fd = open(user_dir, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	int rc = 0;

	if (fd < 0)
		return set_error(error, -errno,
				 "cannot open the temporary directory %s: %s",
				 user_dir, strerror(errno));
	if (fstat(fd, &st) < 0)
		rc = set_error(error, -errno, "cannot inspect %s: %s", user_dir,
			       strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		rc = set_error(
		    error, -ENOTDIR,
		    "temporary directory %s is %s, not a directory", user_dir,
		    S_ISLNK(st.st_mode) ? "a symbolic link" : "a file");
	else if (st.st_uid != getuid())
		rc = set_error(error, -EACCES,
			       "temporary directory %s belongs to user %u, not "
			       "to user %u",
			       user_dir, (unsigned)st.st_uid,
			       (unsigned)getuid());
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		rc = set_error(error, -EACCES,
			       "temporary directory %s is writable by other "
			       "users (mode %04o): make it 0700",
			       user_dir, (unsigned)(st.st_mode & 07777));
	close(fd);
	return rc;
}

/* Creates the per-user directory below the base (mode 0700) unless it
 * exists, checks it, then makes the VM's own directory inside it with
 * mkdtemp(), so that VMs and processes starting at once each get a fresh
 * one. */
static int make_tempdir(struct guest_files *files, char **error)
{
	char *user_dir = g_strdup_printf("%s/uhyve-%u", files->tempdir_base,
					 (unsigned)getuid());
	char *template = g_build_filename(user_dir, "vm-XXXXXX", NULL);
	int rc = 0;

	if (mkdir(user_dir, 0700) < 0 && errno != EEXIST)
		rc = set_error(error, -errno,
			       "cannot create the temporary directory %s: %s",
			       user_dir, strerror(errno));
	if (rc == 0)
		rc = check_user_dir(user_dir, error);
	if (rc == 0 && !mkdtemp(template))
		rc = set_error(error, -errno,
			       "cannot create a temporary directory in %s: %s",
			       user_dir, strerror(errno));
	if (rc == 0)
		files->tempdir = g_steal_pointer(&template);
	g_free(template);
	g_free(user_dir);
	return rc;
}

static int add_descriptor(struct guest_files *files, int host_fd, GBytes *bytes)
{
	struct guest_file *file;
	guint slot;

	for (slot = 0; slot < files->open->len; slot++) {
		if (!files->open->pdata[slot])
			break;
	}
	if (slot >= GUEST_FILES_MAX_OPEN) {
		if (host_fd >= 0)
			close(host_fd);
		return -EMFILE;
	}
	file = g_new0(struct guest_file, 1);
	file->host_fd = host_fd;
	file->bytes = bytes ? g_bytes_ref(bytes) : NULL;
	if (slot == files->open->len)
		g_ptr_array_add(files->open, file);
	else
		files->open->pdata[slot] = file;
	return (int)slot + 3;
}

static struct guest_file *find_descriptor(struct guest_files *files, int fd)
{
	if (fd < 3 || (guint)(fd - 3) >= files->open->len)
		return NULL;
	return files->open->pdata[fd - 3];
}

/* The permission bits a guest may give a file it creates: never set-user-ID,
 * set-group-ID or sticky, which would let a guest plant a set-user-ID file
 * in a mapped directory. */
static mode_t create_mode(int mode)
{
	return (mode_t)mode & 0777;
}

/* Opens a host path for the guest. The open does not block, and FIFOs and
 * sockets are rejected with -ENXIO: opening or reading them could hold the
 * vCPU until another process acts. */
static int open_host(struct guest_files *files, const char *host_path,
		     int flags, int mode)
{
	int fd = open(host_path,
		      flags | (int)files->extra_flags | O_CLOEXEC | O_NONBLOCK,
		      create_mode(mode));
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || S_ISFIFO(st.st_mode) ||
	    S_ISSOCK(st.st_mode)) {
		close(fd);
		return -ENXIO;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return add_descriptor(files, fd, NULL);
}

/* Creates an unmapped path in the temporary directory and records it at
 * the guest path, so that later opens find it. */
static int create_in_tempdir(struct guest_files *files, const char *path,
			     int flags, int mode)
{
	char *host_path;
	int rc = 0;
	int fd;

	if (!files->tempdir)
		rc = make_tempdir(files, NULL);
	if (rc)
		return rc;
	host_path =
	    g_strdup_printf("%s/file-%u", files->tempdir, files->created++);
	fd = open(host_path,
		  flags | O_EXCL | (int)files->extra_flags | O_CLOEXEC,
		  create_mode(mode));
	if (fd < 0) {
		rc = -errno;
		g_free(host_path);
		return rc;
	}
	rc = filetree_insert_host_file(files->tree, path, host_path, NULL);
	if (rc) {
		close(fd);
		unlink(host_path);
		g_free(host_path);
		return rc;
	}
	g_free(host_path);
	return add_descriptor(files, fd, NULL);
}

static bool writes(int flags)
{
	return (flags & (HERMIT_O_WRONLY | HERMIT_O_RDWR | HERMIT_O_TRUNC |
			 HERMIT_O_APPEND)) != 0;
}

static int open_virtual(struct guest_files *files,
			const struct filetree_entry *entry, int flags)
{
	if ((flags & HERMIT_O_CREAT) && (flags & HERMIT_O_EXCL))
		return -EEXIST;
	if (flags & HERMIT_O_DIRECTORY)
		return -ENOTDIR;
	if (writes(flags))
		return -EROFS;
	return add_descriptor(files, -1, entry->bytes);
}

static int open_resolved(struct guest_files *files, const char *path, int flags,
			 int mode)
{
	struct filetree_entry entry = {0};
	int rc = filetree_resolve(files->tree, path, &entry, NULL);

	if (rc == -ENOENT && (flags & HERMIT_O_CREAT))
		return create_in_tempdir(files, path, flags, mode);
	if (rc)
		return rc;

	switch (entry.kind) {
	case FILETREE_VIRTUAL_FILE:
		rc = open_virtual(files, &entry, flags);
		break;
	case FILETREE_DIRECTORY:
		rc = -EISDIR;
		break;
	default:
		rc = open_host(files, entry.host_path, flags, mode);
		break;
	}
	filetree_entry_clear(&entry);
	return rc;
}

int guest_files_open(struct guest_files *files, const char *path, int flags,
		     int mode)
{
	int rc;

	flags &= HERMIT_O_ALLOWED;
	if ((flags & HERMIT_O_CREAT) && (flags & HERMIT_O_DIRECTORY))
		return -EINVAL;

	pthread_mutex_lock(&files->lock);
	rc = open_resolved(files, path, flags, mode);
	pthread_mutex_unlock(&files->lock);
	return rc;
}

int guest_files_close(struct guest_files *files, int fd)
{
	struct guest_file *file;
	int rc = 0;

	pthread_mutex_lock(&files->lock);
	file = find_descriptor(files, fd);
	if (file) {
		files->open->pdata[fd - 3] = NULL;
		close_file(file);
	} else {
		rc = -EBADF;
	}
	pthread_mutex_unlock(&files->lock);
	return rc;
}

static int64_t seek_virtual(struct guest_file *file, int64_t offset, int whence)
{
	int64_t size = (int64_t)g_bytes_get_size(file->bytes);
	int64_t base;

	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (int64_t)file->offset;
		break;
	case SEEK_END:
		base = size;
		break;
	default:
		return -EINVAL;
	}
	if ((offset < 0 && base + offset < 0) ||
	    (offset > 0 && base > INT64_MAX - offset))
		return -EINVAL;
	file->offset = (uint64_t)(base + offset);
	return (int64_t)file->offset;
}

int64_t guest_files_lseek(struct guest_files *files, int fd, int64_t offset,
			  int whence)
{
	struct guest_file *file;
	int64_t rc;

	pthread_mutex_lock(&files->lock);
	file = find_descriptor(files, fd);
	if (!file)
		rc = -EBADF;
	else if (file->bytes)
		rc = seek_virtual(file, offset, whence);
	else if ((rc = lseek(file->host_fd, offset, whence)) < 0)
		rc = -errno;
	pthread_mutex_unlock(&files->lock);
	return rc;
}

/* Deletes the host file behind a mapped file or a path below a mapped
 * directory. A mapped file that was never created counts as deleted. */
static int unlink_host(const struct filetree_entry *entry)
{
	if (entry->kind != FILETREE_HOST_FILE &&
	    entry->kind != FILETREE_IN_HOST_DIRECTORY)
		return 0;
	if (unlink(entry->host_path) == 0)
		return 0;
	if (entry->kind == FILETREE_HOST_FILE && errno == ENOENT)
		return 0;
	return -errno;
}

/* Deletes the host file first, so that a failure (such as -EACCES under
 * file isolation) leaves the mapping in place. */
int guest_files_unlink(struct guest_files *files, const char *path)
{
	struct filetree_entry entry = {0};
	struct filetree_entry removed = {0};
	int rc;

	pthread_mutex_lock(&files->lock);
	rc = filetree_resolve(files->tree, path, &entry, NULL);
	if (rc == 0)
		rc = unlink_host(&entry);
	if (rc == 0)
		rc = filetree_unlink(files->tree, path, &removed, NULL);
	filetree_entry_clear(&removed);
	filetree_entry_clear(&entry);
	pthread_mutex_unlock(&files->lock);
	return rc;
}

static int64_t read_virtual(struct guest_file *file, void *buffer, size_t len)
{
	size_t size;
	const uint8_t *data = g_bytes_get_data(file->bytes, &size);
	size_t available;

	if (file->offset >= size)
		return 0;
	available = size - (size_t)file->offset;
	if (len > available)
		len = available;
	memcpy(buffer, data + file->offset, len);
	file->offset += len;
	return (int64_t)len;
}

int64_t guest_files_read(struct guest_files *files, int fd, void *buffer,
			 size_t len)
{
	struct guest_file *file;
	int64_t rc;

	pthread_mutex_lock(&files->lock);
	file = find_descriptor(files, fd);
	if (!file)
		rc = -EBADF;
	else if (file->bytes)
		rc = read_virtual(file, buffer, len);
	else if ((rc = read(file->host_fd, buffer, len)) < 0)
		rc = -errno;
	pthread_mutex_unlock(&files->lock);
	return rc;
}

int64_t guest_files_write(struct guest_files *files, int fd, const void *buffer,
			  size_t len)
{
	struct guest_file *file;
	int64_t rc;

	pthread_mutex_lock(&files->lock);
	file = find_descriptor(files, fd);
	if (!file)
		rc = -EBADF;
	else if (file->bytes)
		rc = -EROFS;
	else if ((rc = write(file->host_fd, buffer, len)) < 0)
		rc = -errno;
	pthread_mutex_unlock(&files->lock);
	return rc;
}

int guest_files_add_virtual(struct guest_files *files, const char *guest_path,
			    GBytes *bytes, char **error)
{
	int rc;

	pthread_mutex_lock(&files->lock);
	rc = filetree_insert_bytes(files->tree, guest_path, bytes, error);
	pthread_mutex_unlock(&files->lock);
	return rc;
}

static const char *isolation_name(enum uhyve_file_isolation isolation)
{
	return isolation == UHYVE_ISOLATION_STRICT ? "strict" : "normal";
}

int guest_files_landlock_abi(enum uhyve_file_isolation isolation, char **error)
{
	int abi;

	if (isolation == UHYVE_ISOLATION_NONE)
		return 0;
	abi = landlock_abi_version();
	if (abi > 0)
		return abi;
	return set_error(error, -EOPNOTSUPP,
			 "file isolation \"%s\" needs Landlock, but the "
			 "running kernel does not support it "
			 "(landlock_create_ruleset: %s)",
			 isolation_name(isolation), strerror(-abi));
}

/*
 * Allows the VM's threads what a mapping needs: everything below a mapped
 * directory and reading and writing a mapped file. A mapped file that does
 * not exist yet has no inode that a rule could name, and a rule on its
 * parent directory would also reach every file below that directory
 * through symbolic links in other mappings. So the file is created here,
 * empty and with mode 0600, and gets a rule of its own.
 * NOTE: under isolation such a file therefore exists from the start of the
 * run, and a guest that creates it with O_EXCL gets -EEXIST.
 */
static int allow_mapping(int ruleset_fd, int abi,
			 const struct filetree_mapping *mapping, char **error)
{
	struct stat st;
	int fd;

	if (mapping->kind == FILETREE_HOST_DIRECTORY)
		return landlock_allow_path(ruleset_fd, abi, mapping->host_path,
					   LANDLOCK_RIGHTS_DIRECTORY, error);
	if (stat(mapping->host_path, &st) != 0) {
		fd = open(mapping->host_path,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0600);
		if (fd < 0)
			return set_error(error, -errno,
					 "file isolation: cannot create the "
					 "mapped file %s: %s",
					 mapping->host_path, strerror(errno));
		close(fd);
	}
	return landlock_allow_path(ruleset_fd, abi, mapping->host_path,
				   LANDLOCK_RIGHTS_READ_WRITE, error);
}

/* Allows `rights` on a file that the VM has opened already, such as the
 * kernel. When the file is gone by now there is nothing to allow. */
static int allow_existing(int ruleset_fd, int abi, const char *path,
			  uint64_t rights, char **error)
{
	char *message = NULL;
	int rc = landlock_allow_path(ruleset_fd, abi, path, rights, &message);

	if (rc && rc != -ENOENT)
		set_error(error, rc, "%s", message);
	free(message);
	return rc == -ENOENT ? 0 : rc;
}

static int allow_paths(struct guest_files *files, int ruleset_fd, int abi,
		       const char *kernel_path, const char *output_path,
		       char **error)
{
	GPtrArray *mappings = filetree_list_host_mappings(files->tree);
	int rc;

	rc = allow_existing(ruleset_fd, abi, kernel_path, LANDLOCK_RIGHTS_READ,
			    error);
	if (rc == 0 && output_path)
		rc = allow_existing(ruleset_fd, abi, output_path,
				    LANDLOCK_RIGHTS_READ_WRITE, error);
	if (rc == 0)
		rc = landlock_allow_path(ruleset_fd, abi, files->tempdir,
					 LANDLOCK_RIGHTS_DIRECTORY, error);
	for (guint i = 0; rc == 0 && i < mappings->len; i++)
		rc = allow_mapping(ruleset_fd, abi, mappings->pdata[i], error);
	g_ptr_array_unref(mappings);
	return rc;
}

int guest_files_isolate(struct guest_files *files, int abi,
			const char *kernel_path, const char *output_path,
			char **error)
{
	int ruleset_fd = -1;
	int rc = 0;

	pthread_mutex_lock(&files->lock);
	if (!files->tempdir)
		rc = make_tempdir(files, error);
	if (rc == 0)
		rc = landlock_ruleset_create(abi, &ruleset_fd, error);
	if (rc == 0)
		rc = allow_paths(files, ruleset_fd, abi, kernel_path,
				 output_path, error);
	if (rc == 0) {
		if (files->ruleset_fd >= 0)
			close(files->ruleset_fd);
		files->ruleset_fd = ruleset_fd;
	} else if (ruleset_fd >= 0) {
		close(ruleset_fd);
	}
	pthread_mutex_unlock(&files->lock);
	if (rc)
		return prefix_error(error, rc, "file isolation");
	return 0;
}

int guest_files_enter_isolation(struct guest_files *files, char **error)
{
	if (files->ruleset_fd < 0)
		return 0;
	return landlock_restrict_thread(files->ruleset_fd, error);
}
