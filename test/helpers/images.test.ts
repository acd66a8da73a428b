import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { drawImage, drawPixels, hugePng, type Orientation } from './images.js';

/** Bounding box of the pixels matching the shapes model's "red" rule (R > 150, G < 100, B < 100). */
function redBox(data: Uint8Array, width: number, height: number): [number, number, number, number] | null {
  let x1 = Infinity,
    y1 = Infinity,
    x2 = -1,
    y2 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      if (data[i]! > 150 && data[i + 1]! < 100 && data[i + 2]! < 100) {
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x + 1);
        y2 = Math.max(y2, y + 1);
      }
    }
  }
  return x2 < 0 ? null : [x1, y1, x2, y2];
}

describe('test images', () => {
  it('draws rectangles at the given pixels', () => {
    const px = drawPixels({ width: 64, height: 48, rects: [{ box: [10, 12, 30, 26], color: 'red' }] });
    expect(redBox(px.data, 64, 48)).toEqual([10, 12, 30, 26]);
  });

  for (const format of ['jpeg', 'png', 'webp'] as const) {
    it(`encodes ${format} that decodes with the rectangle in place`, async () => {
      const buf = await drawImage({
        width: 320,
        height: 200,
        format,
        rects: [{ box: [40, 50, 200, 150], color: 'red' }],
      });
      const { data, info } = await sharp(buf).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const box = redBox(data, info.width, info.height)!;
      for (const [i, v] of [40, 50, 200, 150].entries()) expect(Math.abs(box[i]! - v)).toBeLessThanOrEqual(1);
    });
  }

  for (const orientation of [1, 2, 3, 4, 5, 6, 7, 8] as Orientation[]) {
    it(`stores pixels so that EXIF orientation ${orientation} displays the described image`, async () => {
      const buf = await drawImage({
        width: 300,
        height: 200,
        format: 'png',
        orientation,
        rects: [{ box: [20, 30, 120, 90], color: 'red' }],
      });
      const meta = await sharp(buf).metadata();
      expect(meta.orientation ?? 1).toBe(orientation);
      const { data, info } = await sharp(buf).autoOrient().raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([300, 200]);
      expect(redBox(data, info.width, info.height)).toEqual([20, 30, 120, 90]);
    });
  }

  it('makes a small PNG that declares 30000×30000 pixels', async () => {
    const png = hugePng();
    expect(png.length).toBeLessThan(200_000);
    const meta = await sharp(png, { limitInputPixels: false }).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([30_000, 30_000, 'png']);
  });
});
