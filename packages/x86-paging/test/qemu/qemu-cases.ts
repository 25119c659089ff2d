// Random page-walk cases for the QEMU agreement test (qemu-modes.test.ts), the same cases run by
// kmem's Cpu, and the comparison. The guest (guest.S) explains the memory layout.
import { Access, ArrayBufferPhysicalMemory, Cpu, CR0, CR4, EFER, GeneralProtectionFault, PagingMode, PhysicalAccessError, UnhandledPageFaultError } from '../../src/index';

export type ModeName = '32-bit' | 'pae' | '4-level' | '5-level';
export const CONFIG = 0x20_0000;
export const CASES = 0x20_0100;
export const RESULTS = 0x30_0000;
const TABLES = 0x40_0000;
const DATA = 0x100_0000;
const DATA_END = 0x280_0000; // below what SeaBIOS may use near the top of the 64 MiB (it was seen overwriting 0x2c0_0000..0x300_0000)
export const IMAGE_END = DATA_END;
/** MAXPHYADDR the guest CPU is started with (`-cpu max,phys-bits=40`). */
export const MAX_PHYS = 40;
const P = 1;
const RW = 2;

/** One case as the guest reads it (and kmem replays it). */
export interface Case {
  kind: 0 | 1 | 2; // read, write, fetch
  cr0: number;
  cr4: number;
  efer: number;
  cr3: number;
  ac: boolean;
  va: bigint; // 64-bit form as the instruction uses it
  token: number;
  entries: number[]; // physical addresses of the entries on the walk's path (top first)
}

/** What one case did: vector (-1 none), error code, CR2, value read, entries after. */
export interface Outcome {
  vector: number;
  errorCode: number;
  cr2: bigint;
  value: number;
  entries: bigint[];
}

/** Word at physical `pa` of the data region: `ret` (0xc3) in the low byte, pa / 4 above (identifies the frame read). */
export function dataWord(pa: number): number {
  return (0xc3 | ((pa >>> 2) << 8)) >>> 0;
}

type Rand = () => number;
function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}
function chance(rand: Rand, p: number): boolean {
  return rand() < p;
}

/** Builds memory, the boot registers and `count` cases for mode `m`. */
export function buildCases(m: ModeName, count: number, rand: Rand): { memory: ArrayBufferPhysicalMemory; cases: Case[]; boot: { cr3: number; cr4: number; efer: number } } {
  const memory = new ArrayBufferPhysicalMemory(IMAGE_END);
  const w32 = (pa: number, v: number) => memory.write32(pa, v >>> 0);
  const w64 = (pa: number, v: bigint) => {
    memory.write32(pa, Number(v & 0xffff_ffffn));
    memory.write32(pa + 4, Number((v >> 32n) & 0xffff_ffffn));
  };
  for (let pa = DATA; pa < DATA_END; pa += 4) memory.write32(pa, dataWord(pa));
  let next = TABLES;
  const alloc = () => {
    const f = next;
    next += 4096;
    if (next > DATA) throw new Error('out of table frames');
    return f;
  };
  const wide = m !== '32-bit';
  const entryBytes = wide ? 8 : 4;
  // The identity map of 0..64 MiB with 4 KiB supervisor pages, shared by every case: 32-bit: 16
  // page tables (PDEs 0..15); PAE: PD of PDPTE 0; long modes: PML4[0] -> PDPT[0] -> PD 0..31.
  const pts: number[] = [];
  for (let t = 0; t < 16; t++) {
    const pt = alloc();
    pts.push(pt);
    for (let i = 0; i < 1024 / (entryBytes / 4); i++) {
      const pa = t * (wide ? 0x20_0000 : 0x40_0000) + i * 4096;
      if (wide) w64(pt + i * 8, BigInt(pa | P | RW | 0x60));
      else w32(pt + i * 4, pa | P | RW | 0x60);
    }
  }
  let codePd = 0;
  let codeTop = 0; // the entry every case's top table gets in slot 0
  if (wide) {
    // 32 PTs of 2 MiB each are needed for 64 MiB.
    for (let t = 16; t < 32; t++) {
      const pt = alloc();
      pts.push(pt);
      for (let i = 0; i < 512; i++) w64(pt + i * 8, BigInt((t * 0x20_0000 + i * 4096) | P | RW | 0x60));
    }
    codePd = alloc();
    for (let t = 0; t < 32; t++) w64(codePd + t * 8, BigInt(pts[t]! | P | RW | 0x20));
    if (m !== 'pae') {
      const pdpt = alloc();
      w64(pdpt, BigInt(codePd | P | RW | 0x20));
      codeTop = pdpt;
      if (m === '5-level') {
        const pml4 = alloc();
        w64(pml4, BigInt(pdpt | P | RW | 0x20));
        codeTop = pml4;
      }
    }
  }
  const cases: Case[] = [];
  const levels = m === '32-bit' ? 2 : m === 'pae' ? 3 : m === '4-level' ? 4 : 5;
  for (let n = 0; n < count; n++) {
    const wp = chance(rand, 0.5);
    const smep = chance(rand, 0.4);
    const smap = chance(rand, 0.4);
    const nxe = m === '32-bit' ? chance(rand, 0.5) : chance(rand, 0.8);
    const pse = chance(rand, 0.7);
    let kind = pick<0 | 1 | 2>(rand, [0, 1, 2]);
    const offset = Math.floor(rand() * 1024) * 4;
    // Linear address: top-level index never 0 (the identity map's slot).
    let va: bigint;
    if (m === '32-bit') va = BigInt(16 + Math.floor(rand() * 1008)) << 22n;
    else if (m === 'pae') va = BigInt(1 + Math.floor(rand() * 3)) << 30n;
    else va = BigInt(1 + Math.floor(rand() * 511)) << (m === '4-level' ? 39n : 48n);
    if (m === '4-level' || m === '5-level') va |= BigInt(Math.floor(rand() * 512)) << 30n;
    if (m === '5-level') va |= BigInt(Math.floor(rand() * 512)) << 39n;
    va |= BigInt(Math.floor(rand() * (m === '32-bit' ? 1024 : 512 * 512))) << 12n;
    va |= BigInt(offset);
    // 1 GiB pages at base 0 are read in the data region: keep va bits 29:24 within 16..47 MiB
    // when the walk may end there (set later if it does).
    const entries: number[] = [];
    let top = alloc();
    let cr3 = top;
    let pdptOffset = 0;
    if (m === '32-bit') {
      for (let i = 0; i < 16; i++) w32(top + i * 4, pts[i]! | P | RW | 0x20);
    } else if (m === 'pae') {
      pdptOffset = Math.floor(rand() * 128) * 32;
      top += pdptOffset;
      cr3 = top;
      w64(top, BigInt(codePd | P));
    } else {
      w64(top, BigInt(codeTop | P | RW | 0x20));
    }
    // The path: one random entry per level; a leaf ends it.
    let table = top;
    let highPa = false;
    for (let level = levels; level >= 1; level--) {
      const shift = m === '32-bit' ? (level === 2 ? 22n : 12n) : BigInt(12 + 9 * (level - 1));
      const index = Number((va >> shift) & (m === '32-bit' ? 1023n : m === 'pae' && level === 3 ? 3n : 511n));
      const slot = table + index * entryBytes;
      entries.push(slot);
      const present = chance(rand, 0.96);
      let lo = (Math.floor(rand() * 0x2000) & ~0x81) | (present ? P : 0);
      if (chance(rand, 0.6)) lo |= RW;
      if (chance(rand, 0.5)) lo |= 4;
      let hi = 0n;
      if (m === 'pae' && level === 3) {
        // A PDPTE: P, PWT, PCD and bits 11:9 only (a reserved bit would #GP the MOV to CR3).
        const pd = alloc();
        w64(slot, BigInt(pd | (lo & 0xe18) | (present ? P : 0)));
        table = pd;
        continue;
      }
      const canBeLeaf = level === 1 || (m === '32-bit' && level === 2) || (m === 'pae' && level === 2) || (wide && m !== 'pae' && level <= 3);
      const psReserved = wide && m !== 'pae' && level >= 4;
      // PS: a huge page where one can be (30 %), a reserved bit in a PML4E / PML5E (4 %), PAT in a PTE (50 %).
      if (chance(rand, level === 1 ? 0.5 : psReserved ? 0.04 : 0.3)) lo |= 0x80;
      let leaf = level === 1 || ((lo & 0x80) !== 0 && (canBeLeaf || psReserved) && (m !== '32-bit' || pse));
      if (!canBeLeaf && !psReserved) lo &= ~0x80;
      if (psReserved && (lo & 0x80) !== 0) leaf = false; // reserved: the walk faults here
      if (wide) {
        if (chance(rand, 0.25)) hi |= 1n << 63n;
        if (chance(rand, 0.02)) hi |= 1n << BigInt(MAX_PHYS + Math.floor(rand() * (52 - MAX_PHYS)));
        if (chance(rand, m === 'pae' ? 0.02 : 0.1)) hi |= BigInt(Math.floor(rand() * 0x7ff)) << 52n;
      }
      if (!leaf || level === 1) lo &= level === 1 ? 0xfff : 0xfff; // bit 12 is an address bit here
      if (!leaf) {
        const next2 = alloc();
        if (wide) w64(slot, (BigInt(next2 | (lo & 0xfff)) | hi) & ~0x80n | (psReserved ? BigInt(lo & 0x80) : 0n));
        else w32(slot, next2 | (lo & 0xfff));
        table = next2;
        if (psReserved && (lo & 0x80) !== 0) break;
        continue;
      }
      // A leaf: its page in the data region (or, for a few, far above RAM: then only read).
      let base: number;
      if (level === 1) base = DATA + Math.floor(rand() * ((DATA_END - DATA) / 4096)) * 4096;
      else if (level === 2) {
        const size = m === '32-bit' ? 0x40_0000 : 0x20_0000;
        base = DATA + Math.floor(rand() * ((DATA_END - DATA) / size)) * size;
      } else {
        base = 0; // 1 GiB page: keep the offset inside the data region
        va = (va & ~0x3fff_ffffn) | BigInt(DATA + Math.floor(rand() * ((DATA_END - DATA) / 4096)) * 4096 + offset);
      }
      if (m === '32-bit' && level === 2) {
        let e = base | (lo & 0x1fff) | 0x80;
        if (chance(rand, 0.15)) {
          e |= Math.floor(rand() * 256) << 13; // PSE-36: PA bits 39:32
          highPa = true;
        }
        if (chance(rand, 0.05)) e |= 1 << 21; // reserved
        w32(slot, e);
      } else if (wide) {
        let e = BigInt(base) | BigInt(lo & (level === 1 ? 0xfff : 0x1fff)) | hi;
        if (level > 1 && chance(rand, 0.05)) e |= 1n << BigInt(13 + Math.floor(rand() * (level === 2 ? 8 : 17))); // alignment bits: reserved
        if (chance(rand, 0.1)) {
          e |= BigInt(1 + Math.floor(rand() * 255)) << 32n; // PA above 4 GiB
          highPa = true;
        }
        w64(slot, e);
      } else {
        w32(slot, base | (lo & 0xfff));
      }
      break;
    }
    if (highPa && kind === 2) kind = 0;
    // A few non-canonical addresses in the long modes (#GP, SDM 4.5).
    if ((m === '4-level' || m === '5-level') && chance(rand, 0.06)) va ^= 1n << BigInt(m === '4-level' ? 48 + Math.floor(rand() * 15) : 57 + Math.floor(rand() * 6));
    else if (m === '4-level' && (va & (1n << 47n)) !== 0n) va |= 0xffff_0000_0000_0000n;
    else if (m === '5-level' && (va & (1n << 56n)) !== 0n) va |= 0xfe00_0000_0000_0000n;
    const longBits = m === '4-level' || m === '5-level' ? EFER.LME : 0;
    cases.push({
      kind,
      cr0: CR0.PE | CR0.PG | 0x10 /* ET */ | (wp ? CR0.WP : 0),
      cr4: (m === '32-bit' ? 0 : CR4.PAE) | (m === '5-level' ? CR4.LA57 : 0) | (pse ? CR4.PSE : 0) | (smep ? CR4.SMEP : 0) | (smap ? CR4.SMAP : 0),
      efer: longBits | (nxe ? EFER.NXE : 0),
      cr3,
      ac: chance(rand, 0.3),
      va,
      token: (0xa500_00c3 | (n << 8)) >>> 0, // low byte 0xc3 (ret): a later fetch there still returns
      entries,
    });
  }
  // Config and case records.
  const first = cases[0]!;
  w32(CONFIG, m === '32-bit' ? 1 : m === 'pae' ? 2 : m === '4-level' ? 3 : 4);
  w32(CONFIG + 4, cases.length);
  w32(CONFIG + 8, first.cr3);
  w32(CONFIG + 12, first.cr4);
  w32(CONFIG + 16, first.efer);
  cases.forEach((c, i) => {
    const r = CASES + i * 64;
    [c.kind, c.cr0, c.cr4, c.efer, c.cr3, c.ac ? 1 : 0, Number(c.va & 0xffff_ffffn), Number(c.va >> 32n), c.token, 0].forEach((v, k) => w32(r + k * 4, v));
    c.entries.forEach((pa, k) => w32(r + 40 + k * 4, pa));
  });
  return { memory, cases, boot: { cr3: first.cr3, cr4: first.cr4, efer: first.efer } };
}

/** Runs the cases on kmem's Cpu over `memory` (the same image QEMU got), in order. */
export function runOnKmem(m: ModeName, memory: ArrayBufferPhysicalMemory, cases: Case[], boot: { cr3: number; cr4: number; efer: number }): Outcome[] {
  const wide = m !== '32-bit';
  const cpu = new Cpu({
    memory,
    registers: { cr0: CR0.PE | CR0.PG | CR0.WP | 0x10, cr4: boot.cr4, efer: boot.efer, cr3Frame: boot.cr3 - (boot.cr3 % 4096), cr3Low: boot.cr3 % 4096, maxPhysAddrBits: MAX_PHYS },
    tlb: { setCount: 64, wayCount: 4 },
  });
  const expectedMode = m === '32-bit' ? PagingMode.ThirtyTwoBit : m === 'pae' ? PagingMode.Pae : m === '4-level' ? PagingMode.FourLevel : PagingMode.FiveLevel;
  const out: Outcome[] = [];
  for (const c of cases) {
    cpu.writeEfer(c.efer);
    cpu.writeCr4(c.cr4);
    cpu.writeCr3(c.cr3);
    cpu.writeCr0(c.cr0);
    if (cpu.pagingMode !== expectedMode) throw new Error(`kmem is in mode ${cpu.pagingMode}`);
    if (c.ac) cpu.stac();
    else cpu.clac();
    const o: Outcome = { vector: -1, errorCode: 0, cr2: 0n, value: 0, entries: [] };
    const va = m === '32-bit' || m === 'pae' ? Number(c.va) : c.va;
    try {
      if (c.kind === 0) o.value = cpu.read32(va);
      else if (c.kind === 1) cpu.write32(va, c.token);
      else cpu.fetch8(va);
    } catch (e) {
      if (e instanceof UnhandledPageFaultError) {
        o.vector = 14;
        o.errorCode = e.fault.errorCode;
        const linear = (BigInt(e.fault.cr2Hi) << 32n) | BigInt(e.fault.cr2Lo);
        // CR2 holds the 64-bit form: sign-extend from bit 47 / 56 in the long modes.
        const top = m === '4-level' ? 47n : m === '5-level' ? 56n : 63n;
        o.cr2 = top < 63n && ((linear >> top) & 1n) === 1n ? linear | (((1n << 64n) - 1n) ^ ((1n << (top + 1n)) - 1n)) : linear;
      } else if (e instanceof GeneralProtectionFault) {
        o.vector = 13;
      } else if (e instanceof PhysicalAccessError) {
        o.value = -1; // translated to a page far above RAM (no fault): the value is not compared
      } else throw e;
    }
    cpu.clac();
    for (const pa of c.entries) o.entries.push(wide ? BigInt(memory.read32(pa)) | (BigInt(memory.read32(pa + 4)) << 32n) : BigInt(memory.read32(pa)));
    out.push(o);
  }
  return out;
}

/** Decodes the guest's result records. */
export function parseResults(bytes: Uint8Array, cases: Case[], m: ModeName): Outcome[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return cases.map((c, i) => {
    const r = i * 64;
    const vector = v.getUint32(r, true);
    const entries = c.entries.map((_, k) => (m === '32-bit' ? BigInt(v.getUint32(r + 24 + k * 8, true)) : v.getBigUint64(r + 24 + k * 8, true)));
    return {
      vector: vector === 0xffff_ffff ? -1 : vector,
      errorCode: vector === 14 ? v.getUint32(r + 4, true) : 0,
      cr2: vector === 14 ? (m === '32-bit' || m === 'pae' ? BigInt(v.getUint32(r + 8, true)) : v.getBigUint64(r + 8, true)) : 0n,
      value: c.kind === 0 && vector === 0xffff_ffff ? v.getUint32(r + 16, true) : 0,
      entries,
    };
  });
}

/** Access name for messages. */
export function kindName(kind: number): string {
  return kind === 0 ? 'read' : kind === 1 ? 'write' : 'fetch';
}
export { Access };
