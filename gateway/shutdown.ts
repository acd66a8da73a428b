import type { Logger } from '../common/log.js';
import { closeServer } from '../common/http/listen.js';
import type { GatewayConfig } from './config.js';
import type { Drain } from './http/drain.js';
import type { Inventory } from './inventory/inventory.js';
import type { GatewayPorts } from './ports.js';
import type { Discovery } from './types.js';

/** After the drain deadline, how long closing the rest (discovery, operator port, pools) may take. */
const AFTER_DEADLINE_MS = 1000;

export interface ShutdownParts {
  shutdown: GatewayConfig['shutdown'];
  ports: GatewayPorts;
  drain: Drain;
  discovery: Discovery;
  inventory: Inventory;
  logger: Logger;
}

/**
 * The gateway's graceful close: REST and gRPC drain side by side to one deadline (notReadyDelay + grace), then
 * what remains is cut; discovery, the operator port and the upstream pools close after, within
 * AFTER_DEADLINE_MS. Logs what the deadline cut, if anything.
 */
export async function shutDownGateway({
  shutdown: { notReadyDelay, grace },
  ports,
  drain,
  discovery,
  inventory,
  logger,
}: ShutdownParts): Promise<void> {
  logger.info('gateway draining', {
    inFlight: drain.inFlight(),
    notReadyDelayMs: notReadyDelay,
    graceMs: grace,
  });
  const { grpc } = ports;
  const [cut, grpcDrained] = await Promise.all([
    drain.close(ports.client, { notReadyDelayMs: notReadyDelay, graceMs: grace }),
    // true when every gRPC call finished within the grace, false when the rest were cut
    grpc ? delay(notReadyDelay).then(() => grpc.close(grace)) : true,
  ]);
  // Upstream requests still open die with the pools; a poll to a hung replica is aborted.
  const rest = await settledWithin(
    Promise.all([discovery.stop(), closeServer(ports.admin), inventory.stop()]),
    AFTER_DEADLINE_MS,
  );
  if (cut.requests > 0 || cut.connections > 0 || !grpcDrained || !rest)
    logger.warn('shutdown deadline passed: cut what remained', {
      requests: cut.requests,
      connections: cut.connections,
      grpcCallsCut: !grpcDrained,
      closeUnfinished: !rest, // discovery, operator port or pools did not close in time: left behind
    });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits for `p` at most `ms`: true when it settled in time (a rejection counts as settled). */
function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms).unref())),
  ]).finally(() => clearTimeout(timer));
}
