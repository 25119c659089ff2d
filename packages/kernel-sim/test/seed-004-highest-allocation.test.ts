// Seed 004's "highest allocation" virtual-allocation policy: a watermark, then a first-fit search
// below it that asks the page tables which pages are mapped. Checked against a tiny reference
// (a set of mapped pages) over a real address space's tables, with checkInvariants after each step.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Access, FOUR_LEVEL_GEOMETRY, Mode, PTE } from '@kmem/x86-paging';
import { HighestAllocation, KernelAddressError, KernelConfigError, KernelSizeError, type Kernel, type Process } from '../src/index';
import { GiB, PAGE, bootProcessKernel, drainFrames } from './process-helpers';

const BASE = 0x1000_0000;
const FLAGS = PTE.Writable | PTE.NoExecute | PTE.User;
/** Any RAM frame: these tests look at mappings, not contents. */
const SOME_PA = 0x20_0000;

function space(kernel: Kernel): ReturnType<Kernel['mapperFor']> {
  return kernel.mapperFor(kernel.newAddressSpaceRoot(7)!, 7);
}

describe('seed 004: HighestAllocation', () => {
  it('hands out the watermark while it fits, then the lowest unmapped run the page tables show', () => {
    const mapper = space(bootProcessKernel());
    const policy = new HighestAllocation(mapper, BASE, BASE + 8 * PAGE);
    const a = policy.alloc(4 * PAGE)!;
    const b = policy.alloc(4 * PAGE)!;
    expect([a, b]).toEqual([BASE, BASE + 4 * PAGE]);
    mapper.mapPages(a, SOME_PA, 4, FLAGS);
    mapper.mapPages(b, SOME_PA, 4, FLAGS);
    expect(policy.alloc(PAGE)).toBeNull(); // full: every page below the watermark is mapped
    mapper.unmapPages(a + PAGE, 2); // two pages in the middle of the first range come free
    expect(policy.alloc(3 * PAGE)).toBeNull();
    expect(policy.alloc(2 * PAGE)).toBe(a + PAGE);
    expect(policy.stats()).toMatchObject({ watermarkAllocations: 2, fallbackAllocations: 1 });
    expect(policy.watermarkVa).toBe(BASE + 8 * PAGE);
  });

  it('skips absent tables whole: the search over 4 GiB with one mapped page takes a handful of walks', () => {
    const mapper = space(bootProcessKernel());
    const policy = new HighestAllocation(mapper, BASE, BASE + 4 * GiB);
    expect(policy.alloc(4 * GiB - PAGE)).toBe(BASE);
    mapper.mapPages(BASE, SOME_PA, 1, FLAGS);
    expect(policy.alloc(2 * GiB)).toBe(BASE + PAGE);
    // One walk per mapped page or absent entry met (511 PTEs, the rest of the first GiB's PDEs,
    // then whole absent PDPTEs), never one per page: 2 GiB is 524288 pages.
    expect(policy.stats().walks).toBeLessThan(1000);
    expect(policy.stats().fallbackAllocations).toBe(1);
  });

  it('refuses bad sizes and ranges with typed errors, changing nothing', () => {
    const mapper = space(bootProcessKernel());
    const policy = new HighestAllocation(mapper, BASE, BASE + 4 * PAGE);
    for (const size of [0, -PAGE, PAGE + 1, Number.NaN, 2 ** 60]) expect(() => policy.alloc(size)).toThrow(KernelSizeError);
    expect(policy.watermarkVa).toBe(BASE);
    expect(() => new HighestAllocation(mapper, BASE + 1, BASE + PAGE)).toThrow(KernelAddressError);
    expect(() => new HighestAllocation(mapper, BASE, BASE)).toThrow(KernelAddressError);
  });

  it('matches a reference (watermark + first fit over a set of mapped pages) under random alloc/map/unmap', () => {
    const PAGES = 16;
    const kernel = bootProcessKernel();
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.record({ op: fc.constant('alloc' as const), pages: fc.integer({ min: 1, max: 4 }) }), fc.record({ op: fc.constant('unmap' as const), page: fc.nat(PAGES - 1) })), { minLength: 10, maxLength: 40, size: 'max' }), (ops) => {
        const root = kernel.newAddressSpaceRoot(7)!;
        const mapper = kernel.mapperFor(root, 7);
        const policy = new HighestAllocation(mapper, BASE, BASE + PAGES * PAGE);
        const mapped = new Set<number>();
        let watermark = 0;
        for (const o of ops) {
          if (o.op === 'alloc') {
            let want: number | null = null;
            if (o.pages <= PAGES - watermark) {
              want = watermark;
              watermark += o.pages;
            } else {
              for (let s = 0; s + o.pages <= watermark && want === null; s++) {
                let free = true;
                for (let p = s; p < s + o.pages; p++) if (mapped.has(p)) free = false;
                if (free) want = s;
              }
            }
            const got = policy.alloc(o.pages * PAGE);
            expect(got).toBe(want === null ? null : BASE + want * PAGE);
            if (want !== null) {
              mapper.mapPages(BASE + want * PAGE, SOME_PA, o.pages, FLAGS); // the caller maps what it got
              for (let p = want; p < want + o.pages; p++) mapped.add(p);
            }
          } else if (mapped.has(o.page)) {
            mapper.unmapPages(BASE + o.page * PAGE, 1);
            mapped.delete(o.page);
          }
          policy.checkInvariants();
          expect(policy.watermarkVa).toBe(BASE + watermark * PAGE);
        }
        mapper.checkInvariants();
        for (const p of mapped) mapper.unmapPages(BASE + p * PAGE, 1);
        kernel.freeAddressSpaceRoot(root);
      }),
      { numRuns: 25 },
    );
  });
});

describe("seed 004: the kernel's mmapPolicy option", () => {
  const TiB = 1024 * GiB;
  /** A process's mmap area: where its mmaps without an address go. */
  const area = (p: Process): { start: number; end: number } => ({ start: p.mmapBase, end: p.stackTop - p.limits.stackLimitBytes - p.limits.guardGapBytes });

  it("'highest-allocation': each mmap above the last, a hole left by munmap reused only once the area above is full", () => {
    const kernel = bootProcessKernel({ kernel: { mmapPolicy: 'highest-allocation' } });
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: 4 * PAGE })!;
    const b = p.mmap({ lengthBytes: 4 * PAGE })!;
    expect([a, b]).toEqual([p.mmapBase, p.mmapBase + 4 * PAGE]);
    p.munmap(a, 4 * PAGE);
    expect(p.mmap({ lengthBytes: PAGE })).toBe(b + 4 * PAGE); // the watermark, not the hole
    expect(p.mmapWatermark).toBe(b + 5 * PAGE);
    // Fill the rest of the area: the next mmap falls back to the lowest free range, the hole.
    const { end } = area(p);
    expect(p.mmap({ lengthBytes: end - p.mmapWatermark })).toBe(b + 5 * PAGE);
    expect(p.mmap({ lengthBytes: 2 * PAGE })).toBe(a);
    kernel.checkInvariants();
  });

  it("'first-fit' (the default) reuses the hole at once", () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: 4 * PAGE })!;
    p.mmap({ lengthBytes: 4 * PAGE });
    p.munmap(a, 4 * PAGE);
    expect(p.mmap({ lengthBytes: PAGE })).toBe(a);
  });

  it('fork copies the watermark: parent and child place their next mmap alike', () => {
    const kernel = bootProcessKernel({ kernel: { mmapPolicy: 'highest-allocation' } });
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: 8 * PAGE })!;
    p.munmap(a, 8 * PAGE);
    const child = kernel.fork(p.pid)!;
    expect(child.mmapWatermark).toBe(p.mmapWatermark);
    expect(child.mmap({ lengthBytes: PAGE })).toBe(p.mmap({ lengthBytes: PAGE }));
    kernel.checkInvariants();
  });

  it('refuses a policy it does not know (E_KERNEL_CONFIG)', () => {
    expect(() => bootProcessKernel({ kernel: { mmapPolicy: 'best-fit' as 'first-fit' } })).toThrow(KernelConfigError);
  });

  it('matches a reference (watermark, then first fit over the live ranges) under random mmap / munmap of terabytes', () => {
    const UNIT = 8 * TiB; // lazy mappings: no frame is taken, so the area (~85 TiB) fills in a few calls
    const kernel = bootProcessKernel({ kernel: { mmapPolicy: 'highest-allocation' } });
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.record({ op: fc.constant('mmap' as const), units: fc.integer({ min: 1, max: 4 }) }), fc.record({ op: fc.constant('munmap' as const), pick: fc.nat() })), { minLength: 5, maxLength: 30 }), (ops) => {
        const p = kernel.createProcess()!;
        const { start, end } = area(p);
        const live: { va: number; sizeBytes: number }[] = [];
        let watermark = start;
        const free = (va: number, sizeBytes: number): boolean => live.every((r) => va + sizeBytes <= r.va || r.va + r.sizeBytes <= va);
        for (const o of ops) {
          if (o.op === 'mmap') {
            const sizeBytes = o.units * UNIT;
            let want: number | null = null;
            if (watermark + sizeBytes <= end && free(watermark, sizeBytes)) {
              want = watermark;
              watermark += sizeBytes;
            } else {
              // First fit in the area: the lowest start at the area's start or at the end of a live range.
              const starts = [start, ...live.map((r) => r.va + r.sizeBytes)].filter((v) => v >= start && v + sizeBytes <= end && free(v, sizeBytes)).sort((x, y) => x - y);
              want = starts[0] ?? null;
            }
            const got = p.mmap({ lengthBytes: sizeBytes });
            if (want === null) {
              // Outside the area (below mmapBase) is the kernel's last resort: not modelled, undone.
              if (got !== null) p.munmap(got, sizeBytes);
            } else {
              expect(got).toBe(want);
              live.push({ va: want, sizeBytes });
            }
          } else if (live.length > 0) {
            const [r] = live.splice(o.pick % live.length, 1);
            p.munmap(r!.va, r!.sizeBytes);
          }
          expect(p.mmapWatermark).toBe(watermark);
          kernel.processes.checkInvariants();
        }
        kernel.exit(p.pid);
        kernel.checkInvariants();
      }),
      { numRuns: 20 },
    );
  });
});

describe("seed 004: Pagemap::LocatePage is the mapper's locatePage", () => {
  it("finds a process address's PTE in a booted kernel, making the tables on the way; the PTE written there is what the CPU translates", () => {
    const kernel = bootProcessKernel();
    const root = kernel.newAddressSpaceRoot(7)!;
    const mapper = kernel.mapperFor(root, 7);
    expect(mapper.locatePage(BASE)).toBeNull(); // LocatePage(addr, create = false): no table yet
    const tables = kernel.frames.usageByOwner()['page-table'];
    const loc = mapper.locatePage(BASE, { create: true, flags: FLAGS })!;
    expect(loc).toMatchObject({ level: 1, present: false, tablesCreated: 3 });
    expect(kernel.frames.usageByOwner()['page-table']).toBe(tables + 3); // owned like any table of pid 7
    const frame = kernel.frames.allocFrame({ kind: 'user', pid: 7 })!;
    kernel.memory.write32(loc.entryPa, FOUR_LEVEL_GEOMETRY.encodeLo(frame, PTE.Present | PTE.Writable | PTE.User, false));
    kernel.memory.write32(loc.entryPa + 4, FOUR_LEVEL_GEOMETRY.encodeHi(frame, PTE.NoExecute, 0xfffff));
    kernel.cpu.writeCr3(root);
    expect(kernel.cpu.translate(BASE + 8, Access.Write, Mode.User).pa).toBe(frame + 8);
    kernel.cpu.writeCr3(kernel.kernelRoot);
    for (const r of mapper.unmapPages(BASE, 1)!) kernel.frames.freeFrame(r.pa);
    kernel.freeAddressSpaceRoot(root);
    kernel.checkInvariants();
  });

  it('returns null when frames run out part-way, with every table it made given back', () => {
    const kernel = bootProcessKernel();
    const root = kernel.newAddressSpaceRoot(7)!;
    const mapper = kernel.mapperFor(root, 7);
    const giveBack = drainFrames(kernel, 2); // three tables are needed
    const free = kernel.pmm.freeFrames;
    expect(mapper.locatePage(BASE, { create: true })).toBeNull();
    expect(kernel.pmm.freeFrames).toBe(free);
    giveBack();
    kernel.freeAddressSpaceRoot(root);
    kernel.checkInvariants();
  });
});
