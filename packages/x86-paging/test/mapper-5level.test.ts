// The Mapper in 5-level paging (SDM vol. 3A 4.5 with CR4.LA57 = 1): a PML5 indexed by linear bits
// 56:48 above the PML4, canonical addresses with bits 63:57 equal to bit 56. Numbers hold addresses
// below 2^53; above, the API takes the canonical bigint and reports page addresses as exact numbers.
import { describe, expect, it } from 'vitest';
import { FIVE_LEVEL_GEOMETRY, PTE, PageSize, PagingMode, type RecursiveTableAccess } from '../src/index';
import { snapshot } from './mapper-fixture';
import { FIVE_LEVEL, codeOf, modeMachine, modeMapper } from './mode-machines';

const RW = PTE.Present | PTE.Writable;
/** Linear form of canonical 0xff11_0000_0000_0000 (Linux's 5-level direct map): 0x0111_0000_0000_0000. */
const KERNEL_LINEAR = 0x0111n << 48n;

describe('Mapper in 5-level paging', () => {
  it('indexes the PML5 with linear bits 56:48 and maps above 2^47, where 4-level paging has no addresses', () => {
    const { memory, mapper } = modeMapper(PagingMode.FiveLevel);
    expect(mapper.mapPages(2 ** 52, 0x40_0000, 2, RW | PTE.User)).toBe(true);
    const pml5e = memory.read32(mapper.root + 16 * 8); // 2^52 >> 48 = 16
    expect(pml5e & (PTE.Present | PTE.Writable | PTE.User)).toBe(PTE.Present | PTE.Writable | PTE.User);
    expect(mapper.translate(2 ** 52 + 0x1234)).toMatchObject({ va: 2 ** 52 + 0x1234, pa: 0x40_1234, pageSizeBytes: 4096, level: 1 });
    expect(mapper.walk(2 ** 52).map((s) => s.levelName)).toEqual(['PML5', 'PML4', 'PDPT', 'PD', 'PT']);
    mapper.checkInvariants();
  });

  it('takes the upper half as canonical bigints and reports page addresses there as exact numbers', () => {
    const { mapper } = modeMapper(PagingMode.FiveLevel);
    expect(mapper.mapPages(0xff11_0000_0000_0000n, 0x20_0000, 2, RW | PTE.NoExecute, { pageSize: PageSize.Size2M })).toBe(true);
    const t = mapper.translate(0xff11_0000_0020_1234n)!;
    expect([t.pa, t.pageSizeBytes]).toEqual([0x40_1234, 2 * 1024 * 1024]);
    expect(t.va).toBeNaN(); // a byte address above 2^53 has no exact number
    expect(BigInt(mapper.translate(0xff11_0000_0020_0000n)!.va)).toBe(KERNEL_LINEAR + 0x20_0000n); // a page address does
    const [range] = mapper.mappings();
    expect(BigInt(range!.start)).toBe(KERNEL_LINEAR);
    expect(mapper.formatMappings()).toBe('0xff11_0000_0000_0000-0xff11_0000_0040_0000 0x40_0000 -rw- 2M -> 0x20_0000');
    const out = mapper.unmapPages(0xff11_0000_0000_1000n, 1)!;
    expect(BigInt(out[0]!.va)).toBe(KERNEL_LINEAR + 0x1000n);
    expect(mapper.leafEntry(0xff11_0000_0000_1000n)).toMatchObject({ present: false, level: 1 });
    mapper.checkInvariants();
  });

  it('prints 57-bit canonical addresses and names the PML5 in walks', () => {
    const { mapper } = modeMapper(PagingMode.FiveLevel);
    mapper.mapPages(0xff11_0000_0000_0000n, 0x9000, 1, RW);
    const text = mapper.formatWalk(0xff11_0000_0000_0abcn);
    expect(text.split('\n')[0]).toBe('walk of 0xff11_0000_0000_0abc (5-level paging)');
    expect(text.split('\n')[1]).toMatch(/^ {2}PML5\[273\] /);
    expect(FIVE_LEVEL_GEOMETRY.formatEnd(2 ** 56)).toBe('0x0100_0000_0000_0000');
  });

  it('rejects numbers at or above 2^53, non-canonical bigints and ranges crossing the hole at 2^56, changing nothing', () => {
    const { memory, mapper } = modeMapper(PagingMode.FiveLevel);
    const before = snapshot(memory);
    expect(codeOf(() => mapper.mapPages(2 ** 53, 0, 1, RW))).toBe('E_INVALID_ADDRESS');
    expect(codeOf(() => mapper.translate(2 ** 56))).toBe('E_INVALID_ADDRESS');
    expect(codeOf(() => mapper.mapPages(0x0100_0000_0000_0000n, 0, 1, RW))).toBe('E_NON_CANONICAL'); // bit 56 set, 63:57 clear
    expect(codeOf(() => mapper.mapPages(0x00ff_ffff_ffff_f000n, 0, 2, RW))).toBe('E_CROSSES_CANONICAL_HOLE');
    expect(codeOf(() => mapper.translate(0xff11_0000_0000_0001n))).toBe('no error'); // any byte: translate splits page and offset
    expect(snapshot(memory)).toBe(before);
  });

  it('a 57-bit address in 4-level paging needs 5-level paging: E_WRONG_PAGING_MODE', () => {
    const { mapper } = modeMapper(PagingMode.FourLevel);
    expect(codeOf(() => mapper.mapPages(0xff11_0000_0000_0000n, 0, 1, RW))).toBe('E_WRONG_PAGING_MODE');
    expect(codeOf(() => mapper.mapPages(0xffff_8000_0000_0000n, 0, 1, RW))).toBe('no error'); // canonical in 4-level too
    expect(mapper.translate(0xffff_8000_0000_0123n)!.pa).toBe(0x123);
  });

  it('puts a recursive slot in the PML5: the PML5 at (s,s,s,s,s), above 2^56, reached through the Cpu with exact bigints', () => {
    const m = modeMachine(FIVE_LEVEL, 'recursive');
    const r = m.access as RecursiveTableAccess;
    expect(r.slot).toBe(510);
    expect(FIVE_LEVEL_GEOMETRY.formatVa(r.recursiveAddress(5, 0))).toBe('0xfffe_ff7f_bfdf_e000');
    expect(FIVE_LEVEL_GEOMETRY.formatVa(r.recursiveAddress(1, Number(KERNEL_LINEAR)))).toBe('0xfffe_8880_0000_0000');
    expect(m.mapper.mapPages(0xff11_0000_0000_0000n, 0x30_0000, 3, RW)).toBe(true);
    // The MMU of the mode agrees with the Mapper on the new mapping.
    expect(m.cpu.translate(0xff11_0000_0000_2abcn, 0).pa).toBe(0x30_2abc);
    expect(m.mapper.translate(0xff11_0000_0000_2abcn)!.pa).toBe(0x30_2abc);
    m.mapper.checkInvariants();
  });
});
