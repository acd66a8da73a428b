import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { drawImage } from '../helpers/images.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';

/**
 * SIGTERM ends a real replica process in bounded time whatever its clients do (issue #19): a keep-alive
 * connection left idle, headers that never end, a body stopped half-way, and a large upload that keeps above
 * the minimum rate and would outlive the drain (it held `server.close()` open until Node's 120 s request
 * timeout). After the drain deadline the replica cuts what remains, logs it, and exits 0.
 */

const DRAIN_S = 2;

let replica: ReplicaProcess | undefined;
const sockets: net.Socket[] = [];
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await replica?.stop('SIGKILL', 1000);
});

function open(port: number, head: string): net.Socket {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(head);
  sockets.push(socket);
  return socket;
}

describe('replica SIGTERM with hung clients', () => {
  it('exits 0 within the drain deadline plus a moment, cutting what is left', async () => {
    replica = await startReplica({ model: 'models/shapes', args: ['--drain-timeout', String(DRAIN_S)] });
    const r = replica;
    const jpeg = await drawImage({ width: 320, height: 240, rects: [] });
    const post = (length: number, type = 'image/jpeg') =>
      `POST /v1/models/shapes/detect HTTP/1.1\r\nhost: x\r\ncontent-type: ${type}\r\ncontent-length: ${length}\r\n\r\n`;

    // an idle keep-alive connection: one whole request answered, then nothing
    const idle = open(r.port, post(jpeg.byteLength));
    idle.write(jpeg);
    await new Promise<void>((resolve) => idle.once('data', () => resolve()));
    // headers that never end
    open(r.port, 'POST /v1/models/shapes/detect HTTP/1.1\r\nhost: x\r\n');
    // a body stopped half-way
    open(r.port, post(100_000)).write('x'.repeat(1000));
    // a 15 MB upload at ~200 kB/s: above the minimum rate (64 KiB/s), so only the drain deadline can end it
    const fast = open(r.port, post(15_000_000));
    const trickle = setInterval(() => fast.write(Buffer.alloc(4000, 1)), 20);
    try {
      await new Promise((res) => setTimeout(res, 800));
      const t0 = performance.now();
      const exit = await r.stop('SIGTERM', 30_000);
      const seconds = (performance.now() - t0) / 1000;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(seconds).toBeLessThan(DRAIN_S + 6);
      const msgs = r.logs().map((l) => l.msg);
      expect(msgs).toContain('drain timed out; closing with work outstanding');
      expect(msgs).toContain('closing connections still open after the drain');
    } finally {
      clearInterval(trickle);
    }
  }, 60_000);
});
