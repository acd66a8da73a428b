import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaStats } from '../contract.js';
import { drawImage, drawPixels, hugePng, type Rect } from '../../test/helpers/images.js';
import { createEngine } from './create-engine.js';
import type { Engine, EngineOptions, RawTensor } from './types.js';

const GiB = 1024 ** 3;

/** The shapes model on one CPU thread; each test names its replica and adds what it exercises. */
function shapesOnCpu(options: Partial<EngineOptions> & Pick<EngineOptions, 'replicaId'>): Engine {
  return createEngine({ modelDir: 'models/shapes', device: 'cpu', node: 'local', threads: 1, ...options });
}

interface Case {
  name: string;
  width: number;
  height: number;
  rects: Rect[];
  format?: 'jpeg' | 'png' | 'webp';
  orientation?: 6;
}

const CASES: Case[] = [
  {
    name: '640×480 JPEG, red',
    width: 640,
    height: 480,
    rects: [{ box: [100, 120, 300, 260], color: 'red' }],
  },
  {
    name: '1280×720 PNG, three colours',
    width: 1280,
    height: 720,
    format: 'png',
    rects: [
      { box: [40, 60, 400, 300], color: 'red' },
      { box: [600, 100, 900, 500], color: 'green' },
      { box: [1000, 400, 1240, 700], color: 'blue' },
    ],
  },
  {
    name: 'portrait 720×1280 JPEG',
    width: 720,
    height: 1280,
    rects: [{ box: [100, 800, 500, 1200], color: 'blue' }],
  },
  {
    name: 'square 1000×1000 WebP',
    width: 1000,
    height: 1000,
    format: 'webp',
    rects: [{ box: [250, 250, 750, 600], color: 'green' }],
  },
  {
    name: 'tiny 200×120 JPEG (upscaled)',
    width: 200,
    height: 120,
    rects: [{ box: [20, 30, 120, 100], color: 'red' }],
  },
  {
    name: 'EXIF-rotated JPEG (orientation 6), displayed 480×640',
    width: 480,
    height: 640,
    orientation: 6,
    rects: [{ box: [50, 400, 300, 600], color: 'green' }],
  },
];

const LABELS = ['red', 'green', 'blue'];

function expectBoxes(detections: { box: number[]; name: string }[], rects: Rect[]): void {
  expect(detections.map((d) => d.name).sort()).toEqual(rects.map((r) => r.color as string).sort());
  for (const rect of rects) {
    const d = detections.find((x) => x.name === rect.color)!;
    d.box.forEach((v, i) =>
      expect(
        Math.abs(v - rect.box[i]!),
        `${String(rect.color)} box ${String(d.box)} vs ${String(rect.box)}`,
      ).toBeLessThanOrEqual(2),
    );
  }
}

describe.each(['models/shapes', 'models/shapes-raw'])('engine on %s (real onnxruntime)', (modelDir) => {
  let engine: Engine;
  const batchSizes: number[] = [];
  beforeAll(async () => {
    engine = createEngine({
      modelDir,
      device: 'cpu',
      replicaId: 'test',
      node: 'local',
      threads: 1,
      hooks: { onBatch: ({ size }) => batchSizes.push(size) },
    });
    expect(engine.state).toBe('loading');
    expect(engine.manifest.labels).toEqual(LABELS);
    await expect(engine.detect(Buffer.from('x'))).rejects.toMatchObject({ code: 'NOT_READY' });
    await engine.start();
    expect(engine.state).toBe('ready');
  });
  afterAll(async () => {
    await engine.drain();
    await engine.close();
  });

  it.each(CASES)('$name: boxes within 2 px of the drawing', async (c) => {
    const bytes = await drawImage({
      width: c.width,
      height: c.height,
      rects: c.rects,
      format: c.format ?? 'jpeg',
      ...(c.orientation ? { orientation: c.orientation } : {}),
    });
    const result = await engine.detect(bytes);
    expect([result.width, result.height]).toEqual([c.width, c.height]);
    expectBoxes(result.detections, c.rects);
    expect(result.timings.batchSize).toBeGreaterThanOrEqual(1);
  });

  it('the request threshold decides which scores pass; a bad threshold is refused', async () => {
    // a green square with a grey hole fills 75 % of its box: the shapes detectors score it 0.75
    const bytes = await drawImage({
      width: 640,
      height: 480,
      format: 'png',
      rects: [
        { box: [100, 120, 300, 260], color: 'red' },
        { box: [300, 100, 500, 300], color: 'green' },
        { box: [350, 150, 450, 250], color: [128, 128, 128] },
      ],
    });
    const names = async (threshold?: number) =>
      (await engine.detect(bytes, threshold === undefined ? {} : { threshold })).detections.map(
        (d) => d.name,
      );
    expect(await names(0.7)).toEqual(['red', 'green']);
    expect(await names(0.8)).toEqual(['red']);
    expect(await names()).toEqual(['red', 'green']); // manifest default 0.5
    expect((await engine.detect(await drawImage({ width: 640, height: 480 }))).detections).toEqual([]);
    await expect(engine.detect(bytes, { threshold: 2 })).rejects.toMatchObject({ code: 'INVALID_PARAMETER' });
  });

  it('concurrent frames form batches > 1 and each result belongs to its own image', async () => {
    // 12 images, each with a red box at a different x: a swapped result would show the wrong x
    const images = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        drawImage({
          width: 640,
          height: 480,
          rects: [{ box: [20 + i * 40, 100, 60 + i * 40, 200], color: 'red' }],
        }),
      ),
    );
    let biggest = 0;
    for (let round = 0; round < 5 && biggest < 2; round++) {
      const results = await Promise.all(images.map((img) => engine.detect(img)));
      results.forEach((r, i) =>
        expectBoxes(r.detections, [{ box: [20 + i * 40, 100, 60 + i * 40, 200], color: 'red' }]),
      );
      biggest = Math.max(biggest, ...results.map((r) => r.timings.batchSize));
    }
    expect(biggest).toBeGreaterThan(1);
    expect(Math.max(...batchSizes)).toBeLessThanOrEqual(engine.stats().maxBatch);
  });

  it.each([
    ['bad bytes', 'INVALID_IMAGE', () => Promise.resolve(Buffer.from('GIF89a but not really'))],
    [
      'truncated JPEG',
      'INVALID_IMAGE',
      async () => (await drawImage({ width: 640, height: 480 })).subarray(0, 2000),
    ],
    ['30000×30000 PNG', 'IMAGE_TOO_LARGE', () => Promise.resolve(hugePng())],
  ] as const)('%s → %s, and the engine keeps serving', async (_name, code, make) => {
    await expect(engine.detect(await make())).rejects.toMatchObject({ code });
    expect(engine.state).toBe('ready');
    const ok = await drawImage({
      width: 640,
      height: 480,
      rects: [{ box: [100, 120, 300, 260], color: 'red' }],
    });
    expectBoxes((await engine.detect(ok)).detections, [{ box: [100, 120, 300, 260], color: 'red' }]);
  });

  it('stats() satisfies the ReplicaStats contract', () => {
    const stats = ReplicaStats.parse(engine.stats());
    expect(stats).toMatchObject({
      replicaId: 'test',
      state: 'ready',
      ready: true,
      device: { kind: 'cpu' },
      footprint: { method: 'rss' },
    });
    expect(stats.framesTotal).toBeGreaterThan(10);
    expect(stats.errorsTotal).toBeGreaterThanOrEqual(3);
    expect(stats.ewmaServiceSeconds).toBeGreaterThan(0);
  });
});

/** v2 infer rows for the shapes model: 480×640 NHWC images with one red box each. */
function shapesRows(boxes: [number, number, number, number][]): RawTensor {
  const data = new Uint8Array(boxes.length * 480 * 640 * 3);
  boxes.forEach((box, i) =>
    data.set(drawPixels({ width: 640, height: 480, rects: [{ box, color: 'red' }] }).data, i * 480 * 640 * 3),
  );
  return { name: 'images', datatype: 'UINT8', shape: [boxes.length, 480, 640, 3], data };
}

describe('engine.infer (v2 tensors, real onnxruntime)', () => {
  let engine: Engine;
  const batchSizes: number[] = [];
  beforeAll(async () => {
    engine = shapesOnCpu({ replicaId: 'v2', hooks: { onBatch: ({ size }) => batchSizes.push(size) } });
    await engine.start();
  });
  afterAll(() => engine.close());

  it('runs the rows as one batch and returns outputs in request order', async () => {
    const boxes: [number, number, number, number][] = [
      [10, 10, 50, 60],
      [100, 200, 300, 400],
      [500, 20, 630, 470],
    ];
    batchSizes.length = 0;
    const out = await engine.infer([shapesRows(boxes)]);
    expect(out.map((t) => [t.name, t.datatype, t.shape])).toEqual([
      ['boxes', 'FLOAT32', [3, 3, 4]],
      ['scores', 'FLOAT32', [3, 3]],
      ['labels', 'INT64', [3, 3]],
    ]);
    const b = out[0]!.data as Float32Array;
    boxes.forEach((box, i) => expect(Array.from(b.subarray(i * 12, i * 12 + 4))).toEqual(box)); // label 0 (red) row of image i
    expect(batchSizes).toEqual([3]);
  });

  it('returns only the outputs asked for', async () => {
    const out = await engine.infer([shapesRows([[10, 10, 50, 60]])], { outputs: ['scores'] });
    expect(out.map((t) => t.name)).toEqual(['scores']);
    await expect(engine.infer([shapesRows([[10, 10, 50, 60]])], { outputs: ['nope'] })).rejects.toMatchObject(
      { code: 'INVALID_TENSOR' },
    );
  });

  it.each([
    ['wrong name', { name: 'image' }, /unknown input "image"/],
    ['wrong datatype', { datatype: 'FLOAT32' as const }, /must be UINT8, got FLOAT32/],
    ['shape not a bucket', { shape: [1, 481, 640, 3] }, /expected \[N,480,640,3\] or \[N,640,480,3\]/],
    ['NCHW instead of NHWC', { shape: [1, 3, 480, 640] }, /expected/],
    ['batch above maxBatch', { shape: [9, 480, 640, 3] }, /batch 9 is outside 1\.\.8/],
    ['data length off', { data: new Uint8Array(10) }, /has 10 elements/],
  ])('refuses %s with INVALID_TENSOR', async (_name, patch, message) => {
    const good = shapesRows([[10, 10, 50, 60]]);
    await expect(engine.infer([{ ...good, ...patch }])).rejects.toMatchObject({
      code: 'INVALID_TENSOR',
      message: expect.stringMatching(message),
    });
  });

  it('refuses missing and duplicated inputs', async () => {
    await expect(engine.infer([])).rejects.toMatchObject({
      code: 'INVALID_TENSOR',
      message: expect.stringMatching(/missing input/),
    });
    const good = shapesRows([[10, 10, 50, 60]]);
    await expect(engine.infer([good, good])).rejects.toMatchObject({
      code: 'INVALID_TENSOR',
      message: expect.stringMatching(/twice/),
    });
  });

  it('refuses rows that do not fit the queue with QUEUE_FULL and a retry estimate', async () => {
    const small = shapesOnCpu({ replicaId: 'q', maxBatch: 2, maxQueue: 1 });
    await small.start();
    expect(small.stats().queueCapacity).toBe(2); // raised to maxBatch
    const rows = shapesRows([
      [10, 10, 50, 60],
      [100, 200, 300, 400],
    ]);
    const first = small.infer([rows]); // both rows queue at once; the runner takes them in the next microtask
    const second = small.infer([rows]);
    await expect(second).rejects.toMatchObject({ code: 'QUEUE_FULL', retryAfterSeconds: expect.any(Number) });
    await expect(first).resolves.toHaveLength(3);
    await expect(small.infer([rows])).resolves.toHaveLength(3); // served again once the queue is free
    await small.close();
  });

  it('metadata() describes the session', () => {
    expect(engine.metadata()).toEqual({
      inputs: [{ name: 'images', datatype: 'UINT8', shape: [-1, -1, -1, 3] }],
      outputs: [
        { name: 'boxes', datatype: 'FLOAT32', shape: [-1, 3, 4] },
        { name: 'scores', datatype: 'FLOAT32', shape: [-1, 3] },
        { name: 'labels', datatype: 'INT64', shape: [-1, 3] },
      ],
    });
  });
});

describe('engine lifecycle', () => {
  it('a virtual GPU replica reports the configured footprint', async () => {
    const engine = shapesOnCpu({
      replicaId: 'virt',
      virtualGpu: {
        node: 'node-a',
        index: 1,
        capacityBytes: 24 * GiB,
        usedByOthersBytes: 4 * GiB,
        footprintBytes: 3 * GiB,
      },
    });
    await engine.start();
    const stats = ReplicaStats.parse(engine.stats());
    expect(stats.device).toMatchObject({
      kind: 'virtual',
      uuid: 'virtual-node-a-1',
      memoryUsedBytes: 7 * GiB,
      virtual: true,
    });
    expect(stats.footprint).toEqual({ bytes: 3 * GiB, method: 'configured', peakBytes: 3 * GiB });
    await engine.close();
  });

  it('drain() refuses new frames with DRAINING and waits for in-flight ones', async () => {
    const engine = shapesOnCpu({ replicaId: 'd' });
    await engine.start();
    const img = await drawImage({
      width: 640,
      height: 480,
      rects: [{ box: [100, 120, 300, 260], color: 'red' }],
    });
    const inFlight = Array.from({ length: 4 }, () => engine.detect(img));
    const drained = engine.drain();
    expect(engine.state).toBe('draining');
    await expect(engine.detect(img)).rejects.toMatchObject({ code: 'DRAINING' });
    await drained;
    const results = await Promise.all(inFlight);
    expect(results.every((r) => r.detections.length === 1)).toBe(true);
    expect(engine.stats().inFlight).toBe(0);
    await engine.close();
  });

  it('fails start() with a clear message when the ONNX file does not match the manifest', async () => {
    const engine = createEngine({
      modelDir: 'models/shapes',
      onnxPath: 'models/shapes-raw/model.onnx',
      device: 'cpu',
      replicaId: 'bad',
      node: 'local',
    });
    await expect(engine.start()).rejects.toThrow(
      /does not match manifest shapes.*outputs \[pred_logits, pred_boxes\].*expects.*outputs \[boxes, scores, labels\]/,
    );
    expect(engine.state).toBe('failed');
    await expect(engine.detect(Buffer.from('x'))).rejects.toMatchObject({ code: 'NOT_READY' });
  });

  it('cuda:0 without the CUDA provider fails start() with install instructions (this machine has none)', async () => {
    const engine = createEngine({
      modelDir: 'models/shapes',
      device: 'cuda:0',
      replicaId: 'gpu',
      node: 'local',
    });
    await expect(engine.start()).rejects.toThrow(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(engine.state).toBe('failed');
  });

  it('cuda:0 with allowCpuFallback serves on the CPU and reports device cpu, never the GPU', async () => {
    const engine = createEngine({
      modelDir: 'models/shapes',
      device: 'cuda:0',
      allowCpuFallback: true,
      replicaId: 'fallback',
      node: 'local',
      threads: 1,
    });
    await engine.start();
    const stats = ReplicaStats.parse(engine.stats());
    expect(stats.device.kind).toBe('cpu');
    expect(stats.footprint.method).toBe('rss');
    const img = await drawImage({
      width: 640,
      height: 480,
      rects: [{ box: [100, 120, 300, 260], color: 'red' }],
    });
    expectBoxes((await engine.detect(img)).detections, [{ box: [100, 120, 300, 260], color: 'red' }]);
    await engine.close();
  });

  it('refuses a bad manifest folder at once', () => {
    expect(() =>
      createEngine({ modelDir: '/nonexistent', device: 'cpu', replicaId: 'x', node: 'n' }),
    ).toThrow(/cannot read model manifest/);
    expect(() =>
      createEngine({ modelDir: 'models/shapes', device: 'gpu', replicaId: 'x', node: 'n' }),
    ).toThrow(/invalid device/);
  });
});
