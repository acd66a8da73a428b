import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../../common/http/listen.js';
import { createHttpServer } from './server.js';

const servers: { close(): void }[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

describe("the replica's HTTP server", () => {
  it('keeps idle connections longer than clients do, so the client closes first', async () => {
    const server = createHttpServer(() => new Response('ok'), '127.0.0.1', {});
    servers.push(server);
    const url = await listen(server, 0, '127.0.0.1');
    const res = await fetch(url);
    await res.text();
    // what clients (undici, the gateway's pool) read to time out their side before the server does
    const timeout = Number(/timeout=(\d+)/.exec(res.headers.get('keep-alive') ?? '')?.[1]);
    expect(timeout).toBeGreaterThanOrEqual(60);
  });
});
