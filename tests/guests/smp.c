/* Test guest in which every vCPU reports once before vCPU 0 exits with 0. */
#include "runtime.h"

static int output_lock;
static uint64_t reported;

static void report(unsigned cpu)
{
	guest_spin_lock(&output_lock);
	guest_print("cpu ");
	guest_print_u64(cpu);
	guest_print(" reporting\n");
	guest_spin_unlock(&output_lock);
	__atomic_add_fetch(&reported, 1, __ATOMIC_SEQ_CST);
}

void guest_ap_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	(void)boot_info;
	report(cpu);
}

int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	uint64_t count = boot_info->cpu_count;

	if (count > GUEST_MAX_CPUS) {
		guest_print("too many vCPUs: ");
		guest_print_u64(count);
		guest_print(", but the guest has stacks for ");
		guest_print_u64(GUEST_MAX_CPUS);
		guest_print("\n");
		return 1;
	}
	report(cpu);
	while (__atomic_load_n(&reported, __ATOMIC_SEQ_CST) < count)
		guest_pause();

	guest_spin_lock(&output_lock);
	guest_print("all ");
	guest_print_u64(count);
	guest_print(" cpus reported\n");
	guest_spin_unlock(&output_lock);
	return 0;
}
