// Every shipped policy by name, for CLIs, demos and property tests that try them all.
import type { ReplacementPolicy } from '../replacement-policy';
import { SwapOptionError } from '../swap-errors';
import { AgingPolicy } from './aging';
import { ClockPolicy } from './clock';
import { EnhancedClockPolicy } from './enhanced-clock';
import { FifoPolicy } from './fifo';
import { LruPolicy } from './lru';
import { OptPolicy } from './opt';
import { RandomPolicy } from './random';
import { TwoListPolicy } from './two-list';
import { WsClockPolicy } from './ws-clock';
import { show } from '../../show-value';

/** Names of the shipped policies. */
export const POLICY_NAMES = ['fifo', 'clock', 'enhanced-clock', 'lru', 'aging', 'ws-clock', 'two-list', 'random', 'opt'] as const;

/** A shipped policy's name. */
export type PolicyName = (typeof POLICY_NAMES)[number];

/** Options for {@link createPolicy}. */
export interface CreatePolicyOptions {
  /** `random`: the seed (default 1). */
  readonly seed?: number;
  /** `aging`: counter bits (default 8). */
  readonly agingBits?: number;
  /** `ws-clock`: working-set window in simulated ns (default 1 ms). */
  readonly tauNs?: number;
  /** `opt`: the recorded sequence of page keys (required). */
  readonly sequence?: ArrayLike<number>;
}

/** A new policy by name. @throws SwapOptionError for an unknown name or `opt` without a sequence */
export function createPolicy(name: PolicyName, options: CreatePolicyOptions = {}): ReplacementPolicy {
  switch (name) {
    case 'fifo':
      return new FifoPolicy();
    case 'clock':
      return new ClockPolicy();
    case 'enhanced-clock':
      return new EnhancedClockPolicy();
    case 'lru':
      return new LruPolicy();
    case 'aging':
      return new AgingPolicy(options.agingBits);
    case 'ws-clock':
      return new WsClockPolicy(options.tauNs);
    case 'two-list':
      return new TwoListPolicy();
    case 'random':
      return new RandomPolicy(options.seed);
    case 'opt':
      if (options.sequence === undefined) throw new SwapOptionError('the opt policy needs the recorded access sequence (options.sequence)');
      return new OptPolicy(options.sequence);
    default:
      throw new SwapOptionError(`unknown replacement policy "${show(name)}" (known: ${POLICY_NAMES.join(', ')})`);
  }
}
