// The web visualizer: the same DemoSession as `pnpm demo`, stepped from buttons, drawn with the DOM
// and a canvas. Everything runs in the browser; the fixtures are bundled.
import { parseMemoryMap, type KernelEvent, type LayoutName } from '@kmem/kernel-sim';
import { virt } from '@kmem/x86-paging';
import {
  DemoSession,
  LAYOUT_NAMES,
  SCENARIOS,
  SCENARIO_NAMES,
  diffPageTables,
  formatCanonical,
  formatPhysical,
  formatSize,
  heapView,
  processViews,
  tlbView,
  snapshotPageTables,
  type EntryChange,
  type PageTableSnapshot,
  type ScenarioName,
  type TimelineAction,
  type WalkView,
  observe,
  residentPa,
} from '../../src/scenarios/index';
import { MEMORY_MAPS, loadProgram } from './fixtures';
import { $, h } from './shell/dom';
import { FLAG_RULES, addressSplit, pagingModeText } from './shell/explain';
import { History, frameKinds, shownFrameCount } from './shell/history';
import { frameWindowParam, mountFrameMap, renderFrameMap, resetFrameWindow, setFrameWindowParam } from './shell/frame-map';
import { mountTimeControls, readUrl, renderTimeControls, writeUrl } from './shell/time-controls';
import { TLB_DEFAULT, mountTlbChoice, tlbChoice, tlbParam } from './shell/tlb-choice';
import type { ViewContext } from './shell/view';
import { VIEWS } from './views/index';

// --- state --------------------------------------------------------------------------------------

interface State {
  history: History;
  playing: number | null;
  walkTimer: number | null;
  mapName: string;
  layout: LayoutName;
  scenario: ScenarioName;
  /** The CPU's TLB geometry, or false for none. */
  tlb: { setCount: number; wayCount: number } | false;
  programBytes: Uint8Array;
  /** The walk shown in the walk panel (redrawn at every change of position), or null. */
  shownWalk: { va: number; pid: number } | null;
}
let state: State | null = null;

/** The machine at the page's position in the history. */
const current = (): DemoSession => state!.history.point.session;

function makeSession(mapName: string, layout: LayoutName, scenario: ScenarioName, programBytes: Uint8Array, tlb: State['tlb']): DemoSession {
  const m = MEMORY_MAPS.find((x) => x.name === mapName) ?? MEMORY_MAPS[0]!;
  const parsed = parseMemoryMap(m.text, { fileName: m.name });
  return new DemoSession(
    { memoryMap: { name: m.name, format: parsed.format, regions: parsed.regions }, layout, program: { name: 'hello-static-pie', bytes: programBytes }, traceAccesses: 40_000, tlb },
    scenario,
  );
}

// --- panels -------------------------------------------------------------------------------------

function renderSteps(s: DemoSession): void {
  const hist = state!.history;
  const position = hist.position;
  const list = $('steps');
  // The history: the scenario's steps with the accesses made by hand where they were made.
  let stepNo = 0;
  list.replaceChildren(
    ...hist.timeline.actions.map((a, i) => {
      const cls = i < position - 1 ? 'done' : i === position - 1 ? 'done current' : '';
      if (a.kind === 'access') {
        const r = a.request;
        return h('li', { class: `${cls} access` }, h('span', { class: 'phase' }, 'access'), `${r.mode} ${r.access} of ${formatCanonical(r.va)} (${r.pid === 0 ? 'kernel' : `pid ${r.pid}`})`);
      }
      const t = s.titles[stepNo++];
      return h('li', { class: cls }, h('span', { class: 'phase' }, t?.phase ?? ''), t?.title ?? '');
    }),
  );
  const cur = list.querySelector<HTMLElement>('.current');
  if (cur === null) list.scrollTop = 0;
  else cur.scrollIntoView({ block: 'nearest' });
  $('step-counter').textContent = `${position} / ${hist.length}`;
  document.body.dataset.step = String(position);
  const last = hist.point.last;
  const lines = $('step-lines');
  if (last === null) lines.replaceChildren(h('div', {}, 'Press step (or play, or →) to boot the machine.'));
  else if (last.kind === 'access') lines.replaceChildren(...last.report.lines.map((l) => h('div', {}, l)));
  else if (last.error !== null) lines.replaceChildren(h('div', { class: 'panic-box' }, `error: ${last.error}`));
  else {
    lines.replaceChildren(...(last.record?.lines ?? []).map((l) => h('div', {}, l)));
    if (s.panicReport !== null && last.record?.id === 'panic') {
      const r = s.panicReport;
      lines.append(h('div', { class: 'panic-box' }, `Kernel panic - not syncing: ${r.reason}\n${r.walk ?? ''}`));
    }
  }
  const atEnd = position >= hist.length;
  for (const id of ['btn-step', 'btn-play', 'btn-end']) $<HTMLButtonElement>(id).disabled = atEnd;
}

/** Frame owners at the current point, classified once per point (a zoom only redraws). */
let kindsMemo: { point: unknown; kinds: Uint8Array; pids: Int32Array } | null = null;

function renderFrames(s: DemoSession): void {
  const point = state!.history.point;
  if (kindsMemo === null || kindsMemo.point !== point) kindsMemo = { point, ...frameKinds(s, shownFrameCount(s)) };
  renderFrameMap(s, kindsMemo.kinds, kindsMemo.pids, point.before, tableChanges() ?? [], tableSnapshot());
}

/** The entries the last step changed, and the tables now: computed once per point of the history. */
let diffMemo: { point: unknown; after: PageTableSnapshot; changes: readonly EntryChange[] | null } | null = null;
function memoDiff(): NonNullable<typeof diffMemo> {
  const point = state!.history.point;
  if (diffMemo === null || diffMemo.point !== point) {
    const after = snapshotPageTables(point.session.kernel);
    diffMemo = { point, after, changes: point.before === null ? null : diffPageTables(point.before.tables, after) };
  }
  return diffMemo;
}
const tableChanges = (): readonly EntryChange[] | null => memoDiff().changes;
const tableSnapshot = (): PageTableSnapshot => memoDiff().after;

function renderVas(s: DemoSession): void {
  const sel = $<HTMLSelectElement>('vas-pid');
  const walkSel = $<HTMLSelectElement>('walk-pid');
  const procs = s.booted ? processViews(s.kernel).filter((p) => p.state === 'running') : [];
  const keep = sel.value;
  const keepWalk = walkSel.value;
  sel.replaceChildren(...procs.map((p) => h('option', { value: String(p.pid) }, `pid ${p.pid} ${p.name}`)));
  walkSel.replaceChildren(h('option', { value: '0' }, 'kernel'), ...procs.map((p) => h('option', { value: String(p.pid) }, `pid ${p.pid} ${p.name}`)));
  if (procs.some((p) => String(p.pid) === keep)) sel.value = keep;
  if (keepWalk === '0' || procs.some((p) => String(p.pid) === keepWalk)) walkSel.value = keepWalk;
  const vas = $('vas');
  const p = procs.find((x) => String(x.pid) === sel.value) ?? procs[0];
  if (p === undefined) {
    vas.replaceChildren(h('div', { class: 'gap' }, s.booted ? 'no process is running' : 'the kernel has not booted yet'));
    return;
  }
  const out: HTMLElement[] = [];
  const live = s.kernel.processes.list().find((x) => x.pid === p.pid);
  p.regions.forEach((r, i) => {
    const prev = p.regions[i - 1];
    if (prev !== undefined && r.start > prev.end) out.push(h('div', { class: 'gap' }, `··· ${formatSize(r.start - prev.end)} unmapped ···`));
    const pageCount = (r.end - r.start) / 4096;
    const div = h(
      'div',
      { class: `region k-${r.kind}`, 'data-start': String(r.start), title: 'click: walk the first page' },
      h('span', { class: 'addr' }, `${formatCanonical(r.start)}`),
      h('span', { class: 'meta' }, `${r.prot} ${r.kind}`),
      h('span', { class: 'addr' }, `${formatCanonical(r.end - 1)}`),
      h('span', { class: 'meta' }, `${formatSize(r.end - r.start)} · ${r.residentPages} resident`),
    );
    if (pageCount <= 64) {
      const pages = h('span', { class: 'pages' });
      for (let i = 0; i < pageCount; i++) {
        const va = r.start + i * 4096;
        const b = h('b', { class: live !== undefined && residentPa(s.kernel, live.root, va) >= 0 ? 'res' : '', 'data-va': String(va), title: formatCanonical(va) });
        pages.append(b);
      }
      div.append(pages);
    }
    div.addEventListener('click', (ev) => {
      const target = ev.target as HTMLElement;
      const va = Number(target.dataset.va ?? r.start);
      startWalk(va, p.pid);
    });
    out.push(div);
  });
  vas.replaceChildren(...out);
}

function showWalk(w: WalkView, animate = true): void {
  const box = $('walk');
  if (state?.walkTimer !== null && state?.walkTimer !== undefined) clearTimeout(state.walkTimer);
  box.dataset.done = 'false';
  box.dataset.va = w.vaHex;
  box.dataset.space = w.space;
  const levels = w.levels.map((l) =>
    h(
      'div',
      { class: `walk-level${l.leaf ? ' leaf' : ''}${l.present ? '' : ' absent'}`, 'data-level': l.levelName, 'data-index': String(l.index), 'data-raw': l.raw, 'data-present': String(l.present), 'data-pa': String(l.pa) },
      h('span', { class: 'name' }, l.levelName),
      h('span', { class: 'entry' }, `[${l.index}] @${formatPhysical(l.entryPa)} = ${l.raw} `, h('em', {}, !l.present ? 'not present' : l.leaf ? `→ ${formatSize(l.pageSizeBytes)} page ${formatPhysical(l.pa)}` : `→ table ${formatPhysical(l.pa)}`)),
      h('span', { class: 'bits' }, ...l.bits.map((b) => h('span', { class: `${b.set ? 'on' : ''}${b.name === 'NX' ? ' nx' : ''}`, title: `${b.set ? 'set' : 'clear'}: ${FLAG_RULES[b.name] ?? `bit ${b.bit}`}` }, b.name))),
    ),
  );
  const result = h(
    'div',
    { class: `walk-result ${w.pa === null ? 'fault' : 'ok'}`, id: 'walk-result', 'data-pa': w.pa === null ? 'null' : String(w.pa) },
    w.pa === null
      ? `${w.vaHex} → not mapped: an access would raise #PF`
      : `${w.vaHex} → ${formatPhysical(w.pa)}   rights ${w.access ?? ''}${w.userPage === null ? '' : `   ${w.userPage.copyOnWrite ? 'copy-on-write' : 'private'}, frame shared by ${w.userPage.refCount}`}`,
  );
  // Is the translation cached? Only the running address space's entries (and global ones) are in
  // the TLB: a CR3 write without PCIDs drops the rest.
  const k = current().kernel;
  const running = k.cpu.registers.cr3Frame === w.root;
  const page = w.va - (w.va % 4096);
  const cached = tlbView(k, 1 << 16).entries.find((e) => e.va === page && (e.global || running));
  const tlb = h(
    'div',
    { class: 'muted walk-tlb' },
    w.pa === null ? '' : cached !== undefined ? `TLB: cached in slot ${cached.slot}${cached.global ? ' (global)' : ''}: the next access skips this walk` : `TLB: not cached${running ? '' : ' (not the running address space)'}: the next access walks these tables`,
  );
  tlb.style.visibility = 'hidden';
  result.style.visibility = 'hidden';
  box.replaceChildren(h('div', { class: 'muted' }, `in ${w.space}'s tables, CR3 = ${formatPhysical(w.root)}${w.note === null ? '' : ` — ${w.note}`} · ${pagingModeText(k.cpu.pagingMode)}`), addressSplit(w.va), ...levels, result, tlb);
  let i = animate ? 0 : levels.length;
  if (!animate) for (const l of levels) l.classList.add('shown');
  const tick = (): void => {
    if (i < levels.length) {
      levels[i]!.classList.add('shown');
      i++;
      state!.walkTimer = window.setTimeout(tick, 260);
    } else {
      result.style.visibility = 'visible';
      tlb.style.visibility = 'visible';
      box.dataset.done = 'true';
      state!.walkTimer = null;
    }
  };
  tick();
}

function startWalk(va: number, pid: number, animate = true): void {
  if (state === null) return;
  const s = current();
  state.shownWalk = { va, pid };
  $<HTMLInputElement>('walk-address').value = formatCanonical(va);
  $<HTMLSelectElement>('walk-pid').value = String(pid);
  if (!s.booted || s.kernel.state !== 'running') {
    $('walk').replaceChildren(h('div', { class: 'walk-result fault' }, 'boot the kernel first (step through the boot)'));
    return;
  }
  try {
    showWalk(observe(s, () => s.walk(va, pid)), animate);
  } catch (e) {
    $('walk').replaceChildren(h('div', { class: 'walk-result fault' }, (e as Error).message));
  }
}

function renderHeap(s: DemoSession): void {
  const blocks = $('heap-blocks');
  const table = $('heap-classes');
  if (!s.booted) {
    blocks.replaceChildren();
    table.replaceChildren();
    $('heap-caption').textContent = '';
    return;
  }
  const hv = heapView(s.kernel);
  $('heap-caption').textContent = `${hv.allocations} live · ${hv.pagesHeld} pages held · ${formatCanonical(hv.base)}`;
  blocks.replaceChildren(
    ...hv.blocks.map((b) => {
      const el = h('b', { class: `${b.used ? 'used ' : ''}${b.kind}`, title: `${formatCanonical(b.start)} ${b.sizeBytes} B ${b.kind}${b.cache === null ? '' : ` ${b.cache}`}${b.used ? '' : ' (free)'}` });
      el.style.width = `${Math.max(3, Math.min(120, Math.log2(b.sizeBytes) * 5))}px`;
      return el;
    }),
  );
  table.replaceChildren(
    h('tr', {}, h('th', {}, 'class'), h('th', {}, 'per slab'), h('th', {}, 'slabs'), h('th', {}, 'in use'), h('th', {}, '')),
    ...hv.classes.map((c) => {
      const cap = c.slabCount * c.objectsPerSlab;
      const meter = h('div', { class: 'meter' }, h('i', { style: `width:${cap === 0 ? 0 : Math.max(2, (c.objectsInUse / cap) * 100)}%` }));
      return h('tr', {}, h('td', {}, c.name), h('td', { class: 'num' }, String(c.objectsPerSlab)), h('td', { class: 'num' }, String(c.slabCount)), h('td', { class: 'num' }, String(c.objectsInUse)), h('td', {}, meter));
    }),
    h('tr', {}, h('td', {}, 'tlsf'), h('td', {}, ''), h('td', { class: 'num' }, String(hv.tlsf.blocksInUse + hv.tlsf.freeBlocks)), h('td', { class: 'num' }, String(hv.tlsf.blocksInUse)), h('td', {}, `${formatSize(hv.tlsf.bytesFree)} free`)),
    h('tr', {}, h('td', {}, 'pages'), h('td', {}, ''), h('td', { class: 'num' }, String(hv.large.pageCount)), h('td', { class: 'num' }, String(hv.large.allocations)), h('td', {}, '')),
  );
}

function renderTlb(s: DemoSession): void {
  const t = tlbView(s.kernel, 48);
  const total = t.hits + t.misses;
  const before = state!.history.point.before;
  const dh = t.hits - (before?.tlbHits ?? 0);
  const dm = t.misses - (before?.tlbMisses ?? 0);
  const tlb = s.machine.cpu.tlb;
  $('tlb-caption').textContent = tlb === null ? 'off: every access walks the tables' : `${tlb.setCount} × ${tlb.wayCount} · ${t.hits} hits · ${t.misses} misses${total > 0 ? ` · ${((t.hits / total) * 100).toFixed(1)}%` : ''} · this step +${dh}/+${dm}`;
  const bar = $('tlb-bar');
  bar.replaceChildren(h('i', { class: 'hit', style: `width:${total === 0 ? 0 : (t.hits / total) * 100}%` }), h('i', { class: 'miss', style: `width:${total === 0 ? 0 : (t.misses / total) * 100}%` }));
  $('tlb').replaceChildren(
    h('tr', {}, h('th', {}, 'page'), h('th', {}, 'frame'), h('th', {}, 'pcid'), h('th', {}, 'G'), h('th', {}, 'rights')),
    ...t.entries.map((e) => h('tr', {}, h('td', {}, formatCanonical(e.va)), h('td', {}, formatPhysical(e.pa)), h('td', { class: 'num' }, String(e.pcid)), h('td', {}, e.global ? 'G' : ''), h('td', {}, e.access))),
  );
}

function describe(e: KernelEvent): string {
  const { seq: _seq, kind: _kind, ...rest } = e as KernelEvent & Record<string, unknown>;
  return Object.entries(rest)
    .map(([k, v]) => {
      if (typeof v === 'number' && (k === 'va' || k === 'entry' || k === 'rsp' || k === 'oldBreak' || k === 'newBreak')) return `${k}=${formatCanonical(v)}`;
      if (typeof v === 'number' && (k === 'frame' || k === 'pa' || k === 'cr3') && v >= 0) return `${k}=${formatPhysical(v)}`;
      if (typeof v === 'object' && v !== null) return k === 'report' ? String((v as { reason?: string }).reason) : '';
      return `${k}=${String(v)}`;
    })
    .filter((x) => x !== '')
    .join(' ');
}

function renderEvents(): void {
  const box = $('events');
  const last = state!.history.point.last;
  const events = last === null ? [] : last.kind === 'access' ? last.report.events : (last.record?.events ?? []);
  const shown = events.slice(-300);
  $('events-caption').textContent = last === null ? '' : `step ${state!.history.position}: ${events.length} events${events.length > shown.length ? ` (last ${shown.length})` : ''}`;
  box.replaceChildren(...shown.map((e) => h('div', { class: `k-${e.kind}`, title: describe(e) }, h('span', { class: 'seq' }, String(e.seq)), `${e.kind} `, describe(e))));
  box.scrollTop = box.scrollHeight;
}

/** Milliseconds each panel took to draw, last time (for measuring; see moved()). */
let renderTimes: Record<string, number> = {};
function timed(name: string, draw: () => void): void {
  const t0 = performance.now();
  draw();
  renderTimes[name] = performance.now() - t0;
}

/** Draws the whole page from the history's current point (a position always draws the same page). */
function renderAll(): void {
  if (state === null) return;
  const s = current();
  const shown = state.shownWalk;
  renderTimes = {};
  observe(s, () => {
    timed('tlb', () => renderTlb(s));
    timed('steps', () => renderSteps(s));
    timed('frames', () => renderFrames(s));
    timed('vas', () => renderVas(s));
    timed('heap', () => renderHeap(s));
    timed('events', () => renderEvents());
    renderViews(s);
    renderTimeControls(state!.history);
    if (shown !== null) timed('walk', () => startWalk(shown.va, shown.pid, false));
  });
  saveUrl();
}

/** The page's inputs, frame-map window and position into the address bar. */
function saveUrl(): void {
  if (state === null) return;
  writeUrl({ memmap: state.mapName, layout: state.layout, scenario: state.scenario, tlb: tlbParam(state.tlb), fm: frameWindowParam() }, state.history);
}

/** After any change of position: draw, and stop playing at the end. */
function moved(changed: boolean): void {
  if (!changed || state === null) return;
  const t0 = performance.now();
  renderAll();
  // For measuring (the tests read it; it is not part of the page): the last move and its redraw.
  (globalThis as { kmemLastMove?: unknown }).kmemLastMove = { kind: state.history.lastMoveKind, moveMs: state.history.lastMoveMs, renderMs: performance.now() - t0, parts: renderTimes, position: state.history.position };
  if (state.history.position >= state.history.length) stopPlaying();
}

// --- registered views (web/src/views/) -----------------------------------------------------------

const viewContext: ViewContext = {
  walk: (va, pid) => startWalk(va, pid),
  access: (request) => {
    stopPlaying();
    state!.history.access(request);
    moved(true);
  },
  last: () => state!.history.point.last,
  tableChanges: () => tableChanges(),
};

/** One panel per registered view, after the built-in ones. */
function mountViews(): void {
  const main = document.querySelector('main')!;
  for (const v of VIEWS) {
    const panel = h('section', { class: `panel view-${v.id}`, id: `view-${v.id}`, style: `grid-column: span ${v.columns ?? 6}` }, h('h2', {}, v.title), h('div', { class: 'view-body' }));
    main.append(panel);
  }
}

function renderViews(s: DemoSession): void {
  for (const v of VIEWS) {
    const panel = $(`view-${v.id}`);
    const shown = v.shownFor === undefined || v.shownFor(s);
    panel.hidden = !shown;
    if (!shown) continue;
    try {
      timed(v.id, () => v.render(panel.querySelector<HTMLElement>('.view-body')!, s, viewContext));
    } catch (e) {
      panel.querySelector('.view-body')!.replaceChildren(h('div', { class: 'walk-result fault' }, `${v.title}: ${(e as Error).message}`));
    }
  }
}

// --- controls -----------------------------------------------------------------------------------

function step(): void {
  if (state === null) return;
  moved(state.history.forward());
}

function stopPlaying(): void {
  if (state?.playing !== null && state?.playing !== undefined) clearInterval(state.playing);
  if (state !== null) state.playing = null;
  const b = $('btn-play');
  b.classList.remove('playing');
  b.textContent = '▶ play';
}

/** A fresh history for the chosen map, layout and scenario (at `position`, with `actions` from a link). */
function reset(position = 0, actions?: readonly TimelineAction[]): void {
  if (state === null) return;
  stopPlaying();
  const mapName = $<HTMLSelectElement>('memmap').value;
  const layout = $<HTMLSelectElement>('layout').value as LayoutName;
  const scenario = $<HTMLSelectElement>('scenario').value as ScenarioName;
  const programBytes = state.programBytes;
  const tlb = tlbChoice();
  state.history = new History(() => makeSession(mapName, layout, scenario, programBytes, tlb), actions, position);
  state.shownWalk = null;
  if (mapName !== state.mapName) resetFrameWindow();
  state.tlb = tlb;
  state.mapName = mapName;
  state.layout = layout;
  state.scenario = scenario;
  $('walk').replaceChildren(h('div', { class: 'muted' }, 'Type an address (or click a region or a page on the left) to walk it through PML4 → PDPT → PD → PT.'));
  $('walk').dataset.done = 'false';
  renderAll();
}

function init(): void {
  const memmap = $<HTMLSelectElement>('memmap');
  memmap.replaceChildren(...MEMORY_MAPS.map((m) => h('option', { value: m.name }, m.label)));
  const layout = $<HTMLSelectElement>('layout');
  layout.replaceChildren(...LAYOUT_NAMES.map((n) => h('option', { value: n }, n)));
  const scenario = $<HTMLSelectElement>('scenario');
  scenario.replaceChildren(...SCENARIO_NAMES.map((n) => h('option', { value: n, title: SCENARIOS[n].description }, n)));
  const link = readUrl();
  if (link.memmap !== null && MEMORY_MAPS.some((m) => m.name === link.memmap)) memmap.value = link.memmap;
  if (link.layout !== null && (LAYOUT_NAMES as readonly string[]).includes(link.layout)) layout.value = link.layout;
  if (link.scenario !== null && (SCENARIO_NAMES as readonly string[]).includes(link.scenario)) scenario.value = link.scenario;
  const programBytes = loadProgram();
  const mapName = memmap.value;
  // reset() below makes the history; until then the state has none.
  mountTlbChoice(link.tlb, () => reset());
  setFrameWindowParam(link.frames);
  state = { history: null as unknown as History, playing: null, walkTimer: null, mapName, layout: layout.value as LayoutName, scenario: scenario.value as ScenarioName, tlb: TLB_DEFAULT, programBytes, shownWalk: null };
  for (const el of [memmap, layout, scenario]) el.addEventListener('change', () => reset());
  $('btn-reset').addEventListener('click', () => reset());
  $('btn-step').addEventListener('click', step);
  $('btn-end').addEventListener('click', () => {
    stopPlaying();
    if (state !== null) moved(state.history.goTo(state.history.length));
  });
  mountTimeControls({
    back: () => {
      stopPlaying();
      if (state !== null) moved(state.history.back());
    },
    forward: () => {
      stopPlaying();
      step();
    },
    goTo: (n) => {
      stopPlaying();
      if (state !== null) moved(state.history.goTo(n));
    },
  });
  $('btn-play').addEventListener('click', () => {
    if (state === null) return;
    if (state.playing !== null) return stopPlaying();
    const b = $('btn-play');
    b.classList.add('playing');
    b.textContent = '❚❚ pause';
    state.playing = window.setInterval(step, 900);
  });
  $('vas-pid').addEventListener('change', () => state !== null && observe(current(), () => renderVas(current())));
  mountFrameMap(() => {
    if (state === null) return;
    observe(current(), () => renderFrames(current()));
    saveUrl();
  });
  $('walk-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $<HTMLInputElement>('walk-address').value.trim().replace(/_/g, '');
    const pid = Number($<HTMLSelectElement>('walk-pid').value);
    let va: number;
    try {
      va = virt(text);
    } catch (e) {
      $('walk').replaceChildren(h('div', { class: 'walk-result fault' }, `not a canonical address: ${(e as Error).message}`));
      return;
    }
    startWalk(va, pid);
  });
  mountViews();
  reset(link.position, link.actions ?? undefined);
  document.body.dataset.ready = 'true';
  (globalThis as Record<string, unknown>).kmemDebugHistory = () => state!.history;
}

init();
