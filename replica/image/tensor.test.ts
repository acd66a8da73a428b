import { describe, expect, it } from 'vitest';
import { buildImageRow, buildPaddingMask } from './tensor.js';

// a 2×1 image (w×h): pixel 0 = (10, 20, 30), pixel 1 = (40, 50, 60), padded into a bucket [2, 3] (h, w)
const image = { pixels: Uint8Array.from([10, 20, 30, 40, 50, 60]), width: 2, height: 1 };

describe('buildImageRow', () => {
  it('UINT8 NHWC RGB: rows copied, padding bottom/right with padValue', () => {
    const row = buildImageRow(image, [2, 3], {
      datatype: 'UINT8',
      layout: 'NHWC',
      colorSpace: 'RGB',
      padValue: 7,
    });
    expect(Array.from(row)).toEqual([10, 20, 30, 40, 50, 60, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7]);
  });

  it('UINT8 NHWC full-width rows take the one-copy path', () => {
    const row = buildImageRow({ pixels: Uint8Array.from([1, 2, 3, 4, 5, 6]), width: 1, height: 2 }, [3, 1], {
      datatype: 'UINT8',
      layout: 'NHWC',
      colorSpace: 'RGB',
      padValue: 0,
    });
    expect(Array.from(row)).toEqual([1, 2, 3, 4, 5, 6, 0, 0, 0]);
  });

  it('UINT8 NHWC RGB that fills the bucket is the row itself: a Uint8Array view, no copy', () => {
    const pixels = Buffer.from([1, 2, 3, 4, 5, 6]);
    const row = buildImageRow({ pixels, width: 2, height: 1 }, [1, 2], {
      datatype: 'UINT8',
      layout: 'NHWC',
      colorSpace: 'RGB',
      padValue: 116,
    });
    expect(row.constructor).toBe(Uint8Array); // not Buffer: batch concatenation copies the constructor
    expect(Array.from(row)).toEqual([1, 2, 3, 4, 5, 6]);
    pixels[0] = 99;
    expect(row[0]).toBe(99); // same memory
  });

  it('UINT8 NHWC pads only the padding: a strip right of each row and the rows below', () => {
    const row = buildImageRow(image, [3, 3], {
      datatype: 'UINT8',
      layout: 'NHWC',
      colorSpace: 'RGB',
      padValue: 5,
    });
    expect(Array.from(row)).toEqual([10, 20, 30, 40, 50, 60, 5, 5, 5, ...Array<number>(18).fill(5)]);
  });

  it('UINT8 NHWC BGR swaps channels', () => {
    const row = buildImageRow(image, [1, 2], {
      datatype: 'UINT8',
      layout: 'NHWC',
      colorSpace: 'BGR',
      padValue: 0,
    });
    expect(Array.from(row)).toEqual([30, 20, 10, 60, 50, 40]);
  });

  it('FLOAT32 NCHW normalises with mean/std per channel, padding normalised too', () => {
    const row = buildImageRow(image, [1, 3], {
      datatype: 'FLOAT32',
      layout: 'NCHW',
      colorSpace: 'RGB',
      padValue: 0,
      mean: [10, 20, 30],
      std: [2, 4, 10],
    });
    // planes R, G, B of width 3: (10-10)/2, (40-10)/2, pad (0-10)/2 ...
    expect(Array.from(row)).toEqual([0, 15, -5, 0, 7.5, -5, 0, 3, -3]);
  });

  it('FLOAT32 NCHW BGR: plane 0 is blue with the blue mean/std', () => {
    const row = buildImageRow(image, [1, 2], {
      datatype: 'FLOAT32',
      layout: 'NCHW',
      colorSpace: 'BGR',
      padValue: 0,
      mean: [10, 20, 30],
      std: [2, 4, 10],
    });
    expect(Array.from(row)).toEqual([0, 3, 0, 7.5, 0, 15]);
  });

  it('FLOAT32 NHWC normalises interleaved', () => {
    const row = buildImageRow(image, [1, 2], {
      datatype: 'FLOAT32',
      layout: 'NHWC',
      colorSpace: 'RGB',
      padValue: 0,
      mean: [10, 20, 30],
      std: [2, 4, 10],
    });
    expect(Array.from(row)).toEqual([0, 0, 0, 15, 7.5, 3]);
  });

  it('refuses an image larger than the bucket', () => {
    expect(() =>
      buildImageRow(image, [1, 1], { datatype: 'UINT8', layout: 'NHWC', colorSpace: 'RGB', padValue: 0 }),
    ).toThrow(RangeError);
  });
});

describe('buildPaddingMask', () => {
  it('marks padding with 1', () => {
    expect(Array.from(buildPaddingMask(2, 1, [2, 3], 'UINT8'))).toEqual([0, 0, 1, 1, 1, 1]);
    expect(buildPaddingMask(2, 1, [2, 3], 'FLOAT32')).toBeInstanceOf(Float32Array);
  });
});
