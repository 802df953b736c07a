/* Error messages handed to the library's callers and its GLib log. */
#ifndef UHYVE_ERROR_H
#define UHYVE_ERROR_H

#include <glib.h>

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "uhyve"

/*
 * Stores a newly allocated message in *error when `error` is not NULL and
 * returns `code` (a negative errno value), so a failure path can read
 *     return set_error(error, -EINVAL, "memory size %llu ...", size);
 * The message is allocated with malloc() because callers free it with
 * free(). An earlier message in *error is freed first.
 */
int set_error(char **error, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Like set_error(), but puts `prefix: ` in front of an existing *error. */
int prefix_error(char **error, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* UHYVE_ERROR_H */
