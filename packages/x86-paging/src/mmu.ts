// The memory-management unit: translates a linear address the way an x86_64 CPU does with
// 4-level paging (SDM vol. 3A 4.5), checks access rights (4.6), sets accessed/dirty flags (4.8),
// reports faults as page-fault error codes (4.7) and caches translations in a TLB (4.10).
//
// Hot path rules (DESIGN.md): numbers and typed arrays only, no allocation, no exceptions for
// faults — every call overwrites ONE preallocated TranslationResult.
import { InvalidAddressError, PhysicalAccessError, type PhysicalMemory } from './api';
import { Access, Mode } from './access-mode';
import { CR0, CR4, EFER, RFLAGS, type ControlRegisters } from './control-registers';
import { PageFaultErrorCode } from './page-fault-error-code';
import { describeStaleUse, type Tlb } from './tlb';

const TWO_32 = 4294967296;
const INV_TWO_32 = 1 / 4294967296;
const LINEAR_LIMIT = 281474976710656;
const PAGE = 4096;

// Flags-word bits (same positions as entry bits; see entry.ts).
const P = 0x1;
const RW = 0x2;
const US = 0x4;
const ACCESSED = 0x20;
const DIRTY = 0x40;
const PS = 0x80;
const GLOBAL = 0x100;
/** Bits of the flags word the hardware acts on (for the stale-entry comparison). */
const HARDWARE_FLAGS = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x80 | 0x100 | 0x1000 | (0x8000_0000 | 0);
const PKEY_FLAGS = 0x7800_0000;

function badLinear(va: number): InvalidAddressError {
  return new InvalidAddressError(String(va), 'a linear address must be in [0, 2^48)');
}

/** Sets A in the three table entries and `set` (A, or A and D) in the leaf at these word indices of flat memory. */
function markUsed(w: Uint32Array, e4: number, e3: number, e2: number, e1: number, set: number): void {
  w[e4]! |= ACCESSED;
  w[e3]! |= ACCESSED;
  w[e2]! |= ACCESSED;
  w[e1]! |= set;
}

/**
 * The accesses a TLB hit answers without the full rights check (SDM 4.6.1): a read of a page of
 * the accessing mode's own kind (user page in user mode, supervisor page in supervisor mode), or
 * a user-mode write to a writable user page whose cached D is already 1 (a write through a clean
 * entry walks to set D, SDM 4.8). Everything else goes through `Mmu.rightsError`.
 */
function quickHit(flags: number, access: Access, mode: Mode): boolean {
  return ((flags & 0x4) /* U/S */ !== 0) === (mode === 3) /* Mode.User */ && (access === 0 /* Access.Read */ || (access === 1 /* Access.Write */ && mode === 3 && (flags & 0x42) /* R/W | D */ === 0x42));
}

/**
 * What one translation produced. `Mmu.translate` returns the SAME object every call, overwritten
 * each time: copy the fields you need before translating again.
 */
export class TranslationResult {
  /** True when the access faults (#PF); then `errorCode` and `level` say why and where. */
  fault = false;
  /** Physical address (valid when `fault` is false). */
  pa = 0;
  /** Size of the page mapping `va`: 4096, 2 MiB or 1 GiB (valid when `fault` is false). */
  pageSizeBytes = 0;
  /** Page-fault error code (`PageFaultErrorCode` bits), 0 when no fault. */
  errorCode = 0;
  /**
   * Level of the leaf that mapped the page (1 = PT, 2 = PD, 3 = PDPT), or, for a fault, the level
   * of the entry that stopped the walk (not present / reserved bit) or of the leaf whose rights
   * denied the access. 0 when paging is off.
   */
  level = 0;
  /**
   * Effective flags word (see `PTE`): the leaf's flags with R/W and U/S replaced by their AND over
   * all four levels and NX by its OR (SDM 4.6), A/D as they are after this access.
   * Valid when `fault` is false.
   */
  flags = 0;
  /** True when the TLB answered (no page walk was done). */
  tlbHit = false;
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
  /**
   * All of memory as one Uint32Array (index = pa / 4), when the PhysicalMemory exposes it as
   * `words` (ArrayBufferPhysicalMemory does): the walk then costs one typed-array read per level.
   * Otherwise the walk uses `frameWords(frame)`.
   */
  private readonly flat: Uint32Array | null;

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
   * @param va linear address in [0, 2^48)
   * @returns the shared {@link TranslationResult}, overwritten by the next call
   * @throws InvalidAddressError if `va` is not in [0, 2^48) (a caller bug; the Cpu raises #GP instead)
   */
  translate(va: number, access: Access, mode: Mode): TranslationResult {
    if (!(va >= 0 && va < 281474976710656)) throw badLinear(va); // 2^48
    // Kept tiny so V8 inlines it into the caller's loop: from here on the address travels as two
    // small integers (a double passed to a call V8 does not inline is boxed: an allocation per
    // translation).
    const vaHi = Math.floor(va * (1 / 4294967296));
    return this.translateSplit(vaHi, (va - vaHi * 4294967296) | 0, access, mode);
  }

  /**
   * `translate` for a linear address given as bits 47:32 (`vaHi`) and bits 31:0 (`vaLo`, signed
   * or unsigned 32-bit). Hot-path callers holding split addresses can call it directly.
   */
  translateSplit(vaHi: number, vaLo: number, access: Access, mode: Mode): TranslationResult {
    // Small enough for V8 to inline into the caller (with `translate`): a TLB hit with rights of
    // the quick kind is answered here without a call; the rest goes to translateWalk. Literals
    // instead of named constants: see translateWalk.
    const tlb = this.tlb;
    const regs = this.registers;
    if (tlb !== null && tlb.enabled && !tlb.detectStaleUses && (regs.cr0 & 0x8000_0000) /* CR0.PG */ !== 0 && (regs.cr4 & 0x42_0000) /* PCIDE | PKE */ === 0) {
      // The way the TLB's way predictor names for this page in its set (Tlb.hints); a hit only if its tags
      // are this page's under PCID 0: linear-address bits 43:12 and 47:44 (Tlb.tags, tagsHigh).
      const pageLo = vaLo >>> 12;
      const hash = pageLo ^ (pageLo >>> 12) ^ (vaHi << 8) ^ (vaHi >>> 4); /* Tlb.hash */
      const slot = (hash & tlb.setMask) * tlb.wayCount + tlb.hints[hash & tlb.hintMask]!;
      if (tlb.tags[slot] === ((vaHi << 20) | pageLo) && tlb.tagsHigh[slot] === vaHi >>> 12) {
        const flags = tlb.flags[slot]!;
        if (quickHit(flags, access, mode)) return this.tlbHit(tlb, slot, flags, vaLo);
      }
    }
    return this.translateWalk(vaHi, vaLo, access, mode);
  }

  /** Answers from TLB slot `slot` (rights already checked). */
  private tlbHit(tlb: Tlb, slot: number, flags: number, vaLo: number): TranslationResult {
    tlb.hits++;
    const r = this.result;
    const level = tlb.levels[slot]!;
    r.fault = false;
    r.errorCode = 0;
    r.pa = tlb.frames[slot]! + (vaLo & 0xfff);
    r.flags = flags;
    r.level = level;
    r.pageSizeBytes = level === 1 ? 4096 : level === 2 ? 2097152 : 1073741824;
    r.tlbHit = true;
    return r;
  }

  /**
   * `translateSplit` past a quick TLB hit: the rest of the fast path, else translateFull.
   */
  private translateWalk(vaHi: number, vaLo: number, access: Access, mode: Mode): TranslationResult {
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
    const r = this.result;
    if ((regs.cr0 & 0x8000_0000) === 0 /* CR0.PG */ || (regs.cr4 & 0x42_0000) !== 0 /* CR4.PCIDE | CR4.PKE */) return this.translateFull(vaHi, vaLo, access, mode);
    const tlb = this.tlb;
    const tlbOn = tlb !== null && tlb.enabled;
    if (tlbOn) {
      if (tlb.detectStaleUses) return this.translateFull(vaHi, vaLo, access, mode);
      // The hint was wrong or the rights not of the quick kind: scan the page's set.
      const slot = tlb.findTag(vaHi, vaLo >>> 12);
      if (slot >= 0) {
        const flags = tlb.flags[slot]!;
        if (tlb.tagsHigh[slot] === vaHi >>> 12 && quickHit(flags, access, mode)) return this.tlbHit(tlb, slot, flags, vaLo);
        // Another PCID's entry, a global one, or rights of another kind: the general path.
        return this.translateFull(vaHi, vaLo, access, mode);
      }
      // No entry of the page under any PCID: a miss for sure.
    }
    const w = this.flat;
    const cr3 = regs.cr3Frame;
    if (w === null || cr3 > 0xffff_f000) return this.translateFull(vaHi, vaLo, access, mode);
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
    let flags = (lo & 0xff9) | (andLo & 0x6) | (hi & 0x7ff0_0000) | ((hi4 | hi3 | hi2 | hi) & (0x8000_0000 | 0));
    // Same quick accept as on a TLB hit: a read of a page of the accessing mode's own kind.
    if (!(access === 0 && ((flags & 0x4) !== 0) === (mode === 3)) && this.rightsError(flags, access, mode) !== 0) {
      return this.translateFull(vaHi, vaLo, access, mode);
    }
    // SDM 4.8: A on every entry used, D on the written leaf (one test when all are set).
    const set = access === 1 ? 0x60 /* A | D */ : 0x20; /* A */
    if ((andLo & 0x20) === 0 || (lo & set) !== set) markUsed(w, e4, e3, e2, e1, set);
    flags |= set;
    this.walkCount++;
    const frameHi = hi & maskHi;
    r.tlbHit = false;
    r.fault = false;
    r.errorCode = 0;
    r.pa = frameHi * 4294967296 + (((lo & 0xffff_f000) | (vaLo & 0xfff)) >>> 0);
    r.pageSizeBytes = 4096;
    r.level = 1;
    r.flags = flags;
    if (tlbOn) {
      tlb.misses++;
      tlb.fill(vaHi, vaLo >>> 12, 0, frameHi, lo & 0xffff_f000, flags, 1, (flags & 0x100) /* G */ !== 0 && (regs.cr4 & 0x80) /* CR4.PGE */ !== 0);
    }
    return r;
  }

  /** Every case of `translateSplit`: TLB lookup under the current PCID, walk, fill, faults. */
  private translateFull(vaHi: number, vaLo: number, access: Access, mode: Mode): TranslationResult {
    const regs = this.registers;
    const r = this.result;
    if ((regs.cr0 & CR0.PG) === 0) return this.identity(vaHi * TWO_32 + (vaLo >>> 0), r);
    const tlb = this.tlb;
    if (tlb === null || !tlb.enabled) {
      this.walkCount++;
      this.walkInto(vaHi, vaLo, access, mode, true, true, r);
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
        r.fault = true;
        r.errorCode = this.errorBase(access, mode) | denied;
        r.level = tlb.levels[slot]!;
        r.pa = 0;
        r.pageSizeBytes = 0;
        r.flags = 0;
        r.tlbHit = true;
        // A stale entry that denies what the tables now allow (rights upgraded without INVLPG)
        // causes this "spurious" fault (SDM 4.10.4.3): report it before the fault drops it.
        if (tlb.detectStaleUses) this.checkStale(vaHi * TWO_32 + (vaLo >>> 0), access, mode, pcid, slot, true);
        tlb.invalidatePage(vaHi * TWO_32 + (vaLo >>> 0), pcid);
        return r;
      }
      if (access !== Access.Write || (flags & DIRTY) !== 0) {
        this.tlbHit(tlb, slot, flags, vaLo);
        if (tlb.detectStaleUses) this.checkStale(vaHi * TWO_32 + (vaLo >>> 0), access, mode, pcid, slot, false);
        return r;
      }
      // A write through an entry with D = 0: the CPU walks to set D in memory (SDM 4.8).
    }
    tlb.misses++;
    this.walkCount++;
    this.walkInto(vaHi, vaLo, access, mode, true, true, r);
    if (r.fault) {
      tlb.invalidatePage(vaHi * TWO_32 + (vaLo >>> 0), pcid);
    } else {
      const global = (r.flags & GLOBAL) !== 0 && (regs.cr4 & CR4.PGE) !== 0;
      const piece = r.pa - (vaLo & 0xfff);
      const frameHi = Math.floor(piece * INV_TWO_32);
      tlb.insert(vaHi, pageLo, pcid, frameHi, (piece - frameHi * TWO_32) | 0, r.flags, r.level, global);
    }
    return r;
  }

  /**
   * A page walk that bypasses the TLB (neither consulted nor filled) but otherwise behaves like
   * `translate`: rights checked, A/D set.
   * @returns the shared {@link TranslationResult}
   * @throws InvalidAddressError if `va` is not in [0, 2^48)
   */
  walk(va: number, access: Access, mode: Mode): TranslationResult {
    if (!(va >= 0 && va < LINEAR_LIMIT)) throw badLinear(va);
    if ((this.registers.cr0 & CR0.PG) === 0) return this.identity(va, this.result);
    this.walkCount++;
    const vaHi = Math.floor(va * INV_TWO_32);
    this.walkInto(vaHi, (va - vaHi * TWO_32) | 0, access, mode, true, true, this.result);
    return this.result;
  }

  /**
   * What the tables in memory say about `va` right now, with no side effects: no TLB, no A/D
   * updates, no rights check (faults only for a non-present entry or a reserved bit, reported as
   * for a supervisor read). Used by the stale-entry detector and by debuggers.
   * @returns `probeResult`, overwritten by the next probe
   * @throws InvalidAddressError if `va` is not in [0, 2^48)
   */
  probe(va: number): TranslationResult {
    if (!(va >= 0 && va < LINEAR_LIMIT)) throw badLinear(va);
    if ((this.registers.cr0 & CR0.PG) === 0) return this.identity(va, this.probeResult);
    const vaHi = Math.floor(va * INV_TWO_32);
    this.walkInto(vaHi, (va - vaHi * TWO_32) | 0, Access.Read, Mode.Supervisor, false, false, this.probeResult);
    return this.probeResult;
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
    if (user && access !== Access.Execute && (regs.cr4 & CR4.PKE) !== 0) {
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
    // I/D is reported only when EFER.NXE = 1 or CR4.SMEP = 1 (SDM 4.7).
    else if (access === Access.Execute && ((regs.efer & EFER.NXE) !== 0 || (regs.cr4 & CR4.SMEP) !== 0)) e |= PageFaultErrorCode.InstructionFetch;
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

  /**
   * The 4-level walk (SDM 4.5, Figure 4-8..4-10). `sideEffects` sets A/D (SDM 4.8: A on every
   * entry used — here on table pointers as the walk passes them and on the leaf once the access
   * is allowed; D on the leaf for a write). `checkRights` applies SDM 4.6.
   */
  private walkInto(vaHi: number, vaLo: number, access: Access, mode: Mode, sideEffects: boolean, checkRights: boolean, r: TranslationResult): void {
    this.walkGeneric(vaHi, vaLo, access, mode, sideEffects, checkRights, r);
  }

  /** The walk for every case (any memory, any page size, every fault), one level per iteration. */
  private walkGeneric(vaHi: number, vaLo: number, access: Access, mode: Mode, sideEffects: boolean, checkRights: boolean, r: TranslationResult): void {
    const regs = this.registers;
    const memory = this.memory;
    const maskHi = this.addrMaskHi;
    // Bit 63 (XD) is reserved at every level while EFER.NXE = 0 (SDM 4.5, Tables 4-14..4-20).
    const reservedHi = (regs.efer & EFER.NXE) !== 0 ? this.reservedHi : this.reservedHi | (0x8000_0000 | 0);
    // Indices by integer shifts on the halves: PML4 = bits 47:39, PDPT = 38:30, PD = 29:21,
    // PT = 20:12 (SDM 4.5, Figure 4-8).
    const i4 = (vaHi >>> 7) & 511;
    const i3 = ((vaHi & 0x7f) << 2) | (vaLo >>> 30);
    const i2 = (vaLo >>> 21) & 511;
    const i1 = (vaLo >>> 12) & 511;
    let frame = regs.cr3Frame;
    let andLo = RW | US;
    let orHi = 0;
    r.tlbHit = false;
    const flat = this.flat;
    for (let level = 4; level >= 1; level--) {
      const index = level === 4 ? i4 : level === 3 ? i3 : level === 2 ? i2 : i1;
      // Entry `index` of the table: two u32 words in the flat array or in the frame's view.
      let table: Uint32Array;
      let i: number;
      if (flat !== null) {
        table = flat;
        i = frame * 0.25 + index * 2;
        if (i >= flat.length) {
          this.outside(level);
          return;
        }
      } else {
        table = memory.frameWords(frame);
        i = index * 2;
      }
      const lo = table[i]!;
      const hi = table[i + 1]!;
      if ((lo & P) === 0) {
        this.fault(r, this.errorBase(access, mode), level);
        return;
      }
      if ((hi & reservedHi) !== 0 || (level === 4 && (lo & PS) !== 0)) {
        // Address bits above MAXPHYADDR, NX without NXE, or PS in a PML4E (SDM 4.5, 4.7 RSVD).
        this.fault(r, this.errorBase(access, mode) | PageFaultErrorCode.Present | PageFaultErrorCode.ReservedBit, level);
        return;
      }
      andLo &= lo;
      orHi |= hi;
      if (level === 1 || (lo & PS) !== 0) {
        // A leaf: 4 KiB PTE, 2 MiB PDE or 1 GiB PDPTE. A huge page's frame field must be aligned:
        // bits 20:13 (2 MiB) or 29:13 (1 GiB) are reserved (SDM Tables 4-17, 4-15).
        if ((level === 2 && (lo & 0x001f_e000) !== 0) || (level === 3 && (lo & 0x3fff_e000) !== 0)) {
          this.fault(r, this.errorBase(access, mode) | PageFaultErrorCode.Present | PageFaultErrorCode.ReservedBit, level);
          return;
        }
        let flags = (lo & (level === 1 ? 0xfff & ~(RW | US) : 0x1fff & ~(RW | US))) | (andLo & (RW | US)) | (hi & 0x7ff0_0000) | (orHi & (0x8000_0000 | 0));
        if (checkRights) {
          const denied = this.rightsError(flags, access, mode);
          if (denied !== 0) {
            this.fault(r, this.errorBase(access, mode) | denied, level);
            return;
          }
        }
        if (sideEffects) {
          const set = access === Access.Write ? ACCESSED | DIRTY : ACCESSED;
          if ((lo & set) !== set) table[i] = lo | set;
          flags |= set;
        }
        // Page base from the entry, offset from va: bits 11:0, 20:0 or 29:0.
        const offsetMask = level === 1 ? 0xfff : level === 2 ? 0x1f_ffff : 0x3fff_ffff;
        r.fault = false;
        r.errorCode = 0;
        r.pa = (hi & maskHi) * TWO_32 + ((lo & ~offsetMask) >>> 0) + (vaLo & offsetMask);
        r.pageSizeBytes = offsetMask + 1;
        r.level = level;
        r.flags = flags;
        return;
      }
      if (sideEffects && (lo & ACCESSED) === 0) table[i] = lo | ACCESSED;
      frame = (hi & maskHi) * TWO_32 + (lo - (lo & 0xfff));
    }
  }

  /** A table pointer led outside the flat memory: the caller's tables are broken (misuse). */
  private outside(level: number): never {
    throw new PhysicalAccessError(-1, PAGE * level);
  }

  private fault(r: TranslationResult, errorCode: number, level: number): void {
    r.fault = true;
    r.errorCode = errorCode;
    r.level = level;
    r.pa = 0;
    r.pageSizeBytes = 0;
    r.flags = 0;
  }

  /**
   * Debugging mode: compares a TLB hit with the tables in memory and reports a difference.
   * `cachedFault`: the cached rights denied the access (the Mmu is about to fault).
   */
  private checkStale(va: number, access: Access, mode: Mode, pcid: number, slot: number, cachedFault: boolean): void {
    const tlb = this.tlb!;
    const cachedPa = tlb.frames[slot]! + (va % PAGE);
    const cachedFlags = tlb.flags[slot]!;
    const level = tlb.levels[slot]!;
    const cachedPageSizeBytes = level === 1 ? PAGE : level === 2 ? 2097152 : 1073741824;
    const p = this.probe(va);
    const mask = (this.registers.cr4 & CR4.PKE) !== 0 ? HARDWARE_FLAGS | PKEY_FLAGS : HARDWARE_FLAGS;
    const stale =
      p.fault ||
      p.pa !== cachedPa ||
      p.pageSizeBytes !== cachedPageSizeBytes ||
      ((p.flags ^ cachedFlags) & mask) !== 0 ||
      // Software cleared D without INVLPG: later writes through this entry will not set it again.
      ((cachedFlags & DIRTY) !== 0 && (p.flags & DIRTY) === 0);
    if (!stale) return;
    tlb.reportStaleUse({
      va,
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
      description: describeStaleUse(va, access, mode, cachedPa, p.fault, p.pa, cachedFault),
    });
  }
}
