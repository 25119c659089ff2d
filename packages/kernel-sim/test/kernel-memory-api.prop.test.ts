// Random sequences of the kernel memory API against a small model (which pages are mapped, which
// kmalloc blocks hold which byte): after every command the model agrees, misuse changed nothing,
// and kernel.checkInvariants() passes. At the end everything is given back and the frame count
// after boot is reached again.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PTE } from '@kmem/x86-paging';
import { findLayoutRegion, type Kernel, type LayoutName } from '../src/index';
import { bootKernel, smallMap } from './boot-helpers';

const RW_NX = PTE.Writable | PTE.NoExecute;

interface Model {
  pages: { va: number; pageCount: number; stamp: number }[];
  blocks: { ptr: number; sizeBytes: number; stamp: number }[];
  phys: { va: number; pa: number }[];
  nextMmio: number;
}

abstract class Cmd implements fc.Command<Model, Kernel> {
  check(_m: Readonly<Model>): boolean {
    return true;
  }
  abstract apply(m: Model, k: Kernel): void;
  run(m: Model, k: Kernel): void {
    this.apply(m, k);
    verify(m, k);
  }
  abstract toString(): string;
}

function verify(m: Model, k: Kernel): void {
  for (const p of m.pages) {
    for (let i = 0; i < p.pageCount; i++) {
      const t = k.kernelMapper.translate(p.va + i * 4096)!;
      expect(k.frames.kindOf(t.pa)).toBe('kernel-data');
    }
    expect(k.cpu.read32(p.va + (p.pageCount - 1) * 4096)).toBe(p.stamp);
  }
  for (const b of m.blocks) {
    expect(k.cpu.read8(b.ptr)).toBe(b.stamp);
    expect(k.cpu.read8(b.ptr + b.sizeBytes - 1)).toBe(b.stamp ^ 0xff);
  }
  for (const p of m.phys) expect(k.kernelMapper.translate(p.va)!.pa).toBe(p.pa);
  k.checkInvariants();
}

class MapPages extends Cmd {
  constructor(
    readonly pageCount: number,
    readonly stamp: number,
  ) {
    super();
  }
  apply(m: Model, k: Kernel): void {
    const va = k.virtaddrAlloc(this.pageCount * 4096, { tag: 'test' })!;
    expect(k.memMapPagesAt(va, this.pageCount, RW_NX)).toBe(true);
    k.cpu.write32(va + (this.pageCount - 1) * 4096, this.stamp);
    m.pages.push({ va, pageCount: this.pageCount, stamp: this.stamp });
  }
  toString = (): string => `memMapPagesAt(${this.pageCount})`;
}

class UnmapPages extends Cmd {
  constructor(readonly pick: number) {
    super();
  }
  override check(m: Readonly<Model>): boolean {
    return m.pages.length > 0;
  }
  apply(m: Model, k: Kernel): void {
    const [p] = m.pages.splice(this.pick % m.pages.length, 1);
    k.memUnmapPages(p!.va, p!.pageCount);
    k.virtaddrFree(p!.va);
    expect(k.kernelMapper.isMapped(p!.va)).toBe(false);
  }
  toString = (): string => `memUnmapPages(#${this.pick})`;
}

class Kmalloc extends Cmd {
  constructor(
    readonly sizeBytes: number,
    readonly stamp: number,
  ) {
    super();
  }
  apply(m: Model, k: Kernel): void {
    const ptr = k.kmalloc(this.sizeBytes)!;
    expect(ptr).not.toBeNull();
    k.cpu.write8(ptr, this.stamp);
    k.cpu.write8(ptr + this.sizeBytes - 1, this.stamp ^ 0xff);
    m.blocks.push({ ptr, sizeBytes: this.sizeBytes, stamp: this.stamp });
  }
  toString = (): string => `kmalloc(${this.sizeBytes})`;
}

class Kfree extends Cmd {
  constructor(readonly pick: number) {
    super();
  }
  override check(m: Readonly<Model>): boolean {
    return m.blocks.length > 0;
  }
  apply(m: Model, k: Kernel): void {
    const [b] = m.blocks.splice(this.pick % m.blocks.length, 1);
    k.kfree(b!.ptr);
  }
  toString = (): string => `kfree(#${this.pick})`;
}

class MapMmio extends Cmd {
  apply(m: Model, k: Kernel): void {
    const pa = 0xfe00_0000 + m.nextMmio++ * 4096;
    const va = k.memMapAddr(pa, 4096, RW_NX | PTE.CacheDisable)!;
    m.phys.push({ va, pa });
  }
  toString = (): string => 'memMapAddr(mmio)';
}

class UnmapMmio extends Cmd {
  constructor(readonly pick: number) {
    super();
  }
  override check(m: Readonly<Model>): boolean {
    return m.phys.length > 0;
  }
  apply(m: Model, k: Kernel): void {
    const [p] = m.phys.splice(this.pick % m.phys.length, 1);
    k.memUnmapAddr(p!.va);
  }
  toString = (): string => `memUnmapAddr(#${this.pick})`;
}

/** Misuse: mapping over a mapped page, a user-accessible kernel mapping, freeing twice. Nothing may change. */
class Misuse extends Cmd {
  constructor(readonly which: number) {
    super();
  }
  apply(m: Model, k: Kernel): void {
    const free = k.pmm.freeFrames;
    // Mappings outside the table windows (seed 000's paging page tables are repointed by every
    // table access: scratch, not state).
    const win = findLayoutRegion(k.layout, 'table-window');
    const mappingCount = (): number => k.kernelMapper.mappings().filter((r) => win === undefined || r.end <= win.start || r.start >= win.end).length;
    const maps = mappingCount();
    const target = m.pages[0]?.va ?? k.image.va;
    const attempts: [() => unknown, string][] = [
      [() => k.memMapPagesAt(target, 1, RW_NX), 'E_ALREADY_MAPPED'],
      [() => k.memMapPagesAt(target, 1, RW_NX | PTE.User), 'E_KERNEL_FLAGS'],
      [() => k.memUnmapPages(k.image.va, 1), 'E_KERNEL_ADDRESS'],
      [() => k.memMapAddr(0x10_0000 + 0x200_0000, 4096, RW_NX), 'E_KERNEL_PHYSICAL_RANGE'],
    ];
    const [fn, code] = attempts[this.which % attempts.length]!;
    expect(fn).toThrow(expect.objectContaining({ code }));
    expect(k.pmm.freeFrames).toBe(free);
    expect(mappingCount()).toBe(maps);
  }
  toString = (): string => `misuse(${this.which})`;
}

const commands = [
  fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 0x7fff_ffff })).map(([n, s]) => new MapPages(n, s)),
  fc.nat().map((i) => new UnmapPages(i)),
  fc.tuple(fc.oneof(fc.integer({ min: 2, max: 512 }), fc.integer({ min: 513, max: 40_000 })), fc.integer({ min: 0, max: 255 })).map(([n, s]) => new Kmalloc(n, s)),
  fc.nat().map((i) => new Kfree(i)),
  fc.constant(null).map(() => new MapMmio()),
  fc.nat().map((i) => new UnmapMmio(i)),
  fc.nat().map((i) => new Misuse(i)),
];

function runModel(layout: LayoutName, numRuns: number, maxCommands: number): void {
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands }), (cmds) => {
      const k = bootKernel(smallMap(), layout);
      const free0 = k.pmm.freeFrames;
      const heap0 = k.frames.usageByOwner().heap;
      const tables0 = k.frames.usageByOwner()['page-table'];
      const m: Model = { pages: [], blocks: [], phys: [], nextMmio: 0 };
      fc.modelRun(() => ({ model: m, real: k }), cmds);
      for (const p of m.pages) {
        k.memUnmapPages(p.va, p.pageCount);
        k.virtaddrFree(p.va);
      }
      for (const b of m.blocks) k.kfree(b.ptr);
      for (const p of m.phys) k.memUnmapAddr(p.va);
      k.checkInvariants();
      const usage = k.frames.usageByOwner();
      expect(usage['kernel-data']).toBe(0);
      // Every frame comes back, except heap pages kheap keeps for reuse and the tables that map
      // them (checkInvariants proved every remaining table reachable: none leaked).
      expect(k.pmm.freeFrames).toBe(free0 - (usage.heap - heap0) - (usage['page-table'] - tables0));
    }),
    { numRuns },
  );
}

describe('kernel memory API (model-based)', () => {
  it('identity-low: random mem_map_pages_at / mem_map_addr / kmalloc sequences keep every invariant', () => {
    runModel('identity-low', 25, 40);
  });
  it('higher-half: random mem_map_pages_at / mem_map_addr / kmalloc sequences keep every invariant', () => {
    runModel('higher-half', 6, 25);
  });
});
