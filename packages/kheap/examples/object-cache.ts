// A kmem_cache for one object type (as Linux's `task_struct` cache): objects come from slabs of
// whole pages; a double free is caught at once, as a typed error, before anything changes.
import { ArrayBufferBacking, KernelHeap, KmemError, hex, type KmemCache } from '@kmem/kheap';

const heap = new KernelHeap({ backing: new ArrayBufferBacking({ maxBytes: 1 << 20 }) });
const tasks: KmemCache = heap.kmemCacheCreate('task', 200);
const live: number[] = [];
for (let i = 0; i < 40; i++) {
  const t = tasks.alloc(); // null when the heap is out of memory
  if (t !== null) live.push(t);
}
const s = tasks.stats();
console.log(`${s.name}: ${s.objectsInUse} objects in ${s.slabCount} slabs of ${s.objectsPerSlab}, stride ${s.strideBytes} bytes`);
console.log('first two at', hex(live[0] ?? 0), hex(live[1] ?? 0));
tasks.free(live[0] ?? null);
try {
  tasks.free(live[0] ?? null);
} catch (e) {
  if (e instanceof KmemError) console.log(e.code);
}
console.log('in use after one free:', tasks.stats().objectsInUse);
heap.checkInvariants();


// prints:
// task: 40 objects in 2 slabs of 20, stride 200 bytes
// first two at 0xffff_c900_0000_0060 0xffff_c900_0000_0128
// E_DOUBLE_FREE
// in use after one free: 39
