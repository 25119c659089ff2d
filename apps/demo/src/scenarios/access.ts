// One memory access made by hand, and everything it did: the TLB lookup, the walk with the bits each
// level was checked for, the #PF (error code bit by bit, CR2), the kernel's decision, the retried
// access and the A/D bits the CPU set. The verdicts are the library's (kernel-sim's CPU, x86-paging's
// Mmu.rightsError and error-code decoder); this file only runs the access and writes it down.
import { KernelPanic, formatCanonical, type KernelEvent } from '@kmem/kernel-sim';
import { Access, CR0, CR4, EFER, Mode, PTE, PageFaultAbortedError, describePageFaultErrorCode } from '@kmem/x86-paging';
import type { DemoSession } from './session';
import { walkView, type WalkView } from './views';

/** Read, write or instruction fetch. */
export type AccessKind = 'read' | 'write' | 'execute';
/** CPL 3 or CPL 0. */
export type AccessMode = 'user' | 'supervisor';

/** An access to make: in process `pid`'s address space (0: the kernel's own tables). */
export interface AccessRequest {
  readonly pid: number;
  readonly va: number;
  readonly access: AccessKind;
  readonly mode: AccessMode;
}

/** One way of the TLB set the page falls in. */
export interface TlbWay {
  readonly slot: number;
  /** The cached page (canonical hex) or null for an empty way. */
  readonly page: string | null;
  readonly pcid: number;
  readonly global: boolean;
  /** Whether this way is the one the lookup hit. */
  readonly hit: boolean;
}

/** One level of the walk and what was checked there. */
export interface LevelCheck {
  readonly levelName: string;
  readonly raw: string;
  /** Bits looked at, `name=value`, in the order the CPU cares about them. */
  readonly bits: readonly string[];
  /** The rule that applied at this level, in a sentence with its SDM section. */
  readonly rule: string;
  /** Whether this level alone stops the access. */
  readonly stops: boolean;
}

/** One bit of a page-fault error code. */
export interface ErrorCodeBit {
  readonly bit: number;
  readonly name: string;
  readonly set: boolean;
  readonly meaning: string;
}

/** One #PF the access raised and what the kernel decided. */
export interface FaultReport {
  readonly errorCode: number;
  readonly errorCodeHex: string;
  readonly description: string;
  readonly bits: readonly ErrorCodeBit[];
  readonly cr2: string;
  readonly resolution: string;
  readonly decision: string;
  readonly frame: number;
}

/** Everything one access did. */
export interface AccessReport {
  readonly request: AccessRequest;
  readonly vaHex: string;
  readonly space: string;
  /** 'ok', 'segv', 'oom-kill', 'panic', or 'refused' (a request the kernel's API rejects, state unchanged). */
  readonly outcome: string;
  readonly tlb: { readonly pcid: number; readonly set: number; readonly setCount: number; readonly wayCount: number; readonly ways: readonly TlbWay[]; readonly hit: boolean } | null;
  readonly walkBefore: WalkView | null;
  readonly checks: readonly LevelCheck[];
  readonly faults: readonly FaultReport[];
  /** The translation the access ended with, or null when it never completed. */
  readonly result: { readonly pa: number; readonly paHex: string; readonly pageSizeBytes: number } | null;
  readonly walkAfter: WalkView | null;
  /** A and D bits the CPU set (`PT.A`, `PT.D`...). */
  readonly bitsSet: readonly string[];
  readonly lines: readonly string[];
  readonly events: readonly KernelEvent[];
}

const ERROR_BITS: readonly [number, string, string, string][] = [
  [0, 'P', 'a present page denied the access (protection)', 'the page (or a table on the way) was not present'],
  [1, 'W/R', 'the access was a write', 'the access was a read or fetch'],
  [2, 'U/S', 'the CPU was in user mode (CPL 3)', 'the CPU was in supervisor mode (CPL 0)'],
  [3, 'RSVD', 'a reserved bit was set in a paging-structure entry', 'no reserved bit was set'],
  [4, 'I/D', 'the access was an instruction fetch', 'not an instruction fetch (or NX/SMEP not enabled)'],
  [5, 'PK', 'a protection key denied the access', 'no protection-key denial'],
];

const DECISIONS: Record<string, string> = {
  'lazy-zero': 'demand zero: the page is in a region but was never touched; the kernel gives it a zeroed frame and maps it',
  'lazy-file': 'file page: the page belongs to the ELF file; the kernel reads it into a new frame and maps it',
  'stack-growth': 'stack growth: the address is just below the stack; the kernel extends the stack region and maps a zeroed frame',
  'cow-copy': 'copy-on-write: the frame is shared after fork; the kernel copies it to a new frame and maps that one writable',
  'cow-reuse': 'copy-on-write, last sharer: nobody else maps the frame any more; the kernel makes the PTE writable again',
  spurious: 'spurious: the tables already allow the access (a stale TLB entry); the kernel flushes it and retries',
  segv: 'SIGSEGV: no region allows this access; the kernel kills the process and frees its memory',
  'oom-kill': 'out of memory: no frame for the page; the kernel kills the process',
  panic: 'panic: a supervisor fault the kernel cannot explain; the kernel stops',
  'swap-in': 'major fault: the page was swapped out; the kernel reads it back from the swap device',
  'swap-cache': 'minor fault: the page is still in the swap cache; the kernel maps it again without I/O',
};

function flagsOf(rawHex: string): number {
  const hex = rawHex.replace(/^0x/, '').replace(/_/g, '');
  const hi = parseInt(hex.slice(0, 8), 16);
  const lo = parseInt(hex.slice(8), 16);
  return (lo & 0xfff) | ((hi & 0x8000_0000) !== 0 ? PTE.NoExecute : 0);
}

/** What each level of `walk` was checked for (SDM 4.6), each level judged by x86-paging's own rights rule. */
function levelChecks(session: DemoSession, walk: WalkView, access: number, mode: number): LevelCheck[] {
  const mmu = session.kernel.cpu.mmu;
  const regs = session.kernel.cpu.registers;
  const out: LevelCheck[] = [];
  for (const l of walk.levels) {
    const flags = flagsOf(l.raw);
    const bit = (name: string, mask: number): string => `${name}=${(flags & mask) !== 0 ? 1 : 0}`;
    if (!l.present) {
      out.push({ levelName: l.levelName, raw: l.raw, bits: [bit('P', PTE.Present)], rule: 'P = 0: the walk stops here and the CPU raises #PF with P = 0 in the error code (SDM 4.7)', stops: true });
      break;
    }
    if (l.reserved) {
      out.push({ levelName: l.levelName, raw: l.raw, bits: [bit('P', PTE.Present), 'reserved bits set'], rule: 'a reserved bit is set: #PF with RSVD = 1 (SDM 4.5, 4.7)', stops: true });
      break;
    }
    const bits = [bit('P', PTE.Present)];
    if (access === Access.Write) bits.push(bit('R/W', PTE.Writable));
    bits.push(bit('U/S', PTE.User));
    if (access === Access.Execute) bits.push(bit('XD', PTE.NoExecute));
    const stops = mmu.rightsError(flags, access as 0, mode as 0) !== 0;
    let rule: string;
    if (mode === Mode.User) {
      if ((flags & PTE.User) === 0) rule = 'U/S = 0: supervisor-only, a user access faults (SDM 4.6.1: U/S must be 1 at every level)';
      else if (access === Access.Write) rule = (flags & PTE.Writable) === 0 ? 'R/W = 0: read-only for user mode whatever CR0.WP (SDM 4.6.1)' : 'U/S = 1 and R/W = 1: a user write is allowed by this level';
      else if (access === Access.Execute) rule = stops ? 'XD = 1 with EFER.NXE = 1: no instruction fetch (SDM 4.6.2)' : 'U/S = 1, XD = 0: a user fetch is allowed by this level';
      else rule = 'U/S = 1: a user read is allowed by this level';
    } else if (access === Access.Execute) {
      rule = stops ? ((flags & PTE.NoExecute) !== 0 && (regs.efer & EFER.NXE) !== 0 ? 'XD = 1 with EFER.NXE = 1: no instruction fetch (SDM 4.6.2)' : 'U/S = 1 with CR4.SMEP = 1: the kernel may not fetch from a user page (SDM 4.6.1)') : 'a supervisor fetch is allowed by this level';
    } else if (stops && (flags & PTE.User) !== 0 && (regs.cr4 & CR4.SMAP) !== 0) rule = 'U/S = 1 with CR4.SMAP = 1 and RFLAGS.AC = 0: the kernel may not touch user data outside STAC/CLAC (SDM 4.6.1)';
    else if (access === Access.Write) rule = stops ? 'R/W = 0 with CR0.WP = 1: read-only for the kernel too (SDM 4.6.1)' : (regs.cr0 & CR0.WP) === 0 ? 'CR0.WP = 0: supervisor writes ignore R/W (SDM 4.6.1)' : 'R/W = 1: a supervisor write is allowed by this level';
    else rule = 'supervisor reads are allowed by any present entry (SDM 4.6.1)';
    out.push({ levelName: l.levelName, raw: l.raw, bits, rule: `${rule}${l.leaf ? ` — leaf: ${l.pageSizeBytes / 1024} KiB page` : ''}`, stops });
  }
  return out;
}

function tlbProbe(session: DemoSession, va: number): AccessReport['tlb'] {
  const cpu = session.kernel.cpu;
  const tlb = cpu.tlb;
  if (tlb === null) return null;
  const pageHi = Math.floor(va / 2 ** 32);
  const pageLo = Math.floor((va % 2 ** 32) / 4096);
  const pcid = cpu.registers.pcid;
  const set = tlb.setIndex(pageHi, pageLo);
  const hitSlot = tlb.lookup(pageHi, pageLo, pcid);
  const ways: TlbWay[] = [];
  for (let slot = set * tlb.wayCount; slot < (set + 1) * tlb.wayCount; slot++) {
    const page = tlb.pageNumberAt(slot);
    ways.push({ slot, page: page < 0 ? null : formatCanonical(page * 4096), pcid: tlb.pcidAt(slot), global: tlb.globals[slot] === 1, hit: slot === hitSlot });
  }
  return { pcid, set, setCount: tlb.setCount, wayCount: tlb.wayCount, ways, hit: hitSlot >= 0 };
}

function faultReport(e: KernelEvent & { kind: 'page-fault' }): FaultReport {
  return {
    errorCode: e.errorCode,
    errorCodeHex: `0x${e.errorCode.toString(16)}`,
    description: describePageFaultErrorCode(e.errorCode),
    bits: ERROR_BITS.map(([bit, name, ifSet, ifClear]) => {
      const set = (e.errorCode & (1 << bit)) !== 0;
      return { bit, name, set, meaning: set ? ifSet : ifClear };
    }),
    cr2: formatCanonical(e.va),
    resolution: e.resolution,
    decision: `${DECISIONS[e.resolution] ?? e.resolution}${e.reason === '' ? '' : ` (${e.reason})`}`,
    frame: e.frame,
  };
}

/** Bits A and D that are set in `after` and were clear in `before` (same levels, same entries). */
function bitsSetBetween(before: WalkView, after: WalkView): string[] {
  const out: string[] = [];
  for (const b of before.levels) {
    const a = after.levels.find((x) => x.level === b.level && x.entryPa === b.entryPa);
    if (a === undefined) continue;
    for (const name of ['A', 'D']) {
      const was = b.bits.find((x) => x.name === name)?.set ?? false;
      const now = a.bits.find((x) => x.name === name)?.set ?? false;
      if (now && !was) out.push(`${b.levelName}.${name}`);
    }
  }
  return out;
}

/**
 * Makes the access on the session's machine, as the CPU and the kernel do: a user access is the
 * process's own instruction (`Process.touch`), a supervisor one is kernel code running on the
 * process's tables (or the kernel's own tables for pid 0). The machine changes (TLB, A/D bits,
 * frames the kernel maps, a process killed, a panic): it is a step of the history.
 */
export function makeAccess(session: DemoSession, request: AccessRequest): AccessReport {
  const k = session.kernel;
  const vaHex = formatCanonical(request.va);
  const refused = (why: string): AccessReport => ({ request, vaHex, space: request.pid === 0 ? 'kernel' : `pid ${request.pid}`, outcome: 'refused', tlb: null, walkBefore: null, checks: [], faults: [], result: null, walkAfter: null, bitsSet: [], lines: [why], events: [] });
  if (k.state !== 'running') return refused(`the kernel is ${k.state}: no access can run`);
  const p = request.pid === 0 ? null : k.processes.list().find((x) => x.pid === request.pid);
  if (p === undefined) return refused(`no live process with pid ${request.pid}`);
  if (p === null && request.mode === 'user') return refused('the kernel\'s own tables run only kernel code: pick a process for a user-mode access');
  if (!Number.isSafeInteger(request.va) || request.va < 0 || request.va >= 2 ** 48) return refused(`${String(request.va)} is not a 48-bit linear address`);
  const access = request.access === 'read' ? Access.Read : request.access === 'write' ? Access.Write : Access.Execute;
  const mode = request.mode === 'user' ? Mode.User : Mode.Supervisor;
  const root = p === null ? k.kernelRoot : p.root;
  const space = p === null ? 'kernel' : `${p.name} (pid ${p.pid})`;
  // The CPU runs in that address space: a context switch first (a CR3 load), as the scheduler would.
  if (p === null) k.switchTo(null);
  else k.switchTo(p.pid);
  const tlb = tlbProbe(session, request.va);
  const walkBefore = walkView(k, root, request.va, space, null, p);
  const checks = levelChecks(session, walkBefore, access, mode);
  const since = k.events.emitted === 0 ? 0 : (k.events.all().at(-1)?.seq ?? 0);
  const cpu = k.cpu;
  let outcome = 'ok';
  try {
    if (p !== null && mode === Mode.User) outcome = p.touch(request.va, request.access, 0x5a);
    else if (access === Access.Read) cpu.read8(request.va, Mode.Supervisor);
    else if (access === Access.Write) cpu.write8(request.va, 0x5a, Mode.Supervisor);
    else cpu.fetch8(request.va, Mode.Supervisor);
  } catch (e) {
    if (e instanceof KernelPanic) outcome = 'panic';
    else if (e instanceof PageFaultAbortedError) outcome = p?.killed?.signal === 'SIGSEGV' ? 'segv' : 'aborted';
    else throw e;
  }
  const events = k.events.all().filter((e) => e.seq > since);
  const faults = events.filter((e): e is KernelEvent & { kind: 'page-fault' } => e.kind === 'page-fault').map(faultReport);
  const alive = k.state === 'running' && (p === null || p.killed === null);
  const walkAfter = alive ? walkView(k, root, request.va, space, null, p) : null;
  const result = outcome === 'ok' && walkAfter !== null && walkAfter.pa !== null ? { pa: walkAfter.pa, paHex: `0x${walkAfter.pa.toString(16)}`, pageSizeBytes: walkAfter.levels.at(-1)!.pageSizeBytes } : null;
  const bitsSet = walkAfter === null ? [] : bitsSetBetween(walkBefore, walkAfter);
  const what = `${request.mode} ${request.access} of ${vaHex} in ${space}`;
  const lines = [
    tlb === null ? `${what}: no TLB` : `${what}: TLB set ${tlb.set} of ${tlb.setCount} (${tlb.wayCount} ways), PCID ${tlb.pcid}: ${tlb.hit ? 'hit, no walk' : 'miss, the CPU walks the tables'}`,
    ...faults.map((f) => `#PF error code ${f.errorCodeHex} (${f.description}), CR2 = ${f.cr2} → ${f.decision}`),
    outcome === 'ok' ? `${faults.length > 0 ? 'retried: ' : ''}${result === null ? 'done' : `→ physical ${result.paHex}`}${bitsSet.length > 0 ? `; the CPU set ${bitsSet.join(', ')}` : ''}` : `outcome: ${outcome}`,
  ];
  return { request, vaHex, space, outcome, tlb, walkBefore, checks, faults, result, walkAfter, bitsSet, lines, events };
}
