// Direct loops for fast-bitfield (the same churn as workloads.ts), used for the README when the full
// harness run of fast-bitfield did not finish in time: node --import tsx bench/fast-bitfield-churn.ts
import bitfield from 'fast-bitfield';
const N = 1 << 24;
let seed = 0x2545f491; const rand = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; };
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
for (const frac of [0.95, 0.9999]) {
  const bits = bitfield(); bits.set(N, true); const ite = bits.iterator();
  const freed = new Uint8Array(N); freed[0] = 1;
  const K = Math.round(N * (1 - frac));
  for (let k = 0; k < K;) { const f = rand() % N; if (!freed[f]) { freed[f] = 1; bits.set(f, true); k++; } }
  const pool = new Int32Array(N - 1 - K); for (let f = 1, i = 0; f < N; f++) if (!freed[f]) pool[i++] = f;
  const len = pool.length;
  const batch = () => { for (let k = 0; k < 16384; k++) { const i = rand() % len; bits.set(pool[i]!, true); const g = ite.seek(0).next(true); bits.set(g, false); pool[i] = g; } };
  const w0 = cpu(); while (cpu() - w0 < 250) batch();
  const c0 = cpu(); const t0 = performance.now(); let ops = 0; while (cpu() - c0 < 1000) { batch(); ops += 16384; }
  console.log(frac, 'cpu', (ops / (cpu() - c0) * 1000 / 1e6).toFixed(3), 'M/s wall', (ops / (performance.now() - t0) * 1000 / 1e6).toFixed(3));
}
