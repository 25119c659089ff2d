// Time travel for the page: the run's Timeline (src/scenarios/timeline.ts), the machine at the
// current position, and the machines one step behind and one ahead, replayed while the page is
// idle, so that ← and → are a swap. Every change of position goes through here; the page renders
// from `point` only, so the same position always shows the same page.
import { FRAME_CLASSES, Timeline, classifyFrames, snapshotPageTables, type AccessRequest, type DemoSession, type PageTableSnapshot, type TimelineAction, type TimelinePoint } from '../../../src/scenarios/index';

/** What the page needs from the state just before the last action: which frames changed, TLB deltas, the page tables. */
export interface Before {
  readonly kinds: Uint8Array;
  readonly pids: Int32Array;
  readonly tlbHits: number;
  readonly tlbMisses: number;
  /** Every page table then (copies), for the entries the action changed. */
  readonly tables: PageTableSnapshot;
}

/** Frames the frame map can show: up to the end of RAM, at most 4 Mi (16 GiB). */
export function shownFrameCount(s: DemoSession): number {
  const ramEnd = s.machine.memoryMap.reduce((m, r) => (r.kind === 'reserved' || r.kind === 'bad-memory' ? m : Math.max(m, r.base + r.lengthBytes)), 0);
  const frames = Math.min(4 * 1024 * 1024, Math.ceil(ramEnd / 4096));
  return s.booted ? Math.min(s.kernel.pmm.totalFrames, frames) : frames;
}

/** Frame owners of `s` now, as the frame map classifies them (before the boot: RAM free, the rest holes). */
export function frameKinds(s: DemoSession, total: number): { kinds: Uint8Array; pids: Int32Array } {
  const kinds = new Uint8Array(total);
  const pids = new Int32Array(total);
  if (s.booted) classifyFrames(s.kernel, 0, total, kinds, pids);
  else for (let f = 0; f < total; f++) kinds[f] = FRAME_CLASSES.indexOf(s.machine.memory.isRam(f * 4096) ? 'free' : 'hole');
  return { kinds, pids };
}

function captureBefore(s: DemoSession): Before {
  const { kinds, pids } = frameKinds(s, shownFrameCount(s));
  const tlb = s.booted ? s.kernel.cpu.tlb : null;
  return { kinds, pids, tlbHits: tlb?.hits ?? 0, tlbMisses: tlb?.misses ?? 0, tables: snapshotPageTables(s.kernel) };
}

/**
 * The run's history and where the page is in it. The machine drawn is always a fresh replay that
 * nothing has run on since: drawing reads the kernel's structures through the CPU, and a read that
 * misses the TLB walks the tables and fills it (observe.ts undoes the hit counters, not that). A
 * machine once drawn is never stepped on; the next one comes from a replay, prepared in advance
 * when the page is idle (one step behind and one ahead), so that ←, → and play are a swap.
 */
export class History {
  readonly timeline: Timeline;
  point: TimelinePoint<Before>;
  private behind: TimelinePoint<Before> | null = null;
  private ahead: TimelinePoint<Before> | null = null;
  private prepareTimer: number | null = null;
  /** Milliseconds the last change of position took (replay or swap, not the render), and how it was made. */
  lastMoveMs = 0;
  lastMoveKind: 'swap' | 'replay' = 'replay';

  constructor(create: () => DemoSession, actions: readonly TimelineAction[] | undefined, position: number) {
    this.timeline = new Timeline(create, actions);
    this.point = this.timeline.replay(position, captureBefore);
    this.prepare();
  }

  get position(): number {
    return this.point.position;
  }
  get length(): number {
    return this.timeline.length;
  }

  /** Runs the next action (the scenario's next step or a later access). */
  forward(): boolean {
    return this.goTo(this.position + 1);
  }

  /** Back one action. */
  back(): boolean {
    return this.goTo(this.position - 1);
  }

  /** To `position` (clamped): a prepared machine if it is that one, else a replay. */
  goTo(position: number): boolean {
    const target = Math.max(0, Math.min(this.length, position));
    if (target === this.position) return false;
    const t0 = performance.now();
    const ready = [this.ahead, this.behind].find((p) => p !== null && p.position === target) ?? null;
    if (ready !== null) {
      this.point = ready;
      this.lastMoveKind = 'swap';
    } else {
      this.point = this.timeline.replay(target, captureBefore);
      this.lastMoveKind = 'replay';
    }
    this.ahead = null;
    this.behind = null;
    this.lastMoveMs = performance.now() - t0;
    this.prepare();
    return true;
  }

  /** Makes an access at the current position: it becomes the next action, and runs. */
  access(request: AccessRequest): void {
    this.timeline.insertAccess(this.position, request);
    this.ahead = null; // it ran the old next action
    this.forward();
  }

  /** Replays the machines one step behind and one ahead when the page is idle. */
  private prepare(): void {
    if (this.prepareTimer !== null) clearTimeout(this.prepareTimer);
    const at = this.position;
    const next = (): void => {
      this.prepareTimer = null;
      if (this.position !== at) return;
      if (this.ahead === null && at < this.length) this.ahead = this.timeline.replay(at + 1, captureBefore);
      else if (this.behind === null && at > 0) this.behind = this.timeline.replay(at - 1, captureBefore);
      else return;
      this.prepareTimer = window.setTimeout(next, 50);
    };
    this.prepareTimer = window.setTimeout(next, 150);
  }
}
