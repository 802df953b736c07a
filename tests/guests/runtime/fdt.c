/* Device tree reader and kernel-argument lookup of the test guests. */
#include "runtime.h"

#define FDT_MAGIC      0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP	       4
#define FDT_END	       9

/* The header fields this reader uses, as big-endian u32 indices. */
#define FDT_HDR_MAGIC	    0
#define FDT_HDR_OFF_STRUCT  2
#define FDT_HDR_OFF_STRINGS 3
#define FDT_HDR_SIZE_STRUCT 9

static uint32_t be32(const void *ptr)
{
	const uint8_t *b = ptr;

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static uint32_t header_field(const void *fdt, unsigned index)
{
	return be32((const uint8_t *)fdt + 4 * index);
}

static uint32_t align4(uint32_t value)
{
	return (value + 3) & ~3u;
}

/* Matches "name" against a node name "name" or "name@unit". */
static int node_name_matches(const char *node_name, const char *name)
{
	size_t len = strlen(name);

	return memcmp(node_name, name, len) == 0 &&
	       (node_name[len] == '\0' || node_name[len] == '@');
}

/* Walks the structure block, in which the root node is at depth 1 and its
 * children at depth 2. */
const void *guest_fdt_property(const void *fdt, const char *node,
			       const char *prop, uint32_t *len)
{
	const uint8_t *structs;
	const char *strings;
	uint32_t size, pos = 0;
	int depth = 0, in_node = 0;

	if (header_field(fdt, FDT_HDR_MAGIC) != FDT_MAGIC)
		return NULL;
	structs = (const uint8_t *)fdt + header_field(fdt, FDT_HDR_OFF_STRUCT);
	strings = (const char *)fdt + header_field(fdt, FDT_HDR_OFF_STRINGS);
	size = header_field(fdt, FDT_HDR_SIZE_STRUCT);

	while (pos + 4 <= size) {
		uint32_t token = be32(structs + pos);
		const char *name = (const char *)structs + pos + 4;

		pos += 4;
		switch (token) {
		case FDT_BEGIN_NODE:
			depth++;
			in_node = depth == 2 && node_name_matches(name, node);
			pos += align4(strlen(name) + 1);
			break;
		case FDT_END_NODE:
			if (depth == 2)
				in_node = 0;
			depth--;
			break;
		case FDT_PROP: {
			uint32_t value_len = be32(structs + pos);
			const char *prop_name =
			    strings + be32(structs + pos + 4);

			if (in_node && depth == 2 &&
			    guest_streq(prop_name, prop)) {
				*len = value_len;
				return structs + pos + 8;
			}
			pos += 8 + align4(value_len);
			break;
		}
		case FDT_NOP:
			break;
		default: /* FDT_END or a corrupt token */
			return NULL;
		}
	}
	return NULL;
}

const char *guest_bootargs(const struct hermit_boot_info *boot_info)
{
	const char *value;
	uint32_t len;

	if (boot_info->fdt_addr == 0)
		return NULL;
	value = guest_fdt_property((const void *)(uintptr_t)boot_info->fdt_addr,
				   "chosen", "bootargs", &len);
	if (value == NULL || len == 0 || value[len - 1] != '\0')
		return NULL;
	return value;
}

static int copy_arg(const char *arg, size_t len, char *buf, size_t size)
{
	if (len >= size)
		return -1;
	memcpy(buf, arg, len);
	buf[len] = '\0';
	return (int)len;
}

#if GUEST_INTERFACE == 1

int guest_first_arg(const struct hermit_boot_info *boot_info, char *buf,
		    size_t size)
{
	const struct guest_args *args = guest_load_args();

	(void)boot_info;
	if (args == NULL || args->argc < 2)
		return -1;
	return copy_arg(args->argv[1], strlen(args->argv[1]), buf, size);
}

#else /* GUEST_INTERFACE == 2 */

int guest_first_arg(const struct hermit_boot_info *boot_info, char *buf,
		    size_t size)
{
	const char *word = guest_bootargs(boot_info);
	size_t len = 0;

	if (word == NULL)
		return -1;
	while (*word == ' ')
		word++;
	while (word[len] != '\0' && word[len] != ' ')
		len++;

	/* Kernel arguments come first, then env= words, then "--". */
	if (len == 0 || (len == 2 && memcmp(word, "--", 2) == 0) ||
	    (len >= 4 && memcmp(word, "env=", 4) == 0))
		return -1;
	return copy_arg(word, len, buf, size);
}

#endif /* GUEST_INTERFACE */
