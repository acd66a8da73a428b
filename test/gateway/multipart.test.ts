import { describe, expect, it } from 'vitest';
import { startFakeReplica, type FakeReplica } from './fake-replica.js';
import { closedAfterEach } from './gateway-harness.js';
import { closed, image, MULTIPART_TYPE, part } from '../helpers/multipart-body.js';

/**
 * Multipart detect requests at the gateway: parsed by the replica's own parser (common/http/multipart.ts)
 * from the held body, so what the replica would refuse is refused at the gateway, before a replica is asked.
 */

const { defer, gateway } = closedAfterEach();

async function fake(id: string, index: number): Promise<FakeReplica> {
  const f = await startFakeReplica({ id, gpu: { node: 'n', index, capacityBytes: 24 * 1024 ** 3 } });
  defer(() => f.close());
  return f;
}

const detect = (url: string, body: Buffer, type = MULTIPART_TYPE) =>
  fetch(`${url}/v1/models/shapes/detect`, { method: 'POST', body, headers: { 'content-type': type } });

describe('multipart detect at the gateway', () => {
  it('splits 4 frames of 200 KiB, byte counts exact, in order', async () => {
    const a = await fake('a', 0);
    const b = await fake('b', 1);
    const gw = await gateway([a, b]);
    const sizes = [200 * 1024, 200 * 1024 + 1, 200 * 1024 + 2, 200 * 1024 + 3];
    const res = await detect(gw.url, closed(...sizes.map((n) => image(Buffer.alloc(n, 0xd8)))));
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: { bytes: number }[] };
    expect(results.map((r) => r.bytes)).toEqual(sizes);
  });

  it('splits frames whose bytes contain the boundary string (only CRLF "--" boundary delimits a part)', async () => {
    // Node 20's Response.formData refused these with 400: with a short boundary, most 200 KiB JPEGs hold it.
    const a = await fake('a', 0);
    const gw = await gateway([a]);
    const frames = ['before XX after', 'XX--XX\r\nXX'];
    const res = await detect(gw.url, closed(...frames.map((f) => image(f))));
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: { bytes: number }[] };
    expect(results.map((r) => r.bytes)).toEqual(frames.map((f) => f.length));
  });

  it.each([
    [
      'more parts than frames allowed (200 text fields)',
      closed(...Array.from({ length: 200 }, () => part('Content-Disposition: form-data; name="x"', 'a'))),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['a 20 KB part header', closed(image('x', 'f'.repeat(20_000))), 400, 'BAD_REQUEST'],
    ['no image field', closed(part('Content-Disposition: form-data; name="x"', 'a')), 400, 'EMPTY_BODY'],
    [
      'two images, the second cut off',
      Buffer.concat([image('abc'), image('xyz').subarray(0, -2)]),
      400,
      'BAD_REQUEST',
    ],
  ])('refuses %s itself, no replica asked', async (_what, body, status, code) => {
    const a = await fake('a', 0);
    const gw = await gateway([a]);
    const res = await detect(gw.url, body);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error: { code } });
    expect(a.received).toHaveLength(0);
  });

  it('refuses two images under a boundary that is not a token (unquoted "="), as the replica would', async () => {
    const a = await fake('a', 0);
    const gw = await gateway([a]);
    const body = Buffer.from(
      closed(image('one'), image('two')).toString('latin1').replaceAll('--XX', '--X=X'),
      'latin1',
    );
    const res = await detect(gw.url, body, 'multipart/form-data; boundary=X=X');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect(a.received).toHaveLength(0);
  });

  it('refuses more images than limits.maxFramesPerRequest with 413', async () => {
    const a = await fake('a', 0);
    const gw = await gateway([a], { config: { limits: { maxFramesPerRequest: 2 } } });
    const res = await detect(gw.url, closed(image('1'), image('2'), image('3')));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(a.received).toHaveLength(0);
  });
});
