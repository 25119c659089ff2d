// The three layouts that ship, taken from the kernels this project models.
import type { Layout } from './layout';
import { linearFromCanonical as c, validateLayout } from './layout';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
/** Linear start of the kernel half (canonical 0xffff_8000_0000_0000). */
const K = 0x8000_0000_0000;
/** 2^47: one past the last user address 0x0000_7fff_ffff_ffff. */
const USER_TOP = 0x8000_0000_0000;
/**
 * Linux's TASK_SIZE_MAX for 4-level paging, 0x0000_7fff_ffff_f000: the Linux-like layouts end
 * user space one page below the canonical hole, so the last page 0x7fff_ffff_f000 is never mapped
 * (returning with SYSRET to a non-canonical RIP after executing there is a known privilege-escalation
 * hazard on Intel CPUs, which is why Linux keeps it unmapped).
 */
const TASK_SIZE_MAX = USER_TOP - 0x1000;

/**
 * `identity-low`: seed 000 (Comus), a small teaching kernel that never leaves the lower half.
 * The kernel lives from 1 MiB to 129 MiB: its image and boot stack identity-mapped (va = pa), its
 * "paging page tables" (the seed's own name) at 18 MiB — page tables inside the kernel whose
 * entries are pointed at any other table frame on demand, which is how Comus edits its tables
 * (the `window` table access; the Kernel option `tableAccess: 'physical'` reaches them at their
 * physical addresses instead) — and the heap above them. User programs and their heap live above
 * 129 MiB; the user stack grows down from 0x0000_7fff_ffff_ffff, the last byte below the canonical
 * hole, as the seed says. Differences from the seed, each stated in the layout table too: heap
 * pages come from any free frame (va ≠ pa: demanding exact frames would starve the heap once
 * processes took low memory); kernel space ends at 128 MiB, since the page table for 128-130 MiB
 * also serves user pages from 129 MiB and the kernel's tables are shared with every process. Seed
 * 000's user range runs to 2^47, so unlike the Linux-like layouts the last page
 * 0x7fff_ffff_f000 may be mapped (and holds the top of the stack): code executed there would
 * SYSRET to the non-canonical RIP 0x8000_0000_0000 (see the kernel-sim README, "Layouts").
 */
export const IDENTITY_LOW: Layout = validateLayout({
  name: 'identity-low',
  description: "Seed 000: kernel from 1 MiB to 129 MiB (image and stack identity-mapped, the paging page tables, the heap); user program and heap above it; user stack top at 0x0000_7fff_ffff_ffff.",
  regions: [
    { name: 'kernel-image', role: 'kernel-image', start: 1 * MiB, end: 17 * MiB, purpose: 'kernel binary (text, rodata, data, bss)', identityMapped: true },
    { name: 'kernel-stack', role: 'kernel-stack', start: 17 * MiB, end: 18 * MiB, purpose: 'kernel stacks', identityMapped: true },
    { name: 'paging-page-tables', role: 'table-window', start: 18 * MiB, end: 20 * MiB, purpose: "seed 000's paging page tables: windows pointed at any page-table frame on demand (va != pa)" },
    { name: 'kernel-heap', role: 'kernel-heap', start: 20 * MiB, end: 128 * MiB, purpose: 'kernel heap, pages from any free frame (va != pa, not identity-mapped)' },
    { name: 'unused', role: 'other', start: 128 * MiB, end: 129 * MiB, purpose: 'kernel space ends at 128 MiB: the 128-130 MiB page table also serves user pages' },
  ],
  userRange: { start: 129 * MiB, end: USER_TOP },
  userStackTop: USER_TOP,
  kernelPhysicalBase: 1 * MiB,
  tableAccess: 'window',
});

/**
 * `higher-half`: a kernel in the top half at 0xffff_8000_0000_0000 with 16 MiB of scratch and
 * stacks, its binary at +16 MiB (128 MiB), a 4 KiB slab area at +144 MiB, the heap from +1 GiB
 * to +32 GiB and a direct map of all physical memory at +4 TiB (64 TiB reserved, as Linux's
 * 4-level direct map). Page tables are reached through the direct map. User space ends at Linux's
 * TASK_SIZE_MAX, 0x0000_7fff_ffff_f000: the last page below the canonical hole is never mapped.
 */
export const HIGHER_HALF: Layout = validateLayout({
  name: 'higher-half',
  description: 'Kernel half at 0xffff_8000_0000_0000: scratch/stacks, kernel binary at +16 MiB, slab area at +144 MiB, heap 1..32 GiB, direct map of physical memory at +4 TiB.',
  regions: [
    { name: 'scratch-and-stacks', role: 'kernel-stack', start: K, end: K + 16 * MiB, purpose: 'scratch space and kernel stacks' },
    { name: 'kernel-image', role: 'kernel-image', start: K + 16 * MiB, end: K + 144 * MiB, purpose: 'kernel binary: text R-X, rodata R--, data/bss RW- NX' },
    // Seed 001: 'slab allocator 4k, 144 MiB + 112 MiB'.
    { name: 'slab', role: 'slab', start: K + 144 * MiB, end: K + 256 * MiB, purpose: '4 KiB slab cache (page-sized kernel objects, kmalloc(4096))' },
    { name: 'kernel-heap', role: 'kernel-heap', start: K + 1 * GiB, end: K + 32 * GiB, purpose: 'kernel heap (pages mapped on demand)' },
    { name: 'direct-map', role: 'direct-map', start: K + 4 * TiB, end: K + 68 * TiB, purpose: 'direct map of all physical memory (pa + offset)' },
  ],
  userRange: { start: 0x40_0000, end: TASK_SIZE_MAX },
  userStackTop: TASK_SIZE_MAX,
  // Linux's default CONFIG_PHYSICAL_START: virtual - physical = 0xffff_8000_0000_0000, 2 MiB aligned.
  kernelPhysicalBase: 16 * MiB,
  tableAccess: 'direct-map',
});

/**
 * `limine-higher-half`: the layout a Limine-booted kernel gets. The higher-half direct map
 * (HHDM) of physical memory at 0xffff_8000_0000_0000, the kernel in the top 2 GiB
 * (0xffff_ffff_8000_0000, the `-mcmodel=kernel` range), userland from 0x4000_0000, where a PIE is
 * placed unless exec is given a `loadBias` (BoredOS's user programs start there). Heap and
 * stacks are this layout's choice (Limine does not place them). User space ends at Linux's
 * TASK_SIZE_MAX, 0x0000_7fff_ffff_f000: the last page below the canonical hole is never mapped.
 */
export const LIMINE_HIGHER_HALF: Layout = validateLayout({
  name: 'limine-higher-half',
  description: 'Limine-style: HHDM at 0xffff_8000_0000_0000, kernel in the top 2 GiB, userland (and the default PIE base) from 0x4000_0000.',
  regions: [
    { name: 'hhdm', role: 'direct-map', start: c('0xffff_8000_0000_0000'), end: c('0xffff_c000_0000_0000'), purpose: 'higher-half direct map of physical memory (Limine HHDM)' },
    { name: 'kernel-heap', role: 'kernel-heap', start: c('0xffff_c000_0000_0000'), end: c('0xffff_c008_0000_0000'), purpose: 'kernel heap (pages mapped on demand)' },
    { name: 'kernel-stacks', role: 'kernel-stack', start: c('0xffff_ffff_0000_0000'), end: c('0xffff_ffff_0100_0000'), purpose: 'kernel stacks' },
    { name: 'kernel-image', role: 'kernel-image', start: c('0xffff_ffff_8000_0000'), end: c('0x1_0000_0000_0000_0000'), purpose: 'kernel binary, top 2 GiB (-mcmodel=kernel)' },
  ],
  userRange: { start: 0x4000_0000, end: TASK_SIZE_MAX },
  userStackTop: TASK_SIZE_MAX,
  // Seed 003 (BoredOS): user programs start at 0x4000_0000, PIEs included.
  pieBase: 0x4000_0000,
  kernelPhysicalBase: 2 * MiB,
  tableAccess: 'direct-map',
});

/** The shipped layouts by name. */
export const LAYOUTS: Readonly<Record<'identity-low' | 'higher-half' | 'limine-higher-half', Layout>> = Object.freeze({
  'identity-low': IDENTITY_LOW,
  'higher-half': HIGHER_HALF,
  'limine-higher-half': LIMINE_HIGHER_HALF,
});

/**
 * `higher-half-3g`: seed 002's 32-bit kernel, its virtual address space exactly as the seed's
 * table gives it. The kernel owns the top GiB from 0xc000_0000 (PDEs 768-1023, the same in every
 * page directory); the recursive PDE 1023 shows the page directory at 0xffff_f000 and every page
 * table at 0xffc0_0000-0xffff_efff, the kernel's only way to edit its tables. The kernel image is
 * loaded at 1 MiB physical by a multiboot1 loader and reached at 0xc010_0000 (0xc000_0000 maps the
 * first 4 MiB of physical memory). User space is the low 3 GiB: program text where the ELF says
 * (0x0804_8000 is the i386 default) and the brk heap below 0x4000_0000, shared libraries and mmap
 * from 0x4000_0000 up (Linux's legacy i386 layout), the stack's 8 MiB below 0xc000_0000.
 */
export const HIGHER_HALF_3G: Layout = validateLayout({
  name: 'higher-half-3g',
  description: "Seed 002's 32-bit higher-half kernel: kernel at 0xc000_0000 (first 4 MiB), heap 0xc040_0000-0xff3f_ffff, stacks 0xff40_0000-0xffbf_ffff, page tables and directory through the recursive PDE 1023; user space below 0xc000_0000.",
  pagingMode: '32-bit',
  regions: [
    { name: 'kernel-image', role: 'kernel-image', start: 0xc000_0000, end: 0xc040_0000, purpose: 'kernel: the first 4 MiB of physical memory, image at 1 MiB (0xc010_0000)' },
    { name: 'kernel-heap', role: 'kernel-heap', start: 0xc040_0000, end: 0xff40_0000, purpose: 'kernel heap (~1 GiB, kmalloc)' },
    { name: 'kernel-stack', role: 'kernel-stack', start: 0xff40_0000, end: 0xffc0_0000, purpose: 'kernel stack (8 MiB)' },
    { name: 'page-tables', role: 'table-window', start: 0xffc0_0000, end: 0xffff_f000, purpose: 'page tables, through the recursive PDE 1023 (4 MiB less the directory page)' },
    { name: 'page-directory', role: 'table-window', start: 0xffff_f000, end: 0x1_0000_0000, purpose: 'page directory, through the recursive PDE 1023 (4 KiB)' },
  ],
  userRange: { start: 0x1_0000, end: 0xc000_0000 },
  userRegions: [
    { name: 'user-image-and-heap', role: 'user-heap', start: 0x1_0000, end: 0x4000_0000, purpose: 'program text where the ELF says (0x0804_8000 by default), brk heap above it, below 0x3fff_ffff' },
    { name: 'user-mmap', role: 'user-mmap', start: 0x4000_0000, end: 0xbf80_0000, purpose: 'shared libraries and mmap, placed upwards from 0x4000_0000' },
    { name: 'user-stack', role: 'user-stack', start: 0xbf80_0000, end: 0xc000_0000, purpose: 'user stack (8 MiB), grows down from 0xbfff_ffff, guard gap below' },
  ],
  userStackTop: 0xc000_0000,
  kernelPhysicalBase: 1 * MiB,
  tableAccess: 'recursive',
  recursiveSlot: 1023,
});

/**
 * The shipped 32-bit layouts by name: run by the 32-bit kernel, not by the 4-level `Kernel`
 * (whose {@link LAYOUTS} they are not part of).
 */
export const LAYOUTS_32: Readonly<Record<'higher-half-3g', Layout>> = Object.freeze({
  'higher-half-3g': HIGHER_HALF_3G,
});
