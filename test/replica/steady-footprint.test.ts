import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { ReplicaStats } from '../../replica/contract.js';
import { processRssBytes, startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { slowShapesModel } from '../helpers/slow-model.js';
import { copyWithOneBucket } from '../helpers/one-bucket.js';

/**
 * The footprint a replica reports after warm-up is what it holds for life: the scheduler packs GPUs by it.
 * A real replica process on the stand-in model with ~5 × 64 MiB of activations per frame (like a detector's):
 * after warm-up and after several requests its RSS stays at the reported footprint. With ONNX Runtime's
 * memory pattern on (its default), the second run allocates the planned block beside the arena's chunks and
 * the process grows by a whole run's activations (~+320 MiB here; Co-DETR on CPU: 9.1 → 16.1 GiB). One
 * bucket, as for Co-DETR's served graph: every request then repeats the warm-up's shape.
 */

const SCRATCH_MIB = 64;
const MiB = 2 ** 20;

let replica: ReplicaProcess | undefined;
const dir = mkdtempSync(path.join(os.tmpdir(), 'gpumux-steady-'));
afterAll(async () => {
  await replica?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The model folder with its manifest cut to one bucket. */
const oneBucket = (model: string): string => copyWithOneBucket(model, dir);

// generated (and calibrated in onnxruntime) before the test's own time starts
let generated: string;
beforeAll(async () => {
  generated = await slowShapesModel(20, { scratchMiB: SCRATCH_MIB });
});

describe('steady footprint (real replica process)', () => {
  it('holds after warm-up what it reported at warm-up, request after request', async () => {
    const model = oneBucket(generated);
    replica = await startReplica({ model, args: ['--max-batch', '1', '--threads', '1'] });
    const stats = (await (await fetch(`${replica.url}/v1/stats`)).json()) as ReplicaStats;
    expect(stats.footprint.method).toBe('rss');
    const footprint = stats.footprint.bytes;
    // the warm-up's activations are in it (the plain shapes replica is ~150 MiB)
    expect(footprint).toBeGreaterThan(4 * SCRATCH_MIB * MiB);

    const frame = await sharp({
      create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 30, b: 30 } },
    })
      .jpeg()
      .toBuffer();
    const after: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${replica.url}/v1/models/shapes-slow/detect`, {
        method: 'POST',
        body: frame,
        headers: { 'content-type': 'image/jpeg' },
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      after.push((await processRssBytes(replica.process.pid!))!);
    }
    // a little slack for the JS heap and decode buffers; a second planned block would add ~5 × 64 MiB
    for (const rss of after) expect(rss - footprint).toBeLessThan(2 * SCRATCH_MIB * MiB);
  });
});
