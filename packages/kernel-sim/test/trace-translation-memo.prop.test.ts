// Does the replay's translation memo change anything? It counts a reference the Cpu would answer
// from an unchanged TLB entry instead of asking; asking every time must give the same result,
// byte for byte (TLB hits and walks of the Cpu, faults, every analysis), on random traces that
// mix fetches, loads, stores and modifies over text (R X), rodata (R) and data/bss (RW, NX)
// pages, page-crossing accesses and accesses the ELF forbids (skipped, lenient).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessKind, MEMO_ENTRIES, readTrace, TraceReplay, type TraceReplayOptions } from '../src/index';
import { elfFixture } from './process-helpers';
import { bigBssTrace, utf8 } from './trace-helpers';

async function replayJson(bytes: Uint8Array, options: TraceReplayOptions): Promise<string> {
  const replay = new TraceReplay(options);
  const reader = await readTrace([bytes], (b) => replay.consume(b), { lenient: options.lenient === true });
  const json = JSON.stringify(replay.finish(reader));
  replay.kernel.checkInvariants();
  return json;
}

// big-bss's pages: the ELF header page (R), text (R X), data + bss (RW); a few pages of each.
const PAGES = [0x400, 0x401, 0x402, 0x403, 0x404, 0x410, 0x411];
const LETTER = ['I ', ' L', ' S', ' M'];

const recordArb = fc.record({
  page: fc.constantFrom(...PAGES),
  // Offsets near the end of a page make accesses that cross into the next one.
  offset: fc.oneof(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 4080, max: 4095 })),
  kind: fc.integer({ min: 0, max: 3 }),
  sizeBytes: fc.constantFrom(1, 2, 4, 8, 16),
  repeat: fc.integer({ min: 1, max: 4 }),
});

describe('TraceReplay translation memo', () => {
  it('pins the literals the replay loop uses in place of named constants', () => {
    expect([AccessKind.Fetch, AccessKind.Load, AccessKind.Store, AccessKind.Modify]).toEqual([0, 1, 2, 3]);
    expect(MEMO_ENTRIES).toBe(8);
    expect(1 / 4096).toBe(0.000244140625);
  });

  it('gives the same result as asking the Cpu about every reference (random traces)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb, { minLength: 1, maxLength: 120 }), async (records) => {
        const lines: string[] = [];
        for (const r of records) {
          const va = r.page * 4096 + r.offset;
          for (let k = 0; k < r.repeat; k++) lines.push(`${LETTER[r.kind]!} ${va.toString(16).padStart(8, '0')},${r.sizeBytes}`);
        }
        const bytes = utf8(lines.join('\n') + '\n');
        const options: TraceReplayOptions = { elf: elfFixture('big-bss'), ramBytes: 64 * 2 ** 20, lenient: true, frameCounts: [2, 3], policies: ['fifo', 'clock', 'lru', 'aging', 'opt'], tickEvery: 5, workingSetWindow: 7, tlb: [[{ entryCount: 2, wayCount: 1 }], [{ entryCount: 4, wayCount: 2 }, { entryCount: 6, wayCount: 3 }]] };
        const withMemo = await replayJson(bytes, options);
        const without = await replayJson(bytes, { ...options, translationMemo: false });
        expect(withMemo).toBe(without);
      }),
      { numRuns: 20 },
    );
  });

  it('gives the same result on the committed big-bss trace', async () => {
    const options: TraceReplayOptions = { elf: elfFixture('big-bss'), frameCounts: [64], policies: ['clock'] };
    expect(await replayJson(bigBssTrace(), options)).toBe(await replayJson(bigBssTrace(), { ...options, translationMemo: false }));
  });
});
