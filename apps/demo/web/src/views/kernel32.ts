// The 32-bit kernel's panel: seed 002's Kernel32 booted on the page's memory map, stepped from its
// own buttons. It draws the two levels of 32-bit paging - the boot directory's 4 MiB pages (the
// identity map of 3 GiB and the 0xc000_0000 alias) beside the directory in CR3 (the higher half
// remapped into 4 KiB page tables, PDE 1023 pointing at itself), the page table of any PDE you
// click, the recursive window that shows them to the kernel, and the 2-level walk of an address.
import type { MemoryRegion } from '@kmem/kernel-sim';
import { formatVa32 } from '@kmem/x86-paging';
import i386ProgramDataUrl from '../../../fixtures/i386-hello-static?inline';
import { h } from '../shell/dom';
import { pagingModeText } from '../shell/explain';
import type { WebView } from '../shell/view';
import { KERNEL32_VIEW_STEPS, Kernel32Run, classifyDirectory, classifyTable, type PdeKind, type PteKind } from './kernel32-model';

const PDE_NAMES: Record<PdeKind, string> = {
  empty: 'not present',
  '4mib-identity': '4 MiB page, identity',
  '4mib-alias': '4 MiB page, higher half',
  '4mib': '4 MiB page',
  'kernel-table': 'kernel page table',
  'user-table': 'user page table',
  recursive: 'recursive (itself)',
};
const PTE_NAMES: Record<PteKind, string> = {
  empty: 'not present',
  'kernel-ro': 'kernel read-only',
  'kernel-rw': 'kernel writable',
  'user-ro': 'user read-only',
  'user-rw': 'user writable',
  'user-cow': 'user copy-on-write',
};
const STYLE = `
.view-kernel32 .k32-controls { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-bottom: 8px; }
.view-kernel32 .k32-steps { margin: 0 0 8px; padding-left: 22px; font-size: 12px; color: var(--muted); }
.view-kernel32 .k32-steps li.done { color: var(--text); }
.view-kernel32 .k32-steps li.current { color: var(--accent); font-weight: 600; }
.view-kernel32 .k32-lines { font: 12px var(--mono); white-space: pre-wrap; margin-bottom: 10px; }
.view-kernel32 .k32-dirs { display: flex; gap: 18px; flex-wrap: wrap; }
.view-kernel32 .k32-grid { display: grid; grid-template-columns: repeat(32, 9px); gap: 1px; margin: 4px 0; }
.view-kernel32 .k32-grid i { width: 9px; height: 9px; display: block; cursor: pointer; background: #18202a; }
.view-kernel32 .k32-grid i.sel { outline: 2px solid #fff; }
.view-kernel32 i[data-kind='4mib-identity'] { background: #6e7681; }
.view-kernel32 i[data-kind='4mib-alias'], .view-kernel32 i[data-kind='4mib'] { background: #bc8cff; }
.view-kernel32 i[data-kind='kernel-table'] { background: #1f6feb; }
.view-kernel32 i[data-kind='user-table'] { background: #3fb950; }
.view-kernel32 i[data-kind='recursive'] { background: #f85149; }
.view-kernel32 i[data-kind='kernel-ro'] { background: #a371f7; }
.view-kernel32 i[data-kind='kernel-rw'] { background: #58a6ff; }
.view-kernel32 i[data-kind='user-ro'] { background: #2ea043; }
.view-kernel32 i[data-kind='user-rw'] { background: #7ee787; }
.view-kernel32 i[data-kind='user-cow'] { background: #e3b341; }
.view-kernel32 i[data-global='true'] { box-shadow: inset 0 0 0 1px #ffffffa0; }
.view-kernel32 .k32-legend { display: flex; flex-wrap: wrap; gap: 4px 10px; font-size: 11px; color: var(--muted); }
.view-kernel32 .k32-legend i[data-kind='empty'] { box-shadow: inset 0 0 0 1px #3b4350; }
.view-kernel32 .k32-legend i { display: inline-block; width: 9px; height: 9px; margin-right: 4px; vertical-align: middle; }
.view-kernel32 .k32-caption { font-size: 12px; color: var(--muted); }
.view-kernel32 pre { font: 12px var(--mono); background: var(--panel-2); padding: 6px 8px; border-radius: 6px; margin: 6px 0; white-space: pre-wrap; }
`;

interface ViewState {
  regions: readonly MemoryRegion[];
  run: Kernel32Run;
  /** PDE whose page table is shown. */
  pde: number;
  walkVa: number;
}
let view: ViewState | null = null;

function programBytes(): Uint8Array {
  const base64 = i386ProgramDataUrl.slice(i386ProgramDataUrl.indexOf(',') + 1);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function fresh(regions: readonly MemoryRegion[]): ViewState {
  return { regions, run: new Kernel32Run(regions, programBytes()), pde: 768, walkVa: 0x0804_8000 };
}

function legend(names: Record<string, string>, kinds: readonly string[]): HTMLElement {
  return h('div', { class: 'k32-legend' }, ...kinds.map((k) => h('span', {}, h('i', { 'data-kind': k }), names[k]!)));
}

function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/** The 1024 PDEs of the directory in frame `dir` as a 32 x 32 grid; a click shows that PDE's table. */
function directoryGrid(id: string, dir: number, redraw: () => void): HTMLElement {
  const s = view!;
  const words = s.run.kernel.machine.memory.frameWords(dir);
  const kinds = classifyDirectory(words, dir);
  const grid = h('div', { class: 'k32-grid', id, 'data-frame': String(dir) });
  for (let i = 0; i < 1024; i++) {
    const cell = h('i', { 'data-index': String(i), 'data-kind': kinds[i]!, title: `PDE ${i}: ${formatVa32(i * 0x40_0000)}-${formatVa32(i * 0x40_0000 + 0x3f_ffff)} = ${hex32(words[i]!)} (${PDE_NAMES[kinds[i]!]})` });
    if (i === s.pde && id === 'k32-cr3-dir') cell.classList.add('sel');
    cell.addEventListener('click', () => {
      s.pde = i;
      redraw();
    });
    grid.append(cell);
  }
  return grid;
}

/** The page table (or 4 MiB page) under PDE `s.pde` of the directory in CR3. */
function tablePart(): HTMLElement {
  const s = view!;
  const k = s.run.kernel;
  const cpu = k.machine.cpu;
  const dir = cpu.registers.cr3Frame;
  const pde = k.machine.memory.frameWords(dir)[s.pde]!;
  const va = s.pde * 0x40_0000;
  const part = h('div', { id: 'k32-table', 'data-pde': String(s.pde) });
  const kind = classifyDirectory(k.machine.memory.frameWords(dir), dir)[s.pde]!;
  if (kind === 'empty') {
    part.append(h('div', { class: 'k32-caption' }, `PDE ${s.pde} (${formatVa32(va)}..): not present - nothing is mapped in these 4 MiB of this address space.`));
    return part;
  }
  if (kind.startsWith('4mib')) {
    part.append(h('div', { class: 'k32-caption' }, `PDE ${s.pde} = ${hex32(pde)}: one 4 MiB page (PS = 1, CR4.PSE) - ${formatVa32(va)} -> physical ${hex32(pde & 0xffc0_0000)}, no page table.`));
    return part;
  }
  const table = (pde & ~0xfff) >>> 0;
  const entries = classifyTable(k.machine.memory.frameWords(table));
  const grid = h('div', { class: 'k32-grid', id: 'k32-pt' });
  const words = k.machine.memory.frameWords(table);
  for (let i = 0; i < 1024; i++) {
    const e = entries[i]!;
    grid.append(h('i', { 'data-index': String(i), 'data-kind': e.kind, 'data-global': String(e.global), title: `PTE ${i}: ${formatVa32(va + i * 4096)} = ${hex32(words[i]!)} (${PTE_NAMES[e.kind]}${e.global ? ', Global' : ''})` }));
  }
  const windowed = s.pde === 1023 ? 'the directory itself, used as a page table' : `the kernel reads it at ${formatVa32(0xffc0_0000 + s.pde * 4096)} through PDE 1023`;
  part.append(
    h('div', { class: 'k32-caption' }, `PDE ${s.pde} = ${hex32(pde)} -> page table at frame ${hex32(table)} (${windowed}): 1024 PTEs of 4 KiB pages, ${formatVa32(va)}-${formatVa32(va + 0x3f_ffff)}`),
    grid,
    legend(PTE_NAMES, ['empty', 'kernel-ro', 'kernel-rw', 'user-ro', 'user-rw', 'user-cow']),
    h('div', { class: 'k32-caption' }, 'a white edge marks a Global page (kept in the TLB across CR3 writes, CR4.PGE)'),
  );
  return part;
}

function render(body: HTMLElement): void {
  const s = view!;
  const run = s.run;
  const k = run.kernel;
  const redraw = (): void => render(body);
  const next = h('button', { id: 'k32-next', title: 'run the next step of the 32-bit kernel' }, '▸ step');
  next.toggleAttribute('disabled', run.done);
  next.addEventListener('click', () => {
    run.next();
    redraw();
  });
  const reset = h('button', { id: 'k32-reset', title: 'a fresh machine, paging off' }, '⟲');
  reset.addEventListener('click', () => {
    view = fresh(s.regions);
    render(body);
  });
  const controls = h('div', { class: 'k32-controls' }, next, reset, h('span', { class: 'k32-caption' }, `step ${run.position} / ${KERNEL32_VIEW_STEPS.length} · layout higher-half-3g · `), h('span', { class: 'k32-caption', id: 'k32-mode', 'data-mode': String(k.machine.cpu.pagingMode) }, pagingModeText(k.machine.cpu.pagingMode)));
  if (run.booted) {
    const cr3 = h('select', { id: 'k32-cr3', title: 'load a page directory into CR3 (a context switch)' });
    cr3.append(h('option', { value: '0' }, "CR3: the kernel's directory"), ...k.processes.list().map((p) => h('option', { value: String(p.pid) }, `CR3: pid ${p.pid} (${p.name})`)));
    cr3.value = String(run.loadedPid);
    cr3.addEventListener('change', () => {
      run.load(Number(cr3.value));
      redraw();
    });
    controls.append(cr3);
  }
  const steps = h('ol', { class: 'k32-steps' }, ...KERNEL32_VIEW_STEPS.map((t, i) => h('li', { class: i < run.position - 1 ? 'done' : i === run.position - 1 ? 'done current' : '' }, t)));
  const lines = h('div', { class: 'k32-lines', id: 'k32-lines' }, run.lines.join('\n'));
  const parts: HTMLElement[] = [controls, steps, lines];
  body.dataset.step = String(run.position);

  if (run.position >= 1) {
    const cpu = k.machine.cpu;
    const dirs = h('div', { class: 'k32-dirs' });
    dirs.append(
      h(
        'div',
        {},
        h('div', { class: 'k32-caption' }, `boot directory (frame ${hex32(k.image.bootDirectoryPa)}, in .bss)`),
        directoryGrid('k32-boot-dir', k.image.bootDirectoryPa, redraw),
      ),
    );
    if (cpu.registers.cr3Frame !== k.image.bootDirectoryPa) {
      const who = run.loadedPid === 0 ? "the kernel's directory" : `pid ${run.loadedPid}'s directory`;
      dirs.append(h('div', {}, h('div', { class: 'k32-caption' }, `CR3: ${who} (frame ${hex32(cpu.registers.cr3Frame)}); click a PDE`), directoryGrid('k32-cr3-dir', cpu.registers.cr3Frame, redraw)));
    }
    parts.push(dirs, legend(PDE_NAMES, ['empty', '4mib-identity', '4mib-alias', 'kernel-table', 'user-table', 'recursive']));
    if (cpu.registers.cr3Frame !== k.image.bootDirectoryPa) parts.push(tablePart());
    else parts.push(h('div', { class: 'k32-caption' }, 'Paging runs on the boot directory: 768 identity 4 MiB pages cover [0, 3 GiB), PDE 768 maps 0xc000_0000 to the first 4 MiB; step on to sysinit 5 for the 4 KiB remap.'));
  }
  if (run.position >= 5) {
    const w = run.recursiveWindow(s.pde);
    const dir = k.machine.cpu.registers.cr3Frame;
    parts.push(
      h(
        'pre',
        { id: 'k32-recursive', 'data-directory-pa': String(w.directoryPa ?? -1), 'data-table-pa': String(w.tablePa ?? -1) },
        `recursive PDE 1023 (CR3 = ${hex32(dir)}):\n` +
          `  0xffff_f000 -> ${w.directoryPa === null ? 'not mapped' : hex32(w.directoryPa)}  the page directory itself\n` +
          `  ${formatVa32(w.tableVa)} -> ${w.tablePa === null ? 'not mapped (PDE not present, or a 4 MiB page)' : hex32(w.tablePa)}  PDE ${s.pde}'s page table\n` +
          `  0xffc0_0000-0xffff_efff: every page table of this address space, 4 KiB each`,
      ),
    );
  }
  if (run.position >= 1) {
    const input = h('input', { id: 'k32-walk-va', spellcheck: 'false', value: formatVa32(s.walkVa) });
    const go = h('button', { id: 'k32-walk-btn', type: 'submit' }, 'walk');
    const form = h('form', { class: 'k32-controls' }, h('span', { class: 'k32-caption' }, '2-level walk in CR3:'), input, go);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const va = Number.parseInt(input.value.replaceAll('_', ''), 16);
      if (Number.isInteger(va) && va >= 0 && va < 2 ** 32) s.walkVa = va;
      redraw();
    });
    parts.push(form, h('pre', { id: 'k32-walk', 'data-va': String(s.walkVa) }, k.formatWalk(s.walkVa)));
  }
  if (run.booted && k.processKernelStacks.length > 0) {
    parts.push(h('div', { class: 'k32-caption', id: 'k32-stacks' }, `kernel stacks: ${k.processKernelStacks.map((st) => `pid ${st.pid} ${formatVa32(st.bottom)}-${formatVa32(st.top - 1)}`).join(' · ')}; TSS.ESP0 = ${formatVa32(k.tssEsp0)}`));
  }
  body.replaceChildren(...parts);
}

/** Seed 002's 32-bit kernel on the page's memory map: 2-level tables, boot pages, the recursive window. */
export const kernel32View: WebView = {
  id: 'kernel32',
  title: "Seed 002: the 32-bit kernel (higher-half-3g)",
  columns: 12,
  render(body, session) {
    if (document.getElementById('k32-style') === null) document.head.append(h('style', { id: 'k32-style' }, STYLE));
    const regions = session.machine.memoryMap;
    // Its own machine: rebuilt when the page's memory map changes, kept across the page's steps.
    if (view === null || view.regions !== regions) {
      if (view === null || JSON.stringify(view.regions) !== JSON.stringify(regions)) view = fresh(regions);
      else view.regions = regions;
    }
    render(body);
  },
};
