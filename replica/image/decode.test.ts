import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { drawImage, hugePng } from '../../test/helpers/images.js';
import { createDecoder } from './decode.js';

const SHAPES = {
  scale: [640, 480] as const,
  buckets: [
    [480, 640],
    [640, 480],
  ] as const,
  maxPixels: 40_000_000,
};

/** RGB at (x, y) of decoded pixels. */
function at(d: { pixels: Buffer; letterbox: { resizedWidth: number } }, x: number, y: number): number[] {
  const i = (y * d.letterbox.resizedWidth + x) * 3;
  return [d.pixels[i]!, d.pixels[i + 1]!, d.pixels[i + 2]!];
}

describe('createDecoder (real sharp)', () => {
  const decode = createDecoder(SHAPES);

  it('decodes and resizes keep-ratio to the letterbox size', async () => {
    const jpeg = await drawImage({
      width: 1280,
      height: 720,
      rects: [{ box: [200, 200, 600, 500], color: 'red' }],
    });
    const d = await decode(jpeg);
    expect([d.width, d.height, d.letterbox.resizedWidth, d.letterbox.resizedHeight]).toEqual([
      1280, 720, 640, 360,
    ]);
    expect(d.pixels.length).toBe(640 * 360 * 3);
    const [r, g, b] = at(d, 200, 175); // inside the red rectangle, in resized pixels
    expect(r).toBeGreaterThan(200);
    expect(g! + b!).toBeLessThan(60);
  });

  it('copies a frame already at the host scale without resampling (Co-DETR: 1280×720 into [720, 1280])', async () => {
    const raw = Buffer.alloc(1280 * 720 * 3);
    for (let i = 0, s = 1; i < raw.length; i++) raw[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    const png = await sharp(raw, { raw: { width: 1280, height: 720, channels: 3 } })
      .png()
      .toBuffer();
    const codetr = createDecoder({
      scale: [1280, 800],
      buckets: [
        [720, 1280],
        [800, 1280],
      ],
      maxPixels: 40_000_000,
    });
    const d = await codetr(png);
    expect([d.letterbox.resizedWidth, d.letterbox.resizedHeight, d.letterbox.scaleX]).toEqual([1280, 720, 1]);
    expect(d.pixels.equals(raw)).toBe(true); // lossless in, identical out: no filter touched it
  });

  it('applies EXIF orientation before anything else', async () => {
    // displayed 480×640 (portrait), stored 640×480 with orientation 6
    const jpeg = await drawImage({
      width: 480,
      height: 640,
      rects: [{ box: [0, 0, 100, 50], color: 'blue' }],
      orientation: 6,
    });
    expect((await sharp(jpeg).metadata()).width).toBe(640);
    const d = await decode(jpeg);
    expect([d.width, d.height]).toEqual([480, 640]);
    expect(d.letterbox.bucket).toEqual([640, 480]);
    expect(at(d, 10, 10)[2]).toBeGreaterThan(200);
    expect(at(d, 10, 200)[2]).toBeLessThan(150);
  });

  it('drops alpha and converts greyscale to three channels', async () => {
    const rgba = await sharp({
      create: { width: 64, height: 48, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } },
    })
      .png()
      .toBuffer();
    const grey = await sharp({
      create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 90, b: 90 } },
    })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect((await decode(rgba)).pixels.length).toBe(640 * 480 * 3);
    const g = await decode(grey);
    expect(g.pixels.length).toBe(640 * 480 * 3);
    expect(at(g, 5, 5)).toEqual([90, 90, 90]);
  });

  it('refuses a 30000×30000 PNG from its header with IMAGE_TOO_LARGE', async () => {
    const bomb = hugePng();
    expect(bomb.length).toBeLessThan(200_000);
    await expect(decode(bomb)).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
      message: expect.stringContaining('30000×30000'),
    });
  });

  it.each([
    ['empty bytes', Buffer.alloc(0)],
    ['text', Buffer.from('definitely not an image')],
  ])('refuses %s with INVALID_IMAGE', async (_name, bytes) => {
    await expect(decode(bytes)).rejects.toMatchObject({ code: 'INVALID_IMAGE' });
  });

  it('refuses SVG (a vector format libvips could render) with INVALID_IMAGE', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>',
    );
    await expect(decode(svg)).rejects.toMatchObject({
      code: 'INVALID_IMAGE',
      message: expect.stringContaining('svg'),
    });
  });

  it('refuses a truncated JPEG with INVALID_IMAGE', async () => {
    const jpeg = await drawImage({
      width: 640,
      height: 480,
      rects: [{ box: [10, 10, 50, 50], color: 'green' }],
    });
    await expect(decode(jpeg.subarray(0, Math.floor(jpeg.length / 2)))).rejects.toMatchObject({
      code: 'INVALID_IMAGE',
    });
  });
});
