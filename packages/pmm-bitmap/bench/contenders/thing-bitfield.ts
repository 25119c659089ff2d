// @thi.ng/bitfield on fill: lowest free is firstZero(hint), the hint kept by the caller (the lowest
// frame that may be free), as its README suggests for allocation.
import { BitField } from '@thi.ng/bitfield';
import { report } from '../../../../test-support/alternating-runs';
import { runWorkloads } from '../churn-fill';

let bits = new BitField(8);
let hint = 0;
report(
  runWorkloads(
    {
      create(n) {
        bits = new BitField(n);
        bits.setAt(0);
        hint = 0;
      },
      alloc() {
        const f = bits.firstZero(hint);
        if (f < 0) return -1;
        bits.setAt(f);
        hint = f;
        return f;
      },
      free(f) {
        bits.setAt(f, false);
        if (f < hint) hint = f;
      },
    },
    ['fill'],
  ),
);
