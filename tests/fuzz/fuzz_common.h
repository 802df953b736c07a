/* Helpers shared by the libFuzzer targets: invariant checks, guarded scratch
 * memory, descriptor counts. */
#ifndef UHYVE_FUZZ_COMMON_H
#define UHYVE_FUZZ_COMMON_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* The entry points that libFuzzer calls, or the corpus replay test. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Aborts with the failed condition when an invariant of the code under test
 * does not hold, so that libFuzzer saves the input as a crash and the replay
 * test fails.
 */
#define FUZZ_CHECK(condition)                                                  \
	do {                                                                   \
		if (!(condition)) {                                            \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #condition);               \
			abort();                                               \
		}                                                              \
	} while (0)

/* Inaccessible bytes on each side of guarded memory. Large enough that an
 * access computed from a guest length lands in them, not in another
 * mapping, unless it is far out of range. */
#define FUZZ_GUARD_SIZE (64ULL << 20)

/*
 * Maps `size` bytes of read-write memory (a multiple of the page size)
 * between two PROT_NONE guard regions, so that any access outside it
 * crashes at once. Returns the first usable byte or NULL.
 */
static inline uint8_t *fuzz_guarded_alloc(size_t size)
{
	uint8_t *base =
	    mmap(NULL, size + 2 * FUZZ_GUARD_SIZE, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (base == MAP_FAILED)
		return NULL;
	if (mprotect(base + FUZZ_GUARD_SIZE, size, PROT_READ | PROT_WRITE)) {
		munmap(base, size + 2 * FUZZ_GUARD_SIZE);
		return NULL;
	}
	return base + FUZZ_GUARD_SIZE;
}

/* Returns the number of descriptors this process has open, or -1. */
static inline int fuzz_count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;
	int count = 0;

	if (!dir)
		return -1;
	while ((entry = readdir(dir)))
		count += entry->d_name[0] != '.';
	closedir(dir);
	/* Leave out the descriptor of the listing itself. */
	return count - 1;
}

/* Lists this process's descriptors and what they refer to on stderr. */
static inline void fuzz_print_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;

	if (!dir)
		return;
	while ((entry = readdir(dir))) {
		char path[sizeof("/proc/self/fd/") + sizeof(entry->d_name)];
		char target[256];
		ssize_t len;

		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", entry->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		target[len < 0 ? 0 : len] = '\0';
		fprintf(stderr, "fd %s -> %s\n", entry->d_name, target);
	}
	closedir(dir);
}

#endif /* UHYVE_FUZZ_COMMON_H */
