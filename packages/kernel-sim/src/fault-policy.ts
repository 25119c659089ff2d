// What a page fault means: the default policy of the kernels this project models, as a pure
// function of what the handler knows (CR2, the error code, the region list, the PTE). The kernel's
// vector-14 handler (src/process/fault-handler.ts) gathers the facts into a FaultQuery, asks a
// policy for a FaultDecision, and carries it out.
//
// SDM vol. 3A 4.7: the error code says what the access was (W/R, U/S, I/D) and why it failed
// (P = 0: a non-present entry somewhere on the walk; P = 1: a rights violation or, with RSVD, a
// reserved bit). The error code describes the access, not the page.
import { Access, Mode, PageFaultErrorCode, PTE } from '@kmem/x86-paging';
import { PROT, type Region } from './process/regions';
import { PTE_SWAP } from './swap/swap-entry';

/** The OS-available PTE bit (9) marking a private page write-protected because its frame may be shared (copy-on-write). */
export const PTE_COW = PTE.Avail9;
/**
 * The OS-available PTE bit (10) marking a PROT_NONE page: the entry is not present (every access
 * faults with P = 0, as Linux's `_PAGE_PROTNONE`) but still holds the page's frame, so a later
 * mprotect can make it accessible again with its contents.
 */
export const PTE_PROT_NONE = PTE.Avail10;

/** What the kernel does about a fault. */
export type FaultAction =
  /** Allocate a zeroed frame, map it with the region's rights, retry. */
  | 'map-zero'
  /** Allocate a frame, fill it from the ELF file (`pageContents`), map it, retry. */
  | 'map-file'
  /** Extend the stack region down to the faulting page, then as `map-zero`. */
  | 'grow-stack'
  /** Write to a shared copy-on-write page: copy the frame, map the copy writable, retry. */
  | 'cow-copy'
  /** Write to a copy-on-write page whose frame has no other sharer: make it writable, retry. */
  | 'cow-reuse'
  /** The PTE holds a swap entry: read the page back (or take it from the swap cache), map it, retry. */
  | 'swap-in'
  /** The PTE already allows the access (a stale TLB entry, which the #PF itself dropped): retry. */
  | 'spurious'
  /** Kill the faulting process with SIGSEGV. */
  | 'segv'
  /** Kernel bug: panic. */
  | 'panic';

/** Why a fault kills the process (SIGSEGV) or panics the kernel. */
export type FaultReason =
  | ''
  /** No region covers the address (SEGV_MAPERR). */
  | 'not-mapped'
  /** A user access to a present supervisor page (U/S = 0 somewhere on the walk; SDM 4.6.1). */
  | 'supervisor-page'
  /** A user access to the kernel half or outside the process's user range. */
  | 'outside-user-range'
  /** A write to a region without PROT_WRITE (SEGV_ACCERR). */
  | 'write-to-read-only'
  /** An instruction fetch from a region without PROT_EXEC (NX, SDM 4.6.2). */
  | 'execute-non-executable'
  /** Any access to a PROT_NONE region. */
  | 'no-access'
  /** A protection-key violation (SEGV_PKUERR, SDM 4.6.2). */
  | 'protection-key'
  /** Below the stack, but the new stack page would come within the guard gap of the region below. */
  | 'stack-guard-gap'
  /** Below the stack, beyond the stack size limit (RLIMIT_STACK). */
  | 'stack-limit'
  /** RSVD = 1: a reserved bit in a paging-structure entry (corrupted page table: panic). */
  | 'reserved-bit'
  /** The PTE contradicts the region (neither copy-on-write nor stale): a kernel bug, panic. */
  | 'pte-mismatch'
  /** A supervisor-mode fault the kernel cannot resolve (panic). */
  | 'kernel-fault';

/**
 * Everything the default policy looks at. The handler fills ONE reused object per kernel and
 * overwrites it at the next fault: copy what you keep.
 */
export interface FaultQuery {
  /** CR2: the faulting linear address. */
  va: number;
  /** The page-fault error code (`PageFaultErrorCode` bits). */
  errorCode: number;
  /** The access that faulted. */
  access: Access;
  /** Its privilege. */
  mode: Mode;
  /** A process is current (its address space is loaded). */
  hasProcess: boolean;
  /** Start of the current process's user range (inclusive). */
  userStart: number;
  /** End of the current process's user range (exclusive). */
  userEnd: number;
  /** The region containing `va`, or null. */
  region: Region | null;
  /** When `region` is null: the first region above `va` (a stack may grow down to it), or null. */
  regionAbove: Region | null;
  /** When `region` is null: end of the last region below `va`, or `userStart` when none. */
  belowEnd: number;
  /** The leaf PTE for `va` exists with P = 1. */
  ptePresent: boolean;
  /** The leaf PTE's flags word (x86-paging's layout: R/W, U/S, NX, OS bits), 0 when there is none. */
  pteFlags: number;
  /** Effective U/S along the walk when the leaf is present (all four levels allow user access). */
  pteUserPath: boolean;
  /** References to the leaf's frame (copy-on-write sharers), 0 when none. */
  frameRefCount: number;
  /** RLIMIT_STACK: the most a growing stack may span, in bytes. */
  stackLimitBytes: number;
  /** Linux's stack_guard_gap: the stack may not grow closer than this to the region below, in bytes. */
  guardGapBytes: number;
}

/** The policy's answer. One reused object: overwritten by the next decision. */
export interface FaultDecision {
  /** What to do. */
  action: FaultAction;
  /** Why (for 'segv' and 'panic'; '' otherwise). */
  reason: FaultReason;
  /** For 'grow-stack': the new start of the stack region (the faulting page). */
  newStackStart: number;
}

/** A fresh query with every field zero / null, to fill in. */
export function emptyFaultQuery(): FaultQuery {
  return {
    va: 0,
    errorCode: 0,
    access: Access.Read,
    mode: Mode.User,
    hasProcess: false,
    userStart: 0,
    userEnd: 0,
    region: null,
    regionAbove: null,
    belowEnd: 0,
    ptePresent: false,
    pteFlags: 0,
    pteUserPath: false,
    frameRefCount: 0,
    stackLimitBytes: 0,
    guardGapBytes: 0,
  };
}

/** A fresh decision object. */
export function emptyFaultDecision(): FaultDecision {
  return { action: 'spurious', reason: '', newStackStart: 0 };
}

const PAGE = 4096;

function set(out: FaultDecision, action: FaultAction, reason: FaultReason): FaultDecision {
  out.action = action;
  out.reason = reason;
  out.newStackStart = 0;
  return out;
}

/** Whether region rights `prot` allow `access` (x86: any right implies read, SDM 4.6). */
export function protAllows(prot: number, access: Access): boolean {
  if (access === Access.Write) return (prot & PROT.Write) !== 0;
  if (access === Access.Execute) return (prot & PROT.Exec) !== 0;
  return prot !== PROT.None;
}

function denyReason(prot: number, access: Access): FaultReason {
  if (prot === PROT.None) return 'no-access';
  return access === Access.Write ? 'write-to-read-only' : 'execute-non-executable';
}

/** Whether a present leaf with `flags` (and user rights along the path) allows the access. */
function pteAllows(q: FaultQuery): boolean {
  const f = q.pteFlags;
  if (q.mode === Mode.User && !q.pteUserPath) return false;
  if (q.access === Access.Write) return (f & PTE.Writable) !== 0;
  if (q.access === Access.Execute) return (f & PTE.NoExecute) === 0;
  return true;
}

/**
 * The default page-fault policy (Linux's do_user_addr_fault / handle_mm_fault in outline), pure:
 *
 * 1. RSVD: a corrupted page table, panic (any mode).
 * 2. No process, or `va` outside the process's user range: user mode → SIGSEGV
 *    (`supervisor-page` when P = 1, else `outside-user-range`); supervisor mode → panic.
 * 3. No region at `va`: if the first region above is a stack (`growsDown`) and `va` is within
 *    `stackLimitBytes` of its end, grow it down to `va`'s page unless that comes within
 *    `guardGapBytes` of the region below (`stack-guard-gap`); up to one guard gap (at least a
 *    page) beyond the limit is `stack-limit` (a stack overflow), further down `not-mapped`;
 *    otherwise `not-mapped` (user: SIGSEGV, a present supervisor PTE there gives `supervisor-page`).
 * 4. The region forbids the access: SIGSEGV (`write-to-read-only`, `execute-non-executable`,
 *    `no-access`); a protection-key fault is `protection-key`.
 * 5. P = 0: `swap-in` when the PTE holds a swap entry; `map-file` inside an ELF segment's file
 *    pages, else `map-zero` (lazy allocation).
 * 6. P = 1: a write to a COW-marked PTE copies (`cow-copy`) or, with no other sharer, just makes
 *    it writable (`cow-reuse`); a PTE that already allows the access is `spurious` (user mode);
 *    anything else is `pte-mismatch` (panic).
 *
 * Supervisor-mode faults are resolved the same way inside the current process's regions (the
 * kernel touching user memory, as copy_to_user does); any other supervisor fault — including a
 * SMEP or SMAP violation — panics with reason `kernel-fault` (or `reserved-bit`).
 */
export function decideFault(q: FaultQuery, out: FaultDecision): FaultDecision {
  const ec = q.errorCode;
  const user = q.mode === Mode.User;
  const present = (ec & PageFaultErrorCode.Present) !== 0;
  if ((ec & PageFaultErrorCode.ReservedBit) !== 0) return set(out, 'panic', 'reserved-bit');
  if (!q.hasProcess || q.va < q.userStart || q.va >= q.userEnd) {
    if (!user) return set(out, 'panic', 'kernel-fault');
    return set(out, 'segv', present ? 'supervisor-page' : 'outside-user-range');
  }
  const region = q.region;
  if (region === null) {
    const above = q.regionAbove;
    if (present) return set(out, user ? 'segv' : 'panic', user ? (q.pteUserPath ? 'not-mapped' : 'supervisor-page') : 'kernel-fault');
    if (above !== null && above.growsDown) {
      const page = q.va - (q.va % PAGE);
      const limit = above.end - q.stackLimitBytes;
      // Just past the limit (within one guard gap of it) reads as a stack overflow; further down
      // it is an ordinary wild access (Linux reports both as SEGV_MAPERR).
      if (page < limit) return set(out, user ? 'segv' : 'panic', user ? (page >= limit - Math.max(q.guardGapBytes, PAGE) ? 'stack-limit' : 'not-mapped') : 'kernel-fault');
      if (page - q.belowEnd < q.guardGapBytes) return set(out, user ? 'segv' : 'panic', user ? 'stack-guard-gap' : 'kernel-fault');
      if (!protAllows(above.prot, q.access)) return set(out, user ? 'segv' : 'panic', user ? denyReason(above.prot, q.access) : 'kernel-fault');
      set(out, 'grow-stack', '');
      out.newStackStart = page;
      return out;
    }
    return set(out, user ? 'segv' : 'panic', user ? 'not-mapped' : 'kernel-fault');
  }
  if ((ec & PageFaultErrorCode.ProtectionKey) !== 0) return set(out, user ? 'segv' : 'panic', user ? 'protection-key' : 'kernel-fault');
  if (!protAllows(region.prot, q.access)) return set(out, user ? 'segv' : 'panic', user ? denyReason(region.prot, q.access) : 'kernel-fault');
  if (!present) {
    if (q.ptePresent) return set(out, user ? 'spurious' : 'panic', user ? '' : 'kernel-fault');
    // A PROT_NONE marker in a region that now allows access: mprotect should have restored it.
    if ((q.pteFlags & PTE_PROT_NONE) !== 0) return set(out, 'panic', 'pte-mismatch');
    // A swap entry (P = 0, bit 11): the page is on a swap device or in the swap cache.
    if ((q.pteFlags & (PTE.Present | PTE_SWAP)) === PTE_SWAP) return set(out, 'swap-in', '');
    const b = region.backing;
    if (b !== null && q.va < b.plan.segments[b.segmentIndex]!.filePages.end) return set(out, 'map-file', '');
    return set(out, 'map-zero', '');
  }
  if (q.access === Access.Write && q.ptePresent && (q.pteFlags & PTE_COW) !== 0 && (q.pteFlags & PTE.Writable) === 0) {
    return set(out, q.frameRefCount > 1 ? 'cow-copy' : 'cow-reuse', '');
  }
  if (user && q.ptePresent && pteAllows(q)) return set(out, 'spurious', '');
  return set(out, 'panic', user ? 'pte-mismatch' : 'kernel-fault');
}
