// Seed 004's "highest allocation" virtual-allocation policy: a watermark, then a first-fit search
// below it that asks the page tables which pages are mapped. Checked against a tiny reference
// (a set of mapped pages) over a real address space's tables, with checkInvariants after each step.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PTE } from '@kmem/x86-paging';
import { HighestAllocation, KernelAddressError, KernelSizeError, type Kernel } from '../src/index';
import { GiB, PAGE, bootProcessKernel } from './process-helpers';

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
