// The history of a demo run as a list of actions — the scenario's next step, or an access someone
// made — and the machine at any point of it, rebuilt by replaying the actions on a fresh session.
//
// Why replay and not snapshots: the state is spread over the frame bitmap, physical memory, the
// page tables in it, the TLB's typed arrays, the process table, the heap's free lists and slabs,
// the event log... A snapshot would need a copy routine for each part, kept in step with every
// change to kernel-sim; one part forgotten and "back" shows a state the machine never had. Replay
// goes through the very code that made the state, so it is exact by construction (nothing in the
// packages reads a clock or Math.random). The price is time: the web page replays the machines one
// step behind and one ahead while it is idle (web/src/shell/history.ts), so a step is a swap.
import type { KernelEvent } from '@kmem/kernel-sim';
import { makeAccess, type AccessReport, type AccessRequest, type AccessKind, type AccessMode } from './access';
import { observe } from './observe';
import type { DemoSession, StepRecord } from './session';

/** One entry of the history. */
export type TimelineAction = { readonly kind: 'step' } | { readonly kind: 'access'; readonly request: AccessRequest };

/** What one action did. */
export type ActionResult =
  | { readonly kind: 'step'; readonly record: StepRecord | null; readonly error: string | null }
  | { readonly kind: 'access'; readonly report: AccessReport };

/** The machine at a point of the history. */
export interface TimelinePoint<B> {
  readonly session: DemoSession;
  /** Actions applied. */
  readonly position: number;
  /** What the last applied action did (null at position 0). */
  readonly last: ActionResult | null;
  /** What `beforeLast` captured just before the last action ran (null at position 0). */
  readonly before: B | null;
}

const STEP: TimelineAction = { kind: 'step' };

/** Runs one action on `session`. Errors of a step (a scenario step that cannot run after an access changed the machine) are results, not exceptions. */
export function applyAction(session: DemoSession, action: TimelineAction): ActionResult {
  if (action.kind === 'access') return { kind: 'access', report: makeAccess(session, action.request) };
  try {
    return { kind: 'step', record: session.next(), error: null };
  } catch (e) {
    return { kind: 'step', record: null, error: (e as Error).message };
  }
}

/** A run's history: the scenario's steps, with accesses inserted where they were made. */
export class Timeline {
  private actionList: TimelineAction[];
  private readonly planSteps: number;

  /** @param create makes a fresh session (same inputs, same scenario) each call */
  constructor(readonly create: () => DemoSession, actions?: readonly TimelineAction[]) {
    this.planSteps = create().stepCount;
    this.actionList = actions === undefined ? Array.from({ length: this.planSteps }, () => STEP) : [...actions];
  }

  /** Every action, applied or not. */
  get actions(): readonly TimelineAction[] {
    return this.actionList;
  }
  /** Actions in the history (the slider's last position). */
  get length(): number {
    return this.actionList.length;
  }

  /**
   * Inserts an access at `position` and drops accesses after it (a new branch of the history, as a
   * browser drops its forward pages); the scenario's remaining steps stay after it.
   */
  insertAccess(position: number, request: AccessRequest): void {
    const head = this.actionList.slice(0, position);
    const stepsDone = head.filter((a) => a.kind === 'step').length;
    this.actionList = [...head, { kind: 'access', request }, ...Array.from({ length: this.planSteps - stepsDone }, () => STEP)];
  }

  /** A fresh session with the first `position` actions applied; `beforeLast` looks (see observe.ts) just before the last one. */
  replay<B>(position: number, beforeLast: (s: DemoSession) => B): TimelinePoint<B> {
    const session = this.create();
    const n = Math.max(0, Math.min(position, this.actionList.length));
    let last: ActionResult | null = null;
    let before: B | null = null;
    for (let i = 0; i < n; i++) {
      if (i === n - 1) before = observe(session, () => beforeLast(session));
      last = applyAction(session, this.actionList[i]!);
    }
    return { session, position: n, last, before };
  }

  /** Applies action `point.position` to the point's session (it moves forward in place). */
  advance<B>(point: TimelinePoint<B>, beforeLast: (s: DemoSession) => B): TimelinePoint<B> {
    const action = this.actionList[point.position];
    if (action === undefined) return point;
    const before = observe(point.session, () => beforeLast(point.session));
    const last = applyAction(point.session, action);
    return { session: point.session, position: point.position + 1, last, before };
  }

  /** The actions as a URL-safe string: `s8-a2.7fff0000.wu-s9` (8 steps, user write by pid 2, 9 steps); '' when there is no access. */
  encode(): string {
    if (this.actionList.every((a) => a.kind === 'step')) return '';
    const parts: string[] = [];
    let run = 0;
    for (const a of this.actionList) {
      if (a.kind === 'step') {
        run++;
        continue;
      }
      if (run > 0) parts.push(`s${run}`);
      run = 0;
      const r = a.request;
      parts.push(`a${r.pid}.${r.va.toString(16)}.${r.access[0]}${r.mode[0]}`);
    }
    if (run > 0) parts.push(`s${run}`);
    return parts.join('-');
  }

  /**
   * The actions `encode` wrote, or null when `text` is not such a string (the page then ignores it).
   */
  static decode(text: string): TimelineAction[] | null {
    const out: TimelineAction[] = [];
    for (const part of text.split('-')) {
      const steps = /^s(\d{1,4})$/.exec(part);
      if (steps !== null) {
        for (let i = 0; i < Number(steps[1]); i++) out.push(STEP);
        continue;
      }
      const acc = /^a(\d{1,6})\.([0-9a-f]{1,12})\.([rwe])([us])$/.exec(part);
      if (acc === null) return null;
      const access: AccessKind = acc[3] === 'r' ? 'read' : acc[3] === 'w' ? 'write' : 'execute';
      const mode: AccessMode = acc[4] === 'u' ? 'user' : 'supervisor';
      out.push({ kind: 'access', request: { pid: Number(acc[1]), va: parseInt(acc[2]!, 16), access, mode } });
    }
    return out;
  }
}

/** Events of `session`'s kernel with a sequence number above `sinceSeq`. */
export function eventsSince(session: DemoSession, sinceSeq: number): KernelEvent[] {
  return session.kernel.events.all().filter((e) => e.seq > sinceSeq);
}
