import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawImage, rectAt, type Rect } from '../helpers/images.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';

/**
 * models/shapes-detr has exactly the Co-DETR export's I/O contract (models/codetr/manifest.json): a uint8
 * NHWC input at camera resolution that the graph enlarges itself (graphUpscale), and raw DETR heads decoded
 * by sigmoid top-k in TypeScript. Through a real replica process, this is Co-DETR's own serving path.
 */

let replica: ReplicaProcess;
beforeAll(async () => {
  replica = await startReplica({ model: 'models/shapes-detr' });
});
afterAll(async () => {
  if (replica) expect((await replica.stop()).code).toBe(0);
});

async function detect(image: Buffer, type: string) {
  const res = await fetch(`${replica.url}/v1/models/shapes-detr/detect`, {
    method: 'POST',
    body: image,
    headers: { 'content-type': type },
  });
  const body = (await res.json()) as {
    width: number;
    height: number;
    detections: { box: number[]; name: string; score: number }[];
  };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

describe('models/shapes-detr: the Co-DETR contract (real replica)', () => {
  it.each([
    { width: 640, height: 480, type: 'jpeg' as const },
    { width: 1280, height: 720, type: 'png' as const },
    { width: 480, height: 640, type: 'jpeg' as const },
  ])('finds rectangles in a $width×$height $type within 2 px', async ({ width, height, type }) => {
    const rects: Rect[] = [
      rectAt(width, height, [0.1, 0.2, 0.4, 0.5], 'red'),
      rectAt(width, height, [0.6, 0.3, 0.9, 0.9], 'green'),
    ];
    const body = await detect(await drawImage({ width, height, rects, format: type }), `image/${type}`);
    expect([body.width, body.height]).toEqual([width, height]);
    expect(body.detections.map((d) => d.name).sort()).toEqual(['green', 'red']);
    for (const rect of rects) {
      const d = body.detections.find((x) => x.name === rect.color)!;
      d.box.forEach((v, i) =>
        expect(Math.abs(v - rect.box[i]!), `${String(rect.color)} ${String(d.box)}`).toBeLessThanOrEqual(2),
      );
      expect(d.score).toBeGreaterThan(0.9);
    }
  });

  it('reports the host-side bucket as its v2 input shape (the graph enlarges it)', async () => {
    const meta = (await (await fetch(`${replica.url}/v2/models/shapes-detr`)).json()) as {
      inputs: { name: string; datatype: string }[];
      outputs: { name: string }[];
    };
    expect(meta.inputs[0]).toMatchObject({ name: 'images', datatype: 'UINT8' });
    expect(meta.outputs.map((o) => o.name).sort()).toEqual(['pred_boxes', 'pred_logits']);
  });
});
