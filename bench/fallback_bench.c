/* Measures how fast the instruction fallback runs SSE-heavy guest code on this
 * host's KVM. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fallback_fixture.h"

/* meson counts a benchmark that exits with this status as skipped. */
#define SKIP_STATUS 77

_Static_assert(FIXTURE_PORT_DONE == 0x10, "guest code uses port 0x10");

/*
 * Ten instructions per iteration: seven SSE instructions, which this
 * host's KVM cannot complete, and three integer ones. rcx counts the
 * iterations, rsi points at 16 bytes of data.
 */
GUEST_CODE(sse_loop, "1: movups (%rsi), %xmm0\n"
		     "mulps %xmm1, %xmm0\n"
		     "addps %xmm0, %xmm2\n"
		     "shufps $0x93, %xmm2, %xmm2\n"
		     "movaps %xmm2, %xmm3\n"
		     "sqrtps %xmm3, %xmm3\n"
		     "maxps %xmm3, %xmm4\n"
		     "add $1, %rdi\n"
		     "dec %ecx\n"
		     "jnz 1b\n"
		     "out %eax, $0x10\n");

/* The same loop without SSE, for the speed of KVM's own emulation. */
GUEST_CODE(integer_loop, "1: mov (%rsi), %eax\n"
			 "imul $3, %eax, %eax\n"
			 "add %eax, %edx\n"
			 "rol $7, %edx\n"
			 "mov %edx, %ebx\n"
			 "xor %ebx, %r8d\n"
			 "or %ebx, %r9d\n"
			 "add $1, %rdi\n"
			 "dec %ecx\n"
			 "jnz 1b\n"
			 "out %eax, $0x10\n");

#define INSTRUCTIONS_PER_ITERATION 10

struct result {
	double seconds;
	double fallback_seconds;
	uint64_t instructions; /* completed by the fallback */
	uint64_t calls;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Runs `iterations` of a loop in a fresh VM. Returns 0 or -errno. */
static int measure(const uint8_t *start, const uint8_t *end,
		   uint64_t iterations, uint64_t max_batch,
		   struct result *result)
{
	struct fixture f;
	struct kvm_regs regs;
	char *reason = NULL;
	uint64_t begin;
	int rc;

	rc = fixture_open(&f, &reason);
	if (rc) {
		fprintf(stderr, "cannot create the VM: %s\n",
			reason ? reason : strerror(-rc));
		free(reason);
		return rc;
	}
	uhyve_fallback_set_max_batch(f.fallback, max_batch);
	memset(fixture_host(&f, FIXTURE_DATA, 16), 0x3f, 16);
	fixture_load_code(&f, start, end);
	fixture_get_regs(&f, &regs);
	regs.rcx = iterations;
	regs.rsi = FIXTURE_DATA;
	fixture_set_regs(&f, &regs);

	begin = now_ns();
	rc = fixture_run(&f, UINT64_MAX);
	result->seconds = (double)(now_ns() - begin) / 1e9;
	result->fallback_seconds = (double)f.fallback_ns / 1e9;
	result->instructions = f.instructions;
	result->calls = f.fallback_calls;
	if (rc != FIXTURE_PORT_DONE) {
		fprintf(stderr, "the run failed with %d: %s\n", rc,
			f.error ? f.error : "no message");
		rc = rc < 0 ? rc : -EIO;
	} else {
		rc = 0;
	}
	fixture_close(&f);
	return rc;
}

static void print_result(const char *name, uint64_t max_batch,
			 uint64_t iterations, const struct result *r)
{
	double guest = (double)(iterations * INSTRUCTIONS_PER_ITERATION);

	printf("%-12s %9" PRIu64 " %10.0f %8" PRIu64
	       " %8.3f %6.1f%% %12.0f %12.0f %8.1f\n",
	       name, max_batch, guest, r->calls, r->seconds,
	       r->seconds > 0 ? 100.0 * r->fallback_seconds / r->seconds : 0,
	       guest / r->seconds,
	       r->fallback_seconds > 0
		   ? (double)r->instructions / r->fallback_seconds
		   : 0,
	       r->calls ? 1e6 * r->fallback_seconds / (double)r->calls : 0);
}

int main(void)
{
	static const struct {
		const char *name;
		uint64_t max_batch;
		uint64_t iterations;
	} sse_runs[] = {
	    {"sse", 1, 2000},	    {"sse", 64, 20000},
	    {"sse", 1024, 100000},  {"sse", 4096, 200000},
	    {"sse", 65536, 200000},
	};
	struct result result;
	int rc;

	printf("%-12s %9s %10s %8s %8s %7s %12s %12s %8s\n", "loop",
	       "max batch", "guest ins", "calls", "wall s", "in fb",
	       "ins/s total", "ins/s in fb", "us/call");

	rc =
	    measure(integer_loop_start, integer_loop_end, 20000, 4096, &result);
	if (rc == -ENODEV) {
		printf("SKIP: /dev/kvm is not available\n");
		return SKIP_STATUS;
	}
	if (rc)
		return EXIT_FAILURE;
	print_result("integer/KVM", 0, 20000, &result);

	for (size_t i = 0; i < sizeof(sse_runs) / sizeof(sse_runs[0]); i++) {
		rc = measure(sse_loop_start, sse_loop_end,
			     sse_runs[i].iterations, sse_runs[i].max_batch,
			     &result);
		if (rc)
			return EXIT_FAILURE;
		print_result(sse_runs[i].name, sse_runs[i].max_batch,
			     sse_runs[i].iterations, &result);
	}
	printf("\"in fb\" is the share of wall time spent in "
	       "uhyve_fallback_complete(); \"ins/s in fb\" counts the guest "
	       "instructions the fallback completed per second of its own "
	       "time.\n");
	return EXIT_SUCCESS;
}
