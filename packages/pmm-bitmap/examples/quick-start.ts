import { BitmapFrameAllocator } from '@kmem/pmm-bitmap';

// The map SeaBIOS gives a 128 MiB QEMU machine (fixtures/memory-maps/qemu-linux-128m.e820.txt).
const pmm = BitmapFrameAllocator.fromMemoryMap([
  { base: 0x0, lengthBytes: 0x9fc00, kind: 'usable' },
  { base: 0x9fc00, lengthBytes: 0x400, kind: 'reserved' },
  { base: 0x100000, lengthBytes: 0x7ee0000, kind: 'usable' },
]);
const frame = pmm.allocFrame(); // lowest free frame: the low 1 MiB is kept out
const hugePage = pmm.allocContiguous(512, { alignBytes: 2 * 1024 * 1024 });
pmm.placeBitmap(pmm.allocContiguous(pmm.bitmapFrameCount)!); // the bitmap's own frame
console.log(frame?.toString(16), hugePage?.toString(16), pmm.stats().freeFrames);
try { pmm.freeFrame(0x1000); } catch (e) { console.log((e as { code: string }).code); }


// prints:
// 100000 200000 31966
// E_FREE_RESERVED
