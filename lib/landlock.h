/* Landlock rulesets that confine a VM's threads to its host paths. */
#ifndef UHYVE_LANDLOCK_H
#define UHYVE_LANDLOCK_H

#include <linux/landlock.h>
#include <stdint.h>

/*
 * Landlock restricts the calling thread and the threads it creates later,
 * never the rest of the process. The library builds one ruleset per VM in
 * the thread that calls uhyve_vm_run() and each vCPU thread applies it to
 * itself before it enters the guest, so the embedding program and its
 * other VMs keep their own access.
 */

/* Rights of ABI versions newer than some distributions' kernel headers. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13) /* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif

/* Access rights a rule grants. landlock_allow_path() keeps only the rights
 * that the running kernel handles and, for a path that is not a directory,
 * only those that apply to files. */
#define LANDLOCK_RIGHTS_READ LANDLOCK_ACCESS_FS_READ_FILE
#define LANDLOCK_RIGHTS_READ_WRITE                                             \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |        \
	 LANDLOCK_ACCESS_FS_TRUNCATE)
/* Creating, reading and writing regular files below a directory. */
#define LANDLOCK_RIGHTS_CREATE_FILES                                           \
	(LANDLOCK_RIGHTS_READ_WRITE | LANDLOCK_ACCESS_FS_MAKE_REG)
/* Also listing the directory and removing files, but no subdirectories,
 * links or special files. */
#define LANDLOCK_RIGHTS_DIRECTORY                                              \
	(LANDLOCK_RIGHTS_CREATE_FILES | LANDLOCK_ACCESS_FS_READ_DIR |          \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE)

/*
 * Returns the Landlock ABI version of the running kernel (1 or higher), or
 * a negative errno: -ENOSYS when the kernel was built without Landlock and
 * -EOPNOTSUPP when it was booted with Landlock turned off.
 */
int landlock_abi_version(void);

/*
 * Creates a ruleset that denies every file access right that ABI version
 * `abi` handles, until rules allow it, and stores its descriptor in
 * *ruleset_fd. Returns 0, or a negative errno with a message.
 */
int landlock_ruleset_create(int abi, int *ruleset_fd, char **error);

/*
 * Allows `rights` (LANDLOCK_RIGHTS_*) on `path` and everything below it.
 * A symbolic link in `path` is followed, so the rule covers its target.
 * Returns 0, or a negative errno with a message that names the path
 * (-ENOENT when it does not exist).
 */
int landlock_allow_path(int ruleset_fd, int abi, const char *path,
			uint64_t rights, char **error);

/*
 * Sets no_new_privs on the calling thread and confines it, and the threads
 * it creates later, to the ruleset. Returns 0, or a negative errno with a
 * message. The restriction cannot be lifted.
 */
int landlock_restrict_thread(int ruleset_fd, char **error);

#endif /* UHYVE_LANDLOCK_H */
