import { createLogger } from '../common/log.js';
import { parseGatewayConfig } from './config.js';
import { createDrain } from './http/drain.js';
import type { ClusterView } from './operator/cluster-view.js';
import { openPorts } from './ports.js';
import { createServing } from './serving.js';
import { shutDownGateway } from './shutdown.js';
import type { GatewayOptions, RunningGateway } from './types.js';

export type { Clock, Discovery, GatewayOptions, ReplicaEndpoint, RunningGateway } from './types.js';
export type { ClusterView, PlanView } from './operator/cluster-view.js';
export { staticDiscovery } from './discovery/static.js';
export { kubernetesDiscovery } from './discovery/kubernetes.js';
export { parseGatewayConfig, type GatewayConfig, type GatewayConfigInput } from './config.js';

export interface RunningGatewayWithView extends RunningGateway {
  /** The same ClusterView GET /v1/cluster serves (for the local stack and tests). */
  clusterView(): Promise<ClusterView>;
}

/**
 * Starts the gateway: client API on `port`, operator API on `adminPort`, replicas from `discovery`.
 *
 * @example
 * const gw = await startGateway({ port: 0, adminPort: 0, discovery: staticDiscovery(['http://127.0.0.1:8081']) });
 * // … gw.url, gw.adminUrl …
 * await gw.close();
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGatewayWithView> {
  const config = parseGatewayConfig(options.config);
  const logger = options.logger ?? createLogger({ component: 'gateway' });
  const serving = createServing(options, config, logger);
  const drain = createDrain();
  const ports = await openPorts(options, config, serving, drain, logger);
  const { discovery } = options;
  const { inventory } = serving;
  await discovery.start((endpoints) => inventory.setEndpoints(endpoints));
  inventory.start();
  const { url, adminUrl, grpc } = ports;
  logger.info('gateway listening', {
    url,
    adminUrl,
    grpc: grpc?.address,
    auth: serving.authorize !== undefined,
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    adminUrl,
    grpcAddress: grpc?.address,
    clusterView: serving.clusterView,
    close: () =>
      (closing ??= shutDownGateway({
        shutdown: config.shutdown,
        ports,
        drain,
        discovery,
        inventory,
        logger,
      })),
  };
}
