/**
 * Keep-ratio resize into static shape buckets, the geometry of mmdet's `Resize(keep_ratio=True)` followed by
 * padding bottom/right. Pure arithmetic: no image library, so the replica, the bench and the tests agree.
 */

/** [height, width], as the manifest writes buckets. */
export type Bucket = readonly [number, number];

export interface LetterboxOptions {
  /** mmdet scale: [long side, short side] limits, e.g. [2048, 1280]. */
  scale: readonly [number, number];
  /** Shape buckets [height, width]; the resized image is padded into the smallest that holds it. */
  buckets: readonly Bucket[];
  /** When false an image is never enlarged (scale capped at 1). */
  allowUpscale?: boolean;
}

export interface Letterbox {
  /** Original (oriented) image size. */
  width: number;
  height: number;
  /** Size of the resized image inside the bucket (top-left corner at 0,0). */
  resizedWidth: number;
  resizedHeight: number;
  /** The chosen bucket, [height, width]. */
  bucket: Bucket;
  /** resized / original per axis: input pixel = original pixel × scale. */
  scaleX: number;
  scaleY: number;
}

/** mmcv's `rescale_size`: round half up of w × s, never below 1 pixel. */
function scaled(side: number, factor: number): number {
  return Math.max(1, Math.floor(side * factor + 0.5));
}

function area(b: Bucket): number {
  return b[0] * b[1];
}

/**
 * Picks the resize and bucket for an image.
 *
 * @example
 * letterbox(1280, 720, { scale: [2048, 1280], buckets: [[1152, 2048], [1280, 2048]] })
 * // → resized 2048×1152 in bucket [1152, 2048], scaleX = scaleY = 1.6
 */
export function letterbox(width: number, height: number, options: LetterboxOptions): Letterbox {
  const { scale, buckets, allowUpscale = true } = options;
  if (!(width > 0 && height > 0)) throw new RangeError(`image size must be positive, got ${width}×${height}`);
  if (buckets.length === 0) throw new RangeError('at least one bucket is needed');
  const longLimit = Math.max(scale[0], scale[1]);
  const shortLimit = Math.min(scale[0], scale[1]);
  let factor = Math.min(longLimit / Math.max(width, height), shortLimit / Math.min(width, height));
  if (!allowUpscale) factor = Math.min(factor, 1);
  let rw = scaled(width, factor);
  let rh = scaled(height, factor);

  let bucket = smallestHolding(buckets, rw, rh);
  if (!bucket) {
    // Nothing holds it: shrink further into the largest bucket of the image's orientation.
    bucket = largestOfOrientation(buckets, width >= height);
    const shrink = Math.min(bucket[1] / width, bucket[0] / height);
    rw = Math.min(bucket[1], scaled(width, shrink));
    rh = Math.min(bucket[0], scaled(height, shrink));
  }
  return {
    width,
    height,
    resizedWidth: rw,
    resizedHeight: rh,
    bucket,
    scaleX: rw / width,
    scaleY: rh / height,
  };
}

function smallestHolding(buckets: readonly Bucket[], w: number, h: number): Bucket | undefined {
  let best: Bucket | undefined;
  for (const b of buckets) {
    if (h <= b[0] && w <= b[1] && (!best || area(b) < area(best))) best = b;
  }
  return best;
}

function largestOfOrientation(buckets: readonly Bucket[], landscape: boolean): Bucket {
  const same = buckets.filter((b) => b[1] >= b[0] === landscape);
  const pool = same.length > 0 ? same : buckets;
  return pool.reduce((best, b) => (area(b) > area(best) ? b : best));
}

/** The largest bucket by area (warm-up shape: the footprint is final after it). */
export function largestBucket(buckets: readonly Bucket[]): Bucket {
  if (buckets.length === 0) throw new RangeError('at least one bucket is needed');
  return buckets.reduce((best, b) => (area(b) > area(best) ? b : best));
}

/** Stable text key of a bucket, e.g. `480x640` (height × width). */
export function bucketKey(bucket: Bucket): string {
  return `${bucket[0]}x${bucket[1]}`;
}

/** Maps an xyxy box from model-input pixels back to the original image, clamped to it. */
export function boxToOriginal(
  box: readonly [number, number, number, number],
  lb: Pick<Letterbox, 'width' | 'height' | 'scaleX' | 'scaleY'>,
): [number, number, number, number] {
  const clampX = (v: number) => Math.min(lb.width, Math.max(0, v / lb.scaleX));
  const clampY = (v: number) => Math.min(lb.height, Math.max(0, v / lb.scaleY));
  return [clampX(box[0]), clampY(box[1]), clampX(box[2]), clampY(box[3])];
}
