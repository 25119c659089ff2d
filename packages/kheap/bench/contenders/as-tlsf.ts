// AssemblyScript's TLSF (its runtime's __alloc/__free, compiled to wasm by
// peers/build-as-tlsf.mjs) on issue 19's slot traces, called once per op from JS, one process.
// Same protocol as contenders/kheap.ts: warm-up replay, 3 timed replays, median by CPU time; after
// each replay every live block is freed, so each replay starts from an empty (but grown and
// touched) wasm memory. The wasm path is argv[2].
import { readFileSync } from 'node:fs';
import { report, measure, medianFigure, type ChildReport, type Figure } from '../../../../test-support/alternating-runs';
import { SLOT_COUNTS, slotTrace, workloadName, type SlotTrace } from '../slot-trace';

interface Tlsf {
  alloc(size: number): number;
  free(ptr: number): void;
  memory: WebAssembly.Memory;
}
const wasm = new WebAssembly.Module(readFileSync(process.argv[2]!));
const tlsf = new WebAssembly.Instance(wasm, { env: { abort: () => { throw new Error('abort'); } } }).exports as unknown as Tlsf;

function replay(t: SlotTrace, ptrs: Int32Array): void {
  const { slot, size } = t;
  for (let i = 0; i < slot.length; i++) {
    const n = size[i]!;
    if (n !== 0) ptrs[slot[i]!] = tlsf.alloc(n);
    else tlsf.free(ptrs[slot[i]!]!);
  }
}

function freeAll(ptrs: Int32Array): void {
  for (let s = 0; s < ptrs.length; s++) {
    if (ptrs[s] !== 0) tlsf.free(ptrs[s]!);
    ptrs[s] = 0;
  }
}

const out: ChildReport = {};
for (const slots of SLOT_COUNTS) {
  const t = slotTrace(slots);
  const ptrs = new Int32Array(slots);
  const runs: Figure[] = [];
  const held = new Uint8Array(slots);
  for (let r = 0; r < 4; r++) {
    const f = measure(t.slot.length, () => replay(t, ptrs));
    if (r > 0) runs.push(f);
    // ptrs of freed slots still hold their old pointer: clear by replaying the trace's occupancy.
    held.fill(0);
    for (let i = 0; i < t.slot.length; i++) held[t.slot[i]!] = t.size[i] !== 0 ? 1 : 0;
    for (let s = 0; s < slots; s++) if (held[s] === 0) ptrs[s] = 0;
    freeAll(ptrs);
  }
  out[workloadName(slots)] = { ...medianFigure(runs), extra: { wasmMemoryBytes: tlsf.memory.buffer.byteLength, meanLive: t.meanLive } };
}
report(out);
