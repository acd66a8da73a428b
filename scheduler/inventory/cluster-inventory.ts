import type { CoreV1Api, ResourceV1Api } from '@kubernetes/client-node';
import type { SchedulerConfig } from '../config/schema.js';
import type { Gpu } from '../types.js';
import { gpusFromNodes } from './from-nodes.js';
import { uuidsFromResourceSlices, withUuids } from './from-resource-slices.js';
import { gpuLookup, type GpuLookup } from './gpu-lookup.js';
import type { RefusedNodes } from './refused-nodes.js';

/** The scheduler's GPUs on a cluster: read each pass, the last list kept for the orchestrator's questions. */
export interface ClusterInventory extends GpuLookup {
  /** The GPUs now, from the configured source; nodes that refused a GPU assignment left out. */
  read: () => Promise<Gpu[]>;
}

/**
 * GPUs from the configured source — `static` (the config lists them) or `kubernetes` (GPU feature discovery
 * node labels, from-nodes.ts) — with their UUIDs from the DRA driver's ResourceSlices in `dra` mode (claims
 * select a GPU by UUID).
 */
export function createClusterInventory(options: {
  gpus: SchedulerConfig['gpus'];
  gpuMode: SchedulerConfig['orchestrator']['gpuMode'];
  core: Pick<CoreV1Api, 'listNode'>;
  resources: Pick<ResourceV1Api, 'listResourceSlice'>;
  refusedNodes: RefusedNodes;
}): ClusterInventory {
  const { gpus: source, gpuMode, core, resources, refusedNodes } = options;
  let gpus: Gpu[] = [];
  return {
    ...gpuLookup(() => gpus),
    read: async () => {
      gpus =
        source.source === 'static'
          ? staticGpus(source.static)
          : gpusFromNodes((await core.listNode()).items, {
              nodeSelector: source.nodeSelector,
              memoryBytes: source.memory,
              notReadyGraceMs: source.notReadyGrace,
            });
      if (gpuMode === 'dra')
        gpus = withUuids(gpus, uuidsFromResourceSlices((await resources.listResourceSlice()).items));
      return refusedNodes.filter(gpus);
    },
  };
}

/** One GPU record per GPU the config lists (`gpus.static`), indices from 0 on each entry's node. */
export function staticGpus(entries: SchedulerConfig['gpus']['static']): Gpu[] {
  return entries.flatMap((s) =>
    Array.from({ length: s.count }, (_, index) => ({
      node: s.node,
      index,
      memoryBytes: s.memory,
      product: s.product,
      ...(s.uuids?.[index] ? { uuid: s.uuids[index] } : {}),
    })),
  );
}
