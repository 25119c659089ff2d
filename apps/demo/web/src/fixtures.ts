// The fixtures the visualizer ships with: memory maps as text, the program as a bundled asset.
import q35Small from '../../fixtures/qemu-q35-linux-128m.e820.txt?raw';
import q35Big from '../../fixtures/qemu-q35-linux-5g.e820.txt?raw';
import programUrl from '../../fixtures/hello-static-pie?url';

/** Memory maps to boot on (e820 logs from QEMU q35). 128 MiB first: every frame is a visible cell. */
export const MEMORY_MAPS: readonly { readonly name: string; readonly label: string; readonly text: string }[] = [
  { name: 'qemu-q35-linux-128m.e820.txt', label: 'QEMU q35, 128 MiB (e820)', text: q35Small },
  { name: 'qemu-q35-linux-5g.e820.txt', label: 'QEMU q35, 5 GiB (e820)', text: q35Big },
];

/** The static PIE the scenarios exec. */
export async function loadProgram(): Promise<Uint8Array> {
  const res = await fetch(programUrl);
  if (!res.ok) throw new Error(`cannot load the program: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}
