// Strategy (d): a few fixed kernel pages ("windows") are remapped on demand onto whatever table
// frame must be read or written — the approach of kernels without a direct map (e.g. 32-bit
// kernels' kmap_atomic, or seL4-style "paging page tables"). The page table that maps the
// windows maps itself too (its first page), so remapping a window is itself an access through
// the MMU, followed by INVLPG of the window (SDM 4.10.4.1: a changed present entry is not seen
// until then).
import { formatVa, InvalidOptionError, type FrameAllocator } from './api';
import type { Cpu } from './cpu';
import { PTE, encodeHi, encodeLo } from './entry';
import { Access } from './access-mode';
import { MmuTableAccess } from './mmu-table-access';
import type { TableAccess } from './table-access';

/** Default window base: linear form of canonical 0xffff_feff_ffe0_0000 (PML4 slot 509, the last 2 MiB below the default recursive slot 510). */
export const WINDOW_BASE = 0xfeff_ffe0_0000;

/** Options of {@link WindowTableAccess}. */
export interface WindowTableAccessOptions {
  /** Linear, 2 MiB-aligned base of the window area (installed with `install`); default `WINDOW_BASE`. */
  readonly base?: number;
  /** Number of windows, 1..511; default 4 (a walk needs at most one at a time). */
  readonly windowCount?: number;
  /**
   * INVLPG a window after remapping it (default true). Turning it off reproduces the classic bug
   * — the window still shows the previous table — which the TLB's stale-use detector reports.
   */
  readonly flushOnRemap?: boolean;
}

function assertBase(base: number): void {
  if (!Number.isSafeInteger(base) || base < 0 || base >= 2 ** 48 || base % 2097152 !== 0) {
    throw new InvalidOptionError('base', Number.isSafeInteger(base) && base >= 0 && base < 2 ** 48 ? formatVa(base) : base, 'must be a 2 MiB-aligned linear address');
  }
}

/**
 * Reaches any table frame by mapping it into one of `windowCount` window pages at
 * `base + (1 + w) × 4096`. The page at `base` maps the window page table itself, so the
 * window PTEs are edited through the MMU too. Windows are reused round-robin; a window already
 * showing the wanted frame is reused without remapping.
 */
export class WindowTableAccess extends MmuTableAccess {
  /** Linear base of the window area. */
  readonly base: number;
  /** Number of windows. */
  readonly windowCount: number;
  /** Whether a remap is followed by INVLPG. */
  readonly flushOnRemap: boolean;
  /** Window remaps done so far. */
  remapCount = 0;
  /** Frame each window shows (-1 = none yet). */
  private readonly shown: Float64Array;
  private next = 0;

  /** @throws InvalidOptionError for a bad base or window count */
  constructor(cpu: Cpu, options: WindowTableAccessOptions = {}) {
    super(cpu, 'window');
    const base = options.base ?? WINDOW_BASE;
    const windowCount = options.windowCount ?? 4;
    assertBase(base);
    if (!Number.isInteger(windowCount) || windowCount < 1 || windowCount > 511) throw new InvalidOptionError('windowCount', windowCount, 'must be an integer in 1..511');
    this.base = base;
    this.windowCount = windowCount;
    this.flushOnRemap = options.flushOnRemap ?? true;
    this.shown = new Float64Array(windowCount).fill(-1);
  }

  /**
   * Builds the window area in the tree rooted at `pml4Frame`, through `access` (e.g. a
   * PhysicalTableAccess while booting): creates missing PDPT/PD tables and the window page
   * table from `allocator` (supervisor, writable) and maps the window page table at `base`.
   * @returns the window page table's frame, or null if the allocator ran out (tables created so
   *   far stay linked and zeroed)
   * @throws InvalidOptionError for a base that is not 2 MiB aligned
   */
  static install(access: TableAccess, allocator: FrameAllocator, pml4Frame: number, base = WINDOW_BASE): number | null {
    assertBase(base);
    const flags = PTE.Present | PTE.Writable;
    let table = pml4Frame;
    for (let level = 4; level >= 2; level--) {
      const index = Math.floor(base / 2 ** (12 + 9 * (level - 1))) % 512;
      access.readEntry(level, base, table, index);
      if ((access.lo & PTE.Present) !== 0) {
        if ((access.lo & PTE.HugePage) !== 0) throw new InvalidOptionError('base', formatVa(base), `a huge page at level ${level} covers the window area`);
        table = (access.hi & 0xfffff) * 4294967296 + ((access.lo & 0xffff_f000) >>> 0);
        continue;
      }
      const frame = allocator.allocFrame();
      if (frame === null) return null;
      access.writeEntry(level, base, table, index, encodeLo(frame, flags), encodeHi(frame, flags));
      access.zeroTable(level - 1, base, frame);
      table = frame;
    }
    // `table` is the window page table; entry 0 maps it at `base`.
    access.writeEntry(1, base, table, 0, encodeLo(table, flags), encodeHi(table, flags));
    return table;
  }

  /** Linear address of window `w`. */
  windowVa(w: number): number {
    return this.base + (w + 1) * 4096;
  }

  protected tableVa(_level: number, _va: number, tableFrame: number): number {
    for (let w = 0; w < this.windowCount; w++) if (this.shown[w] === tableFrame) return this.windowVa(w);
    const w = this.next;
    this.next = w + 1 === this.windowCount ? 0 : w + 1;
    // Edit the window's PTE through the self-mapped window page table at `base`.
    const flags = PTE.Present | PTE.Writable;
    const pa = this.physical(this.base + (w + 1) * 8, Access.Write);
    this.cpu.memory.write32(pa, encodeLo(tableFrame, flags) >>> 0);
    this.cpu.memory.write32(pa + 4, encodeHi(tableFrame, flags) >>> 0);
    this.shown[w] = tableFrame;
    this.remapCount++;
    const va = this.windowVa(w);
    if (this.flushOnRemap) this.cpu.invlpg(va);
    return va;
  }
}
