// Random reads and writes against a byte-map reference: same bytes, same errors, invariants hold.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BusError, InvalidPhysicalAddressError, SparsePhysicalMemory } from '../src/index';

const RAM = [
  { base: 0, lengthBytes: 0x9fc00 },
  { base: 0x10_0000, lengthBytes: 0x3000 },
  { base: 0x1_0000_0000, lengthBytes: 0x2000 },
];
/** Frame-granular RAM, as the class documents (partial frames are backed whole). */
const isRam = (pa: number): boolean => RAM.some((r) => pa >= Math.floor(r.base / 4096) * 4096 && pa < Math.ceil((r.base + r.lengthBytes) / 4096) * 4096);

interface Model {
  bytes: Map<number, number>;
}
type Real = SparsePhysicalMemory;

const address = fc.oneof(fc.integer({ min: 0x9e000, max: 0xa1000 }), fc.integer({ min: 0xff000, max: 0x10_4000 }), fc.integer({ min: 0xffff_f000, max: 0x1_0000_3000 }));

function expectFault(fn: () => void, pa: number, aligned: boolean): void {
  if (!aligned) expect(fn).toThrow(InvalidPhysicalAddressError);
  else if (!isRam(pa)) expect(fn).toThrow(BusError);
  else fn();
}

class Write32 implements fc.Command<Model, Real> {
  constructor(
    readonly pa: number,
    readonly value: number,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const ok = this.pa % 4 === 0 && isRam(this.pa);
    expectFault(() => r.write32(this.pa, this.value), this.pa, this.pa % 4 === 0);
    if (ok) for (let i = 0; i < 4; i++) m.bytes.set(this.pa + i, Math.floor(this.value / 2 ** (8 * i)) & 0xff);
    r.checkInvariants();
  }
  toString = () => `write32(${this.pa.toString(16)}, ${this.value})`;
}

class Write8 implements fc.Command<Model, Real> {
  constructor(
    readonly pa: number,
    readonly value: number,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    expectFault(() => r.write8(this.pa, this.value), this.pa, true);
    if (isRam(this.pa)) m.bytes.set(this.pa, this.value & 0xff);
    r.checkInvariants();
  }
  toString = () => `write8(${this.pa.toString(16)}, ${this.value})`;
}

class Read implements fc.Command<Model, Real> {
  constructor(readonly pa: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const before = r.touchedFrameCount;
    if (!isRam(this.pa)) {
      expect(() => r.read8(this.pa)).toThrow(BusError);
      return;
    }
    expect(r.read8(this.pa)).toBe(m.bytes.get(this.pa) ?? 0);
    const w = this.pa - (this.pa % 4);
    let want = 0;
    for (let i = 3; i >= 0; i--) want = want * 256 + (m.bytes.get(w + i) ?? 0);
    expect(r.read32(w)).toBe(want);
    expect(r.touchedFrameCount).toBe(before); // reads never create backing
  }
  toString = () => `read(${this.pa.toString(16)})`;
}

class FrameOp implements fc.Command<Model, Real> {
  constructor(
    readonly pa: number,
    readonly op: 'zero' | 'discard' | 'view',
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const frame = this.pa - (this.pa % 4096);
    const call = () => (this.op === 'zero' ? r.zeroFrame(frame) : this.op === 'discard' ? r.discardFrame(frame) : void r.frameWords(frame)[5]);
    expectFault(call, frame, true);
    if (isRam(frame) && this.op !== 'view') for (let i = 0; i < 4096; i++) m.bytes.delete(frame + i);
    r.checkInvariants();
  }
  toString = () => `${this.op}(${this.pa.toString(16)})`;
}

describe('SparsePhysicalMemory (model-based)', () => {
  it('behaves as a byte map over frame-granular RAM', () => {
    const commands = [
      fc.tuple(address, fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 })).map(([pa, v]) => new Write32(pa - (pa % 2), v)),
      fc.tuple(address, fc.nat(0x1ff)).map(([pa, v]) => new Write8(pa, v)),
      address.map((pa) => new Read(pa)),
      fc.tuple(address, fc.constantFrom('zero' as const, 'discard' as const, 'view' as const)).map(([pa, op]) => new FrameOp(pa, op)),
    ];
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 200 }), (cmds) => {
        fc.modelRun(() => ({ model: { bytes: new Map() }, real: new SparsePhysicalMemory(RAM) }), cmds);
      }),
      { numRuns: 400 },
    );
  });
});
