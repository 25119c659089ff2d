// Whatever bytes a dump holds, opening and inspecting it either works or throws a DumpError with
// a stable code: never another exception, never a hang. Random bytes, random tables, and
// mutations and truncations of a well-formed ELF core.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PTE } from '@kmem/x86-paging';
import { BytesDumpSource, DumpError, inspectPageTables, lintPageTables, openDump, resolvePagingState, explainWalk, type GivenRegisters } from '../../src/index';
import { LONG_MODE, elfCore, tablesInMemory } from './dump-builder';

const K = 0x8000_0000_0000;

/** Opens, inspects, lints and walks; returns the error code or 'ok'. Any non-DumpError fails the test. */
function attempt(bytes: Uint8Array, given: GivenRegisters = {}): string {
  try {
    const dump = openDump(new BytesDumpSource(bytes));
    const state = resolvePagingState({ ...LONG_MODE, ...given }, dump.cpus[0], 40);
    const insp = inspectPageTables(dump.memory, state, { loops: 'prune', tableVisitBudget: 1 << 12 });
    lintPageTables(insp, dump.memory);
    explainWalk(dump.memory, state, K + 0x1234);
    return 'ok';
  } catch (e) {
    if (!(e instanceof DumpError)) throw e;
    expect(e.code).toMatch(/^E_[A-Z0-9_]+$/);
    return e.code;
  }
}

function validCore(): Uint8Array {
  const { memory, mapper } = tablesInMemory(1 << 20);
  mapper.mapPages(K, 0x1000, 4, PTE.Present | PTE.Writable | PTE.NoExecute);
  mapper.mapPages(0x40_0000, 0x2000, 1, PTE.Present | PTE.User);
  return elfCore({ segments: [{ pa: 0, bytes: memory.bytes.slice(0, 0x4_0000) }, { pa: 0x8_0000, bytes: memory.bytes.slice(0x8_0000) }], cpus: [{ ...LONG_MODE, cr3: mapper.root, longMode: true }] });
}

describe('dump parsers under fuzzing', () => {
  it('random bytes, with or without an ELF header in front', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.boolean(), fc.nat(0x1_0000), (body, elf, cr3) => {
        const bytes = elf ? Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, ...body]) : body;
        attempt(bytes, { cr3: cr3 * 4096 });
      }),
      { numRuns: 300 },
    );
  });

  it('random page tables: every table word random, CR3 anywhere in the dump', () => {
    fc.assert(
      fc.property(fc.uint32Array({ minLength: 4096, maxLength: 4096 }), fc.nat(3), (words, root) => {
        // 16 KiB of memory: entries point anywhere, mostly outside; loops and sharing happen.
        for (let i = 0; i < words.length; i += 2) words[i + 1] = words[i + 1]! & 0x8000_0003;
        attempt(new Uint8Array(words.buffer), { cr3: root * 4096 });
      }),
      { numRuns: 200 },
    );
  });

  it('every truncation of a well-formed core is refused with E_DUMP_TRUNCATED (or reads a shorter memory)', () => {
    const core = validCore();
    const headerEnd = 64 + 3 * 56 + 460;
    for (let cut = 0; cut < headerEnd + 64; cut++) {
      const c = attempt(core.slice(0, cut));
      expect(['E_DUMP_TRUNCATED', 'E_DUMP_FORMAT'], `cut at ${cut}`).toContain(c);
    }
    expect(attempt(core)).toBe('ok');
    fc.assert(
      fc.property(fc.integer({ min: headerEnd, max: core.length - 1 }), (cut) => {
        expect(attempt(core.slice(0, cut))).toBe('E_DUMP_TRUNCATED');
      }),
      { numRuns: 50 },
    );
  });

  it('mutations of the headers, program headers and notes of a well-formed core', () => {
    const core = validCore();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(64 + 3 * 56 + 460 - 1), fc.nat(255)), { minLength: 1, maxLength: 6 }), (edits) => {
        const m = core.slice();
        for (const [at, value] of edits) m[at] = value;
        attempt(m);
      }),
      { numRuns: 400 },
    );
  });
});
