// The web visualizer: the same DemoSession as `pnpm demo`, stepped from buttons, drawn with the DOM
// and a canvas. Everything runs in the browser; the fixtures are bundled.
import { parseMemoryMap, type KernelEvent, type LayoutName } from '@kmem/kernel-sim';
import { virt } from '@kmem/x86-paging';
import {
  DemoSession,
  FRAME_CLASSES,
  LAYOUT_NAMES,
  SCENARIOS,
  SCENARIO_NAMES,
  formatCanonical,
  formatPhysical,
  formatSize,
  heapView,
  processViews,
  tlbView,
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
import { mountTimeControls, readUrl, renderTimeControls, writeUrl } from './shell/time-controls';
import type { ViewContext } from './shell/view';
import { VIEWS } from './views/index';

// --- colours ------------------------------------------------------------------------------------

const CLASS_COLOURS: Record<string, string> = {
  'kernel-image': '#bc8cff',
  module: '#8957e5',
  bitmap: '#39c5cf',
  'page-table': '#58a6ff',
  heap: '#d29922',
  'kernel-data': '#f778ba',
  'kernel-stack': '#ff7b72',
  user: '#3fb950',
  reserved: '#3b4350',
  free: '#18202a',
  hole: '#07090c',
};
const PID_COLOURS = ['#3fb950', '#e3b341', '#56d4dd', '#ffa657', '#a5d6ff', '#7ee787', '#d2a8ff', '#ff9bce'];
const pidColour = (pid: number): string => PID_COLOURS[(pid - 1) % PID_COLOURS.length]!;
const LEGEND_NAMES: Record<string, string> = {
  'kernel-image': 'kernel image',
  module: 'boot module',
  bitmap: 'frame bitmap',
  'page-table': 'page tables',
  heap: 'kernel heap',
  'kernel-data': 'kernel data',
  'kernel-stack': 'kernel stack',
  user: 'user pages',
  reserved: 'reserved',
  free: 'free',
  hole: 'not RAM',
};

function rgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

// --- state --------------------------------------------------------------------------------------

interface State {
  history: History;
  playing: number | null;
  walkTimer: number | null;
  mapName: string;
  layout: LayoutName;
  scenario: ScenarioName;
  programBytes: Uint8Array;
  /** The walk shown in the walk panel (redrawn at every change of position), or null. */
  shownWalk: { va: number; pid: number } | null;
}
let state: State | null = null;

/** The machine at the page's position in the history. */
const current = (): DemoSession => state!.history.point.session;

function makeSession(mapName: string, layout: LayoutName, scenario: ScenarioName, programBytes: Uint8Array): DemoSession {
  const m = MEMORY_MAPS.find((x) => x.name === mapName) ?? MEMORY_MAPS[0]!;
  const parsed = parseMemoryMap(m.text, { fileName: m.name });
  return new DemoSession(
    { memoryMap: { name: m.name, format: parsed.format, regions: parsed.regions }, layout, program: { name: 'hello-static-pie', bytes: programBytes }, traceAccesses: 40_000 },
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

function renderFrames(s: DemoSession): void {
  const canvas = $<HTMLCanvasElement>('frame-map');
  // Frames up to the end of RAM (firmware-reserved ranges far above it, such as q35's at 1 TiB,
  // would make the picture mostly empty), at most 4 Mi frames (16 GiB) so a redraw stays quick.
  const ramEnd = s.machine.memoryMap.reduce((m, r) => (r.kind === 'reserved' || r.kind === 'bad-memory' ? m : Math.max(m, r.base + r.lengthBytes)), 0);
  const zoomMiB = Number($<HTMLSelectElement>('frames-zoom').value);
  const shownEnd = zoomMiB > 0 ? Math.min(ramEnd, zoomMiB * 1024 * 1024) : ramEnd;
  const total = Math.min(shownFrameCount(s), Math.ceil(shownEnd / 4096));
  const cols = Math.ceil(Math.sqrt(total * 2) / 8) * 8;
  const rows = Math.ceil(total / cols);
  const cell = Math.max(1, Math.floor(1024 / cols));
  canvas.width = cols * cell;
  canvas.height = rows * cell;
  canvas.dataset.cols = String(cols);
  canvas.dataset.cell = String(cell);
  canvas.dataset.frames = String(total);
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(canvas.width, canvas.height);
  const { kinds, pids } = frameKinds(s, total);
  const palette = FRAME_CLASSES.map((c) => rgb(CLASS_COLOURS[c] ?? '#ff00ff'));
  const pidPalette = PID_COLOURS.map(rgb);
  const userIdx = FRAME_CLASSES.indexOf('user');
  const tableIdx = FRAME_CLASSES.indexOf('page-table');
  const data = img.data;
  const w = canvas.width;
  // Frames whose owner the last step of the history changed get a white mark.
  const prev = state!.history.point.before;
  let changed = 0;
  for (let f = 0; f < total; f++) {
    let c = palette[kinds[f]!]!;
    const pid = pids[f]!;
    if (pid > 0 && (kinds[f] === userIdx || kinds[f] === tableIdx)) {
      const pc = pidPalette[(pid - 1) % pidPalette.length]!;
      c = kinds[f] === tableIdx ? [pc[0] >> 1, pc[1] >> 1, (pc[2] >> 1) + 60] : pc;
    }
    const x0 = (f % cols) * cell;
    const y0 = Math.floor(f / cols) * cell;
    for (let dy = 0; dy < cell; dy++) {
      let o = ((y0 + dy) * w + x0) * 4;
      for (let dx = 0; dx < cell; dx++, o += 4) {
        data[o] = c[0];
        data[o + 1] = c[1];
        data[o + 2] = c[2];
        data[o + 3] = cell >= 4 && (dx === cell - 1 || dy === cell - 1) ? 150 : 255;
      }
    }
    if (prev !== null && f < prev.kinds.length && (prev.kinds[f] !== kinds[f] || prev.pids[f] !== pid)) {
      changed++;
      // A white corner (a white pixel when a frame is one pixel).
      const mark = Math.max(1, cell >> 1);
      for (let dy = 0; dy < mark; dy++) for (let dx = 0; dx < mark; dx++) data.fill(255, ((y0 + dy) * w + x0 + dx) * 4, ((y0 + dy) * w + x0 + dx) * 4 + 4);
    }
  }
  ctx.putImageData(img, 0, 0);
  $('frames-caption').textContent = `0..${formatPhysical(total * 4096)} (${formatSize(total * 4096)}) · ${cell}px per 4 KiB frame`;
  const legend = $('frame-legend');
  const used = new Set<number>(kinds);
  const items = FRAME_CLASSES.filter((c, i) => used.has(i) && c !== 'user').map((c) => h('span', {}, h('i', { style: `background:${CLASS_COLOURS[c]}` }), LEGEND_NAMES[c] ?? c));
  const livePids = new Set<number>();
  for (let f = 0; f < total; f++) if (pids[f]! > 0) livePids.add(pids[f]!);
  for (const pid of [...livePids].sort((a, b) => a - b)) items.push(h('span', {}, h('i', { style: `background:${pidColour(pid)}` }), `pid ${pid} (pages; its tables darker)`));
  items.push(h('span', {}, h('i', { style: 'background:#fff' }), `changed by the last step (${changed})`));
  legend.replaceChildren(...items);
  frameInfo = { kinds, pids, cols, cell, total };
}

let frameInfo: { kinds: Uint8Array; pids: Int32Array; cols: number; cell: number; total: number } | null = null;

function onFrameHover(ev: MouseEvent): void {
  const tip = $('frame-tip');
  const canvas = $<HTMLCanvasElement>('frame-map');
  if (frameInfo === null) return;
  const rect = canvas.getBoundingClientRect();
  const x = Math.floor(((ev.clientX - rect.left) / rect.width) * canvas.width / frameInfo.cell);
  const y = Math.floor(((ev.clientY - rect.top) / rect.height) * canvas.height / frameInfo.cell);
  const f = y * frameInfo.cols + x;
  if (x < 0 || x >= frameInfo.cols || f >= frameInfo.total) {
    tip.hidden = true;
    return;
  }
  const kind = FRAME_CLASSES[frameInfo.kinds[f]!]!;
  const pid = frameInfo.pids[f]!;
  tip.hidden = false;
  tip.textContent = `${formatPhysical(f * 4096)}  ${LEGEND_NAMES[kind] ?? kind}${pid > 0 ? ` · pid ${pid}` : ''}`;
  tip.style.left = `${ev.clientX - rect.left + 14}px`;
  tip.style.top = `${ev.clientY - rect.top + 10}px`;
}

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
  $('tlb-caption').textContent = `${t.hits} hits · ${t.misses} misses${total > 0 ? ` · ${((t.hits / total) * 100).toFixed(1)}%` : ''} · this step +${dh}/+${dm}`;
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
  writeUrl({ memmap: state.mapName, layout: state.layout, scenario: state.scenario }, state.history);
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
  state.history = new History(() => makeSession(mapName, layout, scenario, programBytes), actions, position);
  state.shownWalk = null;
  // Big machines: the kernel and the processes live in the low frames the allocator hands out first.
  if (mapName !== state.mapName || $<HTMLSelectElement>('frames-zoom').dataset.set !== 'true') {
    const ram = current().machine.ramBytes;
    $<HTMLSelectElement>('frames-zoom').value = ram > 512 * 1024 * 1024 ? '128' : '0';
    $<HTMLSelectElement>('frames-zoom').dataset.set = 'true';
  }
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
  state = { history: null as unknown as History, playing: null, walkTimer: null, mapName, layout: layout.value as LayoutName, scenario: scenario.value as ScenarioName, programBytes, shownWalk: null };
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
  $('frames-zoom').addEventListener('change', () => state !== null && renderFrames(current()));
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
  $('frame-map').addEventListener('mousemove', onFrameHover);
  $('frame-map').addEventListener('mouseleave', () => ($('frame-tip').hidden = true));
  mountViews();
  reset(link.position, link.actions ?? undefined);
  document.body.dataset.ready = 'true';
  (globalThis as Record<string, unknown>).kmemDebugHistory = () => state!.history;
}

init();
