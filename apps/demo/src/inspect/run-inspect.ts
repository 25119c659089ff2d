// `kmem-demo inspect`: read a QEMU dump's page tables and report them (text or JSON).
import { resolve } from 'node:path';
import {
  PAT_POWER_ON,
  backingFrames,
  describeMapping,
  diffMappings,
  formatEnd,
  explainWalk,
  inspectPageTables,
  lintPageTables,
  openDump,
  resolvePagingState,
  severityAtLeast,
  type GivenRegisters,
  type LintFinding,
  type MappingDiffEntry,
  type OpenedDump,
  type PageTableInspection,
  type Severity,
} from '@kmem/kernel-sim';
import { collectMappings, formatAccess, formatPa, formatVa, type MappingRange } from '@kmem/x86-paging';
import { DemoInputError } from '../load';
import { FileDumpSource } from './file-dump-source';
import { renderInspectReport } from './inspect-report';

/** Options of the inspect subcommand, as commander hands them over. */
export interface InspectCliOptions {
  cr0?: number;
  cr3?: number;
  cr4?: number;
  efer?: number;
  cpu: number;
  maxphyaddr: number;
  pat?: readonly [number, number];
  walk?: number[];
  frames?: { start: number; end: number }[];
  lint: boolean;
  failOn: Severity;
  text?: { start: number; end: number }[];
  diff?: string;
  diffCr3?: number;
  infoMem: boolean;
  limit: number;
  json: boolean;
}

/** Everything the report shows (also the JSON document). */
export interface InspectResult {
  readonly dump: { readonly path: string; readonly format: string; readonly fileBytes: number; readonly ram: readonly { start: string; end: string }[] };
  readonly registers: Record<string, { value: string; source: string }>;
  readonly paging: { rootPa: string; pcid: number; nxe: boolean; wp: boolean; pge: boolean; smep: boolean; smap: boolean; pke: boolean; maxPhysAddr: number };
  readonly tables: { count: number; byLevel: { PML4: number; PDPT: number; PD: number; PT: number }; sizeBytes: number; leaves: { page4K: number; page2M: number; page1G: number }; shared: number; framesReadFromFile: number };
  readonly mappings: ReturnType<typeof describeMapping>[];
  readonly mappingCount: number;
  readonly walks: { va: string; pa: string | null; rights: string | null; fault: string | null; text: string }[];
  readonly frames: { start: string; end: string; pieces: { start: string; end: string; pa: string | null; rights: string | null }[] }[];
  readonly lint: { findings: LintFinding[]; failOn: Severity; failed: boolean } | null;
  readonly diff: { against: string; entries: MappingDiffEntry[]; text: DiffText[] } | null;
  readonly elapsedMs: number;
}

/** One diff line's parts (JSON keeps the numbers; text shows these). */
export interface DiffText {
  readonly kind: string;
  readonly start: string;
  readonly end: string;
  readonly what: string;
}

interface Opened {
  readonly dump: OpenedDump;
  readonly source: FileDumpSource;
}

function open(path: string): Opened {
  let source: FileDumpSource;
  try {
    source = new FileDumpSource(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new DemoInputError(`cannot read dump ${path}: ${why}`, 'E_FILE_UNREADABLE');
  }
  try {
    return { dump: openDump(source), source };
  } catch (e) {
    source.close();
    throw e;
  }
}

function read(opened: Opened, given: GivenRegisters, cpu: number, maxPhysAddr: number, loops: 'error' | 'prune'): PageTableInspection {
  const state = resolvePagingState(given, opened.dump.cpus[cpu], maxPhysAddr);
  return inspectPageTables(opened.dump.memory, state, { loops });
}

function hex(n: number): string {
  return formatPa(n);
}

/**
 * Runs an inspection; `cwd` resolves relative paths (the user's directory under `pnpm demo`).
 * @returns the result and the exit code (3 when lint findings reach `--fail-on`)
 */
export function runInspect(dumpPath: string, opts: InspectCliOptions, cwd: string): { result: InspectResult; text: string; exitCode: number } {
  const t0 = performance.now();
  const pat = opts.pat ?? PAT_POWER_ON;
  const given: GivenRegisters = {
    ...(opts.cr0 === undefined ? {} : { cr0: opts.cr0 }),
    ...(opts.cr3 === undefined ? {} : { cr3: opts.cr3 }),
    ...(opts.cr4 === undefined ? {} : { cr4: opts.cr4 }),
    ...(opts.efer === undefined ? {} : { efer: opts.efer }),
  };
  const path = resolve(cwd, dumpPath);
  const opened = open(path);
  try {
    const inspection = read(opened, given, opts.cpu, opts.maxphyaddr, opts.lint ? 'prune' : 'error');
    const { state, scan } = inspection;
    const memory = opened.dump.memory;
    const shown: readonly MappingRange[] = opts.infoMem ? collectMappings(inspection.access, state.rootPa, { maxPhysAddr: state.maxPhysAddr, protectionOnly: true }) : inspection.mappings;
    const walks = (opts.walk ?? []).map((va) => {
      const w = explainWalk(memory, state, va, pat);
      return { va: formatVa(va), pa: w.pa === null ? null : hex(w.pa), rights: w.rights, fault: w.fault, text: w.text };
    });
    const frames = (opts.frames ?? []).map((r) => ({
      start: formatVa(r.start),
      end: formatEnd(r.end),
      pieces: backingFrames(inspection.mappings, r.start, r.end).map((p) => ({ start: formatVa(p.start), end: formatEnd(p.end), pa: p.pa === null ? null : hex(p.pa), rights: p.pa === null ? null : formatAccess(p.flags) })),
    }));
    let lint: InspectResult['lint'] = null;
    if (opts.lint) {
      const findings = lintPageTables(inspection, memory, { pat, ...(opts.text === undefined ? {} : { textRanges: opts.text }) });
      lint = { findings, failOn: opts.failOn, failed: findings.some((f) => severityAtLeast(f.severity, opts.failOn)) };
    }
    let diff: InspectResult['diff'] = null;
    if (opts.diff !== undefined) {
      const otherPath = resolve(cwd, opts.diff);
      const other = open(otherPath);
      try {
        // CR0/CR4/EFER given apply to both dumps; CR3 is --diff-cr3, else the second dump's own, else the first's.
        const { cr3: _first, ...rest } = given;
        const otherCr3 = opts.diffCr3 ?? (other.dump.cpus[opts.cpu] === undefined ? state.registers.cr3 : undefined);
        const otherGiven: GivenRegisters = { ...rest, ...(otherCr3 === undefined ? {} : { cr3: otherCr3 }) };
        const b = read(other, otherGiven, opts.cpu, opts.maxphyaddr, 'error');
        const entries = diffMappings(inspection.mappings, b.mappings, pat);
        const text = entries.map((e) => {
          const m = e.after ?? e.before!;
          const what = e.kind === 'changed' ? e.changes.join(', ') : `${formatAccess(m.flags)} ${m.pageSizeBytes === 4096 ? '4K' : m.pageSizeBytes === 2097152 ? '2M' : '1G'} -> ${hex(m.pa)}`;
          return { kind: e.kind, start: formatVa(e.start), end: formatEnd(e.end), what };
        });
        diff = { against: otherPath, entries, text };
      } finally {
        other.source.close();
      }
    }
    const views = shown.map((m) => describeMapping(m, pat, state.pke));
    const reg = (name: 'cr0' | 'cr3' | 'cr4' | 'efer'): { value: string; source: string } => ({ value: `0x${state.registers[name].toString(16)}`, source: state.sources[name] });
    const byLevel = scan.tableCountByLevel;
    const tableCount = byLevel[1]! + byLevel[2]! + byLevel[3]! + byLevel[4]!;
    const result: InspectResult = {
      dump: { path, format: opened.dump.format, fileBytes: opened.dump.fileBytes, ram: memory.ramRanges.map((r) => ({ start: hex(r.base), end: hex(r.base + r.lengthBytes) })) },
      registers: { cr0: reg('cr0'), cr3: reg('cr3'), cr4: reg('cr4'), efer: reg('efer') },
      paging: { rootPa: hex(state.rootPa), pcid: state.pcid, nxe: state.nxe, wp: state.wp, pge: state.pge, smep: state.smep, smap: state.smap, pke: state.pke, maxPhysAddr: state.maxPhysAddr },
      tables: { count: tableCount, byLevel: { PML4: byLevel[4]!, PDPT: byLevel[3]!, PD: byLevel[2]!, PT: byLevel[1]! }, sizeBytes: tableCount * 4096, leaves: scan.leafCount, shared: scan.shared.length, framesReadFromFile: memory.framesRead },
      mappings: views,
      mappingCount: views.length,
      walks,
      frames,
      lint,
      diff,
      elapsedMs: Math.round(performance.now() - t0),
    };
    const exitCode = lint?.failed === true ? 3 : 0;
    return { result, text: opts.json ? '' : renderInspectReport(result, opts.limit), exitCode };
  } finally {
    opened.source.close();
  }
}
