// `pnpm demo replay`: a committed Valgrind lackey trace of a repo fixture replayed end to end —
// report sections, --json fields, the SVG, paths relative to INIT_CWD, one-line errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cliCommand } from './cli-bundle';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(appDir, '..', '..');
const trace = 'packages/kernel-sim/test/fixtures/trace/big-bss.lackey.gz';
const elf = 'packages/kernel-sim/test/fixtures/elf/big-bss';

function replay(cwd: string, ...args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [...cliCommand(), 'replay', ...args], {
    cwd: appDir,
    encoding: 'utf8',
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'FORCE_COLOR')), NO_COLOR: '1', INIT_CWD: cwd },
    timeout: 120_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('pnpm demo replay', () => {
  it('replays a gzip lackey trace onto its ELF: JSON with every result, an SVG, paths relative to INIT_CWD', () => {
    const out = mkdtempSync(join(tmpdir(), 'kmem-replay-'));
    const { stdout, stderr, status } = replay(repo, trace, '--elf', elf, '--frames', '64,2048', '--tlb', '64x4+1536x12,32x4', '--json', '--svg', join(out, 'r.svg'));
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const r = JSON.parse(stdout) as { format: string; target: string; accesses: { stores: number }; faults: { total: number; major: number }; tlb: { name: string }[]; policies: { policy: string; faults: [number, number][] }[]; lruCurve: [number, number][]; workingSet: { points: unknown[] } };
    expect(r.format).toBe('lackey');
    expect(r.target).toBe('elf:big-bss');
    expect(r.accesses.stores).toBe(2048);
    expect(r.faults).toMatchObject({ total: 2049, major: 2 });
    expect(r.tlb.map((t) => t.name)).toEqual(['64x4+1536x12', '32x4']);
    expect(r.policies.map((p) => p.policy)).toEqual(['fifo', 'clock', 'lru', 'opt']);
    expect(r.policies.find((p) => p.policy === 'opt')!.faults).toEqual([
      [64, 2049],
      [2048, 2049],
    ]);
    expect(r.lruCurve.length).toBeGreaterThan(1);
    expect(r.workingSet.points.length).toBeGreaterThan(0);
    const svg = readFileSync(join(out, 'r.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Page faults vs frames');
    expect(svg).toContain('Working set');
  });

  it('prints the report sections', () => {
    const { stdout, status } = replay(repo, trace, '--elf', elf);
    expect(status).toBe(0);
    for (const title of ['TLB', 'Page faults resolved by the kernel', 'Faults per replacement policy', 'LRU miss-ratio curve', 'Working set']) expect(stdout).toContain(title);
    expect(stdout).toContain('opt (bound)');
  });

  it('replays with the kernel itself swapping under each policy (--kernel-swap): FIFO and LRU fault as the stream model', () => {
    const { stdout, status, stderr } = replay(repo, trace, '--elf', elf, '--frames', '64', '--policy', 'fifo,lru,opt', '--kernel-swap', '--json');
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const r = JSON.parse(stdout) as { policies: { policy: string; faults: [number, number][] }[]; kernelSwap: { policy: string; cells: { frames: number; faults: number; majorFaults: number; swappedOut: number }[] }[] };
    // OPT is the stream model's bound only (the kernel cannot know the future).
    expect(r.kernelSwap.map((row) => row.policy)).toEqual(['fifo', 'lru']);
    for (const row of r.kernelSwap) {
      const model = r.policies.find((p) => p.policy === row.policy)!.faults[0]![1];
      expect(row.cells[0]!.faults).toBe(model);
      expect(row.cells[0]!.swappedOut).toBeGreaterThan(1900);
    }
  });

  it('names the line of a bad record, counts it with --lenient, and refuses a missing file in one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmem-replay-'));
    writeFileSync(join(dir, 'bad.lackey'), 'I  00401000,4\n X 12,4\n L 00402000,8\n');
    const bad = replay(dir, 'bad.lackey', '--json');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('kmem-demo replay: E_TRACE_PARSE: lackey trace, line 2: unknown record kind " X " (expected "I  ", " L ", " S " or " M ")');
    const lenient = replay(dir, 'bad.lackey', '--json', '--lenient');
    expect(lenient.status).toBe(0);
    expect((JSON.parse(lenient.stdout) as { skippedRecords: number }).skippedRecords).toBe(1);
    const missing = replay(dir, 'nope.lackey');
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe(`kmem-demo replay: E_FILE_UNREADABLE: cannot read trace ${join(dir, 'nope.lackey')}: no such file`);
    const badTlb = replay(dir, 'bad.lackey', '--tlb', '64x5');
    expect(badTlb.status).toBe(2);
    expect(badTlb.stderr).toMatch(/entries must be a multiple of ways/);
  });
});
