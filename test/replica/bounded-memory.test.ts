import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawImage } from '../helpers/images.js';
import { processPeakRssBytes, startReplica, type ReplicaProcess } from '../helpers/replica-process.js';

/**
 * The replica's memory stays bounded under a flood of maximum-size uploads (real replica process on
 * models/shapes): the process-wide body budget admits what fits and answers the rest 429 + Retry-After before
 * reading their bodies; multipart bodies stream through busboy. The bound is the one README.md states.
 */

const MAX_BODY = 16 * 1024 * 1024; // models/shapes manifest limits.maxBodyBytes
const CONCURRENT = 100;
/** README.md, "Replica memory bound". */
const RSS_BOUND = 768 * 1024 * 1024;

let replica: ReplicaProcess;
let raw: Buffer;
let multipart: Buffer;
beforeAll(async () => {
  replica = await startReplica({ model: 'models/shapes' });
  const jpeg = await drawImage({
    width: 640,
    height: 480,
    rects: [{ box: [100, 120, 300, 260], color: 'red' }],
  });
  // a good JPEG followed by padding up to the body limit: the decoder stops at its end marker
  raw = Buffer.concat([jpeg, Buffer.alloc(MAX_BODY - jpeg.byteLength)]);
  const head = Buffer.from(
    '--xyz\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n',
  );
  const tail = Buffer.from('\r\n--xyz--\r\n');
  multipart = Buffer.concat([head, raw.subarray(0, MAX_BODY - head.byteLength - tail.byteLength), tail]);
}, 60_000);
afterAll(async () => {
  if (replica) expect((await replica.stop()).code).toBe(0);
});

/** Sends `CONCURRENT` uploads at once; returns how many got each status ('error': the socket closed first). */
async function flood(body: Buffer, contentType: string): Promise<Map<string, number>> {
  const outcomes = await Promise.all(
    Array.from({ length: CONCURRENT }, async () => {
      // one connection each, as 100 separate clients would
      const client = new Client(replica.url);
      try {
        const res = await client.request({
          method: 'POST',
          path: '/v1/models/shapes/detect',
          body,
          headers: { 'content-type': contentType },
        });
        await res.body.arrayBuffer();
        return String(res.statusCode);
      } catch {
        return 'error'; // refused before its body was read: the server closed while it was still sending
      } finally {
        await client.close().catch(() => undefined);
      }
    }),
  );
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
  return counts;
}

describe('memory under 100 concurrent maximum-size uploads', () => {
  it.each([
    ['raw image bodies', () => raw, 'image/jpeg'],
    ['multipart bodies', () => multipart, 'multipart/form-data; boundary=xyz'],
  ])('%s: served or refused with 429, never 5xx, peak RSS under the stated bound', async (_w, body, type) => {
    const counts = await flood(body(), type);
    const summary = JSON.stringify(Object.fromEntries(counts));
    expect(counts.get('200') ?? 0, summary).toBeGreaterThan(0);
    for (const status of counts.keys()) expect(['200', '429', 'error'], summary).toContain(status);
    const peak = (await processPeakRssBytes(replica.process.pid!))!;
    expect(peak, `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB; ${summary}`).toBeLessThan(RSS_BOUND);
    expect((await fetch(`${replica.url}/v2/health/ready`)).status).toBe(200);
  });
});
