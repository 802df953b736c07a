/* Replays a fuzz target's committed inputs (seed corpus and regression cases)
 * through it as a Check test. */
/*
 * Usage: replay_NAME DIR...  Every regular file in each DIR (not below it)
 * is one input. A DIR that does not exist is skipped, but at least one
 * input must be found. The fuzz target checks its own invariants and aborts
 * when one fails, so each input passes when LLVMFuzzerTestOneInput returns.
 */
#include <check.h>
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

/* Targets without state to set up do not define LLVMFuzzerInitialize. */
#pragma weak LLVMFuzzerInitialize

static GPtrArray *inputs; /* char * paths */

static gint compare_paths(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_inputs(const char *dir_path)
{
	GError *error = NULL;
	GDir *dir = g_dir_open(dir_path, 0, &error);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	if (!dir && g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
		printf("replay: %s does not exist, so it adds no inputs\n",
		       dir_path);
		g_error_free(error);
		return;
	}
	if (!dir) {
		fprintf(stderr, "replay: %s\n", error->message);
		exit(EXIT_FAILURE);
	}
	while ((name = g_dir_read_name(dir))) {
		char *path = g_build_filename(dir_path, name, NULL);

		if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
			g_ptr_array_add(names, path);
		else
			g_free(path);
	}
	g_dir_close(dir);
	g_ptr_array_sort(names, compare_paths);
	for (guint i = 0; i < names->len; i++)
		g_ptr_array_add(inputs, g_strdup(names->pdata[i]));
	g_ptr_array_unref(names);
}

START_TEST(input_replays_cleanly)
{
	const char *path = inputs->pdata[_i];
	gchar *contents = NULL;
	gsize size = 0;
	uint8_t *copy;

	printf("replaying %s\n", path);
	fflush(stdout);
	ck_assert_msg(g_file_get_contents(path, &contents, &size, NULL),
		      "cannot read %s", path);
	/* An exact-size copy, so AddressSanitizer detects reads past the end.
	 */
	copy = malloc(size ? size : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, contents, size);
	ck_assert_msg(LLVMFuzzerTestOneInput(copy, size) == 0,
		      "the fuzz target rejected %s", path);
	free(copy);
	g_free(contents);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *suite = suite_create("replay");
	TCase *tcase = tcase_create("inputs");
	SRunner *runner;
	int failed;

	inputs = g_ptr_array_new_with_free_func(g_free);
	for (int i = 1; i < argc; i++)
		add_inputs(argv[i]);
	if (inputs->len == 0) {
		fprintf(stderr, "replay: no inputs found in the directories "
				"given\n");
		return EXIT_FAILURE;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);

	tcase_add_loop_test(tcase, input_replays_cleanly, 0, (int)inputs->len);
	suite_add_tcase(suite, tcase);
	runner = srunner_create(suite);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	g_ptr_array_unref(inputs);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
