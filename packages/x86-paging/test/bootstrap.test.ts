import { describe, expect, it } from 'vitest';
import {
  Access,
  ArrayBufferPhysicalMemory,
  BootstrapPoolExhaustedError,
  ControlRegisters,
  DEFAULT_HIGHER_HALF_BASE,
  InvalidOptionError,
  Mmu,
  Mode,
  PTE,
  bootstrapFramesNeeded,
  buildBootstrapTables,
  virt,
} from '../src/index';

const M2 = 2 * 1024 * 1024;

// A 5 MiB + 12 KiB kernel loaded at 1 MiB (as GRUB loads multiboot kernels), with its boot table
// pool in its .bss near the end.
const kernel = { pa: 0x10_0000, sizeBytes: 5 * 1024 * 1024 + 0x3000 };
const pool = { pa: 0x50_0000, frameCount: 16 };

describe('buildBootstrapTables', () => {
  it('identity-maps the kernel and aliases it at 0xffff_ffff_8000_0000 + pa, 2 MiB pages where aligned', () => {
    const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    const boot = buildBootstrapTables({ memory, kernel, pool });
    const end = kernel.pa + kernel.sizeBytes;
    for (const base of [0, DEFAULT_HIGHER_HALF_BASE]) {
      const sizes = boot.mapper.mappings().filter((r) => r.start >= base && r.start < base + 2 ** 40).map((r) => [r.start - base, r.end - base, r.pageSizeBytes]);
      // [1M, 2M) 4K at the unaligned edge, [2M, 6M) two 2 MiB pages, [6M, 6M+12K) 4K.
      expect(sizes).toEqual([
        [0x10_0000, 0x20_0000, 4096],
        [0x20_0000, 0x60_0000, M2],
        [0x60_0000, end, 4096],
      ]);
    }
    expect(boot.identity).toEqual({ start: 0x10_0000, end });
    expect(boot.higherHalf.start).toBe(virt('0xffff_ffff_8010_0000'));
    expect(boot.mapper.translate(virt('0xffff_ffff_8030_1234'))!.pa).toBe(0x30_1234);
    expect(boot.mapper.translate(0x30_1234)!.pa).toBe(0x30_1234);
    // Identity map not global (it must die with the boot CR3); the alias is.
    expect(boot.mapper.translate(0x30_0000)!.flags & PTE.Global).toBe(0);
    expect(boot.mapper.translate(boot.higherHalf.start)!.flags & PTE.Global).toBe(PTE.Global);
    boot.mapper.checkInvariants();
  });

  it('takes every table from the pool inside the kernel image, exactly as many as predicted', () => {
    const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    const boot = buildBootstrapTables({ memory, kernel, pool });
    // PML4 + (PDPT, PD, 2 PTs) for each of the two mappings.
    expect(bootstrapFramesNeeded({ kernel, pool })).toBe(9);
    expect(boot.tableFrameCount).toBe(9);
    for (const f of boot.mapper.tableFrames()) expect(f >= pool.pa && f < pool.pa + pool.frameCount * 4096).toBe(true);
    expect(boot.root).toBe(pool.pa);
  });

  it('builds tables the MMU walks as the CPU would (SDM 4.5)', () => {
    const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    const boot = buildBootstrapTables({ memory, kernel, pool });
    const mmu = new Mmu(memory, new ControlRegisters({ cr3Frame: boot.root }));
    for (const va of [0x10_0000, 0x2f_fff8, virt('0xffff_ffff_8010_0000'), virt('0xffff_ffff_8060_2ff8')]) {
      const r = mmu.translate(va, Access.Write, Mode.Supervisor);
      expect(r.fault).toBe(false);
      expect(r.pa).toBe(boot.mapper.translate(va)!.pa);
    }
    expect(mmu.translate(0x60_3000, Access.Read, Mode.Supervisor).fault).toBe(true);
    expect(mmu.translate(0x10_0000, Access.Read, Mode.User).fault).toBe(true);
  });

  it('throws E_BOOT_POOL_EXHAUSTED before writing anything when the pool is too small', () => {
    const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    expect(() => buildBootstrapTables({ memory, kernel, pool: { pa: pool.pa, frameCount: 8 } })).toThrow(BootstrapPoolExhaustedError);
    expect(memory.exportBytes(pool.pa, 8 * 4096).every((b) => b === 0)).toBe(true);
  });

  it('rejects a pool outside the kernel image', () => {
    const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    expect(() => buildBootstrapTables({ memory, kernel, pool: { pa: 0x70_0000, frameCount: 16 } })).toThrow(InvalidOptionError);
  });

  it('uses only 4 KiB pages for an alias whose base disagrees with the kernel modulo 2 MiB', () => {
    const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    const options = { memory, kernel, pool: { pa: 0x50_0000, frameCount: 32 }, identityMap: false, higherHalfBase: virt('0xffff_8000_0000_1000') };
    const boot = buildBootstrapTables(options);
    expect(boot.identity).toBeNull();
    expect(new Set(boot.mapper.mappings().map((r) => r.pageSizeBytes))).toEqual(new Set([4096]));
    expect(boot.tableFrameCount).toBe(bootstrapFramesNeeded(options));
  });
});
