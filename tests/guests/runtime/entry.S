/* Guest entry point: gives each secondary vCPU its own stack. */
#include "runtime.h"

/*
 * Every vCPU starts here at the same time with rdi = gpa of the boot
 * information, rsi = vCPU number and the same rsp, which only vCPU 0 may
 * use. vCPU n > 0 takes the slice of guest_ap_stacks that ends at
 * n * GUEST_AP_STACK_SIZE, before it touches the stack.
 */
	.section .text._start, "ax", @progbits
	.globl _start
	.type _start, @function
_start:
	test %rsi, %rsi
	jz 1f
	cmp $GUEST_MAX_CPUS, %rsi
	jae 2f
	mov %rsi, %rax
	shl $GUEST_AP_STACK_SHIFT, %rax
	lea guest_ap_stacks(%rip), %rsp
	add %rax, %rsp
1:
	and $-16, %rsp
	xor %ebp, %ebp
	call guest_entry
2:
	cli
	hlt
	jmp 2b
	.size _start, . - _start

	.section .bss.guest_ap_stacks, "aw", @nobits
	.balign 16
guest_ap_stacks:
	.skip (GUEST_MAX_CPUS - 1) * GUEST_AP_STACK_SIZE
	.size guest_ap_stacks, . - guest_ap_stacks

	.section .note.GNU-stack, "", @progbits
