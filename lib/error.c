/* Error messages handed to the library's callers and its GLib log. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int set_error(char **error, int code, const char *format, ...)
{
	va_list args;
	char *message;

	if (!error)
		return code;

	va_start(args, format);
	if (vasprintf(&message, format, args) < 0)
		message = NULL;
	va_end(args);

	free(*error);
	*error = message;
	return code;
}

int prefix_error(char **error, int code, const char *format, ...)
{
	va_list args;
	char *prefix;
	char *message;

	if (!error)
		return code;

	va_start(args, format);
	if (vasprintf(&prefix, format, args) < 0)
		prefix = NULL;
	va_end(args);

	if (!prefix)
		return code;
	if (asprintf(&message, "%s: %s", prefix, *error ? *error : "failed") <
	    0)
		message = NULL;
	free(prefix);
	if (message) {
		free(*error);
		*error = message;
	}
	return code;
}
