import { performance } from 'node:perf_hooks';
import type { KernelEnum } from 'sharp';
import type { Manifest } from '../../models/manifest/schema.js';
import type { Letterbox } from '../../models/detr/letterbox.js';
import { createDecoder } from './decode.js';
import { buildImageRow, buildPaddingMask, type TensorLayout } from './tensor.js';

/** One frame ready for the batcher: a row per model input, bucket-shaped. */
export interface PreprocessedFrame {
  width: number;
  height: number;
  letterbox: Letterbox;
  /** Input name → one row (no batch dimension). */
  rows: Record<string, Uint8Array | Float32Array>;
  decodeMs: number;
  tensorMs: number;
}

export interface PreprocessorOptions {
  manifest: Manifest;
  kernel?: keyof KernelEnum;
  fastShrinkOnLoad?: boolean;
}

/** The manifest's pre-processing as a tensor layout. */
function tensorLayoutOf(manifest: Manifest): TensorLayout {
  const { image } = manifest.inputs;
  const { normalize, colorSpace, padValue } = manifest.preprocess;
  return {
    datatype: image.datatype,
    layout: image.layout,
    colorSpace,
    padValue,
    ...('mean' in normalize ? { mean: normalize.mean, std: normalize.std } : {}),
  };
}

/**
 * Encoded bytes → model input rows, following the manifest.
 * @example
 * const preprocess = createPreprocessor({ manifest });
 * const frame = await preprocess(jpeg); // frame.rows.images: Uint8Array of 480×640×3
 */
export function createPreprocessor(options: PreprocessorOptions) {
  const { manifest, kernel, fastShrinkOnLoad } = options;
  const { resize, buckets } = manifest.preprocess;
  const decode = createDecoder({
    scale: resize.scale,
    buckets,
    allowUpscale: resize.allowUpscale,
    maxPixels: manifest.limits.maxPixels,
    ...(kernel ? { kernel } : {}),
    ...(fastShrinkOnLoad === undefined ? {} : { fastShrinkOnLoad }),
  });
  const layout = tensorLayoutOf(manifest);
  const mask = manifest.inputs.mask;

  return async function preprocess(bytes: Uint8Array): Promise<PreprocessedFrame> {
    const t0 = performance.now();
    const decoded = await decode(bytes);
    const t1 = performance.now();
    const lb = decoded.letterbox;
    const rows: Record<string, Uint8Array | Float32Array> = {
      [manifest.inputs.image.name]: buildImageRow(
        { pixels: decoded.pixels, width: lb.resizedWidth, height: lb.resizedHeight },
        lb.bucket,
        layout,
      ),
    };
    if (mask) rows[mask.name] = buildPaddingMask(lb.resizedWidth, lb.resizedHeight, lb.bucket, mask.datatype);
    const t2 = performance.now();
    return {
      width: decoded.width,
      height: decoded.height,
      letterbox: lb,
      rows,
      decodeMs: t1 - t0,
      tensorMs: t2 - t1,
    };
  };
}
