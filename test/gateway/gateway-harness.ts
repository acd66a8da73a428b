import { afterEach } from 'vitest';
import { createLogger } from '../../common/log.js';
import { startGateway, type GatewayConfigInput } from '../../gateway/index.js';
import type { Discovery, GatewayOptions, ReplicaEndpoint } from '../../gateway/types.js';

/** A discovery the test controls: set() replaces the replica set as Kubernetes or the local stack would. */
export function manualDiscovery(
  initial: ReplicaEndpoint[] = [],
): Discovery & { set(endpoints: ReplicaEndpoint[]): void } {
  let current = initial;
  let listener: ((e: ReplicaEndpoint[]) => void) | undefined;
  return {
    start(onChange) {
      listener = onChange;
      onChange(current);
      return Promise.resolve();
    },
    stop() {
      listener = undefined;
      return Promise.resolve();
    },
    set(endpoints) {
      current = endpoints;
      listener?.(endpoints);
    },
  };
}

export const quietLogger = createLogger({}, () => undefined);

export type GatewayForOptions = Partial<GatewayOptions> & {
  config?: GatewayConfigInput;
  readyReplicas?: number;
};

/** A gateway on loopback ports 0 with fast polling, waiting until `readyReplicas` replicas are ready. */
export async function gatewayFor(endpoints: ReplicaEndpoint[], options: GatewayForOptions = {}) {
  const { readyReplicas = endpoints.length, config, ...rest } = options;
  const gateway = await startGateway({
    port: 0,
    adminPort: 0,
    host: '127.0.0.1',
    discovery: manualDiscovery(endpoints),
    logger: quietLogger,
    ...rest,
    config: { pollInterval: 100, ...config },
  });
  await waitFor(async () => (await gateway.clusterView()).totals.readyReplicas >= readyReplicas, 15_000);
  return gateway;
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  stepMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Per-test teardown for a test file (call once, at its top level): `defer` registers a cleanup, run after
 * each test, last first; `gateway` starts gatewayFor over replicas (by id and url) and defers its close.
 */
export function closedAfterEach() {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const defer = (cleanup: () => Promise<void> | void): void => void cleanups.push(cleanup);
  async function gateway(replicas: readonly ReplicaEndpoint[], options: GatewayForOptions = {}) {
    const gw = await gatewayFor(
      replicas.map(({ id, url }) => ({ id, url })),
      options,
    );
    defer(() => gw.close());
    return gw;
  }
  return { defer, gateway };
}
