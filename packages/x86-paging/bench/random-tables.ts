// The page tables the MMU benches translate through: `mappingCount` random 4 KiB pages out of a
// 64 GiB region, written straight into emulated memory (8 bytes per mapping + table overhead), so
// the benches measure translation, not the mapper. Each page table ends up holding ~31 mappings.
// Shared by translate.bench.ts and compare-builds.ts.

/**
 * A deterministic xorshift32 source of numbers in [0, 1), so runs (and the two builds of an A/B)
 * see the same tables and streams: every bench here draws from one of these.
 */
export function xorshift32(seed: number): () => number {
  let x = seed;
  return (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** 64 GiB of address space, in pages. */
export const REGION_PAGES = 16 * 1024 * 1024;
/** Linear address of the region. */
export const REGION_BASE = 0x1000_0000_0000;
const TWO_32 = 4294967296;
const TABLE_FLAGS = 0x7; // P | R/W | U/S

/** What {@link buildRandomTables} built. */
export interface RandomTables {
  /** Frame of the PML4 (CR3). */
  readonly pml4: number;
  /** Linear address of every mapped page, in the order they were chosen. */
  readonly pages: Float64Array;
  /** Bytes of page tables written (PML4 included). */
  readonly tableBytes: number;
}

/**
 * Writes the tables into `words` (all of memory as u32, index = pa / 4), table frames from
 * 0x1000 up; `rand` returns numbers in [0, 1) and picks pages and (never touched) data frames;
 * `leafFlags` gives each leaf's low flag bits (default P | R/W | U/S).
 */
export function buildRandomTables(words: Uint32Array, mappingCount: number, rand: () => number, leafFlags: () => number = () => 0x7): RandomTables {
  let nextFrame = 0x1000;
  const allocTable = (): number => {
    const f = nextFrame;
    nextFrame += 4096;
    return f;
  };
  const pml4 = allocTable();
  const child = (table: number, index: number): number => {
    const w = table / 4 + index * 2;
    if ((words[w]! & 1) === 0) {
      const f = allocTable();
      words[w] = f | TABLE_FLAGS;
      words[w + 1] = 0;
      return f;
    }
    return words[w]! & 0xffff_f000;
  };
  const chosen = new Uint8Array(REGION_PAGES);
  const pages = new Float64Array(mappingCount);
  for (let n = 0; n < mappingCount; ) {
    const p = Math.floor(rand() * REGION_PAGES);
    if (chosen[p] === 1) continue;
    chosen[p] = 1;
    const va = REGION_BASE + p * 4096;
    pages[n++] = va;
    const i4 = Math.floor(va / 2 ** 39) % 512;
    const i3 = Math.floor(va / 2 ** 30) % 512;
    const i2 = Math.floor(va / 2 ** 21) % 512;
    const i1 = Math.floor(va / 4096) % 512;
    const pt = child(child(child(pml4, i4), i3), i2);
    const pa = Math.floor(rand() * 2 ** 24) * 4096;
    words[pt / 4 + i1 * 2] = ((pa % TWO_32) | leafFlags()) >>> 0;
    words[pt / 4 + i1 * 2 + 1] = Math.floor(pa / TWO_32);
  }
  return { pml4, pages, tableBytes: nextFrame - 0x1000 };
}
