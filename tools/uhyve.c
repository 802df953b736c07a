/* The uhyve launcher: runs one Hermit kernel with the settings of its command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

/* Exit status for uhyve's own failures, as opposed to the guest's code. */
#define EXIT_LAUNCHER_FAILURE 125

static int fail(const char *message)
{
	fprintf(stderr, "uhyve: error: %s\n", message ? message : "failed");
	return EXIT_LAUNCHER_FAILURE;
}

static void log_handler(const gchar *domain, GLogLevelFlags level,
			const gchar *message, gpointer data)
{
	const char *name = "debug";

	(void)domain;
	(void)data;
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		name = "error";
	else if (level & G_LOG_LEVEL_WARNING)
		name = "warning";
	else if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
		name = "info";
	fprintf(stderr, "uhyve: %s: %s\n", name, message);
}

static enum uhyve_log_level log_level(int verbosity)
{
	if (verbosity >= 2)
		return UHYVE_LOG_DEBUG;
	if (verbosity == 1)
		return UHYVE_LOG_INFO;
	return UHYVE_LOG_WARNING;
}

static int mount_all(struct uhyve_vm *vm, GPtrArray *mappings)
{
	for (guint i = 0; i < mappings->len; i++) {
		const char *mapping = mappings->pdata[i];
		const char *colon = strrchr(mapping, ':');
		char *host = g_strndup(mapping, (gsize)(colon - mapping));
		char *message = NULL;
		int rc = uhyve_vm_mount(vm, host, colon + 1, &message);

		g_free(host);
		if (rc) {
			fail(message);
			free(message);
			return rc;
		}
	}
	return 0;
}

static void print_stats(const struct uhyve_vm *vm)
{
	size_t count = uhyve_vm_stats(vm, NULL, 0);
	struct uhyve_vcpu_stats *stats = g_new0(struct uhyve_vcpu_stats, count);

	uhyve_vm_stats(vm, stats, count);
	for (size_t i = 0; i < count; i++) {
		const struct uhyve_vcpu_stats *s = &stats[i];

		fprintf(stderr, "vCPU %zu: run time %.3f ms\n", i,
			(double)s->run_time_ns / 1e6);
		for (int id = 0; id < UHYVE_HC_COUNT; id++) {
			if (s->hypercalls[id])
				fprintf(stderr, "  %-20s %llu\n",
					uhyve_hypercall_name(id),
					(unsigned long long)s->hypercalls[id]);
		}
		fprintf(stderr,
			"  %-20s %llu\n  %-20s %llu\n  %-20s %llu\n"
			"  %-20s %llu\n  %-20s %llu\n  %-20s %llu\n"
			"  %-20s %llu\n",
			"port reads", (unsigned long long)s->io_reads,
			"port writes", (unsigned long long)s->io_writes,
			"MMIO reads", (unsigned long long)s->mmio_reads,
			"MMIO writes", (unsigned long long)s->mmio_writes,
			"HLT", (unsigned long long)s->hlt, "debug",
			(unsigned long long)s->debug, "instruction fallback",
			(unsigned long long)s->instruction_fallbacks);
	}
	g_free(stats);
}

static int run(struct launcher_options *options)
{
	struct uhyve_vm *vm = NULL;
	char *message = NULL;
	int exit_code = 0;
	int rc;

	rc = uhyve_vm_create(options->config, options->kernel, &vm, &message);
	if (rc) {
		fail(message);
		free(message);
		return EXIT_LAUNCHER_FAILURE;
	}
	if (mount_all(vm, options->mappings)) {
		uhyve_vm_destroy(vm);
		return EXIT_LAUNCHER_FAILURE;
	}

	rc = uhyve_vm_run(vm, &exit_code, &message);
	if (options->stats)
		print_stats(vm);
	uhyve_vm_destroy(vm);
	if (rc) {
		fail(message);
		free(message);
		return EXIT_LAUNCHER_FAILURE;
	}
	return exit_code & 0xff;
}

int main(int argc, char **argv)
{
	struct launcher_options options = {0};
	char *message = NULL;
	int status;

	options.config = uhyve_config_new();
	if (!options.config)
		return fail("out of memory");

	if (options_parse(argc, argv, &options, &message)) {
		status = fail(message);
		goto out;
	}
	if (options.help) {
		options_print_help(stdout);
		status = 0;
		goto out;
	}
	if (options.version) {
		printf("uhyve %s\n", uhyve_version());
		status = 0;
		goto out;
	}

	uhyve_config_set_log_level(options.config,
				   log_level(options.verbosity));
	g_log_set_handler("uhyve", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL,
			  log_handler, NULL);
	status = run(&options);
out:
	g_free(message);
	options_clear(&options);
	uhyve_config_free(options.config);
	return status;
}
