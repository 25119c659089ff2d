// The Mapper's `options` argument: anything but an object (null, a number, a string, a boolean)
// is a typed InvalidOptionError (E_INVALID_OPTION) before any change — not a raw TypeError from
// reading a property of null later (DESIGN.md "Errors": misuse throws at once, state unchanged).
import { describe, expect, it } from 'vitest';
import { InvalidOptionError, PTE } from '../src/index';
import { machine, snapshot } from './mapper-fixture';

const VA = 0x7f00_0020_3000;
const RW_US = PTE.Present | PTE.Writable | PTE.User;
const NOT_OBJECTS: unknown[] = [null, 0, 1, 'pageSize', true, 4096n];

describe('Mapper methods given an options argument that is not an object', () => {
  const calls: [string, (m: ReturnType<typeof machine>['mapper'], options: never) => unknown][] = [
    ['mapPages', (m, o) => m.mapPages(VA + 0x1000, 0x40_0000, 1, RW_US, o)],
    ['mapRange', (m, o) => m.mapRange(VA + 0x1000, 0x40_0000, 0x2000, RW_US, o)],
    ['unmapPages', (m, o) => m.unmapPages(VA, 1, o)],
    ['locatePage', (m, o) => m.locatePage(VA, o)],
    ['mappings', (m, o) => m.mappings(o)],
    ['formatMappings', (m, o) => m.formatMappings(o)],
  ];
  for (const [name, call] of calls) {
    it(`${name}: E_INVALID_OPTION, nothing changed`, () => {
      const { mapper, memory, allocator } = machine();
      expect(mapper.mapPages(VA, 0x30_0000, 1, RW_US)).toBe(true);
      const before = snapshot(memory);
      const free = allocator.freeCount;
      for (const options of NOT_OBJECTS) {
        let error: unknown;
        try {
          call(mapper, options as never);
        } catch (e) {
          error = e;
        }
        expect(error, `${name}(${String(options)})`).toBeInstanceOf(InvalidOptionError);
        expect((error as InvalidOptionError).code).toBe('E_INVALID_OPTION');
        expect(snapshot(memory)).toBe(before);
        expect(allocator.freeCount).toBe(free);
      }
      mapper.checkInvariants();
      // Omitted options still mean the defaults.
      expect(call(mapper, undefined as never)).not.toBeUndefined();
    });
  }
});
