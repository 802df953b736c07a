/* Checked access to guest-physical memory: every guest address goes through
 * here. */
#ifndef UHYVE_GUEST_MEM_H
#define UHYVE_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One contiguous region of guest-physical memory backed by host memory. */
struct guest_mem {
	uint8_t *host;	/* host mapping of the first byte */
	uint64_t start; /* gpa of the first byte (G) */
	uint64_t size;	/* bytes (M) */
};

/*
 * Returns the host address of the guest-physical range [gpa, gpa + len), or
 * NULL when any byte of it lies outside guest memory or the end overflows.
 * A zero-length range is valid anywhere inside memory or at its end.
 */
static inline void *guest_mem_range(const struct guest_mem *mem, uint64_t gpa,
				    uint64_t len)
{
	uint64_t offset;

	if (gpa < mem->start)
		return NULL;
	offset = gpa - mem->start;
	if (offset > mem->size || len > mem->size - offset)
		return NULL;
	return mem->host + offset;
}

/*
 * Like guest_mem_range(), but also returns NULL when the host address is
 * not a multiple of `align`, because a guest may pass any address and
 * accessing a misaligned object through a typed pointer is undefined
 * behaviour.
 */
static inline void *guest_mem_aligned(const struct guest_mem *mem, uint64_t gpa,
				      uint64_t len, size_t align)
{
	void *host = guest_mem_range(mem, gpa, len);

	if (host && (uintptr_t)host % align != 0)
		return NULL;
	return host;
}

/* Typed form: a pointer to a `type` at `gpa`, or NULL if it does not fit or
 * is not aligned for `type`. */
#define GUEST_MEM_OBJECT(mem, gpa, type)                                       \
	((type *)guest_mem_aligned((mem), (gpa), sizeof(type), _Alignof(type)))

/*
 * Returns the length of the NUL-terminated string at `gpa` (without the NUL)
 * in *len and its host address, or NULL when no NUL is found before the end
 * of guest memory or `max_len` bytes, whichever comes first.
 */
static inline const char *guest_mem_string(const struct guest_mem *mem,
					   uint64_t gpa, size_t max_len,
					   size_t *len)
{
	const char *start = guest_mem_range(mem, gpa, 0);
	const void *nul;
	uint64_t available;

	if (!start)
		return NULL;
	available = mem->size - (gpa - mem->start);
	if (available > max_len)
		available = max_len;
	nul = memchr(start, '\0', available);
	if (!nul)
		return NULL;
	*len = (size_t)((const char *)nul - start);
	return start;
}

#endif /* UHYVE_GUEST_MEM_H */
