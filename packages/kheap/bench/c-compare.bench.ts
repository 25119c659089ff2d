// Prints kheap beside @thi.ng/malloc from the figures the two previous processes left.
import { readFileSync } from 'node:fs';
import { LIVE_TARGETS, resultsFile } from './trace';

type Row = { opsPerSec: number; cpuOpsPerSec: number; peakBytesHeld: number; peakLiveBytes: number };
const load = (name: string): Record<string, Row> => JSON.parse(readFileSync(resultsFile(name), 'utf8')) as Record<string, Row>;
const kheap = load('kheap');
const thing = load('thing-malloc');
console.log('\n| live blocks | kheap ops/s (wall / CPU time) | @thi.ng/malloc ops/s (wall / CPU time) | ratio (wall / CPU) | kheap footprint | @thi.ng/malloc footprint |');
console.log('|---|---|---|---|---|---|');
for (const live of LIVE_TARGETS) {
  const k = kheap[live]!;
  const t = thing[live]!;
  console.log(
    `| ~${live} | ${(k.opsPerSec / 1e6).toFixed(2)}M / ${(k.cpuOpsPerSec / 1e6).toFixed(2)}M | ${(t.opsPerSec / 1e3).toFixed(1)}k / ${(t.cpuOpsPerSec / 1e3).toFixed(1)}k | ${(k.opsPerSec / t.opsPerSec).toFixed(0)}x / ${(k.cpuOpsPerSec / t.cpuOpsPerSec).toFixed(0)}x | ${(k.peakBytesHeld / k.peakLiveBytes).toFixed(3)}x | ${(t.peakBytesHeld / t.peakLiveBytes).toFixed(3)}x |`,
  );
}
