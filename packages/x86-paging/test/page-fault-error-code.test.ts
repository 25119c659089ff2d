import { describe, expect, it } from 'vitest';
import { decodePageFaultErrorCode, describePageFaultErrorCode, InvalidErrorCodeError, PageFaultErrorCode as E, pageFaultErrorCodeBits } from '../src/index';

describe('PageFaultErrorCode', () => {
  it('has the bit positions of SDM 4.7 Figure 4-12: P 0, W/R 1, U/S 2, RSVD 3, I/D 4, PK 5, SS 6, SGX 15', () => {
    expect([E.Present, E.Write, E.User, E.ReservedBit, E.InstructionFetch, E.ProtectionKey, E.ShadowStack, E.Sgx]).toEqual([1, 2, 4, 8, 16, 32, 64, 0x8000]);
  });
});

describe('decodePageFaultErrorCode (SDM 4.7, Figure 4-12)', () => {
  it('splits a user write protection violation (0x7) into booleans', () => {
    const d = decodePageFaultErrorCode(0x7);
    expect(d).toMatchObject({ errorCode: 7, present: true, write: true, user: true, reservedBit: false, instructionFetch: false, protectionKey: false, shadowStack: false });
    expect(d.description).toBe('user-mode write to a present page denied: protection violation [P W/R U/S]');
  });

  it('describes a supervisor read of a non-present page (0x0)', () => {
    expect(describePageFaultErrorCode(0)).toBe('supervisor-mode read from a non-present page [-]');
  });

  it('describes an instruction fetch blocked by NX (0x15)', () => {
    expect(describePageFaultErrorCode(0x15)).toBe('user-mode instruction fetch from a present page denied: protection violation [P U/S I/D]');
  });

  it('describes a reserved-bit fault (0x9) and a protection-key fault (0x27)', () => {
    expect(describePageFaultErrorCode(0x9)).toMatch(/reserved bit set in a paging-structure entry \[P RSVD\]/);
    expect(describePageFaultErrorCode(0x27)).toMatch(/protection-key violation \[P W\/R U\/S PK\]/);
  });

  it('mentions a shadow-stack access', () => {
    expect(decodePageFaultErrorCode(0x47).description).toMatch(/shadow-stack/);
    expect(pageFaultErrorCodeBits(0x47)).toEqual(['P', 'W/R', 'U/S', 'SS']);
  });

  it('rejects a value that is not an unsigned 32-bit integer', () => {
    expect(() => decodePageFaultErrorCode(-1)).toThrow(InvalidErrorCodeError);
    expect(() => decodePageFaultErrorCode(1.5)).toThrow(InvalidErrorCodeError);
    expect(() => describePageFaultErrorCode(2 ** 32)).toThrow(InvalidErrorCodeError);
  });
});
