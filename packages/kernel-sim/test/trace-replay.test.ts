// Replaying real traces through a simulated process: does a recorded Valgrind trace of a fixture
// give exactly the faults its access pattern implies, the same JSON every time, and a trace
// recorded from a simulation the same faults as the simulation?
import { describe, expect, it } from 'vitest';
import { KmemTraceWriter, readTrace, recordCpuAccesses, TraceAddressError, TraceReplay, type TraceReplayOptions } from '../src/index';
import { bootProcessKernel, elfFixture } from './process-helpers';
import { bigBssTrace, concatChunks, utf8 } from './trace-helpers';

async function replayBytes(bytes: Uint8Array, options: TraceReplayOptions, chunkBytes = 4096) {
  const replay = new TraceReplay(options);
  const chunks: Uint8Array[] = [];
  for (let p = 0; p < bytes.length; p += chunkBytes) chunks.push(bytes.subarray(p, p + chunkBytes));
  const reader = await readTrace(chunks, (b) => replay.consume(b), options.lenient === true ? { lenient: true } : {});
  return { replay, result: replay.finish(reader) };
}

describe('TraceReplay of the committed lackey trace of big-bss', () => {
  // big-bss (test/fixtures/elf/src/bss.c) writes then reads one byte in each of the 2,048 pages of
  // its 8 MiB `big` (at 0x4020a0: the first in the data page, 2,047 in the bss), then reads the
  // 37 ints of `table` (data page), using registers only. Recorded with
  // `valgrind --tool=lackey --trace-mem=yes --log-file=F big-bss` (Valgrind 3.19).
  it('replays onto the exec of the same ELF with exactly the faults the program implies', async () => {
    const { result, replay } = await replayBytes(bigBssTrace(), { elf: elfFixture('big-bss'), name: 'big-bss' });
    expect(result.format).toBe('lackey');
    expect(result.accesses).toMatchObject({ stores: 2048, loads: 2048 + 37, modifies: 0, pageCrossing: 0, skipped: 0 });
    expect(result.accesses.instruction + result.accesses.data).toBe(result.accesses.total);
    // text (0x401) and data (0x402) read from the file; 2,047 bss pages zero-filled; nothing else.
    expect(result.faults).toMatchObject({ total: 2049, major: 2, lazyFile: 2, minor: 2047, lazyZero: 2047, stackGrowth: 0, anonymousRegions: 0 });
    expect(result.distinctPages).toBe(2049);
    expect(result.cpu.pageFaults).toBe(2049);
    // Each page of `big` is resident, written (D set) and mapped to a distinct frame.
    const frames = new Set<number>();
    for (let va = 0x402000; va < 0xc02000; va += 4096) {
      const info = replay.process.pageInfo(va)!;
      expect(info.present && info.dirty).toBe(true);
      frames.add(info.frame);
    }
    expect(frames.size).toBe(2048);
    // OPT needs only the cold misses; LRU with 64 frames loses the data page during the sweep
    // and faults on it again for `table`.
    expect(result.policies.find((p) => p.policy === 'opt')!.faults).toEqual([
      [64, 2049],
      [128, 2049],
      [256, 2049],
    ]);
    expect(result.policies.find((p) => p.policy === 'lru')!.faults[0]).toEqual([64, 2050]);
    expect(result.lruCurve.at(-1)).toEqual([2049, 2049]);
    replay.kernel.checkInvariants();
  });

  it('gives byte-identical JSON for the same trace, however it is chunked', async () => {
    const bytes = bigBssTrace();
    const a = await replayBytes(bytes, { elf: elfFixture('big-bss') }, 65536);
    const b = await replayBytes(bytes, { elf: elfFixture('big-bss') }, 777);
    expect(JSON.stringify(b.result)).toBe(JSON.stringify(a.result));
  });

  it('refuses a trace whose accesses the ELF forbids (a store into its text), with the line', async () => {
    const trace = utf8('I  00401000,4\n S 00401008,8\n');
    const error = await replayBytes(trace, { elf: elfFixture('big-bss') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TraceAddressError);
    expect((error as TraceAddressError).code).toBe('E_TRACE_ADDRESS');
    expect((error as TraceAddressError).position).toBe(2);
    expect((error as Error).message).toMatch(/store into .*text.*forbids it/);
    const { result } = await replayBytes(trace, { elf: elfFixture('big-bss'), lenient: true });
    expect(result.accesses.skipped).toBe(1);
    expect(result.faults.total).toBe(1);
  });

  it('refuses kernel-half addresses (the vsyscall page) unless lenient', async () => {
    const trace = utf8('I  ffffffffff600000,4\n');
    await expect(replayBytes(trace, {})).rejects.toThrow(/line 1|at 1: .*outside the process's user range/);
  });
});

describe('TraceReplay onto a bare address space', () => {
  it('makes anonymous regions for a course trace and faults once per page', async () => {
    const lines: string[] = [];
    for (let r = 0; r < 3; r++) for (let p = 0; p < 10; p++) lines.push(`${(0x1000 + p * 0x1000 + r * 8).toString(16)} ${r === 1 ? 'W' : 'R'}`);
    const { result, replay } = await replayBytes(utf8(lines.join('\n')), { frameCounts: [4, 10], policies: ['opt', 'lru', 'fifo'] });
    expect(result.target).toBe('bare');
    expect(result.faults).toMatchObject({ total: 10, lazyZero: 10, anonymousRegions: 1 });
    // A cyclic sweep of 10 pages through 4 frames: LRU and FIFO miss every time, OPT keeps 3
    // of the 10 each round after the first.
    expect(result.policies).toEqual([
      { policy: 'opt', faults: [[4, 10 + 2 * 6], [10, 10]] },
      { policy: 'lru', faults: [[4, 30], [10, 10]] },
      { policy: 'fifo', faults: [[4, 30], [10, 10]] },
    ]);
    expect(replay.process.regions().some((r) => r.name === 'trace')).toBe(true);
  });

  it('touches both pages of an access that crosses a page boundary', async () => {
    const { result } = await replayBytes(utf8('I  00001ffe,4\n'), {});
    expect(result.accesses).toMatchObject({ total: 1, pageReferences: 2, pageCrossing: 1 });
    expect(result.faults.total).toBe(2);
  });
});

describe('recordCpuAccesses', () => {
  it('records a simulation whose replay gives the same faults', async () => {
    // A run: exec big-bss, then user accesses through Process.touch and kernel.user: text, data,
    // bss, an mmap region, and stack growth below the initial 128 KiB.
    const kernel = bootProcessKernel();
    const parts: Uint8Array[] = [];
    const writer = new KmemTraceWriter((c) => parts.push(c));
    const detach = recordCpuAccesses(kernel.machine.cpu, writer);
    const p = kernel.exec(undefined, elfFixture('big-bss'), ['big-bss'], [])!;
    const before = { ...p.stats };
    const buf = p.mmap({ lengthBytes: 16 * 4096 })!;
    let x = 12345;
    for (let i = 0; i < 3000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const pick = x % 5;
      if (pick === 0) p.touch(0x401000 + (x % 0x59), 'execute');
      else if (pick === 1) p.touch(0x403000 + (x % 64) * 4096, x % 2 === 0 ? 'write' : 'read');
      else if (pick === 2) p.touch(buf + (x % 16) * 4096 + 8, 'write', 1);
      else if (pick === 3) p.touch(p.stackTop - 200 * 1024 - (x % 8) * 4096, 'write');
      else kernel.user.read32(0x402ffe); // crosses from data into bss
    }
    detach();
    writer.end();
    const original = { total: p.stats.faults - before.faults, lazyZero: p.stats.lazyZero - before.lazyZero, lazyFile: p.stats.lazyFile - before.lazyFile, stackGrowth: p.stats.stackGrowth - before.stackGrowth };
    expect(original.stackGrowth).toBeGreaterThan(0);
    expect(writer.recordCount).toBe(3000);
    const bytes = concatChunks(parts);
    const { result } = await replayBytes(bytes, { elf: elfFixture('big-bss'), name: 'big-bss' });
    expect(result.format).toBe('kmem');
    expect(result.accesses.records).toBe(3000);
    expect({ total: result.faults.total, lazyZero: result.faults.lazyZero, lazyFile: result.faults.lazyFile, stackGrowth: result.faults.stackGrowth }).toEqual(original);
    // The original's mmap region became one anonymous region in the replay.
    expect(result.faults.anonymousRegions).toBe(1);
  });
});
