import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ArrayBufferPhysicalMemory,
  Cpu,
  DIRECT_MAP_BASE,
  DirectMapTableAccess,
  Mapper,
  Mode,
  PhysicalTableAccess,
  PTE,
  RecursiveTableAccess,
  SimpleFrameAllocator,
  TableAccessFaultError,
  type TableAccess,
  WINDOW_BASE,
  WindowTableAccess,
  PageSize,
} from '../src/index';

const MEMORY_BYTES = 16 * 1024 * 1024;
const USER_BASE = 0x10_0000_0000; // 64 GiB, user half
const KERNEL = PTE.Present | PTE.Writable;

type Strategy = 'physical' | 'direct map' | 'recursive' | 'window';

/** A machine whose kernel edits its tables with one strategy. */
function machine(strategy: Strategy, options: { flushOnRemap?: boolean } = {}) {
  const memory = new ArrayBufferPhysicalMemory(MEMORY_BYTES);
  const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount: (MEMORY_BYTES - 0x10_0000) / 4096 });
  const root = allocator.allocFrame()!;
  memory.zeroFrame(root);
  const boot = new PhysicalTableAccess(memory);
  const cpu = new Cpu({ memory, registers: { cr3Frame: root } });
  let access: TableAccess = boot;
  const reservedPml4Slots: number[] = [];
  if (strategy === 'direct map') {
    // Boot code builds the direct map physically, then the kernel switches to it.
    const bootMapper = new Mapper({ access: boot, allocator, root });
    bootMapper.mapRange(DIRECT_MAP_BASE, 0, MEMORY_BYTES, KERNEL | PTE.Global);
    access = new DirectMapTableAccess(cpu);
  } else if (strategy === 'recursive') {
    RecursiveTableAccess.install(boot, root, 510);
    reservedPml4Slots.push(510);
    access = new RecursiveTableAccess(cpu, { slot: 510 });
  } else if (strategy === 'window') {
    WindowTableAccess.install(boot, allocator, root, WINDOW_BASE);
    access = new WindowTableAccess(cpu, { flushOnRemap: options.flushOnRemap ?? true });
  }
  const mapper = new Mapper({ access, allocator, root, tlb: cpu, reservedPml4Slots });
  return { memory, allocator, cpu, mapper, access, root };
}

type Op =
  | { kind: 'map'; page: number; pageCount: number; frame: number; flags: number; huge: boolean }
  | { kind: 'unmap'; page: number; pageCount: number }
  | { kind: 'protect'; page: number; pageCount: number; flags: number };

const flagsArb = fc.constantFrom(PTE.Present, PTE.Present | PTE.Writable, PTE.Present | PTE.User, PTE.Present | PTE.Writable | PTE.User | PTE.NoExecute);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('map' as const), page: fc.integer({ min: 0, max: 4095 }), pageCount: fc.integer({ min: 1, max: 40 }), frame: fc.integer({ min: 0, max: 2047 }), flags: flagsArb, huge: fc.boolean() }),
  fc.record({ kind: fc.constant('unmap' as const), page: fc.integer({ min: 0, max: 4095 }), pageCount: fc.integer({ min: 1, max: 600 }) }),
  fc.record({ kind: fc.constant('protect' as const), page: fc.integer({ min: 0, max: 4095 }), pageCount: fc.integer({ min: 1, max: 40 }), flags: flagsArb }),
);

/** Applies one op, ignoring the typed misuse errors a random op may trigger (same on every strategy). */
function apply(m: ReturnType<typeof machine>, op: Op): string {
  try {
    if (op.kind === 'map') {
      if (op.huge) {
        const va = USER_BASE + Math.floor(op.page / 512) * 2097152;
        return String(m.mapper.mapPages(va, 0x4000_0000 + (op.frame % 64) * 2097152, 1, op.flags, { pageSize: PageSize.Size2M }));
      }
      return String(m.mapper.mapPages(USER_BASE + op.page * 4096, 0x8000_0000 + op.frame * 4096, op.pageCount, op.flags));
    }
    if (op.kind === 'unmap') return String(m.mapper.unmapPages(USER_BASE + op.page * 4096, op.pageCount)?.length ?? 'null');
    return String(m.mapper.updateFlags(USER_BASE + op.page * 4096, op.pageCount, op.flags));
  } catch (e) {
    if (e instanceof TableAccessFaultError) throw e;
    return (e as { code?: string }).code ?? 'error';
  }
}

/** Every user page's translation as the MMU sees it (A/D masked: they record accesses, not mappings). */
function snapshot(m: ReturnType<typeof machine>): string[] {
  const out: string[] = [];
  for (let page = 0; page < 4096 + 512; page += 1) {
    const r = m.cpu.mmu.probe(USER_BASE + page * 4096);
    if (!r.fault) out.push(`${page}:${r.pa}:${r.pageSizeBytes}:${r.flags & ~(PTE.Accessed | PTE.Dirty)}`);
  }
  return out;
}

const mappedCounts: number[] = [];

describe('TableAccess strategies (a)-(d)', () => {
  it('build tables with identical translations for the same random mapping operations', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 25 }), (ops) => {
        const machines = (['physical', 'direct map', 'recursive', 'window'] as const).map((s) => machine(s));
        for (const op of ops) {
          const outcomes = machines.map((m) => apply(m, op));
          expect(new Set(outcomes).size, `${JSON.stringify(op)} → ${outcomes.join(', ')}`).toBe(1);
        }
        const reference = snapshot(machines[0]!);
        mappedCounts.push(reference.length);
        for (const m of machines.slice(1)) expect(snapshot(m)).toEqual(reference);
        for (const m of machines) {
          m.mapper.checkInvariants();
          m.cpu.checkInvariants();
        }
      }),
      { numRuns: 25 },
    );
    // The comparison is only worth something if the random operations left pages mapped.
    expect(mappedCounts.some((n) => n > 100)).toBe(true);
  });

  it('reach tables through the MMU: the strategies (b)-(d) make supervisor accesses that fill the TLB', () => {
    for (const s of ['direct map', 'recursive', 'window'] as const) {
      const m = machine(s);
      m.mapper.mapPages(USER_BASE, 0x8000_0000, 3, PTE.Present | PTE.Writable | PTE.User);
      expect(m.cpu.tlb!.misses, s).toBeGreaterThan(0);
      expect(m.cpu.mmu.translate(USER_BASE + 4096, 0, Mode.User).pa, s).toBe(0x8000_1000);
    }
  });
});

describe('RecursiveTableAccess', () => {
  it('puts the PML4 at (s,s,s,s) and a PT at (s,i4,i3,i2)', () => {
    const m = machine('recursive');
    const r = m.access as RecursiveTableAccess;
    expect(r.recursiveAddress(4, 0)).toBe(510 * 2 ** 39 + 510 * 2 ** 30 + 510 * 2 ** 21 + 510 * 4096);
    const va = 3 * 2 ** 39 + 4 * 2 ** 30 + 5 * 2 ** 21;
    expect(r.recursiveAddress(1, va)).toBe(510 * 2 ** 39 + 3 * 2 ** 30 + 4 * 2 ** 21 + 5 * 4096);
  });

  it('faults with a typed error carrying the fault when the recursive entry is broken', () => {
    const m = machine('recursive');
    m.memory.write32(m.root + 510 * 8, 0); // PML4[510] not present
    m.cpu.invlpg((m.access as RecursiveTableAccess).recursiveAddress(4, 0));
    let caught: unknown;
    try {
      m.mapper.mapPages(USER_BASE, 0x8000_0000, 1, PTE.Present);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TableAccessFaultError);
    expect((caught as TableAccessFaultError).code).toBe('E_TABLE_ACCESS_FAULT');
    expect((caught as TableAccessFaultError).level).toBe(4);
    expect(m.cpu.cr2).toBe((caught as TableAccessFaultError).va);
  });

  it('invalidates the recursive address of a table it replaces, so a freed-then-recreated table is seen (SDM 4.10.4.1)', () => {
    const m = machine('recursive');
    m.mapper.mapPages(USER_BASE, 0x8000_0000, 1, PTE.Present | PTE.User);
    m.mapper.unmapPages(USER_BASE, 1); // frees PT, PD, PDPT
    m.mapper.mapPages(USER_BASE + 4096, 0x9000_0000, 1, PTE.Present | PTE.User);
    expect(m.cpu.mmu.probe(USER_BASE + 4096).pa).toBe(0x9000_0000);
    expect(m.mapper.translate(USER_BASE + 4096)?.pa).toBe(0x9000_0000);
    m.mapper.checkInvariants();
  });
});

describe('DirectMapTableAccess', () => {
  it('faults when a table lies outside the direct-mapped range', () => {
    const m = machine('physical');
    const bootMapper = new Mapper({ access: new PhysicalTableAccess(m.memory), allocator: m.allocator, root: m.root });
    bootMapper.mapRange(DIRECT_MAP_BASE, 0, 0x10_0000, KERNEL); // only the first MiB: tables are above it
    const access = new DirectMapTableAccess(m.cpu);
    const mapper = new Mapper({ access, allocator: m.allocator, root: m.root });
    expect(() => mapper.mapPages(USER_BASE, 0x8000_0000, 1, PTE.Present)).toThrow(TableAccessFaultError);
  });
});

describe('WindowTableAccess', () => {
  it('remaps a window with INVLPG and reuses a window already showing the frame (SDM 4.10.4.1)', () => {
    const m = machine('window');
    const w = m.access as WindowTableAccess;
    m.mapper.mapPages(USER_BASE, 0x8000_0000, 8, PTE.Present | PTE.User);
    const remaps = w.remapCount;
    expect(remaps).toBeGreaterThan(0);
    m.mapper.translate(USER_BASE);
    expect(w.remapCount).toBe(remaps);
  });

  it('faults with a typed error when the window page table is not mapped at its base', () => {
    const m = machine('window');
    const w = m.access as WindowTableAccess;
    m.cpu.memory.write32(m.cpu.mmu.probe(WINDOW_BASE).pa, 0); // the window PT's self-map entry
    m.cpu.invlpg(WINDOW_BASE);
    expect(() => m.mapper.mapPages(USER_BASE, 0x8000_0000, 1, PTE.Present)).toThrow(TableAccessFaultError);
    expect(w.remapCount).toBe(0);
  });

  it('without INVLPG on remap, edits the wrong table — and the stale-use detector reports it (SDM 4.10.4.1)', () => {
    const m = machine('window', { flushOnRemap: false });
    m.cpu.tlb!.detectStaleUses = true;
    for (let i = 0; i < 6; i++) {
      try {
        m.mapper.mapPages(USER_BASE + i * 2 ** 30, 0x8000_0000, 1, PTE.Present | PTE.User);
      } catch {
        break; // a corrupted tree may make the mapper trip over its own checks
      }
    }
    expect(m.cpu.tlb!.staleUseCount).toBeGreaterThan(0);
    expect(m.cpu.tlb!.staleUses[0]!.description).toMatch(/stale TLB entry/);
  });
});
