import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../manifest/load.js';

// What export_onnx.py produces and what models/codetr/manifest.json promises must agree: the export
// traces one graph per (batch, bucket) taken from this manifest, with these input/output names.

const HERE = dirname(fileURLToPath(import.meta.url));
const manifest = parseManifest(JSON.parse(readFileSync(join(HERE, '..', 'manifest.json'), 'utf8')), 'codetr');
const MEAN = [123.675, 116.28, 103.53];
const STD = [58.395, 57.12, 57.375];

/** mmdet Resize(scale=(2048, 1280), keep_ratio=True) → [height, width]. */
function resized(width: number, height: number): [number, number] {
  const [long, short] = manifest.preprocess.resize.scale as [number, number];
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
    expect(manifest.postprocess).toMatchObject({ topK: 300, nms: { iouThreshold: 0.8, classAware: true } });
  });

  it('has static buckets that mmdet would also produce (sides a multiple of its pad_size_divisor 32)', () => {
    for (const [h, w] of manifest.preprocess.buckets) {
      expect(h % 32).toBe(0);
      expect(w % 32).toBe(0);
    }
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

  it('fills the 2048x1152 bucket exactly with a 16:9 frame (no padding, so the mask-free export is exact)', () => {
    expect(resized(1280, 720)).toEqual([1152, 2048]);
    expect(manifest.preprocess.buckets).toContainEqual([1152, 2048]);
  });

  it('pads with a grey that normalises to about 0, as mmdet pads its normalised batch with 0', () => {
    const pad = manifest.preprocess.padValue;
    for (let c = 0; c < 3; c++) expect(Math.abs((pad - MEAN[c]!) / STD[c]!)).toBeLessThan(0.25);
  });
});
