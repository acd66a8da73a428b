import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../common/log.js';
import { loadModel } from '../models/manifest/load.js';
import type { SchedulerConfig } from './config/schema.js';
import { gatewayClientDemand } from './demand/client-demand.js';
import { gpusFromNodes } from './inventory/from-nodes.js';
import { uuidsFromResourceSlices, withUuids } from './inventory/from-resource-slices.js';
import { createRefusedNodes, type RefusedNodes } from './inventory/refused-nodes.js';
import { createLeaseElector, type LeaseElector } from './leader/lease.js';
import { loadKubeClient } from '../common/kube-client.js';
import { createKubernetesOrchestrator } from './orchestrators/kubernetes/orchestrator.js';
import type { Orchestrator } from './orchestrators/types.js';
import { configMapProfilePersistence } from './profiles/configmap-persistence.js';
import { fileProfilePersistence } from './profiles/file-persistence.js';
import { createProfileStore } from './profiles/store.js';
import type { Scheduler } from './pass-runner.js';
import { createScheduler, type SchedulerModel } from './scheduler.js';
import { schedulerMemory } from './models.js';
import type { Gpu } from './types.js';

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

/** The scheduler on a cluster: node-label inventory, pods, a Lease, profiles in a ConfigMap. */
export async function createKubernetesStack(options: KubernetesStackOptions): Promise<KubernetesStack> {
  const { config, logger } = options;
  const k8s = await loadKubeClient();
  const kc =
    options.kubeConfig ??
    (() => {
      const c = new k8s.KubeConfig();
      c.loadFromDefault();
      return c;
    })();
  const namespace = config.orchestrator.namespace;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const resources = kc.makeApiClient(k8s.ResourceV1Api);
  const template =
    options.template ?? k8s.loadYaml<V1Pod>(await readFile(config.orchestrator.replicaTemplate, 'utf8'));
  const identity = options.identity ?? process.env.POD_NAME ?? `${os.hostname()}-${process.pid}`;

  let gpus: Gpu[] = [];
  const refusedNodes = createRefusedNodes({ logger: logger.child({ component: 'inventory' }) });
  const inventory = async (): Promise<Gpu[]> => {
    if (config.gpus.source === 'static') {
      gpus = config.gpus.static.flatMap((s) =>
        Array.from({ length: s.count }, (_, index) => ({
          node: s.node,
          index,
          memoryBytes: s.memory,
          product: s.product,
          ...(s.uuids?.[index] ? { uuid: s.uuids[index] } : {}),
        })),
      );
    } else {
      const nodes = await core.listNode();
      gpus = gpusFromNodes(nodes.items, {
        nodeSelector: config.gpus.nodeSelector,
        memoryBytes: config.gpus.memory,
        notReadyGraceMs: config.gpus.notReadyGrace,
      });
    }
    // dra: claims select a GPU by UUID, which the DRA driver's ResourceSlices publish
    if (config.orchestrator.gpuMode === 'dra') {
      const slices = await resources.listResourceSlice();
      gpus = withUuids(gpus, uuidsFromResourceSlices(slices.items));
    }
    return refusedNodes.filter(gpus);
  };
  const productOf = (node: string): string => gpus.find((g) => g.node === node)?.product ?? 'unknown';
  const gpuUuidOf = (node: string, index: number): string | undefined =>
    gpus.find((g) => g.node === node && g.index === index)?.uuid;

  const orchestrator = createKubernetesOrchestrator({
    kubeConfig: kc,
    namespace,
    template,
    release: config.orchestrator.release,
    gpuMode: config.orchestrator.gpuMode,
    replicaPort: config.orchestrator.replicaPort,
    owner: config.orchestrator.owner,
    productOf,
    gpuUuidOf,
    nodeGpuUuidsOf: (node) => {
      const uuids: string[] = []; // by index; '' where a GPU's UUID is not known
      for (const g of gpus) if (g.node === node) uuids[g.index] = g.uuid ?? '';
      return Array.from(uuids, (u) => u ?? '');
    },
    logger: logger.child({ component: 'orchestrator' }),
  });
  // A replica that did not see exactly its GPU: the node's runtime ignores the pinning; place nothing more there.
  orchestrator.on((event) => {
    if (event.type === 'failed' && event.failure.kind === 'gpu-assignment')
      refusedNodes.refuse(event.replica.node, event.failure.message);
  });
  const le = config.leaderElection;
  const elector = le.enabled
    ? createLeaseElector({
        coordination: kc.makeApiClient(k8s.CoordinationV1Api),
        namespace,
        name: le.leaseName,
        identity,
        leaseDurationMs: le.leaseDuration,
        renewDeadlineMs: le.renewDeadline,
        retryPeriodMs: le.retryPeriod,
        logger: logger.child({ component: 'leader' }),
        onChange: (leader) => {
          if (leader) void scheduler.reconcile().catch(() => undefined);
        },
      })
    : null;
  const isLeader = (): boolean => (elector ? elector.isLeader() : true);
  const persistence = config.profiles.file
    ? fileProfilePersistence(config.profiles.file)
    : configMapProfilePersistence({ core, namespace, name: config.profiles.configMap });
  const profiles = createProfileStore({ margin: config.footprintMargin, persistence });
  const scheduler = createScheduler({
    models: await schedulerModels(config),
    inventory,
    orchestrator,
    profiles,
    policy: config.policy,
    reserveBytes: config.reserve,
    maxReplicasPerGpu: config.maxReplicasPerGpu,
    demand: {
      intervalMs: config.demand.interval,
      scaleUpCooldownMs: config.demand.scaleUpCooldown,
      scaleDownCooldownMs: config.demand.scaleDownCooldown,
    },
    ...(config.demand.gatewayUrl
      ? {
          clientDemand: gatewayClientDemand(
            config.demand.gatewayUrl,
            config.demand.gatewayTokenFile
              ? (await readFile(config.demand.gatewayTokenFile, 'utf8')).trim()
              : undefined,
          ),
        }
      : {}),
    isLeader,
    drainTimeoutMs: config.orchestrator.drainTimeout,
    readyTimeoutMs: config.orchestrator.readyTimeout,
    maxUnavailable: config.rollout.maxUnavailable,
    startupBudgets: {
      scheduleMs: config.orchestrator.startup.schedule,
      pullMs: config.orchestrator.startup.pull,
      fetchMs: config.orchestrator.startup.fetch,
      stuckMs: config.orchestrator.startup.stuck,
      backoffMs: config.orchestrator.startup.backoff,
    },
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
