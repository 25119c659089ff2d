import { describe, expect, it } from 'vitest';
import {
  Access,
  Cpu,
  CR4,
  GeneralProtectionFault,
  InvalidControlRegisterError,
  Mode,
  PageFaultAbortedError,
  PageFaultErrorCode as E,
  type PageFaultInfo,
  PTE,
  RepeatedPageFaultError,
  UnhandledPageFaultError,
  FaultNestingError,
  EFER,
  decodePageFaultErrorCode,
} from '../src/index';
import { RawPaging } from './raw-paging';

const VA = 0x7f12_3456_7000;
const A = 0x40_0000;
const URW = PTE.Present | PTE.Writable | PTE.User;

function setup(mode: Mode = Mode.User) {
  const t = new RawPaging();
  const cpu = new Cpu({ memory: t.memory, registers: { cr3Frame: t.pml4 }, mode });
  return { t, cpu };
}

describe('Cpu loads and stores', () => {
  it('writes and reads back 8/16/32/64-bit values, little-endian, through the page tables', () => {
    const { t, cpu } = setup();
    t.map(VA, A, URW);
    cpu.write32(VA + 0x10, 0xdead_beef);
    expect(t.memory.read32(A + 0x10)).toBe(0xdead_beef);
    expect(cpu.read8(VA + 0x10)).toBe(0xef);
    expect(cpu.read16(VA + 0x11)).toBe(0xadbe);
    cpu.write64(VA + 0x20, 0x0123_4567_89ab_cdefn);
    expect(cpu.read64(VA + 0x20)).toBe(0x0123_4567_89ab_cdefn);
    expect(cpu.read32(VA + 0x24)).toBe(0x0123_4567);
    cpu.write16(VA + 0x31, 0x1234);
    expect(t.memory.read8(A + 0x31)).toBe(0x34);
    cpu.write8(VA + 0x40, -1);
    expect(cpu.read8(VA + 0x40)).toBe(0xff);
  });

  it('splits an access that crosses a page boundary over two unrelated frames', () => {
    const { t, cpu } = setup();
    t.map(VA, A, URW);
    t.map(VA + 4096, 0x70_0000, URW);
    cpu.write32(VA + 4094, 0x4433_2211);
    expect(t.memory.read8(A + 4094)).toBe(0x11);
    expect(t.memory.read8(A + 4095)).toBe(0x22);
    expect(t.memory.read8(0x70_0000)).toBe(0x33);
    expect(t.memory.read8(0x70_0001)).toBe(0x44);
    expect(cpu.read32(VA + 4094)).toBe(0x4433_2211);
    cpu.write64(VA + 4092, 0x8877_6655_4433_2211n);
    expect(cpu.read64(VA + 4092)).toBe(0x8877_6655_4433_2211n);
  });

  it('copies byte strings across pages with readBytes / writeBytes', () => {
    const { t, cpu } = setup();
    for (let i = 0; i < 3; i++) t.map(VA + i * 4096, A + i * 8192, URW);
    const src = new Uint8Array(9000).map((_, i) => (i * 7) & 0xff);
    cpu.writeBytes(VA + 100, src);
    const dst = new Uint8Array(9000);
    cpu.readBytes(VA + 100, dst);
    expect(dst).toEqual(src);
    expect(t.memory.read8(A + 8192)).toBe(src[4096 - 100]);
  });

  it('accepts the canonical 64-bit form as a bigint', () => {
    const { t, cpu } = setup(Mode.Supervisor);
    t.map(0xffff_8000_0000_0000 - 0xffff_0000_0000_0000, A, PTE.Present | PTE.Writable);
    cpu.write32(0xffff_8000_0000_0008n, 42);
    expect(cpu.read32(0x8000_0000_0008)).toBe(42);
  });

  it('fetches through the execute check: NX stops it with I/D (SDM 4.6.1, 4.7)', () => {
    const { t, cpu } = setup();
    t.map(VA, A, URW | PTE.NoExecute);
    t.memory.write8(A, 0x90);
    expect(cpu.read8(VA)).toBe(0x90);
    const faults: PageFaultInfo[] = [];
    cpu.onPageFault((f) => {
      faults.push(f);
      return 'abort';
    });
    expect(() => cpu.fetch8(VA)).toThrow(PageFaultAbortedError);
    expect(faults[0]).toMatchObject({ errorCode: E.Present | E.User | E.InstructionFetch, access: Access.Execute, mode: Mode.User });
  });
});

describe('Cpu page-fault delivery (vector 14)', () => {
  it('records CR2 and the error code, calls the handler, and retries the access after the fix (SDM 4.7; vol. 3A 6.15 #PF)', () => {
    const { t, cpu } = setup();
    const seen: PageFaultInfo[] = [];
    cpu.setHandler(14, (f) => {
      seen.push(f);
      t.map(f.cr2 - (f.cr2 % 4096), A, URW);
      return 'retry';
    });
    cpu.write32(VA + 12, 7);
    expect(cpu.read32(VA + 12)).toBe(7);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ vector: 14, cr2: VA + 12, errorCode: E.Write | E.User, level: 4, access: Access.Write, mode: Mode.User, attempt: 1 });
    expect(seen[0]!.decoded.description).toBe('user-mode write to a non-present page [W/R U/S]');
    expect(cpu.cr2).toBe(VA + 12);
    expect(cpu.lastErrorCode).toBe(E.Write | E.User);
    expect(cpu.pageFaultCount).toBe(1);
  });

  it('hands every fault the decoded form of its own error code, one frozen object per distinct code', () => {
    const { t, cpu } = setup();
    const seen: PageFaultInfo[] = [];
    cpu.setHandler(14, (f) => {
      seen.push(f);
      if (f.errorCode === (E.Present | E.Write | E.User)) t.map(f.cr2 - (f.cr2 % 4096), A, URW);
      else t.map(f.cr2 - (f.cr2 % 4096), A, PTE.Present | PTE.User); // read-only: the write faults again
      return 'retry';
    });
    cpu.write32(VA, 1);
    cpu.write32(VA + 0x1000, 2);
    expect(seen.map((f) => f.errorCode)).toEqual([E.Write | E.User, E.Present | E.Write | E.User, E.Write | E.User, E.Present | E.Write | E.User]);
    for (const f of seen) expect(f.decoded).toEqual(decodePageFaultErrorCode(f.errorCode));
    expect(seen[1]!.decoded.description).toBe('user-mode write to a present page denied: protection violation [P W/R U/S]');
    expect(seen[2]!.decoded).toBe(seen[0]!.decoded);
    expect(seen[0]!.decoded).not.toBe(seen[1]!.decoded);
    expect(Object.isFrozen(seen[0]!.decoded)).toBe(true);
  });

  it('reports the second page of a page-crossing access, and writes nothing when it is aborted', () => {
    const { t, cpu } = setup();
    t.map(VA, A, URW);
    t.memory.write32(A + 4092, 0x1111_1111);
    cpu.onPageFault(() => 'abort');
    let caught: unknown;
    try {
      cpu.write64(VA + 4092, 0x2222_2222_2222_2222n);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PageFaultAbortedError);
    expect((caught as PageFaultAbortedError).fault.cr2).toBe(VA + 4096);
    expect((caught as PageFaultAbortedError).code).toBe('E_PAGE_FAULT_ABORTED');
    expect(t.memory.read32(A + 4092)).toBe(0x1111_1111);
  });

  it('throws UnhandledPageFaultError when no handler is registered', () => {
    const { cpu } = setup();
    expect(() => cpu.read8(VA)).toThrow(UnhandledPageFaultError);
    expect(cpu.cr2).toBe(VA);
  });

  it('bounds a handler that retries without fixing anything', () => {
    const { cpu } = setup();
    let calls = 0;
    cpu.onPageFault(() => {
      calls++;
      return 'retry';
    });
    expect(() => cpu.read8(VA)).toThrow(RepeatedPageFaultError);
    expect(calls).toBe(cpu.maxRepeatedFaults + 1);
  });

  it('bounds runaway nested faults (a handler that faults on every access)', () => {
    const { cpu } = setup();
    cpu.onPageFault((f, c) => {
      c.read8(f.cr2 + 4096);
      return 'retry';
    });
    expect(() => cpu.read8(VA)).toThrow(FaultNestingError);
  });

  it('delivers a user access to a supervisor page as P | U/S (SDM 4.6.1)', () => {
    const { t, cpu } = setup();
    t.map(VA, A, PTE.Present | PTE.Writable);
    let code = -1;
    cpu.onPageFault((f) => {
      code = f.errorCode;
      return 'abort';
    });
    expect(() => cpu.read8(VA)).toThrow(PageFaultAbortedError);
    expect(code).toBe(E.Present | E.User);
    expect(cpu.read8(VA, Mode.Supervisor)).toBe(0);
  });

  it('lets a copy-on-write style handler upgrade rights and retry (the #PF dropped the TLB entry)', () => {
    const { t, cpu } = setup();
    t.map(VA, A, PTE.Present | PTE.User);
    expect(cpu.read8(VA)).toBe(0);
    cpu.onPageFault(() => {
      t.map(VA, 0x60_0000, URW);
      return 'retry';
    });
    cpu.write8(VA, 5);
    expect(t.memory.read8(0x60_0000)).toBe(5);
    expect(cpu.pageFaultCount).toBe(1);
  });
});

describe('Cpu #GP for non-canonical addresses', () => {
  it('raises #GP, not #PF, for a non-canonical bigint address (SDM vol. 3A 3.3.7.1; 6.15 #GP)', () => {
    const { cpu } = setup();
    let pf = 0;
    cpu.onPageFault(() => {
      pf++;
      return 'abort';
    });
    expect(() => cpu.read8(0x0000_8000_0000_0000n)).toThrow(GeneralProtectionFault);
    expect(() => cpu.read8(0x1234_0000_0000_0000n)).toThrow(GeneralProtectionFault);
    expect(() => cpu.read8(2 ** 48)).toThrow(GeneralProtectionFault);
    expect(pf).toBe(0);
    expect(cpu.generalProtectionCount).toBe(3);
  });

  it('raises #GP when an access runs from the lower half into the non-canonical hole (SDM vol. 3A 3.3.7.1; 6.15 #GP)', () => {
    const { t, cpu } = setup();
    t.map(0x7fff_ffff_f000, A, URW);
    expect(cpu.read8(0x7fff_ffff_ffff)).toBe(0);
    expect(() => cpu.read32(0x7fff_ffff_fffe)).toThrow(GeneralProtectionFault);
  });

  it('calls the vector-13 handler with the address and error code 0 (SDM vol. 3A 6.15 #GP: #GP(0) for a non-canonical address)', () => {
    const { cpu } = setup();
    const seen: string[] = [];
    cpu.setHandler(13, (f) => {
      seen.push(`${f.address} ${f.errorCode}`);
      return 'abort';
    });
    let caught: unknown;
    try {
      cpu.write8(0xdead_0000_0000_0000n, 1);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(GeneralProtectionFault);
    expect((caught as GeneralProtectionFault).code).toBe('E_GENERAL_PROTECTION');
    expect(seen).toEqual(['0xdead000000000000 0']);
  });
});

describe('Cpu registers and context switches', () => {
  it('switches between two address spaces with writeCr3', () => {
    const a = new RawPaging();
    const cpu = new Cpu({ memory: a.memory, registers: { cr3Frame: a.pml4 } });
    a.map(VA, A, URW);
    const before = cpu.saveContext();
    const pml4b = a.alloc();
    cpu.memory.write32(pml4b, 0); // empty address space
    cpu.switchAddressSpace(pml4b);
    expect(cpu.translate(VA, Access.Read).fault).toBe(true);
    cpu.restoreContext(before);
    expect(cpu.translate(VA, Access.Read).pa).toBe(A);
  });

  it('rejects a misaligned CR3, a no-flush write without PCIDE, and PCIDE with CR3[11:0] ≠ 0 (SDM 4.10.1)', () => {
    const { t, cpu } = setup();
    expect(() => cpu.writeCr3(t.pml4 + 8)).toThrow(InvalidControlRegisterError);
    expect(() => cpu.writeCr3(t.pml4, { noFlush: true })).toThrow(InvalidControlRegisterError);
    cpu.writeCr3(t.pml4, { pcid: 5 });
    expect(() => cpu.writeCr4(cpu.registers.cr4 | CR4.PCIDE)).toThrow(InvalidControlRegisterError);
    expect(cpu.registers.cr4 & CR4.PCIDE).toBe(0);
  });

  it('decodes a raw 64-bit CR3 operand: frame, PCID and the no-flush bit 63 (SDM 4.10.1, 4.10.4.1)', () => {
    const { t, cpu } = setup();
    cpu.writeCr4(cpu.registers.cr4 | CR4.PCIDE);
    t.map(VA, A, URW);
    cpu.writeCr3Raw(BigInt(t.pml4) | 3n);
    expect(cpu.registers.pcid).toBe(3);
    cpu.translate(VA, Access.Read);
    t.map(VA, 0x60_0000, URW);
    cpu.writeCr3Raw((1n << 63n) | BigInt(t.pml4) | 3n);
    expect(cpu.translate(VA, Access.Read).pa).toBe(A);
    cpu.writeCr3Raw(BigInt(t.pml4) | 3n);
    expect(cpu.translate(VA, Access.Read).pa).toBe(0x60_0000);
    expect(cpu.registers.cr3Value()).toBe(BigInt(t.pml4) | 3n);
  });

  it('STAC/CLAC toggle RFLAGS.AC, which SMAP consults (SDM 4.6.1)', () => {
    const { t, cpu } = setup(Mode.Supervisor);
    cpu.writeCr4(cpu.registers.cr4 | CR4.SMAP);
    t.map(VA, A, URW);
    cpu.onPageFault(() => 'abort');
    expect(() => cpu.read8(VA)).toThrow(PageFaultAbortedError);
    cpu.stac();
    expect(cpu.read8(VA)).toBe(0);
    cpu.clac();
    expect(() => cpu.read8(VA)).toThrow(PageFaultAbortedError);
  });

  it('turning EFER.NXE off makes XD a reserved bit (SDM 4.5, 4.7: RSVD)', () => {
    const { t, cpu } = setup();
    t.map(VA, A, URW | PTE.NoExecute);
    cpu.writeEfer(cpu.registers.efer & ~EFER.NXE);
    expect(cpu.translate(VA, Access.Read).errorCode).toBe(E.Present | E.User | E.ReservedBit);
  });

  it('passes checkInvariants after a mix of operations', () => {
    const { t, cpu } = setup();
    cpu.onPageFault((f) => {
      t.map(f.cr2 - (f.cr2 % 4096), A, URW);
      return 'retry';
    });
    for (let i = 0; i < 20; i++) cpu.write8(VA + i * 4096 + i, i);
    cpu.invlpg(VA);
    cpu.checkInvariants();
  });
});
