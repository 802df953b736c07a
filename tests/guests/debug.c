/* Test guest for the GDB tests: a function, globals it reads and writes,
 * a spin loop. */
#include "runtime.h"

/* Exit code of a run that reaches the end of guest_main. */
#define DEBUG_EXIT_CODE 42
/* Rounds of the loop that changes debug_counter. */
#define DEBUG_ROUNDS 3

/* Counts the rounds of the loop in guest_main, which reads it and then
 * writes it in each round. */
volatile uint64_t debug_counter;
/* Added to debug_counter in each round. The guest only reads it. */
volatile uint64_t debug_increment = 1;
/* guest_main spins while this is non-zero; a debugger clears it. */
volatile int debug_spin;
/* Read-only data for the memory tests. */
const char debug_greeting[] = "debug guest";

/* Returns first * 10 + second. The local lives on the stack so that a
 * debugger can read it at every line. */
__attribute__((noinline)) int debug_combine(int first, int second)
{
	volatile int combined = first * 10;

	combined += second;
	return combined;
}

/* With the kernel argument "spin", waits in a loop until a debugger clears
 * debug_spin before it exits. */
int guest_main(const struct hermit_boot_info *boot_info, unsigned cpu)
{
	char arg[16];
	int total = 0;

	(void)cpu;
	if (guest_first_arg(boot_info, arg, sizeof(arg)) >= 0 &&
	    guest_streq(arg, "spin"))
		debug_spin = 1;

	for (int round = 1; round <= DEBUG_ROUNDS; round++) {
		total += debug_combine(round, round);
		debug_counter = debug_counter + debug_increment;
	}
	while (debug_spin)
		guest_pause();

	guest_print(debug_greeting);
	guest_print(" total ");
	guest_print_i64(total);
	guest_print("\n");
	return DEBUG_EXIT_CODE;
}
