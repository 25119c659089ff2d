// Does the kernel's own reclaim, replaying a trace with swap on, fault as the stream model says
// it must? With a resident limit the kernel reclaims one page per fault beyond it, so for
// policies that read no A bit (FIFO, exact LRU) the kernel's faults equal the model's exactly;
// every fault after a page's first touch is then a swap-in (a major fault).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KernelPolicyTable, readTrace, TraceOptionError, TraceReplay, type PolicyName } from '../src/index';
import { elfFixture } from './process-helpers';
import { bigBssTrace, utf8 } from './trace-helpers';

const RAM = 64 * 2 ** 20;

async function both(bytes: Uint8Array, policies: PolicyName[], frameCounts: number[], elf?: Uint8Array) {
  const target = elf === undefined ? {} : { elf };
  const table = new KernelPolicyTable({ ...target, policies, frameCounts, ramBytes: RAM });
  const model = new TraceReplay({ ...target, policies, frameCounts, ramBytes: RAM });
  await readTrace([bytes], (b) => {
    table.consume(b);
    model.consume(b);
  });
  const rows = table.finish();
  for (const r of table.replays) r.kernel.checkInvariants();
  return { rows, model: model.finish() };
}

describe('KernelPolicyTable', () => {
  it('faults exactly as the stream model for FIFO and LRU on course traces (property)', async () => {
    const ref = fc.record({ page: fc.integer({ min: 0, max: 9 }), write: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(ref, { minLength: 1, maxLength: 80 }), async (refs) => {
        const text = refs.map((r) => `${(0x10000 + r.page * 4096 + 16).toString(16)} ${r.write ? 'W' : 'R'}`).join('\n');
        const { rows, model } = await both(utf8(text), ['fifo', 'lru'], [2, 5]);
        const distinct = new Set(refs.map((r) => r.page)).size;
        for (const row of rows) {
          const expected = model.policies.find((p) => p.policy === row.policy)!.faults;
          expect(row.cells.map((c) => [c.frames, c.faults])).toEqual(expected);
          // Anonymous pages: every fault after the first touch reads the page back from swap.
          for (const c of row.cells) expect(c.majorFaults).toBe(c.faults - distinct);
        }
      }),
      { numRuns: 5 },
    );
  });

  it('replays big-bss under a resident limit: the kernel swaps, and FIFO / LRU match the model', async () => {
    const { rows, model } = await both(bigBssTrace(), ['fifo', 'lru', 'clock'], [64], elfFixture('big-bss'));
    const kernel = Object.fromEntries(rows.map((r) => [r.policy, r.cells[0]!]));
    const stream = Object.fromEntries(model.policies.map((p) => [p.policy, p.faults[0]![1]]));
    expect(kernel.fifo!.faults).toBe(stream.fifo);
    expect(kernel.lru!.faults).toBe(stream.lru);
    // The sweep writes 2,048 pages through 64 frames: nearly all go out to swap.
    expect(kernel.lru!.swappedOut).toBeGreaterThan(1900);
    expect(kernel.clock!.directRuns).toBeGreaterThan(1900);
  });

  it('refuses OPT (it needs the future), with a typed error', () => {
    expect(() => new KernelPolicyTable({ policies: ['opt'] })).toThrow(TraceOptionError);
  });
});
