// Denning's working set W(t, τ): the distinct pages referenced in the last τ references, sampled
// over the run. Exact at every sample; memory follows τ, not the trace's length.
import { growToIndex } from './grow-array';
import { TraceOptionError } from './trace-errors';

/** A sample of the working-set series. */
export interface WorkingSetPoint {
  /** References so far (virtual time). */
  readonly time: number;
  /** |W(time, τ)| in pages. */
  readonly pageCount: number;
}

/**
 * Tracks |W(t, τ)| over a stream of page ids in which consecutive repeats arrive as runs
 * (`reference(page)` then `extend(count)`). A queue holds one entry per run that ended inside the
 * window (at most τ); a page leaves the set when its last run falls out of the window.
 * Samples are taken every `interval` references; when more than `maxPoints` have been taken, every
 * other one is dropped and the interval doubles, so the series stays small for any length.
 */
export class WorkingSetSeries {
  /** The window τ, in references. */
  readonly windowRefs: number;
  /** Current sampling interval in references. */
  interval: number;
  /** The largest |W| sampled. */
  peakPages = 0;
  private readonly maxPoints: number;
  private times = new Float64Array(0);
  private counts = new Float64Array(0);
  private pointCount = 0;
  private nextSample: number;
  private time = 0;
  private size = 0;
  /** lastEnd[page]: time of the page's last reference, -1 never; Infinity for the current run's page. */
  private lastEnd = new Float64Array(1024).fill(-1);
  private current = -1;
  private currentEnd = -1;
  // Ring queue of (page, end time) of finished runs; its capacity is a power of two (1,024, doubling).
  private qPage = new Int32Array(1024);
  private qTime = new Float64Array(1024);
  private qHead = 0;
  private qLength = 0;

  /** @throws TraceOptionError for a window or point count that is not a positive integer */
  constructor(windowRefs: number, options: { readonly interval?: number; readonly maxPoints?: number } = {}) {
    if (!Number.isSafeInteger(windowRefs) || windowRefs < 1) throw new TraceOptionError(`working-set window ${windowRefs} must be a positive integer`);
    const maxPoints = options.maxPoints ?? 256;
    if (!Number.isInteger(maxPoints) || maxPoints < 2) throw new TraceOptionError('maxPoints must be an integer >= 2');
    this.windowRefs = windowRefs;
    this.interval = options.interval ?? windowRefs;
    this.maxPoints = maxPoints;
    this.times = new Float64Array(maxPoints + 1);
    this.counts = new Float64Array(maxPoints + 1);
    this.nextSample = this.interval;
  }

  /** One reference to page id `page` (a different page from the previous one, or the first). */
  reference(page: number): void {
    const t = this.time + 1;
    const oldest = t - this.windowRefs; // times <= oldest are out of the window (t - τ, t]
    const current = this.current;
    let lastEnd = this.lastEnd;
    if (current >= 0) {
      // The current run ends: queue its page at its last reference's time.
      const end = this.currentEnd;
      lastEnd[current] = end;
      let length = this.qLength;
      if (length === this.qPage.length) this.growQueue();
      const qPage = this.qPage;
      const qTime = this.qTime;
      const mask = qPage.length - 1; // a power of two
      let head = this.qHead;
      const tail = (head + length) & mask;
      qPage[tail] = current;
      qTime[tail] = end;
      length++;
      // Runs whose end left the window: their page leaves unless referenced since.
      let size = this.size;
      while (length > 0) {
        const time = qTime[head]!;
        if (time > oldest) break;
        if (lastEnd[qPage[head]!] === time) size--;
        head = (head + 1) & mask;
        length--;
      }
      this.size = size;
      this.qHead = head;
      this.qLength = length;
    }
    if (page >= lastEnd.length) lastEnd = this.lastEnd = growToIndex(lastEnd, page, -1);
    const last = lastEnd[page]!;
    if (!(last >= 0 && last > oldest)) {
      if (++this.size > this.peakPages) this.peakPages = this.size;
    }
    lastEnd[page] = Infinity;
    this.current = page;
    this.currentEnd = t;
    this.time = t;
    if (t >= this.nextSample) this.sample();
  }

  /** `count` more references to the current page. */
  extend(count: number): void {
    if (this.time + count < this.nextSample) {
      this.time += count;
      this.currentEnd = this.time;
      return;
    }
    let left = count;
    while (left > 0) {
      const step = Math.min(left, this.nextSample - this.time);
      this.time += step;
      this.currentEnd = this.time;
      left -= step;
      if (this.time >= this.nextSample) this.sample();
    }
  }

  /** The samples taken so far. */
  points(): WorkingSetPoint[] {
    const out: WorkingSetPoint[] = [];
    for (let i = 0; i < this.pointCount; i++) out.push({ time: this.times[i]!, pageCount: this.counts[i]! });
    return out;
  }

  private sample(): void {
    this.expire(this.time);
    this.times[this.pointCount] = this.time;
    this.counts[this.pointCount] = this.size;
    this.pointCount++;
    this.nextSample = this.time + this.interval;
    if (this.pointCount > this.maxPoints) {
      // Keep every other sample (those at multiples of the doubled interval).
      let k = 0;
      for (let i = 1; i < this.pointCount; i += 2) {
        this.times[k] = this.times[i]!;
        this.counts[k] = this.counts[i]!;
        k++;
      }
      this.pointCount = k;
      this.interval *= 2;
      this.nextSample = this.times[k - 1]! + this.interval;
    }
  }

  /** Pages whose last reference is before the window ending at `t` leave the set. */
  private expire(t: number): void {
    const oldest = t - this.windowRefs; // times <= oldest are out of the window (t - τ, t]
    const mask = this.qPage.length - 1; // the ring's capacity is a power of two
    while (this.qLength > 0) {
      const i = this.qHead;
      const time = this.qTime[i]!;
      if (time > oldest) break;
      const p = this.qPage[i]!;
      if (this.lastEnd[p] === time) this.size--;
      this.qHead = (i + 1) & mask;
      this.qLength--;
    }
  }

  private growQueue(): void {
    const cap = this.qPage.length;
    const pages = new Int32Array(cap * 2);
    const times = new Float64Array(cap * 2);
    for (let k = 0; k < this.qLength; k++) {
      const i = (this.qHead + k) & (cap - 1);
      pages[k] = this.qPage[i]!;
      times[k] = this.qTime[i]!;
    }
    this.qPage = pages;
    this.qTime = times;
    this.qHead = 0;
  }
}
