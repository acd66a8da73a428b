import { describe, expect, it } from 'vitest';
import { GpumuxError } from '../errors.js';
import { closed, image, MULTIPART_TYPE, part } from '../../test/helpers/multipart-body.js';
import { imageBytes, readImageParts, type ImagePart, type ImagePartLimits } from './multipart.js';

const LIMITS: ImagePartLimits = { maxBytes: 1 << 20, maxFrames: 4 };

/** Parses `bytes` fed in slices of `sliceBytes`, as a socket would deliver them. */
function parse(
  bytes: Buffer,
  sliceBytes = bytes.length,
  limits = LIMITS,
  type = MULTIPART_TYPE,
): Promise<ImagePart[]> {
  return readImageParts(type, limits, async (write) => {
    for (let at = 0; at < bytes.length; at += sliceBytes) await write(bytes.subarray(at, at + sliceBytes));
  });
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GpumuxError);
  const { code, message } = err as GpumuxError;
  return { code, message };
}

describe('readImageParts (the one multipart parser)', () => {
  it('gives the image fields in order, byte-exact however the body is sliced, and skips other parts', async () => {
    const a = Buffer.alloc(70_000, 1);
    a[0] = 0xff;
    a[a.length - 1] = 0x42;
    const b = Buffer.from('second frame');
    const bytes = closed(
      image(a),
      part('Content-Disposition: form-data; name="note"', 'hello'),
      image('skipped', 'other'),
      image(b),
      part('Content-Disposition: form-data; name="image"', 'a text field'),
    );
    for (const slice of [1, 7, 1000, 65_536, bytes.length]) {
      const parts = await parse(bytes, slice);
      expect(parts.map((p) => imageBytes(p).toString('latin1'))).toEqual(
        [a, b, Buffer.from('a text field')].map((x) => x.toString('latin1')),
      );
      expect(parts.map((p) => p.type)).toEqual(['image/jpeg', 'image/jpeg', 'text/plain']);
    }
  });

  it('takes an image sent as a text field (curl -F "image=<photo.jpg") byte-exact, up to the frame limit', async () => {
    // every byte value, as a JPEG has: a text field is decoded by its charset, which must not change a byte
    const photo = Buffer.from(Array.from({ length: 60_000 }, (_, i) => (i * 7) % 256));
    const field = part('Content-Disposition: form-data; name="image"', photo);
    const limits = { maxBytes: 1 << 20, maxFrames: 12 };
    const parts = await parse(closed(...Array.from({ length: 12 }, () => field)), 65_536, limits);
    expect(parts).toHaveLength(12);
    for (const p of parts) expect(imageBytes(p).equals(photo)).toBe(true);
    // one more than the frame limit, as text fields: refused as images, not as "fields"
    const refused = await refusal(parse(closed(...Array.from({ length: 13 }, () => field)), 65_536, limits));
    expect(refused).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'too many images in one request; at most 12 images',
    });
    // a text field is decoded into a string before it is seen: large images must come as file parts
    const big = part('Content-Disposition: form-data; name="image"', Buffer.alloc(70_000, 0xff));
    expect(await refusal(parse(closed(big), 65_536, limits))).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message:
        'text field "image" is larger than 64 KiB: send images as file parts (curl -F image=@photo.jpg)',
    });
  });

  it('keeps an image delivered in one chunk as a slice of that chunk, not a copy', async () => {
    const bytes = closed(image(Buffer.alloc(1000, 7)));
    const [only] = await parse(bytes);
    expect(imageBytes(only!).buffer).toBe(bytes.buffer);
  });

  it.each([
    ['no closing boundary', image('abcdef').subarray(0, -2), 'BAD_REQUEST', /^malformed multipart body: /],
    ['ends inside part headers', Buffer.from('--XX\r\nContent-Disposition: form-da'), 'BAD_REQUEST', /./],
    ['a 20 KB part header', closed(image('x', 'f'.repeat(20_000))), 'BAD_REQUEST', /malformed multipart/],
    [
      'no image field',
      closed(part('Content-Disposition: form-data; name="x"', 'a')),
      'EMPTY_BODY',
      /"image"/,
    ],
    [
      'more files than frames',
      closed(...Array.from({ length: 5 }, () => image('x'))),
      'PAYLOAD_TOO_LARGE',
      /files/,
    ],
    [
      'more parts than frames and a few fields',
      closed(...Array.from({ length: 200 }, () => part('Content-Disposition: form-data; name="x"', 'a'))),
      'PAYLOAD_TOO_LARGE',
      /too many (parts|fields) in one request; at most 4 images/,
    ],
    ['an image over the part limit', closed(image(Buffer.alloc(2000))), 'PAYLOAD_TOO_LARGE', /image part/],
  ])('refuses %s', async (_what, bytes, code, message) => {
    const limits = { ...LIMITS, maxBytes: 1000 };
    for (const slice of [3, bytes.length]) {
      const refused = await refusal(parse(bytes, slice, limits));
      expect(refused.code).toBe(code);
      expect(refused.message).toMatch(message);
    }
  });

  it('refuses a content type without a usable boundary as malformed', async () => {
    const bytes = closed(image('x'));
    for (const type of [
      'multipart/form-data',
      'multipart/form-data; boundary="XX',
      'multipart/form-data; boundary=X=X',
    ])
      expect(await refusal(parse(bytes, bytes.length, LIMITS, type))).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('answers with the body read failure, and the half-parsed part does not take the process down', async () => {
    const gone = new GpumuxError('CLIENT_CLOSED', 'the client closed the request mid-body');
    const parsing = readImageParts(MULTIPART_TYPE, LIMITS, async (write) => {
      await write(image(Buffer.alloc(5000)).subarray(0, 3000)); // inside an image part
      throw gone;
    });
    await expect(parsing).rejects.toBe(gone);
    await new Promise((resolve) => setImmediate(resolve)); // an unheard 'error' would surface here
  });
});
