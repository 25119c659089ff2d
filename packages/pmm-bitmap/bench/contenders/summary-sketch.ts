// The ~60-line three-level summary bitmap (bench/summary-bitmap-sketch.ts) on fill and churn.
import { report } from '../../../../test-support/alternating-runs';
import { runWorkloads } from '../churn-fill';
import { SummaryBitmapSketch } from '../summary-bitmap-sketch';

let s = new SummaryBitmapSketch(32768);
report(
  runWorkloads({
    create(n) {
      s = new SummaryBitmapSketch(n);
    },
    alloc: () => s.alloc(),
    free: (f) => s.free(f),
  }),
);
