import { ArrayBufferPhysicalMemory, Mapper, PTE, PageSize, PhysicalTableAccess, SimpleFrameAllocator, formatPa, formatVa, virt } from '@kmem/x86-paging';

const memory = new ArrayBufferPhysicalMemory(16 * 1024 * 1024); // emulated RAM at pa 0
const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount: 256 }); // table frames
const mapper = Mapper.create({ access: new PhysicalTableAccess(memory), allocator })!;

const kernel = virt('0xffff_8000_0000_0000'); // 48-bit linear form
mapper.mapPages(kernel, 0x20_0000, 2, PTE.Writable | PTE.NoExecute, { pageSize: PageSize.Size2M });
mapper.mapPages(0x40_0000, 0x9000, 1, PTE.Writable | PTE.User);
console.log(mapper.formatMappings());
console.log(mapper.formatWalk(0x40_0123));
const [gone] = mapper.unmapPages(kernel + 0x1000, 1)!; // splits the first 2 MiB page
console.log(`unmapped ${formatVa(gone!.va)} -> ${formatPa(gone!.pa)}, tables: ${mapper.tableFrameCount}`);


// prints:
// 0x0000_0000_0040_0000-0x0000_0000_0040_1000 0x1000 urwx 4K -> 0x9000
// 0xffff_8000_0000_0000-0xffff_8000_0040_0000 0x40_0000 -rw- 2M -> 0x20_0000
// walk of 0x0000_0000_0040_0123
//   PML4[  0] @0x10_0000 = 0x0000_0000_0010_3007 -> table 0x10_3000  P RW US
//   PDPT[  0] @0x10_3000 = 0x0000_0000_0010_4007 -> table 0x10_4000  P RW US
//   PD  [  2] @0x10_4010 = 0x0000_0000_0010_5007 -> table 0x10_5000  P RW US
//   PT  [  0] @0x10_5000 = 0x0000_0000_0000_9007 -> 4K page 0x9000  P RW US
// unmapped 0xffff_8000_0000_1000 -> 0x20_1000, tables: 7
