import { createServer } from 'node:http';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { chromium } from 'playwright-core';
const dist = 'dist/web';
const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
const server = createServer((req, res) => { let f = join(dist, req.url.split('?')[0]); if (existsSync(f) && statSync(f).isDirectory()) f = join(f, 'index.html'); if (!existsSync(f)) { res.writeHead(404).end(); return; } res.writeHead(200, { 'content-type': MIME[extname(f)] ?? 'application/octet-stream' }).end(readFileSync(f)); });
await new Promise(r => server.listen(0, '127.0.0.1', r));
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu'] });
for (const q of process.argv.slice(2)) {
const p = await b.newPage({ viewport: { width: 1440, height: 1200 } });
p.on('pageerror', e => console.log('pageerror', e.message));
await p.goto(`http://127.0.0.1:${server.address().port}/?${q}`);
await p.waitForFunction(`document.body.dataset.ready === 'true'`, undefined, { polling: 100 });
let t = Date.now();
while (await p.evaluate(() => !document.getElementById('btn-step').disabled)) { await p.evaluate(() => document.getElementById('btn-step').click()); }
console.log(q, 'all steps', Date.now() - t, 'ms; step', await p.evaluate(() => document.body.dataset.step));
await p.screenshot({ path: `/tmp/shot-${q.replace(/[^a-z0-9]/gi,'_')}.png`, fullPage: true });
await p.close();
}
await b.close(); server.close();
