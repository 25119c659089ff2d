// number-allocator (redboltz): the lowest vacant number in [min, max], one number per page.
import { NumberAllocator } from 'number-allocator';
import { report } from '../../../../test-support/alternating-runs';
import { runWorkloads } from '../mix';

report(
  runWorkloads(() => {
    const a = new NumberAllocator(0, 2 ** 35 - 1);
    return {
      alloc: () => a.alloc() ?? -1,
      free: (n) => a.free(n),
    };
  }, false),
);
