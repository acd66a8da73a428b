import { createHash } from 'node:crypto';
import type { KubeConfig, ResourceV1Api, ResourceV1ResourceClaim } from '@kubernetes/client-node';
import type { Logger } from '../../../common/log.js';
import { loadKubeClient } from '../../../common/kube-client.js';
import { LABELS } from './pod-template.js';

/**
 * DRA mode (`gpuMode: dra`, Kubernetes ≥ 1.34 `resource.k8s.io/v1`, NVIDIA's DRA driver): one ResourceClaim
 * per physical GPU, selecting the device by its `uuid` attribute, shared by every replica the scheduler puts
 * on that GPU (a claim may be reserved for several pods). The kube-scheduler allocates it when the first pod
 * is scheduled, so quotas, the kubelet's PodResources API and every other workload see the card as taken.
 * The claim is created before the first pod on its GPU and deleted once no pod of ours references it.
 */

/** NVIDIA's DRA driver: its device class and the attribute domain of its GPUs. */
export const NVIDIA_GPU_DEVICE_CLASS = 'gpu.nvidia.com';
/** The request's name inside each claim. */
export const GPU_REQUEST = 'gpu';

/** `<release>-gpu-<hash of node and uuid>`, a DNS subdomain. */
export function gpuClaimName(release: string, node: string, uuid: string): string {
  const hash = createHash('sha256').update(`${node}/${uuid}`).digest('hex').slice(0, 12);
  const prefix = release
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40)
    .replace(/-+$/, '');
  return `${prefix}-gpu-${hash}`;
}

/** The CEL selector for one card: `device.attributes["gpu.nvidia.com"].uuid == "GPU-…"`. */
export function uuidSelector(uuid: string, deviceClass = NVIDIA_GPU_DEVICE_CLASS): string {
  return `device.attributes[${JSON.stringify(deviceClass)}].uuid == ${JSON.stringify(uuid)}`;
}

export function gpuClaim(options: {
  name: string;
  namespace: string;
  release: string;
  node: string;
  gpuIndex: number;
  uuid: string;
  deviceClass?: string;
}): ResourceV1ResourceClaim {
  const { name, namespace, release, node, gpuIndex, uuid, deviceClass = NVIDIA_GPU_DEVICE_CLASS } = options;
  return {
    apiVersion: 'resource.k8s.io/v1',
    kind: 'ResourceClaim',
    metadata: {
      name,
      namespace,
      labels: {
        [LABELS.partOf]: 'gpumux',
        [LABELS.component]: 'gpu-claim',
        [LABELS.managedBy]: 'gpumux-scheduler',
        [LABELS.instance]: release,
        [LABELS.node]: node,
        [LABELS.gpu]: String(gpuIndex),
      },
      annotations: { 'gpumux.io/gpu-uuid': uuid },
    },
    spec: {
      devices: {
        requests: [
          {
            name: GPU_REQUEST,
            exactly: {
              deviceClassName: deviceClass,
              allocationMode: 'ExactCount',
              count: 1,
              selectors: [{ cel: { expression: uuidSelector(uuid, deviceClass) } }],
            },
          },
        ],
      },
    },
  };
}

const statusCode = (err: unknown): number | undefined => (err as { code?: number }).code;

export interface GpuClaims {
  /**
   * The claim for this GPU, created when absent (an existing one is used as it is). Held until `release`d:
   * call that once the pod that uses it exists (or was not created), so `collect` cannot delete it meanwhile.
   */
  ensure(gpu: { node: string; gpuIndex: number; uuid: string }): Promise<string>;
  release(name: string): void;
  /** Deletes our claims that no pod uses (`inUse`, asked at the moment of each delete) and none holds. */
  collect(inUse: (name: string) => boolean): Promise<void>;
}

/** Deletes one claim no replica uses; one already gone is fine, another failure is logged. */
async function deleteClaim(
  resource: () => Promise<ResourceV1Api>,
  namespace: string,
  name: string,
  logger: Logger,
): Promise<void> {
  try {
    await (await resource()).deleteNamespacedResourceClaim({ namespace, name });
    logger.info('GPU claim deleted: no replica uses it', { claim: name });
  } catch (err) {
    if (statusCode(err) !== 404) logger.warn('GPU claim not deleted', { claim: name, err });
  }
}

/** One closure: the holds and the deletes in progress are state its methods share. */
export function createGpuClaims(options: {
  kubeConfig: KubeConfig;
  namespace: string;
  release: string;
  deviceClass?: string;
  logger: Logger;
}): GpuClaims {
  const { kubeConfig, namespace, release, deviceClass, logger } = options;
  const selector = `${LABELS.component}=gpu-claim,${LABELS.partOf}=gpumux,${LABELS.instance}=${release}`;
  let api: ResourceV1Api | undefined;
  const resource = async (): Promise<ResourceV1Api> =>
    (api ??= kubeConfig.makeApiClient((await loadKubeClient()).ResourceV1Api));
  const held = new Map<string, number>();
  // a claim being deleted is waited for before it is created again (a 409 would otherwise name a dying claim)
  const deleting = new Map<string, Promise<void>>();
  const hold = (name: string, by: number): void => {
    const n = (held.get(name) ?? 0) + by;
    if (n > 0) held.set(name, n);
    else held.delete(name);
  };
  return {
    async ensure({ node, gpuIndex, uuid }) {
      const name = gpuClaimName(release, node, uuid);
      hold(name, 1);
      try {
        await deleting.get(name);
        const body = gpuClaim({
          name,
          namespace,
          release,
          node,
          gpuIndex,
          uuid,
          ...(deviceClass ? { deviceClass } : {}),
        });
        await (await resource()).createNamespacedResourceClaim({ namespace, body });
        logger.info('GPU claim created', { claim: name, node, gpu: gpuIndex, uuid });
      } catch (err) {
        if (statusCode(err) !== 409) {
          hold(name, -1);
          throw err;
        }
      }
      return name;
    },
    release: (name) => hold(name, -1),
    async collect(inUse) {
      const claims = await (
        await resource()
      ).listNamespacedResourceClaim({ namespace, labelSelector: selector });
      for (const claim of claims.items) {
        const name = claim.metadata?.name;
        if (!name || claim.metadata?.deletionTimestamp || held.has(name) || inUse(name) || deleting.has(name))
          continue;
        const done = deleteClaim(resource, namespace, name, logger);
        deleting.set(name, done);
        await done;
        deleting.delete(name);
      }
    },
  };
}
