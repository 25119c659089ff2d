// Does a kernel that changes its page tables only through the Mapper ever use a stale
// translation? The Mapper tells the Cpu (as its TlbInvalidator) about every present leaf it
// changes or removes, so the TLB's stale-use detector must stay silent — and does report the same
// sequence when the Mapper is not told about the TLB.
import { describe, expect, it } from 'vitest';
import { Access, ArrayBufferPhysicalMemory, Cpu, Mapper, Mode, PTE, PageSize, PhysicalTableAccess, SimpleFrameAllocator, virt } from '../src/index';

function setup(tellTlb: boolean): { cpu: Cpu; mapper: Mapper } {
  const memory = new ArrayBufferPhysicalMemory(16 * 1024 * 1024);
  const allocator = new SimpleFrameAllocator({ start: 0x80_0000, frameCount: 1024 });
  const mapper = Mapper.create({ access: new PhysicalTableAccess(memory), allocator })!;
  const cpu = new Cpu({ memory, registers: { cr3Frame: mapper.root } });
  if (tellTlb) mapper.tlb = cpu;
  cpu.tlb!.detectStaleUses = true;
  return { cpu, mapper };
}

function scenario(cpu: Cpu, mapper: Mapper): number[] {
  const k = virt('0xffff_8000_0000_0000');
  const seen: number[] = [];
  mapper.mapPages(k, 0x20_0000, 1, PTE.Writable, { pageSize: PageSize.Size2M });
  cpu.write8(k + 0x1000, 0xaa); // caches the 2 MiB translation
  mapper.unmapPages(k + 0x1000, 1); // split + unmap one 4 KiB page
  seen.push(cpu.translate(k + 0x1000, Access.Read, Mode.Supervisor).fault ? 1 : 0);
  mapper.updateFlags(k + 0x2000, 1, PTE.Present); // read-only now
  cpu.read8(k + 0x2000);
  seen.push(cpu.translate(k + 0x2000, Access.Write, Mode.Supervisor).fault ? 1 : 0);
  mapper.mapPages(0x40_0000, 0x30_0000, 1, PTE.Writable | PTE.User);
  cpu.read8(0x40_0000, Mode.User);
  mapper.unmapPages(0x40_0000, 1);
  mapper.mapPages(0x40_0000, 0x31_0000, 1, PTE.Writable | PTE.User);
  seen.push(cpu.translate(0x40_0000, Access.Read, Mode.User).pa === 0x31_0000 ? 1 : 0);
  return seen;
}

describe('Mapper with a Cpu as its TLB invalidator', () => {
  it('never leaves a stale translation in the TLB (SDM 4.10.4)', () => {
    const { cpu, mapper } = setup(true);
    expect(scenario(cpu, mapper)).toEqual([1, 1, 1]);
    expect(cpu.tlb!.staleUses).toEqual([]);
    mapper.checkInvariants();
  });

  it('shows why it matters: without invlpg the same steps use stale entries', () => {
    const { cpu, mapper } = setup(false);
    expect(scenario(cpu, mapper)).not.toEqual([1, 1, 1]);
    expect(cpu.tlb!.staleUses.length).toBeGreaterThan(0);
  });
});
