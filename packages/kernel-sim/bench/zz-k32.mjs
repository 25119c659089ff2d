import { EventLog, Kernel32, Machine } from '../dist/index.js';
const MiB = 1 << 20;
const k = new Kernel32({ machine: new Machine({ memoryMap: [{ base: 0x10_0000, lengthBytes: 127 * MiB, kind: 'usable' }], cpuMode: 'protected' }), events: new EventLog({ capacity: 1000 }) }).boot();
for (let r = 0; r < 12; r++) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < 500; i++) k.processes.create().exit(0);
  const u = process.cpuUsage(t0);
  console.log(((u.user + u.system) / 500).toFixed(1), 'us per create+exit');
}
