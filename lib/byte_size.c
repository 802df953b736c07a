/* Parsing of byte sizes such as "64MiB", "512M" or "1GiB". */
#include "byte_size.h"

#include <errno.h>
#include <glib.h>

struct size_suffix {
	const char *name;
	unsigned shift;
};

static const struct size_suffix size_suffixes[] = {
    {"", 0},	 {"b", 0},   {"k", 10},	  {"ki", 10}, {"kib", 10}, {"kb", 10},
    {"m", 20},	 {"mi", 20}, {"mib", 20}, {"mb", 20}, {"g", 30},   {"gi", 30},
    {"gib", 30}, {"gb", 30}, {"t", 40},	  {"ti", 40}, {"tib", 40}, {"tb", 40},
};

bool parse_byte_size(const char *text, uint64_t *bytes)
{
	char *end = NULL;
	uint64_t number;

	if (!text || !g_ascii_isdigit(text[0]))
		return false;
	errno = 0;
	number = g_ascii_strtoull(text, &end, 10);
	if (errno)
		return false;
	while (*end == ' ')
		end++;

	for (size_t i = 0; i < G_N_ELEMENTS(size_suffixes); i++) {
		unsigned shift = size_suffixes[i].shift;

		if (g_ascii_strcasecmp(end, size_suffixes[i].name))
			continue;
		if (shift && number > (UINT64_MAX >> shift))
			return false;
		*bytes = number << shift;
		return true;
	}
	return false;
}
