// Checks a kernel's page tables the way a reviewer would: W^X (as Linux's CONFIG_DEBUG_WX),
// user-accessible pages in the kernel half, kernel text writable through an alias, data left
// executable, reserved bits, tables reached twice or looping, and leaves pointing outside RAM.
// Each finding names the range, the entries behind it and why it matters.
import { HIGHER_HALF_START, PTE, flagNames, formatPa, formatVa, levelName, walkTables, type MappingRange } from '@kmem/x86-paging';
import { PAT_POWER_ON, cacheTypeName, patIndex } from './cache-type';
import type { DumpPhysicalMemory } from './dump-memory';
import type { PageTableInspection } from './inspection';
import { formatEnd } from './mapping-view';
import type { VaRange } from '../elf/load-plan';
import type { EntryRef } from './table-scan';

/** How much a finding matters; `--fail-on` compares against this order. */
export type Severity = 'info' | 'warning' | 'error';
/** Severities from least to most serious. */
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'error'];

/** The rules. */
export type LintRule =
  | 'wx'
  | 'user-in-kernel-half'
  | 'kernel-text-writable'
  | 'nx-missing'
  | 'nx-disabled'
  | 'reserved-bits'
  | 'table-shared'
  | 'table-loop'
  | 'recursive-slot'
  | 'table-outside-dump'
  | 'leaf-outside-ram';

/** One entry behind a finding. */
export interface FindingEntry {
  /** 'PML4', 'PDPT', 'PD' or 'PT'. */
  readonly level: string;
  /** Physical address of the entry. */
  readonly entryPa: string;
  /** The raw 64-bit entry. */
  readonly raw: string;
  /** Names of its set bits. */
  readonly flags: readonly string[];
}

/** One finding. */
export interface LintFinding {
  /** Which check. */
  readonly rule: LintRule;
  /** How much it matters. */
  readonly severity: Severity;
  /** Virtual range (canonical hex, end exclusive), or null for findings about the tables themselves. */
  readonly start: string | null;
  /** Exclusive end of the range, or null. */
  readonly end: string | null;
  /** Physical address involved (first page or target table), or null. */
  readonly pa: string | null;
  /** 4 KiB pages covered (as CONFIG_DEBUG_WX counts them), or null. */
  readonly pageCount: number | null;
  /** The entries behind it: the walk of the range's first page, or the table entries concerned. */
  readonly entries: readonly FindingEntry[];
  /** What was found. */
  readonly message: string;
  /** Why it matters. */
  readonly why: string;
}

/** Options of {@link lintPageTables}. */
export interface LintOptions {
  /** Where kernel code may execute; executable kernel pages elsewhere are `nx-missing`. Default {@link LINUX_TEXT_RANGES}. */
  readonly textRanges?: readonly VaRange[];
  /** IA32_PAT as [low, high] halves (memory type of leaves outside RAM). */
  readonly pat?: readonly [number, number];
}

/**
 * Linux x86_64's kernel text and module space, 0xffff_ffff_8000_0000..0xffff_ffff_ff00_0000
 * (Documentation/arch/x86/x86_64/mm.rst: kernel text mapping and module mapping space).
 */
export const LINUX_TEXT_RANGES: readonly VaRange[] = [{ start: 0xffff_8000_0000, end: 0xffff_ff00_0000 }];

/** True when `s` is at least `min` in {@link SEVERITIES} order. */
export function severityAtLeast(s: Severity, min: Severity): boolean {
  return SEVERITIES.indexOf(s) >= SEVERITIES.indexOf(min);
}

function raw(lo: number, hi: number): string {
  const h = (hi >>> 0).toString(16).padStart(8, '0');
  const l = (lo >>> 0).toString(16).padStart(8, '0');
  return `0x${h.slice(0, 4)}_${h.slice(4)}_${l.slice(0, 4)}_${l.slice(4)}`;
}

function entryOf(e: EntryRef): FindingEntry {
  const huge = e.level !== 1 && e.level !== 4 && (e.lo & PTE.HugePage) !== 0;
  return { level: levelName(e.level), entryPa: formatPa(e.entryPa), raw: raw(e.lo, e.hi), flags: flagNames((e.lo & 0x1fff) | (e.hi & 0xfff0_0000), e.level, huge) };
}

const RESERVED_WHY = ['address bits at or above MAXPHYADDR', 'PS set in a PML4E', "a huge page's reserved low address bits", 'XD set while EFER.NXE = 0'];

/**
 * Lints an inspection (made without `protectionOnly`: frames must be contiguous in each range).
 * Findings come sorted by rule order above, then address. Cost follows the number of mappings
 * and tables (plus one 4-step walk per range finding, for its entries).
 */
export function lintPageTables(inspection: PageTableInspection, memory: DumpPhysicalMemory, options: LintOptions = {}): LintFinding[] {
  const { state, scan, mappings, access } = inspection;
  const pat = options.pat ?? PAT_POWER_ON;
  const textRanges = options.textRanges ?? LINUX_TEXT_RANGES;
  const out: LintFinding[] = [];
  const walkEntries = (va: number): FindingEntry[] =>
    walkTables(access, state.rootPa, va, state.maxPhysAddr).map((s) => ({ level: s.levelName, entryPa: formatPa(s.entryPa), raw: raw(s.entry.lo, s.entry.hi), flags: s.entry.flagNames }));
  /** Adds a range finding, extending the previous one of the same rule when they touch. */
  const addRange = (rule: LintRule, severity: Severity, start: number, end: number, pa: number, message: string, why: string): void => {
    const last = out[out.length - 1] as (LintFinding & { endVa?: number }) | undefined;
    if (last !== undefined && last.rule === rule && last.endVa === start && last.message === message) {
      const merged = { ...last, end: formatEnd(end), pageCount: (last.pageCount ?? 0) + (end - start) / 4096, endVa: end };
      out[out.length - 1] = merged;
      return;
    }
    const f: LintFinding & { endVa: number } = { rule, severity, start: formatVa(start), end: formatEnd(end), pa: formatPa(pa), pageCount: (end - start) / 4096, entries: walkEntries(start), message, why, endVa: end };
    out.push(f);
  };
  const isKernel = (m: MappingRange): boolean => m.start >= HIGHER_HALF_START;
  const writable = (m: MappingRange): boolean => (m.flags & PTE.Writable) !== 0;
  const user = (m: MappingRange): boolean => (m.flags & PTE.User) !== 0;
  const exec = (m: MappingRange): boolean => state.nxe && (m.flags & PTE.NoExecute) === 0;
  const inText = (m: MappingRange): boolean => textRanges.some((r) => m.start >= r.start && m.end <= r.end);

  if (!state.nxe) {
    out.push({ rule: 'nx-disabled', severity: 'warning', start: null, end: null, pa: null, pageCount: null, entries: [], message: `EFER.NXE = 0 (EFER = 0x${state.registers.efer.toString(16)}): no page can be made non-executable`, why: 'without NXE bit 63 is reserved and every mapped byte can be executed: W^X cannot hold (SDM 4.6.2)' });
  } else {
    for (const m of mappings) {
      if (!writable(m) || !exec(m)) continue;
      if (isKernel(m)) addRange('wx', 'error', m.start, m.end, m.pa, 'kernel mapping is writable and executable (W+X)', 'code written here can be run: R/W = 1 and XD = 0 at every level; Linux CONFIG_DEBUG_WX reports these as "W+X pages"');
      else addRange('wx', 'warning', m.start, m.end, m.pa, 'user mapping is writable and executable (W+X)', 'user memory that is both writable and executable (a JIT or an executable stack): an injected payload can run');
    }
  }
  for (const m of mappings) {
    if (isKernel(m) && user(m)) addRange('user-in-kernel-half', 'error', m.start, m.end, m.pa, `user-accessible (U/S = 1 at every level) in the kernel half, ${writable(m) ? 'writable' : 'read-only'}`, 'user code can reach kernel memory directly (SDM 4.6): the kernel half must be supervisor-only');
  }
  if (state.nxe) lintTextAliases(mappings, isKernel, user, exec, writable, addRange);
  if (state.nxe) {
    for (const m of mappings) {
      if (isKernel(m) && !user(m) && exec(m) && !writable(m) && !inText(m)) addRange('nx-missing', 'warning', m.start, m.end, m.pa, 'kernel mapping outside the kernel text ranges is executable (XD = 0)', 'data left executable widens what an attacker can run; only kernel text and modules need XD = 0');
    }
  }
  for (const r of scan.reserved) {
    const why = RESERVED_WHY.filter((_, i) => (r.mask & (1 << i)) !== 0).join(', ');
    out.push({ rule: 'reserved-bits', severity: 'error', start: formatVa(r.entry.va), end: null, pa: formatPa(r.entry.entryPa), pageCount: null, entries: [entryOf(r.entry)], message: `present ${levelName(r.entry.level)} entry has reserved bits set (${why})`, why: 'any walk through it faults with RSVD = 1 (SDM 4.7): the range it covers is unusable, and it is left out of the mappings' });
  }
  for (const s of scan.shared) {
    out.push({ rule: 'table-shared', severity: 'warning', start: formatVa(s.refs[0]!.va), end: null, pa: formatPa(s.frame), pageCount: null, entries: s.refs.map(entryOf), message: `the ${levelName(s.level)} at ${formatPa(s.frame)} is reached from ${s.refs.length} entries (at ${s.refs.slice(0, 4).map((r) => formatVa(r.va)).join(', ')}${s.refs.length > 4 ? `, ... ${s.refs.length - 4} more` : ''})`, why: 'one table under several ranges: a change meant for one range silently changes the others' });
  }
  for (const l of scan.loops) {
    if (l.recursive) out.push({ rule: 'recursive-slot', severity: 'info', start: formatVa(l.entry.va), end: null, pa: formatPa(l.targetPa), pageCount: null, entries: [entryOf(l.entry)], message: `PML4 slot ${(l.entry.entryPa - scan.rootPa) / 8} points at the PML4 itself (recursive mapping)`, why: 'the recursive-mapping design makes every table visible as a page there; it is skipped in the mappings' });
    else out.push({ rule: 'table-loop', severity: 'error', start: formatVa(l.entry.va), end: null, pa: formatPa(l.targetPa), pageCount: null, entries: [entryOf(l.entry)], message: `${levelName(l.entry.level)} entry points back up the tree at ${formatPa(l.targetPa)}, a table used at a higher level`, why: 'the CPU would read that table as another level: its entries get a meaning nobody wrote; not followed here' });
  }
  for (const o of scan.outsideDump) {
    out.push({ rule: 'table-outside-dump', severity: 'error', start: formatVa(o.entry.va), end: null, pa: formatPa(o.targetPa), pageCount: null, entries: [entryOf(o.entry)], message: `${levelName(o.entry.level)} entry points at a table at ${formatPa(o.targetPa)}, outside the dumped RAM`, why: 'a walk there reads MMIO or nothing: the tables are corrupt (or the dump is missing RAM)' });
  }
  for (const m of mappings) {
    const gaps = memory.gaps(m.pa, m.end - m.start);
    if (gaps.length === 0) continue;
    const type = cacheTypeName(patIndex(m.flags, m.pageSizeBytes), pat);
    const device = type === 'UC' || type === 'UC-' || type === 'WC';
    for (const g of gaps) {
      const va = m.start + (g.pa - m.pa);
      addRange(
        'leaf-outside-ram',
        device ? 'info' : 'warning',
        va,
        va + g.sizeBytes,
        g.pa,
        `maps physical ${formatPa(g.pa)}-${formatPa(g.pa + g.sizeBytes)}, which is not RAM in the dump, as ${type}`,
        device
          ? 'device memory (MMIO) mapped uncached, as drivers do: listed for review'
          : 'a cacheable (by PAT) mapping of something that is not RAM: speculative reads may reach device registers, unless the MTRRs make it uncacheable (a dump carries no MTRRs)',
      );
    }
  }
  return out.map((f) => {
    const { endVa: _drop, ...rest } = f as LintFinding & { endVa?: number };
    return rest;
  });
}

/** Executable kernel pages whose frames some other mapping writes: kernel text writable through an alias. */
function lintTextAliases(
  mappings: readonly MappingRange[],
  isKernel: (m: MappingRange) => boolean,
  user: (m: MappingRange) => boolean,
  exec: (m: MappingRange) => boolean,
  writable: (m: MappingRange) => boolean,
  addRange: (rule: LintRule, severity: Severity, start: number, end: number, pa: number, message: string, why: string) => void,
): void {
  const text = mappings.filter((m) => isKernel(m) && !user(m) && exec(m)).sort((a, b) => a.pa - b.pa);
  if (text.length === 0) return;
  const found: { start: number; end: number; pa: number; textVa: number }[] = [];
  // Writable ranges in physical order, swept against text ranges in physical order.
  const w = mappings.filter(writable).sort((a, b) => a.pa - b.pa);
  let t = 0;
  for (const m of w) {
    const mEnd = m.pa + (m.end - m.start);
    while (t < text.length && text[t]!.pa + (text[t]!.end - text[t]!.start) <= m.pa) t++;
    for (let k = t; k < text.length && text[k]!.pa < mEnd; k++) {
      const x = text[k]!;
      const lo = Math.max(m.pa, x.pa);
      const hi = Math.min(mEnd, x.pa + (x.end - x.start));
      if (lo >= hi) continue;
      const aliasVa = m.start + (lo - m.pa);
      const textVa = x.start + (lo - x.pa);
      if (aliasVa === textVa) continue; // the same mapping: W^X reports it
      found.push({ start: aliasVa, end: aliasVa + (hi - lo), pa: lo, textVa });
    }
  }
  found.sort((a, b) => a.start - b.start);
  for (const f of found) addRange('kernel-text-writable', 'error', f.start, f.end, f.pa, `writable alias of kernel text (executable at ${formatVa(f.textVa)})`, 'the kernel\'s code can be patched through this alias even though its own mapping is read-only');
}
