// Looking at the machine without changing it. kernel-sim's views read page tables and heap metadata
// the way its kernel does, through the direct map and so through the CPU's TLB: each look counts TLB
// hits and moves the TLB's set hints. A page drawn after every step would then count more hits than
// the same history replayed without drawing, and "back" would not give the page it left.

import type { DemoSession } from './session';

/** Whether a look ever had to walk the tables (then it set A bits and filled the TLB: the machine changed). */
export interface LookReport {
  changedMachine: boolean;
}

/** Set when a look walked the tables; the page reports it in the console (a test fails on it). */
export const lookReport: LookReport = { changedMachine: false };

/**
 * Runs `look` (reading the session to draw it) and puts back what reading through the TLB changed:
 * the hit counter and the set hints. A look that missed the TLB walked the tables, which this cannot
 * undo: it is reported in `lookReport` and on the console.
 */
export function observe<T>(session: DemoSession, look: () => T): T {
  const cpu = session.machine.cpu;
  const tlb = cpu.tlb;
  if (tlb === null) return look();
  const hits = tlb.hits;
  const misses = tlb.misses;
  const walks = cpu.mmu.walkCount;
  const hints = tlb.hints.slice();
  try {
    return look();
  } finally {
    tlb.hits = hits;
    tlb.hints.set(hints);
    if (tlb.misses !== misses || cpu.mmu.walkCount !== walks) {
      lookReport.changedMachine = true;
      console.warn(`kmem: drawing the page walked the page tables (${cpu.mmu.walkCount - walks} walks): the machine changed by being looked at`);
    }
  }
}
