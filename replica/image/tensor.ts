import type { Bucket } from '../../models/detr/letterbox.js';

/**
 * Resized RGB pixels → one padded model-input row (bucket-sized, padded bottom/right).
 * UINT8 NHWC is the fast path (normalisation inside the graph: row copies only); FLOAT32 NCHW normalises on
 * the host with precomputed per-channel scale/offset.
 */

export interface TensorLayout {
  datatype: 'UINT8' | 'FLOAT32';
  layout: 'NHWC' | 'NCHW';
  colorSpace: 'RGB' | 'BGR';
  /** Pixel value (0..255, before normalisation) written into the padding. */
  padValue: number;
  /** FLOAT32 only: (pixel − mean) / std per RGB channel. */
  mean?: readonly [number, number, number];
  std?: readonly [number, number, number];
}

export interface ResizedPixels {
  pixels: Uint8Array;
  width: number;
  height: number;
}

/**
 * Writes `image` into a new bucket-sized row (UINT8 RGB that fills the bucket exactly: a view of its pixels).
 * @example
 * const row = buildImageRow({ pixels, width: 640, height: 360 }, [480, 640], { datatype: 'UINT8', layout: 'NHWC', colorSpace: 'RGB', padValue: 0 });
 */
export function buildImageRow(
  image: ResizedPixels,
  bucket: Bucket,
  layout: TensorLayout,
): Uint8Array | Float32Array {
  const [bh, bw] = bucket;
  if (image.width > bw || image.height > bh)
    throw new RangeError(`image ${image.width}×${image.height} does not fit bucket ${bw}×${bh}`);
  if (layout.datatype === 'UINT8') {
    if (layout.layout !== 'NHWC') throw new RangeError('UINT8 rows are NHWC');
    return uint8Nhwc(image, bh, bw, layout);
  }
  return layout.layout === 'NCHW' ? float32Nchw(image, bh, bw, layout) : float32Nhwc(image, bh, bw, layout);
}

function uint8Nhwc(image: ResizedPixels, bh: number, bw: number, l: TensorLayout): Uint8Array {
  const { pixels, width, height } = image;
  if (l.colorSpace === 'RGB' && width === bw && height === bh) {
    // the image is the row (a camera frame that fills its bucket, e.g. Co-DETR's 1280×720): no copy at all.
    // A plain Uint8Array view, not the Buffer, so that batch concatenation builds a Uint8Array.
    return new Uint8Array(pixels.buffer, pixels.byteOffset, bh * bw * 3);
  }
  const out = new Uint8Array(bh * bw * 3);
  if (l.padValue !== 0) {
    // only the padding: right of each image row, then the rows below the image
    for (let y = 0; y < height && width < bw; y++)
      out.fill(l.padValue, (y * bw + width) * 3, (y + 1) * bw * 3);
    out.fill(l.padValue, height * bw * 3);
  }
  if (l.colorSpace === 'RGB') {
    if (width === bw)
      out.set(pixels.subarray(0, width * height * 3), 0); // contiguous rows: one copy
    else
      for (let y = 0; y < height; y++)
        out.set(pixels.subarray(y * width * 3, (y + 1) * width * 3), y * bw * 3);
    return out;
  }
  for (let y = 0; y < height; y++) {
    let src = y * width * 3;
    let dst = y * bw * 3;
    for (let x = 0; x < width; x++, src += 3, dst += 3) {
      out[dst] = pixels[src + 2]!;
      out[dst + 1] = pixels[src + 1]!;
      out[dst + 2] = pixels[src]!;
    }
  }
  return out;
}

/** scale/offset per output channel so that value = pixel × scale + offset = (pixel − mean) / std. */
function affine(l: TensorLayout): { scale: number[]; offset: number[]; source: number[] } {
  const mean = l.mean ?? [0, 0, 0];
  const std = l.std ?? [1, 1, 1];
  // output channel c reads source channel source[c] (BGR swaps 0 and 2); mean/std are given in RGB order
  const source = l.colorSpace === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const scale = source.map((s) => 1 / std[s]!);
  const offset = source.map((s) => -mean[s]! / std[s]!);
  return { scale, offset, source };
}

function float32Nchw(image: ResizedPixels, bh: number, bw: number, l: TensorLayout): Float32Array {
  const plane = bh * bw;
  const out = new Float32Array(plane * 3);
  const { scale, offset, source } = affine(l);
  const { pixels, width, height } = image;
  for (let c = 0; c < 3; c++) {
    const s = scale[c]!;
    const o = offset[c]!;
    const src0 = source[c]!;
    const base = c * plane;
    out.fill(l.padValue * s + o, base, base + plane);
    for (let y = 0; y < height; y++) {
      let src = y * width * 3 + src0;
      const rowEnd = base + y * bw + width;
      for (let dst = base + y * bw; dst < rowEnd; dst++, src += 3) out[dst] = pixels[src]! * s + o;
    }
  }
  return out;
}

function float32Nhwc(image: ResizedPixels, bh: number, bw: number, l: TensorLayout): Float32Array {
  const out = new Float32Array(bh * bw * 3);
  const { scale, offset, source } = affine(l);
  for (let c = 0; c < 3; c++)
    for (let i = c; i < out.length; i += 3) out[i] = l.padValue * scale[c]! + offset[c]!;
  const { pixels, width, height } = image;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = (y * width + x) * 3;
      const dst = (y * bw + x) * 3;
      for (let c = 0; c < 3; c++) out[dst + c] = pixels[src + source[c]!]! * scale[c]! + offset[c]!;
    }
  }
  return out;
}

/** [H, W] padding mask for models with an `img_masks` input: 1 where padded, 0 on the image. */
export function buildPaddingMask(
  width: number,
  height: number,
  bucket: Bucket,
  datatype: 'UINT8' | 'BOOL' | 'FLOAT32',
): Uint8Array | Float32Array {
  const [bh, bw] = bucket;
  const out = datatype === 'FLOAT32' ? new Float32Array(bh * bw) : new Uint8Array(bh * bw);
  out.fill(1);
  for (let y = 0; y < height; y++) out.fill(0, y * bw, y * bw + width);
  return out;
}
