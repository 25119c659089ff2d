// The whole terminal report: runs a session step by step, printing each step as it happens, then
// the tables and pictures of the end state.
import type { DemoResult, DemoSession } from '../scenarios/session';
import type { WalkView } from '../scenarios/views';
import {
  renderBootHeading,
  renderEvents,
  renderHeap,
  renderLayout,
  renderMemoryMap,
  renderOwners,
  renderPanic,
  renderPictures,
  renderProcesses,
  renderScenarioHeading,
  renderStep,
  renderTlb,
  renderTrace,
  renderWalk,
  renderZones,
} from './sections';
import type { Style } from './style';
import { renderSwap } from './swap-section';

/** Where the report goes, and the extra walks asked for. */
export interface ReportOptions {
  readonly write: (text: string) => void;
  /** Walks to show instead of the session's defaults (computed after the scenario). */
  readonly walks?: () => WalkView[];
}

/**
 * Runs `session` to the end, writing the report as it goes. Returns the final result.
 * @throws whatever a step throws (the CLI turns it into one line)
 */
export function runWithReport(session: DemoSession, s: Style, options: ReportOptions): DemoResult {
  const out = options.write;
  const total = session.stepCount;
  const first = session.result([]);
  out(`${s.c.bold('kmem')} ${s.c.dim('— an x86_64 kernel memory manager, simulated')}  scenario ${s.c.bold(first.scenario.name)}: ${first.scenario.title}`);
  out(renderMemoryMap(s, first.memoryMap.name, first.memoryMap.format, first.memoryMap.ramBytes, first.memoryMap.rows));
  out(renderBootHeading(s, first.layout.name));
  let scenarioStarted = false;
  let booted = false;
  for (;;) {
    if (!booted && session.booted) {
      booted = true;
      const r = session.result([]);
      out(renderZones(s, r.zones));
      out(renderOwners(s, r.owners));
      out(renderPictures(s, r.pictures));
      out(renderLayout(s, r.layout.name, r.layout.tableAccess, r.layout.rows));
    }
    if (session.done) break;
    const nextPhase = session.titles[session.position]!.phase;
    if (nextPhase === 'scenario' && !scenarioStarted) {
      scenarioStarted = true;
      out(renderScenarioHeading(s, first.scenario));
    }
    const rec = session.next()!;
    out(renderStep(s, rec, total));
  }
  const result = session.result(options.walks?.() ?? session.defaultWalks());
  out(renderEvents(s, result.steps, result.eventCounts));
  out(renderProcesses(s, result.processes));
  out(renderOwners(s, result.owners));
  out(renderPictures(s, result.pictures));
  for (const w of result.walks) out(renderWalk(s, w));
  out(renderHeap(s, result.heap));
  out(renderTlb(s, result.tlb));
  if (result.trace !== null) out(renderTrace(s, result.trace));
  if (result.swap !== null) out(renderSwap(s, result.swap));
  if (result.panic !== null) out(renderPanic(s, result.panic.report, result.panic.walk));
  out(`\n${s.c.dim(`${total} steps; kernel #1 is ${result.kernelState}. Try --scenario ${['tour', 'demand-paging', 'cow-fork', 'segfault', 'panic', 'trace', 'swap'].join('|')}, --layout, --memmap FILE, --walk ADDR, --json.`)}`);
  return result;
}
