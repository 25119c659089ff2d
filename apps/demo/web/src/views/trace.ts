// The trace replay panel: a memory trace (the built-in program loop, or a Valgrind lackey / plain /
// kmem trace you load, gzip too) replayed through a process's Cpu on a bare address space. Step
// through its first records one at a time — each a TLB hit, a page walk or a page fault and how
// the kernel resolved it, with the page walk of its address — and see the whole trace's faults
// against frames per policy with the LRU miss-ratio curve for every memory size, and the working
// set, drawn by the same code as `pnpm demo replay --svg`.
import type { ReplayResult } from '@kmem/kernel-sim';
import { h } from '../shell/dom';
import type { WebView } from '../shell/view';
import { TRACE_VIEW_MAX_STEPS, TraceStepper, analyseTrace, demoTrace, formatTraceVa, loadTrace, type LoadedTrace, type TraceStep } from './trace-model';

const STYLE = `
.view-trace .tr-controls { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-bottom: 8px; }
.view-trace .tr-caption { font-size: 12px; color: var(--muted); }
.view-trace .tr-cols { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
.view-trace table { border-collapse: collapse; font: 12px var(--mono); }
.view-trace td, .view-trace th { padding: 1px 6px; text-align: right; }
.view-trace th { color: var(--muted); font-weight: normal; }
.view-trace .tr-steps { max-height: 340px; overflow-y: auto; }
.view-trace tr[data-outcome='fault'] td.out { color: #f85149; }
.view-trace tr[data-outcome='walk'] td.out { color: #e3b341; }
.view-trace tr[data-outcome='tlb-hit'] td.out { color: #3fb950; }
.view-trace tr.current { background: var(--panel-2); }
.view-trace pre { font: 12px var(--mono); background: var(--panel-2); padding: 6px 8px; border-radius: 6px; margin: 6px 0; white-space: pre-wrap; }
.view-trace .tr-chart svg { max-width: 100%; height: auto; background: #fff; border-radius: 6px; }
`;

interface TraceViewState {
  trace: LoadedTrace | null;
  stepper: TraceStepper | null;
  result: ReplayResult | null;
  svg: string | null;
  error: string | null;
  /** The panel body last rendered into (async loads redraw it). */
  body: HTMLElement | null;
}
const state: TraceViewState = { trace: null, stepper: null, result: null, svg: null, error: null, body: null };
let loading = false;

/** Loads a trace (replacing the one shown), then replays the whole of it for the pictures. */
async function load(name: string, bytes: Uint8Array): Promise<void> {
  loading = true;
  state.error = null;
  redraw();
  try {
    const trace = await loadTrace(name, bytes);
    state.trace = trace;
    state.stepper = new TraceStepper(trace);
    state.result = null;
    state.svg = null;
    redraw();
    state.result = await analyseTrace(trace);
    // ECharts is loaded when a picture is first drawn (its own chunk).
    const { replaySvg } = await import('../../../src/replay/replay-svg');
    state.svg = replaySvg(state.result, name);
  } catch (e) {
    state.error = e instanceof Error ? e.message : String(e);
  } finally {
    loading = false;
    redraw();
  }
}

function redraw(): void {
  if (state.body !== null) render(state.body);
}

function stepRow(s: TraceStep, current: boolean): HTMLElement {
  const what = s.outcome === 'fault' ? `#PF: ${s.resolution.join(', ') || 'resolved'}` : s.outcome === 'walk' ? 'TLB miss: page walk' : 'TLB hit';
  const row = h(
    'tr',
    { 'data-index': String(s.index), 'data-outcome': s.outcome, 'data-va': String(s.va) },
    h('td', {}, String(s.index)),
    h('td', {}, s.kind),
    h('td', {}, `${formatTraceVa(s.va)},${s.sizeBytes}`),
    h('td', {}, String(s.tlbHits)),
    h('td', {}, String(s.walks)),
    h('td', {}, String(s.faults)),
    h('td', { class: 'out' }, what),
    h('td', {}, String(s.rssPages)),
  );
  if (current) row.classList.add('current');
  return row;
}

function render(body: HTMLElement): void {
  state.body = body;
  const stepper = state.stepper;
  const step = (count: number): void => {
    if (stepper === null) return;
    for (let i = 0; i < count && stepper.next() !== null; i++);
    redraw();
  };
  const one = h('button', { id: 'tr-step', title: 'replay the next record' }, '▸ step');
  const ten = h('button', { id: 'tr-step10', title: 'replay the next 10 records' }, '▸▸ 10');
  for (const b of [one, ten]) b.toggleAttribute('disabled', stepper === null || stepper.remaining === 0 || loading);
  one.addEventListener('click', () => step(1));
  ten.addEventListener('click', () => step(10));
  const reset = h('button', { id: 'tr-reset', title: 'start the steps again on a fresh machine' }, '⟲');
  reset.toggleAttribute('disabled', state.trace === null);
  reset.addEventListener('click', () => {
    if (state.trace !== null) state.stepper = new TraceStepper(state.trace);
    redraw();
  });
  const file = h('input', { id: 'tr-file', type: 'file', title: 'a Valgrind lackey trace (valgrind --tool=lackey --trace-mem=yes), plain "ADDRESS R|W" lines or a kmem trace; gzip allowed' });
  file.addEventListener('change', () => {
    const f = file.files?.[0];
    if (f !== undefined) void f.arrayBuffer().then((buf) => load(f.name, new Uint8Array(buf)));
  });
  const builtIn = h('button', { id: 'tr-demo', title: 'the built-in trace: a small program loop' }, 'built-in trace');
  builtIn.addEventListener('click', () => void load('built-in loop', new TextEncoder().encode(demoTrace())));
  const t = state.trace;
  const caption = t === null ? (loading ? 'loading…' : '') : `${t.name}: ${t.format} trace, first ${t.batch.length} records to step through (of ${TRACE_VIEW_MAX_STEPS} at most) · bare address space, TLB 128 sets x 12 ways`;
  const parts: HTMLElement[] = [h('div', { class: 'tr-controls' }, one, ten, reset, builtIn, file, h('span', { class: 'tr-caption', id: 'tr-caption', 'data-format': t?.format ?? '' }, caption))];
  if (state.error !== null) parts.push(h('div', { class: 'walk-result fault', id: 'tr-error' }, state.error));
  body.dataset.step = String(stepper?.steps.length ?? 0);
  body.dataset.loading = String(loading);
  body.dataset.analysed = String(state.svg !== null);

  if (stepper !== null) {
    const table = h('table', { id: 'tr-steps' }, h('tr', {}, ...['#', 'kind', 'address,size', 'TLB hits', 'walks', '#PF', 'what happened', 'RSS'].map((c) => h('th', {}, c))));
    stepper.steps.forEach((s, i) => table.append(stepRow(s, i === stepper.steps.length - 1)));
    const last = stepper.steps.at(-1);
    const left = h('div', { class: 'tr-steps' }, table);
    const right = h('div', {}, last === undefined ? h('div', { class: 'tr-caption' }, 'Step to replay the first record: its translation through the Cpu, and what the kernel did if it faulted.') : h('pre', { id: 'tr-walk', 'data-index': String(last.index) }, `record ${last.index}: ${last.kind} ${formatTraceVa(last.va)},${last.sizeBytes} (${last.pageReferences} page reference${last.pageReferences === 1 ? '' : 's'})\n${last.walk}`));
    parts.push(h('div', { class: 'tr-cols' }, left, right));
    // Column totals so far.
    const sum = (k: 'tlbHits' | 'walks' | 'faults'): number => stepper.steps.reduce((n, s) => n + s[k], 0);
    parts.push(h('div', { class: 'tr-caption', id: 'tr-totals' }, `so far: ${sum('tlbHits')} TLB hits, ${sum('walks')} walks, ${sum('faults')} page faults`));
  }
  const r = state.result;
  if (r !== null) {
    const opt = r.policies.find((p) => p.policy === 'opt');
    parts.push(
      h(
        'div',
        { class: 'tr-caption', id: 'tr-summary', 'data-distinct-pages': String(r.distinctPages), 'data-lru-curve': JSON.stringify(r.lruCurve) },
        `whole trace: ${r.accesses.total.toLocaleString('en-US')} accesses, ${r.distinctPages} distinct pages, ${r.faults.total} faults with unlimited memory; LRU miss-ratio curve ${r.lruCurve.map(([f, m]) => `${f}:${m}`).join(' ')}${opt === undefined ? '' : `; OPT ${opt.faults.map(([f, m]) => `${f}:${m}`).join(' ')}`}`,
      ),
    );
  }
  if (state.svg !== null) {
    const chart = h('div', { class: 'tr-chart', id: 'tr-chart' });
    chart.innerHTML = state.svg;
    parts.push(chart);
  } else if (r !== null || loading) parts.push(h('div', { class: 'tr-caption' }, 'drawing…'));
  body.replaceChildren(...parts);
}

/** Trace replay: step through a trace's first accesses (TLB hit / walk / #PF) and its miss-ratio curve. */
export const traceView: WebView = {
  id: 'trace',
  title: 'Trace replay: step through accesses, miss-ratio curve',
  columns: 12,
  render(body) {
    if (document.getElementById('tr-style') === null) document.head.append(h('style', { id: 'tr-style' }, STYLE));
    // Its own machine and trace, kept across the page's steps; the built-in trace at first.
    if (state.trace === null && !loading && state.error === null) {
      state.body = body;
      void load('built-in loop', new TextEncoder().encode(demoTrace()));
      return;
    }
    render(body);
  },
};
