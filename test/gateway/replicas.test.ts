import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawImage, drawPixels } from '../helpers/images.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { gatewayFor } from './gateway-harness.js';

/**
 * Real replica processes (models/shapes, onnxruntime CPU) on port 0 behind a real gateway:
 * r0 and r1 on virtual GPU node-a/0, r2 on node-a/1, and r-full on node-b/0 whose GPU is nearly full.
 */
let replicas: Record<string, ReplicaProcess> = {};
let gateway: Awaited<ReturnType<typeof gatewayFor>>;

const specs: Record<string, string[]> = {
  r0: ['--virtual-gpu', 'node-a:0:24GiB'],
  r1: ['--virtual-gpu', 'node-a:0:24GiB'],
  r2: ['--virtual-gpu', 'node-a:1:24GiB'],
  'r-full': ['--virtual-gpu', 'node-b:0:24GiB', '--virtual-gpu-used', '23.9GiB'],
};

beforeAll(async () => {
  const started = await Promise.all(
    Object.entries(specs).map(
      async ([id, args]) => [id, await startReplica({ args: [...args, '--replica-id', id] })] as const,
    ),
  );
  replicas = Object.fromEntries(started);
  gateway = await gatewayFor(
    started.map(([id, r]) => ({ id, url: r.url })),
    { config: { timeout: '20s' } },
  );
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all(Object.values(replicas).map((r) => r.stop('SIGKILL')));
});

async function framesTotal(id: string): Promise<number> {
  const stats = (await (await fetch(`${replicas[id]!.url}/v1/stats`)).json()) as { framesTotal: number };
  return stats.framesTotal;
}

interface Detection {
  box: [number, number, number, number];
  name: string;
  score: number;
}

function expectBox(actual: readonly number[], expected: readonly number[], tolerance = 3): void {
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(tolerance));
}

describe('gateway over real replicas (models/shapes)', () => {
  it('detect: a red rectangle comes back where it was drawn', async () => {
    const image = await drawImage({
      width: 800,
      height: 600,
      rects: [{ box: [100, 120, 300, 260], color: 'red' }],
      format: 'jpeg',
    });
    const res = await fetch(`${gateway.url}/v1/models/shapes/detect`, {
      method: 'POST',
      body: image,
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { width: number; height: number; detections: Detection[] };
    expect(body.width).toBe(800);
    expect(body.detections).toHaveLength(1);
    expect(body.detections[0]!.name).toBe('red');
    expectBox(body.detections[0]!.box, [100, 120, 300, 260]);
  });

  it('v2 infer with the binary tensor extension passes through untouched', async () => {
    const { data } = drawPixels({
      width: 640,
      height: 480,
      rects: [{ box: [40, 50, 200, 150], color: 'blue' }],
    });
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: 'images',
            shape: [1, 480, 640, 3],
            datatype: 'UINT8',
            parameters: { binary_data_size: data.byteLength },
          },
        ],
        parameters: { binary_data_output: false },
      }),
    );
    const res = await fetch(`${gateway.url}/v2/models/shapes/infer`, {
      method: 'POST',
      body: Buffer.concat([header, Buffer.from(data)]),
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.length),
      },
    });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { outputs: { name: string; shape: number[]; data: number[] }[] };
    const boxes = out.outputs.find((o) => o.name === 'boxes')!;
    const scores = out.outputs.find((o) => o.name === 'scores')!;
    expect(boxes.shape).toEqual([1, 3, 4]);
    // Class 2 (blue) is the one that fires; its box is in input pixels.
    const best = scores.data.indexOf(Math.max(...scores.data));
    expect(best).toBe(2);
    expectBox(boxes.data.slice(best * 4, best * 4 + 4), [40, 50, 200, 150]);
  });

  it('a multi-frame detect is split across replicas and merged back in order; the full GPU gets nothing', async () => {
    const before = await Promise.all(Object.keys(specs).map(framesTotal));
    const rects: [number, number, number, number][] = [
      [10, 10, 110, 90],
      [200, 100, 400, 300],
      [50, 300, 250, 420],
      [300, 20, 500, 180],
      [120, 200, 220, 260],
      [400, 350, 600, 450],
    ];
    const form = new FormData();
    for (const box of rects) {
      const png = await drawImage({
        width: 640,
        height: 480,
        rects: [{ box, color: 'green' }],
        format: 'png',
      });
      form.append('image', new Blob([png]), 'frame.png');
    }
    const res = await fetch(`${gateway.url}/v1/models/shapes/detect`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: { detections: Detection[] }[] };
    expect(results).toHaveLength(rects.length);
    results.forEach((r, i) => {
      expect(r.detections[0]!.name).toBe('green');
      expectBox(r.detections[0]!.box, rects[i]!);
    });
    const after = await Promise.all(Object.keys(specs).map(framesTotal));
    const served = after.map((n, i) => n - before[i]!);
    expect(served.reduce((a, b) => a + b, 0)).toBe(rects.length);
    expect(served.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect(served[3]).toBe(0); // r-full
    const view = await gateway.clusterView();
    expect(view.gpus.find((g) => g.id === 'virtual-node-b-0')).toMatchObject({ critical: true });
    expect(view.totals.readyReplicas).toBe(4);
  });

  it('kill -9 of one of three replicas under steady load: no client request fails', async () => {
    const image = await drawImage({
      width: 640,
      height: 480,
      rects: [{ box: [100, 100, 300, 200], color: 'red' }],
      format: 'jpeg',
    });
    const retries = async () => {
      const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
      let n = 0;
      for (const m of text.matchAll(/^gpumux_gateway_retries_total\{model="shapes",[^}]*\} (\d+)/gm))
        n += Number(m[1]);
      return n;
    };
    const retriesBefore = await retries();
    const statuses: number[] = [];
    const until = Date.now() + 4000;
    let killed = false;
    let r2BeforeKill = 0;
    const worker = async () => {
      while (Date.now() < until) {
        const res = await fetch(`${gateway.url}/v1/models/shapes/detect`, {
          method: 'POST',
          body: image,
          headers: { 'content-type': 'image/jpeg' },
        });
        statuses.push(res.status);
        await res.arrayBuffer();
        if (!killed && statuses.length >= 20) {
          killed = true;
          r2BeforeKill = await framesTotal('r2');
          replicas.r2!.process.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    expect(killed).toBe(true);
    expect(r2BeforeKill).toBeGreaterThan(0); // it was taking its share of the load when it died
    expect(statuses.length).toBeGreaterThan(40);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // No failure reached a client because the requests the dead replica dropped or refused were retried.
    expect((await retries()) - retriesBefore).toBeGreaterThan(0);
    const view = await gateway.clusterView();
    const r2 = view.gpus.flatMap((g) => g.replicas).find((r) => r.id === 'r2');
    expect(r2?.state).toBe('unreachable');
  });
});
