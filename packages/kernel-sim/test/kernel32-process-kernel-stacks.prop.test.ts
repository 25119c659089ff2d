// Model-based: do per-process kernel stacks on Kernel32 follow a tiny reference through random
// create / fork / exit / SIGSEGV sequences — each live process on its own slot (lowest new slot
// first, the last freed reused first), no stack for a gone process, creation refused (null, nothing
// allocated) exactly when the slots run out — with checkInvariants() after every step?
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bootKernel32, grubHandOver } from './kernel32-helpers';

const PAGE = 4096;
const REGION_PAGES = 2048; // 0xff40_0000-0xffbf_ffff
const BOOT_STACK_PAGES = 4;

type Op = { kind: 'create' } | { kind: 'fork' | 'exit' | 'segv'; which: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ kind: 'create' }),
  fc.record({ kind: fc.constantFrom('fork' as const, 'exit' as const, 'segv' as const), which: fc.nat({ max: 99 }) }),
);

describe('Kernel32 per-process kernel stacks (model)', () => {
  it('match a reference of slots through random process lifecycles', () => {
    fc.assert(
      fc.property(fc.constantFrom(2, 300, 500), fc.array(op, { minLength: 1, maxLength: 30 }), (pages, ops) => {
        const k = bootKernel32(grubHandOver('seabios-grub-128m'), { processKernelStackPageCount: pages });
        const slotCount = Math.floor((REGION_PAGES - BOOT_STACK_PAGES - 1) / (pages + 1));
        const firstTop = 0xffc0_0000 - (BOOT_STACK_PAGES + 1) * PAGE;
        // The reference: pid -> slot, a LIFO of freed slots, a watermark.
        const slots = new Map<number, number>();
        const freed: number[] = [];
        let watermark = 0;
        const take = (): number | null => {
          if (freed.length > 0) return freed.pop()!;
          return watermark < slotCount ? watermark++ : null;
        };
        for (const o of ops) {
          const live = [...slots.keys()];
          if (o.kind === 'create' || live.length === 0) {
            const expected = take();
            const p = k.processes.create();
            expect(p === null).toBe(expected === null);
            if (p !== null) slots.set(p.pid, expected!);
          } else {
            const pid = live[o.which % live.length]!;
            if (o.kind === 'fork') {
              const expected = take();
              const child = k.processes.fork(pid);
              expect(child === null).toBe(expected === null);
              if (child !== null) slots.set(child.pid, expected!);
            } else {
              if (o.kind === 'exit') k.processes.exit(pid);
              else expect(k.processes.get(pid).touch(0x2000_0000, 'write', 1)).toBe('segv');
              freed.push(slots.get(pid)!);
              slots.delete(pid);
              expect(k.kernelStackOf(pid)).toBeUndefined();
            }
          }
          for (const [pid, slot] of slots) {
            const s = k.kernelStackOf(pid)!;
            expect(s.slot).toBe(slot);
            expect(s.top).toBe(firstTop - slot * (pages + 1) * PAGE);
            expect(s.bottom).toBe(s.top - pages * PAGE);
          }
          expect(k.processKernelStacks.map((s) => s.pid).sort((a, b) => a - b)).toEqual([...slots.keys()].sort((a, b) => a - b));
          k.checkInvariants();
        }
      }),
      { numRuns: 12 },
    );
  }, 120_000);
});
