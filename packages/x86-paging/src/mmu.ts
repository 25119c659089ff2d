// The memory-management unit: translates a linear address the way an x86 CPU does in the paging
// mode the registers select (SDM vol. 3A 4.1.1): 32-bit (4.3), PAE (4.4), 4-level or 5-level (4.5),
// checks access rights (4.6), sets accessed/dirty flags (4.8), reports faults as page-fault error
// codes (4.7) and caches translations in a TLB (4.10). One walker per mode (mmu-walk-*.ts); this
// file holds the TLB logic, the 4-level and 32-bit fast paths, and the dispatch.
//
// Hot path rules (DESIGN.md): numbers and typed arrays only, no allocation, no exceptions for
// faults — every call overwrites ONE preallocated TranslationResult.
import { show } from './show-value';
import { InvalidAddressError, InvalidOptionError, type PhysicalMemory } from './api';
import { Access, Mode } from './access-mode';
import { CR0, CR4, EFER, RFLAGS, type ControlRegisters } from './control-registers';
import { walk32Bit } from './mmu-walk-32bit';
import { walkLongMode } from './mmu-walk-long-mode';
import { walkPae } from './mmu-walk-pae';
import { PageFaultErrorCode } from './page-fault-error-code';
import { PagingMode, pagingModeOf } from './paging-mode';
import { formatLinear } from './format-linear';
import { describeStaleUse, type Tlb, TlbPageSize, tlbPageSizeBytes } from './tlb';
import { setFault, TranslationResult } from './translation-result';
import { brand } from './brand';

export { TranslationResult } from './translation-result';

const TWO_32 = 4294967296;
const INV_TWO_32 = 1 / 4294967296;
const PAGE = 4096;

// Flags-word bits (same positions as entry bits; see entry.ts).
const P = 0x1;
const RW = 0x2;
const US = 0x4;
const ACCESSED = 0x20;
const DIRTY = 0x40;
const GLOBAL = 0x100;
/** Bits of the flags word the hardware acts on (for the stale-entry comparison). */
const HARDWARE_FLAGS = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x80 | 0x100 | 0x1000 | (0x8000_0000 | 0);
const PKEY_FLAGS = 0x7800_0000;

function badLinear(va: unknown, mode: PagingMode = PagingMode.FourLevel): InvalidAddressError {
  const range = mode === PagingMode.FiveLevel ? '[0, 2^53) as a number (use translateSplit for the rest of the 57-bit space)' : mode === PagingMode.FourLevel ? '[0, 2^48)' : '[0, 2^32)';
  return new InvalidAddressError(typeof va === 'symbol' ? 'a symbol' : typeof va === 'bigint' ? `${va}n` : show(va), `a linear address must be in ${range}`);
}

/** The linear address of `vaHi:vaLo` as a number when exact (below 2^53), else NaN (never rounded). */
function exactLinear(vaHi: number, vaLo: number): number {
  return vaHi < 0x20_0000 ? vaHi * TWO_32 + (vaLo >>> 0) : Number.NaN;
}

/** Sets A in the three table entries and `set` (A, or A and D) in the leaf at these word indices of flat memory. */
function markUsed(w: Uint32Array, e4: number, e3: number, e2: number, e1: number, set: number): void {
  w[e4]! |= 0x20;
  w[e3]! |= 0x20;
  w[e2]! |= 0x20;
  w[e1]! |= set;
}

/**
 * A hit's level and page size for a huge page's size class (2 = 2 MiB, 3 = 1 GiB, 4 = 4 MiB).
 * Out of line from `Mmu.tlbHit`: the hit is inlined through `translate` into the caller's loop,
 * and V8 stops inlining once a compilation's inlined bytecode reaches ~920 bytes — counting, when
 * `translate` already has optimized code of its own, everything inlined into that code too. Past
 * the budget the caller calls `translate` and boxes every address: ~34 against ~20 ns a
 * translation on issue 19's mix (measured 2026-12-07, a bundle that missed the budget).
 */
function hugeHitSize(r: TranslationResult, size: number): void {
  r.level = size === 4 ? 2 : size;
  r.pageSizeBytes = tlbPageSizeBytes(size);
}

/**
 * The accesses a TLB hit answers without the full rights check (SDM 4.6.1): a read of a page of
 * the accessing mode's own kind (user page in user mode, supervisor page in supervisor mode), or
 * a user-mode write to a writable user page whose cached D is already 1 (a write through a clean
 * entry walks to set D, SDM 4.8). Everything else goes through `Mmu.rightsError`.
 */
function quickHit(flags: number, access: Access, mode: Mode): boolean {
  // In user mode the bits needed are U/S, and R/W and D for a write (access 1), computed rather
  // than branched on: reads and writes come in no order the host CPU can predict, and a
  // mispredicted branch on the access kind cost more than the hit itself. A fetch (access 2) is
  // never quick (XD needs the full check), a test that always goes the same way.
  if (mode === 3 /* Mode.User */) {
    const need = 0x4 /* U/S */ | (access * 0x42) /* R/W | D */;
    return access !== 2 && (flags & need) === need;
  }
  return (flags & 0x4) === 0 && access === 0 /* Access.Read */;
}

/** Options of {@link Mmu}. */
export interface MmuOptions {
  /** TLB to consult and fill; `null` or omitted for none (every translation walks). */
  readonly tlb?: Tlb | null;
}

/**
 * Page-walk hardware over emulated physical memory. Reads paging structures through
 * `PhysicalMemory.frameWords` (hardware walks physical memory, never through a TableAccess),
 * reads CR0/CR3/CR4/EFER/RFLAGS/PKRU from `registers` on every call (so register changes take
 * effect at once; flushing the TLB on those changes is the Cpu's job).
 *
 * Not modelled: 5-level paging, PKS, shadow stacks, implicit supervisor accesses, paging-structure
 * caches (only the TLB caches anything), memory types.
 */
export class Mmu {
  static {
    brand(this, 'Mmu'); // instanceof across the import and require copies (brand.ts)
  }
  /** The object every `translate` call returns. */
  readonly result = new TranslationResult();
  /** The object `probe` returns (separate, so a probe never clobbers a translation). */
  readonly probeResult = new TranslationResult();
  /** TLB consulted by `translate`, or null. */
  tlb: Tlb | null;
  /** Number of page walks done by `translate` and `walk` (probes not counted). */
  walkCount = 0;
  private readonly addrMaskHi: number;
  private readonly reservedHi: number;
  /** PAE: bits 62:MAXPHYADDR of a PDE / PTE's high word (SDM Tables 4-9..4-11). */
  private readonly paeReservedHi: number;
  /**
   * All of memory as one Uint32Array (index = pa / 4), when the PhysicalMemory exposes it as
   * `words` (ArrayBufferPhysicalMemory does): the walk then costs one typed-array read per level.
   * Otherwise (null) the walk uses `frameWords(frame)`. Read by the per-mode walkers.
   */
  readonly flat: Uint32Array | null;

  /**
   * @param memory physical memory holding the paging structures
   * @param registers register file (CR3 points at the PML4); `registers.maxPhysAddrBits` sets MAXPHYADDR
   */
  constructor(
    readonly memory: PhysicalMemory,
    readonly registers: ControlRegisters,
    options: MmuOptions = {},
  ) {
    this.tlb = options.tlb ?? null;
    this.addrMaskHi = 2 ** (registers.maxPhysAddrBits - 32) - 1;
    // SDM 4.5: bits 51:MAXPHYADDR of every entry are reserved.
    this.reservedHi = 0xfffff & ~this.addrMaskHi;
    this.paeReservedHi = 0x7fff_ffff & ~this.addrMaskHi;
    const words = (memory as { words?: unknown }).words;
    this.flat = words instanceof Uint32Array ? words : null;
  }

  /**
   * Translates linear address `va` for an access, as the CPU would: consults the TLB first (a
   * stale entry is used, as on hardware), walks the tables on a miss, setting A on every entry it
   * uses and D on a written leaf, and caches the result. A TLB entry whose rights deny the access
   * faults without a walk (Linux calls these "spurious faults" after a permission upgrade that
   * skipped INVLPG); a write through a cached entry with D = 0 walks again to set D (SDM 4.8).
   * Every fault drops the page's TLB entries (SDM 4.10.4.1).
   *
   * @param va linear address: in [0, 2^48) in 4-level paging, [0, 2^32) in 32-bit and PAE paging,
   *   [0, 2^53) in 5-level paging (the rest of the 57-bit space through `translateSplit`)
   * @returns the shared {@link TranslationResult}, overwritten by the next call
   * @throws InvalidAddressError if `va` is not a linear address of the mode (a caller bug; the Cpu
   *   raises #GP instead)
   */
  translate(va: number, access: Access, mode: Mode): TranslationResult {
    if (!(typeof va === 'number' && va >= 0 && va < 9007199254740992)) this.rejectLinear(va); // 2^53
    // Kept tiny so V8 inlines it into the caller's loop: from here on the address travels as two
    // small integers (a double passed to a call V8 does not inline is boxed: an allocation per
    // translation).
    // Both halves by truncation: va * 2^-32 is exact and below 2^21 (va < 2^53), so `| 0` is its
    // floor without Math.floor's rounding and the integer check V8 adds after it; `va | 0` is
    // ToInt32(va), bits 31:0. (Dividing by 2^32 instead measured slower: a division.)
    const vaHi = (va * (1 / 4294967296)) | 0;
    // At or above 2^48 only 5-level paging has addresses: EFER.LMA (bit 10, so PG and PAE are set)
    // with CR4.LA57 (bit 12). Tested here, inline, so a 5-level address reaches the TLB probe of
    // translateSplit with no call on the way (through translateAbove48 a TLB hit ran at ~0.6 of a
    // 4-level one); anything else is a caller bug that translateAbove48 reports.
    const regs = this.registers;
    if (vaHi > 0xffff && ((regs.cr4 & 0x1000) === 0 || (regs.efer & 0x400) === 0)) return this.translateAbove48(vaHi, va | 0, access, mode);
    return this.translateSplit(vaHi, va | 0, access, mode);
  }

  /**
   * Throws `translate`'s InvalidAddressError for `va`. Out of line: bytecode inlined into a
   * caller's loop counts against V8's budget for it (see tlbHit).
   */
  private rejectLinear(va: unknown): never {
    throw badLinear(va, pagingModeOf(this.registers.cr0, this.registers.cr4, this.registers.efer));
  }

  /** `translate` of a number in [2^48, 2^53): a 5-level address, else a caller bug. */
  private translateAbove48(vaHi: number, vaLo: number, access: Access, mode: Mode): TranslationResult {
    const regs = this.registers;
    const pagingMode = pagingModeOf(regs.cr0, regs.cr4, regs.efer);
    if (pagingMode !== PagingMode.FiveLevel) throw badLinear(exactLinear(vaHi, vaLo), pagingMode);
    return this.translateSplit(vaHi, vaLo, access, mode);
  }

  /**
   * `translate` for a linear address given as bits 47:32 (`vaHi`; bits 56:32 in 5-level paging,
   * 0 in 32-bit and PAE paging) and bits 31:0 (`vaLo`, signed or unsigned 32-bit). Hot-path
   * callers holding split addresses can call it directly; it is the only way to translate a
   * 5-level address at or above 2^53.
   * @throws InvalidAddressError if `vaHi` is outside the mode's linear space (checked on a TLB miss)
   */
  translateSplit(vaHi: number, vaLo: number, access: Access, mode: Mode): TranslationResult {
    // Small enough for V8 to inline into the caller (with `translate`): a TLB hit with rights of
    // the quick kind is answered here without a call; the rest goes to translateWalk. Literals
    // instead of named constants: see translateWalk.
    const tlb = this.tlb;
    const regs = this.registers;
    let absent = false;
    if (tlb !== null && tlb.probeMode === 1 && (regs.cr0 & 0x8000_0000) /* CR0.PG */ !== 0 && (regs.cr4 & 0x42_0000) /* PCIDE | PKE */ === 0) {
      // The way the TLB's way predictor names for this page in its set (Tlb.hints); a hit only if its tags
      // are this page's under PCID 0: linear-address bits 43:12 and 47:44 (Tlb.tags, tagsHigh).
      const pageLo = vaLo >>> 12;
      const hash = pageLo ^ (pageLo >>> 12) ^ (vaHi << 8) ^ (vaHi >>> 4); /* Tlb.hash */
      const base = Math.imul(hash & tlb.setMask, tlb.wayCount); // no overflow or -0 checks
      const slot = base + tlb.hints[hash & tlb.hintMask]!;
      const tag = (vaHi << 20) | pageLo;
      if (tlb.tags[slot] === tag) {
        if (tlb.tagsHigh[slot] === vaHi >>> 12) {
          const flags = tlb.flags[slot]!;
          if (quickHit(flags, access, mode)) return this.tlbHit(tlb, slot, flags, vaLo);
        }
      } else {
        // A 2-way set is two tags in the cache line just read: when neither is the page's, it
        // has no entry under any PCID and translateWalk need not scan the set again (Tlb.findTag:
        // ~5 ns of every miss and fault). Both ways, not the hint's other one: the hints are a
        // guess that anyone may overwrite.
        absent = tlb.wayCount === 2 && tlb.tags[base] !== tag && tlb.tags[base + 1] !== tag;
      }
    }
    return this.translateWalk(vaHi, vaLo, access, mode, absent);
  }

  /** Answers from TLB slot `slot` (rights already checked). */
  private tlbHit(tlb: Tlb, slot: number, flags: number, vaLo: number): TranslationResult {
    tlb.hits++;
    const r = this.result;
    const size = tlb.levels[slot]!; // a TlbPageSize: 1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB, 4 = 4 MiB
    r.fault = false;
    r.errorCode = 0;
    r.pa = tlb.frames[slot]! + (vaLo & 0xfff);
    r.flags = flags;
    if (size === 1) {
      r.level = 1;
      r.pageSizeBytes = 4096;
    } else {
      hugeHitSize(r, size);
    }
    r.tlbHit = true;
    return r;
  }

  /**
   * `translateSplit` past a quick TLB hit: the rest of the fast path, else translateFull.
   * `absent`: translateSplit probed the page's set and no slot of it holds the page's tag.
   */
  private translateWalk(vaHi: number, vaLo: number, access: Access, mode: Mode, absent: boolean): TranslationResult {
    // Numbers are written as literals here, not the named constants (CR0.PG, PTE bits...): a
    // bundler turns module-level consts into vars, which the JIT cannot fold (measured: ~2x on
    // the cold walk). Each literal carries the name it stands for; tests pin their values.
    // The common cases are answered here, in one function with no call on the way (measured: the
    // walk behind one more non-inlined call ran ~2x slower; V8 does not inline this function,
    // whose integer arguments it passes unboxed): paging on, no PCIDs or protection keys, a TLB
    // miss or the TLB off, and a plain 4 KiB walk over flat memory with rights of the quick kind
    // (or allowed by rightsError), then the TLB fill. Everything else — faults, huge pages, PCIDs,
    // the stale-use detector, a TLB hit with other rights — goes to translateFull, which decides
    // alone.
    const regs = this.registers;
    if ((regs.cr0 & 0x8000_0000) === 0 /* CR0.PG */ || (regs.cr4 & 0x42_0000) !== 0 /* CR4.PCIDE | CR4.PKE */) return this.translateFull(vaHi, vaLo, access, mode);
    const tlb = this.tlb;
    const tlbOn = tlb !== null && tlb.enabled;
    if (tlbOn) {
      if (tlb.detectStaleUses) return this.translateFull(vaHi, vaLo, access, mode);
      // The hint was wrong or the rights not of the quick kind: scan the page's set, unless
      // translateSplit saw no way of it holding the page's tag (`absent`).
      const slot = absent ? -1 : tlb.findTag(vaHi, vaLo >>> 12);
      if (slot >= 0) {
        const flags = tlb.flags[slot]!;
        if (tlb.tagsHigh[slot] === vaHi >>> 12) {
          if (quickHit(flags, access, mode)) return this.tlbHit(tlb, slot, flags, vaLo);
          return this.cachedRightsOther(tlb, slot, flags, vaHi, vaLo, access, mode);
        }
        // Another PCID's entry or a global one: the general path.
        return this.translateFull(vaHi, vaLo, access, mode);
      }
      // No entry of the page under any PCID: a miss for sure.
    }
    // Not 4-level paging (CR4.PAE = 1, CR4.LA57 = 0, EFER.LMA = 1): the other modes' walks.
    if ((regs.cr4 & 0x1020) /* LA57 | PAE */ !== 0x20 || (regs.efer & 0x400) /* EFER.LMA */ === 0) return this.translateOtherMode(vaHi, vaLo, access, mode);
    const w = this.flat;
    const cr3 = regs.cr3Frame;
    // Memory seen only through the PhysicalMemory port (e.g. kernel-sim's sparse RAM): the same
    // walk a table view at a time.
    if (w === null) return this.translateWalkFrames(vaHi, vaLo, access, mode);
    if (cr3 > 0xffff_f000) return this.translateFull(vaHi, vaLo, access, mode);
    // The walk: four present levels ending in an allowed 4 KiB PTE, table frames below 4 GiB, no
    // reserved bit. It reads all four levels without data-dependent branches and checks once at
    // the end (~2x faster than testing each level as it is read), so consecutive walks overlap
    // in the CPU. An index past the end of memory reads `undefined`, which every test below
    // treats as 0 (not present): no clamping needed. Anything unusual goes the full way, which
    // walks again (this walk changed nothing).
    const reservedHi = (regs.efer & 0x800) /* EFER.NXE */ !== 0 ? this.reservedHi : this.reservedHi | (0x8000_0000 | 0);
    const maskHi = this.addrMaskHi;
    // Word index of each entry: table frame / 4 + index * 2 (SDM 4.5, Figure 4-8).
    const e4 = (cr3 >>> 2) + ((vaHi >>> 6) & 0x3fe);
    const lo4 = w[e4]!;
    const hi4 = w[e4 + 1]!;
    const e3 = ((lo4 >>> 12) << 10) + ((((vaHi & 0x7f) << 2) | (vaLo >>> 30)) << 1);
    const lo3 = w[e3]!;
    const hi3 = w[e3 + 1]!;
    const e2 = ((lo3 >>> 12) << 10) + ((vaLo >>> 20) & 0x3fe);
    const lo2 = w[e2]!;
    const hi2 = w[e2 + 1]!;
    const e1 = ((lo2 >>> 12) << 10) + ((vaLo >>> 11) & 0x3fe);
    const lo = w[e1]!;
    const hi = w[e1 + 1]!;
    const andLo = lo4 & lo3 & lo2 & lo;
    if (
      (((andLo & 0x1) ^ 0x1) | // a level not present (P = 0)
        ((lo4 | lo3 | lo2) & 0x80) | // PS in a PML4E (reserved) or a huge leaf
        ((hi4 | hi3 | hi2) & (reservedHi | maskHi)) | // reserved bits, or a table above 4 GiB
        (hi & reservedHi)) !==
      0
    ) {
      return this.translateFull(vaHi, vaLo, access, mode);
    }
    // The leaf's flags with R/W and U/S AND-ed and NX OR-ed over the levels (SDM 4.6).
    const flags = (lo & 0xff9) | (andLo & 0x6) | (hi & 0x7ff0_0000) | ((hi4 | hi3 | hi2 | hi) & (0x8000_0000 | 0));
    // Rights (SDM 4.6.1; CR4.PKE = 0 here, so no protection keys): a user-mode read or write is
    // decided inline — U/S at every level, and R/W at every level for a write, whatever CR0.WP —
    // with its error code P | U/S | W/R (4.7); the same quick accept as on a TLB hit for a
    // supervisor read of a supervisor page; everything else (fetches, other supervisor accesses)
    // through rightsError and errorBase.
    if (mode === 3 && access !== 2) {
      const need = 0x4 /* U/S */ | (access << 1); /* R/W for a write */
      if ((flags & need) !== need) return this.deniedAfterFastWalk(e4, e3, e2, 0x5 | (access << 1), vaHi, vaLo);
    } else if (!(access === 0 && (flags & 0x4) === 0)) {
      const denied = this.rightsError(flags, access, mode);
      if (denied !== 0) return this.deniedAfterFastWalk(e4, e3, e2, this.errorBase(access, mode) | denied, vaHi, vaLo);
    }
    // SDM 4.8: A on every entry used, D on the written leaf (one test when all are set).
    const set = 0x20 /* A */ | ((access & 1) << 6); /* D on a write */
    if ((andLo & 0x20) === 0 || (lo & set) !== set) markUsed(w, e4, e3, e2, e1, set);
    return this.walkedTo4KiB(vaHi, vaLo, hi & maskHi, lo, flags | set);
  }

  /**
   * translateWalk's 4-level walk when memory has no flat `words` (only `frameWords`, e.g.
   * kernel-sim's sparse RAM), for the same two common cases, each answered exactly as the full
   * walk answers it (walkLongMode, SDM 4.5):
   * - four present levels (no PS in the PML4E, no huge page, no reserved bit) ending in an allowed
   *   4 KiB PTE: A on every entry and D on a written leaf (SDM 4.8), the translation cached;
   * - an entry with P = 0 under such levels — every demand-paging fault: A on each table entry
   *   above it (walkLongMode sets it as it passes them), nothing written at or below it, error
   *   code P = 0 with the access's bits (SDM 4.7) at its level, the page's TLB entries dropped
   *   (SDM 4.10.4.1; none of the page is cached — translateWalk's precondition — so only pieces of
   *   a huge page can go).
   * Each level is checked before the next table is read (past P = 0 an address field means
   * nothing). Everything else — a huge page, a reserved bit, denied rights, a table that is no
   * RAM (frameWords throws) — goes to translateFull, which walks again from the start and
   * decides alone: nothing is written here before the walk is known to end in one of the two
   * cases. The mmu property tests compare both, A/D bits included, with the reference walk on
   * port-only memory.
   */
  private translateWalkFrames(vaHi: number, vaLo: number, access: Access, mode: Mode): TranslationResult {
    // A linear address beyond 48 bits (translateSplit called directly) is translateFull's to refuse.
    if (vaHi > 0xffff) return this.translateFull(vaHi, vaLo, access, mode);
    const regs = this.registers;
    const reservedHi = (regs.efer & 0x800) /* EFER.NXE */ !== 0 ? this.reservedHi : this.reservedHi | (0x8000_0000 | 0);
    const maskHi = this.addrMaskHi;
    // Word index of each entry in its table: index * 2 (SDM 4.5, Figure 4-8).
    const i4 = (vaHi >>> 6) & 0x3fe;
    const i3 = (((vaHi & 0x7f) << 2) | (vaLo >>> 30)) << 1;
    const i2 = (vaLo >>> 20) & 0x3fe;
    const i1 = (vaLo >>> 11) & 0x3fe;
    const t4 = this.tableView(regs.cr3Frame);
    if (t4 === null) return this.translateFull(vaHi, vaLo, access, mode);
    const lo4 = t4[i4]!;
    const hi4 = t4[i4 + 1]!;
    if ((lo4 & 0x1) === 0) return this.missingAfterFrameWalk(4, t4, i4, t4, i4, t4, i4, vaHi, vaLo, access, mode);
    if (((lo4 & 0x80) | (hi4 & reservedHi)) !== 0) return this.translateFull(vaHi, vaLo, access, mode);
    const t3 = this.tableView((hi4 & maskHi) * TWO_32 + (lo4 - (lo4 & 0xfff)));
    if (t3 === null) return this.translateFull(vaHi, vaLo, access, mode);
    const lo3 = t3[i3]!;
    const hi3 = t3[i3 + 1]!;
    if ((lo3 & 0x1) === 0) return this.missingAfterFrameWalk(3, t4, i4, t4, i4, t4, i4, vaHi, vaLo, access, mode);
    if (((lo3 & 0x80) | (hi3 & reservedHi)) !== 0) return this.translateFull(vaHi, vaLo, access, mode);
    const t2 = this.tableView((hi3 & maskHi) * TWO_32 + (lo3 - (lo3 & 0xfff)));
    if (t2 === null) return this.translateFull(vaHi, vaLo, access, mode);
    const lo2 = t2[i2]!;
    const hi2 = t2[i2 + 1]!;
    if ((lo2 & 0x1) === 0) return this.missingAfterFrameWalk(2, t4, i4, t3, i3, t3, i3, vaHi, vaLo, access, mode);
    if (((lo2 & 0x80) | (hi2 & reservedHi)) !== 0) return this.translateFull(vaHi, vaLo, access, mode);
    const t1 = this.tableView((hi2 & maskHi) * TWO_32 + (lo2 - (lo2 & 0xfff)));
    if (t1 === null) return this.translateFull(vaHi, vaLo, access, mode);
    const lo = t1[i1]!;
    const hi = t1[i1 + 1]!;
    if ((lo & 0x1) === 0) return this.missingAfterFrameWalk(1, t4, i4, t3, i3, t2, i2, vaHi, vaLo, access, mode);
    if ((hi & reservedHi) !== 0) return this.translateFull(vaHi, vaLo, access, mode);
    const andLo = lo4 & lo3 & lo2 & lo;
    // The leaf's flags with R/W and U/S AND-ed and NX OR-ed over the levels (SDM 4.6).
    const flags = (lo & 0xff9) | (andLo & 0x6) | (hi & 0x7ff0_0000) | ((hi4 | hi3 | hi2 | hi) & (0x8000_0000 | 0));
    // Rights as in translateWalk (SDM 4.6.1; CR4.PKE = 0 here); a denied access walks again in
    // translateFull, which builds the fault (rare here: the flat walk builds it itself).
    if (mode === 3 && access !== 2) {
      const need = 0x4 /* U/S */ | (access << 1); /* R/W for a write */
      if ((flags & need) !== need) return this.translateFull(vaHi, vaLo, access, mode);
    } else if (!(access === 0 && (flags & 0x4) === 0) && this.rightsError(flags, access, mode) !== 0) return this.translateFull(vaHi, vaLo, access, mode);
    // SDM 4.8: A on every entry used, D on the written leaf (one test when all are set).
    const set = 0x20 /* A */ | ((access & 1) << 6); /* D on a write */
    if ((andLo & 0x20) === 0 || (lo & set) !== set) {
      t4[i4]! |= 0x20;
      t3[i3]! |= 0x20;
      t2[i2]! |= 0x20;
      t1[i1]! |= set;
    }
    return this.walkedTo4KiB(vaHi, vaLo, hi & maskHi, lo, flags | set);
  }

  /**
   * translateWalkFrames' not-present fault at `level` (4 = PML4E ... 1 = PTE): A on the table
   * entries above it — (ta, ia) the PML4E, (tb, ib) the PDPTE, (tc, ic) the PDE, as many as lie
   * above `level` — then the #PF as walkLongMode reports it.
   */
  private missingAfterFrameWalk(level: number, ta: Uint32Array, ia: number, tb: Uint32Array, ib: number, tc: Uint32Array, ic: number, vaHi: number, vaLo: number, access: Access, mode: Mode): TranslationResult {
    if (level < 4) ta[ia]! |= 0x20;
    if (level < 3) tb[ib]! |= 0x20;
    if (level < 2) tc[ic]! |= 0x20;
    return this.faultAfterFastWalk(this.errorBase(access, mode), level, vaHi, vaLo);
  }

  /**
   * The words of the table at `pa`, or null when that is no RAM (`frameWords` throws): the caller
   * then leaves it to translateFull, which walks from the start, sets what it sets on the way and
   * throws the same. Only this read is guarded, so nothing else a fast walk calls runs twice.
   */
  private tableView(pa: number): Uint32Array | null {
    try {
      return this.memory.frameWords(pa);
    } catch {
      return null;
    }
  }

  /**
   * The end of a fast walk (4-level, 32-bit, PAE; flat or a view per level) that reached an allowed
   * 4 KiB leaf with A/D already set in memory: the answer, a walk counted, the TLB miss filled
   * (PCID 0: every fast walk runs with CR4.PCIDE = 0).
   */
  private walkedTo4KiB(vaHi: number, vaLo: number, frameHi: number, lo: number, flags: number): TranslationResult {
    this.walkCount++;
    const r = this.result;
    r.tlbHit = false;
    r.fault = false;
    r.errorCode = 0;
    r.pa = frameHi * 4294967296 + (((lo & 0xffff_f000) | (vaLo & 0xfff)) >>> 0);
    r.pageSizeBytes = 4096;
    r.level = 1;
    r.flags = flags;
    const tlb = this.tlb;
    if (tlb !== null && tlb.enabled) {
      tlb.misses++;
      tlb.fill(vaHi, vaLo >>> 12, 0, frameHi, lo & 0xffff_f000, flags, 1, (flags & 0x100) /* G */ !== 0 && (this.registers.cr4 & 0x80) /* CR4.PGE */ !== 0);
    }
    return r;
  }

  /**
   * The end of a fast walk that ends in a fault, the A bits it owes already set: the #PF with
   * `errorCode` at `level`, a walk counted, and the page's TLB entries dropped (SDM 4.10.4.1) —
   * with no 4 KiB entry of the page cached (the fast walks' precondition: the probe found none),
   * only pieces of a huge page holding it can go, and only when the TLB holds some.
   */
  private faultAfterFastWalk(errorCode: number, level: number, vaHi: number, vaLo: number): TranslationResult {
    this.walkCount++;
    const r = this.result;
    r.tlbHit = false;
    setFault(r, errorCode, level);
    const tlb = this.tlb;
    if (tlb !== null && tlb.enabled) {
      tlb.misses++;
      if (tlb.hugePieceCount !== 0) tlb.invalidatePageSplit(vaHi, vaLo, 0);
    }
    return r;
  }

  /**
   * The fault `translateFull` would report after the fast walk found an allowed-looking path to a
   * present 4 KiB leaf whose rights deny the access (a user access to a supervisor page, a write
   * to a read-only one): what the full walk does in that case, without walking again. The walk
   * sets A on each table entry it passes (SDM 4.8; walkLongMode does it level by level) and none
   * on the denying leaf, the fault reports P and the access's bits at level 1 (SDM 4.7), and
   * the page's TLB entries are dropped (SDM 4.10.4.1) — with no entry of the page cached (the
   * fast walk's precondition), only pieces of a huge page can go. The mmu property tests compare
   * every such case, A/D bits included, with the reference walk.
   */
  private deniedAfterFastWalk(e4: number, e3: number, e2: number, errorCode: number, vaHi: number, vaLo: number): TranslationResult {
    // Out of line, so translateWalk's allowed path stays as it was.
    const w = this.flat!;
    w[e4]! |= 0x20;
    w[e3]! |= 0x20;
    w[e2]! |= 0x20;
    return this.faultAfterFastWalk(errorCode, 1, vaHi, vaLo);
  }

  /**
   * A TLB entry of this page under PCID 0 whose rights are not of the quick kind (a write to a
   * read-only page, a user access to a supervisor page, a fetch, a supervisor access): in 4-level
   * paging, when the cached rights deny the access, the fault `translateFull` would report from
   * the same slot (`tlb.lookup` finds it first: `findTag` returned the set's first slot with the
   * page's tag) — rights from the cached entry (SDM 4.10.2.2), counted as a hit, then the page's
   * entries dropped (4.10.4.1). Everything else goes to translateFull unchanged.
   */
  private cachedRightsOther(tlb: Tlb, slot: number, flags: number, vaHi: number, vaLo: number, access: Access, mode: Mode): TranslationResult {
    const regs = this.registers;
    if ((regs.cr4 & 0x1020) /* LA57 | PAE */ !== 0x20 || (regs.efer & 0x400) /* EFER.LMA */ === 0) return this.translateFull(vaHi, vaLo, access, mode);
    // A user-mode read or write decided inline as in translateWalk (CR4.PKE = 0 here); the rest
    // through rightsError.
    let errorCode: number;
    if (mode === 3 && access !== 2) {
      const need = 0x4 /* U/S */ | (access << 1); /* R/W for a write */
      if ((flags & need) === need) return this.translateFull(vaHi, vaLo, access, mode);
      errorCode = 0x5 | (access << 1);
    } else {
      const denied = this.rightsError(flags, access, mode);
      if (denied === 0) return this.translateFull(vaHi, vaLo, access, mode);
      errorCode = this.errorBase(access, mode) | denied;
    }
    tlb.hits++;
    const r = this.result;
    setFault(r, errorCode, tlb.levels[slot]!);
    r.tlbHit = true;
    tlb.invalidatePageSplit(vaHi, vaLo, 0);
    return r;
  }

  /** Every case of `translateSplit`: TLB lookup under the current PCID, walk, fill, faults. */
  private translateFull(vaHi: number, vaLo: number, access: Access, mode: Mode): TranslationResult {
    const regs = this.registers;
    const r = this.result;
    const pagingMode = pagingModeOf(regs.cr0, regs.cr4, regs.efer);
    if (vaHi !== 0 && (pagingMode === PagingMode.ThirtyTwoBit || pagingMode === PagingMode.Pae || (pagingMode === PagingMode.FourLevel && vaHi > 0xffff))) throw badLinear(exactLinear(vaHi, vaLo), pagingMode);
    if (pagingMode === PagingMode.None) return this.identity(exactLinear(vaHi, vaLo), r);
    const tlb = this.tlb;
    if (tlb === null || !tlb.enabled) {
      this.walkCount++;
      this.walkInto(pagingMode, vaHi, vaLo, access, mode, true, true, r);
      return r;
    }
    const pageLo = vaLo >>> 12;
    const pcid = (regs.cr4 & CR4.PCIDE) !== 0 ? regs.cr3Low & 0xfff : 0;
    const slot = tlb.lookup(vaHi, pageLo, pcid);
    if (slot >= 0) {
      const flags = tlb.flags[slot]!;
      // Quick accept (SDM 4.6.1): a read of a page of the accessing mode's own kind — user page in
      // user mode, supervisor page in supervisor mode — is always allowed unless PKRU may object.
      const denied =
        access === Access.Read && (regs.cr4 & CR4.PKE) === 0 && ((flags & US) !== 0) === (mode === Mode.User) ? 0 : this.rightsError(flags, access, mode);
      if (denied !== 0) {
        // Rights come from the cached entry (SDM 4.10.2.2); the fault then drops it (4.10.4.1).
        tlb.hits++;
        setFault(r, this.errorBase(access, mode) | denied, tlb.levels[slot]!);
        r.tlbHit = true;
        // A stale entry that denies what the tables now allow (rights upgraded without INVLPG)
        // causes this "spurious" fault (SDM 4.10.4.3): report it before the fault drops it.
        if (tlb.detectStaleUses) this.checkStale(vaHi, vaLo, access, mode, pcid, slot, true);
        tlb.invalidatePageSplit(vaHi, vaLo, pcid);
        return r;
      }
      if (access !== Access.Write || (flags & DIRTY) !== 0) {
        this.tlbHit(tlb, slot, flags, vaLo);
        if (tlb.detectStaleUses) this.checkStale(vaHi, vaLo, access, mode, pcid, slot, false);
        return r;
      }
      // A write through an entry with D = 0: the CPU walks to set D in memory (SDM 4.8).
    }
    tlb.misses++;
    this.walkCount++;
    this.walkInto(pagingMode, vaHi, vaLo, access, mode, true, true, r);
    if (r.fault) {
      tlb.invalidatePageSplit(vaHi, vaLo, pcid);
    } else {
      const global = (r.flags & GLOBAL) !== 0 && (regs.cr4 & CR4.PGE) !== 0;
      const piece = r.pa - (vaLo & 0xfff);
      const frameHi = Math.floor(piece * INV_TWO_32);
      tlb.insert(vaHi, pageLo, pcid, frameHi, (piece - frameHi * TWO_32) | 0, r.flags, r.pageSizeBytes === 4194304 ? TlbPageSize.Size4M : r.level, global);
    }
    return r;
  }

  /**
   * A TLB miss outside 4-level paging: the 32-bit and PAE fast walks over flat memory for the
   * common case (every level present, an allowed 4 KiB page, no reserved bit), everything else
   * (huge pages, faults, 5-level, memory without `words`) through translateFull.
   */
  private translateOtherMode(vaHi: number, vaLo: number, access: Access, mode: Mode): TranslationResult {
    const regs = this.registers;
    const w = this.flat;
    const cr4 = regs.cr4;
    if (w === null) return this.translateFull(vaHi, vaLo, access, mode);
    if ((cr4 & 0x1000) /* LA57 */ !== 0) return this.translate5Level(w, vaHi, vaLo, access, mode);
    if (vaHi !== 0) return this.translateFull(vaHi, vaLo, access, mode);
    let e2: number;
    let e1: number;
    let flags: number;
    let pte: number;
    let frameHi = 0;
    if ((cr4 & 0x20) /* PAE */ === 0) {
      // 32-bit paging (SDM 4.3): PDE at CR3[31:12] + 4 × bits 31:22, PTE at PDE[31:12] + 4 ×
      // bits 21:12. An index past the end of memory reads undefined (not present): the full walk
      // then reports the broken table.
      const dir = regs.cr3Frame;
      if (dir > 0xffff_f000) return this.translateFull(vaHi, vaLo, access, mode);
      e2 = (dir >>> 2) + (vaLo >>> 22);
      const pde = w[e2]!;
      // PS with CR4.PSE = 1 is a 4 MiB page: the full walk. (CR4.PSE is bit 4; << 3 puts it on PS.)
      if ((pde & 0x1) === 0 || (pde & 0x80 & (cr4 << 3)) !== 0) return this.translateFull(vaHi, vaLo, access, mode);
      e1 = ((pde >>> 12) << 10) + ((vaLo >>> 12) & 1023);
      pte = w[e1]!;
      if ((pte & 0x1) === 0) return this.translateFull(vaHi, vaLo, access, mode);
      flags = (pte & 0xff9) | (pde & pte & 0x6);
    } else {
      // PAE paging (SDM 4.4): PDPTE register bits 31:30, then a PD and a PT of 8-byte entries
      // below 4 GiB (high words 0), no reserved bit in the leaf (bits 62:M, XD without NXE).
      const p = (vaLo >>> 30) * 2;
      const pdpte = regs.pdptes[p]!;
      if ((pdpte & 0x1) === 0 || regs.pdptes[p + 1] !== 0) return this.translateFull(vaHi, vaLo, access, mode);
      e2 = ((pdpte >>> 12) << 10) + ((vaLo >>> 20) & 0x3fe);
      const pde = w[e2]!;
      if ((pde & 0x81) !== 0x1 || w[e2 + 1] !== 0) return this.translateFull(vaHi, vaLo, access, mode);
      e1 = ((pde >>> 12) << 10) + ((vaLo >>> 11) & 0x3fe);
      pte = w[e1]!;
      const hi = w[e1 + 1]!;
      const reservedHi = (regs.efer & 0x800) /* NXE */ !== 0 ? this.paeReservedHi : this.paeReservedHi | (0x8000_0000 | 0);
      if ((pte & 0x1) === 0 || (hi & reservedHi) !== 0) return this.translateFull(vaHi, vaLo, access, mode);
      frameHi = hi & this.addrMaskHi;
      flags = (pte & 0xff9) | (pde & pte & 0x6) | (hi & (0x8000_0000 | 0));
    }
    if (!(access === 0 && ((flags & 0x4) !== 0) === (mode === 3)) && this.rightsError(flags, access, mode) !== 0) return this.translateFull(vaHi, vaLo, access, mode);
    // SDM 4.8: A on the PDE, A (and D for a write) on the PTE — 4-byte updates of the low words.
    const set = access === 1 ? 0x60 : 0x20;
    if ((w[e2]! & 0x20) === 0) w[e2]! |= 0x20;
    if ((pte & set) !== set) w[e1] = pte | set;
    return this.walkedTo4KiB(vaHi, vaLo, frameHi, pte, flags | set);
  }

  /**
   * The 5-level fast walk (SDM 4.5): as translateWalk's 4-level one with the PML5 on top — five
   * present levels ending in an allowed 4 KiB PTE, table frames below 4 GiB, no reserved bit, read
   * without data-dependent branches and checked once; anything else through translateFull.
   */
  private translate5Level(w: Uint32Array, vaHi: number, vaLo: number, access: Access, mode: Mode): TranslationResult {
    const regs = this.registers;
    const cr3 = regs.cr3Frame;
    if (cr3 > 0xffff_f000 || vaHi > 0x1ff_ffff || (regs.efer & 0x400) /* LMA */ === 0) return this.translateFull(vaHi, vaLo, access, mode);
    const reservedHi = (regs.efer & 0x800) /* EFER.NXE */ !== 0 ? this.reservedHi : this.reservedHi | (0x8000_0000 | 0);
    const maskHi = this.addrMaskHi;
    // Word index of each entry: table frame / 4 + index * 2; PML5 index = bits 56:48.
    const e5 = (cr3 >>> 2) + ((vaHi >>> 15) & 0x3fe);
    const lo5 = w[e5]!;
    const hi5 = w[e5 + 1]!;
    const e4 = ((lo5 >>> 12) << 10) + ((vaHi >>> 6) & 0x3fe);
    const lo4 = w[e4]!;
    const hi4 = w[e4 + 1]!;
    const e3 = ((lo4 >>> 12) << 10) + ((((vaHi & 0x7f) << 2) | (vaLo >>> 30)) << 1);
    const lo3 = w[e3]!;
    const hi3 = w[e3 + 1]!;
    const e2 = ((lo3 >>> 12) << 10) + ((vaLo >>> 20) & 0x3fe);
    const lo2 = w[e2]!;
    const hi2 = w[e2 + 1]!;
    const e1 = ((lo2 >>> 12) << 10) + ((vaLo >>> 11) & 0x3fe);
    const lo = w[e1]!;
    const hi = w[e1 + 1]!;
    const andLo = lo5 & lo4 & lo3 & lo2 & lo;
    if ((((andLo & 0x1) ^ 0x1) | ((lo5 | lo4 | lo3 | lo2) & 0x80) | ((hi5 | hi4 | hi3 | hi2) & (reservedHi | maskHi)) | (hi & reservedHi)) !== 0) {
      return this.translateFull(vaHi, vaLo, access, mode);
    }
    let flags = (lo & 0xff9) | (andLo & 0x6) | (hi & 0x7ff0_0000) | ((hi5 | hi4 | hi3 | hi2 | hi) & (0x8000_0000 | 0));
    if (!(access === 0 && ((flags & 0x4) !== 0) === (mode === 3)) && this.rightsError(flags, access, mode) !== 0) return this.translateFull(vaHi, vaLo, access, mode);
    const set = access === 1 ? 0x60 /* A | D */ : 0x20; /* A */
    if ((andLo & 0x20) === 0 || (lo & set) !== set) {
      w[e5]! |= 0x20;
      markUsed(w, e4, e3, e2, e1, set);
    }
    flags |= set;
    this.walkCount++;
    const frameHi = hi & maskHi;
    const r = this.result;
    r.tlbHit = false;
    r.fault = false;
    r.errorCode = 0;
    r.pa = frameHi * TWO_32 + (((lo & 0xffff_f000) | (vaLo & 0xfff)) >>> 0);
    r.pageSizeBytes = 4096;
    r.level = 1;
    r.flags = flags;
    const tlb = this.tlb;
    if (tlb !== null && tlb.enabled) {
      tlb.misses++;
      tlb.fill(vaHi, vaLo >>> 12, 0, frameHi, lo & 0xffff_f000, flags, 1, (flags & 0x100) !== 0 && (regs.cr4 & 0x80) !== 0);
    }
    return r;
  }

  /**
   * A page walk that bypasses the TLB (neither consulted nor filled) but otherwise behaves like
   * `translate`: rights checked, A/D set.
   * @returns the shared {@link TranslationResult}
   * @throws InvalidAddressError if `va` is not a linear address of the mode (see `translate`)
   */
  walk(va: number, access: Access, mode: Mode): TranslationResult {
    const vaHi = this.splitHi(va);
    return this.walkSplit(vaHi, (va - vaHi * TWO_32) | 0, access, mode);
  }

  /** `walk` for a split linear address (see `translateSplit`). @throws InvalidAddressError */
  walkSplit(vaHi: number, vaLo: number, access: Access, mode: Mode): TranslationResult {
    if ((access !== 0 && access !== 1 && access !== 2) || (mode !== 0 && mode !== 3)) throw new InvalidOptionError('access / mode', `${show(access)} / ${show(mode)}`, 'must be Access and Mode values');
    const pagingMode = this.checkSplit(vaHi, vaLo);
    if (pagingMode === PagingMode.None) return this.identity(exactLinear(vaHi, vaLo), this.result);
    this.walkCount++;
    this.walkInto(pagingMode, vaHi, vaLo, access, mode, true, true, this.result);
    return this.result;
  }

  /**
   * What the tables in memory say about `va` right now, with no side effects: no TLB, no A/D
   * updates, no rights check (faults only for a non-present entry or a reserved bit, reported as
   * for a supervisor read). Used by the stale-entry detector and by debuggers.
   * @returns `probeResult`, overwritten by the next probe
   * @throws InvalidAddressError if `va` is not a linear address of the mode (see `translate`)
   */
  probe(va: number): TranslationResult {
    const vaHi = this.splitHi(va);
    return this.probeSplit(vaHi, (va - vaHi * TWO_32) | 0);
  }

  /** `probe` for a split linear address (see `translateSplit`). @throws InvalidAddressError */
  probeSplit(vaHi: number, vaLo: number): TranslationResult {
    const pagingMode = this.checkSplit(vaHi, vaLo);
    if (pagingMode === PagingMode.None) return this.identity(exactLinear(vaHi, vaLo), this.probeResult);
    this.walkInto(pagingMode, vaHi, vaLo, Access.Read, Mode.Supervisor, false, false, this.probeResult);
    return this.probeResult;
  }

  /** Bits 56:32 of a number address, after checking it is a linear address of some mode. */
  private splitHi(va: number): number {
    if (!(typeof va === 'number' && Number.isSafeInteger(va) && va >= 0)) throw badLinear(va, pagingModeOf(this.registers.cr0, this.registers.cr4, this.registers.efer));
    return Math.floor(va * INV_TWO_32);
  }

  /** The paging mode, after checking that `vaHi:vaLo` is one of its linear addresses. @throws InvalidAddressError */
  private checkSplit(vaHi: number, vaLo: number): PagingMode {
    const regs = this.registers;
    const pagingMode = pagingModeOf(regs.cr0, regs.cr4, regs.efer);
    // Without paging any number below 2^48 is taken as it is (linear = physical), as before modes existed.
    const hiLimit = pagingMode === PagingMode.FiveLevel ? 0x200_0000 : pagingMode === PagingMode.FourLevel || pagingMode === PagingMode.None ? 0x1_0000 : 1;
    if (!(Number.isInteger(vaHi) && vaHi >= 0 && vaHi < hiLimit && Number.isInteger(vaLo) && vaLo >= -0x8000_0000 && vaLo <= 0xffff_ffff)) {
      throw badLinear(Number.isInteger(vaHi) && Number.isInteger(vaLo) ? exactLinear(vaHi, vaLo) : Number.NaN, pagingMode);
    }
    return pagingMode;
  }

  /**
   * Page-fault error code bits beyond W/R, U/S and I/D for an access with these effective
   * `flags` (SDM 4.6.1, 4.6.2): 0 when permitted, else P (plus PK for a protection-key denial).
   */
  rightsError(flags: number, access: Access, mode: Mode): number {
    const regs = this.registers;
    const user = (flags & US) !== 0;
    // NX is bit 31 of the flags word: negative int32 when set. It only counts with EFER.NXE.
    const noExec = flags < 0 && (regs.efer & EFER.NXE) !== 0;
    let deny: boolean;
    if (mode === Mode.User) {
      // SDM 4.6.1, user-mode access: needs U/S = 1 at every level; writes need R/W = 1 at every
      // level whatever CR0.WP; fetches need XD = 0 at every level.
      deny = !user || (access === Access.Write ? (flags & RW) === 0 : access === Access.Execute && noExec);
    } else if (access === Access.Execute) {
      // Supervisor fetch: XD at any level forbids; SMEP forbids fetching from user-mode pages.
      deny = noExec || (user && (regs.cr4 & CR4.SMEP) !== 0);
    } else if (user && (regs.cr4 & CR4.SMAP) !== 0 && (regs.rflags & RFLAGS.AC) === 0) {
      // SMAP: explicit supervisor data accesses to user-mode pages fault unless RFLAGS.AC = 1.
      deny = true;
    } else {
      // Supervisor data: reads always allowed; writes honour R/W only when CR0.WP = 1.
      deny = access === Access.Write && (regs.cr0 & CR0.WP) !== 0 && (flags & RW) === 0;
    }
    let pk = 0;
    // Protection keys exist in 4-level and 5-level paging only (SDM 4.6.2): EFER.LMA = 1.
    if (user && access !== Access.Execute && (regs.cr4 & CR4.PKE) !== 0 && (regs.efer & EFER.LMA) !== 0) {
      // SDM 4.6.2: PKRU governs data accesses to user-mode pages (from either mode).
      const bits = regs.pkru >>> (((flags >>> 27) & 0xf) * 2);
      if ((bits & 1) !== 0 || ((bits & 2) !== 0 && access === Access.Write && (mode === Mode.User || (regs.cr0 & CR0.WP) !== 0))) {
        pk = PageFaultErrorCode.ProtectionKey;
      }
    }
    return deny || pk !== 0 ? PageFaultErrorCode.Present | pk : 0;
  }

  /** W/R, U/S and I/D bits of the error code for an access (SDM 4.7: they describe the access). */
  errorBase(access: Access, mode: Mode): number {
    const regs = this.registers;
    let e = mode === Mode.User ? PageFaultErrorCode.User : 0;
    if (access === Access.Write) e |= PageFaultErrorCode.Write;
    // I/D is reported only when CR4.SMEP = 1, or CR4.PAE = 1 and EFER.NXE = 1 (SDM 4.7): in
    // 32-bit paging (PAE = 0) NXE does not count.
    else if (access === Access.Execute && (((regs.efer & EFER.NXE) !== 0 && (regs.cr4 & CR4.PAE) !== 0) || (regs.cr4 & CR4.SMEP) !== 0)) e |= PageFaultErrorCode.InstructionFetch;
    return e;
  }

  private identity(va: number, r: TranslationResult): TranslationResult {
    // CR0.PG = 0: linear addresses are physical addresses, no rights (SDM 4.1.1).
    r.fault = false;
    r.errorCode = 0;
    r.pa = va;
    r.pageSizeBytes = PAGE;
    r.level = 0;
    r.flags = P | RW | US;
    r.tlbHit = false;
    return r;
  }

  /** The walk of `pagingMode` (not None): one walker per mode (SDM 4.3, 4.4, 4.5). */
  private walkInto(pagingMode: PagingMode, vaHi: number, vaLo: number, access: Access, mode: Mode, sideEffects: boolean, checkRights: boolean, r: TranslationResult): void {
    if (pagingMode === PagingMode.FourLevel) walkLongMode(this, 4, vaHi, vaLo, access, mode, sideEffects, checkRights, r);
    else if (pagingMode === PagingMode.ThirtyTwoBit) walk32Bit(this, vaLo >>> 0, access, mode, sideEffects, checkRights, r);
    else if (pagingMode === PagingMode.Pae) walkPae(this, vaLo >>> 0, access, mode, sideEffects, checkRights, r);
    else walkLongMode(this, 5, vaHi, vaLo, access, mode, sideEffects, checkRights, r);
  }

  /**
   * Debugging mode: compares a TLB hit with the tables in memory and reports a difference.
   * `cachedFault`: the cached rights denied the access (the Mmu is about to fault).
   */
  private checkStale(vaHi: number, vaLo: number, access: Access, mode: Mode, pcid: number, slot: number, cachedFault: boolean): void {
    const tlb = this.tlb!;
    const cachedPa = tlb.frames[slot]! + (vaLo & 0xfff);
    const cachedFlags = tlb.flags[slot]!;
    const cachedPageSizeBytes = tlbPageSizeBytes(tlb.levels[slot]!);
    const p = this.probeSplit(vaHi, vaLo);
    const mask = (this.registers.cr4 & CR4.PKE) !== 0 ? HARDWARE_FLAGS | PKEY_FLAGS : HARDWARE_FLAGS;
    const stale =
      p.fault ||
      p.pa !== cachedPa ||
      p.pageSizeBytes !== cachedPageSizeBytes ||
      ((p.flags ^ cachedFlags) & mask) !== 0 ||
      // Software cleared D without INVLPG: later writes through this entry will not set it again.
      ((cachedFlags & DIRTY) !== 0 && (p.flags & DIRTY) === 0);
    // Software cleared A without INVLPG (reported only when asked): accesses through this entry
    // do not set it again, so a clear A no longer means "not used since" (SDM 4.10.4.3).
    const accessedOnly = !stale && tlb.detectClearedAccessed && (cachedFlags & ACCESSED) !== 0 && (p.flags & ACCESSED) === 0;
    if (!stale && !accessedOnly) return;
    const pagingMode = pagingModeOf(this.registers.cr0, this.registers.cr4, this.registers.efer);
    const va = exactLinear(vaHi, vaLo);
    tlb.reportStaleUse({
      va,
      vaText: formatLinear(pagingMode, vaHi, vaLo),
      pcid,
      access,
      mode,
      cachedPa,
      cachedFlags,
      cachedPageSizeBytes,
      cachedFault,
      currentFault: p.fault,
      currentErrorCode: p.errorCode,
      currentPa: p.pa,
      currentFlags: p.flags,
      currentPageSizeBytes: p.pageSizeBytes,
      description: describeStaleUse(va, access, mode, cachedPa, p.fault, p.pa, cachedFault, formatLinear(pagingMode, vaHi, vaLo), accessedOnly ? 'A was cleared without invlpg: this access does not set it again' : undefined),
    });
  }
}
