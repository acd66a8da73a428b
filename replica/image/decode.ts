import sharp from 'sharp';
import type { KernelEnum, Metadata } from 'sharp';
import { GpumuxError } from '../../common/errors.js';
import { letterbox, type Bucket, type Letterbox } from '../../models/detr/letterbox.js';

/**
 * Encoded image → RGB pixels resized keep-ratio to the letterbox size, in one libvips pipeline
 * (decode, EXIF orientation, alpha removal, sRGB, resize). Padding and normalisation happen in tensor.ts.
 */

export interface DecodeOptions {
  scale: readonly [number, number];
  buckets: readonly Bucket[];
  allowUpscale?: boolean;
  /** Decoded pixels (width × height) allowed; checked from the header before any pixel is decoded. */
  maxPixels: number;
  /** Resize kernel; `linear` matches mmdet/cv2's bilinear resize and is the cheapest good one. */
  kernel?: keyof KernelEnum;
  /** libvips' JPEG/WebP shrink-on-load (decode at 1/2, 1/4, 1/8 when downscaling); much faster. */
  fastShrinkOnLoad?: boolean;
}

export interface DecodedImage {
  /** Oriented size (EXIF applied). */
  width: number;
  height: number;
  letterbox: Letterbox;
  /** resizedWidth × resizedHeight × 3 interleaved RGB bytes. */
  pixels: Buffer;
}

/** Camera/photo raster formats only: no SVG or PDF (vector renderers have no business on a detection path). */
const RASTER_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif']);

/**
 * How strict libvips is with damaged pixel data. libjpeg reports truncated or corrupt scan data only as a
 * warning and fills the rest with grey — a 287-byte JPEG claiming 6000×6000 would decode "fine" — so JPEGs
 * fail on warnings. Other formats fail on errors: libpng warns about harmless things (a known-incorrect sRGB
 * profile) that must not refuse a good image.
 */
function failOnFor(format: string): 'warning' | 'error' {
  return format === 'jpeg' ? 'warning' : 'error';
}

/** EXIF orientations 5–8 swap width and height. */
function oriented(meta: Metadata): { width: number; height: number } {
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  return (meta.orientation ?? 1) >= 5 ? { width: h, height: w } : { width: w, height: h };
}

function invalid(err: unknown, what: string): GpumuxError {
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message))
    return new GpumuxError('IMAGE_TOO_LARGE', `image exceeds the pixel limit`, { cause: err });
  return new GpumuxError('INVALID_IMAGE', `${what}: ${message.split('\n')[0]}`, { cause: err });
}

/**
 * @example
 * const decode = createDecoder({ scale: [640, 480], buckets: [[480, 640]], maxPixels: 40e6 });
 * const { letterbox, pixels } = await decode(jpegBytes);
 */
export function createDecoder(options: DecodeOptions) {
  const {
    scale,
    buckets,
    allowUpscale = true,
    maxPixels,
    kernel = 'linear',
    fastShrinkOnLoad = true,
  } = options;

  return async function decode(bytes: Uint8Array): Promise<DecodedImage> {
    if (bytes.byteLength === 0) throw new GpumuxError('INVALID_IMAGE', 'empty image');
    let meta: Metadata;
    try {
      // header only (no pixels decoded), without the pixel limit so that the refusal can name the size
      meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    } catch (err) {
      throw invalid(err, 'not a supported image (JPEG, PNG, WebP, ...)');
    }
    if (!meta.format || !RASTER_FORMATS.has(meta.format)) {
      throw new GpumuxError(
        'INVALID_IMAGE',
        `unsupported image format ${meta.format ?? 'unknown'} (use JPEG, PNG or WebP)`,
      );
    }
    const { width, height } = oriented(meta);
    if (!(width > 0 && height > 0)) throw new GpumuxError('INVALID_IMAGE', 'image has no size');
    if (width * height > maxPixels) {
      throw new GpumuxError(
        'IMAGE_TOO_LARGE',
        `image is ${width}×${height} = ${width * height} pixels; the limit is ${maxPixels}`,
      );
    }
    const lb = letterbox(width, height, { scale, buckets, allowUpscale });
    try {
      let pipeline = sharp(bytes, {
        limitInputPixels: maxPixels,
        failOn: failOnFor(meta.format),
        sequentialRead: true,
      })
        .rotate()
        .removeAlpha()
        .toColourspace('srgb');
      // 1:1 (a camera frame at the model's host scale, e.g. Co-DETR's 1280×720): decode only, no resampling
      if (lb.resizedWidth !== width || lb.resizedHeight !== height)
        pipeline = pipeline.resize(lb.resizedWidth, lb.resizedHeight, {
          fit: 'fill',
          kernel,
          fastShrinkOnLoad,
        });
      const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
      if (info.channels !== 3 || info.width !== lb.resizedWidth || info.height !== lb.resizedHeight) {
        throw new Error(`unexpected decode result ${info.width}×${info.height}×${info.channels}`);
      }
      return { width, height, letterbox: lb, pixels: data };
    } catch (err) {
      throw invalid(err, 'image could not be decoded');
    }
  };
}
