import type { Gpu } from '../types.js';

/** What the orchestrators ask of the last GPU list: products (profiles are per product) and UUIDs. Plain functions: passed on alone. */
export interface GpuLookup {
  /** The node's GPU product; 'unknown' for a node not listed. */
  productOf: (node: string) => string;
  /** The GPU's `GPU-<uuid>`, when known. */
  uuidOf: (node: string, index: number) => string | undefined;
  /** The node's GPU UUIDs in index order; '' where a GPU's UUID is not known. */
  nodeUuidsOf: (node: string) => string[];
}

export function gpuLookup(gpus: () => readonly Gpu[]): GpuLookup {
  return {
    productOf: (node) => gpus().find((g) => g.node === node)?.product ?? 'unknown',
    uuidOf: (node, index) => gpus().find((g) => g.node === node && g.index === index)?.uuid,
    nodeUuidsOf: (node) => {
      const uuids: string[] = [];
      for (const g of gpus()) if (g.node === node) uuids[g.index] = g.uuid ?? '';
      return Array.from(uuids, (u) => u ?? '');
    },
  };
}
