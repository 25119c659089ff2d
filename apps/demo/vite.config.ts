// The web visualizer: web/ is the Vite root; the library packages are bundled from their
// TypeScript sources (the '@kmem/source' export condition), so no package build is needed first.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const appDir = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: join(appDir, 'web'),
  base: './',
  resolve: { conditions: ['@kmem/source', 'module', 'browser', 'development|production'] },
  // The ELF fixtures have no file extension: tell Vite they are assets (the page imports one ?inline).
  assetsInclude: [/fixtures\/(i386-)?hello-static(-pie)?$/],
  build: { outDir: join(appDir, 'dist', 'web'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1024 },
  server: { fs: { allow: [join(appDir, '..', '..')] } },
});
