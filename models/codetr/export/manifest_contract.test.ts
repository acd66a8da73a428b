import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../manifest/load.js';
import { graphBucket } from '../../manifest/schema.js';

// What export_onnx.py produces and what models/codetr/manifest.json promises must agree: the export
// traces one graph per (batch, bucket) taken from this manifest, with these input/output names.

const HERE = dirname(fileURLToPath(import.meta.url));
const manifest = parseManifest(JSON.parse(readFileSync(join(HERE, '..', 'manifest.json'), 'utf8')), 'codetr');
const MEAN = [123.675, 116.28, 103.53];
const STD = [58.395, 57.12, 57.375];
const G = manifest.preprocess.graphUpscale;

/** Keep-ratio resize (mmdet's rule) into `scale` → [height, width]. */
function resized(width: number, height: number, scale = manifest.preprocess.resize.scale): [number, number] {
  const [long, short] = scale as readonly [number, number];
  const factor = Math.min(long / Math.max(width, height), short / Math.min(width, height));
  return [Math.round(height * factor), Math.round(width * factor)];
}

describe('codetr manifest ↔ export_onnx.py', () => {
  it('declares the exported I/O: uint8 NHWC `images`, raw sigmoid heads pred_logits / pred_boxes', () => {
    expect(manifest.inputs.image).toEqual({ name: 'images', datatype: 'UINT8', layout: 'NHWC' });
    expect(manifest.inputs.mask).toBeUndefined(); // the default export has no img_masks input
    expect(manifest.outputs).toEqual({
      kind: 'logits',
      logits: 'pred_logits',
      boxes: 'pred_boxes',
      boxFormat: 'cxcywh',
      activation: 'sigmoid',
    });
    expect(manifest.preprocess.normalize).toEqual({ inGraph: true });
    expect(manifest.labels).toHaveLength(80); // pred_logits [N,900,80]
    // Co-DINO's test_cfg: max_per_img 300, nms=dict(type='soft_nms', iou_threshold=0.8) (linear, mmcv defaults)
    expect(manifest.postprocess).toMatchObject({
      topK: 300,
      nms: { iouThreshold: 0.8, classAware: true, method: 'linear' },
    });
  });

  it("enlarges 1.6× in the graph: the host scale × 1.6 is mmdet's Large test scale (2048, 1280)", () => {
    expect(G).toBe(1.6);
    expect(manifest.preprocess.resize.scale.map((s) => s * G)).toEqual([2048, 1280]);
  });

  it('has static buckets whose enlarged sides mmdet would also produce (multiples of its pad_size_divisor 32)', () => {
    for (const bucket of manifest.preprocess.buckets) {
      const [h, w] = graphBucket(bucket, G);
      expect(Math.abs(h - bucket[0] * G)).toBeLessThan(1e-9);
      expect(Math.abs(w - bucket[1] * G)).toBeLessThan(1e-9);
      expect(h % 32).toBe(0);
      expect(w % 32).toBe(0);
    }
  });

  it("gives the backbone mmdet's own resize for every aspect ratio from 1:4 to 4:1, up to rounding", () => {
    // the host rounds to its pixels (±0.5 × 1.6 in the graph), mmdet to its own (±0.5): at most 1.3 px apart
    const tolerance = 0.5 * G + 0.5;
    const off: string[] = [];
    for (let ratio = 0.25; ratio <= 4; ratio += 0.01) {
      const [w, h] = [Math.round(1000 * ratio), 1000];
      const host = resized(w, h);
      const mmdet = resized(w, h, [2048, 1280]);
      if (Math.abs(host[0] * G - mmdet[0]) > tolerance || Math.abs(host[1] * G - mmdet[1]) > tolerance)
        off.push(`${ratio.toFixed(2)}: ${String(host.map((v) => v * G))} vs ${String(mmdet)}`);
    }
    expect(off).toEqual([]);
  });

  it('fits every aspect ratio from 1:4 to 4:1 into a bucket after the keep-ratio resize', () => {
    const misses: string[] = [];
    for (let ratio = 0.25; ratio <= 4; ratio += 0.01) {
      const [h, w] = resized(Math.round(1000 * ratio), 1000);
      const fits = manifest.preprocess.buckets.some(([bh, bw]) => h <= bh && w <= bw);
      if (!fits) misses.push(`${ratio.toFixed(2)} → ${h}x${w}`);
    }
    expect(misses).toEqual([]);
  });

  it('copies a 1280x720 frame 1:1 into [720,1280] = 2048x1152 in the graph (no padding: mask-free is exact)', () => {
    expect(resized(1280, 720)).toEqual([720, 1280]);
    expect(manifest.preprocess.buckets).toContainEqual([720, 1280]);
    expect(graphBucket([720, 1280], G)).toEqual([1152, 2048]);
  });

  it('pads with a grey that normalises to about 0, as mmdet pads its normalised batch with 0', () => {
    const pad = manifest.preprocess.padValue;
    for (let c = 0; c < 3; c++) expect(Math.abs((pad - MEAN[c]!) / STD[c]!)).toBeLessThan(0.25);
  });
});
