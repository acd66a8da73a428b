import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../common/log.js';
import { orchestratorDiscovery } from '../scheduler/orchestrators/local/discovery.js';
import { createLocalOrchestrator } from '../scheduler/orchestrators/local/orchestrator.js';
import { DEFAULT_WARMUP_BUDGET_MS, type Orchestrator } from '../scheduler/orchestrators/types.js';
import { parseGpuSpec } from '../scheduler/inventory/gpu-spec.js';
import { gpuLookup } from '../scheduler/inventory/gpu-lookup.js';
import { loadModelByName, parseModelsSpec, schedulerMemory, splitVersion } from '../scheduler/models.js';
import type { Policy } from '../scheduler/placement/policy.js';
import { fileProfilePersistence } from '../scheduler/profiles/file-persistence.js';
import { createProfileStore } from '../scheduler/profiles/store.js';
import type { Scheduler } from '../scheduler/pass-runner.js';
import { createScheduler, type SchedulerModel } from '../scheduler/scheduler.js';
import { schedulerApp } from '../scheduler/http.js';
import { listenApp } from '../common/http/listen.js';
import { startGateway, type GatewayOptions, type RunningGatewayWithView } from '../gateway/index.js';
import { clientDemandFromView, type ClientDemandSource } from '../scheduler/demand/client-demand.js';
import type { Gpu } from '../scheduler/types.js';
import { portInUse } from './port-in-use.js';

export interface LocalStackOptions {
  /** `2x5GiB` or `node-a:2x24GiB,...` */
  gpus: string;
  /** `shapes=3` (exactly 3) or `shapes` (1 to as many as fit, following demand); comma-separated. */
  models: string;
  /** Real GPUs (CUDA_VISIBLE_DEVICES) instead of virtual ones on the CPU. */
  realGpus?: boolean;
  port: number;
  adminPort: number;
  /** The gateway's KServe v2 gRPC port (0 = any); undefined or null = no gRPC (replicas get none either). */
  grpcPort?: number | null;
  host: string;
  /** Scheduler's /v1/plan, /healthz, /metrics; null = not served. */
  schedulerPort: number | null;
  policy: Policy;
  reserveBytes: number;
  maxReplicasPerGpu: number;
  profilesFile?: string;
  replicaArgs?: string[];
  /**
   * Launch-to-ready budget of one replica (load + warm-up): the orchestrator never stops a replica within it,
   * and the scheduler starts the next replica on the same GPU only after it. Default DEFAULT_WARMUP_BUDGET_MS.
   */
  warmupBudgetMs?: number;
  logger: Logger;
}

export interface LocalStack {
  url: string;
  adminUrl: string;
  /** The gateway's gRPC `host:port`; null without gRPC. */
  grpcAddress: string | null;
  schedulerUrl: string | null;
  scheduler: Scheduler;
  orchestrator: Orchestrator;
  models: SchedulerModel[];
  /** Resolves when every wanted replica is ready. */
  ready(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export function defaultProfilesFile(): string {
  const base = process.env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'gpumux', 'profiles.json');
}

/** `gpumux up`: scheduler + local orchestrator + gateway, in one process with replica children. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { logger } = options;
  const gpus = parseGpuSpec(options.gpus, {
    virtual: !options.realGpus,
    product: options.realGpus ? 'cuda' : 'virtual',
  });
  const models = await loadStackModels(options.models);
  const orchestrator = createStackOrchestrator(options, gpus);
  let gateway: RunningGatewayWithView | null = null;
  const scheduler = await createStackScheduler(options, {
    models,
    gpus,
    orchestrator,
    // What clients see (the gateway's queue and p95 per model), read in process.
    clientDemand: async () => (gateway ? clientDemandFromView(await gateway.clusterView()) : new Map()),
  });

  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    await scheduler.stop();
    for (const c of closers.splice(0).reverse())
      await c().catch((err: unknown) => logger.warn('close failed', { err }));
    await orchestrator.stop();
  };
  try {
    await orchestrator.start();
    let schedulerUrl: string | null = null;
    if (options.schedulerPort !== null) {
      const http = await listenApp(
        schedulerApp({ scheduler, isLeader: () => true }),
        options.schedulerPort,
        options.host,
      );
      closers.push(http.close);
      schedulerUrl = http.url;
    }
    gateway = await startGateway(gatewayOptions(options, orchestrator, scheduler, models));
    const started = gateway;
    closers.push(() => started.close());
    scheduler.start(2000);
    return {
      url: gateway.url,
      adminUrl: gateway.adminUrl,
      grpcAddress: gateway.grpcAddress ?? null,
      schedulerUrl,
      scheduler,
      orchestrator,
      models,
      ready: (timeoutMs) => waitReady(orchestrator, models, started, timeoutMs),
      close,
    };
  } catch (err) {
    await close();
    throw (
      portInUse(err, {
        '--port': options.port,
        '--admin-port': options.adminPort,
        '--grpc-port': options.grpcPort,
        '--scheduler-port': options.schedulerPort,
      }) ?? err
    );
  }
}

/** Replica child processes on these GPUs. */
function createStackOrchestrator(options: LocalStackOptions, gpus: Gpu[]): Orchestrator {
  const grpc = options.grpcPort !== undefined && options.grpcPort !== null;
  return createLocalOrchestrator({
    logger: options.logger.child({ component: 'orchestrator' }),
    // With gRPC on, every replica serves it too, on a port of its own (`grpcAddress` of each replica).
    replicaArgs: [...(grpc ? ['--grpc-port', '0'] : []), ...(options.replicaArgs ?? [])],
    warmupBudgetMs: options.warmupBudgetMs ?? DEFAULT_WARMUP_BUDGET_MS,
    productOf: gpuLookup(() => gpus).productOf,
  });
}

/** The gateway in process: it discovers the orchestrator's replicas and reads the scheduler's plan directly. */
function gatewayOptions(
  options: LocalStackOptions,
  orchestrator: Orchestrator,
  scheduler: Scheduler,
  models: SchedulerModel[],
): GatewayOptions {
  const { grpcPort } = options;
  return {
    port: options.port,
    adminPort: options.adminPort,
    ...(grpcPort !== undefined && grpcPort !== null ? { grpcPort } : {}),
    host: options.host,
    discovery: orchestratorDiscovery(orchestrator),
    models: [...new Set(models.map((m) => m.name))],
    planSource: () => Promise.resolve(scheduler.plan()),
    config: { reserve: options.reserveBytes },
    logger: options.logger.child({ component: 'gateway' }),
  };
}

/** The `--models` spec's models: `shapes=3` runs exactly 3, `shapes` 1 to 64 following demand. */
async function loadStackModels(spec: string): Promise<SchedulerModel[]> {
  const models: SchedulerModel[] = [];
  for (const { name, count } of parseModelsSpec(spec)) {
    // `shapes@2`: the shapes folder run as version 2 (its replicas pinned to it), beside other versions.
    const { folder, version } = splitVersion(name);
    const loaded = await loadModelByName(folder);
    const fixed = count !== undefined;
    models.push({
      name: loaded.manifest.name,
      version: version ?? loaded.manifest.version,
      ...(version !== undefined ? { pinVersion: true } : {}),
      ...schedulerMemory(loaded.manifest), // the scheduler picks the max batch when the manifest has a table
      manifest: loaded.dir,
      minReplicas: fixed ? count : 1,
      maxReplicas: fixed ? count : 64,
      initialReplicas: fixed ? count : 1,
      targetInFlightPerReplica: 2,
    });
  }
  return models;
}

/** The scheduler over the local GPUs, with its profiles loaded from the profiles file. */
async function createStackScheduler(
  options: LocalStackOptions,
  parts: {
    models: SchedulerModel[];
    gpus: Gpu[];
    orchestrator: Orchestrator;
    clientDemand: ClientDemandSource;
  },
): Promise<Scheduler> {
  const { logger, warmupBudgetMs = DEFAULT_WARMUP_BUDGET_MS } = options;
  const profiles = createProfileStore({
    persistence: fileProfilePersistence(options.profilesFile ?? defaultProfilesFile()),
  });
  await profiles.load().catch((err: unknown) => logger.warn('profiles not loaded', { err }));
  const anyDemand = parts.models.some((m) => m.minReplicas !== m.maxReplicas);
  return createScheduler({
    models: parts.models,
    inventory: () => Promise.resolve(parts.gpus),
    orchestrator: parts.orchestrator,
    profiles,
    policy: options.policy,
    reserveBytes: options.reserveBytes,
    maxReplicasPerGpu: options.maxReplicasPerGpu,
    demand: anyDemand ? { intervalMs: 5000, scaleUpCooldownMs: 15_000, scaleDownCooldownMs: 60_000 } : null,
    clientDemand: parts.clientDemand,
    drainTimeoutMs: 15_000,
    readyTimeoutMs: warmupBudgetMs, // a replica still warming keeps its GPU to itself (one start at a time)
    logger: logger.child({ component: 'scheduler' }),
  });
}

/** Resolves once each model has its initial replicas ready and the gateway routes to them. */
async function waitReady(
  orchestrator: Orchestrator,
  models: SchedulerModel[],
  gateway: RunningGatewayWithView,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = orchestrator.replicas().filter((r) => r.phase === 'ready');
    if (
      models.every(
        (m) =>
          ready.filter((r) => r.model === m.name && r.version === m.version).length >=
          (m.initialReplicas ?? m.minReplicas),
      ) &&
      (await routable(
        gateway,
        ready.map((r) => r.id),
      ))
    )
      return;
    if (Date.now() > deadline) throw new Error(`replicas not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Whether the gateway routes to all these replicas: it learns a replica is ready from its own poll, a moment
 * after the orchestrator does (a request in between was answered NO_REPLICA).
 */
async function routable(gateway: RunningGatewayWithView, ids: string[]): Promise<boolean> {
  const view = await gateway.clusterView();
  const serving = new Set(
    view.gpus
      .flatMap((g) => g.replicas)
      .filter((r) => r.state === 'ready' && !r.ejected)
      .map((r) => r.id),
  );
  return ids.every((id) => serving.has(id));
}
