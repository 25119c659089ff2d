// fast-bitfield on fill and churn, through the adapter of the older harness
// (bench/impl-fast-bitfield.ts: bits inverted, lowest free is iterator.seek(0).next(true)).
import { report } from '../../../../test-support/alternating-runs';
import { runWorkloads } from '../churn-fill';
import { impl } from '../impl-fast-bitfield';

report(runWorkloads(impl));
