#!/usr/bin/env node
// Where `pnpm test`'s CPU goes, file by file. Run the tests with KMEM_TEST_CPU set to a fresh
// directory (test-support/cpu-profile.ts then writes one line per test file), then this script:
//   KMEM_TEST_CPU=/tmp/cpu pnpm vitest run && node scripts/test-cpu.mjs /tmp/cpu [top]
// Per file: CPU of the worker while importing it (imp) and running its tests (test), CPU of the
// processes its tests started and waited for (child: the CLI, Chromium, TypeDoc, pnpm, QEMU...).
// The workers' start-up and the main process (vitest transforming sources) are not in these
// lines: /usr/bin/time around the whole run gives the total.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const [dir, top = '40'] = process.argv.slice(2);
if (dir === undefined) {
  console.error('usage: node scripts/test-cpu.mjs <KMEM_TEST_CPU directory> [how many files to list]');
  process.exit(2);
}
const root = join(import.meta.dirname, '..');
const rows = readdirSync(dir)
  .filter((f) => f.endsWith('.jsonl'))
  .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n').map((line) => JSON.parse(line)));
const total = (r) => r.importCpu + r.testCpu + r.childCpu;
rows.sort((a, b) => total(b) - total(a));
const sum = (key) => rows.reduce((s, r) => s + r[key], 0).toFixed(1);
console.log(`${rows.length} files: import ${sum('importCpu')} s, tests ${sum('testCpu')} s, child processes ${sum('childCpu')} s of CPU`);
for (const r of rows.slice(0, Number(top))) {
  console.log(`${total(r).toFixed(1).padStart(6)} s  imp ${r.importCpu.toFixed(1).padStart(4)}  test ${r.testCpu.toFixed(1).padStart(5)}  child ${r.childCpu.toFixed(1).padStart(5)}  ${relative(root, r.file)}`);
}
