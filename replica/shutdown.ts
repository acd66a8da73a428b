import type { Server } from 'node:http';
import type { RunningGrpcServer } from '../common/grpc/server.js';
import { cutConnections } from '../common/http/cut-connections.js';
import type { Logger } from '../common/log.js';
import type { Engine } from './engine/types.js';
import type { RequestTracker } from './http/request-tracking.js';

/** Draining and closing a replica, in the order that lets every admitted request be answered. */

/** After the drain, how long connections still open may finish writing an answer before they are cut. */
const CLOSE_GRACE_MS = 1000;

/** Wait for admitted requests and then the engine's queue, or until `timeoutMs`, whichever comes first. */
export async function drainAdmitted(
  tracker: RequestTracker,
  engine: Engine,
  log: Logger,
  timeoutMs: number,
): Promise<void> {
  log.info('draining', { inFlightRequests: tracker.inFlight(), inFlightFrames: engine.stats().inFlight });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    timer.unref();
  });
  const done = await Promise.race([
    tracker
      .idle()
      .then(() => engine.drain())
      .then(() => 'done' as const),
    timeout,
  ]);
  clearTimeout(timer);
  if (done === 'timeout')
    log.warn('drain timed out; closing with work outstanding', { inFlightRequests: tracker.inFlight() });
  else log.info('drained');
}

/** After the drain: stop gRPC, cut connections still open, release the model. */
export async function closeInOrder(
  grpc: RunningGrpcServer | undefined,
  server: Server,
  engine: Engine,
  log: Logger,
): Promise<void> {
  await grpc?.close(1000);
  // Clients still sending headers or a body, or a request that outlived the drain deadline, would hold the
  // port open: after a moment for answers being written, cut them, so SIGTERM ends in bounded time.
  const cut = await cutConnections(server, { graceMs: CLOSE_GRACE_MS });
  if (cut > 0) log.warn('closing connections still open after the drain', { connections: cut });
  await engine.close();
  log.info('closed');
}
