import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../models/manifest/load.js';
import { inputSpecsOf, validateInferInputs } from './infer-validation.js';
import type { RawTensor } from './types.js';

const raw = parseManifest(
  JSON.parse(readFileSync(new URL('../../models/shapes-raw/manifest.json', import.meta.url), 'utf8')),
);
const withMask = parseManifest({
  ...JSON.parse(readFileSync(new URL('../../models/shapes/manifest.json', import.meta.url), 'utf8')),
  inputs: {
    image: { name: 'images', datatype: 'UINT8', layout: 'NHWC' },
    mask: { name: 'img_masks', datatype: 'BOOL' },
  },
});
const BUCKETS = raw.preprocess.buckets;

const f32 = (shape: number[]): RawTensor => ({
  name: 'images',
  datatype: 'FLOAT32',
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
});

describe('inputSpecsOf', () => {
  it('NCHW float rows are [3, H, W]', () => {
    const [spec] = inputSpecsOf(raw);
    expect(spec!.rowShape([480, 640])).toEqual([3, 480, 640]);
    expect(spec!.bucketOf([3, 480, 640])).toEqual([480, 640]);
    expect(spec!.bucketOf([480, 640, 3])).toBeNull();
    expect(spec!.zeros([2, 2])).toBeInstanceOf(Float32Array);
  });

  it('a mask input adds an [H, W] row', () => {
    const specs = inputSpecsOf(withMask);
    expect(specs.map((s) => [s.name, s.datatype, s.rowShape([480, 640])])).toEqual([
      ['images', 'UINT8', [480, 640, 3]],
      ['img_masks', 'BOOL', [480, 640]],
    ]);
  });
});

describe('validateInferInputs', () => {
  const specs = inputSpecsOf(raw);
  it('accepts a bucket shape and returns batch and bucket', () => {
    expect(validateInferInputs([f32([2, 3, 640, 480])], specs, BUCKETS, 4)).toEqual({
      batch: 2,
      bucket: [640, 480],
    });
  });

  it.each([
    ['NHWC for an NCHW model', [1, 480, 640, 3], /expected \[N,3,480,640\] or \[N,3,640,480\]/],
    ['batch 0', [0, 3, 480, 640], /batch 0 is outside 1\.\.4/],
    ['batch 5', [5, 3, 480, 640], /batch 5 is outside 1\.\.4/],
    ['no batch dimension', [3, 480, 640], /expected/],
  ])('refuses %s', (_name, shape, message) => {
    expect(() => validateInferInputs([f32(shape)], specs, BUCKETS, 4)).toThrow(message);
  });

  it('requires image and mask to agree on batch and bucket', () => {
    const masks = inputSpecsOf(withMask);
    const image: RawTensor = {
      name: 'images',
      datatype: 'UINT8',
      shape: [1, 480, 640, 3],
      data: new Uint8Array(480 * 640 * 3),
    };
    const mask = (shape: number[]): RawTensor => ({
      name: 'img_masks',
      datatype: 'BOOL',
      shape,
      data: new Uint8Array(shape.reduce((a, b) => a * b, 1)),
    });
    expect(validateInferInputs([image, mask([1, 480, 640])], masks, BUCKETS, 8)).toEqual({
      batch: 1,
      bucket: [480, 640],
    });
    expect(() => validateInferInputs([image, mask([1, 640, 480])], masks, BUCKETS, 8)).toThrow(
      /does not match the other inputs/,
    );
    expect(() => validateInferInputs([image], masks, BUCKETS, 8)).toThrow(/missing input\(s\) "img_masks"/);
  });
});
