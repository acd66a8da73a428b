import { defineConfig } from 'vitest/config';

// Integration tests start real processes (replicas load ONNX Runtime, sharp): keep parallelism
// modest on a 2-core machine and give process start-up room.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
