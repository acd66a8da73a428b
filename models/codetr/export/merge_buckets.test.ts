import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// merge_buckets.py joins Co-DINO's static-shape exports into the one model.onnx the manifest names.
// Here: small bucket graphs with the same I/O contract (make_fixture.py), merged, then run in the real
// onnxruntime-node — the merged file must answer exactly as the bucket graph of the input's shape.

const HERE = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const SHAPES: [number, number, number][] = [
  [1, 24, 32],
  [1, 32, 24],
  [2, 24, 32],
];

// Debian's python3-onnx is part of this workplace (DESIGN.md); say so loudly where it is missing.
const pythonOnnx = spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
if (!pythonOnnx)
  console.warn('merge_buckets.test.ts skipped: /usr/bin/python3 cannot import onnx (python3-onnx)');

function image([n, h, w]: [number, number, number], seed: number): ort.Tensor {
  const data = new Uint8Array(n * h * w * 3);
  let state = seed;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return new ort.Tensor('uint8', data, [n, h, w, 3]);
}

/** make_fixture.py's bucket graphs for `shapes` in `dir`, merged by merge_buckets.py into `dir`/model.onnx. */
async function buildMerged(
  dir: string,
  shapes: [number, number, number][],
  fixtureArgs: string[] = [],
): Promise<ort.InferenceSession> {
  execFileSync(PYTHON, [
    '-B',
    join(HERE, 'make_fixture.py'),
    dir,
    ...fixtureArgs,
    ...shapes.map((s) => s.join(',')),
  ]);
  const buckets = shapes.map((s) => join(dir, `bucket-${s.join('x')}.onnx`));
  execFileSync(PYTHON, ['-B', join(HERE, 'merge_buckets.py'), '--out', join(dir, 'model.onnx'), ...buckets], {
    stdio: 'pipe',
  });
  return ort.InferenceSession.create(join(dir, 'model.onnx'));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe.skipIf(!pythonOnnx && !process.env.CI)('merge_buckets.py', () => {
  let dir = '';
  let merged: ort.InferenceSession;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gpumux-merge-'));
    merged = await buildMerged(dir, SHAPES);
  });

  afterAll(async () => {
    await merged?.release();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the contract: one uint8 input `images`, outputs pred_logits and pred_boxes', () => {
    expect(merged.inputNames).toEqual(['images']);
    expect(merged.outputNames).toEqual(['pred_logits', 'pred_boxes']);
  });

  it.each(SHAPES)('answers a %i×%i×%i input exactly as that bucket graph does', async (n, h, w) => {
    const bucket = await ort.InferenceSession.create(join(dir, `bucket-${n}x${h}x${w}.onnx`));
    try {
      const input = image([n, h, w], h * 31 + w + n);
      const want = await bucket.run({ images: input });
      const got = await merged.run({ images: input });
      for (const name of ['pred_logits', 'pred_boxes']) {
        expect(got[name]!.dims).toEqual(want[name]!.dims);
        // ORT optimises a top-level graph and an If branch differently (e.g. MatMul+Add → Gemm): a few ULPs
        expect(maxAbsDiff(got[name]!.data as Float32Array, want[name]!.data as Float32Array)).toBeLessThan(
          1e-6,
        );
      }
      expect(got.pred_logits!.dims).toEqual([n, 5, 4]);
    } finally {
      await bucket.release();
    }
  });

  it('picks the graph by shape: the same pixels in two buckets give different per-bucket constants', async () => {
    const a = await merged.run({
      images: new ort.Tensor('uint8', new Uint8Array(24 * 32 * 3), [1, 24, 32, 3]),
    });
    const b = await merged.run({
      images: new ort.Tensor('uint8', new Uint8Array(32 * 24 * 3), [1, 32, 24, 3]),
    });
    // black images: logits are the bucket's constant h/1000 + w/1e6
    expect((a.pred_logits!.data as Float32Array)[0]).toBeCloseTo(0.024032, 5);
    expect((b.pred_logits!.data as Float32Array)[0]).toBeCloseTo(0.032024, 5);
  });

  it('refuses a shape that is not a bucket instead of answering', async () => {
    const odd = new ort.Tensor('uint8', new Uint8Array(20 * 20 * 3), [1, 20, 20, 3]);
    await expect(merged.run({ images: odd })).rejects.toThrow();
  });

  it('stores weights shared by the buckets once', () => {
    const one = statSync(join(dir, `bucket-${SHAPES[0]!.join('x')}.onnx`)).size;
    const all = statSync(join(dir, 'model.onnx')).size;
    // three buckets share two weight matrices (640 B of floats); duplicated they would cost ~3 × 1.2 kB
    expect(all).toBeLessThan(3 * one);
  });
});

describe.skipIf(!pythonOnnx && !process.env.CI)(
  'merge_buckets.py with an img_masks input (export_onnx.py --with-mask)',
  () => {
    const MASKED: [number, number, number][] = [
      [1, 24, 32],
      [2, 32, 24],
    ];
    let dir = '';
    let merged: ort.InferenceSession;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gpumux-merge-mask-'));
      merged = await buildMerged(dir, MASKED, ['--with-mask']);
    });

    afterAll(async () => {
      await merged?.release();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('passes the mask through to the graph of the image’s shape', async () => {
      expect(merged.inputNames).toEqual(['images', 'img_masks']);
      for (const [n, h, w] of MASKED) {
        const bucket = await ort.InferenceSession.create(join(dir, `bucket-${n}x${h}x${w}.onnx`));
        try {
          const mask = new Uint8Array(n * h * w);
          for (let i = 0; i < mask.length; i++) mask[i] = i % w >= w / 2 ? 1 : 0; // right half is padding
          const feeds = { images: image([n, h, w], 5), img_masks: new ort.Tensor('uint8', mask, [n, h, w]) };
          const want = await bucket.run(feeds);
          const got = await merged.run(feeds);
          const unmasked = await merged.run({
            ...feeds,
            img_masks: new ort.Tensor('uint8', new Uint8Array(n * h * w), [n, h, w]),
          });
          const boxes = (r: ort.InferenceSession.OnnxValueMapType) => r.pred_boxes!.data as Float32Array;
          expect(maxAbsDiff(boxes(got), boxes(want))).toBeLessThan(1e-6);
          expect(maxAbsDiff(boxes(got), boxes(unmasked))).toBeGreaterThan(1e-3); // the mask reached the graph
        } finally {
          await bucket.release();
        }
      }
    });
  },
);
