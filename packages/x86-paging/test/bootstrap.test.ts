import { describe, expect, it } from 'vitest';
import {
  Access,
  ArrayBufferPhysicalMemory,
  BootstrapPoolExhaustedError,
  type BootstrapOptions,
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

  it('uses only 4 KiB pages for an alias whose base disagrees with the kernel modulo 2 MiB (SDM 4.5: a 2 MiB frame is 2 MiB aligned)', () => {
    const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    const options = { memory, kernel, pool: { pa: 0x50_0000, frameCount: 32 }, identityMap: false, higherHalfBase: virt('0xffff_8000_0000_1000') };
    const boot = buildBootstrapTables(options);
    expect(boot.identity).toBeNull();
    expect(new Set(boot.mapper.mappings().map((r) => r.pageSizeBytes))).toEqual(new Set([4096]));
    expect(boot.tableFrameCount).toBe(bootstrapFramesNeeded(options));
  });

  // DESIGN.md "Errors": misuse throws before any state changes. Each case below used to be found
  // only by the Mapper, after the PML4 (and, for most, the identity map) had been written.
  describe('rejects, before writing a byte, options the build would trip over later', () => {
    const small = { pa: 0x10_0000, sizeBytes: 3 * 1024 * 1024 }; // [1 MiB, 4 MiB)
    const smallPool = { pa: 0x30_0000, frameCount: 16 };
    const cases: [string, Omit<BootstrapOptions, 'memory'>, string][] = [
      // Alias [3 MiB, 6 MiB) overlaps identity [1 MiB, 4 MiB): was E_PARENT_HUGE_PAGE after 260 words.
      ['an alias overlapping the identity map', { kernel: small, pool: smallPool, higherHalfBase: 0x20_0000 }, 'E_INVALID_OPTION'],
      ['an alias exactly on the identity map', { kernel: small, pool: smallPool, higherHalfBase: 0 }, 'E_INVALID_OPTION'],
      ['higher-half flags with bits 13-19 set', { kernel: small, pool: smallPool, higherHalfFlags: PTE.Present | 0x4000 }, 'E_INVALID_FLAGS'],
      ['identity flags with bits 13-19 set', { kernel: small, pool: smallPool, identityFlags: PTE.Present | 0x8_0000 }, 'E_INVALID_FLAGS'],
      ['an alias running past 2^48', { kernel: small, pool: smallPool, higherHalfBase: 2 ** 48 - 0x20_0000 }, 'E_CROSSES_CANONICAL_HOLE'],
      ['an alias crossing the canonical hole', { kernel: small, pool: smallPool, higherHalfBase: 2 ** 47 - 0x20_0000 }, 'E_CROSSES_CANONICAL_HOLE'],
      ['a kernel reaching 2^MAXPHYADDR', { kernel: { pa: 0x10_0000, sizeBytes: 2 ** 32 }, pool: { pa: 0x30_0000, frameCount: 32 }, maxPhysAddr: 32, higherHalfBase: virt('0xffff_8000_0000_0000') }, 'E_PA_OUT_OF_RANGE'],
      ['a MAXPHYADDR outside 32..52', { kernel: small, pool: smallPool, maxPhysAddr: 20 }, 'E_INVALID_OPTION'],
      ['a pool memory does not hold', { kernel: { pa: 0x70_0000, sizeBytes: 3 * 1024 * 1024 }, pool: { pa: 0x7f_0000, frameCount: 32 } }, 'E_PHYSICAL_ACCESS'],
    ];
    for (const [what, options, code] of cases) {
      it(`${what}: ${code}`, () => {
        const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
        const garbage = new Uint8Array(8 * 1024 * 1024).map((_, i) => (i * 131 + 7) & 0xff); // a pool is not zeroed memory
        memory.importBytes(0, garbage);
        let caught: unknown = null;
        try {
          buildBootstrapTables({ memory, ...options });
        } catch (e) {
          caught = e;
        }
        expect((caught as { code?: string } | null)?.code, String(caught)).toBe(code);
        expect(Buffer.compare(memory.exportBytes(0, 8 * 1024 * 1024), garbage)).toBe(0); // byte for byte
      });
    }

    it('says which ranges overlap, and bootstrapFramesNeeded refuses the same options', () => {
      const options = { kernel: small, pool: smallPool, higherHalfBase: 0x20_0000 };
      expect(() => bootstrapFramesNeeded(options)).toThrow(InvalidOptionError);
      expect(() => bootstrapFramesNeeded(options)).toThrow(/alias \[0x0000_0000_0030_0000, 0x0000_0000_0060_0000\) overlaps the identity map \[0x0000_0000_0010_0000, 0x0000_0000_0040_0000\)/);
      // Without the identity map the same alias is fine.
      const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
      const boot = buildBootstrapTables({ memory, ...options, identityMap: false });
      expect(boot.mapper.translate(0x30_0000)!.pa).toBe(0x10_0000);
    });
  });
});
