// How long a whole boot takes and what it costs the host: 64 GiB of RAM with the higher-half
// layout (direct map of all RAM included), plus the other layouts and a 128 MiB machine for
// comparison. Each boot runs in a fresh Machine; the first (cold) boot is reported separately
// from the best of five warm ones. Host memory is the process delta around ONE cold 64 GiB boot
// (rss and arrayBuffers from process.memoryUsage, after a GC when --expose-gc is available).
// Imports the BUILT package: run `npx tsup` first.
import { EventLog, Kernel, Machine, type LayoutName, type MemoryRegion } from '@kmem/kernel-sim';
import { pcMap } from './pc-map';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;


function boot(map: MemoryRegion[], layout: LayoutName): Kernel {
  const kernel = new Kernel(new Machine({ memoryMap: map }), { layout, events: new EventLog({ capacity: 10_000 }) });
  kernel.boot();
  return kernel;
}

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number): string => `${(n / MiB).toFixed(1)} MB`;

// Cold boot of 64 GiB, higher-half: time and host memory.
gc?.();
const m0 = process.memoryUsage();
const t0 = performance.now();
const cold = boot(pcMap(64 * GiB), 'higher-half');
const coldMs = performance.now() - t0;
gc?.();
const m1 = process.memoryUsage();
console.log(`64 GiB higher-half, cold boot: ${coldMs.toFixed(1)} ms; host memory delta rss ${mb(m1.rss - m0.rss)}, arrayBuffers ${mb(m1.arrayBuffers - m0.arrayBuffers)}, heapUsed ${mb(m1.heapUsed - m0.heapUsed)}${gc ? '' : ' (no --expose-gc)'}`);
console.log(`  frames backed in emulated RAM: ${cold.memory.touchedFrameCount} (${mb(cold.memory.hostBytes)}), page tables: ${cold.frames.usageByOwner()['page-table']}, events: ${cold.events.emitted}`);

function warm(label: string, map: MemoryRegion[], layout: LayoutName): void {
  boot(map, layout);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    boot(map, layout);
    best = Math.min(best, performance.now() - t);
  }
  console.log(`${label.padEnd(40)} best of 5: ${best.toFixed(1).padStart(7)} ms  (${(1000 / best).toFixed(1)} boots/s)`);
}

warm('64 GiB higher-half', pcMap(64 * GiB), 'higher-half');
warm('64 GiB limine-higher-half', pcMap(64 * GiB), 'limine-higher-half');
warm('64 GiB identity-low', pcMap(64 * GiB), 'identity-low');
warm('128 MiB higher-half', pcMap(128 * MiB), 'higher-half');

const t2 = performance.now();
cold.checkInvariants();
console.log(`checkInvariants after the 64 GiB boot: ${(performance.now() - t2).toFixed(1)} ms`);
