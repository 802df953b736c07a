/* Helpers shared by the end-to-end tests: locating guests and skipping without
 * KVM. */
#ifndef UHYVE_TEST_COMMON_H
#define UHYVE_TEST_COMMON_H

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* meson counts a test that exits with this status as skipped. */
#define TEST_SKIP_STATUS 77

/* Exits with the skip status, saying why, when /dev/kvm cannot be used. */
static inline void require_kvm(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/kvm is missing or not accessible\n");
		exit(TEST_SKIP_STATUS);
	}
}

/* Returns the path of a built test guest (g_free). */
static inline char *guest_path(const char *name)
{
	const char *dir = getenv("UHYVE_GUEST_DIR");

	return g_build_filename(dir ? dir : "tests/guests", name, NULL);
}

/* Returns the path of a shared Hermit image, e.g. "x86_64/hello_world"
 * (g_free), or NULL when the images folder is missing. */
static inline char *hermit_image_path(const char *name)
{
	const char *root = getenv("UHYVE_SOURCE_ROOT");
	char *path = g_build_filename(root ? root : ".", "..", "shared",
				      "hermit-images", name, NULL);

	if (access(path, R_OK) != 0) {
		g_free(path);
		return NULL;
	}
	return path;
}

/* Returns the path of the built uhyve launcher (g_free). */
static inline char *launcher_path(void)
{
	const char *root = getenv("UHYVE_BUILD_ROOT");

	return g_build_filename(root ? root : ".", "tools", "uhyve", NULL);
}

#endif /* UHYVE_TEST_COMMON_H */
