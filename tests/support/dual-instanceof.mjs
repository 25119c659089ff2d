// Loads each @kmem package twice, with `import` (dist/index.js) and with `require`
// (dist/index.cjs), makes the main objects and a misuse error with each copy, and checks
// `instanceof` against the other copy's classes. Prints the failed checks as JSON.
// Run from packages/kernel-sim, where every @kmem package resolves by name.
import { createRequire } from 'node:module';

const require = createRequire(`${process.cwd()}/`);

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

// Per package: main objects by class name, an error (with its class and an ancestor below
// KmemError where there is one), and a class the error must not match.
const makers = {
  '@kmem/pmm-bitmap': (m) => {
    const pmm = m.BitmapFrameAllocator.fromMemoryMap([{ base: 0x100000, lengthBytes: 0x100000, kind: 'usable' }]);
    return { objects: { BitmapFrameAllocator: pmm }, error: thrown(() => pmm.freeFrame(0x1001)), not: 'DoubleFreeError' };
  },
  '@kmem/virt-alloc': (m) => {
    const va = new m.VirtualAllocator({ start: 0x1000, end: 0x10_0000 });
    return { objects: { VirtualAllocator: va }, error: thrown(() => va.free(0x2001, 0x1000)), not: 'DoubleFreeError' };
  },
  '@kmem/x86-paging': (m) => {
    const memory = new m.ArrayBufferPhysicalMemory(4 * 1024 * 1024);
    const allocator = new m.SimpleFrameAllocator({ start: 0x10_0000, frameCount: 64 });
    const mapper = m.Mapper.create({ access: new m.PhysicalTableAccess(memory), allocator });
    const cpu = new m.Cpu({ memory, registers: { cr3Frame: mapper.root } });
    return {
      objects: { ArrayBufferPhysicalMemory: memory, SimpleFrameAllocator: allocator, Mapper: mapper, Cpu: cpu, Mmu: cpu.mmu, Tlb: cpu.tlb, ControlRegisters: cpu.registers },
      error: thrown(() => mapper.mapPages(0x40_0001, 0x9000, 1, m.PTE.Writable)),
      not: 'PageAlreadyMappedError',
    };
  },
  '@kmem/kheap': (m) => {
    const backing = new m.ArrayBufferBacking({ maxBytes: 1 << 20 });
    const heap = new m.KernelHeap({ backing });
    return { objects: { ArrayBufferBacking: backing, KernelHeap: heap, KmemCache: heap.kmemCacheCreate('thing', 48) }, error: thrown(() => heap.kfree(12345)), not: 'HeapCorruptionError' };
  },
  '@kmem/kernel-sim': (m) => {
    const machine = new m.Machine({ memoryMap: [{ base: 0x100000, lengthBytes: 0x3f00000, kind: 'usable' }] });
    const kernel = new m.Kernel(machine, { layout: 'higher-half' });
    kernel.boot();
    return {
      objects: { Machine: machine, Kernel: kernel, SparsePhysicalMemory: machine.memory, RegionListFrameAllocator: new m.RegionListFrameAllocator(16) },
      error: thrown(() => machine.memory.read8(-1)),
      not: 'KernelStateError',
    };
  },
};

const failures = [];
let checks = 0;
function check(ok, what) {
  checks++;
  if (!ok) failures.push(what);
}

for (const [name, make] of Object.entries(makers)) {
  const copies = { import: await import(name), require: require(name) };
  check(copies.import.KmemError !== copies.require.KmemError, `${name}: import and require gave one copy; nothing is tested`);
  for (const [from, to] of [['import', 'require'], ['require', 'import']]) {
    const made = make(copies[from]);
    const other = copies[to];
    const where = `${name}: made by ${from}, checked against ${to}`;
    for (const [cls, object] of Object.entries(made.objects)) {
      check(object instanceof copies[from][cls], `${where}: ${cls} is not even its own copy's`);
      check(object instanceof other[cls], `${where}: ${cls}`);
      const foreign = Object.keys(made.objects).find((c) => c !== cls && !(object instanceof copies[from][c]));
      if (foreign) check(!(object instanceof other[foreign]), `${where}: a ${cls} passes as a ${foreign}`);
      // A subclass the user writes of the other copy's class checks its own brand, not the base's.
      class Mine extends other[cls] {}
      check(!(object instanceof Mine), `${where}: a ${cls} passes as a user subclass`);
    }
    const { error } = made;
    check(error instanceof Error, `${where}: ${error?.name} is not an Error`);
    const chain = [];
    for (let c = error.constructor; c !== Error; c = Object.getPrototypeOf(c)) chain.push(c.name);
    for (const cls of chain) {
      check(typeof other[cls] === 'function', `${where}: ${cls} is not exported`);
      if (typeof other[cls] === 'function') check(error instanceof other[cls], `${where}: ${error.name} is not a ${cls}`);
    }
    check(chain.includes('KmemError') && chain.length >= 2, `${where}: ${error.name} does not extend KmemError`);
    check(!(error instanceof other[made.not]), `${where}: ${error.name} passes as ${made.not}`);
    check(!(error instanceof other[Object.keys(made.objects)[0]]), `${where}: ${error.name} passes as a main class`);
  }
}
console.log(JSON.stringify({ checks, failures }));
