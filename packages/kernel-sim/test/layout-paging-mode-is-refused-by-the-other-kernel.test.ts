// Given a layout of the other paging mode, does each kernel refuse it by name with its own typed
// error, before anything is built — the 64-bit Kernel a 32-bit layout (object or name), Kernel32 a
// 4-level one — instead of failing later on a rule of the wrong mode?
import { describe, expect, it } from 'vitest';
import { PagingMode } from '@kmem/x86-paging';
import { HIGHER_HALF_3G, Kernel, Kernel32, LAYOUTS, LayoutPagingModeError, Machine, requireLayoutPagingMode } from '../src/index';
import { thrown } from '../../../test-support/thrown';
import { grubHandOver } from './kernel32-helpers';

const regions = () => grubHandOver('seabios-grub-128m').regions!;

describe('LayoutPagingModeError', () => {
  it('the 64-bit Kernel refuses the 32-bit layout object with E_LAYOUT_PAGING_MODE; nothing is built', () => {
    const machine = new Machine({ memoryMap: regions() });
    const cr3 = machine.cpu.registers.cr3Frame;
    const e = thrown(() => new Kernel(machine, { layout: HIGHER_HALF_3G }));
    expect(e).toBeInstanceOf(LayoutPagingModeError);
    expect(e).toMatchObject({ code: 'E_LAYOUT_PAGING_MODE', layoutName: 'higher-half-3g', layoutPagingMode: '32-bit', kernelPagingMode: '4-level' });
    expect((e as Error).message).toMatch(/Kernel32/);
    expect(machine.cpu.registers.cr3Frame).toBe(cr3);
    expect(machine.memory.touchedFrameCount).toBe(0);
  });

  it('the 64-bit Kernel refuses the 32-bit layout by name too (it is in LAYOUTS_32, not LAYOUTS)', () => {
    const machine = new Machine({ memoryMap: regions() });
    // The name is not a LayoutName of the 64-bit kernel: a JavaScript caller can still pass it.
    const e = thrown(() => new Kernel(machine, { layout: 'higher-half-3g' as unknown as 'higher-half' }));
    expect(e).toMatchObject({ code: 'E_LAYOUT_PAGING_MODE', layoutName: 'higher-half-3g' });
    // An unknown name stays E_KERNEL_CONFIG.
    expect(thrown(() => new Kernel(machine, { layout: 'nope' as unknown as 'higher-half' }))).toMatchObject({ code: 'E_KERNEL_CONFIG' });
  });

  it('Kernel32 refuses every 4-level layout with E_LAYOUT_PAGING_MODE, the CPU left with paging off', () => {
    const machine = new Machine({ memoryMap: regions(), cpuMode: 'protected' });
    for (const layout of Object.values(LAYOUTS)) {
      const e = thrown(() => new Kernel32({ machine, layout }));
      expect(e).toBeInstanceOf(LayoutPagingModeError);
      expect(e).toMatchObject({ layoutName: layout.name, layoutPagingMode: '4-level', kernelPagingMode: '32-bit' });
      expect((e as Error).message).toMatch(/boot it with Kernel\b/);
    }
    // A layout object without pagingMode is a 4-level one (the field's default).
    const { pagingMode: _, ...noMode } = HIGHER_HALF_3G;
    expect(thrown(() => new Kernel32({ machine, layout: noMode }))).toBeInstanceOf(LayoutPagingModeError);
    expect(machine.cpu.pagingMode).toBe(PagingMode.None);
    expect(machine.cpu.registers.cr3Frame).toBe(0);
  });

  it('each kernel still accepts its own mode: requireLayoutPagingMode passes matching layouts and unknown names', () => {
    expect(() => requireLayoutPagingMode(HIGHER_HALF_3G, '32-bit')).not.toThrow();
    expect(() => requireLayoutPagingMode('higher-half', '4-level')).not.toThrow();
    expect(() => requireLayoutPagingMode('made-up', '32-bit')).not.toThrow();
    expect(() => requireLayoutPagingMode(undefined, '32-bit')).not.toThrow();
    expect(thrown(() => requireLayoutPagingMode('higher-half', '32-bit'))).toBeInstanceOf(LayoutPagingModeError);
    const k = new Kernel32({ machine: new Machine({ memoryMap: regions(), cpuMode: 'protected' }), layout: HIGHER_HALF_3G }).boot();
    expect(k.state).toBe('running');
  });
});
