import { defineConfig } from 'vitest/config';

// One run, every package a project: `pnpm test` prints one summary for the whole repo.
// Run one package alone with `pnpm vitest run --project @kmem/pmm-bitmap`.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tests'],
  },
});
