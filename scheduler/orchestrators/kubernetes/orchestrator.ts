import type { AppsV1Api, CoreV1Api, KubeConfig, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../../common/log.js';
import { drainReplica } from '../drain.js';
import type { ManagedReplica, Orchestrator, OrchestratorEvent, ReplicaRequest } from '../types.js';
import { loadKubeClient } from '../../../common/kube-client.js';
import { createPodInformer } from '../../../common/kube-informer.js';
import { createDeathReports, podToReplica } from './pod-state.js';
import { GPU_CLAIM, LABELS, renderReplicaPod, type GpuMode, type ReplicaPodSpec } from './pod-template.js';
import { createGpuClaims, type GpuClaims } from './resource-claims.js';
import { createObservedGpus, type ObservedGpus } from './observed-gpus.js';

export interface KubernetesOrchestratorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  template: V1Pod;
  release: string;
  gpuMode: GpuMode;
  replicaPort: number;
  /** Owner of replica pods; its uid is looked up at start. */
  owner?: { apiVersion: string; kind: string; name: string } | null;
  /** GPU product per node (profiles are per product). */
  productOf?: (node: string) => string;
  /** The GPU's `GPU-<uuid>` from the inventory: pinned mode pins by it, dra mode claims by it. */
  gpuUuidOf?: (node: string, gpuIndex: number) => string | undefined;
  /** The node's GPU UUIDs in index order (inventory): time-slicing replicas report which one they got. */
  nodeGpuUuidsOf?: (node: string) => string[];
  /** dra mode's ResourceClaims (resource-claims.ts); default: created from kubeConfig. */
  claims?: GpuClaims;
  logger: Logger;
}

const statusCode = (err: unknown): number | undefined => (err as { code?: number }).code;

/**
 * Replica pods on Kubernetes: created from the template, followed with the shared pod list-watch
 * (common/kube-informer.ts) to learn what really runs, drained then deleted.
 * One closure: the pod table the watch keeps (pods, draining) is state every method reads.
 */
export function createKubernetesOrchestrator(options: KubernetesOrchestratorOptions): Orchestrator {
  const {
    kubeConfig,
    namespace,
    template,
    release,
    gpuMode,
    replicaPort,
    owner = null,
    productOf = () => 'unknown',
    gpuUuidOf = () => undefined,
    nodeGpuUuidsOf = () => [],
    logger,
  } = options;
  const observed = gpuMode === 'time-slicing' ? observedGpus(nodeGpuUuidsOf) : null;
  const claims =
    gpuMode === 'dra'
      ? (options.claims ?? createGpuClaims({ kubeConfig, namespace, release, logger }))
      : null;
  // dra: a GPU's claim goes once the last of our pods that used it is gone
  const collectClaims = (): void => {
    void claims
      ?.collect((name) => [...pods.values()].some((p) => claimOf(p) === name))
      .catch((err: unknown) => logger.warn('GPU claims not collected', { err }));
  };
  const selector = `${LABELS.component}=replica,${LABELS.partOf}=gpumux,${LABELS.instance}=${release}`;
  const pods = new Map<string, V1Pod>();
  const listeners = new Set<(e: OrchestratorEvent) => void>();
  const deaths = createDeathReports();
  const draining = new Set<string>();
  let core: CoreV1Api | undefined;
  let ownerRef: V1OwnerReference | null = null;
  let counter = 0;
  // The shared pod list-watch (gateway discovery uses the same): list, watch, re-list on 410, restarted on failure.
  const informer = createPodInformer({
    kubeConfig,
    namespace,
    labelSelector: selector,
    onEvent: ({ type, pod }) => update(pod, type === 'delete'),
    logger,
  });

  const emit = (e: OrchestratorEvent): void => {
    for (const l of listeners) l(e);
  };
  const toReplica = (pod: V1Pod): ManagedReplica | null => {
    const found = podToReplica(pod, replicaPort, productOf);
    const actual = found && observed?.indexOf(found.id);
    const r = found && actual !== undefined && actual !== null ? { ...found, gpuIndex: actual } : found;
    if (r && draining.has(r.id)) return { ...r, phase: 'draining', draining: true };
    return r;
  };
  const update = (pod: V1Pod, deleted = false): void => {
    const name = pod.metadata?.name;
    if (!name) return;
    if (deleted) {
      pods.delete(name);
      draining.delete(name);
      observed?.forget(name);
      if (claimOf(pod)) collectClaims();
    } else pods.set(name, pod);
    const r = deleted ? null : toReplica(pod);
    if (observed && r?.url && (r.phase === 'ready' || r.phase === 'starting'))
      void learnGpu(observed, r, logger).then((learnt) => learnt && emit({ type: 'changed' }));
    if (r) for (const failure of deaths.newIn(name, pod, r)) emit({ type: 'failed', replica: r, failure });
    emit({ type: 'changed' });
  };

  return {
    kind: 'kubernetes',
    runtimeSpec: () => ({ template, gpuMode, replicaPort }),
    async start() {
      const k8s = await loadKubeClient();
      core = kubeConfig.makeApiClient(k8s.CoreV1Api);
      if (owner)
        ownerRef = await ownerReference(kubeConfig.makeApiClient(k8s.AppsV1Api), namespace, owner, logger);
      await informer.start();
      if (!informer.synced()) {
        await informer.stop();
        throw new Error(`cannot list replica pods in namespace ${namespace}`);
      }
      collectClaims(); // claims a previous leader left without pods
    },
    replicas: () => [...pods.values()].map(toReplica).filter((r): r is ManagedReplica => r !== null),
    async create(request: ReplicaRequest) {
      const key = replicaKey(request, counter++);
      const gpuUuid = gpuMode === 'time-slicing' ? undefined : gpuUuidOf(request.node, request.gpuIndex);
      const nodeGpuUuids = gpuMode === 'time-slicing' ? nodeGpuUuidsOf(request.node) : [];
      const gpu = { node: request.node, gpuIndex: request.gpuIndex };
      // dra: the GPU's claim exists before its first pod (and is held until the pod does)
      const claimName = claims && gpuUuid ? await claims.ensure({ ...gpu, uuid: gpuUuid }) : undefined;
      let created: V1Pod;
      try {
        const spec = { ...request, key, gpuUuid, claimName, nodeGpuUuids };
        const pod = renderReplicaPod(template, podSpec(spec), {
          release,
          namespace,
          gpuMode,
          replicaPort,
          owner: ownerRef,
        });
        created = await core!.createNamespacedPod({ namespace, body: pod });
        update(created);
      } finally {
        if (claimName) claims!.release(claimName);
      }
      logger.info('replica pod created', {
        pod: created.metadata?.name,
        model: request.model,
        node: request.node,
        gpu: request.gpuIndex,
      });
      return toReplica(created)!;
    },
    async drain(id, timeoutMs) {
      const pod = pods.get(id);
      draining.add(id);
      emit({ type: 'changed' });
      const url = pod ? podToReplica(pod, replicaPort, productOf)?.url : null;
      if (url) await drainReplica(url, { timeoutMs });
    },
    async remove(id) {
      try {
        await core!.deleteNamespacedPod({ namespace, name: id });
        logger.info('replica pod deleted', { pod: id });
      } catch (err) {
        if (statusCode(err) !== 404) throw err;
        pods.delete(id);
        draining.delete(id);
        emit({ type: 'changed' });
        return;
      }
      // Deleted with a grace period, the pod is Terminating and holds its GPU's memory until the watch reports
      // it gone (its DELETED event may already have come, or the Terminating update before this answer).
      if (pods.has(id)) draining.add(id);
      emit({ type: 'changed' });
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      await informer.stop();
    },
  };
}

/** time-slicing: the card the device plugin gave each replica, from its stats (observed-gpus.ts). */
function observedGpus(nodeGpuUuidsOf: (node: string) => string[]): ObservedGpus {
  return createObservedGpus({
    indexOfUuid: (node, uuid) => {
      const i = nodeGpuUuidsOf(node).findIndex((u) => u.toLowerCase() === uuid.toLowerCase());
      return i >= 0 ? i : undefined;
    },
  });
}

/** dra: the name of the GPU's ResourceClaim a pod uses. */
function claimOf(pod: V1Pod): string | undefined {
  return pod.spec?.resourceClaims?.find((c) => c.name === GPU_CLAIM)?.resourceClaimName ?? undefined;
}

/** A replica's unique key (its pod name's hash comes from it): model, GPU, time, a counter and noise. */
function replicaKey(request: ReplicaRequest, counter: number): string {
  const unique = `${Date.now().toString(36)}-${counter.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  return `${request.model}/${request.node}/${request.gpuIndex}/${unique}`;
}

/** The pod template's input for one request, with what the GPU mode adds (UUID, claim, the node's UUIDs). */
function podSpec(
  r: ReplicaRequest & {
    key: string;
    gpuUuid: string | undefined;
    claimName: string | undefined;
    nodeGpuUuids: string[];
  },
): ReplicaPodSpec {
  const { gpuUuid, claimName, nodeGpuUuids, ...request } = r;
  return {
    ...request,
    ...(gpuUuid ? { gpuUuid } : {}),
    ...(claimName ? { claimName } : {}),
    ...(nodeGpuUuids.length ? { nodeGpuUuids } : {}),
  };
}

/** The owner's reference (its uid looked up), or null with a warning when it is not found. */
async function ownerReference(
  apps: AppsV1Api,
  namespace: string,
  owner: { apiVersion: string; kind: string; name: string },
  logger: Logger,
): Promise<V1OwnerReference | null> {
  try {
    const d = await apps.readNamespacedDeployment({ namespace, name: owner.name });
    return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: d.metadata!.uid! };
  } catch (err) {
    logger.warn('owner not found; replica pods get no owner reference', { owner: owner.name, err });
    return null;
  }
}

/** time-slicing: asks a running replica which card it got; true (and logged) when that was learnt now. */
async function learnGpu(observed: ObservedGpus, r: ManagedReplica, logger: Logger): Promise<boolean> {
  if (!(await observed.learn(r.id, r.node, r.url!))) return false;
  logger.info('replica GPU learnt from its stats', { pod: r.id, node: r.node, gpu: observed.indexOf(r.id) });
  return true;
}
