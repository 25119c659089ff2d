// The kernel's own invariants beyond each part's: who owns every page table, and whether every
// mapping in the kernel's tables points where it should (direct map at its offset, image with its
// section rights, memMapAddr ranges, heap / stack / kernel-data frames of the right owner).
import { PTE, addressMaskHi, collectMappings, entryAddress } from '@kmem/x86-paging';
import { formatCanonical, formatPhysical } from '../hex';
import { KernelInvariantError } from '../kernel-errors';
import { findLayoutRegion } from '../layout';
import type { KernelParts } from './kernel-parts';
import type { PhysicalMapping } from './kernel-mappings';

const PAGE = 4096;
const TWO_MIB = 2 * 1024 * 1024;
const P = PTE.Present;
const RW = PTE.Writable;
const NX = PTE.NoExecute;

/**
 * Every table reachable from the kernel's PML4 is owned ('page-table', no pid); every table of
 * an address-space root's own tree is owned ('page-table', the root's pid); and every
 * 'page-table' frame is one of those (none leaked).
 * @throws KernelInvariantError
 */
export function checkKernelTables(parts: KernelParts, roots: Iterable<number>): void {
  const maskHi = addressMaskHi(parts.machine.maxPhysAddrBits);
  const mem = parts.machine.memory;
  const frames = parts.need(parts.frames, 'frames');
  const seen = new Set<number>();
  const visit = (level: number, table: number, pid: number, what: string): void => {
    if (seen.has(table)) return; // shared with the kernel (or another tree): checked there
    seen.add(table);
    const kind = frames.kindOf(table);
    if (kind !== 'page-table' || frames.pidOf(table) !== pid) {
      throw new KernelInvariantError(`${what} page table ${formatPhysical(table)} (level ${level}) is owned by ${kind ?? 'nobody'}${frames.pidOf(table) >= 0 ? ` of pid ${frames.pidOf(table)}` : ''}, not 'page-table'${pid >= 0 ? ` of pid ${pid}` : ''}`);
    }
    if (level === 1 || !mem.isBacked(table)) return; // a never-written table is all zeros
    const w = mem.frameWords(table);
    for (let i = 0; i < 512; i++) {
      const lo = w[i * 2]!;
      if ((lo & P) === 0) continue;
      if (level !== 4 && (lo & PTE.HugePage) !== 0) continue;
      if (level === 4 && i === parts.recursiveSlot) continue;
      visit(level - 1, entryAddress(lo, w[i * 2 + 1]!, maskHi), pid, what);
    }
  };
  visit(4, parts.kernelRoot, -1, 'kernel');
  for (const root of roots) visit(4, root, frames.pidOf(root), `address space ${formatPhysical(root)}:`);
  const owned = frames.usageByOwner()['page-table'];
  if (owned !== seen.size) throw new KernelInvariantError(`${owned} frames are owned 'page-table' but ${seen.size} tables are reachable from the kernel and the address-space roots (${owned - seen.size} leaked)`);
}

/**
 * Every mapping of the kernel's tables points at RAM it owns or a range mapped on purpose, and
 * none is user-accessible.
 * @throws KernelInvariantError
 */
export function checkKernelMappings(parts: KernelParts, physMappings: readonly PhysicalMapping[]): void {
  const frames = parts.need(parts.frames, 'frames');
  const layout = parts.layout;
  const dm = findLayoutRegion(layout, 'direct-map');
  const img = parts.image;
  const heap = findLayoutRegion(layout, 'kernel-heap')!;
  const stack = findLayoutRegion(layout, 'kernel-stack')!;
  const ram = parts.ramFrameRanges();
  const inRam = (pa: number, end: number): boolean => ram.some((r) => r.start <= pa && end <= r.end);
  const bad = (m: { start: number }, why: string): never => {
    throw new KernelInvariantError(`kernel mapping at ${formatCanonical(m.start)}: ${why}`);
  };
  // Read through physical memory (what the MMU sees), not through the kernel's mechanism:
  // faster, and independent of the direct map being checked.
  const win = findLayoutRegion(layout, 'table-window');
  for (const m of collectMappings(parts.physical, parts.kernelRoot, { maxPhysAddr: parts.machine.maxPhysAddrBits, skipPml4Slots: parts.recursiveSlot >= 0 ? [parts.recursiveSlot] : [] })) {
    if ((m.flags & PTE.User) !== 0) bad(m, 'is user-accessible in the kernel page tables');
    if (dm !== undefined && m.start >= dm.start && m.end <= dm.end) {
      if (m.pa !== m.start - dm.start) bad(m, `direct map points at ${formatPhysical(m.pa)}, not at its offset`);
      if (!inRam(m.pa, m.pa + (m.end - m.start))) bad(m, `direct map covers ${formatPhysical(m.pa)}..${formatPhysical(m.pa + m.end - m.start)}, which is not RAM`);
      if ((m.flags & NX) === 0) bad(m, 'direct map is executable');
      continue;
    }
    // A run wholly inside a memMapAddr mapping at its offset is right as a whole (one check, not
    // one per 4 KiB page of a mapping that may be large).
    if (physMappings.some((p) => m.start >= p.va && m.end <= p.va + p.sizeBytes && m.pa === p.pa + (m.start - p.va))) continue;
    for (let va = m.start; va < m.end; va += PAGE) {
      const pa = m.pa + (va - m.start);
      if (va >= img.va && va < img.va + img.sizeBytes) {
        if (pa !== img.pa + (va - img.va)) bad({ start: va }, `kernel image page maps ${formatPhysical(pa)}, not its own frame`);
        const s = img.sections.find((x) => va >= x.va && va < x.va + x.sizeBytes)!;
        const w = (m.flags & RW) !== 0;
        const x = (m.flags & NX) === 0;
        const ok = s.name === '.text' ? !w && x : s.name === '.rodata' ? !w && !x : w && !x;
        if (!ok) bad({ start: va }, `${s.name} page has the wrong rights (${w ? 'W' : '-'}${x ? 'X' : '-'})`);
        continue;
      }
      if (physMappings.some((p) => va >= p.va && va < p.va + p.sizeBytes && pa === p.pa + (va - p.va))) continue;
      // Table windows show page tables on purpose (any address space's).
      if (win !== undefined && layout.tableAccess === 'window' && va >= win.start && va < win.start + TWO_MIB && frames.kindOf(pa) === 'page-table') continue;
      const want = va >= heap.start && va < heap.end ? 'heap' : va >= stack.start && va < stack.end ? 'kernel-stack' : 'kernel-data';
      const kind = frames.kindOf(pa);
      if (kind !== want) bad({ start: va }, `maps frame ${formatPhysical(pa)} owned by ${kind ?? 'nobody'}, expected ${want}`);
      if (frames.pidOf(pa) >= 0) bad({ start: va }, `maps frame ${formatPhysical(pa)} of pid ${frames.pidOf(pa)}`);
    }
  }
}
