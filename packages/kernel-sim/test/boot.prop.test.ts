// Random firmware maps: the kernel either boots and every invariant holds, or refuses with a
// typed error (a configuration it cannot use, or a panic when memory runs out) — never anything
// else, never a host crash.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Kernel, KernelConfigError, KernelPanic, Machine, type MemoryKind, type MemoryRegion } from '../src/index';
import { LAYOUT_NAMES } from './boot-helpers';

const MiB = 1024 * 1024;
const KINDS: MemoryKind[] = ['usable', 'usable', 'usable', 'reserved', 'acpi-reclaimable', 'acpi-nvs', 'bad-memory', 'bootloader-reclaimable', 'kernel-and-modules', 'framebuffer'];

const region = fc.record({
  base: fc.oneof(fc.integer({ min: 0, max: 64 }).map((m) => m * MiB), fc.integer({ min: 0, max: 0x2_0000_0000 / 4096 }).map((p) => p * 4096), fc.integer({ min: 0, max: 0x2_0000_0000 })),
  lengthBytes: fc.oneof(fc.integer({ min: 1, max: 256 }).map((m) => m * MiB), fc.integer({ min: 1, max: 0x4000_0000 })),
  kind: fc.constantFrom(...KINDS),
});
const map = fc.array(region, { minLength: 1, maxLength: 8 }).map((rs) => [{ base: 0x100000, lengthBytes: 40 * MiB, kind: 'usable' }, ...rs] as MemoryRegion[]);

describe('Kernel.boot on random memory maps', () => {
  for (const layout of LAYOUT_NAMES) {
    it(`${layout}: boots with every invariant holding, or refuses with a typed error`, () => {
      let booted = 0;
      fc.assert(
        fc.property(map, (regions) => {
          let kernel: Kernel;
          try {
            kernel = new Kernel(new Machine({ memoryMap: regions }), { layout });
          } catch (e) {
            expect(e).toBeInstanceOf(KernelConfigError);
            return;
          }
          try {
            kernel.boot();
          } catch (e) {
            expect(e).toBeInstanceOf(KernelPanic);
            expect(kernel.state).toBe('panicked');
            // Only running out of memory (or RAM the direct map cannot reach) may stop a boot.
            expect((e as KernelPanic).report.reason).toMatch(/out of memory|no \d+ contiguous frames|no frame|beyond the direct map/);
            return;
          }
          booted++;
          expect(kernel.kmalloc(1000)).not.toBeNull();
          kernel.checkInvariants();
        }),
        { numRuns: 40 },
      );
      expect(booted).toBeGreaterThan(0);
    });
  }
});
