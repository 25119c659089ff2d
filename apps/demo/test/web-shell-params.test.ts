// The page's URL parameters for the TLB geometry and the frame-map window, and the windows "fit"
// and "changed" choose: pure functions of web/src/shell, checked in Node (the Chromium test
// web-explain.e2e.test.ts checks them on the page).
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { FRAME_CLASSES } from '../src/scenarios/index';
import { changedWindow, fitWindow } from '../web/src/shell/frame-map';
import { TLB_DEFAULT, parseTlbParam, tlbParam } from '../web/src/shell/tlb-choice';

describe('tlbParam / parseTlbParam', () => {
  it('leaves the default out of the URL, and writes off and other geometries', () => {
    expect(tlbParam(TLB_DEFAULT)).toBeNull();
    expect(parseTlbParam(null)).toEqual(TLB_DEFAULT);
    expect(tlbParam(false)).toBe('off');
    expect(parseTlbParam('off')).toBe(false);
    expect(parseTlbParam('16x4')).toEqual({ setCount: 16, wayCount: 4 });
    expect(tlbParam({ setCount: 128, wayCount: 12 })).toBe('128x12');
  });

  it('falls back to the default for a malformed link or a geometry x86-paging refuses (sets a power of two, 1-32 ways)', () => {
    for (const bad of ['', '16', '16x', 'x4', '12x4', '16x0', '16x33', '131072x2', '16x4x2', 'OFF', '-16x4']) expect(parseTlbParam(bad)).toEqual(TLB_DEFAULT);
  });

  test.prop([fc.constantFrom(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 16384, 65536), fc.constantFrom(1, 2, 3, 4, 6, 8, 12, 16, 24, 32)])('round-trips every offered geometry', (setCount, wayCount) => {
    const g = { setCount, wayCount };
    expect(parseTlbParam(tlbParam(g))).toEqual(g);
  });
});

const FREE = FRAME_CLASSES.indexOf('free');
const HOLE = FRAME_CLASSES.indexOf('hole');
const HEAP = FRAME_CLASSES.indexOf('heap');

describe('fitWindow / changedWindow', () => {
  it('fit runs from the lowest used or changed frame to the highest, in whole MiB; all frames when none is used', () => {
    const kinds = new Uint8Array(4096).fill(FREE);
    const changed = new Uint8Array(4096);
    expect(fitWindow(kinds, changed)).toEqual({ start: 0, end: 4096 });
    kinds[300] = HEAP;
    kinds[1000] = HEAP;
    kinds[3000] = HOLE; // not RAM: not "used"
    expect(fitWindow(kinds, changed)).toEqual({ start: 256, end: 1024 });
    changed[2000] = 1;
    expect(fitWindow(kinds, changed)).toEqual({ start: 256, end: 2048 });
  });

  test.prop([fc.uniqueArray(fc.nat(8191), { minLength: 1, maxLength: 20 }), fc.uniqueArray(fc.nat(8191), { maxLength: 20 })])('both windows hold every changed frame, changed no wider than fit, at least 256 frames', (changedFrames, usedFrames) => {
    const kinds = new Uint8Array(8192).fill(FREE);
    const changed = new Uint8Array(8192);
    for (const f of usedFrames) kinds[f] = HEAP;
    for (const f of changedFrames) changed[f] = 1;
    const fit = fitWindow(kinds, changed);
    const ch = changedWindow(kinds, changed);
    for (const f of changedFrames) {
      expect(f >= fit.start && f < fit.end).toBe(true);
      expect(f >= ch.start && f < ch.end).toBe(true);
    }
    for (const f of usedFrames) expect(f >= fit.start && f < fit.end).toBe(true);
    expect(ch.end - ch.start).toBeGreaterThanOrEqual(256);
    expect(ch.end - ch.start).toBeLessThanOrEqual(Math.max(256, fit.end - fit.start));
    expect(ch.start >= 0 && ch.end <= 8192).toBe(true);
  });
});
