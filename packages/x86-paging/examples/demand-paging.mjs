// The CPU delivers #PF (vector 14) to a handler, which maps the page and retries the access:
// demand paging in a dozen lines.
import { ArrayBufferPhysicalMemory, Cpu, Mapper, Mode, PTE, PhysicalTableAccess, SimpleFrameAllocator, formatVa } from '@kmem/x86-paging';

const memory = new ArrayBufferPhysicalMemory(4 * 1024 * 1024);
const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount: 512 });
const mapper = Mapper.create({ access: new PhysicalTableAccess(memory), allocator });
if (mapper === null) throw new Error('no frame for the top-level table');
const cpu = new Cpu({ memory, registers: { cr3Frame: mapper.root }, mode: Mode.User });
mapper.tlb = cpu; // the mapper INVLPGs every present entry it changes
cpu.onPageFault((f) => {
  console.log(`#PF at ${formatVa(f.cr2)} level ${f.level}: ${f.decoded.description}`);
  mapper.mapAllocated(f.cr2 - (f.cr2 % 4096), 1, PTE.Writable | PTE.User); // demand paging
  return 'retry'; // re-execute the access, as iretq would
});
cpu.write32(0x40_0ffe, 0xcafe_f00d); // crosses into a second page: two faults
console.log(cpu.read32(0x40_0ffe).toString(16), `faults=${cpu.pageFaultCount}`, `tlb hits=${cpu.tlb?.hits}`);


// prints:
// #PF at 0x0000_0000_0040_0ffe level 4: user-mode write to a non-present page [W/R U/S]
// #PF at 0x0000_0000_0040_1000 level 1: user-mode write to a non-present page [W/R U/S]
// cafef00d faults=2 tlb hits=3
