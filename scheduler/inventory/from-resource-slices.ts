import type { V1ResourceSlice } from '@kubernetes/client-node';
import type { Gpu } from '../types.js';

/**
 * GPU UUIDs per node from a DRA driver's ResourceSlices (`resource.k8s.io/v1`): NVIDIA's driver publishes
 * each GPU as a device with the attributes `uuid`, `productName`, `pciBusID` (and, in some releases,
 * `index`). A node's UUIDs are put in index order: by `index` where every device has one, else by PCI bus
 * id — nvidia-smi's order, which gpumux's indices follow (CUDA_DEVICE_ORDER=PCI_BUS_ID).
 */
export function uuidsFromResourceSlices(
  slices: V1ResourceSlice[],
  driver = 'gpu.nvidia.com',
): Map<string, string[]> {
  const byNode = new Map<string, { uuid: string; index: number | undefined; bus: string }[]>();
  for (const slice of slices) {
    const node = slice.spec?.nodeName;
    if (slice.spec?.driver !== driver || !node) continue;
    for (const device of slice.spec.devices ?? []) {
      const attrs = device.attributes ?? {};
      const uuid = attrs.uuid?.string;
      if (!uuid?.startsWith('GPU-')) continue; // MIG devices and others
      const list = byNode.get(node) ?? [];
      list.push({
        uuid,
        index: attrs.index?._int,
        bus: attrs.pciBusID?.string ?? attrs.pcieBusID?.string ?? '',
      });
      byNode.set(node, list);
    }
  }
  const out = new Map<string, string[]>();
  for (const [node, devices] of byNode) {
    const indexed = devices.every((d) => d.index !== undefined);
    const unique = [...new Map(devices.map((d) => [d.uuid, d])).values()];
    unique.sort((a, b) => (indexed ? a.index! - b.index! : a.bus.localeCompare(b.bus)));
    out.set(
      node,
      unique.map((d) => d.uuid),
    );
  }
  return out;
}

/** Sets each GPU's uuid from `uuids` (node → UUIDs by index) where the GPU has none yet. */
export function withUuids(gpus: Gpu[], uuids: Map<string, string[]>): Gpu[] {
  return gpus.map((g) => {
    const uuid = g.uuid ?? uuids.get(g.node)?.[g.index];
    return uuid ? { ...g, uuid } : g;
  });
}
