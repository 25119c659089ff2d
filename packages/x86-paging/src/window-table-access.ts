// Strategy (d): a few fixed kernel pages ("windows") are remapped on demand onto whatever table
// frame must be read or written — the approach of kernels without a direct map (e.g. 32-bit
// kernels' kmap_atomic, or seL4-style "paging page tables"). The page table that maps the
// windows maps itself too (its first page), so remapping a window is itself an access through
// the MMU, followed by INVLPG of the window (SDM 4.10.4.1: a changed present entry is not seen
// until then).
import { InvalidOptionError, type FrameAllocator } from './api';
import type { Cpu } from './cpu';
import { PTE } from './entry';
import { Access } from './access-mode';
import { MmuTableAccess } from './mmu-table-access';
import { geometryOf } from './paging-geometries';
import type { PagingGeometry } from './paging-geometry';
import { PagingMode } from './paging-mode';
import type { TableAccess } from './table-access';

/** Default window base: linear form of canonical 0xffff_feff_ffe0_0000 (PML4 slot 509, the last 2 MiB below the default recursive slot 510). */
export const WINDOW_BASE = 0xfeff_ffe0_0000;
/** Default window base in 32-bit and PAE paging: 0xff80_0000, the 4 MiB below the classic recursive page tables at 0xffc0_0000. */
export const WINDOW_BASE_32 = 0xff80_0000;

/** The default window base of a mode. */
function defaultBase(g: PagingGeometry): number {
  return g.linearLimit === 2 ** 32 ? WINDOW_BASE_32 : WINDOW_BASE;
}

/** Options of {@link WindowTableAccess}. */
export interface WindowTableAccessOptions {
  /** Linear, 2 MiB-aligned base of the window area (installed with `install`); default `WINDOW_BASE`. */
  readonly base?: number;
  /** Number of windows, 1..511 (1..1023 in 32-bit paging); default 4 (a walk needs at most one at a time). */
  readonly windowCount?: number;
  /**
   * INVLPG a window after remapping it (default true). Turning it off reproduces the classic bug
   * — the window still shows the previous table — which the TLB's stale-use detector reports.
   */
  readonly flushOnRemap?: boolean;
  /** Paging mode of the tables (default 4-level). */
  readonly mode?: PagingMode;
}

/** Throws unless `base` is a linear address of the mode aligned to what one page table maps (2 MiB, or 4 MiB in 32-bit paging). */
function assertBase(g: PagingGeometry, base: number): void {
  const align = g.span(2);
  if (!Number.isSafeInteger(base) || base < 0 || base + align > g.linearLimit || base % align !== 0) {
    const shown = Number.isSafeInteger(base) && base >= 0 && base < g.linearLimit ? g.formatVa(base) : base;
    throw new InvalidOptionError('base', shown, `must be a ${align / 1048576} MiB-aligned linear address of ${g.name} paging`);
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
    super(cpu, 'window', options.mode ?? PagingMode.FourLevel);
    const g = this.geometry;
    const base = options.base ?? defaultBase(g);
    const windowCount = options.windowCount ?? 4;
    assertBase(g, base);
    const most = g.entryCount(1) - 1;
    if (!Number.isInteger(windowCount) || windowCount < 1 || windowCount > most) throw new InvalidOptionError('windowCount', windowCount, `must be an integer in 1..${most}`);
    this.base = base;
    this.windowCount = windowCount;
    this.flushOnRemap = options.flushOnRemap ?? true;
    this.shown = new Float64Array(windowCount).fill(-1);
  }

  /**
   * Builds the window area in the tree rooted at `rootFrame`, through `access` (e.g. a
   * PhysicalTableAccess while booting): creates missing tables down to the window page table
   * from `allocator` (supervisor, writable) and maps the window page table at `base` (default
   * `WINDOW_BASE`, or `WINDOW_BASE_32` in 32-bit and PAE paging).
   * @returns the window page table's frame, or null if the allocator ran out (tables created so
   *   far stay linked and zeroed)
   * @param mode paging mode of the tables (default 4-level)
   * @throws InvalidOptionError for a base that is not aligned to a page table's span (2 MiB, 4 MiB in 32-bit paging)
   */
  static install(access: TableAccess, allocator: FrameAllocator, rootFrame: number, base?: number, mode: PagingMode = PagingMode.FourLevel): number | null {
    const g = geometryOf(mode);
    const at = base ?? defaultBase(g);
    assertBase(g, at);
    const flags = PTE.Present | PTE.Writable;
    let table = rootFrame;
    for (let level = g.topLevel; level >= 2; level--) {
      const index = g.index(at, level);
      access.readEntry(level, at, table, index);
      if ((access.lo & PTE.Present) !== 0) {
        if ((access.lo & PTE.HugePage) !== 0 && ((g.hugeLevels >>> level) & 1) !== 0) throw new InvalidOptionError('base', g.formatVa(at), `a huge page at level ${level} covers the window area`);
        table = g.entryAddress(access.lo, access.hi, 0xfffff);
        continue;
      }
      const frame = allocator.allocFrame();
      if (frame === null) return null;
      // PAE's PDPTEs hold no R/W (SDM 4.4.1): the mode's mask keeps only the bits a level has.
      access.writeEntry(level, at, table, index, g.encodeLo(frame, flags & g.tableFlagsMask(level), false), g.encodeHi(frame, 0, 0xfffff));
      access.zeroTable(level - 1, at, frame);
      table = frame;
    }
    // `table` is the window page table; entry 0 maps it at `base`.
    access.writeEntry(1, at, table, 0, g.encodeLo(table, flags, false), g.encodeHi(table, 0, 0xfffff));
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
    const g = this.geometry;
    const pa = this.physical(this.base, Access.Write, (w + 1) * this.entryBytes);
    this.cpu.memory.write32(pa, g.encodeLo(tableFrame, flags, false));
    if (this.entryBytes === 8) this.cpu.memory.write32(pa + 4, g.encodeHi(tableFrame, 0, 0xfffff));
    this.shown[w] = tableFrame;
    this.remapCount++;
    const va = this.windowVa(w);
    if (this.flushOnRemap) this.cpu.invlpg(g.cpuAddress(va));
    return va;
  }
}
