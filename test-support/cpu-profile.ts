// Opt-in (KMEM_TEST_CPU=<dir>): one JSON line per test file with the CPU its worker spent on it.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';

function ticks(): { self: number; children: number } {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { self: (Number(f[11]) + Number(f[12])) / 100, children: (Number(f[13]) + Number(f[14])) / 100 };
}

const dir = process.env.KMEM_TEST_CPU;
if (dir !== undefined && dir !== '') {
  const atSetup = ticks();
  const wallSetup = performance.now();
  const upAtSetup = process.uptime();
  let afterImport = atSetup;
  let wallImport = wallSetup;
  beforeAll(() => {
    afterImport = ticks();
    wallImport = performance.now();
  });
  afterAll(() => {
    const end = ticks();
    const file = expect.getState().testPath ?? '?';
    mkdirSync(dir, { recursive: true });
    appendFileSync(join(dir, `${process.pid}.jsonl`), JSON.stringify({
      file,
      pid: process.pid,
      startCpu: atSetup.self,
      startWall: upAtSetup,
      importCpu: afterImport.self - atSetup.self,
      importWall: (wallImport - wallSetup) / 1000,
      testCpu: end.self - afterImport.self,
      testWall: (performance.now() - wallImport) / 1000,
      childCpu: end.children - atSetup.children,
    }) + '\n');
  });
}
