import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HeldBody, STREAM_THRESHOLD_BYTES } from './body.js';

let close: (() => void) | undefined;
afterEach(() => close?.());

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
  close = () => server.close();
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
});
