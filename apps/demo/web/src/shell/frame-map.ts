// The frame map: physical memory as a canvas of cells, coloured by owner (kernel image, bitmap,
// page tables, heap, kernel stack, user pages by pid, free, not RAM). It shows a window of frames
// [start, end): "fit" (the default) follows what is used or changed, "changed" what the last step
// changed; +/−, the wheel and the arrows choose another window (kept in the URL as `fm=changed` or
// `fm=<first frame>-<end frame>` in hex). A cell is one
// frame when the window is small, else a run of frames drawing its most telling owner; a redraw
// paints at most MAX_CELLS cells whatever the machine's size (5 GiB: 1.3 Mi frames). Frames the
// last step changed — a new owner, or a page table with a changed entry — carry a white corner.
import { FRAME_CLASSES, formatCanonical, formatPhysical, formatSize, type DemoSession, type EntryChange, type PageTableSnapshot } from '../../../src/scenarios/index';
import { $, h } from './dom';
import type { Before } from './history';

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
const OWNER_NAMES: Record<string, string> = { ...LEGEND_NAMES, 'page-table': 'page table', user: 'user page' };
// What a cell of several frames shows: the rarest, most interesting owner wins (as the terminal's picture).
const PRIORITY = ['user', 'page-table', 'heap', 'kernel-stack', 'kernel-data', 'bitmap', 'module', 'kernel-image', 'free', 'reserved', 'hole'];
const RANK = Uint8Array.from(FRAME_CLASSES.map((c) => {
  const r = PRIORITY.indexOf(c);
  return r < 0 ? PRIORITY.length : r;
}));
const FREE = FRAME_CLASSES.indexOf('free');
const HOLE = FRAME_CLASSES.indexOf('hole');
const RESERVED = FRAME_CLASSES.indexOf('reserved');
const USER = FRAME_CLASSES.indexOf('user');
const TABLE = FRAME_CLASSES.indexOf('page-table');

/** Cells a redraw paints at most (128 × 64). */
export const MAX_CELLS = 8192;
/** The smallest window zooming in reaches (frames). */
const MIN_FRAMES = 64;
/** Canvas width in pixels. */
const WIDTH = 1024;

function rgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
const PALETTE = FRAME_CLASSES.map((c) => rgb(CLASS_COLOURS[c] ?? '#ff00ff'));
const PID_PALETTE = PID_COLOURS.map(rgb);

/** 'fit': the window follows what is used or changed; 'changed': only what the last step changed; else the frames [start, end) someone chose. */
export type FrameWindow = { readonly mode: 'fit' } | { readonly mode: 'changed' } | { readonly mode: 'manual'; readonly start: number; readonly end: number };

/** What the map was drawn from, for hover, click and zoom. */
interface Drawn {
  session: DemoSession;
  kinds: Uint8Array;
  pids: Int32Array;
  changed: Uint8Array;
  /** Old owner of each frame (before the last step), or null. */
  before: Before | null;
  tables: PageTableSnapshot | null;
  changes: readonly EntryChange[];
  start: number;
  end: number;
  perCell: number;
  cols: number;
  cell: number;
}

let windowChoice: FrameWindow = { mode: 'fit' };
let drawn: Drawn | null = null;
let onWindowChange: () => void = () => undefined;
/** The frame whose description is pinned below the map (a click), or -1. */
let pinned = -1;

/** The window as the URL keeps it: null for 'fit', `changed`, else `start-end` in hex frame numbers. */
export function frameWindowParam(): string | null {
  return windowChoice.mode === 'fit' ? null : windowChoice.mode === 'changed' ? 'changed' : `${windowChoice.start.toString(16)}-${windowChoice.end.toString(16)}`;
}

/** Sets the window from a URL parameter (ignored when malformed). */
export function setFrameWindowParam(text: string | null): void {
  if (text === 'changed') {
    windowChoice = { mode: 'changed' };
    return;
  }
  const m = text === null ? null : /^([0-9a-f]{1,7})-([0-9a-f]{1,7})$/.exec(text);
  if (m === null) {
    windowChoice = { mode: 'fit' };
    return;
  }
  const start = parseInt(m[1]!, 16);
  const end = parseInt(m[2]!, 16);
  windowChoice = end > start ? { mode: 'manual', start, end } : { mode: 'fit' };
}

/** Back to 'fit' (a new machine). */
export function resetFrameWindow(): void {
  windowChoice = { mode: 'fit' };
  pinned = -1;
}

/** The frames [start, end) 'fit' shows: from the lowest used or changed frame to the highest, whole MiB, at least 1 MiB; all of them when none is used. */
export function fitWindow(kinds: Uint8Array, changed: Uint8Array): { start: number; end: number } {
  let lo = -1;
  let hi = -1;
  for (let f = 0; f < kinds.length; f++) {
    const k = kinds[f]!;
    if ((k !== FREE && k !== HOLE && k !== RESERVED) || changed[f] === 1) {
      if (lo < 0) lo = f;
      hi = f;
    }
  }
  if (lo < 0) return { start: 0, end: kinds.length };
  const start = Math.floor(lo / 256) * 256;
  const end = Math.min(kinds.length, Math.max(start + 256, Math.ceil((hi + 1) / 256) * 256));
  return { start, end };
}

/** The frames [start, end) 'changed' shows: the lowest to the highest frame the last step changed, in whole 64-frame runs, at least 256 frames; fit's window when none changed. */
export function changedWindow(kinds: Uint8Array, changed: Uint8Array): { start: number; end: number } {
  const lo = changed.indexOf(1);
  if (lo < 0) return fitWindow(kinds, changed);
  const hi = changed.lastIndexOf(1);
  let start = Math.floor(lo / 64) * 64;
  let end = Math.ceil((hi + 1) / 64) * 64;
  if (end - start < 256) {
    start = Math.floor((start + end) / 2) - 128;
    end = start + 256;
  }
  return clampWindow(start, end, kinds.length);
}

function clampWindow(start: number, end: number, total: number): { start: number; end: number } {
  const n = Math.max(Math.min(MIN_FRAMES, total), Math.min(total, Math.round(end - start)));
  const s = Math.max(0, Math.min(total - n, Math.round(start)));
  return { start: s, end: s + n };
}

/** Zooms by `factor` (< 1: in) keeping frame `at` where it is on the map. */
function zoom(factor: number, at?: number): void {
  if (drawn === null) return;
  const total = drawn.kinds.length;
  const { start, end } = drawn;
  const pivot = at ?? (start + end) / 2;
  const n = (end - start) * factor;
  const rel = (pivot - start) / (end - start);
  const w = clampWindow(pivot - rel * n, pivot - rel * n + n, total);
  windowChoice = w.start === 0 && w.end === total ? { mode: 'manual', start: 0, end: total } : { mode: 'manual', ...w };
  onWindowChange();
}

function pan(direction: number): void {
  if (drawn === null) return;
  const n = drawn.end - drawn.start;
  windowChoice = { mode: 'manual', ...clampWindow(drawn.start + direction * n * 0.5, drawn.end + direction * n * 0.5, drawn.kinds.length) };
  onWindowChange();
}

/** The frame under a mouse event, or -1. */
function frameAt(ev: MouseEvent): number {
  const d = drawn;
  if (d === null) return -1;
  const canvas = $<HTMLCanvasElement>('frame-map');
  const rect = canvas.getBoundingClientRect();
  const x = Math.floor((((ev.clientX - rect.left) / rect.width) * canvas.width) / d.cell);
  const y = Math.floor((((ev.clientY - rect.top) / rect.height) * canvas.height) / d.cell);
  if (x < 0 || x >= d.cols || y < 0) return -1;
  const f = d.start + (y * d.cols + x) * d.perCell;
  return f < d.end ? f : -1;
}

/** What a frame is: its owner (with pid), and for a page table which one; what the last step did to it. */
function describeFrame(d: Drawn, f: number): string[] {
  const kind = FRAME_CLASSES[d.kinds[f]!]!;
  const pid = d.pids[f]!;
  const pa = f * 4096;
  const lines = [`frame ${formatPhysical(pa)}: ${OWNER_NAMES[kind] ?? kind}${pid > 0 ? ` of pid ${pid}` : ''}`];
  const k = d.session.booted ? d.session.kernel : null;
  if (kind === 'user' && k !== null && k.frames.refCount(pa) > 1) lines.push(`shared by ${k.frames.refCount(pa)} references (copy-on-write after fork)`);
  const t = d.tables?.tables.get(pa);
  if (t !== undefined) {
    const names = ['', 'PT', 'PD', 'PDPT', 'PML4'];
    const span = [0, 2 ** 21, 2 ** 30, 2 ** 39, 2 ** 48][t.level]!;
    lines.push(`${names[t.level]} of ${t.spaces.map((s) => (s === 0 ? 'the kernel' : `pid ${s}`)).join(', ')}, covers ${formatCanonical(t.vaBase)}–${formatCanonical(t.vaBase + span - 1)}`);
  }
  const entries = d.changes.filter((c) => c.tableFrame === pa).length;
  if (entries > 0) lines.push(`the last step changed ${entries} of its entries`);
  const b = d.before;
  if (b !== null && f < b.kinds.length && (b.kinds[f] !== d.kinds[f] || b.pids[f] !== pid)) {
    const was = FRAME_CLASSES[b.kinds[f]!]!;
    lines.push(`the last step changed its owner: was ${OWNER_NAMES[was] ?? was}${b.pids[f]! > 0 ? ` of pid ${b.pids[f]}` : ''}`);
  }
  return lines;
}

/** A run of frames: owners counted. */
function describeRun(d: Drawn, first: number, end: number): string {
  const counts = new Map<string, number>();
  let changed = 0;
  for (let f = first; f < end; f++) {
    const kind = FRAME_CLASSES[d.kinds[f]!]!;
    const key = `${LEGEND_NAMES[kind] ?? kind}${d.pids[f]! > 0 ? ` (pid ${d.pids[f]})` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    changed += d.changed[f]!;
  }
  const parts = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`);
  return `${formatPhysical(first * 4096)}–${formatPhysical(end * 4096 - 1)} (${end - first} frames): ${parts.join(', ')}${changed > 0 ? `; ${changed} changed by the last step` : ''}`;
}

function showInfo(): void {
  const box = $('frame-info');
  const d = drawn;
  if (d === null || pinned < 0 || pinned >= d.kinds.length) {
    box.replaceChildren(h('span', { class: 'muted' }, 'click a cell: what its frames are; wheel or + / −: zoom; fit: what is used or changed'));
    delete box.dataset.frame;
    return;
  }
  box.dataset.frame = String(pinned);
  const first = d.perCell > 1 ? d.start + Math.floor((pinned - d.start) / d.perCell) * d.perCell : pinned;
  const lines = d.perCell > 1 ? [describeRun(d, first, Math.min(d.end, first + d.perCell)), ...describeFrame(d, pinned)] : describeFrame(d, pinned);
  box.replaceChildren(...lines.map((l) => h('div', {}, l)));
}

/** Adds the zoom buttons, wheel, hover and click; `redraw` draws the map again (and the URL). */
export function mountFrameMap(redraw: () => void): void {
  onWindowChange = redraw;
  const button = (id: string, text: string, title: string, act: () => void): HTMLButtonElement => {
    const b = h('button', { id, class: 'fm-btn', title, type: 'button' }, text);
    b.addEventListener('click', act);
    return b;
  };
  $('frames-controls').replaceChildren(
    button('fm-fit', 'fit', 'follow what is used or changed (from the lowest to the highest such frame)', () => {
      windowChoice = { mode: 'fit' };
      redraw();
    }),
    button('fm-changed', 'changed', 'zoom to the frames the last step changed (from the lowest to the highest)', () => {
      windowChoice = { mode: 'changed' };
      redraw();
    }),
    button('fm-all', 'all', 'all of RAM', () => {
      if (drawn === null) return;
      windowChoice = { mode: 'manual', start: 0, end: drawn.kinds.length };
      redraw();
    }),
    button('fm-out', '−', 'zoom out (wheel down)', () => zoom(2)),
    button('fm-in', '+', 'zoom in (wheel up)', () => zoom(0.5)),
    button('fm-left', '◂', 'lower addresses', () => pan(-1)),
    button('fm-right', '▸', 'higher addresses', () => pan(1)),
  );
  const canvas = $<HTMLCanvasElement>('frame-map');
  canvas.addEventListener(
    'wheel',
    (ev) => {
      ev.preventDefault();
      const f = frameAt(ev);
      zoom(ev.deltaY < 0 ? 0.5 : 2, f < 0 ? undefined : f);
    },
    { passive: false },
  );
  canvas.addEventListener('mousemove', (ev) => {
    const tip = $('frame-tip');
    const d = drawn;
    const f = frameAt(ev);
    if (d === null || f < 0) {
      tip.hidden = true;
      return;
    }
    const rect = canvas.getBoundingClientRect();
    tip.hidden = false;
    tip.textContent = d.perCell > 1 ? describeRun(d, f, Math.min(d.end, f + d.perCell)) : describeFrame(d, f).join(' · ');
    tip.style.left = `${Math.min(ev.clientX - rect.left + 14, rect.width - 260)}px`;
    tip.style.top = `${ev.clientY - rect.top + 10}px`;
  });
  canvas.addEventListener('mouseleave', () => ($('frame-tip').hidden = true));
  canvas.addEventListener('click', (ev) => {
    pinned = frameAt(ev);
    showInfo();
  });
}

/**
 * Draws the map of `kinds` / `pids` (owners now, one per frame from frame 0) in the chosen window,
 * marks the frames the last step changed (owner changed since `before`, or a table in `changes`).
 */
export function renderFrameMap(s: DemoSession, kinds: Uint8Array, pids: Int32Array, before: Before | null, changes: readonly EntryChange[], tables: PageTableSnapshot | null): void {
  const total = kinds.length;
  const changed = new Uint8Array(total);
  if (before !== null) for (let f = 0; f < total && f < before.kinds.length; f++) if (before.kinds[f] !== kinds[f] || before.pids[f] !== pids[f]) changed[f] = 1;
  for (const c of changes) {
    const f = c.tableFrame / 4096;
    if (f < total) changed[f] = 1;
  }
  let changedCount = 0;
  for (let f = 0; f < total; f++) changedCount += changed[f]!;
  const w = windowChoice.mode === 'fit' ? fitWindow(kinds, changed) : windowChoice.mode === 'changed' ? changedWindow(kinds, changed) : clampWindow(windowChoice.start, windowChoice.end, total);
  const n = w.end - w.start;
  const perCell = Math.max(1, Math.ceil(n / MAX_CELLS));
  const cells = Math.ceil(n / perCell);
  const cols = Math.min(128, Math.max(16, Math.ceil(Math.sqrt(cells * 2) / 8) * 8));
  const rows = Math.ceil(cells / cols);
  const cell = Math.max(1, Math.floor(WIDTH / cols));
  const canvas = $<HTMLCanvasElement>('frame-map');
  canvas.width = cols * cell;
  canvas.height = rows * cell;
  Object.assign(canvas.dataset, { start: String(w.start), end: String(w.end), perCell: String(perCell), cols: String(cols), cell: String(cell), frames: String(total), changed: String(changedCount), mode: windowChoice.mode });
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(canvas.width, canvas.height);
  const data = img.data;
  const width = canvas.width;
  let changedShown = 0;
  for (let c = 0; c < cells; c++) {
    // The cell's most telling frame, and whether any of its frames changed.
    const first = w.start + c * perCell;
    const last = Math.min(w.end, first + perCell);
    let best = first;
    let mark = 0;
    for (let f = first; f < last; f++) {
      if (RANK[kinds[f]!]! < RANK[kinds[best]!]!) best = f;
      mark |= changed[f]!;
    }
    let colour = PALETTE[kinds[best]!]!;
    const pid = pids[best]!;
    if (pid > 0 && (kinds[best] === USER || kinds[best] === TABLE)) {
      const pc = PID_PALETTE[(pid - 1) % PID_PALETTE.length]!;
      colour = kinds[best] === TABLE ? [pc[0] >> 1, pc[1] >> 1, (pc[2] >> 1) + 60] : pc;
    }
    const x0 = (c % cols) * cell;
    const y0 = Math.floor(c / cols) * cell;
    for (let dy = 0; dy < cell; dy++) {
      let o = ((y0 + dy) * width + x0) * 4;
      for (let dx = 0; dx < cell; dx++, o += 4) {
        data[o] = colour[0];
        data[o + 1] = colour[1];
        data[o + 2] = colour[2];
        data[o + 3] = cell >= 4 && (dx === cell - 1 || dy === cell - 1) ? 150 : 255;
      }
    }
    if (mark !== 0) {
      changedShown++;
      // A white corner (a white pixel when a cell is one pixel), and a white frame around big cells.
      const m = Math.max(1, cell >> 1);
      for (let dy = 0; dy < m; dy++) for (let dx = 0; dx < m; dx++) data.fill(255, ((y0 + dy) * width + x0 + dx) * 4, ((y0 + dy) * width + x0 + dx) * 4 + 4);
      if (cell >= 8) {
        for (let d = 0; d < cell; d++) {
          data.fill(255, ((y0 + d) * width + x0) * 4, ((y0 + d) * width + x0) * 4 + 4);
          data.fill(255, ((y0 + d) * width + x0 + cell - 1) * 4, ((y0 + d) * width + x0 + cell - 1) * 4 + 4);
          data.fill(255, ((y0 + cell - 1) * width + x0 + d) * 4, ((y0 + cell - 1) * width + x0 + d) * 4 + 4);
        }
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  canvas.dataset.changedCells = String(changedShown);
  $('frames-caption').textContent = `${formatPhysical(w.start * 4096)}–${formatPhysical(w.end * 4096 - 1)} (${formatSize(n * 4096)} of ${formatSize(total * 4096)}) · ${perCell === 1 ? `1 frame per cell, ${cell}px` : `${perCell} frames per cell`} · ${windowChoice.mode === 'manual' ? 'zoomed' : windowChoice.mode}`;
  const used = new Set<number>();
  for (let f = w.start; f < w.end; f++) used.add(kinds[f]!);
  const items = FRAME_CLASSES.filter((c, i) => used.has(i) && c !== 'user').map((c) => h('span', {}, h('i', { style: `background:${CLASS_COLOURS[c]}` }), LEGEND_NAMES[c] ?? c));
  const livePids = new Set<number>();
  for (let f = w.start; f < w.end; f++) if (pids[f]! > 0) livePids.add(pids[f]!);
  for (const pid of [...livePids].sort((a, b) => a - b)) items.push(h('span', {}, h('i', { style: `background:${pidColour(pid)}` }), `pid ${pid} (pages; its tables darker)`));
  items.push(h('span', {}, h('i', { style: 'background:#fff' }), `changed by the last step (${changedCount} frames${changedShown === 0 && changedCount > 0 ? ', none in this window' : ''})`));
  $('frame-legend').replaceChildren(...items);
  drawn = { session: s, kinds, pids, changed, before, tables, changes, start: w.start, end: w.end, perCell, cols, cell };
  showInfo();
}
