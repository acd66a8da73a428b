import { memoryBudgetFor } from '../../memory-terms.js';
import { createHash } from 'node:crypto';
import type {
  IntOrString,
  V1Container,
  V1EnvVar,
  V1NodeAffinity,
  V1ObjectMeta,
  V1OwnerReference,
  V1Pod,
  V1PodSpec,
  V1ResourceRequirements,
} from '@kubernetes/client-node';

/**
 * Turns the Helm-rendered replica pod template (a plain `v1.Pod` with one container named `replica`) into
 * the pod of one placed replica (docs/contracts.md §4). Pure: the same inputs give the same pod.
 */

export const LABELS = {
  partOf: 'app.kubernetes.io/part-of',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  instance: 'app.kubernetes.io/instance',
  model: 'gpumux.io/model',
  version: 'gpumux.io/version',
  node: 'gpumux.io/node',
  gpu: 'gpumux.io/gpu',
} as const;

export const ANNOTATIONS = {
  footprintBytes: 'gpumux.io/footprint-bytes',
  replicaKey: 'gpumux.io/replica-key',
  /** What defines the replica, hashed (scheduler/rollout.ts): a different hash than today's rolls it. */
  specHash: 'gpumux.io/spec-hash',
  gpuUuid: 'gpumux.io/gpu-uuid',
} as const;

/** The name of the GPU claim inside a DRA-mode replica pod (pod.spec.resourceClaims, container resources.claims). */
export const GPU_CLAIM = 'gpu';

/** The selector every gpumux replica pod matches (the gateway's Kubernetes discovery uses it too). */
export const REPLICA_SELECTOR = `${LABELS.component}=replica,${LABELS.partOf}=gpumux`;

export const REPLICA_CONTAINER = 'replica';

/** One replica the plan calls for. */
export interface ReplicaPodSpec {
  model: string;
  version: string;
  node: string;
  gpuIndex: number;
  /** Footprint the placement counted for this replica, bytes (annotation; what the scheduler reserved). */
  footprintBytes: number;
  /** Manifest folder inside the image, e.g. /app/models/codetr. */
  manifest: string;
  /** ONNX path override (model volume), e.g. /models/codetr/model.onnx. */
  onnx?: string;
  /** `--max-batch` the footprint was counted for; absent: the manifest's. */
  maxBatch?: number;
  /** Unique identity of this replica (the name's hash comes from it); a replacement gets a new key. */
  key: string;
  /** `--model-version <version>` on the replica, and the version in the pod name (ReplicaRequest.pinVersion). */
  pinVersion?: boolean;
  /** ReplicaRequest.specHash, kept as an annotation. */
  specHash?: string;
  /** The GPU's `GPU-<uuid>` when the inventory knows it: pinned mode pins by it; dra mode needs it. */
  gpuUuid?: string;
  /** dra mode: the ResourceClaim (resource-claims.ts) for this GPU, shared by its replicas. */
  claimName?: string;
  /** time-slicing: the node's GPU UUIDs in index order, so the replica can report the card the plugin gave it. */
  nodeGpuUuids?: string[];
}

export type GpuMode = 'pinned' | 'time-slicing' | 'dra';

export interface RenderContext {
  /** Name prefix (Helm release). */
  release: string;
  namespace: string;
  gpuMode: GpuMode;
  replicaPort: number;
  /** Owner of replica pods (the scheduler's Deployment, uid looked up); null = none. */
  owner?: V1OwnerReference | null;
}

/** `<release>-<model>-<hash>`, a valid DNS label (≤ 63 characters). */
export function replicaPodName(release: string, model: string, key: string): string {
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 10);
  const prefix = `${release}-${model}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63 - hash.length - 1)
    .replace(/-+$/, '');
  return `${prefix}-${hash}`;
}

/** Label values allow 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric. */
function labelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

function setEnv(env: V1EnvVar[], name: string, value: string): V1EnvVar[] {
  return [...env.filter((e) => e.name !== name), { name, value }];
}

/** Required node affinity to exactly this node (by name, as nodeName would). */
function onNode(node: string): V1NodeAffinity {
  return {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
    },
  };
}

export class PodTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PodTemplateError';
  }
}

/**
 * Fills in the template for one replica: name, labels, annotations, owner reference, node and GPU pinning
 * (pinned: `nodeName` + `NVIDIA_VISIBLE_DEVICES=GPU-<uuid>` (the index where no UUID is known) +
 * `GPUMUX_GPU_INDEX`/`GPUMUX_GPU_UUID` and no device-plugin request; time-slicing: `nodeName` +
 * `nvidia.com/gpu: 1`, the plugin picks the GPU; dra: node affinity + the GPU's ResourceClaim), env
 * `GPUMUX_REPLICA_ID`/`GPUMUX_NODE`/`CUDA_DEVICE_ORDER=PCI_BUS_ID`, `terminationMessagePolicy:
 * FallbackToLogsOnError`, and the container args.
 * Args the template's container already has are kept after ours (extra replica flags such as --max-batch).
 *
 * @example
 * const pod = renderReplicaPod(template, { model: 'codetr', version: '1', node: 'gpu-1', gpuIndex: 0,
 *   footprintBytes: 10307502080, manifest: '/app/models/codetr', key: 'codetr/gpu-1/0/1' },
 *   { release: 'gpumux', namespace: 'gpumux', gpuMode: 'pinned', replicaPort: 8081 });
 */
export function renderReplicaPod(template: V1Pod, replica: ReplicaPodSpec, ctx: RenderContext): V1Pod {
  const pod = structuredClone(template);
  const containers = pod.spec?.containers ?? [];
  const index = containers.findIndex((c) => c.name === REPLICA_CONTAINER);
  if (index < 0)
    throw new PodTemplateError(`replica pod template needs a container named "${REPLICA_CONTAINER}"`);
  // Versions side by side: `<release>-codetr-v2-<hash>` beside `<release>-codetr-v1-<hash>`.
  const name = replicaPodName(
    ctx.release,
    replica.pinVersion ? `${replica.model}-v${replica.version}` : replica.model,
    replica.key,
  );

  pod.apiVersion = 'v1';
  pod.kind = 'Pod';
  fillMetadata((pod.metadata ??= {}), name, replica, ctx);
  const spec = pod.spec!;
  placeOnNode(spec, replica.node, ctx.gpuMode);
  // A replica that dies is replaced by the scheduler (possibly elsewhere), not restarted in place, so the
  // plan sees the failure and an OOM can raise the footprint.
  spec.restartPolicy ??= 'Never';

  const container: V1Container = { ...containers[index]! };
  let env = container.env ?? [];
  env = setEnv(env, 'GPUMUX_REPLICA_ID', name);
  env = setEnv(env, 'GPUMUX_NODE', replica.node);
  // CUDA's default order (fastest first) may differ from nvidia-smi's and the device plugin's (PCI bus)
  env = setEnv(env, 'CUDA_DEVICE_ORDER', 'PCI_BUS_ID');
  const resources = { ...container.resources, limits: { ...container.resources?.limits } };
  container.env = giveGpu(spec, env, resources, replica, ctx.gpuMode);
  container.resources = resources;
  // A replica that dies of CUDA OOM writes /dev/termination-log; anything else that dies with an error leaves
  // its last log lines as the termination message: the scheduler classifies OOM from it (pod-state.ts).
  container.terminationMessagePolicy = 'FallbackToLogsOnError';
  container.args = [...replicaArgs(replica, ctx.replicaPort), ...(container.args ?? [])];
  if (!(container.ports ?? []).some((p) => p.containerPort === ctx.replicaPort)) {
    container.ports = [
      ...(container.ports ?? []),
      { name: 'http', containerPort: ctx.replicaPort, protocol: 'TCP' },
    ];
  }
  spec.containers = containers.map((c, i) => (i === index ? container : c));
  delete pod.status;
  return pod;
}

/** Name, namespace, labels, annotations and owner reference of one replica's pod (in place). */
function fillMetadata(
  metadata: V1ObjectMeta,
  name: string,
  replica: ReplicaPodSpec,
  ctx: RenderContext,
): void {
  delete metadata.generateName;
  delete metadata.resourceVersion;
  delete metadata.uid;
  metadata.name = name;
  metadata.namespace = ctx.namespace;
  metadata.labels = {
    ...metadata.labels,
    [LABELS.partOf]: 'gpumux',
    [LABELS.component]: 'replica',
    [LABELS.managedBy]: 'gpumux-scheduler',
    [LABELS.instance]: labelValue(ctx.release),
    [LABELS.model]: labelValue(replica.model),
    [LABELS.version]: labelValue(replica.version),
    [LABELS.node]: labelValue(replica.node),
    [LABELS.gpu]: String(replica.gpuIndex),
  };
  metadata.annotations = {
    ...metadata.annotations,
    [ANNOTATIONS.footprintBytes]: String(Math.round(replica.footprintBytes)),
    [ANNOTATIONS.replicaKey]: replica.key,
    ...(replica.specHash ? { [ANNOTATIONS.specHash]: replica.specHash } : {}),
  };
  if (replica.gpuUuid && ctx.gpuMode !== 'time-slicing')
    metadata.annotations[ANNOTATIONS.gpuUuid] = replica.gpuUuid;
  if (ctx.owner) metadata.ownerReferences = [{ ...ctx.owner, controller: true, blockOwnerDeletion: true }];
}

/** Binds the pod to its node (in place). */
function placeOnNode(spec: V1PodSpec, node: string, gpuMode: GpuMode): void {
  // dra: the kube-scheduler binds the pod, allocating the claim on the way (a pod bound by nodeName would
  // skip allocation); the claim's UUID selector decides the node, the affinity says it in the pod too.
  if (gpuMode === 'dra') spec.affinity = { ...spec.affinity, nodeAffinity: onNode(node) };
  else spec.nodeName = node;
}

/**
 * Gives the replica its GPU the gpu mode's way: pinned by env, claimed (dra), or requested from the device
 * plugin (time-slicing). Edits `spec` and `resources` in place; returns the container's env.
 */
function giveGpu(
  spec: V1PodSpec,
  env: V1EnvVar[],
  resources: V1ResourceRequirements & { limits: Record<string, IntOrString> },
  replica: ReplicaPodSpec,
  gpuMode: GpuMode,
): V1EnvVar[] {
  if (gpuMode === 'time-slicing') {
    resources.limits['nvidia.com/gpu'] = '1';
    // the device plugin picks the card: the replica finds its UUID's index here and reports that GPU
    if (replica.nodeGpuUuids?.length)
      env = setEnv(env, 'GPUMUX_NODE_GPU_UUIDS', replica.nodeGpuUuids.join(','));
    return env;
  }
  if (gpuMode === 'pinned') {
    // Pinned replicas bypass the device plugin: it would otherwise choose the GPU (and override the env).
    // By UUID where known: an index renumbers when a card drops off the bus.
    env = setEnv(env, 'NVIDIA_VISIBLE_DEVICES', replica.gpuUuid ?? String(replica.gpuIndex));
  } else {
    if (!replica.gpuUuid || !replica.claimName)
      throw new PodTemplateError(
        `gpuMode dra needs the GPU's UUID and claim (${replica.node}/${replica.gpuIndex} has none)`,
      );
    // The DRA driver injects the claimed card (CDI); a template's NVIDIA_VISIBLE_DEVICES=all would add others.
    env = env.filter((e) => e.name !== 'NVIDIA_VISIBLE_DEVICES');
    spec.resourceClaims = [
      ...(spec.resourceClaims ?? []).filter((c) => c.name !== GPU_CLAIM),
      { name: GPU_CLAIM, resourceClaimName: replica.claimName },
    ];
    resources.claims = [...(resources.claims ?? []).filter((c) => c.name !== GPU_CLAIM), { name: GPU_CLAIM }];
  }
  // Inside, the one GPU is device 0 to CUDA and nvidia-smi alike: the node-level index must be told.
  env = setEnv(env, 'GPUMUX_GPU_INDEX', String(replica.gpuIndex));
  // The replica checks at start that it sees exactly this card (replica/telemetry/gpu-assignment.ts).
  if (replica.gpuUuid) env = setEnv(env, 'GPUMUX_GPU_UUID', replica.gpuUuid);
  delete resources.limits['nvidia.com/gpu'];
  if (resources.requests) {
    resources.requests = { ...resources.requests };
    delete resources.requests['nvidia.com/gpu'];
  }
  return env;
}

/** The replica command's own args (a template's args come after them, so its own --max-batch wins). */
function replicaArgs(replica: ReplicaPodSpec, replicaPort: number): string[] {
  const args = ['replica', '--model', replica.manifest];
  if (replica.onnx) args.push('--onnx', replica.onnx);
  if (replica.pinVersion) args.push('--model-version', replica.version);
  // the max batch the scheduler counted this replica's footprint for
  if (replica.maxBatch !== undefined) args.push('--max-batch', String(replica.maxBatch));
  args.push('--port', String(replicaPort), '--host', '0.0.0.0', '--device', 'cuda:0');
  args.push('--memory-budget', String(memoryBudgetFor(replica.footprintBytes))); // scheduler/memory-terms.ts
  return args;
}
