/* Landlock rulesets that confine a VM's threads to its host paths. */
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"

/* The rights that apply to a file rather than to a directory's entries. */
#define FILE_RIGHTS                                                            \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |          \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |          \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

int landlock_abi_version(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);

	if (abi < 0)
		return -errno;
	return (int)abi;
}

/* Returns every file system right that ABI version `abi` handles. */
static uint64_t handled_rights(int abi)
{
	uint64_t rights = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;

	if (abi >= 2)
		rights |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		rights |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return rights;
}

int landlock_ruleset_create(int abi, int *ruleset_fd, char **error)
{
	struct landlock_ruleset_attr attr = {
	    .handled_access_fs = handled_rights(abi),
	};
	long fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);

	if (fd < 0)
		return set_error(error, -errno,
				 "creating a Landlock ruleset failed: %s",
				 strerror(errno));
	*ruleset_fd = (int)fd;
	return 0;
}

int landlock_allow_path(int ruleset_fd, int abi, const char *path,
			uint64_t rights, char **error)
{
	struct landlock_path_beneath_attr rule = {
	    .allowed_access = rights & handled_rights(abi),
	};
	struct stat st;
	int code = 0;

	rule.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (rule.parent_fd < 0)
		return set_error(error, -errno,
				 "cannot open %s for a Landlock rule: %s", path,
				 strerror(errno));
	if (fstat(rule.parent_fd, &st) < 0)
		code = errno;
	else if (!S_ISDIR(st.st_mode))
		rule.allowed_access &= FILE_RIGHTS;
	if (code == 0 && syscall(SYS_landlock_add_rule, ruleset_fd,
				 LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
		code = errno;
	close(rule.parent_fd);
	if (code)
		return set_error(error, -code,
				 "adding the Landlock rule for %s failed: %s",
				 path, strerror(code));
	return 0;
}

int landlock_restrict_thread(int ruleset_fd, char **error)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return set_error(error, -errno,
				 "setting no_new_privs for Landlock failed: %s",
				 strerror(errno));
	if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0) < 0)
		return set_error(error, -errno,
				 "applying the Landlock ruleset failed: %s",
				 strerror(errno));
	return 0;
}
