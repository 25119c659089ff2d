// How fast the ELF pieces the page-fault handler and exec use are: parseElf64 + elfLoadPlan of
// busybox (an exec), and pageContents (one first touch of a file-backed page). Imports the BUILT
// package: run `npx tsup` first. Hand-timed loops (tinybench adds overhead at this scale).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { elfLoadPlan, findSegment, pageContents, parseElf64 } from '@kmem/kernel-sim';

const bytes = new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'test', 'fixtures', 'elf', 'busybox-static')));

function time(label: string, ops: number, body: () => void): void {
  body(); // warm up
  let best = 0;
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    body();
    const rate = ops / ((performance.now() - t0) / 1000);
    if (rate > best) best = rate;
  }
  console.log(`${label.padEnd(52)} ${Math.round(best).toLocaleString('en-US').padStart(12)} ops/s`);
}

time('parseElf64 + elfLoadPlan (busybox, 10 phdrs)', 20_000, () => {
  for (let i = 0; i < 20_000; i++) elfLoadPlan(parseElf64(bytes));
});

const plan = elfLoadPlan(parseElf64(bytes));
const out = new Uint8Array(4096);
const text = plan.segments[1]!;
const textPages = text.pageCount;
time('pageContents, file page (busybox text)', 200_000, () => {
  for (let i = 0; i < 200_000; i++) pageContents(plan, 1, text.start + (i % textPages) * 4096, out);
});
const data = plan.segments[3]!;
time('pageContents, zero page (busybox bss)', 200_000, () => {
  for (let i = 0; i < 200_000; i++) pageContents(plan, 3, data.zeroPages.start, out);
});
time('findSegment (busybox, 4 segments)', 5_000_000, () => {
  let hits = 0;
  for (let i = 0; i < 5_000_000; i++) hits += findSegment(plan, 0x400000 + ((i * 4096) % 0x1f0000));
  if (hits === 0) throw new Error('unreachable');
});
