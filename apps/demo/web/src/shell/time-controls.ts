// The time-travel controls: back / forward buttons, the ← / → keys, a slider over every step of the
// history, and the position in the URL (`?memmap=…&layout=…&scenario=…&tlb=16x4&step=12&fm=…&ops=…`) so that a
// link opens at that step, accesses made by hand included.
import { Timeline, type TimelineAction } from '../../../src/scenarios/index';
import { $, h } from './dom';
import type { History } from './history';

/** What the controls do; the shell decides (and redraws). */
export interface TimeActions {
  back(): void;
  forward(): void;
  goTo(position: number): void;
}

/** Adds the controls to the header and listens to the keys. */
export function mountTimeControls(actions: TimeActions): void {
  const back = h('button', { id: 'btn-back', title: 'back one step (←): the machine as it was' }, '◂ back');
  const slider = h('input', { id: 'timeline', type: 'range', min: '0', max: '0', value: '0', step: '1', title: 'every step of the history' });
  const label = h('span', { id: 'timeline-label', class: 'muted' });
  const bar = h('div', { class: 'timebar' }, back, slider, label);
  $('btn-step').before(bar);
  $('btn-step').title = 'run the next step (→)';
  back.addEventListener('click', () => actions.back());
  slider.addEventListener('input', () => actions.goTo(Number(slider.value)));
  document.addEventListener('keydown', (ev) => {
    const t = ev.target as HTMLElement | null;
    if (t !== null && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) return;
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === 'ArrowLeft') actions.back();
    else if (ev.key === 'ArrowRight') actions.forward();
    else return;
    ev.preventDefault();
  });
}

/** Updates the controls to the history's position. */
export function renderTimeControls(history: History): void {
  const slider = $<HTMLInputElement>('timeline');
  slider.max = String(history.length);
  slider.value = String(history.position);
  $<HTMLButtonElement>('btn-back').disabled = history.position === 0;
  $('timeline-label').textContent = `step ${history.position} of ${history.length}`;
}

/** What a link says: the inputs, the position, the actions (null: the scenario's steps only). */
export interface Link {
  readonly memmap: string | null;
  readonly layout: string | null;
  readonly scenario: string | null;
  /** TLB geometry (`1024x2`, `off`), null: the default. */
  readonly tlb: string | null;
  /** Frame-map window (`start-end` frames in hex), null: fit. */
  readonly frames: string | null;
  readonly position: number;
  readonly actions: TimelineAction[] | null;
}

/** The link the page was opened with. */
export function readUrl(): Link {
  const p = new URLSearchParams(location.search);
  const step = Number(p.get('step') ?? '0');
  const ops = p.get('ops');
  return { memmap: p.get('memmap'), layout: p.get('layout'), scenario: p.get('scenario'), tlb: p.get('tlb'), frames: p.get('fm'), position: Number.isInteger(step) && step >= 0 ? step : 0, actions: ops === null ? null : Timeline.decode(ops) };
}

/** Puts the page's inputs (null: left out) and position into the address bar (replacing the entry: no history spam). */
export function writeUrl(inputs: { memmap: string; layout: string; scenario: string; tlb: string | null; fm: string | null }, history: History): void {
  const p = new URLSearchParams({ memmap: inputs.memmap, layout: inputs.layout, scenario: inputs.scenario });
  if (inputs.tlb !== null) p.set('tlb', inputs.tlb);
  p.set('step', String(history.position));
  if (inputs.fm !== null) p.set('fm', inputs.fm);
  const ops = history.timeline.encode();
  if (ops !== '') p.set('ops', ops);
  const url = `${location.pathname}?${p.toString()}`;
  if (url !== `${location.pathname}${location.search}`) window.history.replaceState(null, '', url);
}
