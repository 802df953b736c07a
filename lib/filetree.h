/* The virtual file tree: maps guest paths to host paths and in-memory files. */
#ifndef UHYVE_FILETREE_H
#define UHYVE_FILETREE_H

#include <glib.h>
#include <stddef.h>

/*
 * A tree of guest paths. Its inner nodes are directories of the tree itself
 * and its leaves are mapped host files, mapped host directories and
 * read-only virtual files. Guest paths given to any function are cleaned
 * with filetree_clean_path() first, so "/a//b/../c", "a/c/" and "a/c" name
 * the same node and ".." never leaves the root.
 *
 * A tree is not thread-safe: callers that share one between vCPU threads
 * hold a lock around every call.
 */
struct filetree;

/* The kind of a node of the tree or of a path resolved through it. */
enum filetree_kind {
	FILETREE_DIRECTORY = 1,	    /* a directory of the tree, no host path */
	FILETREE_HOST_FILE,	    /* a mapped host file */
	FILETREE_HOST_DIRECTORY,    /* a mapped host directory */
	FILETREE_IN_HOST_DIRECTORY, /* a path below a mapped host directory */
	FILETREE_VIRTUAL_FILE,	    /* read-only bytes in memory */
};

/*
 * The result of filetree_resolve() and filetree_unlink(). The entry owns
 * host_path and its reference to bytes, and filetree_entry_clear() releases
 * both, so the bytes stay valid after the tree drops the virtual file.
 */
struct filetree_entry {
	enum filetree_kind kind;
	char *host_path;  /* FILETREE_HOST_* and FILETREE_IN_HOST_DIRECTORY */
	GBytes *bytes;	  /* FILETREE_VIRTUAL_FILE, from filetree_resolve() */
	const void *data; /* the contents of bytes, or NULL */
	size_t size;	  /* the length of data in bytes */
};

/* A mapped host path, as listed by filetree_list_host_mappings(). */
struct filetree_mapping {
	char *guest_path;	 /* cleaned, with a leading '/' */
	char *host_path;	 /* as given to the insert function */
	enum filetree_kind kind; /* FILETREE_HOST_FILE or _HOST_DIRECTORY */
};

/*
 * Cleans a guest path lexically, without looking at any file system: drops
 * "." components, lets ".." remove the previous component but never climb
 * above the root, collapses repeated '/' and drops leading and trailing '/'.
 * "../../etc/passwd" becomes "etc/passwd" and "/a/../../b" becomes "b".
 *
 * On success returns 0 and stores the cleaned path, which the caller frees
 * with g_free(), in *cleaned. It is empty for the root directory, and the
 * caller decides whether the root is allowed. Returns -EINVAL for a NULL or
 * non-UTF-8 path and -ENAMETOOLONG for a path longer than PATH_MAX (4096)
 * bytes, with a message in *error (see set_error()).
 */
int filetree_clean_path(const char *guest_path, char **cleaned, char **error);

/* Returns a new empty tree, which the caller frees with filetree_free(). */
struct filetree *filetree_new(void);

/* Frees the tree and every node in it. `tree` may be NULL. */
void filetree_free(struct filetree *tree);

/*
 * Maps the host file `host_path` at `guest_path`, creating the directories
 * above it. Both strings are copied, and the host file need not exist yet.
 * It also records a file that a guest open with O_CREAT created in the VM's
 * temporary directory.
 *
 * Returns 0 on success. Otherwise returns one of the following, with a
 * message that names both the new guest path and the existing mapping:
 *   -EINVAL   the guest path is invalid (see filetree_clean_path()) or names
 *             the root directory, or the host path is NULL or empty;
 *   -EEXIST   the guest path is already in the tree;
 *   -ENOTDIR  a parent of the guest path is a mapped file, a mapped host
 *             directory or a virtual file.
 */
int filetree_insert_host_file(struct filetree *tree, const char *guest_path,
			      const char *host_path, char **error);

/*
 * Maps the host directory `host_path` at `guest_path`. Guest paths below it
 * resolve to host paths below `host_path`. Works and fails like
 * filetree_insert_host_file(), so a mapping inside another mapped host
 * directory is rejected with -ENOTDIR.
 */
int filetree_insert_host_directory(struct filetree *tree,
				   const char *guest_path,
				   const char *host_path, char **error);

/*
 * Adds a read-only virtual file at `guest_path` with a copy of the `size`
 * bytes at `data`. Works and fails like filetree_insert_host_file() except
 * that there is no host path to check. `data` may be NULL when `size` is 0.
 */
int filetree_insert_virtual(struct filetree *tree, const char *guest_path,
			    const void *data, size_t size, char **error);

/*
 * Like filetree_insert_virtual(), but takes a new reference to `bytes`
 * instead of copying them. The caller keeps its own reference.
 */
int filetree_insert_bytes(struct filetree *tree, const char *guest_path,
			  GBytes *bytes, char **error);

/*
 * Looks up `guest_path` and fills *entry, which the caller releases with
 * filetree_entry_clear(). The kinds are:
 *   FILETREE_DIRECTORY          a directory of the tree (the root for "");
 *   FILETREE_HOST_FILE          a mapped host file, host_path is set;
 *   FILETREE_HOST_DIRECTORY     a mapped host directory, host_path is set;
 *   FILETREE_IN_HOST_DIRECTORY  a path below a mapped host directory, and
 *                               host_path is the mapped directory joined with
 *                               the rest of the cleaned guest path;
 *   FILETREE_VIRTUAL_FILE       a virtual file: bytes, data and size are set.
 * NOTE: a symbolic link below a mapped host directory can lead outside it.
 * Resolving is lexical, so only file isolation (Landlock) prevents that.
 *
 * Returns 0 on success. Otherwise *entry is left empty and the function
 * returns -EINVAL for an invalid path (see filetree_clean_path()), -ENOENT
 * when the path is not in the tree or -ENOTDIR when a parent of the path is
 * a mapped host file or a virtual file.
 */
int filetree_resolve(const struct filetree *tree, const char *guest_path,
		     struct filetree_entry *entry, char **error);

/*
 * Removes `guest_path` from the tree and fills *entry, which the caller
 * releases with filetree_entry_clear(), with what was removed:
 *   FILETREE_HOST_FILE          the mapping of a host file is gone and the
 *                               caller deletes host_path;
 *   FILETREE_IN_HOST_DIRECTORY  the tree is unchanged and the caller deletes
 *                               host_path, the path below the mapped
 *                               directory;
 *   FILETREE_VIRTUAL_FILE       the virtual file is gone;
 *   FILETREE_DIRECTORY          the empty directory of the tree is gone.
 *
 * Returns 0 on success. Otherwise *entry is left empty and the function
 * returns -EINVAL for an invalid path, -ENOENT when the path is not in the
 * tree, -ENOTDIR when a parent is a mapped host file or a virtual file,
 * -ENOTEMPTY for a directory of the tree that still contains nodes, or
 * -EBUSY for the root and for a mapped host directory itself, because both
 * are mount points.
 */
int filetree_unlink(struct filetree *tree, const char *guest_path,
		    struct filetree_entry *entry, char **error);

/* Frees the host path and drops the reference to the bytes of *entry. */
void filetree_entry_clear(struct filetree_entry *entry);

/*
 * Lists the guest directories that the guest mounts: every mapped host
 * directory and the parent directory of every mapped host file and virtual
 * file, except "/". Each path has a leading '/', appears once, and the list
 * is sorted by strcmp(). Returns a NULL-terminated array, empty when there
 * is no such directory, that the caller frees with g_strfreev().
 */
char **filetree_list_mount_points(const struct filetree *tree);

/*
 * Lists every mapped host file and host directory as a struct
 * filetree_mapping, sorted by guest path, for the file isolation rules.
 * The caller frees the array with g_ptr_array_unref(), which also frees
 * the elements.
 */
GPtrArray *filetree_list_host_mappings(const struct filetree *tree);

#endif /* UHYVE_FILETREE_H */
