import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// One run, every package a project: `pnpm test` prints one summary for the whole repo.
// Run one package alone with `pnpm vitest run --project @kmem/pmm-bitmap`.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tests'],
    // vitest's default for `run` is one worker fewer than the cores: on a 2-core machine that is a
    // single worker, every test file in series while a core idles. The files spend their time in
    // the workers (the main process only transforms sources), so use every core.
    maxWorkers: availableParallelism(),
  },
});
