// The process subsystem's invariants: every live process's regions, virtual allocator and page
// tables agree; every leaf's rights match its region; frame reference counts equal the mappings
// (plus the one a shared-memory object or the page cache holds); a frame is mapped by two
// processes only through a shared object, the page cache or copy-on-write (isolation); no user
// frame is leaked and no gone process owns one.
import { PTE } from '@kmem/x86-paging';
import { PTE_COW, PTE_PROT_NONE } from '../fault-policy';
import { formatCanonical, formatPhysical } from '../hex';
import { KernelInvariantError } from '../kernel-errors';
import type { KernelServices } from '../kernel-services';
import type { Process } from './process';
import type { ProcessTable } from './process-table';
import { PROT, describeRegion } from './regions';
import { cacheableFileOffset } from './page-cache';
import type { SharedMemoryObject } from './shared-memory-object';
import type { HeldFrame } from './shared-memory';

type Held = ReadonlyMap<number, HeldFrame>;

const P = PTE.Present;
const W = PTE.Writable;
const U = PTE.User;
const NX = PTE.NoExecute;

/** See `ProcessManager.checkInvariants`. @throws KernelInvariantError */
export function checkProcessInvariants<K extends KernelServices>(table: ProcessTable<K>): void {
  if (table.kernel.state !== 'running') return;
  const refs = new Map<number, number>();
  const nxe = table.mappings.nxe();
  const held = table.mappings.shared.heldFrames();
  const mappedPages = new Map<SharedMemoryObject, number>();
  for (const p of table.live.values()) {
    if (p.state !== 'running') throw new KernelInvariantError(`process ${p.pid} is in the table but ${p.state}`);
    p.regions_.checkInvariants();
    p.vas_.checkInvariants();
    checkVasMatchesRegions(p);
    for (const r of p.regions_.all()) if (r.shared !== undefined) mappedPages.set(r.shared.object, (mappedPages.get(r.shared.object) ?? 0) + (r.end - r.start) / 4096);
    let leaves = 0;
    table.spaces.withSpace(p, () => {
      p.pages_.checkInvariants();
      p.pages_.forEachLeaf(p.userStart, p.userEnd, (va, frame, flags) => {
        leaves++;
        checkLeaf(table, p, va, frame, flags, refs, nxe, held);
      });
    });
    if (leaves !== p.stats.rssPages) throw new KernelInvariantError(`pid ${p.pid}: RSS counter ${p.stats.rssPages} but ${leaves} pages hold frames`);
  }
  checkSystem(table, refs, held);
  checkSharedObjects(table, mappedPages);
  table.swap?.checkInvariants();
}

function checkLeaf<K extends KernelServices>(table: ProcessTable<K>, p: Process, va: number, frame: number, flags: number, refs: Map<number, number>, nxe: boolean, held: Held): void {
  const frames = table.kernel.frames;
  refs.set(frame, (refs.get(frame) ?? 0) + 1);
  const r = p.regions_.find(va);
  const where = `pid ${p.pid} page ${formatCanonical(va)}`;
  if (r === null) throw new KernelInvariantError(`${where} maps ${formatPhysical(frame)} outside every region`);
  if (frames.kindOf(frame) !== 'user') throw new KernelInvariantError(`${where} maps frame ${formatPhysical(frame)} owned by ${frames.kindOf(frame) ?? 'nobody'}`);
  const present = (flags & P) !== 0;
  const cow = (flags & PTE_COW) !== 0;
  // Isolation: a frame reaches another address space only as the page of a shared object this
  // region maps (at the same page of the object), as the page-cache page of the file page this
  // region shows (copy-on-write), or as a private page shared copy-on-write after fork.
  const h = held.get(frame);
  if (r.shared !== undefined) {
    if (h === undefined || h.object !== r.shared.object || h.index !== (va - r.shared.baseVa) / 4096) throw new KernelInvariantError(`${where} in shared ${describeRegion(r)} maps ${formatPhysical(frame)}, which is not page ${(va - r.shared.baseVa) / 4096} of its object`);
    if (cow) throw new KernelInvariantError(`${where} in shared ${describeRegion(r)} is copy-on-write`);
  } else if (h !== undefined && h.object !== null) {
    throw new KernelInvariantError(`${where} maps ${formatPhysical(frame)}, page ${h.index} of ${h.object.describe()}, outside a shared mapping of it`);
  } else if (h !== undefined) {
    const b = r.backing;
    if (b === null || b.plan.elf.bytes !== h.file || cacheableFileOffset(b.plan, b.segmentIndex, va) !== h.offsetBytes || h.va !== va) throw new KernelInvariantError(`${where} maps page-cache frame ${formatPhysical(frame)} (file offset ${h.offsetBytes}) where ${describeRegion(r)} shows another page`);
    if (!cow) throw new KernelInvariantError(`${where} maps page-cache frame ${formatPhysical(frame)} without copy-on-write`);
  } else if (!cow && frames.refCount(frame) > 1) {
    throw new KernelInvariantError(`${where} maps private frame ${formatPhysical(frame)} with ${frames.refCount(frame)} references but not copy-on-write`);
  }
  if (r.prot === PROT.None) {
    if (present || (flags & PTE_PROT_NONE) === 0) throw new KernelInvariantError(`${where} is in a PROT_NONE region but its PTE is not a PROT_NONE marker`);
    return;
  }
  if (!present || (flags & PTE_PROT_NONE) !== 0) throw new KernelInvariantError(`${where} is not present in an accessible region (${describeRegion(r)})`);
  if ((flags & U) === 0) throw new KernelInvariantError(`${where} is not user-accessible`);
  const writable = (flags & W) !== 0;
  if (writable && (cow || (r.prot & PROT.Write) === 0)) throw new KernelInvariantError(`${where} is writable in ${describeRegion(r)}${cow ? ' although copy-on-write' : ''}`);
  if (!writable && !cow && (r.prot & PROT.Write) !== 0) throw new KernelInvariantError(`${where} is read-only, not copy-on-write, in writable ${describeRegion(r)}`);
  if (nxe && ((flags & NX) !== 0) !== ((r.prot & PROT.Exec) === 0)) throw new KernelInvariantError(`${where} has NX ${(flags & NX) !== 0} in ${describeRegion(r)}`);
}

function checkSystem<K extends KernelServices>(table: ProcessTable<K>, refs: Map<number, number>, held: Held): void {
  const frames = table.kernel.frames;
  for (const [frame, n] of refs) {
    const expected = n + (held.has(frame) ? 1 : 0);
    if (frames.refCount(frame) !== expected) throw new KernelInvariantError(`frame ${formatPhysical(frame)} is mapped ${n} time(s)${held.has(frame) ? ' and held by a shared object or the page cache' : ''} but has ${frames.refCount(frame)} reference(s)`);
  }
  let heldOnly = 0;
  for (const [frame, h] of held) {
    if (frames.kindOf(frame) !== 'user' || frames.pidOf(frame) !== -1) throw new KernelInvariantError(`frame ${formatPhysical(frame)} of ${h.object === null ? 'the page cache' : h.object.describe()} is owned by ${frames.kindOf(frame) ?? 'nobody'} of pid ${frames.pidOf(frame)}, not pid-less 'user'`);
    if (refs.has(frame)) continue;
    if (h.object === null) throw new KernelInvariantError(`the page cache keeps frame ${formatPhysical(frame)} (file offset ${h.offsetBytes}) that no page maps`);
    if (frames.refCount(frame) !== 1) throw new KernelInvariantError(`frame ${formatPhysical(frame)} of ${h.object.describe()} is mapped nowhere but has ${frames.refCount(frame)} reference(s)`);
    heldOnly++;
  }
  const userFrames = frames.usageByOwner().user;
  if (userFrames !== refs.size + heldOnly) throw new KernelInvariantError(`${userFrames} frames are owned 'user' but ${refs.size} are mapped by live processes and ${heldOnly} more held by shared objects (leak)`);
  for (const p of table.dead.values()) {
    if (frames.framesOfPid(p.pid) !== 0) throw new KernelInvariantError(`gone process ${p.pid} still owns ${frames.framesOfPid(p.pid)} frame(s)`);
  }
  const current = table.current;
  if (current !== null && table.kernel.machine.cpu.registers.cr3Frame !== current.root) throw new KernelInvariantError(`current process ${current.pid} is not loaded in CR3`);
}

/** Each live object's mapped-page count equals the pages of regions mapping it; dead objects are mapped nowhere; names agree. */
function checkSharedObjects<K extends KernelServices>(table: ProcessTable<K>, mappedPages: ReadonlyMap<SharedMemoryObject, number>): void {
  const shared = table.mappings.shared;
  for (const [o, n] of mappedPages) {
    if (!shared.isLive(o)) throw new KernelInvariantError(`a region maps ${o.describe()}, which the kernel no longer keeps`);
    if (o.mappedPages !== n) throw new KernelInvariantError(`${o.describe()} counts ${o.mappedPages} mapped pages, regions map ${n}`);
  }
  for (const o of shared.objects()) {
    if (!mappedPages.has(o) && o.mappedPages !== 0) throw new KernelInvariantError(`${o.describe()} counts mapped pages but no region maps it`);
    o.forEachFrame((index) => {
      if (!Number.isInteger(index) || index < 0 || index >= o.pageCount) throw new KernelInvariantError(`${o.describe()} holds page ${index} outside its size`);
    });
  }
  const bad = shared.checkNames();
  if (bad !== null) throw new KernelInvariantError(bad);
}

function checkVasMatchesRegions(p: Process): void {
  const used: { start: number; end: number }[] = [];
  for (const b of p.vas_.blocks()) {
    if (!b.used) continue;
    const last = used[used.length - 1];
    if (last !== undefined && last.end === b.start) last.end = b.end;
    else used.push({ start: b.start, end: b.end });
  }
  const regs: { start: number; end: number }[] = [];
  for (const r of p.regions_.all()) {
    const last = regs[regs.length - 1];
    if (last !== undefined && last.end === r.start) last.end = r.end;
    else regs.push({ start: r.start, end: r.end });
  }
  if (used.length !== regs.length || used.some((u, i) => u.start !== regs[i]!.start || u.end !== regs[i]!.end)) {
    throw new KernelInvariantError(`pid ${p.pid}: the virtual allocator's used ranges differ from the regions`);
  }
}
