/* A VM's guest files: file tree, descriptors, temporary directory. */
#ifndef UHYVE_GUEST_FILES_H
#define UHYVE_GUEST_FILES_H

#include <glib.h>
#include <pthread.h>
#include <stdint.h>

#include "uhyve/uhyve.h"

#include "filetree.h"

/* Descriptors a guest may have open at once, besides 0, 1 and 2. */
#define GUEST_FILES_MAX_OPEN 1024

/* One open guest descriptor: a host descriptor or a virtual file. */
struct guest_file {
	int host_fd;	 /* -1 for a virtual file */
	GBytes *bytes;	 /* virtual file contents, or NULL */
	uint64_t offset; /* virtual file position */
};

struct guest_files {
	struct filetree *tree;
	GPtrArray *open;      /* struct guest_file *, index = guest fd - 3 */
	char *tempdir_base;   /* directory below which the VM's one is made */
	char *tempdir;	      /* the VM's private directory, once created */
	unsigned created;     /* files created in tempdir so far */
	unsigned extra_flags; /* O_DIRECT/O_SYNC added to host opens */
	int ruleset_fd;	      /* Landlock ruleset of the VM's threads, or -1 */
	pthread_mutex_t lock; /* held around every operation */
};

void guest_files_init(struct guest_files *files, const char *tempdir_base,
		      unsigned extra_flags);

/* Closes every descriptor, removes the temporary directory and frees. */
void guest_files_destroy(struct guest_files *files);

/* Maps `host_path` at `guest_path` (see uhyve_vm_mount). */
int guest_files_mount(struct guest_files *files, const char *host_path,
		      const char *guest_path, char **error);

/* Adds a read-only virtual file with the contents `bytes` (a new reference
 * is taken) at `guest_path`. Fails like filetree_insert_bytes(). */
int guest_files_add_virtual(struct guest_files *files, const char *guest_path,
			    GBytes *bytes, char **error);

/*
 * Returns the running kernel's Landlock ABI version for file isolation at
 * level `isolation`, or 0 for UHYVE_ISOLATION_NONE. When the kernel lacks
 * Landlock, it returns -EOPNOTSUPP at either level, with a message that
 * names the level and the reason. The caller decides whether that is fatal.
 */
int guest_files_landlock_abi(enum uhyve_file_isolation isolation, char **error);

/*
 * Builds the Landlock ruleset of the VM's threads for ABI version `abi`.
 * The threads may read `kernel_path` and read and write `output_path`
 * (NULL for none), the mapped host paths and the temporary directory,
 * which is created now if needed. Everything else is denied. Call it
 * after the last mount. Returns 0, or a negative errno with a message
 * that names the path that failed.
 */
int guest_files_isolate(struct guest_files *files, int abi,
			const char *kernel_path, const char *output_path,
			char **error);

/* Confines the calling thread with the ruleset of guest_files_isolate(),
 * if there is one. Returns 0, or a negative errno with a message. */
int guest_files_enter_isolation(struct guest_files *files, char **error);

/* The file operations behind the hypercalls. Each returns a descriptor,
 * count, offset or 0 on success and a negative errno on failure, as the
 * guest expects in its result field. `flags` are Linux O_* values. */
int guest_files_open(struct guest_files *files, const char *path, int flags,
		     int mode);
int guest_files_close(struct guest_files *files, int fd);
int64_t guest_files_lseek(struct guest_files *files, int fd, int64_t offset,
			  int whence);
int guest_files_unlink(struct guest_files *files, const char *path);

/* Reads into or writes from one host buffer at the descriptor's position.
 * Descriptors 0, 1 and 2 are handled by the caller. */
int64_t guest_files_read(struct guest_files *files, int fd, void *buffer,
			 size_t len);
int64_t guest_files_write(struct guest_files *files, int fd, const void *buffer,
			  size_t len);

#endif /* UHYVE_GUEST_FILES_H */
