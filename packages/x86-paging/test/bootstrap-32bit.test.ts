// Seed 002's boot page directory: identity map of low memory and the 0xc000_0000 alias with
// 4 MiB pages (CR4.PSE = 1, SDM 4.3), and the recursive PDE 1023.
import { describe, expect, it } from 'vitest';
import {
  ArrayBufferPhysicalMemory,
  CR0,
  CR4,
  Cpu,
  PTE,
  PagingMode,
  RecursiveTableAccess,
  buildBootstrapTables32,
  type Bootstrap32Options,
} from '../src/index';
import { snapshot } from './mapper-fixture';

const M4 = 4 * 1024 * 1024;
/** GRUB loads the kernel at 1 MiB; its .bss holds the page directory. */
const kernel = { pa: 0x10_0000, sizeBytes: 0x20_0000 };
const pool = { pa: 0x20_0000, frameCount: 1 };

function cpu32(memory: ArrayBufferPhysicalMemory, root: number): Cpu {
  return new Cpu({ memory, registers: { cr0: CR0.PE | CR0.WP | CR0.PG, cr4: CR4.PSE | CR4.PGE, efer: 0, cr3Frame: root } });
}

describe('buildBootstrapTables32', () => {
  it('identity-maps the first 3 GiB and aliases 0xc000_0000 to the first 4 MiB, in ONE page directory of 4 MiB PDEs', () => {
    const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    const boot = buildBootstrapTables32({ memory, kernel, pool });
    expect(boot.root).toBe(0x20_0000);
    expect(boot.tableFrameCount).toBe(1);
    expect(boot.identity).toEqual({ start: 0, end: 0xc000_0000 });
    expect(boot.higherHalf).toEqual({ start: 0xc000_0000, end: 0xc040_0000 });
    expect(boot.recursiveSlot).toBe(1023);
    // PDE i (i < 768) maps [i * 4 MiB) to itself; PDE 768 maps 0xc000_0000 to 0 (global); PDE 1023 is the directory.
    expect(memory.read32(boot.root + 5 * 4)).toBe((5 * M4) | PTE.Present | PTE.Writable | PTE.HugePage);
    expect(memory.read32(boot.root + 767 * 4)).toBe(((767 * M4) | PTE.Present | PTE.Writable | PTE.HugePage) >>> 0);
    expect(memory.read32(boot.root + 768 * 4)).toBe(PTE.Present | PTE.Writable | PTE.HugePage | PTE.Global);
    expect(memory.read32(boot.root + 769 * 4)).toBe(0);
    expect(memory.read32(boot.root + 1023 * 4)).toBe((boot.root | PTE.Present | PTE.Writable) >>> 0);
    boot.mapper.checkInvariants();
  });

  it('means the same to the MMU in 32-bit mode: the kernel at 0xc010_0000 is physical 1 MiB, identity below 3 GiB, the directory at 0xffff_f000', () => {
    const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    const boot = buildBootstrapTables32({ memory, kernel, pool });
    const cpu = cpu32(memory, boot.root);
    expect(cpu.pagingMode).toBe(PagingMode.ThirtyTwoBit);
    expect(cpu.mmu.probe(0xc010_0000).pa).toBe(0x10_0000);
    expect(cpu.mmu.probe(0x0012_3456).pa).toBe(0x12_3456);
    expect(cpu.mmu.probe(0xbfff_fffc).pa).toBe(0xbfff_fffc);
    expect(cpu.mmu.probe(0xc040_0000).fault).toBe(true);
    expect(cpu.mmu.probe(0xffff_f000 + 768 * 4).pa).toBe(boot.root + 768 * 4);
    // The kernel can now edit its own tables through the recursive PDE.
    const access = new RecursiveTableAccess(cpu, { mode: PagingMode.ThirtyTwoBit });
    access.readEntry(2, 0xc000_0000, boot.root, 768);
    expect(access.lo).toBe(PTE.Present | PTE.Writable | PTE.HugePage | PTE.Global);
  });

  it('takes an identity size, another base and no recursive slot', () => {
    const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    const boot = buildBootstrapTables32({ memory, kernel, pool, identitySizeBytes: 16 * 1024 * 1024, higherHalfBase: 0x8000_0000, recursiveSlot: null });
    expect(boot.identity).toEqual({ start: 0, end: 16 * 1024 * 1024 });
    expect(boot.higherHalf).toEqual({ start: 0x8000_0000, end: 0x8040_0000 });
    expect(boot.mapper.mappings().map((r) => [r.start, r.end, r.pageSizeBytes])).toEqual([
      [0, 16 * 1024 * 1024, M4],
      [0x8000_0000, 0x8040_0000, M4],
    ]);
    expect(memory.read32(boot.root + 1023 * 4)).toBe(0);
  });

  describe('checks every option before writing a byte', () => {
    const cases: [string, Partial<Bootstrap32Options>, string][] = [
      ['an identity map overlapping the alias', { identitySizeBytes: 0xc040_0000 }, 'E_INVALID_OPTION'],
      ['an identity size that is not a multiple of 4 MiB', { identitySizeBytes: 0x1000 }, 'E_MISALIGNED'],
      ['a base that is not 4 MiB aligned', { higherHalfBase: 0xc020_0000 }, 'E_MISALIGNED'],
      ['a base outside 32-bit space', { higherHalfBase: 2 ** 32 }, 'E_INVALID_ADDRESS'],
      ['an alias running past 0xffff_ffff', { higherHalfBase: 0xffc0_0000, kernel: { pa: 0x10_0000, sizeBytes: 0x40_0000 }, recursiveSlot: null }, 'E_INVALID_ADDRESS'],
      ['a recursive slot inside the identity map', { recursiveSlot: 0 }, 'E_INVALID_OPTION'],
      ['a recursive slot on the alias', { recursiveSlot: 768 }, 'E_INVALID_OPTION'],
      ['a recursive slot outside the directory', { recursiveSlot: 1024 }, 'E_INVALID_OPTION'],
      ['no-execute flags (no XD in 32-bit paging)', { higherHalfFlags: PTE.Present | PTE.NoExecute }, 'E_WRONG_PAGING_MODE'],
      ['flags with bits 13-19 set', { identityFlags: PTE.Present | 0x4000 }, 'E_INVALID_FLAGS'],
      ['a pool outside the kernel image', { pool: { pa: 0x40_0000, frameCount: 1 } }, 'E_INVALID_OPTION'],
      ['an empty pool', { pool: { pa: 0x20_0000, frameCount: 0 } }, 'E_INVALID_SIZE'],
      ['a kernel above 4 GiB', { kernel: { pa: 2 ** 32, sizeBytes: 8192 }, pool: { pa: 2 ** 32, frameCount: 1 } }, 'E_PA_OUT_OF_RANGE'],
      ['a MAXPHYADDR outside 32..52', { maxPhysAddr: 20 }, 'E_INVALID_OPTION'],
      ['a pool memory does not hold', { kernel: { pa: 0x70_0000, sizeBytes: 0x20_0000 }, pool: { pa: 0x80_0000, frameCount: 1 } }, 'E_PHYSICAL_ACCESS'],
    ];
    for (const [name, extra, code] of cases) {
      it(`${name}: ${code}`, () => {
        const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
        const before = snapshot(memory);
        let thrown: unknown = null;
        try {
          buildBootstrapTables32({ memory, kernel, pool, ...extra });
        } catch (e) {
          thrown = e;
        }
        expect((thrown as { code?: string } | null)?.code).toBe(code);
        expect(snapshot(memory)).toBe(before);
      });
    }
  });
});
