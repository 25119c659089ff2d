// Property: in 32-bit, PAE and 5-level paging, Mmu.walk / Mmu.translate agree with reference walks
// written straight from the SDM (BigInt over whole entries, one rule per line): SDM vol. 3A 4.3
// (32-bit), 4.4 (PAE), 4.5 (5-level), 4.6 (rights), 4.7 (error code), 4.8 (A/D). Random entries
// at every level of one path, random CR0.WP / CR4.PSE / SMEP / SMAP / PKE / EFER.NXE / RFLAGS.AC /
// MAXPHYADDR, access and mode; flat memory and the PhysicalMemory port, each walked by Mmu.walk
// and by the TLB's miss path (translate). The entries left in memory (A/D) are compared after
// every access.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Access, ArrayBufferPhysicalMemory, ControlRegisters, CR0, CR4, EFER, Mmu, Mode, RFLAGS, Tlb } from '../src/index';
import { portOnly } from './port-only-memory';

interface Regs {
  wp: boolean;
  pse: boolean;
  nxe: boolean;
  smep: boolean;
  smap: boolean;
  ac: boolean;
  pke: boolean;
  maxPhys: number;
}
const regsArb: fc.Arbitrary<Regs> = fc.record({
  wp: fc.boolean(),
  pse: fc.boolean(),
  nxe: fc.boolean(),
  smep: fc.boolean(),
  smap: fc.boolean(),
  ac: fc.boolean(),
  pke: fc.boolean(),
  maxPhys: fc.constantFrom(32, 36, 40, 46, 52),
});

/** One random 64-bit entry: low flags, present most of the time, random address and high bits. */
interface Raw {
  flags: number; // bits 12:0 (P forced by `present`)
  present: boolean;
  frame: number; // address bits 31:12 (20 bits)
  high: number; // bits 63:32 as a random pattern, kept or dropped per `useHigh`
  useHigh: number; // 0: none, 1: address bits below 36 only, 2: a bit at MAXPHYADDR or above, 3: NX, 4: random bits 62:52
}
const rawArb: fc.Arbitrary<Raw> = fc.record({
  flags: fc.integer({ min: 0, max: 0x1fff }),
  present: fc.integer({ min: 0, max: 11 }).map((n) => n !== 0),
  frame: fc.integer({ min: 0, max: 0xf_ffff }),
  high: fc.integer({ min: 0, max: 0xffff_ffff }),
  useHigh: fc.integer({ min: 0, max: 6 }).map((n) => (n > 4 ? 0 : n)),
});

function highBits(raw: Raw, maxPhys: number): bigint {
  switch (raw.useHigh) {
    case 1:
      return BigInt(raw.high & 0xf) << 32n; // address bits 35:32 (always below MAXPHYADDR 36+)
    case 2:
      return 1n << BigInt(maxPhys + (raw.high % (52 - maxPhys + 1 || 1)) - (maxPhys === 52 ? 0 : 0)) & ((1n << 64n) - 1n);
    case 3:
      return 1n << 63n;
    case 4:
      return BigInt(raw.high & 0x7ff) << 52n;
    default:
      return 0n;
  }
}

interface Outcome {
  fault: boolean;
  errorCode: number;
  level: number;
  pa: number;
  pageSizeBytes: number;
  flags: number;
}

const E_P = 1;
const E_W = 2;
const E_U = 4;
const E_RSVD = 8;
const E_ID = 16;

/** SDM 4.6.1: is the access allowed with these combined rights? */
function allowed(r: Regs, us: boolean, rw: boolean, xd: boolean, access: Access, mode: Mode): boolean {
  const write = access === Access.Write;
  const fetch = access === Access.Execute;
  if (mode === Mode.User) return us && (write ? rw : fetch ? !xd : true);
  if (fetch) return !xd && !(r.smep && us);
  if (us && r.smap && !r.ac) return false;
  return write ? !r.wp || rw : true;
}

function errorBase(r: Regs, access: Access, mode: Mode, pae: boolean): number {
  // SDM 4.7: I/D when the access is a fetch and (SMEP, or PAE = 1 and NXE).
  return (access === Access.Write ? E_W : 0) | (mode === Mode.User ? E_U : 0) | (access === Access.Execute && (r.smep || (pae && r.nxe)) ? E_ID : 0);
}

function fault(errorCode: number, level: number): Outcome {
  return { fault: true, errorCode, level, pa: 0, pageSizeBytes: 0, flags: 0 };
}

// ------------------------------------------------------------------------------------------------
// 32-bit paging, SDM 4.3 (Tables 4-4, 4-5, 4-6)
// ------------------------------------------------------------------------------------------------

function reference32(pde: bigint, pte: bigint, r: Regs, va: bigint, access: Access, mode: Mode, after: bigint[]): Outcome {
  const base = errorBase(r, access, mode, false);
  if ((pde & 1n) === 0n) return fault(base, 2);
  const m = BigInt(Math.min(r.maxPhys, 40));
  if (r.pse && (pde & 0x80n) !== 0n) {
    // 4 MiB page: bits 21:(M-19) reserved; PA 31:22 from 31:22, PA (M-1):32 from (M-20):13.
    const reserved = ((1n << 22n) - 1n) & ~((1n << (m - 19n)) - 1n);
    if ((pde & reserved) !== 0n) return fault(base | E_P | E_RSVD, 2);
    const us = (pde & 4n) !== 0n;
    const rw = (pde & 2n) !== 0n;
    if (!allowed(r, us, rw, false, access, mode)) return fault(base | E_P, 2);
    const leaf = pde | 0x20n | (access === Access.Write ? 0x40n : 0n);
    after[2] = leaf;
    const pa = (pde & 0xffc0_0000n) + (((pde >> 13n) & ((1n << (m - 32n)) - 1n)) << 32n) + (va & 0x3f_ffffn);
    return { fault: false, errorCode: 0, level: 2, pa: Number(pa), pageSizeBytes: 4 << 20, flags: Number(leaf & 0x1fffn) };
  }
  // PDE → page table at bits 31:12 (PS ignored without PSE); A set as the walk passes it.
  after[2] = pde | 0x20n;
  if ((pte & 1n) === 0n) return fault(base, 1);
  const us = (pde & pte & 4n) !== 0n;
  const rw = (pde & pte & 2n) !== 0n;
  if (!allowed(r, us, rw, false, access, mode)) return fault(base | E_P, 1);
  const leaf = pte | 0x20n | (access === Access.Write ? 0x40n : 0n);
  after[1] = leaf;
  const flags = Number(leaf & 0xff9n) | (rw ? 2 : 0) | (us ? 4 : 0);
  return { fault: false, errorCode: 0, level: 1, pa: Number((pte & 0xffff_f000n) + (va & 0xfffn)), pageSizeBytes: 4096, flags };
}

const PD32 = 0x1000;
const PT32 = 0x2000;

function makeRegs(r: Regs, kind: '32' | 'pae' | 'la57', cr3Frame: number): ControlRegisters {
  const cr4 = (r.pse ? CR4.PSE : 0) | (r.smep ? CR4.SMEP : 0) | (r.smap ? CR4.SMAP : 0) | (r.pke ? CR4.PKE : 0) | (kind === '32' ? 0 : CR4.PAE) | (kind === 'la57' ? CR4.LA57 : 0);
  return new ControlRegisters({
    cr3Frame,
    cr0: CR0.PE | CR0.PG | (r.wp ? CR0.WP : 0),
    cr4,
    efer: (kind === 'la57' ? EFER.LME : 0) | (r.nxe ? EFER.NXE : 0),
    rflags: r.ac ? RFLAGS.AC : 0,
    maxPhysAddrBits: r.maxPhys,
  });
}

type Path = 'walk-flat' | 'walk-port' | 'translate' | 'translate-port';

function check(mmu: Mmu, va: number | [number, number], access: Access, mode: Mode, path: Path, want: Outcome): void {
  const got = path === 'translate' || path === 'translate-port' ? (typeof va === 'number' ? mmu.translate(va, access, mode) : mmu.translateSplit(va[0], va[1], access, mode)) : typeof va === 'number' ? mmu.walk(va, access, mode) : mmu.walkSplit(va[0], va[1], access, mode);
  expect({ fault: got.fault, errorCode: got.errorCode, level: got.level }).toEqual({ fault: want.fault, errorCode: want.errorCode, level: want.level });
  if (!want.fault) expect({ pa: got.pa, pageSizeBytes: got.pageSizeBytes, flags: got.flags }).toEqual({ pa: want.pa, pageSizeBytes: want.pageSizeBytes, flags: want.flags });
  if (path === 'translate' || path === 'translate-port') mmu.tlb!.checkInvariants();
}

function run32(pdeRaw: Raw, pteRaw: Raw, r: Regs, va: number, access: Access, mode: Mode, path: Path): void {
  const memory = new ArrayBufferPhysicalMemory(0x3000);
  let pde = BigInt(pdeRaw.flags & ~1) | (pdeRaw.present ? 1n : 0n);
  if (r.pse && (pde & 0x80n) !== 0n) pde |= BigInt(pdeRaw.frame) << 12n; // 4 MiB: random 31:13 (PSE-36 and reserved bits too)
  else pde = (pde & 0xfffn) | BigInt(PT32); // a table pointer: bits 31:12 = the page table
  const pte = (BigInt(pteRaw.flags & 0xffe) | (pteRaw.present ? 1n : 0n) | (BigInt(pteRaw.frame) << 12n)) & 0xffff_ffffn;
  const pdSlot = PD32 + (va >>> 22) * 4;
  const ptSlot = PT32 + ((va >>> 12) & 1023) * 4;
  memory.write32(pdSlot, Number(pde));
  memory.write32(ptSlot, Number(pte));
  const after = [0n, pte, pde];
  const want = reference32(pde, pte, r, BigInt(va), access, mode, after);
  const mmu = new Mmu(path === 'walk-port' || path === 'translate-port' ? portOnly(memory) : memory, makeRegs(r, '32', PD32), { tlb: path === 'translate' || path === 'translate-port' ? new Tlb() : null });
  check(mmu, va, access, mode, path, want);
  expect(BigInt(memory.read32(pdSlot)), 'PDE after the access').toBe(after[2]);
  expect(BigInt(memory.read32(ptSlot)), 'PTE after the access').toBe(after[1]);
}

// ------------------------------------------------------------------------------------------------
// PAE paging, SDM 4.4 (Tables 4-8 to 4-11)
// ------------------------------------------------------------------------------------------------

const PDPT = 0x1020; // 32-byte aligned, not page aligned: CR3 bits 31:5
const PD_PAE = 0x2000;
const PT_PAE = 0x3000;

function referencePae(pdpte: bigint, pde: bigint, pte: bigint, r: Regs, va: bigint, access: Access, mode: Mode, after: bigint[]): Outcome {
  const base = errorBase(r, access, mode, true);
  if ((pdpte & 1n) === 0n) return fault(base, 3);
  const m = BigInt(r.maxPhys);
  // Bits 62:M reserved in PDEs and PTEs; bit 63 too without NXE.
  const reservedHigh = (((1n << 63n) - 1n) & ~((1n << m) - 1n)) | (r.nxe ? 0n : 1n << 63n);
  const addr = (e: bigint) => e & ((1n << m) - 1n) & ~0xfffn;
  if ((pde & 1n) === 0n) return fault(base, 2);
  if ((pde & reservedHigh) !== 0n) return fault(base | E_P | E_RSVD, 2);
  const xdPde = r.nxe && pde >> 63n === 1n;
  if ((pde & 0x80n) !== 0n) {
    if ((pde & 0x1f_e000n) !== 0n) return fault(base | E_P | E_RSVD, 2);
    const us = (pde & 4n) !== 0n;
    const rw = (pde & 2n) !== 0n;
    if (!allowed(r, us, rw, xdPde, access, mode)) return fault(base | E_P, 2);
    const leaf = pde | 0x20n | (access === Access.Write ? 0x40n : 0n);
    after[2] = leaf;
    const flags = Number(leaf & 0x1fffn) | (pde >> 63n === 1n ? 0x8000_0000 | 0 : 0);
    return { fault: false, errorCode: 0, level: 2, pa: Number((addr(pde) & ~0x1f_ffffn) + (va & 0x1f_ffffn)), pageSizeBytes: 2 << 20, flags };
  }
  after[2] = pde | 0x20n;
  if ((pte & 1n) === 0n) return fault(base, 1);
  if ((pte & reservedHigh) !== 0n) return fault(base | E_P | E_RSVD, 1);
  const us = (pde & pte & 4n) !== 0n;
  const rw = (pde & pte & 2n) !== 0n;
  const xd = xdPde || (r.nxe && pte >> 63n === 1n);
  if (!allowed(r, us, rw, xd, access, mode)) return fault(base | E_P, 1);
  const leaf = pte | 0x20n | (access === Access.Write ? 0x40n : 0n);
  after[1] = leaf;
  const flags = Number(leaf & 0xff9n) | (rw ? 2 : 0) | (us ? 4 : 0) | ((pde | pte) >> 63n === 1n ? 0x8000_0000 | 0 : 0);
  return { fault: false, errorCode: 0, level: 1, pa: Number(addr(pte) + (va & 0xfffn)), pageSizeBytes: 4096, flags };
}

function entry64(raw: Raw, r: Regs, pointsAt: number | null): bigint {
  let e = BigInt(raw.flags & ~1) | (raw.present ? 1n : 0n) | highBits(raw, r.maxPhys);
  if (pointsAt === null) e |= BigInt(raw.frame) << 12n;
  else e = (e & ~0xffff_f000n & ~(0xfn << 32n)) | BigInt(pointsAt);
  return e;
}

function runPae(pdpteP: boolean, pdeRaw: Raw, pteRaw: Raw, r: Regs, va: number, access: Access, mode: Mode, path: Path): void {
  const memory = new ArrayBufferPhysicalMemory(0x4000);
  const i3 = va >>> 30;
  const pdpte = BigInt(PD_PAE) | (pdpteP ? 1n : 0n);
  const pdeRawFixed = { ...pdeRaw };
  const pde = (pdeRawFixed.flags & 0x80) !== 0 ? entry64(pdeRawFixed, r, null) : entry64(pdeRawFixed, r, PT_PAE);
  const pte = entry64({ ...pteRaw, flags: pteRaw.flags & 0xfff }, r, null);
  const pdSlot = PD_PAE + ((va >>> 21) & 511) * 8;
  const ptSlot = PT_PAE + ((va >>> 12) & 511) * 8;
  const put = (pa: number, e: bigint) => {
    memory.write32(pa, Number(e & 0xffff_ffffn));
    memory.write32(pa + 4, Number(e >> 32n));
  };
  const get = (pa: number) => BigInt(memory.read32(pa)) | (BigInt(memory.read32(pa + 4)) << 32n);
  put(PDPT + i3 * 8, pdpte);
  put(pdSlot, pde);
  put(ptSlot, pte);
  const regs = makeRegs(r, 'pae', PDPT - (PDPT % 4096));
  regs.cr3Low = PDPT % 4096;
  regs.loadPdptes(memory);
  const after = [0n, pte, pde, pdpte];
  const want = referencePae(pdpte, pde, pte, r, BigInt(va), access, mode, after);
  const mmu = new Mmu(path === 'walk-port' || path === 'translate-port' ? portOnly(memory) : memory, regs, { tlb: path === 'translate' || path === 'translate-port' ? new Tlb() : null });
  check(mmu, va, access, mode, path, want);
  expect(get(PDPT + i3 * 8), 'PDPTE (no A bit in PAE)').toBe(pdpte);
  expect(get(pdSlot), 'PDE after the access').toBe(after[2]);
  expect(get(ptSlot), 'PTE after the access').toBe(after[1]);
}

// ------------------------------------------------------------------------------------------------
// 5-level paging, SDM 4.5 (PML5 on top of the 4-level structure)
// ------------------------------------------------------------------------------------------------

const FRAME5 = [0, 0x1000, 0x2000, 0x3000, 0x4000, 0x5000]; // table of each level (1 = PT .. 5 = PML5)

function reference5(entries: bigint[], r: Regs, va: bigint, access: Access, mode: Mode, after: bigint[]): Outcome {
  const base = errorBase(r, access, mode, true);
  const m = BigInt(r.maxPhys);
  let rw = true;
  let us = true;
  let xd = false;
  for (let level = 5; level >= 1; level--) {
    const e = entries[level]!;
    if ((e & 1n) === 0n) return fault(base, level);
    const ps = (e & 0x80n) !== 0n;
    const leaf = level === 1 || (level <= 3 && ps);
    let reserved = ((e >> m) & ((1n << (52n - m)) - 1n)) !== 0n; // bits 51:M
    if (!r.nxe && e >> 63n === 1n) reserved = true;
    if (level >= 4 && ps) reserved = true; // PS reserved in PML5E and PML4E
    if (leaf && level === 2 && (e & 0x1f_e000n) !== 0n) reserved = true;
    if (leaf && level === 3 && (e & 0x3fff_e000n) !== 0n) reserved = true;
    if (reserved) return fault(base | E_P | E_RSVD, level);
    rw &&= (e & 2n) !== 0n;
    us &&= (e & 4n) !== 0n;
    xd ||= r.nxe && e >> 63n === 1n;
    if (!leaf) {
      after[level] = e | 0x20n;
      continue;
    }
    // Protection keys (SDM 4.6.2) are off in this test (PKRU = 0 allows everything).
    if (!allowed(r, us, rw, xd, access, mode)) return fault(base | E_P, level);
    const sizeBits = BigInt(12 + 9 * (level - 1));
    const leafAfter = e | 0x20n | (access === Access.Write ? 0x40n : 0n);
    after[level] = leafAfter;
    let flags = Number(leafAfter & (level === 1 ? 0xfffn : 0x1fffn) & ~6n) | (rw ? 2 : 0) | (us ? 4 : 0);
    flags |= Number((leafAfter >> 32n) & 0x7ff0_0000n);
    if (xd || e >> 63n === 1n) flags |= 0x8000_0000 | 0;
    const addrMask = ((1n << m) - 1n) & ~((1n << sizeBits) - 1n);
    return { fault: false, errorCode: 0, level, pa: Number((e & addrMask) + (va & ((1n << sizeBits) - 1n))), pageSizeBytes: 2 ** Number(sizeBits), flags: flags | 0 };
  }
  throw new Error('unreachable');
}

function run5(raws: Raw[], r: Regs, vaHi: number, vaLo: number, access: Access, mode: Mode, path: Path): void {
  const memory = new ArrayBufferPhysicalMemory(0x6000);
  const va = (BigInt(vaHi) << 32n) | BigInt(vaLo);
  const entries: bigint[] = [0n];
  for (let level = 1; level <= 5; level++) {
    const raw = raws[level - 1]!;
    const leafShape = level === 1 || (level <= 3 && (raw.flags & 0x80) !== 0);
    const e = entry64(leafShape ? raw : { ...raw, flags: raw.flags & 0xfff }, r, leafShape ? null : FRAME5[level - 1]!);
    entries.push(e);
  }
  const slot = (level: number) => FRAME5[level]! + Number((va >> BigInt(12 + 9 * (level - 1))) & 511n) * 8;
  for (let level = 1; level <= 5; level++) {
    memory.write32(slot(level), Number(entries[level]! & 0xffff_ffffn));
    memory.write32(slot(level) + 4, Number(entries[level]! >> 32n));
  }
  const after = entries.slice();
  const want = reference5(entries, r, va, access, mode, after);
  const mmu = new Mmu(path === 'walk-port' || path === 'translate-port' ? portOnly(memory) : memory, makeRegs({ ...r, pke: false }, 'la57', FRAME5[5]!), { tlb: path === 'translate' || path === 'translate-port' ? new Tlb() : null });
  check(mmu, [vaHi, vaLo | 0], access, mode, path, want);
  for (let level = 1; level <= 5; level++) {
    const now = BigInt(memory.read32(slot(level))) | (BigInt(memory.read32(slot(level) + 4)) << 32n);
    expect(now, `entry at level ${level} after the access`).toBe(after[level]);
  }
}

const accessArb = fc.constantFrom(Access.Read, Access.Write, Access.Execute);
const modeArb = fc.constantFrom(Mode.Supervisor, Mode.User);
const pathArb = fc.constantFrom<Path>('walk-flat', 'walk-port', 'translate', 'translate-port');
const va32Arb = fc.integer({ min: 0, max: 0xffff_ffff });
const RUNS = 1500;

describe('Mmu in 32-bit paging (property: agrees with a reference walk from SDM 4.3)', () => {
  it('every PDE / PTE shape, 4 MiB pages with PSE-36, PS ignored without CR4.PSE', () => {
    fc.assert(fc.property(rawArb, rawArb, regsArb, va32Arb, accessArb, modeArb, pathArb, (pde, pte, r, va, access, mode, path) => run32(pde, pte, r, va, access, mode, path)), { numRuns: RUNS });
  });
});

describe('Mmu in PAE paging (property: agrees with a reference walk from SDM 4.4)', () => {
  it('PDPTE registers, 2 MiB and 4 KiB pages, reserved bits 62:M and XD', () => {
    fc.assert(
      fc.property(fc.boolean(), rawArb, rawArb, regsArb, va32Arb, accessArb, modeArb, pathArb, (p3, pde, pte, r, va, access, mode, path) => runPae(p3 || pde.present, pde, pte, r, va, access, mode, path)),
      { numRuns: RUNS },
    );
  });
});

describe('Mmu in 5-level paging (property: agrees with a reference walk from SDM 4.5)', () => {
  it('PML5 to PT, 1 GiB / 2 MiB / 4 KiB leaves, addresses across all 57 bits', () => {
    fc.assert(
      fc.property(fc.array(rawArb, { minLength: 5, maxLength: 5 }), regsArb, fc.integer({ min: 0, max: 0x1ff_ffff }), fc.integer({ min: 0, max: 0xffff_ffff }), accessArb, modeArb, pathArb, (raws, r, hi, lo, access, mode, path) =>
        run5(raws, r, hi, lo, access, mode, path),
      ),
      { numRuns: RUNS },
    );
  });
});
