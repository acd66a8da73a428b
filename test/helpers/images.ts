import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

/**
 * Test images for the shapes detector: solid rectangles at known coordinates on a plain background, encoded
 * as JPEG/PNG/WebP with sharp (or left as raw RGB pixels for v2 tensors), optionally stored rotated with an
 * EXIF orientation so that the *displayed* image is the one described.
 *
 * @example
 * const jpeg = await drawImage({ width: 640, height: 480, rects: [{ box: [100, 120, 300, 260], color: 'red' }] });
 */

export type Rgb = readonly [number, number, number];

/** Colours the shapes detector knows (label order of models/shapes: red, green, blue). */
export const COLORS = {
  red: [255, 0, 0],
  green: [0, 255, 0],
  blue: [0, 0, 255],
} as const satisfies Record<string, Rgb>;

export type ColorName = keyof typeof COLORS;

export interface Rect {
  /** xyxy in displayed-image pixels; the rectangle fills x1 ≤ x < x2, y1 ≤ y < y2. */
  box: readonly [number, number, number, number];
  color: ColorName | Rgb;
}

/** A rectangle placed by fractions of a `width`×`height` image (rounded to whole pixels), so it scales with the image. */
export function rectAt(
  width: number,
  height: number,
  [fx1, fy1, fx2, fy2]: readonly [number, number, number, number],
  color: Rect['color'],
): Rect {
  return {
    box: [
      Math.round(width * fx1),
      Math.round(height * fy1),
      Math.round(width * fx2),
      Math.round(height * fy2),
    ],
    color,
  };
}

export type ImageFormat = 'jpeg' | 'png' | 'webp';

/** EXIF orientation 1..8 (1 = as stored). */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

export interface DrawPixelsOptions {
  width: number;
  height: number;
  rects?: readonly Rect[];
  /** Mid grey by default: neither red, green nor blue to the detector. */
  background?: Rgb;
}

export interface DrawImageOptions extends DrawPixelsOptions {
  format?: ImageFormat;
  /** Encoder quality for JPEG/WebP (default 95: sharp edges keep boxes within a pixel). */
  quality?: number;
  /** Store the pixels so that a viewer applying this EXIF orientation shows the described image. */
  orientation?: Orientation;
}

/** Raw RGB pixels (HWC, uint8) of the described image. */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
}

const MID_GREY: Rgb = [128, 128, 128];

function rgbOf(color: ColorName | Rgb): Rgb {
  return typeof color === 'string' ? COLORS[color] : color;
}

export function drawPixels({ width, height, rects = [], background = MID_GREY }: DrawPixelsOptions): Pixels {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`drawPixels: bad size ${width}x${height}`);
  }
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(background, i * 3);
  for (const rect of rects) {
    const [x1, y1, x2, y2] = rect.box.map(Math.round) as [number, number, number, number];
    const rgb = rgbOf(rect.color);
    for (let y = Math.max(0, y1); y < Math.min(height, y2); y++) {
      for (let x = Math.max(0, x1); x < Math.min(width, x2); x++) data.set(rgb, (y * width + x) * 3);
    }
  }
  return { data, width, height };
}

/**
 * Where displayed pixel (x, y) of a W×H image lives in the stored image, for each EXIF orientation
 * (orientations 5–8 swap the stored width and height).
 */
function storedCoordinate(o: Orientation, x: number, y: number, w: number, h: number): [number, number] {
  switch (o) {
    case 1:
      return [x, y];
    case 2:
      return [w - 1 - x, y];
    case 3:
      return [w - 1 - x, h - 1 - y];
    case 4:
      return [x, h - 1 - y];
    case 5:
      return [y, x];
    case 6:
      return [y, w - 1 - x];
    case 7:
      return [h - 1 - y, w - 1 - x];
    case 8:
      return [h - 1 - y, x];
  }
}

/** The stored pixels that display as `displayed` once the viewer applies orientation `o`. */
export function storeForOrientation(displayed: Pixels, o: Orientation): Pixels {
  if (o === 1) return displayed;
  const { width: w, height: h } = displayed;
  const swap = o >= 5;
  const sw = swap ? h : w;
  const sh = swap ? w : h;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [sx, sy] = storedCoordinate(o, x, y, w, h);
      const from = (y * w + x) * 3;
      data.set(displayed.data.subarray(from, from + 3), (sy * sw + sx) * 3);
    }
  }
  return { data, width: sw, height: sh };
}

/** Encodes raw RGB pixels; `orientation` is written as the EXIF tag as is (pixels are not moved). */
export async function encodePixels(
  pixels: Pixels,
  {
    format = 'jpeg',
    quality = 95,
    orientation,
  }: { format?: ImageFormat; quality?: number; orientation?: Orientation } = {},
): Promise<Buffer> {
  let image = sharp(Buffer.from(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength), {
    raw: { width: pixels.width, height: pixels.height, channels: 3 },
  });
  if (orientation !== undefined) image = image.withMetadata({ orientation });
  switch (format) {
    case 'jpeg':
      // 4:4:4 chroma keeps colour edges where they were drawn (4:2:0 would smear them by a pixel).
      return image.jpeg({ quality, chromaSubsampling: '4:4:4' }).toBuffer();
    case 'png':
      return image.png({ compressionLevel: 6 }).toBuffer();
    case 'webp':
      return image.webp({ quality, lossless: quality >= 100 }).toBuffer();
  }
}

/** Draws the described (displayed) image and encodes it, stored rotated for `orientation` when given. */
export async function drawImage(options: DrawImageOptions): Promise<Buffer> {
  const { format = 'jpeg', quality = 95, orientation } = options;
  const displayed = drawPixels(options);
  const stored = orientation === undefined ? displayed : storeForOrientation(displayed, orientation);
  return encodePixels(stored, { format, quality, ...(orientation === undefined ? {} : { orientation }) });
}

/**
 * A valid PNG that declares `width`×`height` pixels (1-bit grey, all black) yet is small on the wire
 * (30000×30000 → about 110 KB): a decompression bomb for pixel-limit tests. Built by hand so that making it
 * costs no decoder memory.
 */
export function hugePng(width = 30_000, height = 30_000): Buffer {
  const rowBytes = Math.ceil(width / 8) + 1; // filter byte + packed bits
  const idat = deflateSync(Buffer.alloc(rowBytes * height), { level: 9 });
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([1, 0, 0, 0, 0], 8); // bit depth 1, colour type 0 (grey), deflate, filter 0, no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}
