/**
 * GPU UUIDs, so replicas are pinned to a card by its identity rather than by an index that renumbers when a
 * card drops off the bus. GPU feature discovery labels carry no per-GPU UUID; the inventory takes them from
 * (a) the static GPU list (`gpus.static[].uuids`), (b) a node annotation the operator sets once per node:
 *
 *   kubectl annotate node gpu-1 gpumux.io/gpu-uuids=$(ssh gpu-1 nvidia-smi --query-gpu=uuid --format=csv,noheader | paste -sd,)
 *
 * or (c) in DRA mode, the NVIDIA DRA driver's ResourceSlices (from-resource-slices.ts). Listed in nvidia-smi's
 * (PCI bus) order, which is the index order gpumux uses (CUDA_DEVICE_ORDER=PCI_BUS_ID).
 */

export const GPU_UUIDS_ANNOTATION = 'gpumux.io/gpu-uuids';

export const GPU_UUID = /^GPU-[0-9a-fA-F-]+$/;

/** `GPU-a,GPU-b` → UUIDs by index; entries that are not UUIDs are left undefined (that GPU is pinned by index). */
export function uuidsFromAnnotation(value: string | undefined): (string | undefined)[] {
  if (!value?.trim()) return [];
  return value.split(',').map((s) => {
    const uuid = s.trim();
    return GPU_UUID.test(uuid) ? uuid : undefined;
  });
}
