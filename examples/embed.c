/* A program that embeds libuhyve: create a VM, mount a host directory, run it.
 */
#include <stdio.h>
#include <stdlib.h>

#include <uhyve/uhyve.h>

/* Prints the library's message for a failed call and frees it. */
static int report(const char *call, int rc, char *message)
{
	fprintf(stderr, "embed: %s failed (%d): %s\n", call, rc,
		message ? message : "no message");
	free(message);
	return 1;
}

int main(int argc, char **argv)
{
	struct uhyve_config *config;
	struct uhyve_vm *vm = NULL;
	char *message = NULL;
	int exit_code = 0;
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: %s KERNEL [HOST_DIR]\n", argv[0]);
		return 2;
	}

	config = uhyve_config_new();
	if (!config)
		return 1;
	uhyve_config_set_cpu_count(config, 2, NULL);
	uhyve_config_add_kernel_arg(config, "embedded", NULL);

	rc = uhyve_vm_create(config, argv[1], &vm, &message);
	uhyve_config_free(config);
	if (rc)
		return report("uhyve_vm_create", rc, message);

	if (argc > 2) {
		rc = uhyve_vm_mount(vm, argv[2], "/data", &message);
		if (rc) {
			uhyve_vm_destroy(vm);
			return report("uhyve_vm_mount", rc, message);
		}
	}

	rc = uhyve_vm_run(vm, &exit_code, &message);
	uhyve_vm_destroy(vm);
	if (rc)
		return report("uhyve_vm_run", rc, message);

	printf("embed: the guest exited with code %d\n", exit_code);
	return exit_code;
}
