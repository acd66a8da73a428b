import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createBodyBudget } from '../../common/http/body-budget.js';
import { HeldBody, STREAM_THRESHOLD_BYTES } from './body.js';
import { Cancellation } from './cancellation.js';

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

/** Sends `chunks` (a pause between them) to a real server and hands the server-side request to `onRequest`. */
async function withRequest(
  chunks: Buffer[],
  headers: Record<string, string>,
  onRequest: (req: IncomingMessage) => Promise<void>,
): Promise<void> {
  let done!: Promise<void>;
  const server = createServer((req, res) => {
    done = onRequest(req).finally(() => res.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => {
    const req = request({ port, method: 'POST', headers }, (res) => res.resume().on('end', resolve));
    req.on('error', reject);
    let i = 0;
    const next = () => (i < chunks.length ? req.write(chunks[i++], () => setTimeout(next, 20)) : req.end());
    next();
  });
  await done;
}

describe('HeldBody', () => {
  it('streams a large declared body as it arrives and keeps it for a retry', async () => {
    const chunks = [Buffer.alloc(40_000, 1), Buffer.alloc(40_000, 2), Buffer.alloc(40_000, 3)];
    await withRequest(chunks, { 'content-length': '120000' }, async (req) => {
      const body = HeldBody.read(req, 1e6);
      expect(body.streams).toBe(true);
      const streamed: Buffer[] = [];
      const whole = body.whole(); // a retry waiting at the same time as the streaming attempt
      for await (const c of body.stream()) streamed.push(c);
      await whole;
      expect(Buffer.concat(streamed).equals(Buffer.concat(chunks))).toBe(true);
      expect(body.buffer()!.equals(Buffer.concat(chunks))).toBe(true);
      expect(body.length).toBe(120_000);
    });
  });

  it('sends small bodies whole', async () => {
    await withRequest([Buffer.from('hello')], { 'content-length': '5' }, async (req) => {
      const body = HeldBody.read(req, 1e6);
      await body.whole();
      expect(body.streams).toBe(false);
      expect(body.buffer()!.toString()).toBe('hello');
    });
    expect(STREAM_THRESHOLD_BYTES).toBe(64 * 1024);
  });

  it('refuses bodies over the limit, declared or chunked', async () => {
    await withRequest([Buffer.alloc(10)], { 'content-length': '10' }, async (req) => {
      await expect(HeldBody.read(req, 5).whole()).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    });
    await withRequest(
      [Buffer.alloc(600), Buffer.alloc(600)],
      { 'transfer-encoding': 'chunked' },
      async (req) => {
        const body = HeldBody.read(req, 1000);
        expect(body.streams).toBe(false);
        await expect(body.whole()).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      },
    );
  });

  it('takes declared bodies from the budget up front, chunked ones as they arrive, and gives them back', async () => {
    const budget = createBodyBudget(1000);
    await withRequest([Buffer.alloc(800)], { 'content-length': '800' }, async (req) => {
      const body = HeldBody.read(req, 1e6, budget);
      expect(budget.held()).toBe(800); // before a byte arrived
      await body.whole();
      await withRequest([Buffer.alloc(300)], { 'content-length': '300' }, async (other) => {
        await expect(HeldBody.read(other, 1e6, budget).whole()).rejects.toMatchObject({
          code: 'OVERLOADED',
          retryAfterSeconds: 1,
        });
      });
      await withRequest(
        [Buffer.alloc(100), Buffer.alloc(150)],
        { 'transfer-encoding': 'chunked' },
        async (other) => {
          const chunked = HeldBody.read(other, 1e6, budget);
          await expect(chunked.whole()).rejects.toMatchObject({ code: 'OVERLOADED' });
          chunked.release();
        },
      );
      expect(budget.held()).toBe(800);
      body.release();
      expect(budget.held()).toBe(0);
    });
  });

  it('stops holding a body when the request is cancelled (deadline)', async () => {
    const cancel = new Cancellation();
    await withRequest(
      [Buffer.alloc(10), Buffer.alloc(10), Buffer.alloc(10)],
      { 'content-length': '30' },
      async (req) => {
        const body = HeldBody.read(req, 1e6, createBodyBudget(1e6), cancel);
        setTimeout(() => cancel.cancel(true), 5);
        await expect(body.whole()).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
        expect(body.length).toBeLessThan(30);
      },
    );
  });

  it('takes a slot (ready) only once a streamed body proved its pace; below the minimum pace: 408', async () => {
    const pace = { minBytesPerSecond: 100_000, graceMs: 200 };
    // Fast: the first 64 KiB arrive at once, so it is ready to stream before it is complete.
    const fast = [Buffer.alloc(70_000, 1), Buffer.alloc(50_000, 2)];
    await withRequest(fast, { 'content-length': '120000' }, async (req) => {
      const body = HeldBody.read(req, 1e6, undefined, undefined, pace);
      await body.ready();
      expect(body.complete).toBe(false);
      await body.whole();
    });
    // Slow: 10 bytes every 20 ms is far below 100 kB/s: never ready, 408 once the grace period is over.
    const slow = Array.from({ length: 30 }, () => Buffer.alloc(10, 1));
    await withRequest(slow, { 'content-length': '120000' }, async (req) => {
      const body = HeldBody.read(req, 1e6, createBodyBudget(1e6), undefined, pace);
      const started = Date.now();
      await expect(body.ready()).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT', status: 408 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      body.release();
    });
  });
});
