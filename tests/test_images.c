/* End-to-end tests with the real Hermit images: greeting once, exit status 0.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "uhyve/uhyve.h"

#include "test_common.h"

/* A real image, the line its application prints and the smallest memory
 * size it is tested with. hello_c's kernel (Hermit 0.6.9) reserves a 20 MB
 * kernel heap plus about 10% and 17 MB more above its image at 8 MiB, and
 * its user-space heap size underflows below about 52 MiB: the guest then
 * spins, a limit of that kernel and not of the hypervisor. */
static const struct {
	const char *path;
	const char *greeting;
	const char *small_memory;
} images[] = {
    {"x86_64/hello_world", "Hello, world!\n", "32MiB"},
    {"x86_64/hello_c", "Hello World!!!\n", "56MiB"},
};

/* The configurations every image must run in. */
static const struct {
	const char *name;
	uint32_t cpus;
	bool aslr;
	uint64_t memory;
} configs[] = {
    {"defaults", 1, true, 64ULL << 20},	  {"two vCPUs", 2, true, 64ULL << 20},
    {"four vCPUs", 4, true, 64ULL << 20}, {"no ASLR", 1, false, 64ULL << 20},
    {"small memory", 1, true, 0},	  {"1 GiB", 1, true, 1ULL << 30},
};

static int count_occurrences(const char *text, const char *needle)
{
	int count = 0;

	for (const char *at = strstr(text, needle); at;
	     at = strstr(at + 1, needle))
		count++;
	return count;
}

START_TEST(image_runs_through_library)
{
	size_t image = (size_t)_i / G_N_ELEMENTS(configs);
	size_t variant = (size_t)_i % G_N_ELEMENTS(configs);
	char *path = hermit_image_path(images[image].path);
	struct uhyve_config *config = uhyve_config_new();
	struct uhyve_vm *vm = NULL;
	char *error = NULL;
	int exit_code = -1;
	const uint8_t *output;
	char *text;
	size_t len;

	ck_assert_ptr_nonnull(path);
	uhyve_config_set_cpu_count(config, configs[variant].cpus, NULL);
	uhyve_config_set_aslr(config, configs[variant].aslr);
	if (configs[variant].memory) {
		uhyve_config_set_memory_size(config, configs[variant].memory,
					     NULL);
	} else {
		uint64_t bytes = strtoull(images[image].small_memory, NULL, 10)
				 << 20;

		uhyve_config_set_memory_size(config, bytes, NULL);
	}
	uhyve_config_set_output(config, UHYVE_OUTPUT_BUFFER, NULL, NULL);
	ck_assert_int_eq(uhyve_vm_create(config, path, &vm, &error), 0);
	ck_assert_msg(uhyve_vm_run(vm, &exit_code, &error) == 0,
		      "%s with %s: %s", images[image].path,
		      configs[variant].name, error);
	ck_assert_int_eq(exit_code, 0);
	output = uhyve_vm_output(vm, &len);
	text = g_strndup((const char *)output, len);
	ck_assert_msg(count_occurrences(text, images[image].greeting) == 1,
		      "%s with %s printed:\n%s", images[image].path,
		      configs[variant].name, text);
	g_free(text);
	uhyve_vm_destroy(vm);
	uhyve_config_free(config);
	g_free(path);
}
END_TEST

/* Runs the launcher; returns its exit status and stores its stdout. */
static int launch(const char *const *args, char **out)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	int wait_status = 0;
	char *err = NULL;

	g_ptr_array_add(argv, launcher_path());
	for (size_t i = 0; args[i]; i++)
		g_ptr_array_add(argv, g_strdup(args[i]));
	g_ptr_array_add(argv, NULL);
	ck_assert(g_spawn_sync(NULL, (char **)argv->pdata, NULL,
			       G_SPAWN_DEFAULT, NULL, NULL, out, &err,
			       &wait_status, NULL));
	g_free(err);
	g_ptr_array_unref(argv);
	return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

START_TEST(image_runs_through_launcher)
{
	static const char *const variants[][5] = {
	    {NULL},
	    {"-c", "2", NULL},
	    {"-c", "4", NULL},
	    {"--no-aslr", NULL},
	    {"-m", "SMALL", NULL},
	    {"-m", "1GiB", NULL},
	};
	size_t image = (size_t)_i / G_N_ELEMENTS(variants);
	size_t variant = (size_t)_i % G_N_ELEMENTS(variants);
	char *path = hermit_image_path(images[image].path);
	const char *args[8] = {NULL};
	char *out = NULL;
	size_t n = 0;

	ck_assert_ptr_nonnull(path);
	for (size_t i = 0; variants[variant][i]; i++) {
		const char *arg = variants[variant][i];

		args[n++] =
		    strcmp(arg, "SMALL") ? arg : images[image].small_memory;
	}
	args[n++] = path;
	ck_assert_int_eq(launch(args, &out), 0);
	ck_assert_int_eq(count_occurrences(out, images[image].greeting), 1);
	g_free(out);
	g_free(path);
}
END_TEST

START_TEST(image_starts_with_arguments)
{
	char *path = hermit_image_path("x86_64/hello_world");
	const char *args[] = {"-e", "GREETING=hi", path, "--", "a", "b", NULL};
	char *out = NULL;

	ck_assert_int_eq(launch(args, &out), 0);
	ck_assert_int_eq(count_occurrences(out, "Hello, world!\n"), 1);
	g_free(out);
	g_free(path);
}
END_TEST

static Suite *images_suite(void)
{
	Suite *suite = suite_create("images");
	TCase *runs = tcase_create("runs");
	int cases = (int)(G_N_ELEMENTS(images) * G_N_ELEMENTS(configs));

	tcase_set_timeout(runs, 300);
	tcase_add_loop_test(runs, image_runs_through_library, 0, cases);
	tcase_add_loop_test(runs, image_runs_through_launcher, 0, cases);
	tcase_add_test(runs, image_starts_with_arguments);
	suite_add_tcase(suite, runs);
	return suite;
}

int main(void)
{
	SRunner *runner;
	char *probe;
	int failed;

	require_kvm();
	probe = hermit_image_path("x86_64");
	if (!probe) {
		printf("SKIP: ../shared/hermit-images/x86_64 is missing\n");
		return TEST_SKIP_STATUS;
	}
	g_free(probe);
	if (!uhyve_feature_supported(UHYVE_FEATURE_INSTRUCTION_FALLBACK) &&
	    access("/sys/module/kvm_pvm", F_OK) == 0) {
		printf(
		    "SKIP: this host's KVM cannot run Hermit kernels without "
		    "the instruction fallback, and this build lacks it\n");
		return TEST_SKIP_STATUS;
	}
	runner = srunner_create(images_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
