import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawImage, drawPixels, type Rect } from '../helpers/images.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { binaryInferRequest, readBinaryInferResponse } from '../helpers/v2-binary.js';

/**
 * models/shapes-raw: raw DETR heads (pred_logits + cxcywh pred_boxes) and a float32 NCHW input normalised on
 * the host with mmdet's mean/std — the plain Co-DETR export contract — through a real replica process.
 */

const MEAN = [123.675, 116.28, 103.53];
const STD = [58.395, 57.12, 57.375];

let replica: ReplicaProcess;
beforeAll(async () => {
  replica = await startReplica({ model: 'models/shapes-raw' });
});
afterAll(async () => {
  if (replica) expect((await replica.stop()).code).toBe(0);
});

describe('models/shapes-raw (real replica)', () => {
  it('detects rectangles through sigmoid top-k decoding, boxes within 2 px', async () => {
    const rects: Rect[] = [
      { box: [100, 120, 300, 260], color: 'red' },
      { box: [700, 200, 1200, 700], color: 'blue' },
    ];
    const jpeg = await drawImage({ width: 1280, height: 720, rects });
    const res = await fetch(`${replica.url}/v1/models/shapes-raw/detect`, {
      method: 'POST',
      body: jpeg,
      headers: { 'content-type': 'image/jpeg' },
    });
    const body = (await res.json()) as {
      width: number;
      detections: { box: number[]; name: string; score: number }[];
    };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.detections.map((d) => d.name).sort()).toEqual(['blue', 'red']);
    for (const rect of rects) {
      const d = body.detections.find((x) => x.name === rect.color)!;
      d.box.forEach((v, i) => expect(Math.abs(v - rect.box[i]!)).toBeLessThanOrEqual(2));
      expect(d.score).toBeGreaterThan(0.9);
    }
  });

  it('infers from a binary FP32 NCHW tensor and returns the raw heads', async () => {
    const [h, w] = [480, 640];
    const px = drawPixels({ width: w, height: h, rects: [{ box: [64, 48, 320, 240], color: 'green' }] });
    const input = new Float32Array(3 * h * w);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < h * w; i++) input[c * h * w + i] = (px.data[i * 3 + c]! - MEAN[c]!) / STD[c]!;
    }
    const bytes = new Uint8Array(input.buffer);
    const request = binaryInferRequest(
      {
        inputs: [
          {
            name: 'images',
            datatype: 'FP32',
            shape: [1, 3, h, w],
            parameters: { binary_data_size: bytes.byteLength },
          },
        ],
        outputs: [{ name: 'pred_boxes', parameters: { binary_data: true } }, { name: 'pred_logits' }],
      },
      bytes,
    );
    const res = await fetch(`${replica.url}/v2/models/shapes-raw/infer`, request);
    expect(res.status).toBe(200);
    const { json, binary } = await readBinaryInferResponse<{
      outputs: {
        name: string;
        shape: number[];
        data?: number[];
        parameters?: { binary_data_size: number };
      }[];
    }>(res);
    const [boxesOut, logitsOut] = json.outputs;
    expect(boxesOut).toMatchObject({
      name: 'pred_boxes',
      shape: [1, 3, 4],
      parameters: { binary_data_size: 48 },
    });
    expect(logitsOut).toMatchObject({ name: 'pred_logits', shape: [1, 3, 3] });
    const boxes = new Float32Array(new Uint8Array(binary).buffer);
    // Query 1 is green: cxcywh normalised to the input: centre (192, 144), size 256×192.
    expect(boxes[4]).toBeCloseTo(192 / w, 4);
    expect(boxes[5]).toBeCloseTo(144 / h, 4);
    expect(boxes[6]).toBeCloseTo(256 / w, 4);
    expect(boxes[7]).toBeCloseTo(192 / h, 4);
    const logits = logitsOut!.data!;
    expect(logits[1 * 3 + 1]).toBeGreaterThan(5); // green query, green class: sigmoid ≈ 1
    expect(logits[0]).toBeLessThan(-5); // red query finds nothing
  });

  it('accepts ONNX spelling FLOAT32 as an alias of FP32 in JSON requests', async () => {
    const [h, w] = [640, 480]; // the portrait bucket
    const res = await fetch(`${replica.url}/v2/models/shapes-raw/infer`, {
      method: 'POST',
      body: JSON.stringify({
        inputs: [
          { name: 'images', datatype: 'FLOAT32', shape: [1, 3, h, w], data: new Array(3 * h * w).fill(-2) },
        ],
        outputs: [{ name: 'pred_logits' }],
      }),
    });
    const body = (await res.json()) as { outputs: { datatype: string; data: number[] }[] };
    expect(res.status, JSON.stringify(body).slice(0, 200)).toBe(200);
    expect(body.outputs[0]!.datatype).toBe('FP32');
    expect(Math.max(...body.outputs[0]!.data)).toBeLessThan(-5); // an all-dark frame: nothing found
  });

  it('refuses a UINT8 tensor for the float input', async () => {
    const res = await fetch(`${replica.url}/v2/models/shapes-raw/infer`, {
      method: 'POST',
      body: JSON.stringify({
        inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 3, 1, 1], data: [1, 2, 3] }],
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'INVALID_TENSOR' });
  });
});
