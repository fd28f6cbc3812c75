import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // forks: each test file in its own process, so a native crash fails one file instead of the run, and the
    // addon loads in a clean realm (NOTES.md: avoid vmThreads for native errors).
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
