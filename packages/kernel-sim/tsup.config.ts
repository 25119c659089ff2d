import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  // Declarations must reference the building blocks' published types, not inline their
  // sources: resolve without the `@kmem/source` condition here.
  dts: { compilerOptions: { customConditions: [] } },
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
});
