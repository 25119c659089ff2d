// Property: Mmu.walk / Mmu.translate agree with a tiny reference walk written straight from the
// SDM text (BigInt over whole 64-bit entries, one rule per line), for random entries at every
// level, random CR0.WP / EFER.NXE / CR4.SMEP / SMAP / PKE / RFLAGS.AC / PKRU, access and mode —
// both on flat memory (the MMU's fast path) and on memory seen only through the PhysicalMemory port.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Access, ArrayBufferPhysicalMemory, ControlRegisters, CR0, CR4, EFER, Mmu, Mode, RFLAGS, Tlb } from '../src/index';
import { portOnly } from './port-only-memory';

const TABLE_FRAME = [0, 0x1000, 0x2000, 0x3000, 0x4000]; // by level: PT=4 KiB.. PML4=16 KiB... (index = level)

interface EntrySpec {
  lo: number; // flag bits 0..12 (P forced by `present`)
  present: boolean;
  leafFrame: number; // random address for a leaf (in 4 KiB units), may be misaligned for huge pages
  nx: boolean;
  reservedHigh: boolean; // an address bit at or above MAXPHYADDR
  validHigh: boolean; // an address bit below MAXPHYADDR (bit 36) in a leaf
  pkey: number;
  osHigh: number; // bits 52..58
}

const entryArb: fc.Arbitrary<EntrySpec> = fc.record({
  lo: fc.integer({ min: 0, max: 0x1fff }),
  present: fc.integer({ min: 0, max: 15 }).map((n) => n !== 0),
  leafFrame: fc.integer({ min: 0, max: 0x3_ffff }),
  nx: fc.boolean(),
  reservedHigh: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  validHigh: fc.boolean(),
  pkey: fc.integer({ min: 0, max: 15 }),
  osHigh: fc.integer({ min: 0, max: 127 }),
});

interface Regs {
  wp: boolean;
  nxe: boolean;
  smep: boolean;
  smap: boolean;
  ac: boolean;
  pke: boolean;
  pkru: number;
  maxPhys: number;
}
const regsArb: fc.Arbitrary<Regs> = fc.record({
  wp: fc.boolean(),
  nxe: fc.boolean(),
  smep: fc.boolean(),
  smap: fc.boolean(),
  ac: fc.boolean(),
  pke: fc.boolean(),
  pkru: fc.integer({ min: 0, max: 0xffff_ffff }),
  maxPhys: fc.constantFrom(40, 46),
});

/** The 64-bit entry for `level` on the path; non-leaf entries point at the next table frame. */
function entryValue(spec: EntrySpec, level: number, maxPhys: number): bigint {
  let e = BigInt(spec.lo & ~1) | (spec.present ? 1n : 0n);
  const isLeafShape = level === 1 || (level !== 4 && (spec.lo & 0x80) !== 0);
  if (isLeafShape) {
    e |= BigInt(spec.leafFrame) << 12n;
    if (spec.validHigh) e |= 1n << 36n;
  } else {
    e &= ~0x1000n; // bit 12 is an address bit of a table pointer
    e |= BigInt(TABLE_FRAME[level - 1]!);
  }
  if (spec.reservedHigh) e |= 1n << BigInt(maxPhys + 1);
  if (spec.nx) e |= 1n << 63n;
  e |= BigInt(spec.pkey) << 59n;
  e |= BigInt(spec.osHigh) << 52n;
  return e;
}

interface Outcome {
  fault: boolean;
  errorCode: number;
  level: number;
  pa: number;
  pageSizeBytes: number;
  flags: number;
  after: bigint[]; // entries after the access, index = level
}

/** Reference walk: SDM vol. 3A 4.5 (structure), 4.6 (rights), 4.7 (error code), 4.8 (A/D). */
function reference(entries: bigint[], r: Regs, va: bigint, access: Access, mode: Mode): Outcome {
  const after = entries.slice();
  const write = access === Access.Write;
  const fetch = access === Access.Execute;
  const user = mode === Mode.User;
  let code = (write ? 2 : 0) | (user ? 4 : 0) | (fetch && (r.nxe || r.smep) ? 16 : 0);
  let rw = true;
  let us = true;
  let xd = false;
  for (let level = 4; level >= 1; level--) {
    const e = entries[level]!;
    if ((e & 1n) === 0n) return { fault: true, errorCode: code, level, pa: 0, pageSizeBytes: 0, flags: 0, after };
    const ps = (e & 0x80n) !== 0n;
    const leaf = level === 1 || (level < 4 && ps);
    let reserved = ((e >> BigInt(r.maxPhys)) & ((1n << BigInt(52 - r.maxPhys)) - 1n)) !== 0n; // bits 51:MAXPHYADDR
    if (!r.nxe && e >> 63n === 1n) reserved = true; // XD reserved without NXE
    if (level === 4 && ps) reserved = true; // PS reserved in a PML4E
    if (leaf && level === 2 && (e & 0x1f_e000n) !== 0n) reserved = true; // 2 MiB frame alignment
    if (leaf && level === 3 && (e & 0x3fff_e000n) !== 0n) reserved = true; // 1 GiB frame alignment
    if (reserved) return { fault: true, errorCode: code | 1 | 8, level, pa: 0, pageSizeBytes: 0, flags: 0, after };
    rw &&= (e & 2n) !== 0n;
    us &&= (e & 4n) !== 0n;
    xd ||= r.nxe && e >> 63n === 1n;
    if (!leaf) {
      after[level] = e | 0x20n;
      continue;
    }
    // SDM 4.6.1
    let allowed: boolean;
    if (user) {
      allowed = us && (write ? rw : fetch ? !xd : true);
    } else if (fetch) {
      allowed = !xd && !(r.smep && us);
    } else if (us && r.smap && !r.ac) {
      allowed = false;
    } else {
      allowed = write ? !r.wp || rw : true;
    }
    // SDM 4.6.2
    let pk = false;
    if (r.pke && us && !fetch) {
      const key = Number((e >> 59n) & 15n);
      const ad = (r.pkru >>> (2 * key)) & 1;
      const wd = (r.pkru >>> (2 * key + 1)) & 1;
      pk = ad === 1 || (wd === 1 && write && (user || r.wp));
    }
    if (!allowed || pk) {
      if (pk) code |= 32;
      return { fault: true, errorCode: code | 1, level, pa: 0, pageSizeBytes: 0, flags: 0, after };
    }
    const sizeBits = BigInt(12 + 9 * (level - 1));
    const addrMask = ((1n << 52n) - 1n) & ~((1n << sizeBits) - 1n);
    const leafAfter = e | 0x20n | (write ? 0x40n : 0n);
    after[level] = leafAfter;
    const lowMask = level === 1 ? 0xfffn : 0x1fffn;
    let flags = Number(leafAfter & lowMask & ~6n) | (rw ? 2 : 0) | (us ? 4 : 0);
    flags |= Number((leafAfter >> 32n) & 0x7ff0_0000n);
    if (xd || e >> 63n === 1n) flags |= 0x8000_0000 | 0;
    return {
      fault: false,
      errorCode: 0,
      level,
      pa: Number((e & addrMask) + (va & ((1n << sizeBits) - 1n))),
      pageSizeBytes: 2 ** Number(sizeBits),
      flags: flags | 0,
      after,
    };
  }
  throw new Error('unreachable');
}

function runCase(specs: EntrySpec[], r: Regs, vaHi: number, vaLo: number, access: Access, mode: Mode, flat: boolean, useTlb: boolean) {
  const va = vaHi * 4294967296 + vaLo;
  const vaBig = BigInt(va);
  const memory = new ArrayBufferPhysicalMemory(0x5000);
  const entries: bigint[] = [0n];
  for (let level = 1; level <= 4; level++) entries.push(entryValue(specs[level - 1]!, level, r.maxPhys));
  const slot = (level: number) => TABLE_FRAME[level]! + Number((vaBig >> BigInt(12 + 9 * (level - 1))) & 511n) * 8;
  for (let level = 1; level <= 4; level++) {
    memory.write32(slot(level), Number(entries[level]! & 0xffff_ffffn));
    memory.write32(slot(level) + 4, Number(entries[level]! >> 32n));
  }
  const regs = new ControlRegisters({
    cr3Frame: TABLE_FRAME[4]!,
    cr0: CR0.PE | CR0.PG | (r.wp ? CR0.WP : 0),
    cr4: CR4.PAE | (r.smep ? CR4.SMEP : 0) | (r.smap ? CR4.SMAP : 0) | (r.pke ? CR4.PKE : 0),
    efer: EFER.LME | EFER.LMA | (r.nxe ? EFER.NXE : 0),
    rflags: r.ac ? RFLAGS.AC : 0,
    pkru: r.pkru,
    maxPhysAddrBits: r.maxPhys,
  });
  const mmu = new Mmu(flat ? memory : portOnly(memory), regs, { tlb: useTlb ? new Tlb() : null });
  const got = useTlb ? mmu.translate(va, access, mode) : mmu.walk(va, access, mode);
  const want = reference(entries, r, vaBig, access, mode);
  expect({ fault: got.fault, errorCode: got.errorCode, level: got.level }).toEqual({ fault: want.fault, errorCode: want.errorCode, level: want.level });
  if (!want.fault) expect({ pa: got.pa, pageSizeBytes: got.pageSizeBytes, flags: got.flags }).toEqual({ pa: want.pa, pageSizeBytes: want.pageSizeBytes, flags: want.flags });
  for (let level = 1; level <= 4; level++) {
    const now = BigInt(memory.read32(slot(level))) | (BigInt(memory.read32(slot(level) + 4)) << 32n);
    expect(now, `entry at level ${level} after the access`).toBe(want.after[level]);
  }
  if (useTlb) mmu.tlb!.checkInvariants();
}

const caseArb = fc.tuple(
  fc.array(entryArb, { minLength: 4, maxLength: 4 }),
  regsArb,
  fc.integer({ min: 0, max: 0xffff }),
  fc.integer({ min: 0, max: 0xffff_ffff }),
  fc.constantFrom(Access.Read, Access.Write, Access.Execute),
  fc.constantFrom(Mode.Supervisor, Mode.User),
);

describe('Mmu (property: agrees with a reference walk written from the SDM)', () => {
  it('walk on flat memory', () => {
    fc.assert(fc.property(caseArb, ([specs, r, hi, lo, access, mode]) => runCase(specs, r, hi, lo, access, mode, true, false)), { numRuns: 4000 });
  });

  it('walk through the PhysicalMemory port only', () => {
    fc.assert(fc.property(caseArb, ([specs, r, hi, lo, access, mode]) => runCase(specs, r, hi, lo, access, mode, false, false)), { numRuns: 3000 });
  });

  it('translate with an empty TLB (the miss path)', () => {
    fc.assert(fc.property(caseArb, ([specs, r, hi, lo, access, mode]) => runCase(specs, r, hi, lo, access, mode, true, true)), { numRuns: 2000 });
  });

  // The miss path on memory without flat words walks a table view at a time (translateWalkFrames):
  // the same faults, error codes, levels and A/D bits (SDM 4.5, 4.7, 4.8) as the reference.
  it('translate with an empty TLB through the PhysicalMemory port only', () => {
    fc.assert(fc.property(caseArb, ([specs, r, hi, lo, access, mode]) => runCase(specs, r, hi, lo, access, mode, false, true)), { numRuns: 2000 });
  });
});
