/* Destinations of guest output: the terminal, a file, memory or nowhere. */
#ifndef UHYVE_OUTPUT_H
#define UHYVE_OUTPUT_H

#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "uhyve/uhyve.h"

struct output {
	enum uhyve_output_kind kind;
	int fd;			/* for STDOUT and FILE; -1 otherwise */
	bool owns_fd;		/* FILE: closed by output_close() */
	GByteArray *buffer;	/* for BUFFER */
	const atomic_int *stop; /* non-zero ends a blocked write, or NULL */
	pthread_mutex_t lock;
};

/* Opens the destination; for UHYVE_OUTPUT_FILE creates `path`, failing with
 * -EEXIST when it exists. Returns 0 or a negative errno with a message. */
int output_open(struct output *output, enum uhyve_output_kind kind,
		const char *path, char **error);

/* Writes all of `data`. Writes from several vCPUs are serialised so that
 * one call's bytes stay together. A write that cannot go on (a full pipe)
 * waits in short polls and gives up with -EINTR once *stop is non-zero.
 * Returns 0 or a negative errno. */
int output_write(struct output *output, const void *data, size_t len);

/* Closes the destination and frees its buffer. */
void output_close(struct output *output);

#endif /* UHYVE_OUTPUT_H */
