import { describe, expect, it } from 'vitest';
import { letterbox } from './letterbox.js';
import { postprocess, sigmoid } from './postprocess.js';

const logit = (p: number) => Math.log(p / (1 - p));
// 1280×720 into the shapes buckets: resized 640×360 in [480, 640], scale 0.5
const lb = letterbox(1280, 720, {
  scale: [640, 480],
  buckets: [
    [480, 640],
    [640, 480],
  ],
});
const base = { letterbox: lb, threshold: 0.3, topK: 100, nms: null };

describe('postprocess: boxes kind', () => {
  it('maps input pixels back to original pixels, applies the threshold and sorts by score', () => {
    const out = postprocess(
      {
        kind: 'boxes',
        boxes: [50, 60, 150, 130, 0, 0, 10, 10, 300, 200, 700, 500],
        scores: [0.6, 0.1, 0.9],
        labels: new BigInt64Array([0n, 1n, 2n]),
      },
      base,
    );
    expect(out).toEqual([
      { box: [600, 400, 1280, 720], score: 0.9, label: 2 }, // clamped to the image
      { box: [100, 120, 300, 260], score: 0.6, label: 0 },
    ]);
  });

  it('divides by graphUpscale first: boxes of a graph that enlarged its input are in its own pixels', () => {
    // Co-DETR geometry: 1280×720 copied 1:1 into host bucket [720, 1280], enlarged 1.6× in the graph
    const codetr = letterbox(1280, 720, {
      scale: [1280, 800],
      buckets: [
        [720, 1280],
        [800, 1280],
      ],
    });
    expect([codetr.resizedWidth, codetr.scaleX]).toEqual([1280, 1]);
    const out = postprocess(
      // (160, 192)–(480, 416) in the graph's 2048×1152 pixels = (100, 120)–(300, 260) in the frame
      { kind: 'boxes', boxes: [160, 192, 480, 416, 0, 1150, 3000, 1200], scores: [0.9, 0.8], labels: [0, 1] },
      { ...base, letterbox: codetr, graphUpscale: 1.6 },
    );
    expect(out.map((d) => d.box.map((v) => +v.toFixed(9)))).toEqual([
      [100, 120, 300, 260],
      [0, 718.75, 1280, 720], // clamped to the frame
    ]);
    // without the factor the same outputs would land 1.6× too far (the bug this option exists for)
    const unscaled = postprocess(
      { kind: 'boxes', boxes: [160, 192, 480, 416], scores: [0.9], labels: [0] },
      { ...base, letterbox: codetr },
    );
    expect(unscaled[0]!.box).toEqual([160, 192, 480, 416]);
  });

  it('drops boxes that clamping leaves empty (in the padding)', () => {
    const out = postprocess({ kind: 'boxes', boxes: [10, 400, 50, 470], scores: [0.9], labels: [0] }, base);
    expect(out).toEqual([]);
  });

  it('applies class-aware NMS and top-K', () => {
    const boxes = [0, 0, 100, 100, 2, 0, 102, 100, 2, 0, 102, 100, 200, 200, 250, 250];
    const out = postprocess(
      { kind: 'boxes', boxes, scores: [0.9, 0.8, 0.7, 0.6], labels: [0, 0, 1, 1] },
      { ...base, nms: { iouThreshold: 0.5, classAware: true }, topK: 2 },
    );
    expect(out.map((d) => [d.score, d.label])).toEqual([
      [0.9, 0],
      [0.7, 1],
    ]);
  });
});

describe('postprocess: logits kind', () => {
  // Q = 3 queries, C = 2 classes; bucket 640×480 (w×h)
  const boxes = [
    // cx, cy, w, h normalised to the bucket: query 0 → xyxy (64, 48)–(192, 144) in input pixels
    0.2, 0.2, 0.2, 0.2,
    // query 1 → (320, 120)–(640, 360) in input pixels
    0.75, 0.5, 0.5, 0.5,
    // query 2 → tiny box
    0.1, 0.1, 0.01, 0.01,
  ];

  it('sigmoid: top-K over Q×C flattened, label = index % C, query = index / C', () => {
    const logits = [logit(0.9), logit(0.2), logit(0.1), logit(0.8), logit(0.05), logit(0.4)];
    const out = postprocess(
      { kind: 'logits', logits, boxes, numQueries: 3, numClasses: 2, activation: 'sigmoid' },
      { ...base, topK: 3 },
    );
    expect(out.map((d) => d.label)).toEqual([0, 1, 1]);
    expect(out[0]!.score).toBeCloseTo(0.9, 6);
    expect(out[0]!.box.map((v) => +v.toFixed(6))).toEqual([128, 96, 384, 288]);
    expect(out[1]!.score).toBeCloseTo(0.8, 6);
    expect(out[1]!.box.map((v) => +v.toFixed(6))).toEqual([640, 240, 1280, 720]);
    expect(out[2]!.score).toBeCloseTo(0.4, 6); // query 2, class 1
  });

  it('sigmoid: one query can yield two labels (DINO keeps both)', () => {
    const logits = [logit(0.9), logit(0.7), -9, -9, -9, -9];
    const out = postprocess(
      { kind: 'logits', logits, boxes, numQueries: 3, numClasses: 2, activation: 'sigmoid' },
      base,
    );
    expect(out.map((d) => [d.label, d.box])).toEqual([
      [0, out[0]!.box],
      [1, out[0]!.box],
    ]);
  });

  it('softmax: drops the trailing no-object class and keeps one label per query', () => {
    // C = 3 (2 classes + no-object): q0 → p = [.6, .3, .1], q1 → [.1, .4, .5] (no-object wins, yet class 1
    // is its best real class at .4), q2 → [1/3, 1/3, 1/3] (tie: the first class)
    const logits = [6, 3, 1, 1, 4, 5, 1, 1, 1].map(Math.log);
    const out = postprocess(
      { kind: 'logits', logits, boxes, numQueries: 3, numClasses: 3, activation: 'softmax' },
      { ...base, threshold: 0.2 },
    );
    expect(out.map((d) => d.label)).toEqual([0, 1, 0]);
    expect(out.map((d) => +d.score.toFixed(6))).toEqual([0.6, 0.4, 0.333333]);
    expect(out[1]!.box.map((v) => +v.toFixed(6))).toEqual([640, 240, 1280, 720]);
  });

  it('ignores graphUpscale: normalised boxes are the same fraction of the host bucket and of the graph input', () => {
    const logits = [logit(0.9), -9, -9, -9, -9, -9];
    const run = (graphUpscale?: number) =>
      postprocess(
        { kind: 'logits', logits, boxes, numQueries: 3, numClasses: 2, activation: 'sigmoid' },
        { ...base, ...(graphUpscale ? { graphUpscale } : {}) },
      );
    expect(run(1.6)).toEqual(run());
    expect(run(1.6)[0]!.box.map((v) => +v.toFixed(6))).toEqual([128, 96, 384, 288]);
  });

  it('sigmoid is the logistic function', () => expect(sigmoid(0)).toBe(0.5));
});
