import { ArrayBufferBacking, KernelHeap, HeapCorruptionError } from '@kmem/kheap';

const heap = new KernelHeap({ backing: new ArrayBufferBacking({ maxBytes: 1 << 20 }), debug: true });
const p = heap.kmalloc(100); // a kmalloc-128 slab object
const q = heap.kmalloc(3000); // a TLSF block
if (p === null || q === null) throw new Error('out of memory'); // kmalloc returns null, never throws
console.log(heap.ksize(p), heap.blocks().find((b) => b.ptr === q)?.kind); // 100 tlsf
heap.backing.write8(p + 100, 0x41); // one byte past the end: a heap overflow
try {
  heap.kfree(p);
} catch (e) {
  if (e instanceof HeapCorruptionError) console.log(e.report.kind, e.report.offset, e.message);
}
heap.kfree(q);
console.log(heap.stats().pagesHeld, 'pages held');


// prints:
// 100 tlsf
// redzone 100 right red zone (0 bytes past the 100 requested) of 0xffff_c900_0000_0070 (kmalloc-128) overwritten at offset 100
// 9 pages held
