import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from './create-engine.js';

/**
 * Before a replica has measured itself it reports the footprint its manifest declares for the max batch it
 * runs with (memory.byMaxBatch), not memory.declaredBytes: a replica warms up at its max batch and keeps that
 * peak for life. No session is loaded here; stats before start() are enough.
 */

const GiB = 2 ** 30;
const dir = mkdtempSync(path.join(os.tmpdir(), 'gpumux-declared-'));
const shapes = JSON.parse(readFileSync(path.resolve('models/shapes/manifest.json'), 'utf8')) as Record<
  string,
  unknown
>;
writeFileSync(
  path.join(dir, 'manifest.json'),
  JSON.stringify({
    ...shapes,
    onnx: { file: 'absent.onnx' },
    batching: { maxBatch: 2, maxQueue: 16 },
    memory: {
      declaredBytes: 3 * GiB,
      source: 'test',
      byMaxBatch: [
        { maxBatch: 1, declaredBytes: 2 * GiB, source: 'test' },
        { maxBatch: 2, declaredBytes: 3 * GiB, source: 'test' },
      ],
    },
  }),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const virtualGpu = { node: 'n', index: 0, capacityBytes: 24 * GiB, usedByOthersBytes: 0 };
const footprintOf = (options: { maxBatch?: number; footprintBytes?: number }) => {
  const engine = createEngine({
    modelDir: dir,
    device: 'cpu',
    replicaId: 'r',
    node: 'n',
    virtualGpu: {
      ...virtualGpu,
      ...(options.footprintBytes !== undefined ? { footprintBytes: options.footprintBytes } : {}),
    },
    ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
  });
  const s = engine.stats();
  return { bytes: s.footprint.bytes, maxBatch: s.maxBatch };
};

describe('declared footprint per max batch (memory.byMaxBatch)', () => {
  it("the manifest's max batch declares its own entry", () => {
    expect(footprintOf({})).toEqual({ bytes: 3 * GiB, maxBatch: 2 });
  });

  it('a replica started with --max-batch declares the entry for that max batch', () => {
    expect(footprintOf({ maxBatch: 1 })).toEqual({ bytes: 2 * GiB, maxBatch: 1 });
  });

  it('a configured --virtual-footprint still wins', () => {
    expect(footprintOf({ maxBatch: 1, footprintBytes: 5 * GiB }).bytes).toBe(5 * GiB);
  });
});
