import { Kernel, Machine, formatCanonical, formatPhysical, normalizeMemoryMap, parseE820Log } from '@kmem/kernel-sim';

// Lines from a Linux boot log (END inclusive); the ACPI NVS entry overlaps usable RAM.
const log = `[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
[    0.000000] BIOS-e820: [mem 0x0000000000100000-0x00000000bfffffff] usable
[    0.000000] BIOS-e820: [mem 0x00000000bff00000-0x00000000bfffffff] ACPI NVS
[    0.000000] BIOS-e820: [mem 0x0000000100000000-0x0000000fffffffff] usable`;
const { regions, changes } = normalizeMemoryMap(parseE820Log(log));
for (const r of regions) console.log(`${r.kind.padEnd(9)} ${formatPhysical(r.base)} +${formatPhysical(r.lengthBytes)}`);
console.log(changes.map((c) => (c.type === 'overlap-resolved' ? `${c.kinds.join(' vs ')} at ${formatPhysical(c.base)}: ${c.winner}` : c.type)).join('\n'));
const kernel = new Kernel(new Machine({ memoryMap: regions }), { layout: 'higher-half' });
for (const e of kernel.bootSteps()) console.log(`${e.index + 1}. ${e.step}: ${e.summary}`);
const p = kernel.kmalloc(64)!;
console.log(`kmalloc(64) = ${formatCanonical(p)} -> ${formatPhysical(kernel.kernelMapper.translate(p)!.pa)}`);
kernel.checkInvariants();
console.log(`${kernel.memory.touchedFrameCount} frames touched; host ${(kernel.memory.hostBytes / 2 ** 20).toFixed(1)} MiB`);


// prints:
// usable    0x0000 +0x0009_fc00
// usable    0x0010_0000 +0xbfe0_0000
// acpi-nvs  0xbff0_0000 +0x0010_0000
// usable    0x0001_0000_0000 +0x000f_0000_0000
// usable vs acpi-nvs at 0xbff0_0000: acpi-nvs
// 1. memory-map: 4 regions, 63.00 GiB RAM, 63.00 GiB usable
// 2. frame-allocator: bitmap of 16777216 frames at 0x0010_0000 (512 frames); 16513536 frames free
// 3. bootstrap-tables: boot tables in .bss at 0x011f_7000: 5 tables, CR3 = 0x011f_7000
// 4. table-access: page tables reached by direct-map; kernel PML4 at 0x0030_0000; direct map of 63.00 GiB at 0xffff_8400_0000_0000
// 5. kernel-vas: kernel space 0xffff_8000_0000_0000..0x1_0000_0000_0000_0000: 5 layout regions taken, 63.97 TiB free
// 6. remap-kernel: kernel remapped with 4 KiB pages (text R-X, rodata R--, data/bss RW- NX); CR3 = 0x0030_0000; WP, NXE, PGE, SMEP on
// 7. kernel-heap: kernel heap at 0xffff_8000_4000_0000 (up to 31 GiB in 16 arenas of at most 2 GiB), 0 pages mapped; 4 KiB slab cache at 0xffff_8000_0900_0000 (28672 objects)
// 8. kernel-stack: kernel stack moved from 0xffff_8000_0120_0000 to 0xffff_8000_00ff_c000..0xffff_8000_0100_0000, guard page at 0xffff_8000_00ff_b000
// kmalloc(64) = 0xffff_8000_4000_0040 -> 0x0040_a040
// 530 frames touched; host 2.4 MiB
