// One logical processor, as far as memory is concerned: the register file, an MMU with its TLB,
// loads/stores/fetches through them in every paging mode, and exception delivery for #PF
// (vector 14) and #GP (vector 13). A handler answers 'retry' (re-execute the access, as IRETQ
// returns to the faulting instruction) or 'abort'. Mode changes through writeCr0 / writeCr4 /
// writeEfer follow the hardware's rules (SDM vol. 3A 2.5, 4.1.2, 4.4.1, 10.8.5); an illegal one
// is a #GP and changes nothing.
import { show } from './show-value';
import { InvalidAddressError, InvalidOptionError, type PhysicalMemory } from './api';
import { Access, Mode } from './access-mode';
import { CR0, CR3, CR4, checkCr3, ControlRegisters, type ControlRegistersInit, EFER, InvalidControlRegisterError, InvalidPdpteError, RFLAGS, withLma } from './control-registers';
import {
  type FaultAnswer,
  FaultNestingError,
  GeneralProtectionFault,
  type GeneralProtectionInfo,
  PageFaultAbortedError,
  type PageFaultInfo,
  RepeatedPageFaultError,
  UnhandledPageFaultError,
} from './faults';
import { Mmu, type TranslationResult } from './mmu';
import { decodePageFaultErrorCode, type DecodedPageFaultErrorCode } from './page-fault-error-code';
import { PagingMode, pagingModeName, pagingModeOf } from './paging-mode';
import { type InvpcidType, Tlb, type TlbOptions } from './tlb';
import { brand } from './brand';

const PAGE = 4096;
const TWO_32 = 4294967296;

/**
 * Decoded error codes, built the first time a code is delivered and shared (frozen) by every later
 * fault with that code. The Mmu only raises codes below 256 (P, W/R, U/S, RSVD, I/D, PK), so the
 * table stays tiny; delivering a fault then builds no description string and no decoded object (a
 * demand-paging kernel takes one #PF per page, and building them was ~5 % of its time in GC).
 */
const decodedCodes = new Array<DecodedPageFaultErrorCode | undefined>(256).fill(undefined);

function decodedErrorCode(errorCode: number): DecodedPageFaultErrorCode {
  if (errorCode >= 256) return decodePageFaultErrorCode(errorCode);
  return (decodedCodes[errorCode] ??= Object.freeze(decodePageFaultErrorCode(errorCode)));
}

/** A #PF handler (vector 14). It may change tables, registers and memory, then answer. */
export type PageFaultHandler = (fault: PageFaultInfo, cpu: Cpu) => FaultAnswer;
/** A #GP handler (vector 13). */
export type GeneralProtectionHandler = (fault: GeneralProtectionInfo, cpu: Cpu) => FaultAnswer;

/**
 * An address as the Cpu accepts it, by paging mode:
 * - 4-level: a number is the 48-bit linear form in [0, 2^48) (an integer at or above 2^48 is a
 *   64-bit value whose high bits are not a sign extension: #GP); a bigint is the 64-bit form
 *   (canonical or not: a non-canonical one raises #GP);
 * - 5-level: a number is the 57-bit linear form, exact below 2^53 (the lower half); a bigint is
 *   the 64-bit form, canonical when bits 63:57 equal bit 56 (else #GP);
 * - 32-bit, PAE, no paging: an offset in a flat 4 GiB segment, number or bigint; an access whose
 *   last byte lies at or above 2^32 is beyond the segment limit: #GP (SDM vol. 3A 5.3), never a wrap.
 * Anything else (a string, null, an object, a fraction, a negative number) is a caller bug:
 * InvalidAddressError.
 */
export type CpuAddress = number | bigint;

/** Options of {@link Cpu}. */
export interface CpuOptions {
  /** Physical memory holding page tables and data. */
  readonly memory: PhysicalMemory;
  /** Initial registers (CR3 frame, CR0, CR4, EFER, RFLAGS, PKRU, MAXPHYADDR). */
  readonly registers?: ControlRegistersInit;
  /** TLB geometry, or `false` for a CPU without a TLB. Default: 256 sets × 8 ways (see `TlbOptions`). */
  readonly tlb?: TlbOptions | false;
  /** Privilege of accesses that do not name one; default `Mode.Supervisor`. */
  readonly mode?: Mode;
  /** Retries of one access that may fault again before `RepeatedPageFaultError`; default 8. */
  readonly maxRepeatedFaults?: number;
  /** Fault handlers that may be running inside each other before `FaultNestingError`; default 8. */
  readonly maxNestedFaults?: number;
}

/** Saved address-space state for a context switch (see `Cpu.saveContext`). */
export interface CpuContext {
  /** PML4 frame (CR3 bits 51:12). */
  readonly cr3Frame: number;
  /** CR3 bits 11:0 (the PCID with CR4.PCIDE = 1). */
  readonly cr3Low: number;
  /** Privilege level to return to. */
  readonly mode: Mode;
  /** RFLAGS. */
  readonly rflags: number;
}

/** Options of `Cpu.writeCr3`. */
export interface WriteCr3Options {
  /** CR3 bits 11:0: the PCID when CR4.PCIDE = 1 (else PWT/PCD); default 0. */
  readonly pcid?: number;
  /**
   * Bit 63 of the MOV-to-CR3 operand (CR4.PCIDE = 1 only): keep the new PCID's TLB entries
   * instead of flushing them (SDM 4.10.4.1). Default false.
   */
  readonly noFlush?: boolean;
}

/**
 * A CPU core's memory path. Every load, store and fetch is translated by `mmu` (through `tlb`)
 * in `mode` (or the mode passed in); a fault is delivered to the vector-14 handler with CR2 set,
 * and the access is retried or abandoned as the handler answers. Multi-byte accesses that cross
 * a page are checked on both pages before any byte moves, like one x86 instruction.
 *
 * Register writes with TLB side effects go through methods (SDM 4.10.4.1): `writeCr3`,
 * `writeCr4`, `writeCr0`, `invlpg`, `invpcid`.
 */
export class Cpu {
  static {
    brand(this, 'Cpu'); // instanceof across the import and require copies (brand.ts)
  }
  /** Physical memory. */
  readonly memory: PhysicalMemory;
  /** The register file (CR0, CR3, CR4, EFER, RFLAGS, PKRU). */
  readonly registers: ControlRegisters;
  /** The TLB, or null for a CPU without one. */
  readonly tlb: Tlb | null;
  /** The MMU (translations go through the TLB). */
  readonly mmu: Mmu;
  /** Current privilege: accesses that do not name a mode use it. */
  mode: Mode;
  /** CR2: linear address of the last page fault (NaN for a 5-level address at or above 2^53: see `cr2Hi` / `cr2Lo`). */
  cr2 = 0;
  /** CR2 bits 56:32 (47:32 in 4-level paging, 0 in 32-bit and PAE paging). */
  cr2Hi = 0;
  /** CR2 bits 31:0 (unsigned). */
  cr2Lo = 0;
  /** Error code of the last page fault. */
  lastErrorCode = 0;
  /** Page faults raised so far (each delivery counts, retries included). */
  pageFaultCount = 0;
  /** #GP exceptions raised so far. */
  generalProtectionCount = 0;
  /** Retries of one access that may fault again before `RepeatedPageFaultError`. */
  readonly maxRepeatedFaults: number;
  /** Nested handler depth allowed before `FaultNestingError`. */
  readonly maxNestedFaults: number;
  private pageFaultHandler: PageFaultHandler | null = null;
  private gpHandler: GeneralProtectionHandler | null = null;
  private handlerDepth = 0;
  // Result of `resolve`: first piece's pa and length, second piece's pa (for page-crossing accesses).
  private pa1 = 0;
  private len1 = 0;
  private pa2 = 0;
  // Result of `toLinear`: the access's linear address, bits 56:32 and 31:0 (unsigned).
  private linHi = 0;
  private linLo = 0;

  /** @throws InvalidOptionError / InvalidControlRegisterError for bad options */
  constructor(options: CpuOptions) {
    const maxRepeatedFaults = options.maxRepeatedFaults ?? 8;
    const maxNestedFaults = options.maxNestedFaults ?? 8;
    if (!Number.isInteger(maxRepeatedFaults) || maxRepeatedFaults < 0) throw new InvalidOptionError('maxRepeatedFaults', maxRepeatedFaults, 'must be a non-negative integer');
    if (!Number.isInteger(maxNestedFaults) || maxNestedFaults < 1) throw new InvalidOptionError('maxNestedFaults', maxNestedFaults, 'must be a positive integer');
    const mode = options.mode ?? Mode.Supervisor;
    if (mode !== Mode.Supervisor && mode !== Mode.User) throw new InvalidOptionError('mode', mode, 'must be Mode.Supervisor or Mode.User');
    const registers = new ControlRegisters(options.registers);
    const tlb = options.tlb === false ? null : new Tlb(options.tlb);
    this.memory = options.memory;
    this.registers = registers;
    this.tlb = tlb;
    this.mmu = new Mmu(options.memory, registers, { tlb });
    this.mode = mode;
    this.maxRepeatedFaults = maxRepeatedFaults;
    this.maxNestedFaults = maxNestedFaults;
    // A CPU that starts in PAE paging has loaded its PDPTE registers from CR3 (SDM 4.4.1).
    if (registers.pagingMode === PagingMode.Pae) registers.loadPdptes(options.memory);
  }

  /** The paging mode in force (SDM 4.1.1), from CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57. */
  get pagingMode(): PagingMode {
    const r = this.registers;
    return pagingModeOf(r.cr0, r.cr4, r.efer);
  }

  // --- exception vectors ---------------------------------------------------------------------

  /**
   * Registers the handler for vector 14 (#PF) or 13 (#GP); `null` removes it.
   * @throws InvalidOptionError for any other vector
   */
  setHandler(vector: 14, handler: PageFaultHandler | null): void;
  setHandler(vector: 13, handler: GeneralProtectionHandler | null): void;
  setHandler(vector: 13 | 14, handler: PageFaultHandler | GeneralProtectionHandler | null): void {
    if (vector === 14) this.pageFaultHandler = handler as PageFaultHandler | null;
    else if (vector === 13) this.gpHandler = handler as GeneralProtectionHandler | null;
    else throw new InvalidOptionError('vector', vector, 'only 13 (#GP) and 14 (#PF) are delivered');
  }

  /** Same as `setHandler(14, handler)`. */
  onPageFault(handler: PageFaultHandler | null): void {
    this.pageFaultHandler = handler;
  }

  /** Same as `setHandler(13, handler)`. */
  onGeneralProtection(handler: GeneralProtectionHandler | null): void {
    this.gpHandler = handler;
  }

  // --- translation ---------------------------------------------------------------------------

  /**
   * Translates without delivering anything (no handler, CR2 untouched): the MMU's shared result.
   * Takes a {@link CpuAddress} like the loads and stores.
   * @throws InvalidAddressError if `va` is not an address of the mode (non-canonical, past 4 GiB,
   *   not a number or bigint), or `access` / `mode` are not Access / Mode values
   */
  translate(va: CpuAddress, access: Access, mode: Mode = this.mode): TranslationResult {
    checkAccessMode(access, mode);
    if (!this.toLinear(va, 1)) throw new InvalidAddressError(describeAddress(va), `not a linear address in ${pagingModeName(this.pagingMode)} paging`);
    return this.mmu.translateSplit(this.linHi, this.linLo | 0, access, mode);
  }

  // --- loads, stores, fetches ----------------------------------------------------------------

  /** Reads the byte at `va`. @throws see {@link Cpu.read32} */
  read8(va: CpuAddress, mode: Mode = this.mode): number {
    return this.load(va, 1, Access.Read, mode);
  }
  /** Reads the little-endian u16 at `va`. @throws see {@link Cpu.read32} */
  read16(va: CpuAddress, mode: Mode = this.mode): number {
    return this.load(va, 2, Access.Read, mode);
  }
  /**
   * Reads the little-endian u32 at `va` (any alignment; may cross a page).
   * @throws UnhandledPageFaultError, PageFaultAbortedError, RepeatedPageFaultError, FaultNestingError
   *   when a page fault is not resolved; GeneralProtectionFault for a non-canonical address;
   *   InvalidAddressError for a negative or fractional number
   */
  read32(va: CpuAddress, mode: Mode = this.mode): number {
    return this.load(va, 4, Access.Read, mode);
  }
  /** Reads the little-endian u64 at `va` as a bigint (not a hot path). @throws see {@link Cpu.read32} */
  read64(va: CpuAddress, mode: Mode = this.mode): bigint {
    this.resolve(va, 8, Access.Read, mode);
    return (BigInt(this.loadResolved(4, 4)) << 32n) | BigInt(this.loadResolved(0, 4));
  }
  /** Fetches the instruction byte at `va` (an execute access). @throws see {@link Cpu.read32} */
  fetch8(va: CpuAddress, mode: Mode = this.mode): number {
    return this.load(va, 1, Access.Execute, mode);
  }
  /** Fetches 2 instruction bytes (little-endian) at `va`. @throws see {@link Cpu.read32} */
  fetch16(va: CpuAddress, mode: Mode = this.mode): number {
    return this.load(va, 2, Access.Execute, mode);
  }
  /** Fetches 4 instruction bytes (little-endian) at `va`. @throws see {@link Cpu.read32} */
  fetch32(va: CpuAddress, mode: Mode = this.mode): number {
    return this.load(va, 4, Access.Execute, mode);
  }
  /** Writes the low 8 bits of `value` at `va`. @throws see {@link Cpu.read32} */
  write8(va: CpuAddress, value: number, mode: Mode = this.mode): void {
    this.store(va, 1, value, mode);
  }
  /** Writes the low 16 bits of `value` at `va`, little-endian. @throws see {@link Cpu.read32} */
  write16(va: CpuAddress, value: number, mode: Mode = this.mode): void {
    this.store(va, 2, value, mode);
  }
  /** Writes the low 32 bits of `value` at `va`, little-endian. @throws see {@link Cpu.read32} */
  write32(va: CpuAddress, value: number, mode: Mode = this.mode): void {
    this.store(va, 4, value, mode);
  }
  /** Writes the low 64 bits of `value` at `va`, little-endian. @throws see {@link Cpu.read32} */
  write64(va: CpuAddress, value: bigint, mode: Mode = this.mode): void {
    if (typeof value !== 'bigint') throw new InvalidOptionError('value', value, 'write64 takes a bigint');
    this.resolve(va, 8, Access.Write, mode);
    const v = BigInt.asUintN(64, value);
    this.storeResolved(0, 4, Number(v & 0xffff_ffffn));
    this.storeResolved(4, 4, Number(v >> 32n));
  }

  /**
   * Copies `dst.length` bytes from `va` into `dst` (like `copy_from_user`: page by page, each
   * page translated once; a fault on a later page leaves earlier bytes copied).
   * @throws see {@link Cpu.read32}
   */
  readBytes(va: CpuAddress, dst: Uint8Array, mode: Mode = this.mode): void {
    if (!(dst instanceof Uint8Array)) throw new InvalidOptionError('dst', dst, 'must be a Uint8Array');
    this.linear(va, Math.max(1, dst.length), Access.Read, mode);
    let hi = this.linHi;
    let lo = this.linLo;
    let done = 0;
    while (done < dst.length) {
      const chunk = Math.min(dst.length - done, PAGE - (lo % PAGE));
      this.resolveLinear(hi, lo, chunk, Access.Read, mode);
      for (let i = 0; i < chunk; i++) dst[done + i] = this.memory.read8(this.pa1 + i);
      done += chunk;
      lo += chunk;
      if (lo >= TWO_32) {
        lo -= TWO_32;
        hi = this.nextHi(hi);
      }
    }
  }

  /**
   * Copies `src` to `va` (like `copy_to_user`: page by page; a fault on a later page leaves
   * earlier pages written).
   * @throws see {@link Cpu.read32}
   */
  writeBytes(va: CpuAddress, src: Uint8Array, mode: Mode = this.mode): void {
    if (!(src instanceof Uint8Array)) throw new InvalidOptionError('src', src, 'must be a Uint8Array');
    this.linear(va, Math.max(1, src.length), Access.Write, mode);
    let hi = this.linHi;
    let lo = this.linLo;
    let done = 0;
    while (done < src.length) {
      const chunk = Math.min(src.length - done, PAGE - (lo % PAGE));
      this.resolveLinear(hi, lo, chunk, Access.Write, mode);
      for (let i = 0; i < chunk; i++) this.memory.write8(this.pa1 + i, src[done + i]!);
      done += chunk;
      lo += chunk;
      if (lo >= TWO_32) {
        lo -= TWO_32;
        hi = this.nextHi(hi);
      }
    }
  }

  // --- registers and TLB control -------------------------------------------------------------

  /**
   * MOV to CR3 (SDM 4.10.4.1). With CR4.PCIDE = 0: loads the top-level table and flushes every
   * non-global TLB entry. With CR4.PCIDE = 1: switches to PCID `pcid`; unless `noFlush` (bit 63
   * of the operand), the new PCID's non-global entries are flushed; entries of other PCIDs stay
   * either way, so a kernel reusing a PCID for another address space must not pass `noFlush`.
   *
   * By mode: 4-/5-level — `frame` is the PML4 / PML5 frame. 32-bit — the page directory, below
   * 4 GiB. PAE — the page-directory-pointer table: a 32-byte aligned address below 4 GiB (CR3
   * bits 31:5), whose four PDPTEs are loaded into the PDPTE registers now (SDM 4.4.1); a present
   * PDPTE with a reserved bit is a #GP and leaves CR3, the registers and the TLB unchanged.
   * @throws InvalidControlRegisterError for a misaligned / too-high frame, a PCID outside 0..4095,
   *   or `noFlush` while CR4.PCIDE = 0; ControlRegisterFault (#GP) for a bad PDPTE
   */
  writeCr3(frame: number, options: WriteCr3Options = {}): void {
    const regs = this.registers;
    const pagingMode = this.pagingMode;
    if (pagingMode === PagingMode.Pae && typeof frame === 'number' && frame % 4096 !== 0) {
      // PAE: CR3 bits 31:5 hold the PDPT address; bits 11:5 travel in cr3Low.
      if (!(Number.isInteger(frame) && frame >= 0 && frame < TWO_32 && frame % 32 === 0)) throw new InvalidControlRegisterError('CR3', frame, 'in PAE paging CR3 holds a 32-byte aligned PDPT address below 2^32');
      this.writeCr3(frame - (frame % 4096), { ...options, pcid: (options.pcid ?? 0) | (frame % 4096) });
      return;
    }
    const low = options.pcid ?? 0;
    const noFlush = options.noFlush ?? false;
    checkCr3(frame, low, regs.maxPhysAddrBits);
    const pcide = (regs.cr4 & CR4.PCIDE) !== 0;
    if (noFlush && !pcide) throw new InvalidControlRegisterError('CR3', frame, 'bit 63 (no flush) requires CR4.PCIDE = 1');
    if ((pagingMode === PagingMode.ThirtyTwoBit || pagingMode === PagingMode.Pae) && frame >= TWO_32) {
      throw new InvalidControlRegisterError('CR3', frame, `${pagingModeName(pagingMode)} paging: CR3 is a 32-bit register`);
    }
    const oldFrame = regs.cr3Frame;
    const oldLow = regs.cr3Low;
    regs.cr3Frame = frame;
    regs.cr3Low = low;
    if (pagingMode === PagingMode.Pae) {
      const loaded = this.tryLoadPdptes();
      if (loaded !== null) {
        regs.cr3Frame = oldFrame;
        regs.cr3Low = oldLow;
        this.registerGp('CR3', frame, loaded.message);
        return;
      }
    }
    const tlb = this.tlb;
    if (tlb === null) return;
    if (!pcide) tlb.flushNonGlobal();
    else if (!noFlush) tlb.flushNonGlobal(low & CR3.PCID_MASK);
  }

  /**
   * MOV to CR3 with the raw 64-bit operand: bits 51:12 frame, 11:0 PCID/PWT/PCD, bit 63 no-flush.
   * @throws InvalidControlRegisterError for reserved bits 62:MAXPHYADDR set, or as `writeCr3`
   */
  writeCr3Raw(value: bigint): void {
    if (typeof value !== 'bigint') throw new InvalidControlRegisterError('CR3', Number.NaN, 'writeCr3Raw takes the 64-bit operand as a bigint');
    const v = BigInt.asUintN(64, value);
    const noFlush = (v >> 63n) === 1n;
    const frame = Number((v >> 12n) & ((1n << BigInt(this.registers.maxPhysAddrBits - 12)) - 1n)) * PAGE;
    if ((v & ~(1n << 63n)) >> BigInt(this.registers.maxPhysAddrBits) !== 0n) {
      throw new InvalidControlRegisterError('CR3', Number(v & 0xf_ffff_ffff_ffffn), `bits 62:${this.registers.maxPhysAddrBits} are reserved`);
    }
    this.writeCr3(frame, { pcid: Number(v & 0xfffn), noFlush });
  }

  /**
   * MOV to CR4 (SDM 4.10.4.1): changing PGE, PAE, PSE or LA57, or clearing PCIDE, flushes the whole
   * TLB (global entries too); setting SMEP flushes the current PCID's entries. In PAE paging a
   * change of PAE, PGE, PSE or SMEP reloads the PDPTE registers (SDM 4.4.1).
   * #GP, nothing changed (SDM 4.1.2, 4.10.1, MOV to CR4): clearing PAE or changing LA57 while
   * EFER.LMA = 1; setting PCIDE while CR3[11:0] ≠ 0 or outside IA-32e mode; a bad PDPTE.
   * @throws InvalidControlRegisterError for a non-32-bit value; ControlRegisterFault for a #GP
   */
  writeCr4(value: number): void {
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) throw new InvalidControlRegisterError('CR4', value, 'must be a 32-bit integer');
    const regs = this.registers;
    const old = regs.cr4;
    const next = value | 0;
    const changed = old ^ next;
    const settingPcide = (old & CR4.PCIDE) === 0 && (next & CR4.PCIDE) !== 0;
    const lma = (regs.efer & EFER.LMA) !== 0;
    if (settingPcide && (regs.cr3Low & 0xfff) !== 0) return this.registerGp('CR4', value, 'PCIDE may be set only while CR3[11:0] = 0');
    if (settingPcide && !lma) return this.registerGp('CR4', value, 'PCIDE requires IA-32e mode (EFER.LMA = 1)');
    if (lma && (next & CR4.PAE) === 0) return this.registerGp('CR4', value, 'CR4.PAE cannot be cleared while IA-32e paging is active (SDM 4.1.2)');
    if (lma && (changed & CR4.LA57) !== 0) return this.registerGp('CR4', value, 'CR4.LA57 cannot change while EFER.LMA = 1: leave IA-32e mode first (SDM 4.1.2)');
    const pcidBefore = regs.pcid;
    regs.cr4 = next;
    if ((changed & (CR4.PAE | CR4.PGE | CR4.PSE | CR4.SMEP)) !== 0 && this.pagingMode === PagingMode.Pae) {
      const failed = this.tryLoadPdptes();
      if (failed !== null) {
        regs.cr4 = old;
        return this.registerGp('CR4', value, failed.message);
      }
    }
    const tlb = this.tlb;
    if (tlb === null) return;
    if ((changed & (CR4.PGE | CR4.PAE | CR4.PSE | CR4.LA57)) !== 0 || ((old & CR4.PCIDE) !== 0 && (next & CR4.PCIDE) === 0)) tlb.flushAll();
    else if ((old & CR4.SMEP) === 0 && (next & CR4.SMEP) !== 0) tlb.flushAll(pcidBefore);
  }

  /**
   * MOV to CR0. Changing PG flushes the TLB (paging on/off changes every translation); EFER.LMA
   * becomes EFER.LME AND CR0.PG (SDM 10.8.5). Entering PAE paging loads the PDPTE registers.
   * #GP, nothing changed (SDM 2.5, 4.1.2): PG = 1 with PE = 0; setting PG while EFER.LME = 1 and
   * CR4.PAE = 0; a bad PDPTE. (Clearing PG is allowed in every mode, as from compatibility mode:
   * the Cpu does not model code segments.)
   * @throws InvalidControlRegisterError for a non-32-bit value; ControlRegisterFault for a #GP
   */
  writeCr0(value: number): void {
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) throw new InvalidControlRegisterError('CR0', value, 'must be a 32-bit integer');
    const regs = this.registers;
    const old = regs.cr0;
    const next = value | 0;
    if ((next & CR0.PG) !== 0 && (next & CR0.PE) === 0) return this.registerGp('CR0', value, 'CR0.PG = 1 requires CR0.PE = 1');
    if ((next & CR0.PG) !== 0 && (old & CR0.PG) === 0 && (regs.efer & EFER.LME) !== 0 && (regs.cr4 & CR4.PAE) === 0) {
      return this.registerGp('CR0', value, 'paging cannot be enabled while EFER.LME = 1 and CR4.PAE = 0 (SDM 4.1.2)');
    }
    const oldEfer = regs.efer;
    regs.cr0 = next;
    regs.efer = withLma(next, regs.efer);
    // SDM 4.4.1: the PDPTEs are loaded when MOV to CR0 changes PG (or CD / NW) into PAE paging.
    if (((old ^ next) & (CR0.PG | (1 << 30) | (1 << 29))) !== 0 && this.pagingMode === PagingMode.Pae) {
      const failed = this.tryLoadPdptes();
      if (failed !== null) {
        regs.cr0 = old;
        regs.efer = oldEfer;
        return this.registerGp('CR0', value, failed.message);
      }
    }
    if (((old ^ next) & CR0.PG) !== 0) this.tlb?.flushAll();
  }

  /**
   * WRMSR IA32_EFER (low 32 bits). LMA is read-only (kept as the processor has it). NXE takes
   * effect on the next translation. #GP, nothing changed: changing LME while CR0.PG = 1 (SDM 4.1.2).
   * @throws InvalidControlRegisterError for a non-32-bit value; ControlRegisterFault for a #GP
   */
  writeEfer(value: number): void {
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) throw new InvalidControlRegisterError('EFER', value, 'must be a 32-bit integer');
    const regs = this.registers;
    if ((regs.cr0 & CR0.PG) !== 0 && ((regs.efer ^ value) & EFER.LME) !== 0) return this.registerGp('EFER', value, 'EFER.LME cannot change while paging is enabled (SDM 4.1.2)');
    regs.efer = ((value | 0) & ~EFER.LMA) | (regs.efer & EFER.LMA);
  }

  /** STAC: sets RFLAGS.AC, letting the kernel touch user pages under SMAP. */
  stac(): void {
    this.registers.rflags |= RFLAGS.AC;
  }

  /** CLAC: clears RFLAGS.AC. */
  clac(): void {
    this.registers.rflags &= ~RFLAGS.AC;
  }

  /**
   * WRPKRU: sets the protection-key rights register (2 bits per key: AD, WD).
   * @throws InvalidControlRegisterError for a non-32-bit value
   */
  wrpkru(value: number): void {
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) throw new InvalidControlRegisterError('PKRU', value, 'must be a 32-bit integer');
    this.registers.pkru = value | 0;
  }

  /**
   * INVLPG (SDM 4.10.4.1): drops the TLB entries of the page containing `va` for the current
   * PCID, and global ones for it. A non-canonical address (or one past 4 GiB in the 32-bit modes)
   * is a no-op, as on hardware.
   * @throws InvalidAddressError if `va` is not a number or bigint, or is a negative or fractional number
   */
  invlpg(va: CpuAddress): void {
    if (!this.toLinear(va, 1)) return;
    this.tlb?.invalidatePageSplit(this.linHi, this.linLo | 0, this.registers.pcid);
  }

  /**
   * INVPCID (types 0-3, see `InvpcidType`). `va` (type 0) is a {@link CpuAddress}; a
   * non-canonical one raises #GP(0), as on hardware (SDM vol. 2 INVPCID).
   * @throws InvalidOptionError for a bad type or PCID; InvalidAddressError for a `va` that is
   *   not an address; GeneralProtectionFault for a non-canonical `va` of type 0
   */
  invpcid(type: InvpcidType, pcid: number, va: CpuAddress = 0): void {
    if (type !== 0 && type !== 1 && type !== 2 && type !== 3) throw new InvalidOptionError('type', type, 'INVPCID type must be 0..3');
    if (!Number.isInteger(pcid) || pcid < 0 || pcid > 0xfff) throw new InvalidOptionError('pcid', pcid, 'a PCID is an integer in 0..4095');
    if (type === 0) {
      this.linear(va, 1, Access.Read, this.mode);
      if (this.tlb !== null) this.tlb.invalidatePageSplit(this.linHi, this.linLo | 0, pcid, true);
      return;
    }
    this.tlb?.invpcid(type, pcid, 0);
  }

  // --- context switch ------------------------------------------------------------------------

  /** The address-space state to restore later with `restoreContext`. */
  saveContext(): CpuContext {
    const r = this.registers;
    return { cr3Frame: r.cr3Frame, cr3Low: r.cr3Low, mode: this.mode, rflags: r.rflags };
  }

  /**
   * Restores a saved context: CR3 (with `noFlush` when CR4.PCIDE = 1 and `keepTlb`, else the
   * usual MOV-to-CR3 flush), the mode and RFLAGS.
   * @throws InvalidControlRegisterError as `writeCr3`
   */
  restoreContext(context: CpuContext, keepTlb = false): void {
    const pcide = (this.registers.cr4 & CR4.PCIDE) !== 0;
    this.writeCr3(context.cr3Frame, { pcid: context.cr3Low, noFlush: keepTlb && pcide });
    this.mode = context.mode;
    this.registers.rflags = context.rflags | 0;
  }

  /**
   * Switches to another address space: CR3 := `pml4Frame` (with `pcid` when CR4.PCIDE = 1).
   * With PCIDs the new PCID's entries are kept unless `flush` (a PCID reused for a different
   * address space needs `flush: true`); without PCIDs every non-global entry is flushed.
   * @throws InvalidControlRegisterError as `writeCr3`
   */
  switchAddressSpace(pml4Frame: number, pcid = 0, flush = false): void {
    const pcide = (this.registers.cr4 & CR4.PCIDE) !== 0;
    this.writeCr3(pml4Frame, { pcid, noFlush: pcide && !flush });
  }

  /** @throws InvariantViolationError / InvalidControlRegisterError on inconsistent state */
  checkInvariants(): void {
    this.registers.checkInvariants();
    this.tlb?.checkInvariants();
    if (this.handlerDepth !== 0 && this.handlerDepth > this.maxNestedFaults) throw new InvalidOptionError('handlerDepth', this.handlerDepth, 'exceeds maxNestedFaults');
  }

  // --- internals -----------------------------------------------------------------------------

  /**
   * Loads the PDPTE registers from the PDPT CR3 names (PAE paging, SDM 4.4.1): null when done,
   * else the error (registers unchanged).
   */
  private tryLoadPdptes(): InvalidPdpteError | null {
    try {
      this.registers.loadPdptes(this.memory);
      return null;
    } catch (e) {
      if (e instanceof InvalidPdpteError) return e;
      throw e;
    }
  }

  /**
   * A #GP(0) raised by MOV to a control register or WRMSR: counted and delivered to the vector-13
   * handler (which cannot make the same MOV succeed: whatever it answers, the write is abandoned),
   * then thrown as a ControlRegisterFault. The registers are as before the write.
   */
  private registerGp(register: string, value: number, reason: string): never {
    this.generalProtectionCount++;
    const info: GeneralProtectionInfo = { vector: 13, errorCode: 0, address: `0x${(value >>> 0).toString(16)}`, access: Access.Write, mode: this.mode, attempt: 1, register, reason };
    const handler = this.gpHandler;
    if (handler !== null) this.callHandler(handler, info);
    throw new ControlRegisterFault(info);
  }

  /**
   * Sets linHi / linLo to the linear address of an access of `byteCount` bytes at `va` in the
   * current paging mode. False when the access must raise #GP: a non-canonical address or one
   * that crosses into the non-canonical range (long modes), or bytes beyond 0xffff_ffff (the
   * 4 GiB limit of the flat segment in the 32-bit modes, SDM 5.3).
   * @throws InvalidAddressError for anything that is not an address at all
   */
  private toLinear(va: CpuAddress, byteCount: number): boolean {
    const regs = this.registers;
    const pagingMode = pagingModeOf(regs.cr0, regs.cr4, regs.efer);
    let hi: number;
    let lo: number;
    if (typeof va === 'number') {
      if (!(Number.isSafeInteger(va) && va >= 0)) throw new InvalidAddressError(show(va), 'an address number must be a non-negative safe integer (use a bigint for the 64-bit form)');
      hi = Math.floor(va / TWO_32);
      lo = va - hi * TWO_32;
      if (pagingMode === PagingMode.FourLevel) {
        // Linear 2^47..2^48 is the canonical upper half (its 64-bit form sign-extends bit 47);
        // a number at or above 2^48 is a 64-bit value that is not.
        if (hi >= 0x1_0000 || (hi < 0x8000 && va + byteCount > 0x8000_0000_0000)) return false;
      } else if (pagingMode !== PagingMode.FiveLevel && va + byteCount > TWO_32) {
        return false;
      }
    } else if (typeof va === 'bigint') {
      const v = BigInt.asUintN(64, va);
      if (v !== va) return false;
      if (pagingMode === PagingMode.FourLevel || pagingMode === PagingMode.FiveLevel) {
        const bits = pagingMode === PagingMode.FourLevel ? 47n : 56n;
        const top = v >> bits;
        const ones = (1n << (64n - bits)) - 1n;
        if (top !== 0n && top !== ones) return false;
        const linear = v & ((1n << (bits + 1n)) - 1n);
        // The last byte must be canonical too: crossing 2^47 (2^56) leaves the lower half.
        if (top === 0n && linear + BigInt(byteCount) > 1n << bits) return false;
        hi = Number(linear >> 32n);
        lo = Number(linear & 0xffff_ffffn);
      } else {
        if (v + BigInt(byteCount) > 0x1_0000_0000n) return false;
        hi = 0;
        lo = Number(v);
      }
    } else {
      throw new InvalidAddressError(describeAddress(va), 'an address is a number or a bigint');
    }
    this.linHi = hi;
    this.linLo = lo;
    return true;
  }

  /** Sets linHi / linLo for an access of `byteCount` bytes, raising #GP while the address is not usable. */
  private linear(va: CpuAddress, byteCount: number, access: Access, mode: Mode): void {
    if (this.isPlainLinear(va, byteCount)) return;
    for (let attempt = 1; ; attempt++) {
      if (this.toLinear(va, byteCount)) return;
      this.raiseGp(va, access, mode, attempt);
    }
  }

  /** vaHi of the page after the top of a 2^32 block: wraps at the top of the linear space (2^48, 2^57). */
  private nextHi(hi: number): number {
    const limit = this.pagingMode === PagingMode.FiveLevel ? 0x200_0000 : 0x1_0000;
    return hi + 1 === limit ? 0 : hi + 1;
  }

  private raiseGp(va: CpuAddress, access: Access, mode: Mode, attempt: number): void {
    this.generalProtectionCount++;
    const address = typeof va === 'bigint' ? `0x${BigInt.asUintN(64, va).toString(16)}` : `0x${va.toString(16)}`;
    const longMode = (this.registers.efer & EFER.LMA) !== 0 && (this.registers.cr0 & CR0.PG) !== 0;
    const info: GeneralProtectionInfo = { vector: 13, errorCode: 0, address, access, mode, attempt, reason: longMode ? 'non-canonical address' : 'an offset beyond the 4 GiB segment limit' };
    const handler = this.gpHandler;
    if (handler === null || attempt > this.maxRepeatedFaults) throw new GeneralProtectionFault(info);
    const answer = this.callHandler(handler, info);
    if (answer === 'abort') throw new GeneralProtectionFault(info);
  }

  /**
   * Translates the (at most two) pages an access of `byteCount` ≤ 4096 bytes touches, delivering
   * faults and retrying until both translate; leaves pa1/len1/pa2 set. Nothing is read or
   * written before both pages are known good.
   */
  private resolve(va: CpuAddress, byteCount: number, access: Access, mode: Mode): void {
    checkAccessMode(access, mode);
    this.linear(va, byteCount, access, mode);
    this.resolveLinear(this.linHi, this.linLo, byteCount, access, mode);
  }

  /**
   * `resolve` for the linear address `hi:lo` (lo unsigned). An access inside one page that
   * translates at the first try is answered here — small, so V8 inlines it, and the MMU's TLB
   * probe with it, into the loads and stores; a fault or a page-crossing access goes on in
   * `resolveLoop`, which carries on from the fault already taken rather than translating again.
   */
  private resolveLinear(hi: number, lo: number, byteCount: number, access: Access, mode: Mode): void {
    if ((lo & 0xfff) + byteCount <= 4096) {
      const r = this.mmu.translateSplit(hi, lo | 0, access, mode);
      if (!r.fault) {
        this.pa1 = r.pa;
        this.len1 = byteCount;
        return;
      }
      this.deliverPageFault(hi, lo, r.errorCode, r.level, access, mode, 1);
      this.resolveLoop(hi, lo, byteCount, access, mode, 1, hi, lo);
      return;
    }
    this.resolveLoop(hi, lo, byteCount, access, mode, 0, -1, -1);
  }

  /**
   * Translates until both pages of the access do, delivering each fault; `attempt`, `lastHi` and
   * `lastLo` count the deliveries for the same address so far (a repeated fault's attempt number).
   */
  private resolveLoop(hi: number, lo: number, byteCount: number, access: Access, mode: Mode, attempt: number, lastHi: number, lastLo: number): void {
    const mmu = this.mmu;
    for (;;) {
      const inPage = PAGE - (lo & 0xfff);
      let r = mmu.translateSplit(hi, lo | 0, access, mode);
      let faultHi = hi;
      let faultLo = lo;
      if (!r.fault) {
        this.pa1 = r.pa;
        if (byteCount <= inPage) {
          this.len1 = byteCount;
          return;
        }
        faultLo = lo + inPage;
        if (faultLo >= TWO_32) {
          faultLo -= TWO_32;
          faultHi = this.nextHi(hi);
        }
        r = mmu.translateSplit(faultHi, faultLo | 0, access, mode);
        if (!r.fault) {
          this.len1 = inPage;
          this.pa2 = r.pa;
          return;
        }
      }
      attempt = faultHi === lastHi && faultLo === lastLo ? attempt + 1 : 1;
      lastHi = faultHi;
      lastLo = faultLo;
      this.deliverPageFault(faultHi, faultLo, r.errorCode, r.level, access, mode, attempt);
    }
  }

  private deliverPageFault(hi: number, lo: number, errorCode: number, level: number, access: Access, mode: Mode, attempt: number): void {
    const va = hi < 0x20_0000 ? hi * TWO_32 + lo : Number.NaN;
    this.cr2 = va;
    this.cr2Hi = hi;
    this.cr2Lo = lo;
    this.lastErrorCode = errorCode;
    this.pageFaultCount++;
    const info: PageFaultInfo = { vector: 14, cr2: va, cr2Hi: hi, cr2Lo: lo, pagingMode: this.pagingMode, errorCode, decoded: decodedErrorCode(errorCode), level, access, mode, attempt };
    if (attempt > this.maxRepeatedFaults + 1) throw new RepeatedPageFaultError(info, this.maxRepeatedFaults);
    const handler = this.pageFaultHandler;
    if (handler === null) throw new UnhandledPageFaultError(info);
    if (this.handlerDepth >= this.maxNestedFaults) throw new FaultNestingError(info, this.handlerDepth);
    if (this.callHandler(handler, info) === 'abort') throw new PageFaultAbortedError(info);
  }

  /**
   * Calls a fault handler with its depth counted (a #GP is never refused for depth; the #PF path
   * checks it first) and checks its answer. The handler is called directly, not through a
   * closure: a demand-paging run delivers a #PF per fault, and a closure (with its context) per
   * delivery was garbage on that path.
   */
  private callHandler<I>(handler: (fault: I, cpu: Cpu) => FaultAnswer, info: I): FaultAnswer {
    this.handlerDepth++;
    let answer: FaultAnswer;
    try {
      answer = handler(info, this);
    } finally {
      this.handlerDepth--;
    }
    if (answer !== 'retry' && answer !== 'abort') throw new InvalidOptionError('handler answer', answer, "a fault handler must return 'retry' or 'abort'");
    return answer;
  }

  /** Reads `n` ≤ 4 bytes starting `offset` bytes into the resolved access, little-endian. */
  private loadResolved(offset: number, n: number): number {
    const memory = this.memory;
    if (offset + n <= this.len1) {
      const pa = this.pa1 + offset;
      if (n === 4 && pa % 4 === 0) return memory.read32(pa);
    }
    let v = 0;
    for (let i = n - 1; i >= 0; i--) {
      const k = offset + i;
      v = v * 256 + memory.read8(k < this.len1 ? this.pa1 + k : this.pa2 + (k - this.len1));
    }
    return v;
  }

  private storeResolved(offset: number, n: number, value: number): void {
    const memory = this.memory;
    if (offset + n <= this.len1) {
      const pa = this.pa1 + offset;
      if (n === 4 && pa % 4 === 0) {
        memory.write32(pa, value >>> 0);
        return;
      }
    }
    let v = value >>> 0;
    for (let i = 0; i < n; i++) {
      const k = offset + i;
      memory.write8(k < this.len1 ? this.pa1 + k : this.pa2 + (k - this.len1), v & 0xff);
      v = Math.floor(v / 256);
    }
  }

  private load(va: CpuAddress, n: number, access: Access, mode: Mode): number {
    this.resolve(va, n, access, mode);
    return this.loadResolved(0, n);
  }

  private store(va: CpuAddress, n: number, value: number, mode: Mode): void {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new InvalidOptionError('value', value, 'must be a safe integer (its low bits are written)');
    this.resolve(va, n, Access.Write, mode);
    this.storeResolved(0, n, value);
  }

  /**
   * True, with linHi / linLo set, for the common address: an integer whose `n` bytes stay in one
   * page, below 2^32 in any paging mode, or below 2^47 in 4-level and 5-level paging (EFER.LMA).
   * Such an address is its own linear address and never a #GP — inside the 4 GiB flat segment of
   * the 32-bit modes (SDM 5.3), in the lower canonical half of the long modes (SDM 3.3.7.1) — so
   * the access goes straight to the translation, without `toLinear`'s checks for every other kind
   * of address (bigints, the upper half, page-crossing accesses, non-integers), which were most of
   * a TLB hit's cost through the Cpu. Anything else: false, and `toLinear` decides.
   */
  private isPlainLinear(va: CpuAddress, n: number): boolean {
    if (typeof va !== 'number' || !(va >= 0 && va < 140737488355328) /* 2^47 */ || (va & 0xfff) + n > 4096) return false;
    const hi = (va * (1 / 4294967296)) | 0; // exact, below 2^15: truncation is the floor (see Mmu.translate)
    const lo = va - hi * 4294967296;
    if (lo >>> 0 !== lo || (hi !== 0 && (this.registers.efer & 0x400) /* EFER.LMA */ === 0)) return false;
    this.linHi = hi;
    this.linLo = lo;
    return true;
  }
}

/** A value as a caller wrote it, for an error message (never throws, whatever the value). */
function describeAddress(va: unknown): string {
  if (typeof va === 'bigint') return `0x${BigInt.asUintN(64, va).toString(16)}`;
  if (typeof va === 'number' || typeof va === 'string') return JSON.stringify(va) ?? show(va);
  return `<${va === null ? 'null' : typeof va}>`;
}

/** @throws InvalidOptionError unless `access` is an Access value and `mode` a Mode value */
function checkAccessMode(access: Access, mode: Mode): void {
  if (access !== 0 && access !== 1 && access !== 2) throw new InvalidOptionError('access', access, 'must be Access.Read, Access.Write or Access.Execute');
  if (mode !== 0 && mode !== 3) throw new InvalidOptionError('mode', mode, 'must be Mode.Supervisor or Mode.User');
}

/**
 * A #GP(0) raised by an illegal MOV to CR0 / CR3 / CR4 or WRMSR IA32_EFER (SDM 2.5, 4.1.2, 4.4.1):
 * the write did not happen. An InvalidControlRegisterError, carrying the #GP as delivered.
 */
export class ControlRegisterFault extends InvalidControlRegisterError {
  /** @param fault The #GP as delivered. */
  constructor(readonly fault: GeneralProtectionInfo) {
    super(fault.register ?? 'register', Number.parseInt(fault.address, 16), `#GP(0): ${fault.reason ?? 'illegal value'}`);
  }
}
