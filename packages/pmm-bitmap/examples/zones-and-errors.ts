// Frames for a device that only reaches the low 16 MiB (Linux's DMA zone), running out (null,
// not an exception), and a caller bug (a typed error with a stable code, nothing changed).
import { BitmapFrameAllocator, KmemError, hex } from '@kmem/pmm-bitmap';
import type { ZoneName } from '@kmem/pmm-bitmap';

const pmm = BitmapFrameAllocator.fromMemoryMap([{ base: 0x0, lengthBytes: 0x200_0000, kind: 'usable' }]); // 32 MiB
const dma: number | null = pmm.allocContiguous(16, { maxAddr: 16 * 1024 * 1024, alignBytes: 64 * 1024 }); // 64 KiB, aligned
const zone: ZoneName | '-' = dma === null ? '-' : pmm.zoneOf(dma);
console.log('dma buffer at', dma === null ? 'none' : hex(dma), '- zone', zone);
let taken = 0;
while (pmm.allocFrame() !== null) taken++; // take every frame left: the end is null
console.log('took', taken, 'more frames; free now', pmm.stats().freeFrames);
if (dma !== null) pmm.freeFrame(dma);
try {
  if (dma !== null) pmm.freeFrame(dma); // the same frame again
} catch (e) {
  if (e instanceof KmemError) console.log(e.code, e.message);
}
console.log('free after the refused double free:', pmm.stats().freeFrames);


// prints:
// dma buffer at 0x0000_0000_0010_0000 - zone dma
// took 7920 more frames; free now 0
// E_DOUBLE_FREE frame 0x0000_0000_0010_0000 is already free
// free after the refused double free: 1
