import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CUT_WAIT_MS, cutConnections } from './cut-connections.js';
import { listen } from './listen.js';

const sockets: net.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

/** A raw client (an HTTP client would not stop half-way through its headers). */
async function connect(url: string, bytes: string): Promise<net.Socket> {
  const { port } = new URL(url);
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(bytes);
  return socket;
}

/** Whether the server ended the client's connection within `ms`. */
const closedWithin = (s: net.Socket, ms: number) =>
  new Promise<boolean>((resolve) => {
    if (s.closed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    s.once('close', () => (clearTimeout(timer), resolve(true)));
  });

async function serve(handler: Parameters<typeof createServer>[1] = (_req, res) => res.end('ok')) {
  const server: Server = createServer(handler);
  return { server, url: await listen(server, 0, '127.0.0.1') };
}

describe('cutConnections', () => {
  it('cuts a client holding half-sent headers once the grace passed, within the bound', async () => {
    const { server, url } = await serve();
    const client = await connect(url, 'POST /x HTTP/1.1\r\nhost: x\r\n'); // headers that never end
    await new Promise((r) => setTimeout(r, 50)); // the server has the connection
    const graceMs = 300;
    const t0 = performance.now();
    const cut = await cutConnections(server, { graceMs });
    const ms = performance.now() - t0;
    expect(cut).toBe(1);
    expect(ms).toBeGreaterThanOrEqual(graceMs - 20);
    expect(ms).toBeLessThan(graceMs + CUT_WAIT_MS);
    expect(await closedWithin(client, 500)).toBe(true);
    expect(server.listening).toBe(false);
  });

  it('closes an idle keep-alive connection at once: nothing to cut, no grace waited', async () => {
    const { server, url } = await serve();
    const client = await connect(url, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    await new Promise<void>((resolve) => client.once('data', () => resolve())); // answered, kept alive
    const t0 = performance.now();
    expect(await cutConnections(server, { graceMs: 5000 })).toBe(0);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await closedWithin(client, 500)).toBe(true);
  });

  it('cuts when `settled` resolves, before the grace; beforeCut runs first', async () => {
    const { server, url } = await serve(() => undefined); // a request that is never answered
    const client = await connect(url, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    const order: string[] = [];
    const settled = new Promise<void>((resolve) => setTimeout(resolve, 100));
    const t0 = performance.now();
    const cut = await cutConnections(server, {
      graceMs: 10_000,
      settled,
      beforeCut: () => order.push(`beforeCut ${client.destroyed ? 'closed' : 'open'}`),
    });
    expect(cut).toBe(1);
    expect(performance.now() - t0).toBeLessThan(100 + CUT_WAIT_MS);
    expect(order).toEqual(['beforeCut open']);
    expect(await closedWithin(client, 500)).toBe(true);
  });
});
