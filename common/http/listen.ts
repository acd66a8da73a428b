import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';

/**
 * A Node request listener for a Hono app. Hono's listener returns a promise that settles its own errors (it
 * answers 500 itself); Node's `request` event ignores return values, so it is dropped here, visibly.
 */
export function honoListener(fetch: Hono['fetch']): (req: IncomingMessage, res: ServerResponse) => void {
  const listener = getRequestListener(fetch);
  return (req, res) => void listener(req, res);
}

/**
 * The host part of a URL for a server bound to `host`: a wildcard bind is reached on loopback, an IPv6
 * address goes in brackets (`::1` → `[::1]`).
 */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Binds `server` to host:port (0 = any free port); resolves with the URL it answers on, rejects when the bind
 * fails (port in use, bad host).
 *
 * @example
 * const url = await listen(createServer(handler), 0, '::1'); // "http://[::1]:40123"
 */
export function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const { port: bound } = server.address() as AddressInfo;
      resolve(`http://${urlHost(host)}:${bound}`);
    });
  });
}

/** Stops listening and cuts open connections (keep-alive ones would hold close() open). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Serves a Hono app on host:port; resolves with its URL and a close(). */
export async function listenApp(
  app: Hono,
  port: number,
  host: string,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(honoListener(app.fetch));
  const url = await listen(server, port, host);
  return { url, close: () => closeServer(server) };
}
