import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/log.js';
import { startReplicaServer, type RunningReplica } from '../../replica/server.js';
import { drawImage } from '../helpers/images.js';

/**
 * Slow clients cannot hold a replica: a body takes an admission slot only once complete or proven fast (the
 * gateway's rule, common/http/upload-pace.ts), a body arriving under the minimum upload rate is cut off with
 * 408 REQUEST_TIMEOUT; headers that never end get Node's 408. The real server and
 * engine (models/shapes), with short limits so the test is quick: 0.4 s grace, 50 kB/s, 0.6 s for headers.
 */

let replica: RunningReplica;
let jpeg: Buffer;
beforeAll(async () => {
  jpeg = await drawImage({ width: 320, height: 240, rects: [{ box: [40, 40, 200, 160], color: 'red' }] });
  replica = await startReplicaServer({
    // admission holds max(queue, batch) + batch = 2 requests
    engine: {
      modelDir: 'models/shapes',
      device: 'cpu',
      replicaId: 'slow',
      node: 'ws',
      maxBatch: 1,
      maxQueue: 1,
      threads: 1,
    },
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({ component: 'replica' }, () => undefined),
    http: { graceMs: 400, minBytesPerSecond: 50_000, headersTimeoutMs: 600, requestTimeoutMs: 5000 },
  });
  await replica.started;
}, 60_000);
afterAll(async () => {
  await replica?.close();
});

/** Opens a connection, writes `head`, then `chunk` every `everyMs` until answered; resolves with the answer. */
function trickle(
  head: string,
  chunk: string,
  everyMs: number,
): Promise<{ status: number; text: string; ms: number }> {
  const { port } = new URL(replica.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  const t0 = performance.now();
  let text = '';
  socket.on('error', () => undefined);
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.write(head);
  const timer = setInterval(() => {
    if (!socket.destroyed && chunk) socket.write(chunk);
  }, everyMs);
  return new Promise((resolve) => {
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ status: Number(text.split(' ')[1]), text, ms: performance.now() - t0 });
    });
  });
}

const detect = () =>
  fetch(`${replica.url}/v1/models/shapes/detect`, {
    method: 'POST',
    body: jpeg,
    headers: { 'content-type': 'image/jpeg' },
  });

describe('slow uploads', () => {
  it('slow bodies take no admission slot: ordinary requests answered meanwhile, the slow ones get 408', async () => {
    const head =
      'POST /v1/models/shapes/detect HTTP/1.1\r\nhost: x\r\ncontent-type: image/jpeg\r\ncontent-length: 100000\r\n\r\n';
    // more trickling clients than slots (2), on both work endpoints and as multipart
    const multipart =
      'POST /v1/models/shapes/detect HTTP/1.1\r\nhost: x\r\ncontent-type: multipart/form-data; boundary=XX\r\ncontent-length: 100000\r\n\r\n';
    const infer =
      'POST /v2/models/shapes/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n';
    const slow = [head, head, head, multipart, infer].map((h) => trickle(h, 'x'.repeat(1000), 100));
    await new Promise((r) => setTimeout(r, 150));
    for (let i = 0; i < 3; i++) {
      // with a slot per upload in progress every one of these was 429 QUEUE_FULL
      const meanwhile = await detect();
      expect(meanwhile.status, await meanwhile.text()).toBe(200);
    }
    const answers = await Promise.all(slow);
    for (const a of answers) {
      expect(a.status, a.text).toBe(408);
      expect(a.text).toContain('REQUEST_TIMEOUT');
      expect(a.ms).toBeLessThan(4000); // cut off at the rate check, not at the 5 s request timeout
    }
    expect((await detect()).status).toBe(200);
  });

  it('answers headers that never end with 408', async () => {
    const answer = await trickle('POST /v1/models/shapes/detect HTTP/1.1\r\nhost: x\r\n', '', 100);
    expect(answer.status).toBe(408);
    expect((await detect()).status).toBe(200);
  });

  it('a client that goes away mid-body is counted as 499 CLIENT_CLOSED, not as a 500 of the replica', async () => {
    const { port } = new URL(replica.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(
      'POST /v1/models/shapes/detect HTTP/1.1\r\nhost: x\r\ncontent-type: image/jpeg\r\ncontent-length: 100000\r\n\r\n',
    );
    socket.write(jpeg.subarray(0, 500));
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    const deadline = Date.now() + 5000;
    let codes: string[] = [];
    while (Date.now() < deadline) {
      const metrics = await (await fetch(`${replica.url}/metrics`)).text();
      codes = [...metrics.matchAll(/gpumux_requests_total\{[^}]*endpoint="detect"[^}]*code="(\d+)"/g)].map(
        (m) => m[1]!,
      );
      if (codes.includes('499') || codes.includes('500')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(codes).toContain('499');
    expect(codes).not.toContain('500');
    expect((await detect()).status).toBe(200);
  });
});
