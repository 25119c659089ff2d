// The replay's results as text tables for the terminal.
import Table from 'cli-table3';
import type { KernelPolicyRow, ReplayResult } from '@kmem/kernel-sim';
import type { Style } from '../render/style';

const n = (x: number): string => x.toLocaleString('en-US');
const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

function table(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [], compact: true } });
}

/** Lines of the report. */
export function replayReport(r: ReplayResult, traceName: string, style: Style, kernelSwap: readonly KernelPolicyRow[] | null = null): string[] {
  const out: string[] = [];
  const a = r.accesses;
  out.push(style.heading(`Replay of ${traceName} (${r.format} trace, onto ${r.target})`));
  const acc = table(['accesses', 'instruction', 'data (loads / stores)', 'M records', 'page refs', 'page-crossing', 'skipped']);
  acc.push([n(a.total), `${n(a.instruction)} (${pct(a.total === 0 ? 0 : a.instruction / a.total)})`, `${n(a.data)} (${n(a.loads)} / ${n(a.stores)})`, n(a.modifies), n(a.pageReferences), n(a.pageCrossing), n(a.skipped + r.skippedRecords)]);
  out.push(acc.toString());
  for (const s of r.skipSamples) out.push(`  skipped: ${s}`);

  out.push(style.heading('TLB'));
  const tlb = table(['hierarchy', 'level', 'lookups', 'hits', 'hit rate', 'page walks']);
  for (const h of r.tlb) {
    h.levels.forEach((l, i) => tlb.push([i === 0 ? h.name : '', `L${i + 1} ${l.geometry} (${l.setCount} sets)`, n(l.lookups), n(l.hits), pct(l.hitRate), i === h.levels.length - 1 ? `${n(h.walks)} (${pct(1 - h.hitRate)} of refs)` : '']));
  }
  tlb.push([`the process's Cpu`, r.cpu.tlb, n(r.cpu.tlbHits + r.cpu.walks), n(r.cpu.tlbHits), pct(r.cpu.tlbHits / Math.max(1, r.cpu.tlbHits + r.cpu.walks)), `${n(r.cpu.walks)} (with fault retries)`]);
  out.push(tlb.toString());

  out.push(style.heading('Page faults resolved by the kernel (unlimited memory)'));
  const f = r.faults;
  const faults = table(['total', 'minor (zero / stack)', 'major (from the ELF)', 'anonymous regions made', 'resident pages at the end', 'distinct pages']);
  faults.push([n(f.total), `${n(f.minor)} (${n(f.lazyZero)} / ${n(f.stackGrowth)})`, n(f.major), n(f.anonymousRegions), n(f.rssPages), n(r.distinctPages)]);
  out.push(faults.toString());

  out.push(style.heading('Faults per replacement policy and frame count (demand paging, same page references)'));
  const frames = r.policies[0]?.faults.map(([fr]) => fr) ?? [];
  const pol = table(['policy', ...frames.map((fr) => `${n(fr)} frames`)]);
  for (const p of r.policies) pol.push([p.policy === 'opt' ? 'opt (bound)' : p.policy, ...p.faults.map(([, m]) => n(m))]);
  out.push(pol.toString());

  if (kernelSwap !== null && kernelSwap.length > 0) {
    out.push(style.heading('Faults when the kernel itself swaps (resident limit = frames; its reclaim, swap-ins, file re-reads)'));
    const ks = table(['policy', ...kernelSwap[0]!.cells.map((c) => `${n(c.frames)} frames`)]);
    for (const row of kernelSwap) ks.push([row.policy, ...row.cells.map((c) => `${n(c.faults)} (${n(c.majorFaults)} major, ${n(c.fileReads)} file, ${n(c.swappedOut)} out)`)]);
    out.push(ks.toString());
    out.push('  faults: all the kernel resolved (first touches too, as the table above counts them); major: read back from swap; file: read from the ELF (first touches and re-reads of dropped clean pages); out: pages written to swap');
  }

  out.push(style.heading('LRU miss-ratio curve (one pass, every memory size)'));
  const curve = table(['frames', 'faults', 'miss ratio']);
  const at = (frames: number): number => {
    let m = a.pageReferences;
    for (const [fr, faults] of r.lruCurve) {
      if (fr > frames) break;
      m = faults;
    }
    return m;
  };
  for (let fr = 1; fr <= Math.max(1, r.distinctPages); fr *= 2) curve.push([n(fr), n(at(fr)), pct(a.pageReferences === 0 ? 0 : at(fr) / a.pageReferences)]);
  if (r.distinctPages > 0) curve.push([`${n(r.distinctPages)} (all)`, n(at(r.distinctPages)), pct(at(r.distinctPages) / Math.max(1, a.pageReferences))]);
  out.push(curve.toString());

  const ws = r.workingSet;
  out.push(style.heading(`Working set (τ = ${n(ws.windowRefs)} references)`));
  if (ws.points.length === 0) out.push('  (trace shorter than one sampling interval)');
  else {
    const bars = ' ▁▂▃▄▅▆▇█';
    const peak = Math.max(1, ...ws.points.map((p) => p.pageCount));
    // At most 64 cells: each the largest sample of its share of the run.
    const cells = Math.min(64, ws.points.length);
    const line: string[] = [];
    for (let c = 0; c < cells; c++) {
      const from = Math.floor((c * ws.points.length) / cells);
      const to = Math.floor(((c + 1) * ws.points.length) / cells);
      const top = Math.max(...ws.points.slice(from, to).map((p) => p.pageCount));
      line.push(bars[Math.round((top / peak) * 8)]!);
    }
    out.push(`  ${line.join('')}`);
    out.push(`  peak ${n(ws.peakPages)} pages, last ${n(ws.points.at(-1)!.pageCount)}; ${n(ws.points.length)} samples, one every ${n(ws.interval)} references`);
  }
  return out;
}
