import { VirtualAllocator, hex } from '@kmem/virt-alloc';

// The lower half of a 48-bit address space, managed in 4 KiB pages.
const va = new VirtualAllocator({ start: 0x1000, end: 0x8000_0000_0000 });
va.take(0x40_0000, 0x20_0000, { tag: 'text' }); // the program image, at its fixed address
const heap = va.alloc(0x10_0000, { tag: 'heap' })!; // first fit: the lowest free range
const lib = va.alloc(0x20_0000, { alignBytes: 0x20_0000, tag: 'lib' })!; // 2 MiB aligned
va.free(heap, 0x8_0000); // munmap the first half of the heap: the block splits
for (const b of va.blocks()) console.log(b.used ? 'used' : 'free', hex(b.start), hex(b.end), b.tag ?? '');
console.log('lib at', hex(lib), '- used bytes:', va.stats().usedBytes);


// prints:
// free 0x1000 0x8_1000
// used 0x8_1000 0x10_1000 heap
// free 0x10_1000 0x20_0000
// used 0x20_0000 0x40_0000 lib
// used 0x40_0000 0x60_0000 text
// free 0x60_0000 0x8000_0000_0000
// lib at 0x20_0000 - used bytes: 4718592
