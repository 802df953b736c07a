/* Destinations of guest output: the terminal, a file, memory or nowhere. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

int output_open(struct output *output, enum uhyve_output_kind kind,
		const char *path, char **error)
{
	memset(output, 0, sizeof(*output));
	output->kind = kind;
	output->fd = -1;
	pthread_mutex_init(&output->lock, NULL);

	switch (kind) {
	case UHYVE_OUTPUT_STDOUT:
		output->fd = STDOUT_FILENO;
		return 0;
	case UHYVE_OUTPUT_FILE:
		output->fd =
		    open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (output->fd < 0) {
			int rc = -errno;

			if (rc == -EEXIST)
				return set_error(error, rc,
						 "output file %s already "
						 "exists; remove it or choose "
						 "another name",
						 path);
			return set_error(error, rc,
					 "cannot create output file %s: %s",
					 path, strerror(-rc));
		}
		output->owns_fd = true;
		return 0;
	case UHYVE_OUTPUT_BUFFER:
		output->buffer = g_byte_array_new();
		return 0;
	case UHYVE_OUTPUT_NONE:
		return 0;
	}
	return set_error(error, -EINVAL, "unknown output kind %d", (int)kind);
}

/* How long one wait for room in the output lasts before the writer checks
 * whether the run has ended. */
#define OUTPUT_POLL_MS 100

static bool stopped(const struct output *output)
{
	return output->stop && atomic_load(output->stop) != 0;
}

/* Waits until `fd` takes more bytes; returns -EINTR once the run ends. */
static int wait_writable(const struct output *output, int fd)
{
	struct pollfd pending = {.fd = fd, .events = POLLOUT};
	int ready = 0;

	while (ready <= 0) {
		if (stopped(output))
			return -EINTR;
		ready = poll(&pending, 1, OUTPUT_POLL_MS);
		if (ready < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

static int write_all(const struct output *output, int fd, const uint8_t *data,
		     size_t len)
{
	while (len > 0) {
		int rc = wait_writable(output, fd);
		ssize_t written;

		if (rc)
			return rc;
		written = write(fd, data, len);
		if (written < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (written < 0)
			return -errno;
		data += written;
		len -= (size_t)written;
	}
	return 0;
}

/* g_byte_array_append() takes a guint length, so append in pieces. */
static void append_all(GByteArray *buffer, const uint8_t *data, size_t len)
{
	while (len > 0) {
		guint piece = len > G_MAXUINT / 2 ? G_MAXUINT / 2 : (guint)len;

		g_byte_array_append(buffer, data, piece);
		data += piece;
		len -= piece;
	}
}

int output_write(struct output *output, const void *data, size_t len)
{
	int rc = 0;

	pthread_mutex_lock(&output->lock);
	if (output->fd >= 0)
		rc = write_all(output, output->fd, data, len);
	else if (output->buffer)
		append_all(output->buffer, data, len);
	pthread_mutex_unlock(&output->lock);
	return rc;
}

void output_close(struct output *output)
{
	if (output->owns_fd && output->fd >= 0)
		close(output->fd);
	output->fd = -1;
	if (output->buffer)
		g_byte_array_unref(output->buffer);
	output->buffer = NULL;
	pthread_mutex_destroy(&output->lock);
}
