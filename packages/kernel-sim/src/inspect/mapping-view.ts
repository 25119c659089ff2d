// One mapping range as a person reads it: rights, page size, memory type, global, OS bits,
// protection key; and the table of them in the style of QEMU's `info mem` with more columns.
import { HIGHER_HALF_START, LINEAR_LIMIT, PTE, formatAccess, formatPa, formatVa, osBits, protectionKey, type MappingRange } from '@kmem/x86-paging';
import { PAT_POWER_ON, cacheTypeName, patIndex } from './cache-type';

/** A mapping range with its leaf bits spelled out. */
export interface MappingView {
  /** Canonical hex of the first address and of the exclusive end. */
  readonly start: string;
  /** Exclusive end, canonical hex (the top of a half is spelled out). */
  readonly end: string;
  /** Bytes covered. */
  readonly sizeBytes: number;
  /** First physical address (the run maps `[pa, pa + sizeBytes)` unless merged on rights alone). */
  readonly pa: string;
  /** `u`/`-`, `r`, `w`/`-`, `x`/`-` (effective over every level). */
  readonly rights: string;
  /** '4K', '2M' or '1G'. */
  readonly pageSize: string;
  /** PAT index 0..7 (PWT + 2 PCD + 4 PAT) and the memory type it selects. */
  readonly patIndex: number;
  /** Memory type the PAT index selects ('WB', 'UC-', ...). */
  readonly cacheType: string;
  /** G bit of the leaves. */
  readonly global: boolean;
  /** The 14 OS-available bits packed as x86-paging's `osBits` (0 when none). */
  readonly osBits: number;
  /** Protection key (bits 62:59) of user leaves when CR4.PKE = 1, else null. */
  readonly protectionKey: number | null;
}

/** Exclusive end of a range in canonical form (the top of each half is spelled out). */
export function formatEnd(end: number): string {
  return end === HIGHER_HALF_START ? '0x0000_8000_0000_0000' : end === LINEAR_LIMIT ? '0x1_0000_0000_0000_0000' : formatVa(end);
}

/** Page size label. */
export function pageSizeLabel(sizeBytes: number): string {
  return sizeBytes === 4096 ? '4K' : sizeBytes === 2097152 ? '2M' : sizeBytes === 1073741824 ? '1G' : `${sizeBytes}B`;
}

/**
 * A mapping described field by field.
 * @param pat IA32_PAT as [low, high] u32 halves (default: the power-on value)
 * @param pke CR4.PKE: report the protection key of user leaves
 */
export function describeMapping(r: MappingRange, pat: readonly [number, number] = PAT_POWER_ON, pke = false): MappingView {
  const idx = patIndex(r.flags, r.pageSizeBytes);
  const user = (r.flags & PTE.User) !== 0;
  // With PKE, bits 62:59 are the key (SDM 4.6.2); they are OS bits otherwise.
  const os = pke && user ? osBits(r.flags) & 0xff : osBits(r.flags);
  return {
    start: formatVa(r.start),
    end: formatEnd(r.end),
    sizeBytes: r.end - r.start,
    pa: formatPa(r.pa),
    rights: formatAccess(r.flags),
    pageSize: pageSizeLabel(r.pageSizeBytes),
    patIndex: idx,
    cacheType: cacheTypeName(idx, pat),
    global: (r.flags & PTE.Global) !== 0,
    osBits: os,
    protectionKey: pke && user ? protectionKey(r.flags) : null,
  };
}

/**
 * Text table of mappings, one line per range:
 * `0xffff_8880_0000_0000-0xffff_8880_0020_0000  0x20_0000  -rw-  2M  WB   G  -> 0x0` (then
 * `os=0x…` when OS bits are set, `pkey=N` with protection keys).
 */
export function formatMappingViews(views: readonly MappingView[]): string {
  const sizeWidth = Math.max(4, ...views.map((v) => formatPa(v.sizeBytes).length));
  return views
    .map((v) => {
      const extra = `${v.osBits !== 0 ? `  os=0x${v.osBits.toString(16)}` : ''}${v.protectionKey !== null && v.protectionKey !== 0 ? `  pkey=${v.protectionKey}` : ''}`;
      return `${v.start}-${v.end.padEnd(21)} ${formatPa(v.sizeBytes).padStart(sizeWidth)}  ${v.rights}  ${v.pageSize}  ${v.cacheType.padEnd(3)}  ${v.global ? 'G' : '-'}  -> ${v.pa}${extra}`;
    })
    .join('\n');
}
