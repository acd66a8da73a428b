import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../models/manifest/load.js';
import { drawImage } from '../../test/helpers/images.js';
import { createPreprocessor } from './preprocess.js';

const read = (dir: string): Record<string, unknown> => {
  const json: unknown = JSON.parse(
    readFileSync(new URL(`../../models/${dir}/manifest.json`, import.meta.url), 'utf8'),
  );
  return json as Record<string, unknown>;
};

describe('createPreprocessor (real sharp)', () => {
  it('UINT8 NHWC: a bucket-sized row with the image top-left and zero padding below', async () => {
    const preprocess = createPreprocessor({ manifest: parseManifest(read('shapes')) });
    const frame = await preprocess(await drawImage({ width: 1280, height: 720, format: 'png' })); // mid grey
    expect(frame.letterbox.bucket).toEqual([480, 640]);
    const row = frame.rows.images as Uint8Array;
    expect(row).toBeInstanceOf(Uint8Array);
    expect(row.length).toBe(480 * 640 * 3);
    expect(row[(100 * 640 + 100) * 3]).toBe(128); // inside the 640×360 image
    expect(row[(400 * 640 + 100) * 3]).toBe(0); // padding
  });

  it('FLOAT32 NCHW: normalised with the manifest mean/std', async () => {
    const preprocess = createPreprocessor({ manifest: parseManifest(read('shapes-raw')) });
    const frame = await preprocess(await drawImage({ width: 640, height: 480, format: 'png' }));
    const row = frame.rows.images as Float32Array;
    expect(row.length).toBe(3 * 480 * 640);
    expect(row[0]).toBeCloseTo((128 - 123.675) / 58.395, 5); // R plane
    expect(row[480 * 640]).toBeCloseTo((128 - 116.28) / 57.12, 5); // G plane
  });

  it('builds the padding mask when the manifest declares one', async () => {
    const manifest = parseManifest({
      ...read('shapes'),
      inputs: {
        image: { name: 'images', datatype: 'UINT8', layout: 'NHWC' },
        mask: { name: 'img_masks', datatype: 'BOOL' },
      },
    });
    const frame = await createPreprocessor({ manifest })(
      await drawImage({ width: 1280, height: 720, format: 'png' }),
    );
    const mask = frame.rows.img_masks as Uint8Array;
    expect(mask.length).toBe(480 * 640);
    expect([mask[359 * 640], mask[360 * 640]]).toEqual([0, 1]);
  });
});
