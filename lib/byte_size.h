/* Parsing of byte sizes such as "64MiB", "512M" or "1GiB". */
#ifndef UHYVE_BYTE_SIZE_H
#define UHYVE_BYTE_SIZE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Parses a decimal number of bytes with an optional suffix K/Ki/KiB/KB,
 * M/..., G/... or T/... (case-insensitive, blanks allowed before it). All
 * suffixes are powers of 1024. Returns false for anything else, including
 * NULL and a value that overflows 64 bits.
 */
bool parse_byte_size(const char *text, uint64_t *bytes);

#endif /* UHYVE_BYTE_SIZE_H */
