// Virtual memory layouts as data: the type, validation, canonical-address helpers and a table.
import { InvalidLayoutError, LayoutAddressSpaceError, LayoutCrossesHoleError, LayoutOverlapError, NonCanonicalLayoutError } from './api';
import { HIGHER_HALF_LINEAR, LINEAR_LIMIT, formatCanonical, formatPhysical } from './hex';
import { show } from './show-value';

/** What a layout region is for; the boot sequence finds regions by role. */
export type LayoutRegionRole =
  | 'kernel-image'
  | 'kernel-stack'
  | 'kernel-heap'
  | 'slab'
  | 'direct-map'
  | 'table-window'
  | 'scratch'
  | 'user-image'
  | 'user-heap'
  | 'user-mmap'
  | 'user-stack'
  | 'other';

/**
 * The paging mode a layout is made for (SDM vol. 3A 4.1.1): `4-level` (48-bit linear addresses,
 * the default) or `32-bit` (2-level paging with 4-byte entries, a 4 GiB linear space).
 */
export type LayoutPagingMode = '4-level' | '32-bit';

/** How the kernel's software reaches page-table frames (x86-paging's TableAccess strategies). */
export type TableAccessMechanism = 'physical' | 'direct-map' | 'recursive' | 'window';

/** A named range of the virtual address space, `[start, end)` in 48-bit linear form. */
export interface LayoutRegion {
  /** Unique name within the layout, e.g. `kernel-heap`. */
  readonly name: string;
  /** What the boot sequence uses it for. */
  readonly role: LayoutRegionRole;
  /** First linear address (4 KiB aligned). */
  readonly start: number;
  /** One past the last linear address (4 KiB aligned, at most 2^48). */
  readonly end: number;
  /** One line for people: what lives there. */
  readonly purpose: string;
  /** Mapped with va = pa (identity), as the identity-low kernel is. */
  readonly identityMapped?: boolean;
}

/** A `[start, end)` range of linear addresses. */
export interface LinearRange {
  /** First address. */
  readonly start: number;
  /** End (exclusive). */
  readonly end: number;
}

/**
 * A virtual memory layout: where the kernel, its stacks, heap and direct map live, where user
 * programs live, and how page tables are reached. All addresses are 48-bit linear numbers
 * (DESIGN.md): canonical `0xffff_8000_0000_0000` is linear `0x8000_0000_0000`; use
 * {@link linearFromCanonical} to write them in canonical form.
 */
export interface Layout {
  /** Short identifier, e.g. `higher-half`. */
  readonly name: string;
  /** One paragraph: which kernels lay memory out this way. */
  readonly description: string;
  /** Kernel-side regions (and any others), non-overlapping. */
  readonly regions: readonly LayoutRegion[];
  /** The range user programs may use (lower half; end at most 2^47). */
  readonly userRange: LinearRange;
  /** Initial user stack pointer (exclusive top: the stack's highest byte is at `userStackTop - 1`). */
  readonly userStackTop: number;
  /** Physical address the kernel image is loaded at (4 KiB aligned). */
  readonly kernelPhysicalBase: number;
  /** How the kernel reaches page tables. */
  readonly tableAccess: TableAccessMechanism;
  /**
   * Slot of the recursive entry, when `tableAccess` is `recursive`: a PML4 slot (0..511) for
   * 4-level paging, a page-directory slot (0..1023) for 32-bit paging (1023 puts the directory at
   * 0xffff_f000 and the page tables at 0xffc0_0000).
   */
  readonly recursiveSlot?: number;
  /** The paging mode the layout is made for. Default `4-level`. */
  readonly pagingMode?: LayoutPagingMode;
  /**
   * Named parts of the user range (text and heap, mmap area, stack), for people and for the
   * kernel's placement choices; each lies inside `userRange`, and they do not overlap.
   */
  readonly userRegions?: readonly LayoutRegion[];
  /**
   * Where exec places a position-independent program (its lowest PT_LOAD page) when the caller
   * gives no `loadBias`; page aligned, inside the user range below the stack top. Absent: Linux's
   * ELF_ET_DYN_BASE scaled to the user range (0x0000_5555_5555_4000 for a 2^47 stack top).
   */
  readonly pieBase?: number;
}

const PAGE = 4096;
const TWO_MIB = 2 * 1024 * 1024;
/** Bytes covered by one PML4 entry (SDM 4.5: bits 47:39 index the PML4). */
export const PML4_SLOT_BYTES = 2 ** 39;
/** Bytes covered by one 32-bit page-directory entry (SDM 4.3: bits 31:22 index the directory): 4 MiB. */
export const PDE32_SLOT_BYTES = 2 ** 22;
/** One past the last 32-bit linear address: 2^32. */
export const LINEAR_LIMIT_32 = 0x1_0000_0000;

/**
 * Converts a canonical 64-bit address written in hex (`0xffff_8000_0000_0000`, underscores
 * allowed) to its 48-bit linear form. `0x1_0000_0000_0000_0000` (2^64, an exclusive end) maps
 * to 2^48.
 * @throws NonCanonicalLayoutError if it is not hex, above 2^64, or bits 63:48 do not all equal bit 47.
 */
export function linearFromCanonical(hex: string): number {
  const m = /^0x([0-9a-f]{1,17})$/i.exec(hex.replace(/_/g, ''));
  if (!m) throw new NonCanonicalLayoutError(`"${hex.slice(0, 40)}" is not a 0x-prefixed hex address`);
  const digits = m[1]!.replace(/^0+(?=.)/, '').toLowerCase();
  if (digits === '10000000000000000') return LINEAR_LIMIT;
  if (digits.length > 16) throw new NonCanonicalLayoutError(`${hex} is above 2^64`);
  const padded = digits.padStart(16, '0');
  const top = padded.slice(0, 4);
  const linear = parseInt(padded.slice(4), 16);
  const upper = linear >= HIGHER_HALF_LINEAR;
  if ((upper && top !== 'ffff') || (!upper && top !== '0000')) throw new NonCanonicalLayoutError(`${hex} is not canonical: bits 63:48 must equal bit 47`);
  return linear;
}

function checkAddress(what: string, value: number, mode: LayoutPagingMode = '4-level'): void {
  if (mode === '32-bit') {
    if (!Number.isSafeInteger(value) || value < 0 || value > LINEAR_LIMIT_32) {
      throw new LayoutAddressSpaceError(`${what}: ${show(value)} is outside the 32-bit linear address space (0..2^32)`);
    }
    return;
  }
  if (!Number.isSafeInteger(value) || value < 0 || value > LINEAR_LIMIT) {
    throw new NonCanonicalLayoutError(`${what}: ${show(value)} is not a 48-bit linear address (0..2^48)`);
  }
}

function checkRange(what: string, r: LinearRange, mode: LayoutPagingMode = '4-level'): void {
  const fmt = formatLayoutVa(mode);
  checkAddress(`${what} start`, r.start, mode);
  checkAddress(`${what} end`, r.end, mode);
  if (r.end <= r.start) throw new InvalidLayoutError(`${what}: end ${fmt(r.end)} is not above start ${fmt(r.start)}`);
  if (r.start % PAGE !== 0 || r.end % PAGE !== 0) throw new InvalidLayoutError(`${what}: ${fmt(r.start)}..${fmt(r.end)} is not 4 KiB aligned`);
  if (mode === '4-level' && r.start < HIGHER_HALF_LINEAR && r.end > HIGHER_HALF_LINEAR) {
    throw new LayoutCrossesHoleError(`${what}: ${formatCanonical(r.start)}..${formatCanonical(r.end)} crosses the canonical hole at 0x0000_8000_0000_0000 / 0xffff_8000_0000_0000`);
  }
}

/**
 * Checks a layout, so users can define their own. Returns it unchanged when valid.
 * @throws NonCanonicalLayoutError for an address outside the 48-bit linear space (4-level).
 * @throws LayoutAddressSpaceError for an address outside the 4 GiB linear space (32-bit).
 * @throws LayoutCrossesHoleError for a range spanning the user/kernel boundary (4-level).
 * @throws LayoutOverlapError when two regions (or a region and the user range, or two user
 *   regions) overlap, or a region other than a `table-window` one lies in the recursive slot.
 * @throws InvalidLayoutError for empty or misaligned ranges, duplicate names, a missing or
 *   second `kernel-image` region, a user range outside the lower half (4-level), a user region
 *   outside the user range, a stack top outside it, a kernel physical base that is misaligned or
 *   whose offset to the kernel's virtual base is not a multiple of 2 MiB (4-level: the boot
 *   aliases it with 2 MiB pages), a 32-bit kernel region not 4 MiB aligned or not holding its
 *   physical base's 4 MiB page (the boot maps it with 4 MiB pages), an identity-mapped kernel not
 *   at its physical base, or a table-access mechanism missing what it needs.
 */
export function validateLayout(layout: Layout): Layout {
  const mode = layout.pagingMode ?? '4-level';
  if (mode !== '4-level' && mode !== '32-bit') throw new InvalidLayoutError(`unknown paging mode "${show(mode)}"`);
  const fmt = formatLayoutVa(mode);
  const names = new Set<string>();
  const userRegions = layout.userRegions ?? [];
  for (const r of [...layout.regions, ...userRegions]) {
    if (typeof r.name !== 'string' || r.name === '') throw new InvalidLayoutError('a region has no name');
    if (names.has(r.name)) throw new InvalidLayoutError(`two regions are named "${r.name}"`);
    names.add(r.name);
    checkRange(`region ${r.name}`, r, mode);
  }
  checkRange('user range', layout.userRange, mode);
  if (mode === '4-level' && layout.userRange.end > HIGHER_HALF_LINEAR) throw new InvalidLayoutError(`user range ends at ${fmt(layout.userRange.end)}, above the lower half`);
  checkAddress('user stack top', layout.userStackTop, mode);
  if (layout.userStackTop % PAGE !== 0 || layout.userStackTop <= layout.userRange.start || layout.userStackTop > layout.userRange.end) {
    throw new InvalidLayoutError(`user stack top ${fmt(layout.userStackTop)} is not a page boundary inside the user range`);
  }
  const pie = layout.pieBase;
  if (pie !== undefined && (!Number.isSafeInteger(pie) || pie % PAGE !== 0 || pie < layout.userRange.start || pie >= layout.userStackTop)) {
    throw new InvalidLayoutError(`PIE base ${typeof pie === 'number' ? fmt(pie) : show(pie)} is not a page boundary inside the user range below the stack top`);
  }
  for (const r of userRegions) {
    if (r.start < layout.userRange.start || r.end > layout.userRange.end) throw new InvalidLayoutError(`user region ${r.name} (${fmt(r.start)}..${fmt(r.end)}) lies outside the user range`);
  }
  checkDisjoint(userRegions.map((r) => ({ name: r.name, start: r.start, end: r.end })), fmt);
  const all = [...layout.regions.map((r) => ({ name: r.name, start: r.start, end: r.end })), { name: 'user range', ...layout.userRange }];
  checkDisjoint(all, fmt);
  const kernels = layout.regions.filter((r) => r.role === 'kernel-image');
  if (kernels.length !== 1) throw new InvalidLayoutError(`a layout needs exactly one kernel-image region, found ${kernels.length}`);
  const kernel = kernels[0]!;
  const pb = layout.kernelPhysicalBase;
  if (!Number.isSafeInteger(pb) || pb < 0 || pb % PAGE !== 0 || pb >= 2 ** 52) throw new InvalidLayoutError(`kernel physical base ${formatPhysical(pb)} is not a 4 KiB aligned physical address`);
  if (mode === '32-bit') {
    // The boot maps the kernel region with 4 MiB pages starting at the 4 MiB page that holds the
    // image (seed 002: 0xc000_0000 -> the first 4 MiB, image at 1 MiB).
    if (kernel.start % PDE32_SLOT_BYTES !== 0) throw new InvalidLayoutError(`32-bit kernel region starts at ${fmt(kernel.start)}, not on a 4 MiB boundary`);
    if (pb >= LINEAR_LIMIT_32) throw new InvalidLayoutError(`kernel physical base ${formatPhysical(pb)} is above 4 GiB, out of reach of a 32-bit boot`);
    if (pb % PDE32_SLOT_BYTES >= kernel.end - kernel.start) throw new InvalidLayoutError(`kernel physical base ${formatPhysical(pb)} falls outside the kernel region's first 4 MiB page`);
  } else if ((kernel.start - pb) % TWO_MIB !== 0) {
    throw new InvalidLayoutError(`kernel virtual base ${fmt(kernel.start)} minus physical base ${formatPhysical(pb)} is not a multiple of 2 MiB`);
  }
  for (const r of layout.regions) {
    if (mode === '4-level' && r.identityMapped === true && r.end > HIGHER_HALF_LINEAR) throw new InvalidLayoutError(`identity-mapped region ${r.name} is not in the lower half`);
  }
  if (kernel.identityMapped === true && kernel.start !== pb) throw new InvalidLayoutError(`identity-mapped kernel starts at ${fmt(kernel.start)}, not at its physical base ${formatPhysical(pb)}`);
  switch (layout.tableAccess) {
    case 'physical':
      break;
    case 'direct-map':
      if (!layout.regions.some((r) => r.role === 'direct-map')) throw new InvalidLayoutError('tableAccess "direct-map" needs a direct-map region');
      break;
    case 'window':
      if (!layout.regions.some((r) => r.role === 'table-window')) throw new InvalidLayoutError('tableAccess "window" needs a table-window region');
      break;
    case 'recursive': {
      const slots = mode === '32-bit' ? 1024 : 512;
      const slotBytes = mode === '32-bit' ? PDE32_SLOT_BYTES : PML4_SLOT_BYTES;
      const slot = layout.recursiveSlot;
      if (slot === undefined || !Number.isInteger(slot) || slot < 0 || slot >= slots) throw new InvalidLayoutError(`tableAccess "recursive" needs a recursiveSlot in 0..${slots - 1}, got ${show(slot)}`);
      const start = slot * slotBytes;
      // Regions that name the recursive window itself (the page directory, the page tables) may lie in it.
      const inWindow = (r: LinearRange): boolean => r.start >= start && r.end <= start + slotBytes;
      const windows = new Set(layout.regions.filter((r) => r.role === 'table-window' && inWindow(r)).map((r) => r.name));
      const clash = all.find((r) => r.start < start + slotBytes && start < r.end && !windows.has(r.name));
      if (clash) throw new LayoutOverlapError(`recursive slot ${slot} (${fmt(start)}..) overlaps ${clash.name}`);
      break;
    }
    default:
      throw new InvalidLayoutError(`unknown tableAccess "${show(layout.tableAccess)}"`);
  }
  return layout;
}

function checkDisjoint(ranges: { name: string; start: number; end: number }[], fmt: (va: number) => string): void {
  ranges.sort((a, b) => a.start - b.start);
  for (let i = 1; i < ranges.length; i++) {
    const a = ranges[i - 1]!;
    const b = ranges[i]!;
    if (b.start < a.end) throw new LayoutOverlapError(`${a.name} (${fmt(a.start)}..${fmt(a.end)}) overlaps ${b.name} (from ${fmt(b.start)})`);
  }
}

/**
 * How a layout's addresses print: canonical 64-bit hex for 4-level (`0xffff_8000_0000_0000`),
 * 32-bit hex for 32-bit paging (`0xc000_0000`; the exclusive end 2^32 prints `0x1_0000_0000`).
 */
export function formatLayoutVa(mode: LayoutPagingMode): (va: number) => string {
  return mode === '32-bit' ? formatPhysical : formatCanonical;
}

/** The region of `layout` with `role`, or undefined. */
export function findLayoutRegion(layout: Layout, role: LayoutRegionRole): LayoutRegion | undefined {
  return layout.regions.find((r) => r.role === role);
}

/** Formats a byte count in binary units: `16 MiB`, `128 TiB`, `1.5 GiB`. */
export function formatSize(sizeBytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = sizeBytes;
  let u = 0;
  while (value >= 1024 && u < units.length - 1) {
    value /= 1024;
    u++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(2)} ${units[u]}`;
}

/**
 * The layout as a table in the style of Linux's Documentation/arch/x86/x86_64/mm.rst: start,
 * end (inclusive), size and use, one row per region and one for the user range, in address
 * order, addresses in canonical hex. Kernel holes are not listed.
 */
export function formatLayoutTable(layout: Layout): string {
  const fmt = formatLayoutVa(layout.pagingMode ?? '4-level');
  const userRows = (layout.userRegions ?? []).length > 0
    ? (layout.userRegions ?? []).map((r) => ({ start: r.start, end: r.end, use: `${r.name}: ${r.purpose}` }))
    : [{ start: layout.userRange.start, end: layout.userRange.end, use: `user: programs${layout.pieBase === undefined ? '' : ` (PIEs at ${fmt(layout.pieBase)})`}, heap, mmap; stack grows down from ${fmt(layout.userStackTop - 1)}` }];
  const rows = [
    ...layout.regions.map((r) => ({ start: r.start, end: r.end, use: `${r.name}: ${r.purpose}${r.identityMapped === true ? ' (identity-mapped)' : ''}` })),
    ...userRows,
  ].sort((a, b) => a.start - b.start);
  const header = ['start addr', 'end addr (incl.)', 'size', 'use'];
  const cells = rows.map((r) => [fmt(r.start), fmt(r.end - 1), formatSize(r.end - r.start), r.use]);
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => `${c[0]!.padEnd(widths[0]!)} | ${c[1]!.padEnd(widths[1]!)} | ${c[2]!.padStart(widths[2]!)} | ${c[3]}`;
  const rule = `${'='.repeat(widths[0]!)}=|=${'='.repeat(widths[1]!)}=|=${'='.repeat(widths[2]!)}=|=${'='.repeat(20)}`;
  const mode = layout.pagingMode === '32-bit' ? '32-bit paging; ' : '';
  return [`${layout.name} (${mode}page tables reached by: ${layout.tableAccess}${layout.tableAccess === 'recursive' ? ` slot ${show(layout.recursiveSlot)}` : ''}; kernel loaded at physical ${formatPhysical(layout.kernelPhysicalBase)})`, rule, line(header), rule, ...cells.map(line), rule].join('\n');
}
