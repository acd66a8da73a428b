import type { Logger } from '../common/log.js';
import { createBodyBudget, type BodyBudget } from '../common/http/body-budget.js';
import { createBearerCheck } from './auth/bearer.js';
import type { GatewayConfig } from './config.js';
import { createInventory, type Inventory } from './inventory/inventory.js';
import { buildClusterView } from './operator/build-cluster-view.js';
import type { ClusterView } from './operator/cluster-view.js';
import { createGatewayMetrics, type GatewayMetrics } from './operator/metrics.js';
import { schedulerPlanSource } from './operator/plan-source.js';
import { createRequestWindow } from './operator/request-window.js';
import { countedVersionChoice } from './operator/version-metrics.js';
import { createAdmission, type Admission } from './proxy/admission.js';
import { createBlame } from './proxy/blame.js';
import { createForwarder, type ForwardObserver, type Forwarder } from './proxy/forward.js';
import { createRetryBudget } from './proxy/retry-budget.js';
import { createRouter, type Router } from './routing/router.js';
import { createVersionSplit, type ChooseVersion } from './routing/version-split.js';
import { systemClock, type Clock, type GatewayOptions } from './types.js';

/**
 * Everything behind the gateway's ports, shared by REST and gRPC: who exists and how loaded (inventory),
 * where a request goes (router, admission, version split), how it is sent (forwarder), and what is counted
 * (metrics, the request window behind the operator view).
 */
export interface Serving {
  inventory: Inventory;
  admission: Admission;
  forwarder: Forwarder;
  metrics: GatewayMetrics;
  /** What GET /v1/cluster serves. */
  clusterView: () => Promise<ClusterView>;
  /** Per answered client request: metrics and the request window. */
  observer: ForwardObserver;
  chooseVersion: ChooseVersion;
  /** Request-body bytes held at once across the process (REST bodies and gRPC messages alike). */
  bodyBudget: BodyBudget;
  /** Bearer check on the client API; undefined when auth is off. */
  authorize: ((authorization: string | undefined) => boolean) | undefined;
}

/** Built in a straight line: each part gets what it needs; the inventory's events reach later parts. */
export function createServing(options: GatewayOptions, config: GatewayConfig, logger: Logger): Serving {
  const clock = options.clock ?? systemClock;
  const { inventory, router, admission } = createRouting(config, clock, logger, options.random);
  const window = createRequestWindow({ windowMs: config.statsWindow, now: () => clock.now() });
  const plan =
    options.planSource ??
    (options.schedulerUrl ? schedulerPlanSource(options.schedulerUrl, logger) : () => Promise.resolve(null));
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
  const authTokens = options.authTokens ?? [];
  return {
    inventory,
    admission,
    forwarder: createConfiguredForwarder(config, inventory, admission, metrics, logger),
    metrics,
    clusterView,
    observer: {
      done(model, status, seconds) {
        metrics.observeRequest(model, status, seconds);
        window.record(model, seconds, status >= 500);
      },
    },
    chooseVersion: countedVersionChoice(createVersionSplit(config.versions), metrics.registry),
    bodyBudget: createBodyBudget(config.limits.maxHeldBodyBytes),
    authorize: authTokens.length > 0 ? createBearerCheck(authTokens) : undefined,
  };
}

/** The inventory (polled replicas, ejection), the router over it, and the per-model admission queue. */
function createRouting(
  config: GatewayConfig,
  clock: Clock,
  logger: Logger,
  random: (() => number) | undefined,
): { inventory: Inventory; router: Router; admission: Admission } {
  const { ejection } = config;
  const inventory = createInventory({
    pollIntervalMs: config.pollInterval,
    reserveBytes: config.reserve,
    criticalHeadroomBytes: config.routing.criticalHeadroom,
    ejection: {
      consecutiveFailures: ejection.consecutiveFailures,
      baseMs: ejection.base,
      maxMs: ejection.max,
      maxEjectionShare: ejection.maxEjectionShare,
    },
    clock,
    logger,
  });
  const maxInFlight = config.limits.maxInFlightPerReplica;
  const router = createRouter({
    weights: config.routing.weights,
    picker: config.routing.picker,
    capacityOf: (r) => (maxInFlight > 0 ? maxInFlight : 2 * (r.measurement.stats?.maxBatch ?? 1)),
    ...(random && { random }),
    logger,
  });
  const admission = createAdmission({ inventory, router, queuePerModel: config.limits.queuePerModel });
  inventory.on('change', () => admission.wakeAll());
  return { inventory, router, admission };
}

/** The forwarder with the configured retries, per-try timeout, retry budget and blame rules. */
function createConfiguredForwarder(
  config: GatewayConfig,
  inventory: Inventory,
  admission: Admission,
  metrics: GatewayMetrics,
  logger: Logger,
): Forwarder {
  const { retries, ejection } = config;
  return createForwarder({
    inventory,
    admission,
    blame: createBlame({
      inventory,
      latencyMultiple: ejection.deadlineLatencyMultiple,
      minChargedDeadlineMs: ejection.minChargedDeadline,
    }),
    maxRetries: retries.max,
    perTryTimeout: {
      multiple: retries.perTryTimeout.multiple,
      minMs: retries.perTryTimeout.min,
      maxMs: retries.perTryTimeout.max,
    },
    retryBudget: createRetryBudget({
      ratio: retries.budget.ratio,
      min: retries.budget.min,
      windowMs: retries.budget.window,
    }),
    logger,
    observer: metrics,
  });
}
