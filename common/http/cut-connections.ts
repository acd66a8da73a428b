import type { Server } from 'node:http';

/** How long cut connections get to report closed before the close stops waiting for them. */
export const CUT_WAIT_MS = 1000;
/** How often connections that went idle during the grace are closed. */
const IDLE_SWEEP_MS = 100;

export interface CutConnectionsOptions {
  /** Longest the connections still open may go on (requests finishing, answers being written) before the cut. */
  graceMs: number;
  /** Resolves when the grace has nothing left to wait for (every request in flight answered): cut then. */
  settled?: Promise<void> | undefined;
  /** Called just before the cut (e.g. to count the requests it ends). */
  beforeCut?: (() => void) | undefined;
}

/**
 * Shuts an HTTP server in bounded time whatever its clients do: stops accepting, closes idle keep-alive
 * connections at once and as they go idle, then — once every connection closed, `settled` resolved or
 * `graceMs` passed — cuts every connection still open (half-sent headers or bodies, slow answers). Resolves
 * with how many connections were cut, by `graceMs + CUT_WAIT_MS` at the latest.
 *
 * @example
 * const cut = await cutConnections(server, { graceMs: 1000 });
 * if (cut > 0) log.warn('cut connections still open', { connections: cut });
 */
export async function cutConnections(
  server: Server,
  { graceMs, settled, beforeCut }: CutConnectionsOptions,
): Promise<number> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  await firstOf([closed, ...(settled ? [settled] : [])], graceMs);
  clearInterval(sweep);
  beforeCut?.();
  const open = await new Promise<number>((resolve) =>
    server.getConnections((err, n) => resolve(err ? 0 : n)),
  );
  server.closeAllConnections();
  // closeAllConnections destroys every socket the server knows of; do not hang on one that lingers.
  await firstOf([closed], CUT_WAIT_MS);
  return open;
}

/** Resolves when the first of `promises` settles, or after `ms`. */
async function firstOf(promises: readonly Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([...promises.map((p) => p.catch(() => undefined)), timeout]);
  clearTimeout(timer);
}
