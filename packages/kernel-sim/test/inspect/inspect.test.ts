// Reading page tables out of dumps: raw and ELF core layouts, registers from notes or given,
// every typed error (truncated, wrong architecture, CR3 outside, loops, budget), the lint rules
// on tables built to break them, walks, backing frames and the diff.
import { describe, expect, it } from 'vitest';
import { PTE, PageSize } from '@kmem/x86-paging';
import {
  BytesDumpSource,
  DumpError,
  backingFrames,
  diffMappings,
  explainWalk,
  inspectPageTables,
  lintPageTables,
  openDump,
  resolvePagingState,
  severityAtLeast,
  type LintFinding,
} from '../../src/index';
import { LONG_MODE, elfCore, tablesInMemory } from './dump-builder';

const K = 0x8000_0000_0000; // canonical 0xffff_8000_0000_0000
const RW = PTE.Present | PTE.Writable;
const NX = PTE.NoExecute;

function rawDump(bytes: Uint8Array): ReturnType<typeof openDump> {
  return openDump(new BytesDumpSource(bytes));
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DumpError);
    return (e as DumpError).code;
  }
  return 'no error';
}

function lint(bytes: Uint8Array, cr3: number, efer: number = LONG_MODE.efer, textRanges?: { start: number; end: number }[]): LintFinding[] {
  const dump = rawDump(bytes);
  const insp = inspectPageTables(dump.memory, resolvePagingState({ ...LONG_MODE, efer, cr3 }, undefined), { loops: 'prune' });
  return lintPageTables(insp, dump.memory, textRanges === undefined ? {} : { textRanges });
}

describe('openDump + inspectPageTables', () => {
  it("reads a raw dump's tables exactly as the Mapper that built them lists them (4K, 2M and 1G pages)", () => {
    const { memory, mapper } = tablesInMemory();
    mapper.mapPages(K, 0x1000, 3, RW | NX | PTE.Global);
    mapper.mapPages(K + (1 << 30), 0x20_0000, 2, RW | NX, { pageSize: PageSize.Size2M });
    mapper.mapPages(0x40_0000, 0x5000, 1, PTE.Present | PTE.User);
    const dump = rawDump(memory.bytes);
    expect(dump.format).toBe('raw');
    const insp = inspectPageTables(dump.memory, resolvePagingState({ cr3: mapper.root }, undefined));
    expect(insp.mappings).toEqual(mapper.mappings());
    expect(insp.state.sources).toEqual({ cr0: 'assumed', cr3: 'given', cr4: 'assumed', efer: 'assumed' });
    // Footprint: the tables the mapper made, each read once, nothing else read.
    expect(insp.scan.tables.length).toBe(mapper.tableFrameCount);
    expect(dump.memory.framesRead).toBe(mapper.tableFrameCount);
    expect(insp.scan.leafCount).toEqual({ page4K: 4, page2M: 2, page1G: 0 });
  });

  it("reads an ELF core's segments (with a hole) and takes CR0/CR3/CR4 from its QEMU note", () => {
    const { memory, mapper } = tablesInMemory();
    mapper.mapPages(K, 0x1000, 1, RW | NX);
    const bytes = memory.bytes;
    const core = elfCore({
      segments: [
        { pa: 0, bytes: bytes.slice(0, 0x10_0000) },
        { pa: 0x20_0000, bytes: bytes.slice(0x20_0000) },
      ],
      cpus: [{ cr0: LONG_MODE.cr0, cr3: mapper.root, cr4: 0x1000a0, longMode: true }],
    });
    const dump = openDump(new BytesDumpSource(core));
    expect(dump.format).toBe('elf-core');
    expect(dump.memory.ramRanges).toEqual([{ base: 0, lengthBytes: 0x10_0000 }, { base: 0x20_0000, lengthBytes: 0x20_0000 }]);
    expect(dump.cpus[0]).toMatchObject({ cr3: mapper.root, cr4: 0x1000a0, longMode: true });
    const state = resolvePagingState({}, dump.cpus[0]);
    expect(state.sources).toEqual({ cr0: 'dump', cr3: 'dump', cr4: 'dump', efer: 'assumed' });
    expect(state.smep).toBe(true);
    expect(inspectPageTables(dump.memory, state).mappings).toEqual(mapper.mappings());
    expect(code(() => dump.memory.read32(0x18_0000))).toBe('E_PA_OUTSIDE_DUMP');
    expect(code(() => dump.memory.write32(0, 1))).toBe('E_DUMP_READ_ONLY');
  });

  it('a CPU outside long mode (QEMU writes EM_386 then) describes no 4-level paging: E_PAGING_MODE unless registers are given', () => {
    const { memory, mapper } = tablesInMemory();
    mapper.mapPages(K, 0x1000, 1, RW);
    const core = elfCore({ segments: [{ pa: 0, bytes: memory.bytes }], cpus: [{ cr0: 0x6000_0010, cr3: 0, cr4: 0, longMode: false }], machine: 3 });
    const dump = openDump(new BytesDumpSource(core));
    // SDM 4.1.1: CR0.PG = 0 means no paging at all.
    expect(code(() => resolvePagingState({}, dump.cpus[0]))).toBe('E_PAGING_MODE');
    expect(inspectPageTables(dump.memory, resolvePagingState({ ...LONG_MODE, cr3: mapper.root }, dump.cpus[0])).mappings).toEqual(mapper.mappings());
  });

  it('refuses the paging modes it does not read (SDM 4.1.1, Table 4-1): 32-bit (PAE = 0), PAE (LME = 0), 5-level (LA57)', () => {
    expect(code(() => resolvePagingState({ cr3: 0x1000, cr4: 0 }, undefined))).toBe('E_PAGING_MODE');
    expect(code(() => resolvePagingState({ cr3: 0x1000, efer: 0x800 }, undefined))).toBe('E_PAGING_MODE');
    expect(code(() => resolvePagingState({ cr3: 0x1000, cr4: 0x20 | (1 << 12) }, undefined))).toBe('E_PAGING_MODE');
    expect(code(() => resolvePagingState({}, undefined))).toBe('E_INVALID_REGISTER');
    expect(code(() => resolvePagingState({ cr3: -1 }, undefined))).toBe('E_INVALID_REGISTER');
    // CR3 bits 11:0 are the PCID with CR4.PCIDE (SDM 4.10.1), not part of the address.
    const s = resolvePagingState({ cr3: 0x1234_5005, cr4: 0x20 | (1 << 17) }, undefined);
    expect([s.rootPa, s.pcid]).toEqual([0x1234_5000, 5]);
  });

  it('typed errors for a truncated dump, the wrong architecture and a CR3 outside the dump', () => {
    const { memory, mapper } = tablesInMemory(1 << 20);
    const core = elfCore({ segments: [{ pa: 0, bytes: memory.bytes }], cpus: [{ ...LONG_MODE, cr3: mapper.root, longMode: true }] });
    for (const cut of [3, 20, 64, 100, 200, core.length - 1]) expect(code(() => openDump(new BytesDumpSource(core.slice(0, cut))))).toBe('E_DUMP_TRUNCATED');
    expect(code(() => rawDump(new Uint8Array(4097)))).toBe('E_DUMP_TRUNCATED');
    expect(code(() => rawDump(new Uint8Array(0)))).toBe('E_DUMP_FORMAT');
    expect(code(() => openDump(new BytesDumpSource(elfCore({ segments: [], machine: 183 }))))).toBe('E_DUMP_ARCH'); // AArch64
    const elf32 = elfCore({ segments: [] });
    elf32[4] = 1;
    expect(code(() => openDump(new BytesDumpSource(elf32)))).toBe('E_DUMP_ARCH');
    const bigEndian = elfCore({ segments: [] });
    bigEndian[5] = 2;
    expect(code(() => openDump(new BytesDumpSource(bigEndian)))).toBe('E_DUMP_ARCH');
    const dump = rawDump(memory.bytes);
    expect(code(() => inspectPageTables(dump.memory, resolvePagingState({ cr3: 0x4000_0000 }, undefined)))).toBe('E_CR3_OUTSIDE_DUMP');
  });

  it('an entry pointing back up the tree is E_TABLE_LOOP (or a lint error when pruned), never a hang; a recursive PML4 slot is allowed and skipped', () => {
    const { memory, mapper } = tablesInMemory();
    mapper.mapPages(0x1000, 0x1000, 1, RW);
    const pdpt = memory.read32(mapper.root) & ~0xfff;
    // PDPT[1] -> the PML4: the CPU would read the PML4 as a page directory.
    memory.write32(pdpt + 8, mapper.root | RW);
    const dump = rawDump(memory.bytes);
    const state = resolvePagingState({ cr3: mapper.root }, undefined);
    expect(code(() => inspectPageTables(dump.memory, state))).toBe('E_TABLE_LOOP');
    const findings = lint(memory.bytes, mapper.root);
    expect(findings.map((f) => [f.rule, f.severity])).toContainEqual(['table-loop', 'error']);
    // Pruned, the loop adds nothing: only the page that was mapped (a naive walk lists the PML4's entries as pages).
    expect(inspectPageTables(dump.memory, state, { loops: 'prune' }).mappings).toEqual([{ start: 0x1000, end: 0x2000, pa: 0x1000, flags: RW, pageSizeBytes: 4096 }]);

    const r = tablesInMemory();
    r.mapper.mapPages(K, 0x1000, 1, RW | NX);
    r.memory.write32(r.mapper.root + 510 * 8, r.mapper.root | RW); // the recursive-mapping design
    const rd = rawDump(r.memory.bytes);
    const insp = inspectPageTables(rd.memory, resolvePagingState({ cr3: r.mapper.root }, undefined));
    // Through slot 510 (0xffff_ff00_0000_0000..) every table would show up as a page: skipped.
    expect(insp.mappings).toEqual(r.mapper.mappings().filter((m) => m.start < 510 * 2 ** 39));
    expect(lint(r.memory.bytes, r.mapper.root).map((f) => f.rule)).toEqual(['recursive-slot']);
  });

  it('tables shared so much that listing would explode are refused up front (E_TABLE_BUDGET), after reading each table once', () => {
    const { memory, mapper } = tablesInMemory(1 << 20);
    const [p, d, t] = [0x1000, 0x2000, 0x3000];
    for (let i = 0; i < 512; i++) {
      memory.write32(mapper.root + i * 8, p | RW);
      memory.write32(p + i * 8, d | RW);
      memory.write32(d + i * 8, t | RW);
      memory.write32(t + i * 8, 0x8000 | RW);
    }
    const dump = rawDump(memory.bytes);
    expect(code(() => inspectPageTables(dump.memory, resolvePagingState({ cr3: mapper.root }, undefined)))).toBe('E_TABLE_BUDGET');
    expect(dump.memory.framesRead).toBe(4);
  });
});

describe('lintPageTables', () => {
  it('W^X: a kernel page writable at every level and XD clear at every level (SDM 4.6) is an error, as CONFIG_DEBUG_WX reports it', () => {
    const { memory, mapper } = tablesInMemory();
    mapper.mapPages(K, 0x1000, 2, RW | NX);
    mapper.mapPages(K + 0x2000, 0x3000, 3, RW);
    const f = lint(memory.bytes, mapper.root).filter((x) => x.rule === 'wx');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ severity: 'error', start: '0xffff_8000_0000_2000', end: '0xffff_8000_0000_5000', pageCount: 3 });
    expect(f[0]!.entries.map((e) => e.level)).toEqual(['PML4', 'PDPT', 'PD', 'PT']);
    // Without NXE nothing can be NX (bit 63 reserved, SDM 4.6.2): one nx-disabled finding instead.
    const off = lint(memory.bytes, mapper.root, 0x500).map((x) => x.rule);
    expect(off).toContain('nx-disabled');
    expect(off).not.toContain('wx');
  });

  it('user-accessible kernel-half pages, executable data outside the text ranges, and kernel text writable through an alias', () => {
    const { memory, mapper } = tablesInMemory();
    mapper.mapPages(K, 0x1000, 1, RW | PTE.User | NX);
    mapper.mapPages(K + 0x10_0000, 0x8000, 2, PTE.Present); // text: R-X
    mapper.mapPages(K + 0x20_0000, 0x9000, 1, RW | NX); // its second frame, writable elsewhere
    const text = [{ start: K + 0x10_0000, end: K + 0x10_2000 }];
    const rules = lint(memory.bytes, mapper.root, LONG_MODE.efer, text).map((f) => `${f.rule} ${f.start}`);
    expect(rules).toContain('user-in-kernel-half 0xffff_8000_0000_0000');
    expect(rules).toContain('kernel-text-writable 0xffff_8000_0020_0000');
    expect(rules).not.toContain('nx-missing 0xffff_8000_0010_0000');
    const noText = lint(memory.bytes, mapper.root, LONG_MODE.efer, []).map((f) => `${f.rule} ${f.start}`);
    expect(noText).toContain('nx-missing 0xffff_8000_0010_0000');
  });

  it('reserved bits in a present entry (SDM 4.7: #PF with RSVD) are an error and their range is left out; leaves outside the dump are listed', () => {
    const { memory, mapper } = tablesInMemory();
    mapper.mapPages(K, 0x1000, 2, RW | NX);
    mapper.mapPages(K + 0x10_0000, 0x8000_0000, 1, RW | NX | PTE.CacheDisable); // MMIO-like, outside the 4 MiB dump
    const pt = mapper.walk(K).at(-1)!.tableFrame;
    memory.write32(pt + 4, memory.read32(pt + 4) | (1 << 19)); // address bit 51, above MAXPHYADDR 40
    const dump = rawDump(memory.bytes);
    const insp = inspectPageTables(dump.memory, resolvePagingState({ ...LONG_MODE, cr3: mapper.root }, undefined, 40));
    expect(insp.mappings[0]!.start).toBe(K + 0x1000);
    const f = lintPageTables(insp, dump.memory);
    expect(f.find((x) => x.rule === 'reserved-bits')).toMatchObject({ severity: 'error', start: '0xffff_8000_0000_0000' });
    expect(f.find((x) => x.rule === 'leaf-outside-ram')).toMatchObject({ severity: 'info', pa: '0x8000_0000' });
    expect(explainWalk(dump.memory, insp.state, K).fault).toContain('RSVD');
  });

  it('severityAtLeast orders info < warning < error', () => {
    expect(severityAtLeast('error', 'warning')).toBe(true);
    expect(severityAtLeast('info', 'warning')).toBe(false);
    expect(severityAtLeast('warning', 'warning')).toBe(true);
  });
});

describe('explainWalk, backingFrames, diffMappings', () => {
  it('explains each level and the combined rights; a missing table ends the walk with a reason', () => {
    const { memory, mapper } = tablesInMemory();
    mapper.mapPages(K + 0x20_0000, 0x20_0000, 1, RW | NX | PTE.Global, { pageSize: PageSize.Size2M });
    const dump = rawDump(memory.bytes);
    const state = resolvePagingState({ cr3: mapper.root }, undefined);
    const w = explainWalk(dump.memory, state, K + 0x20_0123);
    expect(w.pa).toBe(0x20_0123);
    expect(w.rights).toBe('-rw-');
    expect(w.text).toContain('PD   index 1 = address bits 29:21');
    expect(w.text).toContain('maps a 2 MiB page (PS = 1) at 0x20_0000');
    expect(explainWalk(dump.memory, state, 0x1000).fault).toContain('not present at PML4');
    const pml4e = memory.read32(mapper.root + 256 * 8);
    memory.write32(mapper.root + 256 * 8, 0x7000_0000 | (pml4e & 0xfff)); // a PDPT beyond the dump
    expect(explainWalk(rawDump(memory.bytes).memory, state, K).fault).toContain('not in the dump');
  });

  it('backingFrames clips mappings to the range and reports the gaps', () => {
    const { memory, mapper } = tablesInMemory();
    mapper.mapPages(K + 0x1000, 0x5000, 2, RW);
    const insp = inspectPageTables(rawDump(memory.bytes).memory, resolvePagingState({ cr3: mapper.root }, undefined));
    expect(backingFrames(insp.mappings, K, K + 0x2800)).toEqual([
      { start: K, end: K + 0x1000, pa: null, flags: 0, pageSizeBytes: 0 },
      { start: K + 0x1000, end: K + 0x2800, pa: 0x5000, flags: RW, pageSizeBytes: 4096 },
    ]);
  });

  it('diffMappings reports added, removed and changed pieces, merged where they continue each other', () => {
    const a = [
      { start: 0x1000, end: 0x4000, pa: 0x10_000, flags: RW, pageSizeBytes: 4096 },
      { start: 0x8000, end: 0x9000, pa: 0x20_000, flags: RW, pageSizeBytes: 4096 },
    ];
    const b = [
      { start: 0x1000, end: 0x2000, pa: 0x10_000, flags: RW, pageSizeBytes: 4096 },
      { start: 0x2000, end: 0x4000, pa: 0x11_000, flags: PTE.Present, pageSizeBytes: 4096 },
      { start: 0xa000, end: 0xb000, pa: 0x30_000, flags: RW, pageSizeBytes: 4096 },
    ];
    const d = diffMappings(a, b);
    expect(d.map((e) => [e.kind, e.start, e.end, e.changes])).toEqual([
      ['changed', 0x2000, 0x4000, ['rights -rwx -> -r-x']],
      ['removed', 0x8000, 0x9000, []],
      ['added', 0xa000, 0xb000, []],
    ]);
  });
});
