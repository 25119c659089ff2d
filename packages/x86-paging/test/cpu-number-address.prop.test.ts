// Cpu loads and stores take an integer address whose bytes stay in one page straight to the MMU
// (Cpu.linear, isPlainLinear) when it is below 2^32, or below 2^47 in the long modes,
// skipping the checks every other address kind needs. Such an address is its own linear address
// and never raises #GP: it is in the lower canonical half of 4-level and 5-level paging (SDM vol.
// 3A 3.3.7.1) and inside the 4 GiB flat segment of the 32-bit modes (SDM 5.3). This property runs the same accesses through that path and, on a twin
// machine, through the general one (the same addresses as bigints), and compares everything a
// caller can see: values, faults with their error codes and CR2, memory, counters, TLB contents.
import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { type ArrayBufferPhysicalMemory, Cpu, CR0, CR4, EFER, Mode, PagingMode, PTE } from '../src/index';
import { RawPaging } from './raw-paging';

// Below 2^32 (every mode), above it in the lower canonical half (the long modes' short way; a #GP
// in the 32-bit modes), and at 2^47, the first address past that half, which takes the general way.
const PAGES = [0x0000_1000, 0x0040_0000, 0x7fff_f000, 0xbfff_f000, 0xffff_e000, 0xffff_f000, 0x1_0000_0000, 0x7f12_3456_7000, 0x7fff_ffff_f000, 0x8000_0000_0000];
const FLAGS = [0, PTE.Present, PTE.Present | PTE.Writable, PTE.Present | PTE.User, PTE.Present | PTE.Writable | PTE.User];

// The tables are built for 4-level paging; PAE and 32-bit paging read the same memory as their own
// tables (other translations, other faults), which serves as well: the twins must agree whatever
// the tables say.
const MODES = {
  '4-level': { cr4: CR4.PAE, efer: EFER.LME | EFER.LMA | EFER.NXE },
  PAE: { cr4: CR4.PAE, efer: EFER.NXE },
  '32-bit': { cr4: CR4.PSE, efer: 0 },
  'no paging': { cr4: 0, efer: 0 },
} as const;

function machine(mode: keyof typeof MODES, mappings: readonly [number, number][]): Cpu {
  const t = new RawPaging(16 * 1024 * 1024);
  // PAE reads the top table's first four entries as its PDPTEs, where R/W and U/S are reserved
  // (SDM 4.4.1): tables with P alone there.
  const tableFlags = mode === 'PAE' ? PTE.Present : PTE.Present | PTE.Writable | PTE.User;
  mappings.forEach(([page, flags], i) => t.map(PAGES[page]!, 0x80_0000 + i * 4096, flags, 1, tableFlags));
  const cr0 = mode === 'no paging' ? CR0.PE : CR0.PE | CR0.PG | CR0.WP;
  return new Cpu({ memory: t.memory, registers: { cr0, ...MODES[mode], cr3Frame: t.pml4 } });
}

type Op = { page: number; offset: number; size: 1 | 2 | 4; write: boolean; user: boolean; value: number };
const op = fc.record({
  page: fc.integer({ min: 0, max: PAGES.length - 1 }),
  offset: fc.oneof(fc.integer({ min: 0, max: 4095 }), fc.constantFrom(0, 4092, 4093, 4094, 4095)),
  size: fc.constantFrom<1 | 2 | 4>(1, 2, 4),
  write: fc.boolean(),
  user: fc.boolean(),
  value: fc.integer({ min: 0, max: 0xffff_ffff }),
});

function run(cpu: Cpu, o: Op, asBigint: boolean): unknown {
  const n = PAGES[o.page]! + o.offset;
  // A number from 2^47 up is the upper canonical half written in 48 bits; its bigint is the
  // 64-bit form, bits 63:48 copies of bit 47 (SDM vol. 3A 3.3.7.1).
  const va = !asBigint ? n : n >= 2 ** 47 && cpu.pagingMode === PagingMode.FourLevel ? BigInt(n) | 0xffff_0000_0000_0000n : BigInt(n);
  const mode = o.user ? Mode.User : Mode.Supervisor;
  try {
    if (o.write) {
      if (o.size === 1) cpu.write8(va, o.value, mode);
      else if (o.size === 2) cpu.write16(va, o.value, mode);
      else cpu.write32(va, o.value, mode);
      return 'stored';
    }
    return o.size === 1 ? cpu.read8(va, mode) : o.size === 2 ? cpu.read16(va, mode) : cpu.read32(va, mode);
  } catch (e) {
    const err = e as Error & { info?: unknown; fault?: unknown };
    return { error: err.constructor.name, message: err.message, info: err.info ?? err.fault };
  }
}

test.prop([fc.constantFrom(...(Object.keys(MODES) as (keyof typeof MODES)[])), fc.array(fc.tuple(fc.integer({ min: 0, max: PAGES.length - 1 }), fc.constantFrom(...FLAGS)), { maxLength: 6 }), fc.array(op, { minLength: 1, maxLength: 40 })])(
  'an integer address answers exactly as the same address given as a bigint, in every paging mode',
  (mode, mappings, ops) => {
    const fast = machine(mode, mappings);
    const general = machine(mode, mappings);
    for (const o of ops) {
      expect(run(fast, o, false)).toEqual(run(general, o, true));
      expect([fast.cr2, fast.pageFaultCount, fast.mmu.walkCount, fast.tlb!.hits, fast.tlb!.misses]).toEqual([general.cr2, general.pageFaultCount, general.mmu.walkCount, general.tlb!.hits, general.tlb!.misses]);
    }
    expect(fast.tlb!.entries()).toEqual(general.tlb!.entries());
    const words = (cpu: Cpu): Uint32Array => (cpu.memory as ArrayBufferPhysicalMemory).words;
    expect(Buffer.from(words(fast).buffer).equals(Buffer.from(words(general).buffer))).toBe(true);
    fast.tlb!.checkInvariants();
  },
);
