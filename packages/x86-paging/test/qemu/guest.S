/*
 * A tiny multiboot guest that runs kmem's page-walk cases on QEMU's x86 model (test/qemu-modes.test.ts).
 * It never sets up paging itself: the harness writes every table, the case list and the registers
 * of each case into guest RAM (-device loader). Per case it loads EFER, CR4, CR3 (PAE: the PDPTEs),
 * CR0 and RFLAGS.AC, makes ONE supervisor access (read / write / instruction fetch) at the case's
 * linear address, records the exception (vector, error code, CR2) or the value read, then copies
 * the case's page-table entries (to compare A/D bits) into the result. At the end it writes the
 * results to the debug console (port 0xe9) and exits through isa-debug-exit (port 0xf4).
 *
 * Memory (physical = linear: the harness identity-maps 0..64 MiB with 4 KiB supervisor pages in
 * every case's tables): 0x100000 this code, 0x200000 config, 0x200100 cases (64 bytes each),
 * 0x300000 results (64 bytes each), 0x400000.. page tables, 0x1000000..0x3000000 data pages.
 */
	.set CONFIG, 0x200000        /* u32 mode (1 = 32-bit, 2 = PAE, 3 = 4-level, 4 = 5-level), count, boot CR3, boot CR4, boot EFER */
	.set CASES, 0x200100         /* kind, cr0, cr4, efer, cr3, ac, va lo, va hi, token, pad, 5 x entry pa */
	.set RESULTS, 0x300000       /* vector, error code, cr2 lo, cr2 hi, value, pad, 5 x u64 entry */
	.set EFER_MSR, 0xc0000080

	.section .multiboot, "a"
	.align 4
	.long 0x1badb002, 0, -0x1badb002

	.section .data
	.align 16
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff     /* 0x08: 32-bit code, flat */
	.quad 0x00cf92000000ffff     /* 0x10: data, flat */
	.quad 0x00af9a000000ffff     /* 0x18: 64-bit code */
gdtr:
	.word gdtr - gdt - 1
	.long gdt
	.align 16
idt32:
	.space 256
idtr32:
	.word 32 * 8 - 1
	.long idt32
	.align 16
idt64:
	.space 512
idtr64:
	.word 32 * 16 - 1
	.long idt64, 0
saved_sp:
	.quad 0
fault_count:
	.long 0

	.section .bss
	.align 16
	.space 16384
stack_top:

	.section .text
	.code32
	.global _start
_start:
	cli
	lgdt gdtr
	ljmp $0x08, $1f
1:	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	mov $stack_top, %esp
	/* IDT gates for vectors 0..31, both formats (interrupt gates, DPL 0). */
	xor %ecx, %ecx
2:	mov stubs32(,%ecx,4), %eax
	mov %eax, %edx
	and $0xffff, %eax
	or $0x00080000, %eax
	mov %eax, idt32(,%ecx,8)
	and $0xffff0000, %edx
	or $0x8e00, %edx
	mov %edx, idt32+4(,%ecx,8)
	mov stubs64(,%ecx,4), %eax
	mov %eax, %edx
	and $0xffff, %eax
	or $0x00180000, %eax
	mov %ecx, %ebx
	shl $4, %ebx
	mov %eax, idt64(%ebx)
	and $0xffff0000, %edx
	or $0x8e00, %edx
	mov %edx, idt64+4(%ebx)
	inc %ecx
	cmp $32, %ecx
	jb 2b
	/* Boot registers: EFER (LME for the long modes), CR4 (PAE, LA57), CR3, then CR0.PG. */
	mov $EFER_MSR, %ecx
	mov CONFIG+16, %eax
	xor %edx, %edx
	wrmsr
	mov CONFIG+12, %eax
	mov %eax, %cr4
	mov CONFIG+8, %eax
	mov %eax, %cr3
	mov %cr0, %eax
	or $0x80010001, %eax
	mov %eax, %cr0
	cmpl $3, CONFIG
	jae long_mode
	lidt idtr32
	xor %esi, %esi
loop32:
	cmp CONFIG+4, %esi
	jae done32
	mov %esi, %ebx
	shl $6, %ebx
	add $CASES, %ebx
	mov %esi, %edi
	shl $6, %edi
	add $RESULTS, %edi
	movl $0xffffffff, (%edi)
	mov $EFER_MSR, %ecx
	mov 12(%ebx), %eax
	xor %edx, %edx
	wrmsr
	mov 8(%ebx), %eax
	mov %eax, %cr4
	mov 16(%ebx), %eax
	mov %eax, %cr3
	mov 4(%ebx), %eax
	mov %eax, %cr0
	pushf
	pop %eax
	and $~0x40000, %eax
	cmpl $0, 20(%ebx)
	je 3f
	or $0x40000, %eax
3:	push %eax
	popf
	mov %esp, saved_sp
	mov 24(%ebx), %edx
	mov (%ebx), %eax
	cmp $1, %eax
	je 4f
	cmp $2, %eax
	je 5f
	mov (%edx), %eax
	mov %eax, 16(%edi)
	jmp resume32
4:	mov 32(%ebx), %eax
	mov %eax, (%edx)
	jmp resume32
5:	call *%edx
resume32:
	mov saved_sp, %esp
	pushf
	pop %eax
	and $~0x40000, %eax
	push %eax
	popf
	mov %esi, %ebx
	shl $6, %ebx
	add $CASES, %ebx
	mov %esi, %edi
	shl $6, %edi
	add $RESULTS, %edi
	xor %ecx, %ecx
6:	mov 40(%ebx,%ecx,4), %eax
	test %eax, %eax
	jz 7f
	mov (%eax), %edx
	mov %edx, 24(%edi,%ecx,8)
	mov 4(%eax), %edx
	mov %edx, 28(%edi,%ecx,8)
7:	inc %ecx
	cmp $5, %ecx
	jb 6b
	inc %esi
	jmp loop32
done32:
	mov CONFIG+4, %ecx
	shl $6, %ecx
	mov $RESULTS, %esi
	mov $0xe9, %dx
	cld
	rep outsb
	mov $0, %al
	out %al, $0xf4
	hlt

common32:
	/* stack: vector, error code, eip, cs, eflags */
	pop %eax
	pop %ecx
	incl fault_count
	cmpl $100000, fault_count
	ja panic
	mov %esi, %edi
	shl $6, %edi
	add $RESULTS, %edi
	mov %eax, (%edi)
	mov %ecx, 4(%edi)
	mov %cr2, %eax
	mov %eax, 8(%edi)
	movl $0, 12(%edi)
	movl $resume32, (%esp)
	iret
panic:
	mov $1, %al
	out %al, $0xf4
	hlt

	.macro stub32 n
stub32_\n:
	.if (\n == 8) || ((\n >= 10) && (\n <= 14)) || (\n == 17)
	.else
	push $0
	.endif
	push $\n
	jmp common32
	.endm
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	stub32 \n
	.endr

long_mode:
	ljmp $0x18, $long64

	.code64
long64:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	lidt idtr64
	xor %esi, %esi
loop64:
	cmp CONFIG+4, %esi
	jae done64
	mov %esi, %ebx
	shl $6, %ebx
	add $CASES, %ebx
	mov %esi, %edi
	shl $6, %edi
	add $RESULTS, %edi
	movl $0xffffffff, (%rdi)
	mov $EFER_MSR, %ecx
	mov 12(%rbx), %eax
	xor %edx, %edx
	wrmsr
	mov 8(%rbx), %eax
	mov %rax, %cr4
	mov 16(%rbx), %eax
	mov %rax, %cr3
	mov 4(%rbx), %eax
	mov %rax, %cr0
	pushfq
	pop %rax
	and $~0x40000, %rax
	cmpl $0, 20(%rbx)
	je 3f
	or $0x40000, %rax
3:	push %rax
	popfq
	mov %rsp, saved_sp
	mov 24(%rbx), %rdx
	mov (%rbx), %eax
	cmp $1, %eax
	je 4f
	cmp $2, %eax
	je 5f
	mov (%rdx), %eax
	mov %eax, 16(%rdi)
	jmp resume64
4:	mov 32(%rbx), %eax
	mov %eax, (%rdx)
	jmp resume64
5:	call *%rdx
resume64:
	mov saved_sp, %rsp
	pushfq
	pop %rax
	and $~0x40000, %rax
	push %rax
	popfq
	mov %esi, %ebx
	shl $6, %ebx
	add $CASES, %ebx
	mov %esi, %edi
	shl $6, %edi
	add $RESULTS, %edi
	xor %ecx, %ecx
6:	mov 40(%rbx,%rcx,4), %eax
	test %eax, %eax
	jz 7f
	mov (%rax), %rdx
	mov %rdx, 24(%rdi,%rcx,8)
7:	inc %ecx
	cmp $5, %ecx
	jb 6b
	inc %esi
	jmp loop64
done64:
	mov CONFIG+4, %ecx
	shl $6, %ecx
	mov $RESULTS, %esi
	mov $0xe9, %dx
	cld
	rep outsb
	mov $0, %al
	out %al, $0xf4
	hlt

common64:
	/* stack: vector, error code, rip, cs, rflags, rsp, ss */
	pop %rax
	pop %rcx
	incl fault_count
	cmpl $100000, fault_count
	ja panic64
	mov %esi, %edi
	shl $6, %edi
	add $RESULTS, %edi
	mov %eax, (%rdi)
	mov %ecx, 4(%rdi)
	mov %cr2, %rax
	mov %rax, 8(%rdi)
	movq $resume64, (%rsp)
	iretq
panic64:
	mov $1, %al
	out %al, $0xf4
	hlt

	.macro stub64 n
stub64_\n:
	.if (\n == 8) || ((\n >= 10) && (\n <= 14)) || (\n == 17)
	.else
	push $0
	.endif
	push $\n
	jmp common64
	.endm
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	stub64 \n
	.endr

	.section .data
stubs32:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long stub32_\n
	.endr
stubs64:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long stub64_\n
	.endr
