// Real traces: record Valgrind lackey traces of real programs (a C program with a known access
// pattern built here with gcc, and the repo's big-bss fixture), then replay them through the
// simulated kernel. Needs valgrind and gcc (installed by .ci/run); skipped where either is
// missing — the committed trace in trace-replay.test.ts still runs there.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AccessKind, readTrace, TraceReplay } from '../src/index';
import { ELF_DIR } from './process-helpers';
import { bigBssTrace, readAll, TRACE_DIR } from './trace-helpers';

function have(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}
const tools = have('valgrind') && have('gcc');
if (!tools) console.warn('trace-valgrind.test.ts: valgrind or gcc not found, skipping the recording tests (the committed trace still replays)');

const dir = mkdtempSync(join(tmpdir(), 'kmem-trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `program` under lackey and returns the trace bytes. */
function lackey(program: string): Uint8Array {
  const log = join(dir, `${program.split('/').at(-1)}.lackey`);
  spawnSync('valgrind', ['--tool=lackey', '--trace-mem=yes', `--log-file=${log}`, program], { stdio: 'ignore', timeout: 60_000 });
  return new Uint8Array(readFileSync(log));
}

describe.skipIf(!tools)('lackey traces recorded here', () => {
  it('of a C program with a known pattern: exactly its stores and loads, replayed onto its ELF', async () => {
    const exe = join(dir, 'pattern');
    execFileSync('gcc', ['-O1', '-static', '-o', exe, join(TRACE_DIR, 'src', 'pattern.c')]);
    const sym = /^([0-9a-f]+) b buf$/m.exec(execFileSync('nm', [exe], { encoding: 'utf8' }));
    expect(sym).not.toBeNull();
    const buf = parseInt(sym![1]!, 16);
    const pages = 96;
    const bytes = lackey(exe);
    const { records } = readAll('lackey', bytes, [65536]);
    const inBuf = records.filter((r) => r.kind !== AccessKind.Fetch && r.va >= buf && r.va < buf + pages * 4096);
    expect(inBuf.filter((r) => r.kind === AccessKind.Store).length).toBe(3 * pages);
    expect(inBuf.filter((r) => r.kind === AccessKind.Load).length).toBe(pages);
    expect(inBuf.filter((r) => r.kind === AccessKind.Modify).length).toBe(0);
    expect(new Set(inBuf.map((r) => Math.floor(r.va / 4096))).size).toBe(pages);
    expect(inBuf.every((r) => r.sizeBytes === 1 && (r.va - buf) % 4096 === (r.kind === AccessKind.Store ? 0 : 8))).toBe(true);

    const replay = new TraceReplay({ elf: new Uint8Array(readFileSync(exe)), name: 'pattern', frameCounts: [pages, 4 * pages] });
    const reader = await readTrace([bytes], (b) => replay.consume(b));
    const result = replay.finish(reader);
    expect(result.accesses.records).toBe(records.length);
    expect(result.accesses.skipped).toBe(0);
    for (let va = buf; va < buf + pages * 4096; va += 4096) {
      const info = replay.process.pageInfo(va)!;
      expect(info.present && info.dirty && info.user).toBe(true);
    }
    // Every fault the kernel resolved brought in a distinct page the trace touched.
    expect(result.faults.total).toBe(result.distinctPages);
    const opt = result.policies.find((p) => p.policy === 'opt')!.faults;
    const lru = result.policies.find((p) => p.policy === 'lru')!.faults;
    opt.forEach(([frames, faults], i) => {
      expect(frames).toBe(lru[i]![0]);
      expect(faults).toBeLessThanOrEqual(lru[i]![1]);
    });
    replay.kernel.checkInvariants();
  });

  it('of the big-bss fixture: the same records as the committed trace', () => {
    const fresh = readAll('lackey', lackey(join(ELF_DIR, 'big-bss'))).records;
    const committed = readAll('lackey', bigBssTrace()).records;
    const strip = (rs: typeof fresh) => rs.map((r) => [r.va, r.sizeBytes, r.kind]);
    expect(strip(fresh)).toEqual(strip(committed));
  });
});
