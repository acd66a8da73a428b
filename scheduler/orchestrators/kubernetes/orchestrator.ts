import type { AppsV1Api, CoreV1Api, KubeConfig, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../../common/log.js';
import { drainReplica } from '../drain.js';
import type { Orchestrator, ReplicaRequest } from '../types.js';
import { loadKubeClient } from '../../../common/kube-client.js';
import { createPodInformer } from '../../../common/kube-informer.js';
import { podToReplica } from './pod-state.js';
import { createPodTable } from './pod-table.js';
import { LABELS, renderReplicaPod, type GpuMode, type ReplicaPodSpec } from './pod-template.js';
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
 * One closure: the API client, the owner reference and the pod table (pod-table.ts) are state its methods share.
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
      ?.collect((name) => pods.usesClaim(name))
      .catch((err: unknown) => logger.warn('GPU claims not collected', { err }));
  };
  const pods = createPodTable({ replicaPort, productOf, observed, onClaimGone: collectClaims, logger });
  let core: CoreV1Api | undefined;
  let ownerRef: V1OwnerReference | null = null;
  let counter = 0;
  // The shared pod list-watch (gateway discovery uses the same): list, watch, re-list on 410, restarted on failure.
  const informer = createPodInformer({
    kubeConfig,
    namespace,
    labelSelector: `${LABELS.component}=replica,${LABELS.partOf}=gpumux,${LABELS.instance}=${release}`,
    onEvent: ({ type, pod }) => pods.update(pod, type === 'delete'),
    logger,
  });

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
    replicas: () => pods.replicas(),
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
        pods.update(created);
      } finally {
        if (claimName) claims!.release(claimName);
      }
      logger.info('replica pod created', {
        pod: created.metadata?.name,
        model: request.model,
        node: request.node,
        gpu: request.gpuIndex,
      });
      return pods.toReplica(created)!;
    },
    async drain(id, timeoutMs) {
      const pod = pods.get(id);
      pods.markDraining(id);
      pods.emit({ type: 'changed' });
      const url = pod ? podToReplica(pod, replicaPort, productOf)?.url : null;
      if (url) await drainReplica(url, { timeoutMs });
    },
    async remove(id) {
      try {
        await core!.deleteNamespacedPod({ namespace, name: id });
        logger.info('replica pod deleted', { pod: id });
      } catch (err) {
        if (statusCode(err) !== 404) throw err;
        pods.forget(id);
        pods.emit({ type: 'changed' });
        return;
      }
      // Deleted with a grace period, the pod is Terminating and holds its GPU's memory until the watch reports
      // it gone (its DELETED event may already have come, or the Terminating update before this answer).
      if (pods.has(id)) pods.markDraining(id);
      pods.emit({ type: 'changed' });
    },
    on: (listener) => pods.on(listener),
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
