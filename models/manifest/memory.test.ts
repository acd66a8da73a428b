import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseManifest } from './load.js';
import { declaredByMaxBatch, declaredFootprintAt } from './memory.js';

const GiB = 2 ** 30;
const codetr = parseManifest(
  JSON.parse(readFileSync(new URL('../codetr/manifest.json', import.meta.url), 'utf8')),
);
const shapes = parseManifest(
  JSON.parse(readFileSync(new URL('../shapes/manifest.json', import.meta.url), 'utf8')),
);

const table = (entries: [number, number][], maxBatch = 1) => ({
  batching: { maxBatch, maxQueue: 8 },
  memory: {
    declaredBytes: entries.find(([b]) => b === maxBatch)?.[1] ?? entries[0]![1],
    source: 'test',
    byMaxBatch: entries.map(([b, bytes]) => ({ maxBatch: b, declaredBytes: bytes, source: 't' })),
  },
});

const MiB = 2 ** 20;

describe('declaredFootprintAt', () => {
  it("Co-DETR: the manifest's max batch is the batch-1 entry, max batch 2 the batch-2 entry", () => {
    expect(declaredFootprintAt(codetr)).toMatchObject({ bytes: 10834 * MiB, maxBatch: 1, exact: true });
    expect(declaredFootprintAt(codetr, 2)).toMatchObject({
      bytes: 20540 * MiB,
      maxBatch: 2,
      exact: true,
      source: 'memory.byMaxBatch[2]',
    });
  });

  it('between entries: the next larger entry (an upper bound)', () => {
    expect(
      declaredFootprintAt(
        table([
          [1, GiB],
          [4, 4 * GiB],
        ]),
        2,
      ),
    ).toMatchObject({ bytes: 4 * GiB, exact: false });
  });

  it('past the last entry: a straight line through the last two', () => {
    expect(declaredFootprintAt(codetr, 4).bytes).toBe(20540 * MiB + 2 * (20540 - 10834) * MiB);
    expect(declaredFootprintAt(table([[1, 3 * GiB]]), 2)).toMatchObject({ bytes: 3 * GiB, exact: false });
  });

  it('without a table: memory.declaredBytes, exact only for batching.maxBatch', () => {
    expect(declaredFootprintAt(shapes)).toMatchObject({ bytes: 2 * GiB, maxBatch: 8, exact: true });
    expect(declaredFootprintAt(shapes, 2)).toMatchObject({ bytes: 2 * GiB, exact: false });
  });
});

describe('declaredByMaxBatch', () => {
  it('a manifest without a table has one entry, at its max batch', () => {
    expect(declaredByMaxBatch({ declaredBytes: 5 }, 2)).toEqual([{ maxBatch: 2, footprintBytes: 5 }]);
  });
});
