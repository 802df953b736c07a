/* The uhyve launcher: runs one Hermit kernel with the settings of its command
 * line, environment and configuration file. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Width of the first column of the statistics table and of the others. */
#define STATS_LABEL_WIDTH  22
#define STATS_COLUMN_WIDTH 12

/* Returns the counter at byte `offset` in a record of statistics. */
static uint64_t counter(const struct uhyve_vcpu_stats *stats, size_t offset)
{
	uint64_t value;

	memcpy(&value, (const char *)stats + offset, sizeof(value));
	return value;
}

/* Prints one row of counts, one column per vCPU. */
static void print_count_row(FILE *stream, const char *label,
			    const struct uhyve_vcpu_stats *stats, size_t count,
			    size_t offset)
{
	fprintf(stream, "%-*s", STATS_LABEL_WIDTH, label);
	for (size_t i = 0; i < count; i++)
		fprintf(stream, "%*llu", STATS_COLUMN_WIDTH,
			(unsigned long long)counter(&stats[i], offset));
	fputc('\n', stream);
}

static uint64_t total(const struct uhyve_vcpu_stats *stats, size_t count,
		      size_t offset)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < count; i++)
		sum += counter(&stats[i], offset);
	return sum;
}

/* Rows after the hypercalls: every kind of exit that is not a hypercall. */
static const struct {
	const char *label;
	size_t offset;
} exit_rows[] = {
    {"port reads", offsetof(struct uhyve_vcpu_stats, io_reads)},
    {"port writes", offsetof(struct uhyve_vcpu_stats, io_writes)},
    {"MMIO reads", offsetof(struct uhyve_vcpu_stats, mmio_reads)},
    {"MMIO writes", offsetof(struct uhyve_vcpu_stats, mmio_writes)},
    {"HLT", offsetof(struct uhyve_vcpu_stats, hlt)},
    {"debug", offsetof(struct uhyve_vcpu_stats, debug)},
};

/*
 * Prints a table with one column per vCPU: the number of each hypercall the
 * guest made, of the other kinds of exit, of the instructions the library
 * completed (only when there were any) and the run time.
 */
static void print_stats_table(FILE *stream,
			      const struct uhyve_vcpu_stats *stats,
			      size_t count)
{
	size_t fallbacks =
	    offsetof(struct uhyve_vcpu_stats, instruction_fallbacks);

	fprintf(stream, "%-*s", STATS_LABEL_WIDTH, "exits");
	for (size_t i = 0; i < count; i++) {
		char heading[32];

		snprintf(heading, sizeof(heading), "vCPU %zu", i);
		fprintf(stream, "%*s", STATS_COLUMN_WIDTH, heading);
	}
	fputc('\n', stream);

	for (int id = 0; id < UHYVE_HC_COUNT; id++) {
		size_t offset = offsetof(struct uhyve_vcpu_stats, hypercalls) +
				(size_t)id * sizeof(uint64_t);

		if (total(stats, count, offset))
			print_count_row(stream, uhyve_hypercall_name(id), stats,
					count, offset);
	}
	for (size_t row = 0; row < G_N_ELEMENTS(exit_rows); row++)
		print_count_row(stream, exit_rows[row].label, stats, count,
				exit_rows[row].offset);
	if (total(stats, count, fallbacks))
		print_count_row(stream, "instruction fallback", stats, count,
				fallbacks);

	fprintf(stream, "%-*s", STATS_LABEL_WIDTH, "run time (ms)");
	for (size_t i = 0; i < count; i++)
		fprintf(stream, "%*.3f", STATS_COLUMN_WIDTH,
			(double)stats[i].run_time_ns / 1e6);
	fputc('\n', stream);
}

static void print_stats(const struct uhyve_vm *vm)
{
	size_t count = uhyve_vm_stats(vm, NULL, 0);
	struct uhyve_vcpu_stats *stats = g_new0(struct uhyve_vcpu_stats, count);

	uhyve_vm_stats(vm, stats, count);
	print_stats_table(stderr, stats, count);
	g_free(stats);
}

/* Stops the VM when the launcher receives SIGINT, SIGTERM, SIGHUP, SIGUSR1,
 * SIGUSR2 or SIGALRM (whose default action ends the process), so
 * that the run ends through uhyve_vm_stop() and the VM's temporary
 * directory is removed. The signals are blocked in every other thread. */
struct signal_watch {
	pthread_t thread;
	sigset_t signals;
	struct uhyve_vm *vm;
	volatile sig_atomic_t received;
};

static void *watch_signals(void *opaque)
{
	struct signal_watch *watch = opaque;
	int signal_number;

	if (sigwait(&watch->signals, &signal_number) == 0) {
		watch->received = signal_number;
		uhyve_vm_stop(watch->vm);
	}
	return NULL;
}

static int start_signal_watch(struct signal_watch *watch, struct uhyve_vm *vm)
{
	watch->vm = vm;
	watch->received = 0;
	sigemptyset(&watch->signals);
	sigaddset(&watch->signals, SIGINT);
	sigaddset(&watch->signals, SIGTERM);
	sigaddset(&watch->signals, SIGHUP);
	sigaddset(&watch->signals, SIGUSR1);
	sigaddset(&watch->signals, SIGUSR2);
	sigaddset(&watch->signals, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &watch->signals, NULL);
	return pthread_create(&watch->thread, NULL, watch_signals, watch);
}

static void stop_signal_watch(struct signal_watch *watch)
{
	pthread_cancel(watch->thread);
	pthread_join(watch->thread, NULL);
}

static int run(struct launcher_options *options)
{
	struct signal_watch watch;
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

	if (start_signal_watch(&watch, vm)) {
		uhyve_vm_destroy(vm);
		return fail("starting the signal thread failed");
	}
	rc = uhyve_vm_run(vm, &exit_code, &message);
	stop_signal_watch(&watch);
	if (options->stats)
		print_stats(vm);
	uhyve_vm_destroy(vm);

	if (rc == -ECANCELED && watch.received) {
		fprintf(stderr, "uhyve: stopped by signal %s\n",
			strsignal(watch.received));
		free(message);
		return 128 + watch.received;
	}
	if (rc) {
		fail(message);
		free(message);
		return EXIT_LAUNCHER_FAILURE;
	}
	return exit_code & 0xff;
}

/* Opens /dev/null on descriptors 0, 1 and 2 where they are closed, so
 * that no file the library opens later takes their place. */
static void keep_standard_streams_open(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int null_fd = open("/dev/null", O_RDWR);

			if (null_fd >= 0 && null_fd != fd) {
				dup2(null_fd, fd);
				close(null_fd);
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct launcher_options options = {0};
	char *message = NULL;
	int status;

	keep_standard_streams_open();
	/* A reader that goes away makes writes fail with EPIPE, which ends
	 * the run with a message instead of killing the launcher before it
	 * cleans up. */
	signal(SIGPIPE, SIG_IGN);

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
	if (options.config_file && options.verbosity > 0)
		fprintf(stderr, "uhyve: info: read settings from %s\n",
			options.config_file);
	status = run(&options);
out:
	g_free(message);
	options_clear(&options);
	uhyve_config_free(options.config);
	return status;
}
