// Soak: does the kernel's host memory stay flat while processes come and go? A child Node
// process (run with --expose-gc) creates and exits 20,000 processes after a warm-up of 2,000 —
// each maps a few pages and faults one in — and reports the JS heap after a full GC before and
// after. Exited processes keep a small record, and only the last 1,000 of those: growth per
// process must stay under a few hundred bytes (it was about 3.3 KB on the old kernel, without
// bound). No time is asserted (issue 14, "Also": the soak).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SCRIPT = join(import.meta.dirname, 'soak', 'process-churn.ts');
const PROCESSES = 20_000;
const BYTES_PER_PROCESS = 256;

describe('process churn soak', () => {
  it(`creates and exits ${PROCESSES} processes with JS heap growth under ${BYTES_PER_PROCESS} bytes per process`, () => {
    const out = execFileSync(process.execPath, ['--expose-gc', '--conditions=@kmem/source', '--import', 'tsx', SCRIPT, String(PROCESSES)], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 });
    const r = JSON.parse(out) as { processCount: number; before: number; after: number; gone: number; live: number };
    expect(r.processCount).toBe(PROCESSES);
    expect(r.live).toBe(0);
    expect(r.gone).toBe(1000); // the default exit history
    expect((r.after - r.before) / PROCESSES).toBeLessThan(BYTES_PER_PROCESS);
  }, 120_000);
});
