// Does memMapAddr check a physical range with work that follows the memory map, not the size the
// caller typed? `memMapAddr(0xfee00000, 2 ** 40, flags)` used to ask "is this frame free RAM?"
// once per 4 KiB frame (2^28 questions, 4.5 s; 2^47 ran for minutes) (issue 14, defect 3). Here
// the per-frame questions are counted and capped: the old code trips the cap at once.
import { describe, expect, it } from 'vitest';
import { PTE } from '@kmem/x86-paging';
import { KernelPhysicalRangeError } from '../src/index';
import { bootProcessKernel } from './process-helpers';

const RW_NX = PTE.Writable | PTE.NoExecute;
const PER_FRAME_CAP = 10_000;

function countingKernel(): { kernel: ReturnType<typeof bootProcessKernel>; perFrame: () => number; rangeQueries: () => number } {
  const kernel = bootProcessKernel({ ramMiB: 64 });
  let perFrame = 0;
  let rangeQueries = 0;
  const memory = kernel.memory;
  const pmm = kernel.pmm;
  const isRam = memory.isRam.bind(memory);
  const isFree = pmm.isFree.bind(pmm);
  const between = pmm.freeFramesBetween.bind(pmm);
  const cap = (): void => {
    if (++perFrame > PER_FRAME_CAP) throw new Error(`more than ${PER_FRAME_CAP} per-frame questions: the check walks the range frame by frame`);
  };
  memory.isRam = (pa: number): boolean => (cap(), isRam(pa));
  pmm.isFree = (pa: number): boolean => (cap(), isFree(pa));
  pmm.freeFramesBetween = (a: number, b: number): number => (rangeQueries++, between(a, b));
  return { kernel, perFrame: () => perFrame, rangeQueries: () => rangeQueries };
}

describe('memMapAddr range checks', () => {
  it('maps 1 TiB of MMIO at 0xfee00000 with one range query per RAM range, and large pages where aligned', () => {
    const { kernel, perFrame, rangeQueries } = countingKernel();
    const va = kernel.memMapAddr(0xfee0_0000, 2 ** 40, RW_NX);
    expect(va).not.toBeNull();
    expect(perFrame()).toBe(0);
    expect(rangeQueries()).toBeLessThanOrEqual(kernel.memory.ramRanges.length);
    // The CPU sees the last byte at its offset (SDM 4.5: a 1 GiB or 2 MiB leaf maps it).
    const t = kernel.kernelMapper.translate(va! + 2 ** 40 - 1)!;
    expect(t.pa).toBe(0xfee0_0000 + 2 ** 40 - 1);
    expect(t.pageSizeBytes).toBeGreaterThanOrEqual(2 ** 21);
  });

  it('maps and unmaps 256 GiB of MMIO with every invariant holding', () => {
    const { kernel, perFrame } = countingKernel();
    const va = kernel.memMapAddr(0xfee0_0000, 2 ** 38, RW_NX)!;
    expect(perFrame()).toBe(0);
    kernel.checkInvariants();
    kernel.memUnmapAddr(va);
    expect(kernel.physicalMappings).toHaveLength(0);
    kernel.checkInvariants();
  });

  it('returns null at once for 2^47 bytes (no kernel virtual range that large), nothing changed', () => {
    const { kernel, perFrame } = countingKernel();
    const free = kernel.pmm.freeFrames;
    expect(kernel.memMapAddr(0xfee0_0000, 2 ** 47, RW_NX)).toBeNull();
    expect(perFrame()).toBe(0);
    expect(kernel.pmm.freeFrames).toBe(free);
    expect(kernel.physicalMappings).toHaveLength(0);
    kernel.checkInvariants();
  });

  it('refuses a huge range that starts in free RAM with KernelPhysicalRangeError, before any change', () => {
    const { kernel, perFrame } = countingKernel();
    expect(() => kernel.memMapAddr(0x200_0000, 2 ** 40, RW_NX)).toThrow(KernelPhysicalRangeError);
    expect(perFrame()).toBe(0);
    expect(kernel.physicalMappings).toHaveLength(0);
    kernel.checkInvariants();
  });
});
