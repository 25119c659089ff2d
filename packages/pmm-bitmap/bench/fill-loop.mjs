// The 64 GiB fill alone in the plainest loop, for one allocation call (README "Benchmarks": what
// the `number | null` result of allocFrame costs). Plain JavaScript against a built module:
//   node bench/fill-loop.mjs [module] frame|pfn     (module: default ../dist/index.js; any build)
//   node bench/fill-loop.mjs @thi.ng/bitfield        (the peer: firstZero(hint) + setAt)
// Five fills per process; prints frames per CPU-second (process.cpuUsage), sorted, and the median.
const [modArg = '../dist/index.js', api = 'frame'] = process.argv.slice(2);
const N = 16_777_216;
const mod = await import(modArg.startsWith('.') ? new URL(modArg, import.meta.url).href : modArg);

function fillFrame(pmm) {
  let n = 0;
  for (;;) {
    const pa = pmm.allocFrame();
    if (pa === null || pa < 0) break; // `< 0`: a build whose allocFrame never returns null
    n++;
  }
  return n;
}
function fillPfn(pmm) {
  let n = 0;
  while (pmm.allocPfn() >= 0) n++;
  return n;
}
function fillThing(bits) {
  let n = 0;
  let hint = 0;
  for (;;) {
    const f = bits.firstZero(hint);
    if (f < 0) break;
    bits.setAt(f);
    hint = f;
    n++;
  }
  return n;
}

const rates = [];
for (let r = 0; r < 5; r++) {
  let fill;
  if (mod.BitField !== undefined) {
    const bits = new mod.BitField(N);
    bits.setAt(0);
    fill = () => fillThing(bits);
  } else {
    const pmm = new mod.BitmapFrameAllocator(N);
    fill = () => (api === 'pfn' ? fillPfn(pmm) : fillFrame(pmm));
  }
  const c0 = process.cpuUsage();
  const n = fill();
  const c = process.cpuUsage(c0);
  if (n !== N - 1) throw new Error(`fill got ${n} frames`);
  rates.push(n / ((c.user + c.system) / 1e6) / 1e6);
}
rates.sort((a, b) => a - b);
console.log(`${modArg} ${mod.BitField !== undefined ? 'firstZero+setAt' : api}: ${rates.map((x) => x.toFixed(0)).join(' ')} M frames/CPU-s, median ${rates[2].toFixed(0)}`);
