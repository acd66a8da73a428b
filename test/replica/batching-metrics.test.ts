import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaStats } from '../../replica/contract.js';
import { drawImage, type Rect } from '../helpers/images.js';
import { onlyFamilies, promtoolCheck, sampleValue } from '../helpers/prometheus.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';

/**
 * Dynamic batching seen from outside (real replica processes): concurrent requests form batches larger than 1
 * (gpumux_batch_size) and every result goes back to its own request; `--max-batch 1` turns it off. Also
 * /metrics passes promtool and /v1/stats parses as ReplicaStats, on a replica standing for a virtual GPU.
 */

const CONCURRENCY = 24;

/** Request i draws its rectangle at a position no other request uses, so a mixed-up result shows. */
function rectFor(i: number): Rect {
  const x = 20 + (i % 6) * 100;
  const y = 20 + Math.floor(i / 6) * 110;
  return {
    box: [x, y, x + 60 + (i % 5) * 5, y + 50 + (i % 3) * 10],
    color: (['red', 'green', 'blue'] as const)[i % 3]!,
  };
}

async function detectConcurrently(
  url: string,
  images: Buffer[],
): Promise<{ box: number[]; name: string; batchSize: number }[]> {
  return Promise.all(
    images.map(async (image) => {
      const res = await fetch(`${url}/v1/models/shapes/detect`, {
        method: 'POST',
        body: image,
        headers: { 'content-type': 'image/jpeg' },
      });
      const body = (await res.json()) as {
        detections: { box: number[]; name: string }[];
        timings: { batchSize: number };
      };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.detections).toHaveLength(1);
      return { ...body.detections[0]!, batchSize: body.timings.batchSize };
    }),
  );
}

let images: Buffer[];
let batched: ReplicaProcess;
beforeAll(async () => {
  images = await Promise.all(
    Array.from({ length: CONCURRENCY }, (_, i) =>
      drawImage({ width: 640, height: 480, rects: [rectFor(i)] }),
    ),
  );
  batched = await startReplica({
    model: 'models/shapes',
    args: ['--virtual-gpu', 'node-a:1:24GiB', '--virtual-gpu-used', '4GiB', '--replica-id', 'shapes-a'],
  });
});
afterAll(async () => {
  if (batched) expect((await batched.stop()).code).toBe(0);
});

describe('dynamic batching (real replica)', () => {
  it('forms batches larger than 1 under concurrency and matches every result to its request', async () => {
    // Whether frames overlap depends on scheduling on a shared 2-core machine: up to five bursts, every
    // result checked each time, until one burst has formed a batch (a replica that never batches fails).
    let results: Awaited<ReturnType<typeof detectConcurrently>> = [];
    for (let round = 0; round < 5; round++) {
      results = await detectConcurrently(batched.url, images);
      results.forEach((r, i) => {
        const rect = rectFor(i);
        expect(r.name).toBe(rect.color);
        r.box.forEach((v, k) => expect(Math.abs(v - rect.box[k]!), `request ${i}`).toBeLessThanOrEqual(2));
      });
      if (Math.max(...results.map((r) => r.batchSize)) > 1) break;
    }
    const text = await (await fetch(`${batched.url}/metrics`)).text();
    const batches = sampleValue(text, 'gpumux_batch_size_count', { model: 'shapes' });
    const frames = sampleValue(text, 'gpumux_batch_size_sum', { model: 'shapes' });
    const singles = sampleValue(text, 'gpumux_batch_size_bucket', { model: 'shapes', le: '1' });
    expect(frames).toBeGreaterThanOrEqual(CONCURRENCY); // warm-up batches count too
    expect(batches - singles, 'batches of more than one frame').toBeGreaterThan(0);
    expect(Math.max(...results.map((r) => r.batchSize))).toBeGreaterThan(1);
    expect(Math.max(...results.map((r) => r.batchSize))).toBeLessThanOrEqual(8);
  });

  it('serves /metrics that pass promtool, with the virtual GPU marked', async () => {
    const text = await (await fetch(`${batched.url}/metrics`)).text();
    for (const name of [
      'gpumux_requests_total',
      'gpumux_request_duration_seconds_bucket',
      'gpumux_inference_duration_seconds_bucket',
      'gpumux_batch_size_bucket',
      'gpumux_preprocess_duration_seconds_bucket',
      'gpumux_queue_depth',
      'gpumux_in_flight',
      'gpumux_replica_footprint_bytes',
      'gpumux_replica_ready',
      'process_resident_memory_bytes',
    ]) {
      expect(text, name).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    }
    expect(sampleValue(text, 'gpumux_replica_ready')).toBe(1);
    expect(
      sampleValue(text, 'gpumux_replica_footprint_bytes', {
        virtual: 'true',
        device: 'virtual:node-a:1',
        method: 'configured',
      }),
    ).toBe(
      2 * 1024 ** 3, // the manifest's declared bytes
    );
    expect(
      sampleValue(text, 'gpumux_requests_total', { endpoint: 'detect', code: '200' }),
    ).toBeGreaterThanOrEqual(CONCURRENCY);
    expect(promtoolCheck(onlyFamilies(text))).toEqual({ output: '', status: 0 });
  });

  it('serves /v1/stats as ReplicaStats for the virtual GPU', async () => {
    const stats = ReplicaStats.parse(await (await fetch(`${batched.url}/v1/stats`)).json());
    expect(stats).toMatchObject({
      replicaId: 'shapes-a',
      model: 'shapes',
      version: '1',
      state: 'ready',
      ready: true,
      maxBatch: 8,
    });
    expect(stats.device).toMatchObject({
      kind: 'virtual',
      node: 'node-a',
      index: 1,
      uuid: 'virtual-node-a-1',
      virtual: true,
      memoryTotalBytes: 24 * 1024 ** 3,
    });
    expect(stats.device.memoryUsedBytes).toBe(4 * 1024 ** 3 + stats.footprint.bytes);
    expect(stats.framesTotal).toBeGreaterThanOrEqual(CONCURRENCY);
  });

  it('runs every frame alone with --max-batch 1', async () => {
    const single = await startReplica({ model: 'models/shapes', args: ['--max-batch', '1'] });
    try {
      const results = await detectConcurrently(single.url, images.slice(0, 12));
      expect(results.every((r) => r.batchSize === 1)).toBe(true);
      results.forEach((r, i) => expect(r.name).toBe(rectFor(i).color));
      const text = await (await fetch(`${single.url}/metrics`)).text();
      expect(sampleValue(text, 'gpumux_batch_size_count')).toBe(
        sampleValue(text, 'gpumux_batch_size_bucket', { le: '1' }),
      );
      expect(ReplicaStats.parse(await (await fetch(`${single.url}/v1/stats`)).json()).maxBatch).toBe(1);
    } finally {
      expect((await single.stop()).code).toBe(0);
    }
  });
});
