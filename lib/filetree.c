/* The virtual file tree: maps guest paths to host paths and in-memory files. */
#include "filetree.h"

#include "error.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* A node of the tree. The root is always a directory. */
struct node {
	enum filetree_kind kind;
	union {
		GHashTable *children; /* FILETREE_DIRECTORY: name -> node */
		char *host_path;      /* FILETREE_HOST_FILE, _HOST_DIRECTORY */
		GBytes *bytes;	      /* FILETREE_VIRTUAL_FILE */
	};
};

struct filetree {
	struct node *root;
};

/*
 * How far a cleaned path leads through the directories of the tree: `node`
 * is the deepest node reached, named by the first `matched` bytes of the
 * path, and `rest` the components after it (empty when `node` is the whole
 * path).
 */
struct walk {
	struct node
	    *parent; /* the directory that contains node; NULL for the root */
	struct node *node;
	size_t matched;
	char *rest;
};

/* A node together with its guest path ("" for the root, else "/a/b"). */
struct located {
	char *path;
	struct node *node;
};

static void append_component(char *out, size_t *used, const char *name,
			     size_t size)
{
	const char *slash;

	if (size == 0 || (size == 1 && name[0] == '.'))
		return;

	if (size == 2 && name[0] == '.' && name[1] == '.') {
		slash = memrchr(out, '/', *used);
		*used = slash ? (size_t)(slash - out) : 0;
		return;
	}

	if (*used > 0)
		out[(*used)++] = '/';
	memcpy(out + *used, name, size);
	*used += size;
}

int filetree_clean_path(const char *guest_path, char **cleaned, char **error)
{
	const char *invalid;
	const char *name;
	const char *end;
	size_t length;
	size_t used = 0;
	char *out;

	if (!guest_path)
		return set_error(error, -EINVAL, "guest path is missing");

	length = strnlen(guest_path, PATH_MAX + 1);
	if (length > PATH_MAX)
		return set_error(error, -ENAMETOOLONG,
				 "guest path is longer than the maximum of %d "
				 "bytes",
				 PATH_MAX);

	if (!g_utf8_validate(guest_path, (gssize)length, &invalid))
		return set_error(error, -EINVAL,
				 "guest path is not valid UTF-8: byte 0x%02x "
				 "at offset %zu",
				 (unsigned char)*invalid,
				 (size_t)(invalid - guest_path));

	/*
	 * Every component and separator written comes from the input, so the
	 * result is never longer than it.
	 */
	out = g_malloc(length + 1);
	for (name = guest_path; *name; name = end) {
		while (*name == '/')
			name++;
		end = strchrnul(name, '/');
		append_component(out, &used, name, (size_t)(end - name));
	}
	out[used] = '\0';

	*cleaned = out;
	return 0;
}

static struct node *new_directory(void)
{
	struct node *node = g_new0(struct node, 1);

	node->kind = FILETREE_DIRECTORY;
	node->children =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return node;
}

static struct node *new_host_node(enum filetree_kind kind,
				  const char *host_path)
{
	struct node *node = g_new0(struct node, 1);

	node->kind = kind;
	node->host_path = g_strdup(host_path);
	return node;
}

static struct node *new_virtual_file(GBytes *bytes)
{
	struct node *node = g_new0(struct node, 1);

	node->kind = FILETREE_VIRTUAL_FILE;
	node->bytes = g_bytes_ref(bytes);
	return node;
}

/* Frees `node` and adds its children, if any, to `pending`. */
static void free_one_node(struct node *node, GPtrArray *pending)
{
	GHashTableIter iter;
	gpointer child;

	switch (node->kind) {
	case FILETREE_DIRECTORY:
		g_hash_table_iter_init(&iter, node->children);
		while (g_hash_table_iter_next(&iter, NULL, &child))
			g_ptr_array_add(pending, child);
		g_hash_table_unref(node->children);
		break;
	case FILETREE_VIRTUAL_FILE:
		g_bytes_unref(node->bytes);
		break;
	default:
		g_free(node->host_path);
		break;
	}
	g_free(node);
}

/* Frees a subtree iteratively, so a deep tree cannot exhaust the stack. */
static void free_node(struct node *node)
{
	GPtrArray *pending = g_ptr_array_new();

	g_ptr_array_add(pending, node);
	while (pending->len > 0)
		free_one_node(
		    g_ptr_array_remove_index_fast(pending, pending->len - 1),
		    pending);
	g_ptr_array_unref(pending);
}

struct filetree *filetree_new(void)
{
	struct filetree *tree = g_new0(struct filetree, 1);

	tree->root = new_directory();
	return tree;
}

void filetree_free(struct filetree *tree)
{
	if (!tree)
		return;

	free_node(tree->root);
	g_free(tree);
}

/* Walks the cleaned, writable `path` as far as the tree's directories go. */
static void walk_path(struct node *root, char *path, struct walk *walk)
{
	struct node *child;
	char *name = path;
	char *end;
	char separator;

	walk->parent = NULL;
	walk->node = root;
	walk->matched = 0;
	while (*name && walk->node->kind == FILETREE_DIRECTORY) {
		/* Terminate the component for the lookup, then restore it. */
		end = strchrnul(name, '/');
		separator = *end;
		*end = '\0';
		child = g_hash_table_lookup(walk->node->children, name);
		*end = separator;
		if (!child)
			break;

		walk->parent = walk->node;
		walk->node = child;
		walk->matched = (size_t)(end - path);
		name = separator ? end + 1 : end;
	}
	walk->rest = name;
}

static void free_located(gpointer data)
{
	struct located *located = data;

	g_free(located->path);
	g_free(located);
}

static struct located *new_located(char *path, struct node *node)
{
	struct located *located = g_new(struct located, 1);

	located->path = path;
	located->node = node;
	return located;
}

static gint compare_located(gconstpointer a, gconstpointer b)
{
	const struct located *left = *(struct located *const *)a;
	const struct located *right = *(struct located *const *)b;

	return strcmp(left->path, right->path);
}

static void add_children(GPtrArray *pending, const struct located *directory)
{
	GHashTableIter iter;
	gpointer name;
	gpointer child;
	char *path;

	g_hash_table_iter_init(&iter, directory->node->children);
	while (g_hash_table_iter_next(&iter, &name, &child)) {
		path = g_strconcat(directory->path, "/", name, NULL);
		g_ptr_array_add(pending, new_located(path, child));
	}
}

/*
 * Returns every leaf at or below `start`, whose guest path is `path`, as a
 * struct located, sorted by guest path.
 */
static GPtrArray *collect_leaves(struct node *start, const char *path)
{
	GPtrArray *leaves = g_ptr_array_new_with_free_func(free_located);
	GPtrArray *pending = g_ptr_array_new();
	struct located *item;

	g_ptr_array_add(pending, new_located(g_strdup(path), start));
	while (pending->len > 0) {
		item = g_ptr_array_remove_index_fast(pending, pending->len - 1);
		if (item->node->kind != FILETREE_DIRECTORY) {
			g_ptr_array_add(leaves, item);
			continue;
		}

		add_children(pending, item);
		free_located(item);
	}
	g_ptr_array_unref(pending);

	g_ptr_array_sort(leaves, compare_located);
	return leaves;
}

/* Returns a description of a leaf for messages, freed with g_free(). */
static char *describe_leaf(const struct node *node, const char *path)
{
	if (node->kind == FILETREE_VIRTUAL_FILE)
		return g_strdup_printf("the virtual file \"%s\"", path);

	return g_strdup_printf("the mapping \"%s\" -> \"%s\"", node->host_path,
			       path);
}

/*
 * Returns a description of the node at `path` ("" for the root) for
 * messages. A directory is described by its first leaf, so the message
 * names an existing mapping.
 */
static char *describe_node(struct node *node, const char *path)
{
	GPtrArray *leaves;
	struct located *first;
	char *description;

	if (node->kind != FILETREE_DIRECTORY)
		return describe_leaf(node, path);

	leaves = collect_leaves(node, path);
	if (leaves->len == 0) {
		description = g_strdup_printf("the directory \"%s\"", path);
	} else {
		first = g_ptr_array_index(leaves, 0);
		description = describe_leaf(first->node, first->path);
	}
	g_ptr_array_unref(leaves);
	return description;
}

/* Returns the guest path of the node that `walk` reached, with a '/'. */
static char *walked_path(const struct walk *walk, const char *path)
{
	return g_strdup_printf("/%.*s", (int)walk->matched, path);
}

/*
 * Stores the message "guest path "/<path>" <verb> <node><suffix>", where
 * <node> describes the node that `walk` reached.
 */
static int set_node_error(char **error, int code, const struct walk *walk,
			  const char *path, const char *verb,
			  const char *suffix)
{
	char *node_path = walked_path(walk, path);
	char *description = describe_node(walk->node, node_path);

	set_error(error, code, "guest path \"/%s\" %s %s%s", path, verb,
		  description, suffix);
	g_free(description);
	g_free(node_path);
	return code;
}

/* Adds `leaf` at the components `rest` below `directory`. */
static void add_below(struct node *directory, const char *rest,
		      struct node *leaf)
{
	const char *end = strchrnul(rest, '/');
	struct node *child;

	while (*end) {
		child = new_directory();
		g_hash_table_insert(directory->children,
				    g_strndup(rest, (size_t)(end - rest)),
				    child);
		directory = child;
		rest = end + 1;
		end = strchrnul(rest, '/');
	}
	g_hash_table_insert(directory->children, g_strdup(rest), leaf);
}

static int clean_for_insert(const char *guest_path, char **path, char **error)
{
	int rc = filetree_clean_path(guest_path, path, error);

	if (rc < 0)
		return rc;

	if (**path == '\0') {
		g_free(*path);
		return set_error(error, -EINVAL,
				 "guest path \"%s\" is the root directory, "
				 "which cannot be mapped",
				 guest_path);
	}
	return 0;
}

/* Adds `leaf` at `guest_path`, or frees it on failure. */
static int insert_node(struct filetree *tree, const char *guest_path,
		       struct node *leaf, char **error)
{
	struct walk walk;
	char *path;
	int rc;

	rc = clean_for_insert(guest_path, &path, error);
	if (rc < 0) {
		free_node(leaf);
		return rc;
	}

	walk_path(tree->root, path, &walk);
	if (*walk.rest == '\0')
		rc = set_node_error(error, -EEXIST, &walk, path,
				    "conflicts with", "");
	else if (walk.node->kind != FILETREE_DIRECTORY)
		rc = set_node_error(error, -ENOTDIR, &walk, path,
				    "conflicts with", "");
	else
		add_below(walk.node, walk.rest, leaf);

	if (rc < 0)
		free_node(leaf);
	g_free(path);
	return rc;
}

static int insert_host(struct filetree *tree, enum filetree_kind kind,
		       const char *guest_path, const char *host_path,
		       char **error)
{
	if (!host_path || *host_path == '\0')
		return set_error(
		    error, -EINVAL,
		    "host path for guest path \"%s\" is missing or empty",
		    guest_path ? guest_path : "");

	return insert_node(tree, guest_path, new_host_node(kind, host_path),
			   error);
}

int filetree_insert_host_file(struct filetree *tree, const char *guest_path,
			      const char *host_path, char **error)
{
	return insert_host(tree, FILETREE_HOST_FILE, guest_path, host_path,
			   error);
}

int filetree_insert_host_directory(struct filetree *tree,
				   const char *guest_path,
				   const char *host_path, char **error)
{
	return insert_host(tree, FILETREE_HOST_DIRECTORY, guest_path, host_path,
			   error);
}

int filetree_insert_bytes(struct filetree *tree, const char *guest_path,
			  GBytes *bytes, char **error)
{
	return insert_node(tree, guest_path, new_virtual_file(bytes), error);
}

int filetree_insert_virtual(struct filetree *tree, const char *guest_path,
			    const void *data, size_t size, char **error)
{
	GBytes *bytes = g_bytes_new(data, size);
	int rc = filetree_insert_bytes(tree, guest_path, bytes, error);

	g_bytes_unref(bytes);
	return rc;
}

void filetree_entry_clear(struct filetree_entry *entry)
{
	g_free(entry->host_path);
	if (entry->bytes)
		g_bytes_unref(entry->bytes);
	memset(entry, 0, sizeof(*entry));
}

/* Fills *entry for a path that names `node` itself. */
static void fill_entry(const struct node *node, struct filetree_entry *entry)
{
	entry->kind = node->kind;
	switch (node->kind) {
	case FILETREE_HOST_FILE:
	case FILETREE_HOST_DIRECTORY:
		entry->host_path = g_strdup(node->host_path);
		break;
	case FILETREE_VIRTUAL_FILE:
		entry->bytes = g_bytes_ref(node->bytes);
		entry->data = g_bytes_get_data(entry->bytes, &entry->size);
		break;
	default:
		break;
	}
}

/*
 * Handles a walk that stopped before the end of the path: a path below a
 * mapped host directory fills *entry, anything else is an error.
 */
static int resolve_rest(const struct walk *walk, const char *path,
			struct filetree_entry *entry, char **error)
{
	switch (walk->node->kind) {
	case FILETREE_HOST_DIRECTORY:
		entry->kind = FILETREE_IN_HOST_DIRECTORY;
		entry->host_path =
		    g_build_filename(walk->node->host_path, walk->rest, NULL);
		return 0;
	case FILETREE_DIRECTORY:
		return set_error(error, -ENOENT, "guest path \"/%s\" not found",
				 path);
	default:
		return set_node_error(error, -ENOTDIR, walk, path, "is below",
				      ", which is not a directory");
	}
}

int filetree_resolve(const struct filetree *tree, const char *guest_path,
		     struct filetree_entry *entry, char **error)
{
	struct walk walk;
	char *path;
	int rc;

	memset(entry, 0, sizeof(*entry));
	rc = filetree_clean_path(guest_path, &path, error);
	if (rc < 0)
		return rc;

	walk_path(tree->root, path, &walk);
	if (*walk.rest == '\0')
		fill_entry(walk.node, entry);
	else
		rc = resolve_rest(&walk, path, entry, error);

	g_free(path);
	return rc;
}

/* Removes the node that `walk` reached, which names the whole `path`. */
static int remove_node(const struct walk *walk, const char *path,
		       struct filetree_entry *entry, char **error)
{
	struct node *node = walk->node;
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;

	if (node->kind == FILETREE_HOST_DIRECTORY)
		return set_node_error(error, -EBUSY, walk, path,
				      "is the mount point of",
				      " and cannot be removed");
	if (node->kind == FILETREE_DIRECTORY &&
	    g_hash_table_size(node->children) > 0)
		return set_error(error, -ENOTEMPTY,
				 "guest directory \"/%s\" is not empty", path);

	entry->kind = node->kind;
	if (node->kind == FILETREE_HOST_FILE)
		entry->host_path = g_strdup(node->host_path);

	g_hash_table_remove(walk->parent->children, name);
	free_node(node);
	return 0;
}

int filetree_unlink(struct filetree *tree, const char *guest_path,
		    struct filetree_entry *entry, char **error)
{
	struct walk walk;
	char *path;
	int rc;

	memset(entry, 0, sizeof(*entry));
	rc = filetree_clean_path(guest_path, &path, error);
	if (rc < 0)
		return rc;

	if (*path == '\0') {
		g_free(path);
		return set_error(error, -EBUSY,
				 "guest path \"%s\" is the root directory, "
				 "which cannot be removed",
				 guest_path);
	}

	walk_path(tree->root, path, &walk);
	if (*walk.rest == '\0')
		rc = remove_node(&walk, path, entry, error);
	else
		rc = resolve_rest(&walk, path, entry, error);

	g_free(path);
	return rc;
}

/*
 * Returns the mount point for `leaf`: its own path for a host directory,
 * else the path of its parent directory, or NULL when that parent is "/".
 */
static char *mount_point(const struct located *leaf)
{
	const char *slash = strrchr(leaf->path, '/');

	if (leaf->node->kind == FILETREE_HOST_DIRECTORY)
		return g_strdup(leaf->path);
	if (slash == leaf->path)
		return NULL;
	return g_strndup(leaf->path, (size_t)(slash - leaf->path));
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Moves the sorted `points` to a NULL-terminated array without duplicates. */
static char **take_unique(GPtrArray *points)
{
	GPtrArray *unique = g_ptr_array_new();
	char *previous = NULL;
	char *point;
	guint i;

	for (i = 0; i < points->len; i++) {
		point = g_ptr_array_index(points, i);
		if (previous && strcmp(point, previous) == 0) {
			g_free(point);
			continue;
		}

		g_ptr_array_add(unique, point);
		previous = point;
	}
	g_ptr_array_unref(points);

	g_ptr_array_add(unique, NULL);
	return (char **)g_ptr_array_free(unique, FALSE);
}

char **filetree_list_mount_points(const struct filetree *tree)
{
	GPtrArray *leaves = collect_leaves(tree->root, "");
	GPtrArray *points = g_ptr_array_new();
	char *point;
	guint i;

	for (i = 0; i < leaves->len; i++) {
		point = mount_point(g_ptr_array_index(leaves, i));
		if (point)
			g_ptr_array_add(points, point);
	}
	g_ptr_array_unref(leaves);

	g_ptr_array_sort(points, compare_strings);
	return take_unique(points);
}

static void free_mapping(gpointer data)
{
	struct filetree_mapping *mapping = data;

	g_free(mapping->guest_path);
	g_free(mapping->host_path);
	g_free(mapping);
}

GPtrArray *filetree_list_host_mappings(const struct filetree *tree)
{
	GPtrArray *leaves = collect_leaves(tree->root, "");
	GPtrArray *mappings = g_ptr_array_new_with_free_func(free_mapping);
	struct filetree_mapping *mapping;
	struct located *leaf;
	guint i;

	for (i = 0; i < leaves->len; i++) {
		leaf = g_ptr_array_index(leaves, i);
		if (leaf->node->kind == FILETREE_VIRTUAL_FILE)
			continue;

		mapping = g_new(struct filetree_mapping, 1);
		mapping->guest_path = g_strdup(leaf->path);
		mapping->host_path = g_strdup(leaf->node->host_path);
		mapping->kind = leaf->node->kind;
		g_ptr_array_add(mappings, mapping);
	}
	g_ptr_array_unref(leaves);
	return mappings;
}
