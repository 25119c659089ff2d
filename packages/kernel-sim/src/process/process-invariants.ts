// The process subsystem's invariants: every live process's regions, virtual allocator and page
// tables agree; every leaf's rights match its region; frame reference counts equal the mappings;
// no user frame is leaked and no gone process owns one.
import { PTE } from '@kmem/x86-paging';
import { PTE_COW, PTE_PROT_NONE } from '../fault-policy';
import { formatCanonical, formatPhysical } from '../hex';
import { KernelInvariantError } from '../kernel-errors';
import type { KernelServices } from '../kernel-services';
import type { Process } from './process';
import type { ProcessTable } from './process-table';
import { PROT, describeRegion } from './regions';

const P = PTE.Present;
const W = PTE.Writable;
const U = PTE.User;
const NX = PTE.NoExecute;

/** See `ProcessManager.checkInvariants`. @throws KernelInvariantError */
export function checkProcessInvariants<K extends KernelServices>(table: ProcessTable<K>): void {
  if (table.kernel.state !== 'running') return;
  const refs = new Map<number, number>();
  const nxe = table.mappings.nxe();
  for (const p of table.live.values()) {
    if (p.state !== 'running') throw new KernelInvariantError(`process ${p.pid} is in the table but ${p.state}`);
    p.regions_.checkInvariants();
    p.vas_.checkInvariants();
    checkVasMatchesRegions(p);
    let leaves = 0;
    table.spaces.withSpace(p, () => {
      p.pages_.checkInvariants();
      p.pages_.forEachLeaf(p.userStart, p.userEnd, (va, frame, flags) => {
        leaves++;
        checkLeaf(table, p, va, frame, flags, refs, nxe);
      });
    });
    if (leaves !== p.stats.rssPages) throw new KernelInvariantError(`pid ${p.pid}: RSS counter ${p.stats.rssPages} but ${leaves} pages hold frames`);
  }
  checkSystem(table, refs);
  table.swap?.checkInvariants();
}

function checkLeaf<K extends KernelServices>(table: ProcessTable<K>, p: Process, va: number, frame: number, flags: number, refs: Map<number, number>, nxe: boolean): void {
  const frames = table.kernel.frames;
  refs.set(frame, (refs.get(frame) ?? 0) + 1);
  const r = p.regions_.find(va);
  const where = `pid ${p.pid} page ${formatCanonical(va)}`;
  if (r === null) throw new KernelInvariantError(`${where} maps ${formatPhysical(frame)} outside every region`);
  if (frames.kindOf(frame) !== 'user') throw new KernelInvariantError(`${where} maps frame ${formatPhysical(frame)} owned by ${frames.kindOf(frame) ?? 'nobody'}`);
  const present = (flags & P) !== 0;
  const cow = (flags & PTE_COW) !== 0;
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

function checkSystem<K extends KernelServices>(table: ProcessTable<K>, refs: Map<number, number>): void {
  const frames = table.kernel.frames;
  for (const [frame, n] of refs) {
    if (frames.refCount(frame) !== n) throw new KernelInvariantError(`frame ${formatPhysical(frame)} is mapped ${n} time(s) but has ${frames.refCount(frame)} reference(s)`);
  }
  const userFrames = frames.usageByOwner().user;
  if (userFrames !== refs.size) throw new KernelInvariantError(`${userFrames} frames are owned 'user' but ${refs.size} are mapped by live processes (leak)`);
  for (const p of table.dead.values()) {
    if (frames.framesOfPid(p.pid) !== 0) throw new KernelInvariantError(`gone process ${p.pid} still owns ${frames.framesOfPid(p.pid)} frame(s)`);
  }
  const current = table.current;
  if (current !== null && table.kernel.machine.cpu.registers.cr3Frame !== current.root) throw new KernelInvariantError(`current process ${current.pid} is not loaded in CR3`);
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
