// The swap scenario's figures: devices and their slots, processes' VmRSS / VmSwap, the Clock run
// over time, and the table comparing every policy on the same accesses.
import type { SwapDemoResult } from '../scenarios/swap';
import { SECTIONS, type Style } from './style';

/** Renders the swap section. */
export function renderSwap(s: Style, r: SwapDemoResult): string {
  const devices = s.table(['device', 'priority', 'slots', 'in use', 'reads', 'writes', 'slots (# mostly used, + some, . none)'], { colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'left'] });
  for (const d of r.devices) devices.push([d.name, String(d.priority), String(d.slots), String(d.usedSlots), String(d.reads), String(d.writes), d.slotMap]);
  const procs = s.table(['pid', 'name', 'VmRSS', 'VmSwap', 'major faults', 'minor faults'], { colAligns: ['right', 'left', 'right', 'right', 'right', 'right'] });
  for (const p of r.processes) procs.push([String(p.pid), p.name, `${p.vmRssPages * 4} kB`, `${p.vmSwapPages * 4} kB`, String(p.majorFaults), String(p.minorFaults)]);
  const maxMajor = Math.max(1, ...r.series.map((x) => x.majorFaults));
  const series = s.table(['time', 'resident', 'working set', 'swap used', 'major faults per sample', ''], { colAligns: ['right', 'right', 'right', 'right', 'left', 'left'] });
  for (const x of r.series) series.push([`${(x.timeNs / 1e6).toFixed(1)} ms`, String(x.residentPages), String(x.workingSetPages), String(x.swapSlotsUsed), `${s.bar(x.majorFaults, maxMajor, 20, s.c.yellow)} ${x.majorFaults}`, x.thrashing ? s.c.red('thrashing') : '']);
  const rows = s.table(['policy', 'faults', 'major', 'minor', 'swap out', 'swap in', 'file drops', 'clean evictions', 'scanned', 'direct runs', 'thrashing samples', 'simulated time'], { colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'] });
  const fewest = Math.min(...r.rows.map((x) => x.faults));
  for (const x of r.rows) {
    rows.push([
      x.faults === fewest ? s.c.bold(x.policy) : x.policy,
      String(x.faults),
      String(x.majorFaults),
      String(x.minorFaults),
      String(x.swappedOut),
      String(x.swappedIn),
      String(x.fileDropped),
      String(x.cleanSwapEvictions),
      String(x.scanned),
      String(x.directRuns),
      String(x.thrashingSamples),
      `${x.simulatedMs.toFixed(1)} ms`,
    ]);
  }
  return [
    s.heading(SECTIONS.swap, `${r.bufferPages} pages written with room for ${r.limitPages} resident; a fork; a hot set that fits, then one that does not; ${r.valuesChecked} pages read back and checked`),
    devices.toString(),
    procs.toString(),
    '  the Clock run over time (one row per sample):',
    series.toString(),
    '  every policy on the same accesses (fresh kernels; OPT follows the recorded sequence):',
    rows.toString(),
  ].join('\n');
}
