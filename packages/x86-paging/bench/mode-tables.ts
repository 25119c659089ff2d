// The tables bench/modes.bench.ts and compare-builds.ts translate through in each paging mode:
// `mappingCount` random 4 KiB pages in one 1 GiB region of the mode's address space (32-bit / PAE
// at 0x4000_0000, 4-level at 0x1000_0000_0000, 5-level at 2^52, PML5 index 16, so every walk reads
// five levels), written straight into memory (the benches measure translation, not the mapper).
import type * as Package from '../src/index';

type Build = typeof Package;

/** The modes the benches cover. */
export const BENCH_MODES = ['32-bit', 'pae', '4-level', '5-level'] as const;
/** One of {@link BENCH_MODES}. */
export type BenchMode = (typeof BENCH_MODES)[number];

/**
 * Builds the tables of mode `m` in `memory` (table frames from 1 MiB up) with the classes of build
 * `B`; `rand` returns numbers in [0, 1). Returns the registers (CR3 at the root) and the pages.
 */
export function buildModeTables(B: Build, m: BenchMode, memory: Package.ArrayBufferPhysicalMemory, mappingCount: number, rand: () => number): { regs: Package.ControlRegisters; pages: Float64Array } {
  const { ControlRegisters, CR0, CR4, EFER } = B;
  const w = memory.words;
  let next = 0x10_0000;
  const alloc = () => {
    const f = next;
    next += 4096;
    return f;
  };
  const entryBytes = m === '32-bit' ? 4 : 8;
  const child = (table: number, index: number): number => {
    const i = (table + index * entryBytes) / 4;
    if ((w[i]! & 1) === 0) w[i] = alloc() | 0x7;
    return w[i]! & 0xffff_f000;
  };
  const top = alloc();
  let regs: Package.ControlRegisters;
  // The 1 GiB region: 32-bit / PAE at 0x4000_0000, 4-level at 0x1000_0000_0000, 5-level at 2^52.
  const base = m === '32-bit' || m === 'pae' ? 0x4000_0000 : m === '4-level' ? 0x1000_0000_0000 : 2 ** 52;
  if (m === '32-bit') regs = new ControlRegisters({ cr0: CR0.PE | CR0.PG | CR0.WP, cr4: CR4.PSE, efer: 0, cr3Frame: top });
  else if (m === 'pae') regs = new ControlRegisters({ cr0: CR0.PE | CR0.PG | CR0.WP, cr4: CR4.PAE, efer: EFER.NXE, cr3Frame: top });
  else regs = new ControlRegisters({ cr3Frame: top, cr4: CR4.PAE | CR4.PGE | (m === '5-level' ? CR4.LA57 : 0) });
  const chosen = new Uint8Array(262144);
  const pages = new Float64Array(mappingCount);
  for (let n = 0; n < mappingCount; ) {
    const p = Math.floor(rand() * 262144);
    if (chosen[p] === 1) continue;
    chosen[p] = 1;
    const va = base + p * 4096;
    pages[n++] = va;
    let pt: number;
    if (m === '32-bit') pt = child(top, Math.floor(va / 2 ** 22));
    else if (m === 'pae') {
      // PDPTEs: P only (R/W, U/S are reserved in a PAE PDPTE).
      const i3 = Math.floor(va / 2 ** 30);
      if ((w[(top + i3 * 8) / 4]! & 1) === 0) w[(top + i3 * 8) / 4] = alloc() | 1;
      pt = child(w[(top + i3 * 8) / 4]! & 0xffff_f000, Math.floor(va / 2 ** 21) % 512);
    } else {
      let t = top;
      if (m === '5-level') t = child(t, Math.floor(va / 2 ** 48) % 512);
      pt = child(child(child(t, Math.floor(va / 2 ** 39) % 512), Math.floor(va / 2 ** 30) % 512), Math.floor(va / 2 ** 21) % 512);
    }
    const pa = Math.floor(rand() * 2 ** 19) * 4096;
    w[(pt + (m === '32-bit' ? Math.floor(va / 4096) % 1024 : Math.floor(va / 4096) % 512) * entryBytes) / 4] = pa | 0x7;
  }
  if (m === 'pae') regs.loadPdptes(memory);
  return { regs, pages };
}

