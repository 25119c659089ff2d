// The swap panel (the `swap` scenario): a process three times larger than the memory it may keep,
// on the page's own kernel with the Clock policy. It shows the user frames the run used — each
// coloured by what last happened to it: filled fresh, read back from swap (a major fault), or
// evicted — the two swap devices' slots with their reference counts, the fault rates over
// simulated time (thrashing shaded), and every policy replayed on the same accesses. All of it
// comes from the scenario step's own results (apps/demo/src/scenarios/swap.ts) and events.
import type { SwapDemoResult } from '../../../src/scenarios/swap';
import type { DemoSession } from '../../../src/scenarios/index';
import { h } from '../shell/dom';
import type { WebView } from '../shell/view';
import { faultRateBuckets, swapFrameTimeline, swapSlotRows, swapStepEvents, type FaultRateBucket, type SwapFrameState, type SwapFrameTimeline, type SwapSlotRow } from './swap-model';

const STATE_NAMES: Record<SwapFrameState, string> = {
  'replaced-from-swap': 'evicted, another page read back from swap into it',
  'replaced-fresh': 'evicted, refilled with a fresh page',
  evicted: 'evicted, now free',
  'swapped-in': 'read back from swap (major fault)',
  filled: 'filled fresh (zero, ELF file, COW copy)',
  resident: 'same page, untouched by reclaim',
  free: 'free',
};
const STYLE = `
.view-swap .sw-caption { font-size: 12px; color: var(--muted); margin: 4px 0; }
.view-swap .sw-cols { display: flex; gap: 18px; flex-wrap: wrap; align-items: flex-start; }
.view-swap .sw-grid { display: grid; gap: 1px; margin: 4px 0; }
.view-swap .sw-grid i { width: 8px; height: 8px; display: block; background: #18202a; }
.view-swap #sw-frames i { width: 12px; height: 12px; }
.view-swap i[data-state='replaced-from-swap'] { background: #bc8cff; }
.view-swap i[data-state='replaced-fresh'] { background: #ffa657; }
.view-swap i[data-state='evicted'] { background: #f85149; }
.view-swap i[data-state='swapped-in'] { background: #58a6ff; }
.view-swap i[data-state='filled'] { background: #7ee787; }
.view-swap i[data-state='resident'] { background: #2ea04366; }
.view-swap .sw-moment { display: flex; gap: 8px; align-items: center; font-size: 12px; margin: 4px 0; }
.view-swap i[data-count='1'] { background: #e3b341; }
.view-swap i[data-shared='true'] { background: #f778ba; }
.view-swap .sw-legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 11px; color: var(--muted); }
.view-swap .sw-legend i { display: inline-block; width: 9px; height: 9px; margin-right: 4px; vertical-align: middle; }
.view-swap table { border-collapse: collapse; font: 12px var(--mono); }
.view-swap td, .view-swap th { padding: 1px 6px; text-align: right; }
.view-swap th { color: var(--muted); font-weight: normal; }
.view-swap td:first-child, .view-swap th:first-child { text-align: left; }
.view-swap tr.best td { color: #3fb950; }
.view-swap tr[data-policy='opt'] td { color: var(--muted); }
.view-swap svg { background: var(--panel-2); border-radius: 6px; }
`;

/** Everything the panel shows for one scenario result (computed once per result). */
interface SwapPicture {
  readonly timeline: SwapFrameTimeline;
  readonly slots: readonly SwapSlotRow[];
  readonly rates: readonly FaultRateBucket[];
}
const pictures = new WeakMap<SwapDemoResult, SwapPicture>();

function pictureOf(session: DemoSession, result: SwapDemoResult): SwapPicture {
  let p = pictures.get(result);
  if (p === undefined) {
    const swap = session.kernel.swap!;
    p = { timeline: swapFrameTimeline(swapStepEvents(session) ?? []), slots: swapSlotRows(swap), rates: faultRateBuckets(swap.samples) };
    pictures.set(result, p);
  }
  return p;
}

function legend(entries: readonly [string, Record<string, string>, string][]): HTMLElement {
  return h('div', { class: 'sw-legend' }, ...entries.map(([text, attrs, n]) => h('span', {}, h('i', attrs), `${text} ${n}`)));
}

/** The moment shown on the frame map (default: the last), per scenario result. */
const moments = new WeakMap<SwapDemoResult, number>();

function frameMap(t: SwapFrameTimeline, at: number, choose: (moment: number) => void): HTMLElement {
  const m = t.moments[at]!;
  const grid = h('div', { class: 'sw-grid', id: 'sw-frames', 'data-moment': String(at), style: 'grid-template-columns: repeat(32, 12px)' });
  t.frames.forEach((frame, i) => grid.append(h('i', { 'data-frame': String(frame), 'data-state': m.states[i]!, title: `frame 0x${frame.toString(16)}: ${STATE_NAMES[m.states[i]!]}` })));
  const slider = h('input', { id: 'sw-moment', type: 'range', min: '0', max: String(t.moments.length - 1), value: String(at), title: 'the moment of the run shown' });
  slider.addEventListener('input', () => choose(Number(slider.value)));
  const count = (s: SwapFrameState): string => String(m.states.filter((x) => x === s).length);
  return h(
    'div',
    {},
    h('div', { class: 'sw-caption' }, `the ${t.frames.length} user frames the run used, in address order; what happened to each during moment ${at + 1} of ${t.moments.length}:`),
    h('div', { class: 'sw-moment' }, slider, h('span', { id: 'sw-moment-text', 'data-faults': String(m.faults), 'data-evictions': String(m.evictions), 'data-swap-ins': String(m.swapIns) }, `up to here: ${m.faults} faults, ${m.evictions} evictions, ${m.swapIns} swap-ins`)),
    grid,
    legend((Object.keys(STATE_NAMES) as SwapFrameState[]).map((s) => [STATE_NAMES[s], { 'data-state': s }, count(s)])),
  );
}

function slotMaps(rows: readonly SwapSlotRow[]): HTMLElement {
  const out = h('div', { id: 'sw-slots' });
  for (const r of rows) {
    const grid = h('div', { class: 'sw-grid', 'data-device': r.name, style: 'grid-template-columns: repeat(64, 8px)' });
    r.counts.forEach((n, slot) => grid.append(h('i', { 'data-count': String(n), 'data-shared': String(n > 1), title: `${r.name} slot ${slot}: ${n === 0 ? 'free' : `${n} reference${n === 1 ? '' : 's'}`}` })));
    const used = r.counts.filter((n) => n > 0).length;
    out.append(h('div', { class: 'sw-caption' }, `${r.name} (priority ${r.priority}): ${used} of ${r.counts.length} slots in use, ${r.counts.filter((n) => n > 1).length} shared copy-on-write`), grid);
  }
  out.append(legend([['one reference', { 'data-count': '1' }, ''], ['shared (count > 1, one per sharer)', { 'data-shared': 'true' }, ''], ['free', {}, '']]));
  return out;
}

/** Major and minor faults per 1000 accesses, one bar pair per stretch; thrashing stretches shaded. */
function rateChart(rates: readonly FaultRateBucket[]): HTMLElement {
  const W = 600;
  const H = 160;
  const perK = (b: FaultRateBucket, k: 'majorFaults' | 'minorFaults'): number => (b.accesses === 0 ? 0 : (1000 * b[k]) / b.accesses);
  const top = Math.max(1, ...rates.map((b) => perK(b, 'majorFaults') + perK(b, 'minorFaults')));
  const bw = W / Math.max(1, rates.length);
  const y = (v: number): number => H - 16 - (v / top) * (H - 28);
  let body = '';
  rates.forEach((b, i) => {
    const x = i * bw;
    if (b.thrashing) body += `<rect x="${x}" y="0" width="${bw}" height="${H - 16}" fill="#f8514922"/>`;
    const major = perK(b, 'majorFaults');
    const minor = perK(b, 'minorFaults');
    body += `<rect x="${x + 1}" y="${y(major)}" width="${Math.max(1, bw - 2)}" height="${H - 16 - y(major)}" fill="#58a6ff"/>`;
    body += `<rect x="${x + 1}" y="${y(major + minor)}" width="${Math.max(1, bw - 2)}" height="${y(major) - y(major + minor)}" fill="#3fb950"/>`;
  });
  const last = rates[rates.length - 1];
  body += `<text x="2" y="11" fill="#8b949e" font-size="10">${top.toFixed(0)} faults / 1000 accesses</text>`;
  body += `<text x="2" y="${H - 3}" fill="#8b949e" font-size="10">0 ms</text><text x="${W - 2}" y="${H - 3}" fill="#8b949e" font-size="10" text-anchor="end">${last === undefined ? 0 : last.endMs.toFixed(0)} ms simulated</text>`;
  const box = h('div', { id: 'sw-rates', 'data-buckets': JSON.stringify(rates) });
  box.innerHTML = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${body}</svg>`;
  return h('div', {}, h('div', { class: 'sw-caption' }, 'fault rate over simulated time (Clock):'), box, legend([['major faults', { 'data-state': 'swapped-in' }, ''], ['minor faults', { 'data-state': 'resident' }, ''], ['thrashing signal', { style: 'background:#f8514955' }, '']]));
}

const POLICY_COLUMNS: readonly [string, keyof SwapDemoResult['rows'][number]][] = [
  ['policy', 'policy'],
  ['faults', 'faults'],
  ['major', 'majorFaults'],
  ['minor', 'minorFaults'],
  ['swapped out', 'swappedOut'],
  ['swapped in', 'swappedIn'],
  ['file dropped', 'fileDropped'],
  ['clean evictions', 'cleanSwapEvictions'],
  ['scanned', 'scanned'],
  ['direct reclaims', 'directRuns'],
  ['thrashing ticks', 'thrashingSamples'],
  ['simulated ms', 'simulatedMs'],
];

function policyTable(r: SwapDemoResult): HTMLElement {
  const best = Math.min(...r.rows.filter((x) => x.policy !== 'opt').map((x) => x.faults));
  const table = h('table', { id: 'sw-policies' }, h('tr', {}, ...POLICY_COLUMNS.map(([t]) => h('th', {}, t))));
  for (const row of r.rows) {
    const tr = h('tr', { 'data-policy': row.policy }, ...POLICY_COLUMNS.map(([, k]) => h('td', { 'data-key': k }, k === 'simulatedMs' ? row.simulatedMs.toFixed(1) : String(row[k]))));
    if (row.policy !== 'opt' && row.faults === best) tr.classList.add('best');
    table.append(tr);
  }
  return h('div', {}, h('div', { class: 'sw-caption' }, `every policy on the same ${r.accesses.toLocaleString('en-US')} accesses, each on a fresh kernel (OPT, which knows the future, is the lower bound; fewest among the others in green):`), table);
}

function processTable(r: SwapDemoResult): HTMLElement {
  const table = h('table', { id: 'sw-processes' }, h('tr', {}, ...['pid', 'name', 'VmRSS', 'VmSwap', 'major', 'minor'].map((t) => h('th', {}, t))));
  for (const p of r.processes) table.append(h('tr', { 'data-pid': String(p.pid) }, ...[p.pid, p.name, p.vmRssPages, p.vmSwapPages, p.majorFaults, p.minorFaults].map((v) => h('td', {}, String(v)))));
  return table;
}

/** Swap and page replacement: frames evicted and swapped in, swap slots, fault rates, every policy. */
export const swapView: WebView = {
  id: 'swap',
  title: 'Swap: eviction, major faults, every policy compared',
  columns: 12,
  shownFor: (session) => session.scenario.name === 'swap',
  render(body, session, ctx) {
    if (document.getElementById('sw-style') === null) document.head.append(h('style', { id: 'sw-style' }, STYLE));
    const r = session.swap;
    body.dataset.ran = String(r !== null);
    if (r === null || session.kernel.swap === null) {
      body.replaceChildren(h('div', { class: 'sw-caption' }, 'Step to the swap step: a process three times larger than the memory it may keep, on two swap devices, then every policy on the same accesses.'));
      return;
    }
    const pic = pictureOf(session, r);
    const last = pic.timeline.moments.length - 1;
    const at = Math.min(moments.get(r) ?? last, last);
    const choose = (moment: number): void => {
      moments.set(r, moment);
      swapView.render(body, session, ctx);
    };
    body.replaceChildren(
      h('div', { class: 'sw-caption', id: 'sw-summary' }, `process "big" writes ${r.bufferPages} pages (${(r.bufferPages * 4) / 1024} MiB) with room for ${r.limitPages} resident (${r.limitPages * 4} KiB, like memory.max), forks, and works on hot sets that fit, then do not; ${r.valuesChecked} pages read back and checked. Policy on this kernel: ${session.kernel.swap.policy.name}.`),
      h('div', { class: 'sw-cols' }, last < 0 ? h('div', {}) : frameMap(pic.timeline, at, choose), h('div', {}, processTable(r), rateChart(pic.rates))),
      slotMaps(pic.slots),
      policyTable(r),
    );
  },
};
