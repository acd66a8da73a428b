/**
 * Which physical GPU a CUDA replica runs on, told apart from the ONNX Runtime device id:
 * - `smiId`: what `nvidia-smi --id=` gets to measure that GPU *as this process sees the machine* — a UUID when
 *   the environment names one, else an index in nvidia-smi's (PCI bus) order;
 * - `index`: the node-level index reported in /v1/stats (`--gpu-index` / `GPUMUX_GPU_INDEX`), or null when
 *   only nvidia-smi can tell (its own index then, right on a bare host, container-local inside a pod).
 *
 * CUDA_VISIBLE_DEVICES renumbers GPUs for CUDA only: nvidia-smi ignores it, so `cuda:0` under
 * `CUDA_VISIBLE_DEVICES=2` is nvidia-smi's GPU 2 (same order when CUDA_DEVICE_ORDER=PCI_BUS_ID). In a container
 * with NVIDIA_VISIBLE_DEVICES the runtime exposes only those GPUs, to CUDA and nvidia-smi alike, numbered
 * from 0 — so the ORT device id is nvidia-smi's index there, and the physical index must come from outside.
 */

export interface GpuIdentity {
  smiId: string;
  index: number | null;
}

/** A GPU or MIG instance UUID as nvidia-smi and NVIDIA_VISIBLE_DEVICES spell it. */
export const UUID = /^(GPU|MIG)-[0-9a-f-]+$/i;

function entries(list: string | undefined): string[] | null {
  const text = list?.trim();
  if (!text || /^(all|none|void)$/i.test(text)) return null;
  return text.split(',').map((s) => s.trim());
}

/**
 * Time-slicing: the device plugin picks the card (NVIDIA_VISIBLE_DEVICES=GPU-<uuid>) and nobody tells the
 * replica its node-level index; the scheduler passes the node's UUIDs in index order (GPUMUX_NODE_GPU_UUIDS)
 * so the replica reports the GPU it really got rather than its container-local 0.
 */
function nodeIndexOf(uuid: string, env: NodeJS.ProcessEnv): number | null {
  const found = (entries(env.GPUMUX_NODE_GPU_UUIDS) ?? []).findIndex(
    (u) => u.toLowerCase() === uuid.toLowerCase(),
  );
  return found >= 0 ? found : null;
}

export function resolveGpuIdentity(options: {
  /** The ONNX Runtime CUDA device id (`--device cuda:<n>`). */
  deviceIndex: number;
  /** The node-level index when known (`--gpu-index`, `GPUMUX_GPU_INDEX`). */
  gpuIndex?: number;
  env?: NodeJS.ProcessEnv;
}): GpuIdentity {
  const { deviceIndex, gpuIndex, env = process.env } = options;
  const index = gpuIndex ?? null;
  const cuda = entries(env.CUDA_VISIBLE_DEVICES);
  if (cuda) {
    const entry = cuda[deviceIndex];
    if (entry === undefined)
      throw new Error(
        `cuda:${deviceIndex} does not exist under CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES}`,
      );
    // a UUID is exact; an index means nvidia-smi's index (CUDA agrees with CUDA_DEVICE_ORDER=PCI_BUS_ID)
    return { smiId: entry, index };
  }
  const nvidia = entries(env.NVIDIA_VISIBLE_DEVICES);
  const named = nvidia?.[deviceIndex];
  // inside the container only the listed GPUs exist: a UUID names ours exactly, else our ORT id is its index
  if (named && UUID.test(named)) return { smiId: named, index: index ?? nodeIndexOf(named, env) };
  return { smiId: String(deviceIndex), index };
}
