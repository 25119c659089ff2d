// Terminal sections: each turns part of a DemoResult (plain data) into text.
import type { KernelEvent, PanicReportData } from '@kmem/kernel-sim';
import type { DemoResult, StepRecord } from '../scenarios/session';
import { formatCanonical, formatPhysical, formatSize, type FramePicture, type HeapView, type LayoutRow, type MemoryMapRow, type OwnerUsage, type ProcessView, type TlbView, type WalkView, type ZoneUsage } from '../scenarios/views';
import type { TraceResult } from '../scenarios/trace';
import { SECTIONS, type Style } from './style';

/** The firmware memory map, as Linux prints e820 (inclusive ends). */
export function renderMemoryMap(s: Style, name: string, format: string, ramBytes: number, rows: readonly MemoryMapRow[]): string {
  const withType = rows.some((r) => r.firmwareType !== null && r.firmwareType !== r.kind);
  const t = s.table(['start', 'end (incl.)', 'size', 'kind', ...(withType ? ['firmware type'] : [])], { colAligns: ['left', 'left', 'right', 'left', 'left'] });
  for (const r of rows) t.push([formatPhysical(r.start), formatPhysical(r.endInclusive), formatSize(r.sizeBytes), s.kind(r.kind), ...(withType ? [s.c.dim(r.firmwareType ?? '')] : [])]);
  return `${s.heading(SECTIONS.memoryMap, `${name} (${format}): ${rows.length} regions after normalising, ${formatSize(ramBytes)} of RAM`)}\n${t.toString()}`;
}

/** The heading printed before the boot steps. */
export function renderBootHeading(s: Style, layout: string): string {
  return s.heading(SECTIONS.boot, `layout ${layout}; each step as the kernel runs it`);
}

/** One step (boot or scenario) as it happens. */
export function renderStep(s: Style, r: StepRecord, total: number): string {
  const n = `${String(r.index + 1).padStart(2)}/${total}`;
  const head = `${s.c.dim(n)} ${r.phase === 'boot' ? s.c.cyan('boot') : s.c.magenta('step')} ${s.c.bold(r.title)} ${s.c.dim(`(${r.events.length} events)`)}`;
  return [head, ...r.lines.map((l) => `        ${l}`)].join('\n');
}

/** Frame allocator usage per zone, as bars. */
export function renderZones(s: Style, zones: readonly ZoneUsage[]): string {
  const t = s.table(['zone', 'range', 'usable', 'used', 'free', 'used share'], { colAligns: ['left', 'left', 'right', 'right', 'right', 'left'] });
  for (const z of zones) {
    const share = z.usableFrames === 0 ? 0 : z.usedFrames / z.usableFrames;
    t.push([
      s.c.bold(z.zone.toUpperCase()),
      `${formatPhysical(z.startPa)}..${formatPhysical(z.endPa)}`,
      formatSize(z.usableFrames * 4096),
      String(z.usedFrames),
      String(z.freeFrames),
      `${s.bar(z.usedFrames, z.usableFrames, 32, s.c.yellow)} ${(share * 100).toFixed(share < 0.01 && share > 0 ? 3 : 1)}%`,
    ]);
  }
  return `${s.heading(SECTIONS.zones, 'frames (4 KiB): usable per the memory map, used = handed out or kept back below 1 MiB')}\n${t.toString()}`;
}

/** Frames per owner kind and per process. */
export function renderOwners(s: Style, o: OwnerUsage): string {
  const t = s.table(['owner', 'frames', 'bytes', ''], { colAligns: ['left', 'right', 'right', 'left'] });
  const rows = Object.entries(o.byKind).filter(([k, n]) => n > 0 && k !== 'reserved');
  const max = Math.max(1, ...rows.map(([, n]) => n));
  for (const [k, n] of rows) t.push([s.kind(k), String(n), formatSize(n * 4096), s.bar(n, max, 24, (x) => s.kind(k, x))]);
  for (const p of o.byPid) t.push([`  pid ${p.pid} ${p.name}`, String(p.frames), formatSize(p.frames * 4096), s.bar(p.frames, max, 24, s.c.green)]);
  t.push([s.kind('free'), String(o.freeFrames), formatSize(o.freeFrames * 4096), '']);
  return `${s.heading(SECTIONS.owners, `frames by owner (firmware-reserved frames not shown: ${o.byKind.reserved ?? 0}); ${o.sharedFrames} shared copy-on-write`)}\n${t.toString()}`;
}

/** The kernel's virtual memory layout as in Linux's Documentation/arch/x86/x86_64/mm.rst. */
export function renderLayout(s: Style, name: string, tableAccess: string, rows: readonly LayoutRow[]): string {
  const t = s.table(['start addr', 'end addr (incl.)', 'size', 'use'], { colAligns: ['left', 'left', 'right', 'left'] });
  for (const r of rows) t.push([s.c.cyan(r.startHex), s.c.cyan(r.endHex), r.size, `${s.c.bold(r.name)}: ${r.use}`]);
  return `${s.heading(SECTIONS.layout, `${name}; page tables reached by ${tableAccess}`)}\n${t.toString()}`;
}

/** The scenario heading. */
export function renderScenarioHeading(s: Style, r: DemoResult['scenario']): string {
  return s.heading(`${SECTIONS.scenario}: ${r.name}`, r.description);
}

const STORY_KINDS = new Set(['process-create', 'process-exec', 'process-exit', 'page-fault', 'fork', 'segfault', 'oom-kill', 'mmap', 'munmap', 'brk', 'mprotect', 'panic']);

function describeEvent(e: KernelEvent): [string, string] {
  switch (e.kind) {
    case 'process-create':
      return [String(e.pid), `"${e.name}" created${e.parentPid === undefined ? '' : ` by fork of ${e.parentPid}`}, CR3 ${formatPhysical(e.cr3)}`];
    case 'process-exec':
      return [String(e.pid), `exec "${e.name}": ${e.segments} segments, entry ${formatCanonical(e.entry)}, rsp ${formatCanonical(e.rsp)}`];
    case 'process-exit':
      return [String(e.pid), `exit (${e.cause}, code ${e.code}): ${e.framesReleased} frames released, ${e.tablesFreed} tables freed`];
    case 'page-fault':
      return [String(e.pid), `#PF ${e.access} ${formatCanonical(e.va)} err 0x${e.errorCode.toString(16)} → ${e.resolution}${e.frame >= 0 ? ` (frame ${formatPhysical(e.frame)})` : ''}${e.reason === '' ? '' : `: ${e.reason}`}`];
    case 'fork':
      return [String(e.parentPid), `fork → pid ${e.childPid}, ${e.sharedPages} pages shared copy-on-write`];
    case 'segfault':
      return [String(e.pid), `SIGSEGV at ${formatCanonical(e.va)}: ${e.errorCodeText} (${e.reason})`];
    case 'oom-kill':
      return [String(e.pid), `OOM kill at ${formatCanonical(e.va)}: rss ${e.rssPages} pages`];
    case 'mmap':
      return [String(e.pid), `mmap ${formatCanonical(e.va)} +${formatSize(e.lengthBytes)}`];
    case 'munmap':
      return [String(e.pid), `munmap ${formatCanonical(e.va)} +${formatSize(e.lengthBytes)}`];
    case 'brk':
      return [String(e.pid), `brk ${formatCanonical(e.oldBreak)} → ${formatCanonical(e.newBreak)}`];
    case 'mprotect':
      return [String(e.pid), `mprotect ${formatCanonical(e.va)} ${e.pageCount} pages`];
    case 'panic':
      return ['-', `PANIC ${e.report.reason}`];
    default:
      return ['', e.kind];
  }
}

interface StoryRow {
  readonly step: number;
  readonly kernel2: boolean;
  readonly first: KernelEvent;
  last: KernelEvent;
  count: number;
}

function groupKey(e: KernelEvent): string | null {
  return e.kind === 'page-fault' ? `${e.pid}/${e.access}/${e.resolution}/${e.reason}` : null;
}

/** The scenario's event log: the story events (runs of alike page faults folded), with the counts of every kind. */
export function renderEvents(s: Style, steps: readonly StepRecord[], counts: Readonly<Record<string, number>>, maxRows = 48): string {
  const story: StoryRow[] = [];
  let storyEvents = 0;
  for (const r of steps) {
    if (r.phase !== 'scenario') continue;
    for (const e of r.events) {
      if (!STORY_KINDS.has(e.kind)) continue;
      storyEvents++;
      const prev = story[story.length - 1];
      const key = groupKey(e);
      if (prev !== undefined && key !== null && prev.step === r.index + 1 && groupKey(prev.last) === key) {
        prev.last = e;
        prev.count++;
      } else story.push({ step: r.index + 1, kernel2: r.id === 'panic', first: e, last: e, count: 1 });
    }
  }
  const t = s.table(['seq', 'step', 'kind', 'pid', 'what happened'], { colAligns: ['right', 'right', 'left', 'right', 'left'] });
  const paint = (kind: string): string => (kind === 'segfault' || kind === 'panic' || kind === 'oom-kill' ? s.c.red(kind) : kind === 'page-fault' ? s.c.yellow(kind) : kind.startsWith('process') || kind === 'fork' ? s.c.green(kind) : kind);
  const push = (row: StoryRow): void => {
    const [pid, what] = describeEvent(row.first);
    const e = row.first;
    const seq = `${row.kernel2 ? s.c.dim('k2 ') : ''}${e.seq}${row.count > 1 ? `..${row.last.seq}` : ''}`;
    let text = what;
    if (row.count > 1 && e.kind === 'page-fault' && row.last.kind === 'page-fault') {
      text = `${row.count} × #PF ${e.access} ${formatCanonical(e.va)} .. ${formatCanonical(row.last.va)} → ${e.resolution}${e.reason === '' ? '' : `: ${e.reason}`}`;
    }
    t.push([seq, String(row.step), paint(e.kind), row.kernel2 ? 'k2' : pid, text]);
  };
  const cut = story.length > maxRows;
  (cut ? story.slice(0, maxRows - 8) : story).forEach(push);
  if (cut) {
    t.push([{ colSpan: 5, content: s.c.dim(`… ${story.length - maxRows} more rows …`) }]);
    story.slice(-8).forEach(push);
  }
  const all = Object.entries(counts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return `${s.heading(SECTIONS.events, `${storyEvents} process, fault and panic events of the scenario (k2 = kernel #2). All events of kernel #1 since power-on: ${all}`)}\n${t.toString()}`;
}

/** Processes, their state and regions. */
export function renderProcesses(s: Style, procs: readonly ProcessView[]): string {
  const t = s.table(['pid', 'name', 'state', 'rss', 'faults', 'regions (start-end rights kind, resident pages)'], { colAligns: ['right', 'left', 'left', 'right', 'right', 'left'] });
  for (const p of procs) {
    const state = p.state === 'running' ? s.c.green(p.state) : p.killedBy !== null ? s.c.red(`killed (${p.killedBy.split(' ')[0]})`) : s.c.dim(`exited (${p.exitCode ?? '-'})`);
    const regions = p.regions.map((r) => `${formatCanonical(r.start)}-${formatCanonical(r.end)} ${r.prot} ${r.kind.padEnd(6)} ${r.residentPages}`).join('\n');
    t.push([String(p.pid), `${p.name}${p.parentPid === null ? '' : s.c.dim(` ←${p.parentPid}`)}`, state, String(p.rssPages), String(p.stats.faults ?? 0), regions === '' ? s.c.dim('(address space freed)') : regions]);
  }
  return `${s.heading(SECTIONS.processes)}\n${t.toString()}`;
}

/** One page walk, level by level, every entry decoded. */
export function renderWalk(s: Style, w: WalkView): string {
  const t = s.table(['level', 'table', 'index', 'entry @', 'entry', 'bits', '→'], { colAligns: ['left', 'left', 'right', 'left', 'left', 'left', 'left'] });
  for (const l of w.levels) {
    const bits = l.bits.map((b) => (b.set ? s.c.green(b.name) : s.c.dim(b.name.toLowerCase()))).join(' ');
    const next = !l.present ? s.c.red('not present') : l.leaf ? s.c.green(`${l.pageSizeBytes === 4096 ? '4 KiB' : l.pageSizeBytes === 2097152 ? '2 MiB' : '1 GiB'} page ${formatPhysical(l.pa)}`) : `table ${formatPhysical(l.pa)}`;
    t.push([s.c.bold(l.levelName), formatPhysical(l.tableFrame), String(l.index), formatPhysical(l.entryPa), s.c.cyan(l.raw), bits, next]);
  }
  const idx = w.levels.map((l) => `${l.levelName}[${l.index}]`).join(' → ');
  const soft = w.userPage === null ? '' : `; ${w.userPage.copyOnWrite ? s.c.yellow('copy-on-write') : 'private'}${w.userPage.protNone ? ', PROT_NONE' : ''}, frame shared by ${w.userPage.refCount}`;
  const end = w.pa === null ? s.c.red('no translation (page fault)') : `${s.c.bold(formatPhysical(w.pa))} ${s.c.dim(`rights ${w.access ?? ''}`)}${soft}`;
  return `${s.heading(`${SECTIONS.walk}: ${w.vaHex}`, `${w.note === null ? '' : `${w.note}; `}in ${w.space}'s tables (CR3 ${formatPhysical(w.root)}): ${idx}`)}\n${t.toString()}\n  ${w.vaHex} → ${end}`;
}

/** The kernel heap's size classes and totals. */
export function renderHeap(s: Style, h: HeapView): string {
  const t = s.table(['class', 'object', 'per slab', 'slabs', 'in use', ''], { colAligns: ['left', 'right', 'right', 'right', 'right', 'left'] });
  for (const c of h.classes) {
    const cap = c.slabCount * c.objectsPerSlab;
    t.push([c.name, `${c.objectSizeBytes} B`, String(c.objectsPerSlab), String(c.slabCount), String(c.objectsInUse), cap === 0 ? s.c.dim('·') : s.bar(c.objectsInUse, cap, 20, s.c.yellow)]);
  }
  t.push([s.c.bold('tlsf'), '513 B..32 KiB', '', String(h.tlsf.blocksInUse + h.tlsf.freeBlocks), String(h.tlsf.blocksInUse), s.c.dim(`${formatSize(h.tlsf.bytesFree)} free`)]);
  t.push([s.c.bold('pages'), '≥ 32 KiB', '', String(h.large.pageCount), String(h.large.allocations), '']);
  const note = `heap at ${formatCanonical(h.base)}: ${h.allocations} live allocations, ${formatSize(h.bytesRequested)} requested, ${formatSize(h.bytesInUse)} in use, ${h.pagesHeld} pages held (fragmentation ${(h.fragmentation * 100).toFixed(1)}%)`;
  return `${s.heading(SECTIONS.heap, note)}\n${t.toString()}`;
}

/** TLB counters and a few entries. */
export function renderTlb(s: Style, tlb: TlbView, maxEntries = 12): string {
  const total = tlb.hits + tlb.misses;
  const t = s.table(['slot', 'page (va)', 'frame (pa)', 'pcid', 'global', 'size', 'rights'], { colAligns: ['right', 'left', 'left', 'right', 'left', 'left', 'left'] });
  for (const e of tlb.entries.slice(0, maxEntries)) t.push([String(e.slot), formatCanonical(e.va), formatPhysical(e.pa), String(e.pcid), e.global ? 'G' : '', e.level === 1 ? '4K' : e.level === 2 ? '2M' : '1G', e.access]);
  const note = `${tlb.entryCount} entries; ${tlb.hits} hits, ${tlb.misses} misses ${s.bar(tlb.hits, total, 20, s.c.green)} ${total === 0 ? '' : `${((tlb.hits / total) * 100).toFixed(1)}% hits`}; ${tlb.entries.length} valid now (first ${Math.min(maxEntries, tlb.entries.length)} shown)`;
  return `${s.heading(SECTIONS.tlb, note)}\n${t.toString()}`;
}

/** The panic report of the second kernel. */
export function renderPanic(s: Style, report: PanicReportData, walk: WalkView | null): string {
  const lines = [
    s.c.red(s.c.bold(`Kernel panic - not syncing: ${report.reason}`)),
    report.cr2 === undefined ? '' : `CR2: ${formatCanonical(report.cr2)}  error code: 0x${(report.errorCode ?? 0).toString(16).padStart(4, '0')} (${report.errorCodeText ?? ''})`,
    `CR3: ${formatPhysical(report.cr3)}${report.pid === undefined ? '' : `  pid: ${report.pid}`}`,
    ...(report.details === undefined ? [] : [`details: ${Object.entries(report.details).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`]),
    ...(report.walk === undefined ? [] : report.walk.split('\n').map((l) => s.c.dim(l))),
    s.c.red('---[ end Kernel panic ]---'),
  ].filter((l) => l !== '');
  const box = lines.map((l) => `  ${s.c.red('│')} ${l}`).join('\n');
  return `${s.heading(SECTIONS.panic, 'from kernel #2, booted only to panic: kernel #1 and the host carry on')}\n${box}${walk === null ? '' : `\n${renderWalk(s, walk).split('\n').slice(2).join('\n')}`}`;
}

/** The trace replay's figures. */
export function renderTrace(s: Style, t: TraceResult): string {
  const table = s.table(['measure', 'value'], { colAligns: ['left', 'right'] });
  table.push(['accesses replayed', String(t.accesses)], ['processes', String(t.processes)], ['context switches', String(t.contextSwitches)], ['page faults', String(t.faults)]);
  for (const [r, n] of Object.entries(t.faultsByResolution)) table.push([`  ${r}`, String(n)]);
  table.push(['TLB hits', String(t.tlbHits)], ['TLB misses', String(t.tlbMisses)], ['TLB hit rate', `${s.bar(t.tlbHits, t.tlbHits + t.tlbMisses, 20)} ${(t.tlbHitRate * 100).toFixed(1)}%`], ['resident pages', String(t.residentPages)]);
  return `${s.heading(SECTIONS.trace, 'a deterministic trace: 90% of accesses in a drifting hot set of 48 pages, 10% anywhere in 8 MiB; one fork half-way')}\n${table.toString()}`;
}

const GLYPHS: Readonly<Record<string, string>> = {
  'kernel-image': 'K',
  module: 'M',
  bitmap: 'B',
  'page-table': 'T',
  heap: 'H',
  'kernel-data': 'D',
  'kernel-stack': 'S',
  user: 'U',
  free: '.',
  reserved: '#',
  hole: ' ',
};

/** Physical memory as rows of letters, one per cell (the most telling owner of its frames). */
export function renderPictures(s: Style, pictures: readonly FramePicture[], cols = 64): string {
  const parts: string[] = [];
  for (const p of pictures) {
    const cellBytes = p.framesPerCell * 4096;
    const rows: string[] = [];
    for (let i = 0; i < p.cells.length; i += cols) {
      const line = p.cells
        .slice(i, i + cols)
        .map((c) => s.kind(c === 'free' ? 'hole' : c, GLYPHS[c] ?? '?'))
        .join('');
      rows.push(`  ${s.c.dim(formatPhysical(p.startPa + i * cellBytes).padStart(16))} ${line}`);
    }
    parts.push(`  ${s.c.bold(`${formatPhysical(p.startPa)}..${formatPhysical(p.endPa)}`)} ${s.c.dim(`one letter = ${formatSize(cellBytes)}`)}\n${rows.join('\n')}`);
  }
  const legend = Object.entries(GLYPHS)
    .filter(([, g]) => g !== ' ')
    .map(([k, g]) => `${s.kind(k === 'free' ? 'hole' : k, g)} ${k}`)
    .join('  ');
  return `${s.heading(SECTIONS.picture, `each letter shows the most telling owner of its frames; blank = not RAM`)}\n${parts.join('\n\n')}\n  ${legend}`;
}
