import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../manifest/load.js';
import { graphBucket } from '../../manifest/schema.js';
import { createPreprocessor } from '../../../replica/image/preprocess.js';

// The Co-DETR graph enlarges its uint8 input 1.6× before normalising (manifest preprocess.graphUpscale).
// Here: the replica's real pre-processing of a 1280×720 JPEG (host bucket [720,1280], no host resize) is fed
// to the ops F.interpolate(scale_factor=1.6, bilinear, align_corners=False) exports to (make_fixture.py
// upscale_graph) in the real onnxruntime-node, and compared with half-pixel bilinear computed here — the
// sampling of mmdet's cv2.resize(INTER_LINEAR), which rounds to uint8 where the graph stays float.

const HERE = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const manifest = parseManifest(JSON.parse(readFileSync(join(HERE, '..', 'manifest.json'), 'utf8')), 'codetr');
const G = manifest.preprocess.graphUpscale;
const [H, W] = [720, 1280];
const [BH, BW] = graphBucket([H, W], G);

const pythonOnnx = spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
if (!pythonOnnx)
  console.warn('graph_upscale.test.ts skipped: /usr/bin/python3 cannot import onnx (python3-onnx)');

/** Half-pixel bilinear of channel c of an HWC uint8 image at output (x, y): cv2 INTER_LINEAR's sampling. */
function bilinear(src: Uint8Array, c: number, x: number, y: number): number {
  const coord = (d: number, n: number) => {
    const s = Math.min(Math.max((d + 0.5) / G - 0.5, 0), n - 1);
    const i = Math.min(Math.floor(s), n - 2);
    return [i, s - i] as const;
  };
  const [x0, fx] = coord(x, W);
  const [y0, fy] = coord(y, H);
  const p = (xx: number, yy: number) => src[(yy * W + xx) * 3 + c]!;
  const top = p(x0, y0) * (1 - fx) + p(x0 + 1, y0) * fx;
  const bottom = p(x0, y0 + 1) * (1 - fx) + p(x0 + 1, y0 + 1) * fx;
  return top * (1 - fy) + bottom * fy;
}

describe.skipIf(!pythonOnnx && !process.env.CI)(
  'in-graph enlargement (graphUpscale) on a 1280×720 frame',
  () => {
    let dir = '';
    let session: ort.InferenceSession;
    let row: Uint8Array;
    let upscaled: Float32Array;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gpumux-upscale-'));
      execFileSync(PYTHON, ['-B', join(HERE, 'make_fixture.py'), dir, '--upscale', String(G), `1,${H},${W}`]);
      session = await ort.InferenceSession.create(join(dir, `upscale-1x${H}x${W}.onnx`));
      const noise = await sharp({
        create: {
          width: W,
          height: H,
          channels: 3,
          background: '#808080',
          noise: { type: 'gaussian', mean: 128, sigma: 50 },
        },
      })
        .blur(0.8)
        .jpeg({ quality: 90 })
        .toBuffer();
      const frame = await createPreprocessor({ manifest })(noise);
      expect(frame.letterbox.bucket).toEqual([H, W]); // copied as is: no host resize
      row = frame.rows.images as Uint8Array;
      const out = await session.run({ images: new ort.Tensor('uint8', row, [1, H, W, 3]) });
      expect(out.upscaled!.dims).toEqual([1, 3, BH, BW]);
      upscaled = out.upscaled!.data as Float32Array;
    });

    afterAll(async () => {
      await session?.release();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it(`enlarges [${H},${W}] to the backbone's [${BH},${BW}] (mmdet's Large scale for 16:9)`, () => {
      expect([BH, BW]).toEqual([1152, 2048]);
    });

    it('samples as half-pixel bilinear (cv2 INTER_LINEAR geometry) to float precision, edges included', () => {
      let maxFloat = 0;
      let maxRounded = 0;
      // every 7th row and column, plus the borders where clamping happens
      const ys = [...Array.from({ length: BH / 7 }, (_, i) => i * 7), BH - 1];
      const xs = [...Array.from({ length: BW / 7 }, (_, i) => i * 7), BW - 1];
      for (let c = 0; c < 3; c++)
        for (const y of ys)
          for (const x of xs) {
            const want = bilinear(row, c, x, y);
            const got = upscaled[(c * BH + y) * BW + x]!;
            maxFloat = Math.max(maxFloat, Math.abs(got - want));
            maxRounded = Math.max(maxRounded, Math.abs(got - Math.round(want))); // cv2 outputs uint8
          }
      expect(maxFloat).toBeLessThan(1e-3);
      expect(maxRounded).toBeLessThanOrEqual(0.5 + 1e-3);
    });

    it('is closer to mmdet (cv2 sampling, uint8 out) than the libvips enlargement the host used to do', async () => {
      const vips = await sharp(Buffer.from(row), { raw: { width: W, height: H, channels: 3 } })
        .resize(BW, BH, { fit: 'fill', kernel: 'linear' })
        .raw()
        .toBuffer();
      let graphSum = 0;
      let vipsSum = 0;
      for (let y = 0; y < BH; y++)
        for (let x = 0; x < BW; x++)
          for (let c = 0; c < 3; c++) {
            const cv2 = Math.round(bilinear(row, c, x, y));
            graphSum += Math.abs(upscaled[(c * BH + y) * BW + x]! - cv2);
            vipsSum += Math.abs(vips[(y * BW + x) * 3 + c]! - cv2);
          }
      const n = BH * BW * 3;
      console.log(
        `mean |Δ| to cv2-style bilinear (grey levels, noisy 1280×720 → 2048×1152): graph Resize ${(graphSum / n).toFixed(3)}, ` +
          `libvips linear (old host path) ${(vipsSum / n).toFixed(3)}`,
      );
      expect(graphSum / n).toBeLessThan(0.26); // only cv2's rounding to uint8 (uniform: 0.25 on average)
      expect(vipsSum / n).toBeGreaterThan(graphSum / n);
    });
  },
);
