// SparsePhysicalMemory hot paths and the cost of a big sparse machine. Hand-timed loops
// (performance.now) over the BUILT package: run `npx tsup` first.
import { SparsePhysicalMemory, exportSparseImage, importSparseImage, normalizeMemoryMap, parseMemoryMap } from '@kmem/kernel-sim';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const GiB = 2 ** 30;

function rate(label: string, ops: number, fn: () => void): void {
  fn(); // warm-up
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(58)} ${((ops / ms) * 1000).toExponential(2)} ops/s  (${ms.toFixed(1)} ms)`);
}

const m = new SparsePhysicalMemory([{ base: 0, lengthBytes: 64 * GiB }]);
const FRAMES = 4096; // 16 MiB of touched memory, spread over 64 GiB
const stride = Math.floor((64 * GiB) / FRAMES / 4096) * 4096;
for (let i = 0; i < FRAMES; i++) m.frameWords(i * stride);

const N = 4_000_000;
let sink = 0;
rate('read32 (backed frames, spread over 64 GiB)', N, () => {
  for (let i = 0; i < N; i++) sink += m.read32((i & (FRAMES - 1)) * stride + ((i * 4) & 0xffc));
});
rate('write32 (backed frames)', N, () => {
  for (let i = 0; i < N; i++) m.write32((i & (FRAMES - 1)) * stride + ((i * 4) & 0xffc), i);
});
rate('read8', N, () => {
  for (let i = 0; i < N; i++) sink += m.read8((i & (FRAMES - 1)) * stride + (i & 0xfff));
});
rate('frameWords (MMU walk step)', N, () => {
  for (let i = 0; i < N; i++) sink += m.frameWords((i & (FRAMES - 1)) * stride)[i & 1023]!;
});
rate('read32 of never-touched RAM (reads zero, RAM check)', N / 4, () => {
  for (let i = 0; i < N / 4; i++) sink += m.read32(0x1000 + (i & 0xfff) * 4 + 4096 * 7);
});

// 64 GiB: what does it cost to exist, and to touch every frame of 1 GiB?
{
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const big = new SparsePhysicalMemory([{ base: 0, lengthBytes: 64 * GiB }]);
  const created = performance.now() - t0;
  console.log(`64 GiB machine: constructed in ${created.toFixed(2)} ms, hostBytes ${big.hostBytes}`);
  const t1 = performance.now();
  for (let pa = 0; pa < GiB; pa += 4096) big.write32(pa, 1);
  const touched = performance.now() - t1;
  console.log(`touching 1 GiB (262144 frames): ${touched.toFixed(0)} ms, hostBytes ${(big.hostBytes / 2 ** 20).toFixed(1)} MiB, RSS +${((process.memoryUsage().rss - before) / 2 ** 20).toFixed(0)} MiB`);
  const t2 = performance.now();
  const image = exportSparseImage(big, { cr0: 0x8005_0033, cr3: 0x1000, cr4: 0x20, efer: 0xd00 });
  const exported = performance.now() - t2;
  const t3 = performance.now();
  importSparseImage(image);
  console.log(`sparse image of 1 GiB touched: export ${exported.toFixed(0)} ms, import ${(performance.now() - t3).toFixed(0)} ms, ${(image.length / 2 ** 20).toFixed(0)} MiB`);
}

// Parsing + normalising a real UEFI map (125 descriptors).
{
  const dir = join(import.meta.dirname, '../../../fixtures/memory-maps');
  const bytes = new Uint8Array(readFileSync(join(dir, 'ovmf-q35-pflash-5g.efi-memmap.bin')));
  const R = 20_000;
  rate('parse + normalise ovmf-q35-pflash-5g (125 UEFI descriptors)', R, () => {
    for (let i = 0; i < R; i++) sink += normalizeMemoryMap(parseMemoryMap(bytes, { format: 'uefi', uefi: { descriptorSize: 48 } }).regions).regions.length;
  });
}
if (sink === 42) console.log('');
