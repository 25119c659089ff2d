// Looking at a process's memory without touching it: software translation, a page's PTE decoded,
// and the regions in /proc/PID/maps style.
import { PTE, entryAddress } from '@kmem/x86-paging';
import { PTE_COW, PTE_PROT_NONE } from '../fault-policy';
import type { KernelServices } from '../kernel-services';
import type { PageInfo, Process } from './process';
import type { ProcessTable } from './process-table';
import { formatProt } from './regions';
import { leafFlags, leafHoldsFrame } from './user-pages';

const PAGE = 4096;
const P = PTE.Present;

/** See `Process.translate`. */
export function translate<K extends KernelServices>(table: ProcessTable<K>, p: Process, va: number): number {
  if (!p.alive || !Number.isSafeInteger(va) || va < p.userStart || va >= p.userEnd) return -1;
  return table.spaces.withSpace(p, () => {
    if (!p.pages_.lookup(va)) return -1;
    const lo = p.pages_.lo;
    if ((lo & P) === 0) return -1;
    return entryAddress(lo, p.pages_.hi, table.mappings.maskHi()) + (va % PAGE);
  });
}

/** See `Process.pageInfo`. */
export function pageInfo<K extends KernelServices>(table: ProcessTable<K>, p: Process, va: number): PageInfo | null {
  if (!p.alive || !Number.isSafeInteger(va) || va < p.userStart || va >= p.userEnd) return null;
  const pageVa = va - (va % PAGE);
  return table.spaces.withSpace(p, () => {
    const pages = p.pages_;
    if (!pages.lookup(pageVa) || !leafHoldsFrame(pages.lo)) return null;
    const flags = leafFlags(pages.lo, pages.hi);
    const frame = entryAddress(pages.lo, pages.hi, table.mappings.maskHi());
    return {
      va: pageVa,
      frame,
      present: (flags & P) !== 0,
      writable: (flags & PTE.Writable) !== 0,
      user: (flags & PTE.User) !== 0,
      noExecute: (flags & PTE.NoExecute) !== 0,
      accessed: (flags & PTE.Accessed) !== 0,
      dirty: (flags & PTE.Dirty) !== 0,
      copyOnWrite: (flags & PTE_COW) !== 0,
      protNone: (flags & PTE_PROT_NONE) !== 0,
      refCount: table.kernel.frames.refCount(frame),
      flags,
    };
  });
}

/** See `Process.formatMaps`. */
export function formatMaps(p: Process): string {
  const hex = (n: number): string => n.toString(16).padStart(12, '0');
  return p
    .regions()
    .map((r) => {
      const off = r.shared !== undefined ? r.start - r.shared.baseVa : r.backing === null ? 0 : r.backing.plan.segments[r.backing.segmentIndex]!.filePages.fileOffset + (r.start - r.backing.plan.segments[r.backing.segmentIndex]!.start);
      return `${hex(r.start)}-${hex(r.end)} ${formatProt(r.prot, r.shared !== undefined)} ${Math.max(0, off).toString(16).padStart(8, '0')} ${r.kind}${r.name === '' ? '' : ` ${r.name}`}`;
    })
    .join('\n');
}
