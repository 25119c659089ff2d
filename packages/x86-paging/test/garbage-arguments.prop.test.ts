// Issue 14 (item 7 and "Also"): x86-paging's public methods given garbage (NaN, ±Infinity, -1,
// 0.5, 2^53, bigint where a number is meant, strings, null, undefined, objects, symbols) throw a
// typed KmemError with a stable code — or are the documented no-op (`invlpg` of an address that
// is not canonical) — and leave the state as it was: registers, PDPTE registers, TLB entries and
// counters, fault counters, physical memory.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { expectRejected, garbage, notANumber } from '../../../test-support/garbage-arguments';
import {
  Access,
  ArrayBufferPhysicalMemory,
  assertLinear,
  assertRangeInOneHalf,
  canonical,
  Cpu,
  CR0,
  CR4,
  encodeEntry32,
  encodePde4M,
  joinVa57,
  KmemError,
  Mode,
  PTE,
  SimpleFrameAllocator,
  splitVa57,
  Tlb,
  virt,
} from '../src/index';
import { RawPaging } from './raw-paging';

const VA = 0x7f00_0000_0000;

function fourLevel() {
  const t = new RawPaging(256 * 1024, 0x1_0000);
  t.map(VA, 0x3_0000, PTE.Present | PTE.Writable | PTE.User);
  const cpu = new Cpu({ memory: t.memory, registers: { cr3Frame: t.pml4 }, tlb: { setCount: 16, wayCount: 2 } });
  cpu.read8(VA);
  return { cpu, memory: t.memory };
}

function thirtyTwoBit() {
  const memory = new ArrayBufferPhysicalMemory(64 * 1024);
  memory.write32(0x1000 + 4, 0x40_0000 | 0x83); // 4 MiB page at 0x40_0000 (beyond memory: never touched)
  memory.write32(0x1000, 0x2000 | 0x3);
  memory.write32(0x2000 + 4 * 5, 0x5000 | 0x3);
  const cpu = new Cpu({ memory, registers: { cr0: CR0.PE | CR0.PG, cr4: CR4.PSE, efer: 0, cr3Frame: 0x1000 }, tlb: { setCount: 16, wayCount: 2 } });
  cpu.read8(0x5000);
  return { cpu, memory };
}

function snapshot(cpu: Cpu, memory: ArrayBufferPhysicalMemory): () => string {
  return () => {
    cpu.checkInvariants();
    const r = cpu.registers;
    let sum = 0;
    const w = memory.words;
    for (let i = 0; i < w.length; i++) sum = (sum * 31 + w[i]!) | 0;
    return JSON.stringify({
      regs: [r.cr0, r.cr3Frame, r.cr3Low, r.cr4, r.efer, r.rflags, r.pkru, Array.from(r.pdptes)],
      tlb: cpu.tlb!.entries(),
      hits: [cpu.tlb!.hits, cpu.tlb!.misses],
      faults: [cpu.pageFaultCount, cpu.generalProtectionCount, cpu.cr2, cpu.lastErrorCode, cpu.mode],
      memory: sum,
    });
  };
}

const okAccess = fc.constantFrom(Access.Read, Access.Write, Access.Execute);
const okMode = fc.constantFrom(Mode.Supervisor, Mode.User);

describe('x86-paging garbage arguments: typed error, state unchanged', () => {
  for (const [name, setup] of [
    ['4-level', fourLevel],
    ['32-bit', thirtyTwoBit],
  ] as const) {
    it(`Cpu loads, stores, fetches, translate, invlpg, invpcid with garbage addresses (${name})`, () => {
      const { cpu, memory } = setup();
      const snap = snapshot(cpu, memory);
      fc.assert(
        fc.property(garbage().filter((v) => typeof v !== 'bigint'), okAccess, okMode, (va, access, mode) => {
          const a = va as number;
          expectRejected(KmemError, snap, () => cpu.read8(a));
          expectRejected(KmemError, snap, () => cpu.read32(a, mode));
          expectRejected(KmemError, snap, () => cpu.read64(a));
          expectRejected(KmemError, snap, () => cpu.fetch8(a));
          expectRejected(KmemError, snap, () => cpu.write16(a, 1));
          expectRejected(KmemError, snap, () => cpu.write64(a, 1n));
          expectRejected(KmemError, snap, () => cpu.readBytes(a, new Uint8Array(3)));
          expectRejected(KmemError, snap, () => cpu.writeBytes(a, new Uint8Array(3)));
          expectRejected(KmemError, snap, () => cpu.translate(a, access, mode));
          if (a !== undefined) expectRejected(KmemError, snap, () => cpu.invpcid(0, 0, a)); // undefined: the default va
          expectRejected(KmemError, snap, () => cpu.invlpg(a), [undefined]);
          // Mmu.translate is the hot path: it checks the type and range, not integrality (documented).
          if (typeof a !== 'number' || !(a >= 0 && a < 2 ** 53)) expectRejected(KmemError, snap, () => cpu.mmu.translate(a, access, mode));
          expectRejected(KmemError, snap, () => cpu.mmu.walk(a, access, mode));
          expectRejected(KmemError, snap, () => cpu.mmu.probe(a));
        }),
        { numRuns: 80 },
      );
    });

    it(`Cpu register writes, values, access kinds and modes given garbage (${name})`, () => {
      const { cpu, memory } = setup();
      const snap = snapshot(cpu, memory);
      const va = name === '4-level' ? VA : 0x5000;
      fc.assert(
        // Garbage for a register: not an integer in the 32-bit range (every such integer is a value
        // the register can hold; an illegal combination is a #GP, tested in paging-modes.test.ts).
        fc.property(garbage().filter((v) => !(Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 32)), (g) => {
          const x = g as number;
          expectRejected(KmemError, snap, () => cpu.writeCr0(x));
          expectRejected(KmemError, snap, () => cpu.writeCr4(x));
          expectRejected(KmemError, snap, () => cpu.writeEfer(x));
          expectRejected(KmemError, snap, () => cpu.wrpkru(x));
          expectRejected(KmemError, snap, () => cpu.writeCr3(x));
          if (typeof g !== 'bigint') expectRejected(KmemError, snap, () => cpu.writeCr3Raw(g as bigint)); // a bigint is a real MOV
          expectRejected(KmemError, snap, () => cpu.invpcid(x as 0, 0));
          expectRejected(KmemError, snap, () => cpu.invpcid(0, x));
          expectRejected(KmemError, snap, () => cpu.write32(va, x));
          if (typeof g !== 'bigint') expectRejected(KmemError, snap, () => cpu.write64(va, g as bigint));
          if (g !== undefined) expectRejected(KmemError, snap, () => cpu.read8(va, x as Mode)); // undefined: the current mode
          expectRejected(KmemError, snap, () => cpu.translate(va, x as Access));
          if (!(g instanceof Uint8Array)) expectRejected(KmemError, snap, () => cpu.readBytes(va, g as Uint8Array));
          expectRejected(KmemError, snap, () => cpu.mmu.walk(va, x as Access, Mode.Supervisor));
        }),
        { numRuns: 80 },
      );
    });
  }

  it('address and entry helpers, PhysicalMemory, SimpleFrameAllocator and Tlb options', () => {
    const memory = new ArrayBufferPhysicalMemory(64 * 1024);
    memory.write32(0x100, 0x1234);
    const snap = () => {
      let sum = 0;
      for (const w of memory.words) sum = (sum * 31 + w) | 0;
      return String(sum);
    };
    fc.assert(
      fc.property(garbage(), notANumber(), (g, n) => {
        const x = g as number;
        if (typeof g !== 'string' && typeof g !== 'bigint' && !Number.isSafeInteger(g)) expectRejected(KmemError, snap, () => virt(g as number)); // strings, bigints and safe integers (negative: sign-extended) are address forms virt reads
        expectRejected(KmemError, snap, () => canonical(x));
        expectRejected(KmemError, snap, () => assertLinear(x));
        expectRejected(KmemError, snap, () => assertRangeInOneHalf(x, 4096));
        expectRejected(KmemError, snap, () => assertRangeInOneHalf(0x1000, n as number));
        expectRejected(KmemError, snap, () => joinVa57(x, 0));
        expectRejected(KmemError, snap, () => encodeEntry32(x, 3));
        expectRejected(KmemError, snap, () => encodePde4M(x, 3));
        expectRejected(KmemError, snap, () => memory.read32(x));
        expectRejected(KmemError, snap, () => memory.write32(x, 1));
        expectRejected(KmemError, snap, () => memory.read8(x));
        expectRejected(KmemError, snap, () => memory.frameWords(x));
        expectRejected(KmemError, snap, () => memory.zeroFrame(x));
        expectRejected(KmemError, snap, () => memory.exportBytes(n as number, 4));
        if (!(g instanceof Uint8Array)) expectRejected(KmemError, snap, () => memory.importBytes(0, g as Uint8Array));
        expectRejected(KmemError, snap, () => new SimpleFrameAllocator({ start: 0, frameCount: x }));
        if (g != null) expectRejected(KmemError, snap, () => new Tlb({ setCount: x })); // null / undefined: the default
        if (typeof g !== 'string' && typeof g !== 'bigint' && !Number.isSafeInteger(g)) expectRejected(KmemError, snap, () => splitVa57(g as string));
      }),
      { numRuns: 200 },
    );
    expectRejected(KmemError, snap, () => new SimpleFrameAllocator({ start: 0, frameCount: 2 ** 48 }));
    expectRejected(KmemError, snap, () => virt(undefined as unknown as number));
    expectRejected(KmemError, snap, () => virt({} as unknown as number));
  });
});
