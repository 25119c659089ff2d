// Running out of address space is a value (null); misuse is a typed error with a stable code,
// thrown before anything changes.
import { KmemError, VirtualAllocator, hex } from '@kmem/virt-alloc';

const va = new VirtualAllocator({ start: 0x1000, end: 0x10_1000 }); // 1 MiB of address space
const big: number | null = va.alloc(0xc_0000, { tag: 'big' }); // 768 KiB
const tooBig: number | null = va.alloc(0x8_0000); // 512 KiB more does not fit
console.log('big at', big === null ? 'none' : hex(big), '- then', tooBig); // null: out of space
console.log('take a used range:', va.take(0x2000, 0x1000)); // false, nothing changed
const misuses: (() => void)[] = [() => va.free(0x2001, 0x1000), () => va.free(0xe_0000)];
for (const bad of misuses) {
  try {
    bad();
  } catch (e) {
    if (e instanceof KmemError) console.log(e.code, e.message);
  }
}
console.log('used bytes still', va.stats().usedBytes);
va.checkInvariants();


// prints:
// big at 0x1000 - then null
// take a used range: false
// E_MISALIGNED_ADDRESS address 0x2001 is not a multiple of the granularity 0x1000
// E_DOUBLE_FREE range 0xe_0000..0xe_1000 is not (all) in use: double free or never allocated
// used bytes still 786432
