// The fixtures the visualizer ships with: memory maps as text, the program as a bundled asset.
import q35Small from '../../fixtures/qemu-q35-linux-128m.e820.txt?raw';
import q35Big from '../../fixtures/qemu-q35-linux-5g.e820.txt?raw';
// Inlined as a data URL: 13 KiB, and an extension-less file served by URL is not raw bytes in Vite's dev server.
import programDataUrl from '../../fixtures/hello-static-pie?inline';

/** Memory maps to boot on (e820 logs from QEMU q35). 128 MiB first: every frame is a visible cell. */
export const MEMORY_MAPS: readonly { readonly name: string; readonly label: string; readonly text: string }[] = [
  { name: 'qemu-q35-linux-128m.e820.txt', label: 'QEMU q35, 128 MiB (e820)', text: q35Small },
  { name: 'qemu-q35-linux-5g.e820.txt', label: 'QEMU q35, 5 GiB (e820)', text: q35Big },
];

/** The static PIE the scenarios exec. */
export function loadProgram(): Uint8Array {
  const base64 = programDataUrl.slice(programDataUrl.indexOf(',') + 1);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}
