import type { V1Node } from '@kubernetes/client-node';
import type { Gpu } from '../types.js';
import { GPU_UUIDS_ANNOTATION, uuidsFromAnnotation } from './gpu-uuids.js';

/** NVIDIA GPU feature discovery labels. */
export const GFD_LABELS = {
  count: 'nvidia.com/gpu.count',
  memoryMiB: 'nvidia.com/gpu.memory',
  product: 'nvidia.com/gpu.product',
} as const;

export interface NodeInventoryOptions {
  /** Labels a node must carry to count. */
  nodeSelector?: Record<string, string>;
  /** Per-GPU memory when a node lacks `nvidia.com/gpu.memory`; null skips such nodes. */
  memoryBytes?: number | null;
  /**
   * How long a node may be NotReady (Ready False or Unknown, since the condition's lastTransitionTime) before
   * its GPUs count as gone; until then its replicas are kept and it takes no new ones. Default 300 s, as
   * Kubernetes' own eviction (`node.kubernetes.io/not-ready` tolerationSeconds).
   */
  notReadyGraceMs?: number;
  now?: () => number;
}

/** `ready`, `cordoned` (spec.unschedulable), `not-ready` within the grace, or `gone` past it. */
function nodeState(node: V1Node, graceMs: number, now: number): 'ready' | 'cordoned' | 'not-ready' | 'gone' {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready && ready.status !== 'True') {
    const since = ready.lastTransitionTime ? new Date(ready.lastTransitionTime).getTime() : now;
    return now - since >= graceMs ? 'gone' : 'not-ready';
  }
  return node.spec?.unschedulable ? 'cordoned' : 'ready';
}

/**
 * One GPU record per GPU of every node that matches the selector, from GPU feature discovery labels (count;
 * memory in MiB; product). Nodes without a count label are not GPU nodes. A cordoned node's GPUs are listed
 * as `unschedulable: 'cordoned'` (its replicas serve until replaced elsewhere), a NotReady node's as
 * `'not-ready'` for `notReadyGraceMs`, then not at all (gone, as a deleted node is at once).
 */
export function gpusFromNodes(nodes: V1Node[], options: NodeInventoryOptions = {}): Gpu[] {
  const { nodeSelector = {}, memoryBytes = null, notReadyGraceMs = 300_000, now = Date.now } = options;
  const gpus: Gpu[] = [];
  const t = now();
  for (const node of nodes) {
    const name = node.metadata?.name;
    const labels = node.metadata?.labels ?? {};
    const state = nodeState(node, notReadyGraceMs, t);
    if (!name || state === 'gone') continue;
    if (!Object.entries(nodeSelector).every(([k, v]) => labels[k] === v)) continue;
    const count = Number(labels[GFD_LABELS.count] ?? node.status?.capacity?.['nvidia.com/gpu'] ?? 0);
    if (!Number.isInteger(count) || count <= 0) continue;
    const mib = Number(labels[GFD_LABELS.memoryMiB]);
    const bytes = Number.isFinite(mib) && mib > 0 ? mib * 1024 ** 2 : memoryBytes;
    if (!bytes) continue;
    const product = labels[GFD_LABELS.product] ?? 'unknown';
    const flag = state === 'ready' ? {} : { unschedulable: state };
    const uuids = uuidsFromAnnotation(node.metadata?.annotations?.[GPU_UUIDS_ANNOTATION]);
    for (let index = 0; index < count; index++) {
      const uuid = uuids[index];
      gpus.push({
        node: name,
        index,
        memoryBytes: bytes,
        product,
        ...flag,
        ...(uuid ? { uuid } : {}),
      });
    }
  }
  return gpus;
}
