// Does what boot spends on the frame allocator follow the RAM, not the highest address a memory
// map names? A 3 GiB map plus one usable 4 KiB page at 16 TiB (found by fuzzing a real OVMF map)
// used to size the bitmap for the whole 16 TiB: 8,192 frames of guest RAM, ~500 MB of host
// memory and ~15 s of boot (issue 14, defect 5). The stray page is now left unmanaged, and said
// so; a real machine's RAM above 4 GiB is still managed in full.
import { describe, expect, it } from 'vitest';
import { EventLog, Kernel, Machine, type MemoryRegion } from '../src/index';

const GiB = 2 ** 30;
const TiB = 2 ** 40;
const low: MemoryRegion[] = [
  { base: 0, lengthBytes: 0x9fc00, kind: 'usable' },
  { base: 0x10_0000, lengthBytes: 3 * GiB - 0x10_0000, kind: 'usable' },
];

function boot(map: MemoryRegion[]): { kernel: Kernel; detail: Record<string, number | string | boolean>; summary: string } {
  const kernel = new Kernel(new Machine({ memoryMap: map }), { layout: 'higher-half', events: new EventLog() });
  kernel.boot();
  const step = kernel.events.ofKind('boot-step').find((e) => e.step === 'frame-allocator')!;
  return { kernel, detail: step.detail, summary: step.summary };
}

describe('frame allocator at boot', () => {
  it('leaves a stray usable page at 16 TiB unmanaged and reports it: the bitmap is the one the RAM alone needs', () => {
    const plain = boot(low);
    const stray = boot([...low, { base: 16 * TiB, lengthBytes: 4096, kind: 'usable' }]);
    expect(stray.kernel.pmm.totalFrames).toBe(plain.kernel.pmm.totalFrames);
    expect(stray.detail.bitmapFrames).toBe(plain.detail.bitmapFrames);
    expect(stray.detail.bitmapFrames).toBeLessThanOrEqual(24);
    expect(stray.detail.ignoredRamBytes).toBe(4096);
    expect(stray.kernel.pmm.ignoredBytes).toBe(4096);
    expect(stray.summary).toContain('4 KiB of RAM from 0x1000_0000_0000 left unmanaged');
    expect(plain.detail.ignoredRamBytes).toBe(0);
    stray.kernel.checkInvariants();
    // Still RAM (the direct map shows it), never handed out.
    expect(stray.kernel.memory.isRam(16 * TiB)).toBe(true);
    const p = stray.kernel.createProcess()!;
    expect(p.touch(p.stackTop - 8, 'write', 1)).toBe('ok');
    expect(p.translate(p.stackTop - 8)).toBeLessThan(3 * GiB);
  });

  it('manages RAM above 4 GiB of an ordinary machine in full', () => {
    const { kernel, detail } = boot([...low, { base: 4 * GiB, lengthBytes: 2 * GiB, kind: 'usable' }]);
    expect(detail.ignoredRamBytes).toBe(0);
    expect(kernel.pmm.totalFrames).toBe((6 * GiB) / 4096);
    kernel.checkInvariants();
  });
});
