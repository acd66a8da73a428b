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
}

function isReady(node: V1Node): boolean {
  if (node.spec?.unschedulable) return false;
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  return ready === undefined || ready.status === 'True';
}

/**
 * One GPU record per GPU of every ready, schedulable node that matches the selector, from GPU feature
 * discovery labels (count; memory in MiB; product). Nodes without a count label are not GPU nodes.
 */
export function gpusFromNodes(nodes: V1Node[], options: NodeInventoryOptions = {}): Gpu[] {
  const { nodeSelector = {}, memoryBytes = null } = options;
  const gpus: Gpu[] = [];
  for (const node of nodes) {
    const name = node.metadata?.name;
    const labels = node.metadata?.labels ?? {};
    if (!name || !isReady(node)) continue;
    if (!Object.entries(nodeSelector).every(([k, v]) => labels[k] === v)) continue;
    const count = Number(labels[GFD_LABELS.count] ?? node.status?.capacity?.['nvidia.com/gpu'] ?? 0);
    if (!Number.isInteger(count) || count <= 0) continue;
    const mib = Number(labels[GFD_LABELS.memoryMiB]);
    const bytes = Number.isFinite(mib) && mib > 0 ? mib * 1024 ** 2 : memoryBytes;
    if (!bytes) continue;
    const product = labels[GFD_LABELS.product] ?? 'unknown';
    const uuids = uuidsFromAnnotation(node.metadata?.annotations?.[GPU_UUIDS_ANNOTATION]);
    for (let index = 0; index < count; index++)
      gpus.push({
        node: name,
        index,
        memoryBytes: bytes,
        product,
        ...(uuids[index] ? { uuid: uuids[index] } : {}),
      });
  }
  return gpus;
}
