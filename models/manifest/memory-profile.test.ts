import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseManifest } from './load.js';

const shapes = JSON.parse(readFileSync(new URL('../shapes/manifest.json', import.meta.url), 'utf8')) as {
  batching: { maxBatch: number };
  memory: { declaredBytes: number; source: string };
};
const GiB = 2 ** 30;

function withTable(byMaxBatch: unknown[], declaredBytes = 2 * GiB): unknown {
  return {
    ...shapes,
    batching: { ...shapes.batching, maxBatch: 2 },
    memory: { declaredBytes, source: 'test', byMaxBatch, dependsOn: 'largest bucket, FP32, CUDA EP' },
  };
}

describe('memory.byMaxBatch', () => {
  it('is optional: manifests without it parse as before', () => {
    expect(parseManifest(shapes).memory.byMaxBatch).toBeUndefined();
  });

  it.each([
    {
      name: 'a table whose entry for the max batch is declaredBytes',
      table: [
        { maxBatch: 1, declaredBytes: GiB, source: 'measured' },
        { maxBatch: 2, declaredBytes: 2 * GiB, source: 'measured' },
      ],
      error: null,
    },
    {
      name: 'an entry for the max batch that disagrees with declaredBytes',
      table: [{ maxBatch: 2, declaredBytes: 3 * GiB, source: 'x' }],
      error: /must equal memory.declaredBytes/,
    },
    {
      name: 'a larger batch needing less memory',
      table: [
        { maxBatch: 1, declaredBytes: 3 * GiB, source: 'x' },
        { maxBatch: 2, declaredBytes: 2 * GiB, source: 'x' },
      ],
      error: /increasing maxBatch/,
    },
    {
      name: 'entries out of order',
      table: [
        { maxBatch: 2, declaredBytes: 2 * GiB, source: 'x' },
        { maxBatch: 1, declaredBytes: 2 * GiB, source: 'x' },
      ],
      error: /increasing maxBatch/,
    },
  ])('$name', ({ table, error }) => {
    if (error) expect(() => parseManifest(withTable(table))).toThrow(error);
    else expect(parseManifest(withTable(table)).memory.byMaxBatch).toHaveLength(2);
  });
});
