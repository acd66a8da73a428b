import { describe, expect, it } from 'vitest';
import { boxToOriginal, bucketKey, largestBucket, letterbox, type Bucket } from './letterbox.js';

const SHAPES: Bucket[] = [
  [480, 640],
  [640, 480],
];
// Co-DETR as shipped: host buckets in input pixels; the graph enlarges them 1.6× to the ones below
const CODETR_HOST: Bucket[] = [
  [720, 1280],
  [800, 1280],
  [1280, 720],
  [1280, 800],
];
const CODETR: Bucket[] = [
  [1152, 2048],
  [1280, 2048],
  [2048, 1152],
  [2048, 1280],
];

describe('letterbox', () => {
  it.each([
    // name, w, h, scale, buckets, resized [w,h], bucket [h,w]
    ['640×480 as is', 640, 480, [640, 480], SHAPES, [640, 480], [480, 640]],
    ['1280×720 halves', 1280, 720, [640, 480], SHAPES, [640, 360], [480, 640]],
    ['portrait 480×640', 480, 640, [640, 480], SHAPES, [480, 640], [640, 480]],
    ['portrait 720×1280', 720, 1280, [640, 480], SHAPES, [360, 640], [640, 480]],
    ['square 1000×1000', 1000, 1000, [640, 480], SHAPES, [480, 480], [480, 640]],
    ['tiny 10×5 upscales', 10, 5, [640, 480], SHAPES, [640, 320], [480, 640]],
    ['huge 30000×20000', 30000, 20000, [640, 480], SHAPES, [640, 427], [480, 640]],
    ['Co-DETR 1280×720 → 2048×1152', 1280, 720, [2048, 1280], CODETR, [2048, 1152], [1152, 2048]],
    ['Co-DETR 1920×1280', 1920, 1280, [2048, 1280], CODETR, [1920, 1280], [1280, 2048]],
    ['Co-DETR portrait 720×1280', 720, 1280, [2048, 1280], CODETR, [1152, 2048], [2048, 1152]],
    ['Co-DETR square 1000', 1000, 1000, [2048, 1280], CODETR, [1280, 1280], [1280, 2048]],
    ['Co-DETR host 1280×720 stays 1:1', 1280, 720, [1280, 800], CODETR_HOST, [1280, 720], [720, 1280]],
    ['Co-DETR host 1920×1080 shrinks', 1920, 1080, [1280, 800], CODETR_HOST, [1280, 720], [720, 1280]],
    ['Co-DETR host 640×480 enlarges', 640, 480, [1280, 800], CODETR_HOST, [1067, 800], [800, 1280]],
    ['Co-DETR host portrait 720×1280', 720, 1280, [1280, 800], CODETR_HOST, [720, 1280], [1280, 720]],
  ] as const)('%s', (_name, w, h, scale, buckets, resized, bucket) => {
    const lb = letterbox(w, h, { scale, buckets });
    expect([lb.resizedWidth, lb.resizedHeight]).toEqual(resized);
    expect(lb.bucket).toEqual(bucket);
    expect(lb.scaleX).toBeCloseTo(resized[0] / w, 12);
    expect(lb.scaleY).toBeCloseTo(resized[1] / h, 12);
  });

  it('keeps small images at 1:1 without upscale', () => {
    const lb = letterbox(100, 50, { scale: [640, 480], buckets: SHAPES, allowUpscale: false });
    expect([lb.resizedWidth, lb.resizedHeight, lb.scaleX]).toEqual([100, 50, 1]);
  });

  it('shrinks into the largest bucket of the same orientation when none holds the scaled image', () => {
    // scale allows 1000×500 but the only landscape bucket is 400×300 (w×h)
    const lb = letterbox(2000, 1000, {
      scale: [1000, 1000],
      buckets: [
        [300, 400],
        [200, 100],
      ],
    });
    expect(lb.bucket).toEqual([300, 400]);
    expect([lb.resizedWidth, lb.resizedHeight]).toEqual([400, 200]);
  });

  it('maps boxes back exactly and clamps them to the image', () => {
    const lb = letterbox(1280, 720, { scale: [2048, 1280], buckets: CODETR });
    expect(boxToOriginal([160, 192, 480, 416], lb)).toEqual([100, 120, 300, 260]);
    expect(boxToOriginal([-10, -5, 4000, 1300], lb)).toEqual([0, 0, 1280, 720]);
  });

  it('refuses empty sizes', () => {
    expect(() => letterbox(0, 10, { scale: [640, 480], buckets: SHAPES })).toThrow(RangeError);
  });

  it('names and ranks buckets', () => {
    expect(bucketKey([480, 640])).toBe('480x640');
    expect(largestBucket(CODETR)).toEqual([1280, 2048]);
  });
});
