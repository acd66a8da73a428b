import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawPixels, type Rect } from '../helpers/images.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { binaryInferRequest, readBinaryInferResponse } from '../helpers/v2-binary.js';

/**
 * KServe v2 / Open Inference Protocol against a real replica on models/shapes: metadata, health, and infer
 * with JSON tensors and with the binary tensor extension (requests built by hand from the spec).
 */

interface V2Output {
  name: string;
  datatype: string;
  shape: number[];
  data?: number[];
  parameters?: { binary_data_size?: number };
}
interface V2Response {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: V2Output[];
}

let replica: ReplicaProcess;
beforeAll(async () => {
  replica = await startReplica({ model: 'models/shapes' });
});
afterAll(async () => {
  if (replica) expect((await replica.stop()).code).toBe(0);
});

const inferUrl = (path = '/v2/models/shapes') => `${replica.url}${path}/infer`;

/** Two landscape frames for the [480, 640] bucket, each with its own rectangles. */
const frames: Rect[][] = [
  [
    { box: [100, 120, 300, 260], color: 'red' },
    { box: [400, 300, 620, 470], color: 'blue' },
  ],
  [{ box: [10, 20, 110, 220], color: 'green' }],
];
function batchPixels(): Uint8Array {
  const out = new Uint8Array(frames.length * 480 * 640 * 3);
  frames.forEach((rects, i) =>
    out.set(drawPixels({ width: 640, height: 480, rects }).data, i * 480 * 640 * 3),
  );
  return out;
}

/** boxes [N,3,4], scores [N,3] of the shapes model (one slot per colour: red, green, blue). */
function expectFramesFound(boxes: ArrayLike<number>, scores: ArrayLike<number>): void {
  const colours = ['red', 'green', 'blue'];
  frames.forEach((rects, n) => {
    colours.forEach((colour, k) => {
      const rect = rects.find((r) => r.color === colour);
      const score = scores[n * 3 + k]!;
      if (!rect) {
        expect(score, `frame ${n} ${colour}`).toBe(0);
        return;
      }
      expect(score, `frame ${n} ${colour}`).toBeCloseTo(1, 5);
      const box = Array.from({ length: 4 }, (_, j) => boxes[(n * 3 + k) * 4 + j]!);
      expect(box).toEqual([...rect.box]); // model input pixels: no resize, exact
    });
  });
}

describe('KServe v2 (real replica)', () => {
  it('serves server metadata with the binary tensor extension, health and model metadata', async () => {
    const server = (await (await fetch(`${replica.url}/v2`)).json()) as {
      name: string;
      extensions: string[];
    };
    expect(server.name).toBe('gpumux');
    expect(server.extensions).toContain('binary_tensor_data');
    expect((await fetch(`${replica.url}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${replica.url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${replica.url}/v2/models/shapes/ready`)).status).toBe(200);
    expect((await fetch(`${replica.url}/v2/models/shapes/versions/1/ready`)).status).toBe(200);
    const meta = await (await fetch(`${replica.url}/v2/models/shapes`)).json();
    expect(meta).toMatchObject({
      name: 'shapes',
      versions: ['1'],
      inputs: [{ name: 'images', datatype: 'UINT8' }],
      outputs: expect.arrayContaining([expect.objectContaining({ name: 'boxes', datatype: 'FP32' })]),
    });
  });

  it('infers from JSON tensors (flat data) and matches every row to its frame', async () => {
    const res = await fetch(inferUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'json-1',
        inputs: [
          { name: 'images', datatype: 'UINT8', shape: [2, 480, 640, 3], data: Array.from(batchPixels()) },
        ],
      }),
    });
    const body = (await res.json()) as V2Response;
    expect(res.status, JSON.stringify(body).slice(0, 300)).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(body).toMatchObject({ model_name: 'shapes', model_version: '1', id: 'json-1' });
    const out = Object.fromEntries(body.outputs.map((o) => [o.name, o]));
    expect(out.boxes!.shape).toEqual([2, 3, 4]);
    expect(out.labels).toMatchObject({ datatype: 'INT64', shape: [2, 3], data: [0, 1, 2, 0, 1, 2] });
    expectFramesFound(out.boxes!.data!, out.scores!.data!);
  });

  it('infers from a binary tensor and returns binary outputs (Inference-Header-Content-Length)', async () => {
    const pixels = batchPixels();
    const request = binaryInferRequest(
      {
        id: 'bin-1',
        inputs: [
          {
            name: 'images',
            datatype: 'UINT8',
            shape: [2, 480, 640, 3],
            parameters: { binary_data_size: pixels.byteLength },
          },
        ],
        outputs: [
          { name: 'boxes', parameters: { binary_data: true } },
          { name: 'scores', parameters: { binary_data: true } },
          { name: 'labels', parameters: { binary_data: false } },
        ],
      },
      pixels,
    );
    const res = await fetch(inferUrl('/v2/models/shapes/versions/1'), request);
    expect(res.status).toBe(200);
    const { json: body, jsonLength, raw, binary } = await readBinaryInferResponse<V2Response>(res);
    // The header's length covers the JSON document exactly: it ends there, the binary outputs follow.
    expect(raw.subarray(0, jsonLength).toString('utf8')).toBe(JSON.stringify(body));
    expect(body.id).toBe('bin-1');
    const [boxes, scores, labels] = body.outputs;
    expect(boxes).toMatchObject({
      name: 'boxes',
      datatype: 'FP32', // the protocol's name, not ONNX's FLOAT32
      shape: [2, 3, 4],
      parameters: { binary_data_size: 2 * 3 * 4 * 4 },
    });
    expect(boxes!.data).toBeUndefined();
    expect(scores).toMatchObject({ name: 'scores', parameters: { binary_data_size: 2 * 3 * 4 } });
    expect(labels).toMatchObject({ name: 'labels', data: [0, 1, 2, 0, 1, 2] });
    // Binary outputs follow the JSON in the order they appear in it.
    expect(binary.byteLength).toBe(96 + 24);
    const f32 = (offset: number, count: number) => {
      const copy = new Uint8Array(binary.subarray(offset, offset + count * 4));
      return new Float32Array(copy.buffer);
    };
    expectFramesFound(f32(0, 24), f32(96, 6));
  });

  it('returns all outputs binary with binary_data_output and accepts nested JSON data', async () => {
    const px = drawPixels({ width: 480, height: 640, rects: [{ box: [50, 60, 250, 300], color: 'red' }] }); // portrait bucket [640, 480]
    const nested: number[][][][] = [[]];
    for (let y = 0; y < 640; y++) {
      const row: number[][] = [];
      for (let x = 0; x < 480; x++)
        row.push(Array.from(px.data.subarray((y * 480 + x) * 3, (y * 480 + x) * 3 + 3)));
      nested[0]!.push(row);
    }
    const res = await fetch(inferUrl(), {
      method: 'POST',
      body: JSON.stringify({
        parameters: { binary_data_output: true },
        inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 640, 480, 3], data: nested }],
        outputs: [{ name: 'boxes' }],
      }),
    });
    expect(res.status).toBe(200);
    const jsonLength = Number(res.headers.get('inference-header-content-length'));
    const raw = Buffer.from(await res.arrayBuffer());
    const body = JSON.parse(raw.subarray(0, jsonLength).toString()) as V2Response;
    expect(body.outputs).toEqual([
      { name: 'boxes', datatype: 'FP32', shape: [1, 3, 4], parameters: { binary_data_size: 48 } },
    ]);
    const boxes = new Float32Array(new Uint8Array(raw.subarray(jsonLength)).buffer);
    expect(Array.from(boxes.subarray(0, 4))).toEqual([50, 60, 250, 300]);
  });

  const tensor = (over: Record<string, unknown>) =>
    JSON.stringify({
      inputs: [
        { name: 'images', datatype: 'UINT8', shape: [1, 2, 2, 3], data: new Array(12).fill(0), ...over },
      ],
    });
  const bad: [string, string, () => RequestInit, number, string][] = [
    ['a shape that is no bucket', '/v2/models/shapes', () => ({ body: tensor({}) }), 400, 'INVALID_TENSOR'],
    [
      'a batch over max batch',
      '/v2/models/shapes',
      () => {
        const n = 9;
        const header = Buffer.from(
          JSON.stringify({
            inputs: [
              {
                name: 'images',
                datatype: 'UINT8',
                shape: [n, 480, 640, 3],
                parameters: { binary_data_size: n * 480 * 640 * 3 },
              },
            ],
          }),
        );
        return {
          body: Buffer.concat([header, Buffer.alloc(n * 480 * 640 * 3)]),
          headers: { 'inference-header-content-length': String(header.byteLength) },
        };
      },
      400,
      'INVALID_TENSOR',
    ],
    [
      'a wrong tensor name',
      '/v2/models/shapes',
      () => ({ body: tensor({ name: 'image' }) }),
      400,
      'INVALID_TENSOR',
    ],
    [
      'a wrong datatype',
      '/v2/models/shapes',
      () => ({ body: tensor({ datatype: 'FP32' }) }),
      400,
      'INVALID_TENSOR',
    ],
    [
      'a wrong rank',
      '/v2/models/shapes',
      () => ({ body: tensor({ shape: [1, 2, 6], data: new Array(12).fill(0) }) }),
      400,
      'INVALID_TENSOR',
    ],
    ['malformed JSON', '/v2/models/shapes', () => ({ body: '{"inputs": [{"name": ' }), 400, 'INVALID_JSON'],
    ['an unknown model', '/v2/models/cats', () => ({ body: tensor({}) }), 404, 'MODEL_NOT_FOUND'],
    [
      'an unknown version',
      '/v2/models/shapes/versions/2',
      () => ({ body: tensor({}) }),
      404,
      'VERSION_NOT_FOUND',
    ],
  ];
  for (const [what, path, init, status, code] of bad) {
    it(`answers ${what} with ${status} ${code} in the protocol's error shape`, async () => {
      const res = await fetch(inferUrl(path), { method: 'POST', ...init() });
      const body = (await res.json()) as { error: unknown; code: unknown };
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(typeof body.error).toBe('string');
      expect(body.code).toBe(code);
    });
  }

  it('answers metadata of unknown models with 404 in the protocol shape', async () => {
    const res = await fetch(`${replica.url}/v2/models/cats/ready`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: expect.any(String), code: 'MODEL_NOT_FOUND' });
  });
});
