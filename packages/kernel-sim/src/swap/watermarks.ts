// Free-frame watermarks, as Linux's zone watermarks: below LOW the background reclaimer (kswapd)
// is woken and works until HIGH; an allocation that finds free frames at or below MIN reclaims
// directly first. Defaults follow mm/page_alloc.c: min_free_kbytes = sqrt(16 * RAM in KiB),
// clamped to 128 KiB .. 256 MiB (init_per_zone_wmark_min), low = min * 5/4, high = min * 3/2
// (__setup_per_zone_wmarks before watermark_scale_factor).
import { SwapOptionError } from './swap-errors';
import { show } from '../show-value';

/** Free-frame thresholds in frames. */
export interface Watermarks {
  /** At or below: the allocating path reclaims directly. */
  readonly minFrames: number;
  /** Below: kswapd is woken. */
  readonly lowFrames: number;
  /** kswapd reclaims until free frames reach this. */
  readonly highFrames: number;
}

/**
 * Default watermarks for `ramFrames` frames of RAM (Linux's formula), or the given ones checked.
 * @throws SwapOptionError unless 0 <= min <= low <= high are integers
 */
export function watermarksFor(ramFrames: number, given?: Partial<Watermarks>): Watermarks {
  const ramKiB = ramFrames * 4;
  const minKiB = Math.min(262_144, Math.max(128, Math.floor(Math.sqrt(ramKiB * 16))));
  const minDefault = Math.ceil(minKiB / 4);
  const minFrames = given?.minFrames ?? minDefault;
  const lowFrames = given?.lowFrames ?? minFrames + Math.floor(minFrames / 4);
  const highFrames = given?.highFrames ?? minFrames + Math.floor(minFrames / 2);
  for (const [k, v] of [['minFrames', minFrames], ['lowFrames', lowFrames], ['highFrames', highFrames]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new SwapOptionError(`watermark ${k} = ${show(v)} must be a non-negative integer`);
  }
  if (!(minFrames <= lowFrames && lowFrames <= highFrames)) throw new SwapOptionError(`watermarks must satisfy min <= low <= high (got ${minFrames}, ${lowFrames}, ${highFrames})`);
  return { minFrames, lowFrames, highFrames };
}
