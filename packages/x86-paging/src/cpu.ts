// One logical processor, as far as memory is concerned: the register file, an MMU with its TLB,
// loads/stores/fetches through them, and exception delivery for #PF (vector 14) and #GP
// (vector 13). A handler answers 'retry' (re-execute the access, as IRETQ returns to the
// faulting instruction) or 'abort'.
import { InvalidAddressError, InvalidOptionError, type PhysicalMemory } from './api';
import { Access, Mode } from './access-mode';
import { CR0, CR3, CR4, checkCr3, ControlRegisters, type ControlRegistersInit, InvalidControlRegisterError, RFLAGS } from './control-registers';
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
import { type InvpcidType, Tlb, type TlbOptions } from './tlb';

const PAGE = 4096;
const TWO_47 = 140737488355328;
const LINEAR_LIMIT = 281474976710656;

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
 * An address as the Cpu accepts it: a number is the 48-bit linear form in [0, 2^48) (an integer
 * at or above 2^48 is a 64-bit value whose high bits are not a sign extension: #GP); a bigint is
 * the 64-bit form (canonical or not: a non-canonical one raises #GP).
 */
export type CpuAddress = number | bigint;

/** Options of {@link Cpu}. */
export interface CpuOptions {
  /** Physical memory holding page tables and data. */
  readonly memory: PhysicalMemory;
  /** Initial registers (CR3 frame, CR0, CR4, EFER, RFLAGS, PKRU, MAXPHYADDR). */
  readonly registers?: ControlRegistersInit;
  /** TLB geometry, or `false` for a CPU without a TLB. Default: 1024 sets × 2 ways (see `TlbOptions`). */
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
  /** CR2: linear address of the last page fault. */
  cr2 = 0;
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
   * @throws InvalidAddressError if `va` is not in [0, 2^48)
   */
  translate(va: number, access: Access, mode: Mode = this.mode): TranslationResult {
    return this.mmu.translate(va, access, mode);
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
    let lin = this.linear(va, Math.max(1, dst.length), Access.Read, mode);
    let done = 0;
    while (done < dst.length) {
      const chunk = Math.min(dst.length - done, PAGE - (lin % PAGE));
      this.resolve(lin, chunk, Access.Read, mode);
      for (let i = 0; i < chunk; i++) dst[done + i] = this.memory.read8(this.pa1 + i);
      done += chunk;
      lin = (lin + chunk) % LINEAR_LIMIT;
    }
  }

  /**
   * Copies `src` to `va` (like `copy_to_user`: page by page; a fault on a later page leaves
   * earlier pages written).
   * @throws see {@link Cpu.read32}
   */
  writeBytes(va: CpuAddress, src: Uint8Array, mode: Mode = this.mode): void {
    let lin = this.linear(va, Math.max(1, src.length), Access.Write, mode);
    let done = 0;
    while (done < src.length) {
      const chunk = Math.min(src.length - done, PAGE - (lin % PAGE));
      this.resolve(lin, chunk, Access.Write, mode);
      for (let i = 0; i < chunk; i++) this.memory.write8(this.pa1 + i, src[done + i]!);
      done += chunk;
      lin = (lin + chunk) % LINEAR_LIMIT;
    }
  }

  // --- registers and TLB control -------------------------------------------------------------

  /**
   * MOV to CR3 (SDM 4.10.4.1). With CR4.PCIDE = 0: loads the PML4 frame and flushes every
   * non-global TLB entry. With CR4.PCIDE = 1: switches to PCID `pcid`; unless `noFlush`
   * (bit 63 of the operand), the new PCID's non-global entries are flushed; entries of other
   * PCIDs stay either way, so a kernel reusing a PCID for another address space must not pass
   * `noFlush`.
   * @throws InvalidControlRegisterError for a misaligned / too-high frame, a PCID outside 0..4095,
   *   or `noFlush` while CR4.PCIDE = 0 (#GP on hardware)
   */
  writeCr3(pml4Frame: number, options: WriteCr3Options = {}): void {
    const low = options.pcid ?? 0;
    const noFlush = options.noFlush ?? false;
    const regs = this.registers;
    checkCr3(pml4Frame, low, regs.maxPhysAddrBits);
    const pcide = (regs.cr4 & CR4.PCIDE) !== 0;
    if (noFlush && !pcide) throw new InvalidControlRegisterError('CR3', pml4Frame, 'bit 63 (no flush) requires CR4.PCIDE = 1');
    regs.cr3Frame = pml4Frame;
    regs.cr3Low = low;
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
    const v = BigInt.asUintN(64, value);
    const noFlush = (v >> 63n) === 1n;
    const frame = Number((v >> 12n) & ((1n << BigInt(this.registers.maxPhysAddrBits - 12)) - 1n)) * PAGE;
    if ((v & ~(1n << 63n)) >> BigInt(this.registers.maxPhysAddrBits) !== 0n) {
      throw new InvalidControlRegisterError('CR3', Number(v & 0xf_ffff_ffff_ffffn), `bits 62:${this.registers.maxPhysAddrBits} are reserved`);
    }
    this.writeCr3(frame, { pcid: Number(v & 0xfffn), noFlush });
  }

  /**
   * MOV to CR4 (SDM 4.10.4.1): changing PGE, or clearing PCIDE, flushes the whole TLB (global
   * entries too); setting SMEP flushes the current PCID's entries.
   * @throws InvalidControlRegisterError for a non-32-bit value, or setting PCIDE while CR3[11:0] ≠ 0
   *   or outside IA-32e mode (#GP on hardware)
   */
  writeCr4(value: number): void {
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) throw new InvalidControlRegisterError('CR4', value, 'must be a 32-bit integer');
    const regs = this.registers;
    const old = regs.cr4;
    const next = value | 0;
    const settingPcide = (old & CR4.PCIDE) === 0 && (next & CR4.PCIDE) !== 0;
    if (settingPcide && (regs.cr3Low & 0xfff) !== 0) throw new InvalidControlRegisterError('CR4', value, 'PCIDE may be set only while CR3[11:0] = 0');
    if (settingPcide && !this.longModeActive()) throw new InvalidControlRegisterError('CR4', value, 'PCIDE requires IA-32e mode (EFER.LMA = 1)');
    const pcidBefore = regs.pcid;
    regs.cr4 = next;
    const tlb = this.tlb;
    if (tlb === null) return;
    if (((old ^ next) & CR4.PGE) !== 0 || ((old & CR4.PCIDE) !== 0 && (next & CR4.PCIDE) === 0)) tlb.flushAll();
    else if ((old & CR4.SMEP) === 0 && (next & CR4.SMEP) !== 0) tlb.flushAll(pcidBefore);
  }

  /**
   * MOV to CR0. Changing PG flushes the TLB (paging on/off changes every translation).
   * @throws InvalidControlRegisterError for a non-32-bit value
   */
  writeCr0(value: number): void {
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) throw new InvalidControlRegisterError('CR0', value, 'must be a 32-bit integer');
    const old = this.registers.cr0;
    this.registers.cr0 = value | 0;
    if (((old ^ value) & CR0.PG) !== 0) this.tlb?.flushAll();
  }

  /**
   * WRMSR IA32_EFER (low 32 bits). No TLB effect; NXE takes effect on the next translation.
   * @throws InvalidControlRegisterError for a non-32-bit value
   */
  writeEfer(value: number): void {
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) throw new InvalidControlRegisterError('EFER', value, 'must be a 32-bit integer');
    this.registers.efer = value | 0;
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
   * PCID, and global ones for it. A non-canonical address is a no-op, as on hardware.
   * @throws InvalidAddressError for a negative or fractional number
   */
  invlpg(va: CpuAddress): void {
    const lin = this.toLinear(va);
    if (lin < 0) return;
    this.tlb?.invalidatePage(lin, this.registers.pcid);
  }

  /**
   * INVPCID (types 0-3, see `InvpcidType`).
   * @throws InvalidOptionError for a bad type or PCID
   */
  invpcid(type: InvpcidType, pcid: number, va = 0): void {
    this.tlb?.invpcid(type, pcid, va);
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

  private longModeActive(): boolean {
    return (this.registers.efer & (1 << 10)) !== 0;
  }

  /** Linear form of an address, or -1 when it is not canonical. @throws InvalidAddressError */
  private toLinear(va: CpuAddress): number {
    if (typeof va === 'number') {
      if (va >= 0 && va < LINEAR_LIMIT && Number.isInteger(va)) return va;
      if (!Number.isSafeInteger(va) || va < 0) throw new InvalidAddressError(String(va), 'an address number must be a non-negative safe integer (use a bigint for the 64-bit form)');
      return -1;
    }
    const v = BigInt.asUintN(64, va);
    if (v !== va) return -1;
    const top = v >> 47n;
    if (top === 0n) return Number(v);
    if (top === 0x1ffffn) return Number(v - 0xffff_0000_0000_0000n);
    return -1;
  }

  /** Linear address of an access of `byteCount` bytes, raising #GP if any byte is non-canonical. */
  private linear(va: CpuAddress, byteCount: number, access: Access, mode: Mode): number {
    for (let attempt = 1; ; attempt++) {
      const lin = this.toLinear(va);
      // The last byte must be canonical too: crossing linear 2^47 leaves the lower half (#GP).
      if (lin >= 0 && !(lin < TWO_47 && lin + byteCount > TWO_47)) return lin;
      this.raiseGp(va, access, mode, attempt);
    }
  }

  private raiseGp(va: CpuAddress, access: Access, mode: Mode, attempt: number): void {
    this.generalProtectionCount++;
    const address = typeof va === 'bigint' ? `0x${BigInt.asUintN(64, va).toString(16)}` : `0x${va.toString(16)}`;
    const info: GeneralProtectionInfo = { vector: 13, errorCode: 0, address, access, mode, attempt };
    const handler = this.gpHandler;
    if (handler === null || attempt > this.maxRepeatedFaults) throw new GeneralProtectionFault(info);
    const answer = this.callHandler(() => handler(info, this), null);
    if (answer === 'abort') throw new GeneralProtectionFault(info);
  }

  /**
   * Translates the (at most two) pages an access of `byteCount` ≤ 4096 bytes touches, delivering
   * faults and retrying until both translate; leaves pa1/len1/pa2 set. Nothing is read or
   * written before both pages are known good.
   */
  private resolve(va: CpuAddress, byteCount: number, access: Access, mode: Mode): void {
    const lin = this.linear(va, byteCount, access, mode);
    let attempt = 0;
    let lastFault = -1;
    for (;;) {
      const inPage = PAGE - (lin % PAGE);
      let r = this.mmu.translate(lin, access, mode);
      let faultVa = lin;
      if (!r.fault) {
        this.pa1 = r.pa;
        if (byteCount <= inPage) {
          this.len1 = byteCount;
          return;
        }
        faultVa = (lin + inPage) % LINEAR_LIMIT;
        r = this.mmu.translate(faultVa, access, mode);
        if (!r.fault) {
          this.len1 = inPage;
          this.pa2 = r.pa;
          return;
        }
      }
      attempt = faultVa === lastFault ? attempt + 1 : 1;
      lastFault = faultVa;
      this.deliverPageFault(faultVa, r.errorCode, r.level, access, mode, attempt);
    }
  }

  private deliverPageFault(va: number, errorCode: number, level: number, access: Access, mode: Mode, attempt: number): void {
    this.cr2 = va;
    this.lastErrorCode = errorCode;
    this.pageFaultCount++;
    const info: PageFaultInfo = { vector: 14, cr2: va, errorCode, decoded: decodedErrorCode(errorCode), level, access, mode, attempt };
    if (attempt > this.maxRepeatedFaults + 1) throw new RepeatedPageFaultError(info, this.maxRepeatedFaults);
    const handler = this.pageFaultHandler;
    if (handler === null) throw new UnhandledPageFaultError(info);
    const answer = this.callHandler(() => handler(info, this), info);
    if (answer === 'abort') throw new PageFaultAbortedError(info);
  }

  private callHandler(run: () => FaultAnswer, info: PageFaultInfo | null): FaultAnswer {
    if (this.handlerDepth >= this.maxNestedFaults && info !== null) throw new FaultNestingError(info, this.handlerDepth);
    this.handlerDepth++;
    let answer: FaultAnswer;
    try {
      answer = run();
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
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidOptionError('value', value, 'must be a finite number');
    this.resolve(va, n, Access.Write, mode);
    this.storeResolved(0, n, value);
  }
}
