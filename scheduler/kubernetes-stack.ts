import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { CoordinationV1Api, CoreV1Api, KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../common/log.js';
import { loadModel } from '../models/manifest/load.js';
import type { SchedulerConfig } from './config/schema.js';
import { gatewayClientDemand } from './demand/client-demand.js';
import { createClusterInventory, type ClusterInventory } from './inventory/cluster-inventory.js';
import { createRefusedNodes, type RefusedNodes } from './inventory/refused-nodes.js';
import { createLeaseElector, type LeaseElector } from './leader/lease.js';
import { loadKubeClient, type KubeClientModule } from '../common/kube-client.js';
import { createKubernetesOrchestrator } from './orchestrators/kubernetes/orchestrator.js';
import type { Orchestrator } from './orchestrators/types.js';
import { configMapProfilePersistence } from './profiles/configmap-persistence.js';
import { fileProfilePersistence } from './profiles/file-persistence.js';
import { createProfileStore, type ProfileStore } from './profiles/store.js';
import type { Scheduler } from './pass-runner.js';
import { createScheduler, type SchedulerModel, type SchedulerOptions } from './scheduler.js';
import { schedulerMemory } from './models.js';

export interface KubernetesStackOptions {
  config: SchedulerConfig;
  /** Default: in-cluster service account, else ~/.kube/config. */
  kubeConfig?: KubeConfig;
  /** The replica pod template; default read from config.orchestrator.replicaTemplate. */
  template?: V1Pod;
  /** Lease holder identity; default POD_NAME, else host name + pid. */
  identity?: string;
  logger: Logger;
}

export interface KubernetesStack {
  scheduler: Scheduler;
  orchestrator: Orchestrator;
  elector: LeaseElector | null;
  isLeader: () => boolean;
  /** Nodes no longer placed on, and why (a replica there did not see exactly its GPU). */
  refusedNodes: RefusedNodes;
  /** Starts watching, leader election and the reconcile loop. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Models from the config, one per name and version; the declared footprint from `declaredFootprint` or the
 * manifest, the version from the entry or the manifest (a version the entry names is pinned on the replica).
 */
export async function schedulerModels(config: SchedulerConfig): Promise<SchedulerModel[]> {
  return Promise.all(
    config.models.map(async (m) => {
      let declared = m.declaredFootprint;
      let version = m.version;
      let memory: ReturnType<typeof schedulerMemory> | undefined; // per max batch (models.ts)
      if (declared === undefined || version === undefined) {
        const { manifest } = await loadModel(m.manifest);
        if (declared === undefined) memory = schedulerMemory(manifest, m.maxBatch);
        declared ??= manifest.memory.declaredBytes;
        version ??= manifest.version;
      }
      return {
        name: m.name,
        version,
        declaredBytes: declared,
        ...memory,
        ...(m.maxBatch !== undefined ? { maxBatch: m.maxBatch } : {}),
        manifest: m.manifest,
        ...(m.onnx ? { onnx: m.onnx } : {}),
        ...(m.url ? { url: m.url } : {}),
        ...(m.sha256 ? { sha256: m.sha256 } : {}),
        minReplicas: m.minReplicas,
        maxReplicas: m.maxReplicas,
        targetInFlightPerReplica: m.targetInFlightPerReplica,
        ...(m.targetP95 !== undefined ? { targetP95Seconds: m.targetP95 / 1000 } : {}),
        ...(m.trafficWeight !== undefined ? { trafficWeight: m.trafficWeight } : {}),
        ...(m.version !== undefined ? { pinVersion: true } : {}),
      };
    }),
  ); // no duplicate check here: the config schema already refuses the same name + version twice
}

/** The scheduler on a cluster: the configured GPU inventory (cluster-inventory.ts), pods, a Lease, profiles in a ConfigMap. */
export async function createKubernetesStack(options: KubernetesStackOptions): Promise<KubernetesStack> {
  const { config, logger } = options;
  const k8s = await loadKubeClient();
  const kc = options.kubeConfig ?? defaultKubeConfig(k8s);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const resources = kc.makeApiClient(k8s.ResourceV1Api);
  const template =
    options.template ?? k8s.loadYaml<V1Pod>(await readFile(config.orchestrator.replicaTemplate, 'utf8'));
  const identity = options.identity ?? process.env.POD_NAME ?? `${os.hostname()}-${process.pid}`;

  const refusedNodes = createRefusedNodes({ logger: logger.child({ component: 'inventory' }) });
  const inventory = createClusterInventory({
    gpus: config.gpus,
    gpuMode: config.orchestrator.gpuMode,
    core,
    resources,
    refusedNodes,
  });

  const orchestrator = replicaOrchestrator(config, {
    kubeConfig: kc,
    template,
    inventory,
    refusedNodes,
    logger,
  });
  const elector = leaseElector(config, {
    coordination: () => kc.makeApiClient(k8s.CoordinationV1Api),
    identity,
    logger,
    onLeader: () => void scheduler.reconcile().catch(() => undefined),
  });
  const isLeader = (): boolean => (elector ? elector.isLeader() : true);
  const profiles = profileStore(config, core);
  const scheduler = createScheduler({
    ...(await schedulerSettings(config)),
    inventory: () => inventory.read(),
    orchestrator,
    profiles,
    isLeader,
    logger: logger.child({ component: 'scheduler' }),
  });

  return {
    scheduler,
    orchestrator,
    elector,
    isLeader,
    refusedNodes,
    async start() {
      await profiles.load().catch((err: unknown) => logger.warn('profiles not loaded', { err }));
      await orchestrator.start();
      elector?.start();
      scheduler.start(Math.min(config.demand.interval, 5000));
    },
    async stop() {
      await scheduler.stop();
      await elector?.stop();
      await orchestrator.stop();
    },
  };
}

/** In-cluster credentials, or ~/.kube/config outside a cluster. */
function defaultKubeConfig(k8s: KubeClientModule): KubeConfig {
  const c = new k8s.KubeConfig();
  c.loadFromDefault();
  return c;
}

/** Measured footprints, kept in the configured file or (by default) a ConfigMap. */
function profileStore(config: SchedulerConfig, core: CoreV1Api): ProfileStore {
  const persistence = config.profiles.file
    ? fileProfilePersistence(config.profiles.file)
    : configMapProfilePersistence({
        core,
        namespace: config.orchestrator.namespace,
        name: config.profiles.configMap,
      });
  return createProfileStore({ margin: config.footprintMargin, persistence });
}

/**
 * Replica pods, their GPUs' products and UUIDs from the inventory; a replica that did not see exactly its GPU
 * gets its node refused (the node's runtime ignores the pinning: place nothing more there).
 */
function replicaOrchestrator(
  config: SchedulerConfig,
  options: {
    kubeConfig: KubeConfig;
    template: V1Pod;
    inventory: ClusterInventory;
    refusedNodes: RefusedNodes;
    logger: Logger;
  },
): Orchestrator {
  const { inventory, refusedNodes } = options;
  const orchestrator = createKubernetesOrchestrator({
    kubeConfig: options.kubeConfig,
    namespace: config.orchestrator.namespace,
    template: options.template,
    release: config.orchestrator.release,
    gpuMode: config.orchestrator.gpuMode,
    replicaPort: config.orchestrator.replicaPort,
    owner: config.orchestrator.owner,
    productOf: inventory.productOf,
    gpuUuidOf: inventory.uuidOf,
    nodeGpuUuidsOf: inventory.nodeUuidsOf,
    logger: options.logger.child({ component: 'orchestrator' }),
  });
  orchestrator.on((event) => {
    if (event.type === 'failed' && event.failure.kind === 'gpu-assignment')
      refusedNodes.refuse(event.replica.node, event.failure.message);
  });
  return orchestrator;
}

/** What the config says of the loop (models, policy, demand, timeouts), as the scheduler's options. */
async function schedulerSettings(
  config: SchedulerConfig,
): Promise<Omit<SchedulerOptions, 'inventory' | 'orchestrator' | 'profiles' | 'isLeader' | 'logger'>> {
  const { demand, orchestrator } = config;
  const token = demand.gatewayTokenFile
    ? (await readFile(demand.gatewayTokenFile, 'utf8')).trim()
    : undefined;
  return {
    models: await schedulerModels(config),
    policy: config.policy,
    reserveBytes: config.reserve,
    maxReplicasPerGpu: config.maxReplicasPerGpu,
    demand: {
      intervalMs: demand.interval,
      scaleUpCooldownMs: demand.scaleUpCooldown,
      scaleDownCooldownMs: demand.scaleDownCooldown,
    },
    ...(demand.gatewayUrl ? { clientDemand: gatewayClientDemand(demand.gatewayUrl, token) } : {}),
    drainTimeoutMs: orchestrator.drainTimeout,
    readyTimeoutMs: orchestrator.readyTimeout,
    maxUnavailable: config.rollout.maxUnavailable,
    startupBudgets: {
      scheduleMs: orchestrator.startup.schedule,
      pullMs: orchestrator.startup.pull,
      fetchMs: orchestrator.startup.fetch,
      stuckMs: orchestrator.startup.stuck,
      backoffMs: orchestrator.startup.backoff,
    },
  };
}

/** The Lease elector when leader election is on (else null: this instance always leads). */
function leaseElector(
  config: SchedulerConfig,
  options: {
    coordination: () => CoordinationV1Api;
    identity: string;
    logger: Logger;
    onLeader: () => void;
  },
): LeaseElector | null {
  const le = config.leaderElection;
  if (!le.enabled) return null;
  return createLeaseElector({
    coordination: options.coordination(),
    namespace: config.orchestrator.namespace,
    name: le.leaseName,
    identity: options.identity,
    leaseDurationMs: le.leaseDuration,
    renewDeadlineMs: le.renewDeadline,
    retryPeriodMs: le.retryPeriod,
    logger: options.logger.child({ component: 'leader' }),
    onChange: (leader) => {
      if (leader) options.onLeader();
    },
  });
}
