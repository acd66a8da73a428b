import { createServer } from 'node:http';
import { createLogger } from '../common/log.js';
import { closeServer, honoListener, listen } from '../common/http/listen.js';
import { createBearerCheck } from './auth/bearer.js';
import { parseGatewayConfig } from './config.js';
import { createClientHandler } from './proxy/client-handler.js';
import { clientApp } from './http/client-app.js';
import { modelStatsRoutes } from './http/model-stats.js';
import { createInventory } from './inventory/inventory.js';
import { buildClusterView } from './operator/build-cluster-view.js';
import type { ClusterView } from './operator/cluster-view.js';
import { adminApp } from './operator/admin-app.js';
import { createGatewayMetrics } from './operator/metrics.js';
import { schedulerPlanSource } from './operator/plan-source.js';
import { createRequestWindow } from './operator/request-window.js';
import { createAdmission } from './proxy/admission.js';
import { createBodyBudget } from '../common/http/body-budget.js';
import { createForwarder } from './proxy/forward.js';
import { createBlame } from './proxy/blame.js';
import { createRetryBudget } from './proxy/retry-budget.js';
import { createClientLimit } from './proxy/client-limit.js';
import { createDrain } from './http/drain.js';
import { createRouter } from './routing/router.js';
import { startGatewayGrpc } from './grpc/serve.js';
import type { RunningGrpcServer } from '../common/grpc/server.js';
import { createVersionSplit } from './routing/version-split.js';
import { countedVersionChoice } from './operator/version-metrics.js';
import { systemClock, type GatewayOptions, type RunningGateway } from './types.js';

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
  const {
    port = 8080,
    adminPort = 8090,
    grpcPort,
    host = '0.0.0.0',
    adminHost = host,
    discovery,
    models,
    planSource,
    schedulerUrl,
    authTokens = [],
    adminTokens = [],
    clock = systemClock,
  } = options;
  const config = parseGatewayConfig(options.config);
  const logger = options.logger ?? createLogger({ component: 'gateway' });

  // Built in a straight line: each part gets what it needs; the inventory's events reach later parts.
  const inventory = createInventory({
    pollIntervalMs: config.pollInterval,
    reserveBytes: config.reserve,
    criticalHeadroomBytes: config.routing.criticalHeadroom,
    ejection: {
      consecutiveFailures: config.ejection.consecutiveFailures,
      baseMs: config.ejection.base,
      maxMs: config.ejection.max,
      maxEjectionShare: config.ejection.maxEjectionShare,
    },
    clock,
    logger,
  });
  const maxInFlight = config.limits.maxInFlightPerReplica;
  const router = createRouter({
    weights: config.routing.weights,
    picker: config.routing.picker,
    capacityOf: (r) => (maxInFlight > 0 ? maxInFlight : 2 * (r.measurement.stats?.maxBatch ?? 1)),
    ...(options.random && { random: options.random }),
    logger,
  });
  const admission = createAdmission({ inventory, router, queuePerModel: config.limits.queuePerModel });
  inventory.on('change', () => admission.wakeAll());
  const window = createRequestWindow({ windowMs: config.statsWindow, now: () => clock.now() });
  const plan =
    planSource ?? (schedulerUrl ? schedulerPlanSource(schedulerUrl, logger) : () => Promise.resolve(null));
  const clusterView = async (): Promise<ClusterView> =>
    buildClusterView(
      inventory,
      window,
      await plan().catch(() => null),
      new Date(clock.now()),
      admission.depths(),
      router.lastFailures(),
      config.versions.split,
    );
  const metrics = createGatewayMetrics({
    inventory,
    queueDepths: () => admission.depths(),
    clusterTotals: async () => (await clusterView()).totals,
  });
  inventory.on('eject', (r) => metrics.ejection(r.measurement.stats?.model ?? '_unknown'));
  const forwarder = createForwarder({
    inventory,
    admission,
    blame: createBlame({
      inventory,
      latencyMultiple: config.ejection.deadlineLatencyMultiple,
      minChargedDeadlineMs: config.ejection.minChargedDeadline,
    }),
    maxRetries: config.retries.max,
    perTryTimeout: {
      multiple: config.retries.perTryTimeout.multiple,
      minMs: config.retries.perTryTimeout.min,
      maxMs: config.retries.perTryTimeout.max,
    },
    retryBudget: createRetryBudget({
      ratio: config.retries.budget.ratio,
      min: config.retries.budget.min,
      windowMs: config.retries.budget.window,
    }),
    logger,
    observer: metrics,
  });

  const authorize = authTokens.length > 0 ? createBearerCheck(authTokens) : undefined;
  const bodyBudget = createBodyBudget(config.limits.maxHeldBodyBytes);
  const drain = createDrain();
  const { requestTimeout, headersTimeout } = config.limits;
  const observer = {
    done(model: string, status: number, seconds: number) {
      metrics.observeRequest(model, status, seconds);
      window.record(model, seconds, status >= 500);
    },
  };
  const chooseVersion = countedVersionChoice(createVersionSplit(config.versions), metrics.registry);
  const client = clientApp({ inventory, models, draining: () => drain.draining });
  client.route('/', modelStatsRoutes({ inventory }));
  const clientServer = createServer(
    {
      maxHeaderSize: config.limits.maxHeaderBytes,
      keepAliveTimeout: 65_000,
      requestTimeout,
      headersTimeout: requestTimeout > 0 ? Math.min(headersTimeout, requestTimeout) : headersTimeout,
      // Node checks those timeouts only this often (30 s by default): check often enough for them to bite.
      connectionsCheckingInterval: Math.max(250, Math.min(30_000, Math.floor(headersTimeout / 4))),
    },
    drain.track(
      createClientHandler({
        app: client,
        forwarder,
        inventory,
        admission,
        bodyBudget,
        observer,
        defaultTimeoutMs: config.timeout,
        maxBodyBytes: config.limits.maxBodyBytes,
        uploadPace: { minBytesPerSecond: config.limits.minUploadRate, graceMs: config.limits.uploadGrace },
        clientLimit:
          config.limits.maxOutstandingPerClient > 0
            ? createClientLimit(config.limits.maxOutstandingPerClient)
            : undefined,
        maxFramesPerRequest: config.limits.maxFramesPerRequest,
        authorize,
        chooseVersion,
        logger,
      }),
    ),
  );
  const admin = adminApp({
    getClusterView: clusterView,
    metrics,
    tokens: adminTokens,
  });
  const adminServer = createServer(
    { maxHeaderSize: config.limits.maxHeaderBytes },
    honoListener(admin.fetch),
  );

  const url = await listen(clientServer, port, host);
  let adminUrl: string;
  try {
    adminUrl = await listen(adminServer, adminPort, adminHost);
  } catch (err) {
    await closeServer(clientServer);
    throw err;
  }
  const grpc =
    grpcPort === undefined
      ? undefined
      : await startGatewayGrpc({
          port: grpcPort,
          host,
          app: client,
          forwarder,
          inventory,
          observer,
          authorize,
          defaultTimeoutMs: config.timeout,
          maxMessageBytes: config.limits.maxBodyBytes,
          chooseVersion,
          bodyBudget,
        }).catch(async (err: unknown) => {
          await Promise.all([closeServer(clientServer), closeServer(adminServer)]);
          throw err;
        });
  await discovery.start((endpoints) => inventory.setEndpoints(endpoints));
  inventory.start();
  logger.info('gateway listening', { url, adminUrl, grpc: grpc?.address, auth: authorize !== undefined });

  let closing: Promise<void> | undefined;
  return {
    url,
    adminUrl,
    grpcAddress: grpc?.address,
    clusterView,
    close() {
      closing ??= (async () => {
        const { notReadyDelay, grace } = config.shutdown;
        logger.info('gateway draining', {
          inFlight: drain.inFlight(),
          notReadyDelayMs: notReadyDelay,
          graceMs: grace,
        });
        // REST and gRPC drain side by side to one deadline (notReadyDelay + grace), then cut what remains.
        const [cut, grpcDrained] = await Promise.all([
          drain.close(clientServer, { notReadyDelayMs: notReadyDelay, graceMs: grace }),
          grpc ? delay(notReadyDelay).then(() => grpcClosedWithin(grpc, grace)) : true,
        ]);
        // Upstream requests still open die with the pools; a poll to a hung replica is aborted.
        const rest = await settledWithin(
          Promise.all([discovery.stop(), closeServer(adminServer), inventory.stop()]),
          AFTER_DEADLINE_MS,
        );
        if (cut.requests > 0 || cut.connections > 0 || !grpcDrained || !rest)
          logger.warn('shutdown deadline passed: cut what remained', {
            requests: cut.requests,
            connections: cut.connections,
            grpcCallsCut: !grpcDrained,
            closeUnfinished: !rest, // discovery, operator port or pools did not close in time: left behind
          });
      })();
      return closing;
    },
  };
}

/** After the drain deadline, how long closing the rest (discovery, operator port, pools) may take. */
const AFTER_DEADLINE_MS = 1000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Closes the gRPC port; true when its calls finished within `graceMs`, false when the rest were cut. */
async function grpcClosedWithin(grpc: RunningGrpcServer, graceMs: number): Promise<boolean> {
  const started = performance.now();
  await grpc.close(graceMs);
  return performance.now() - started < graceMs; // close() cuts (forceShutdown) only once graceMs passed
}

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
