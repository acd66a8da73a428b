import type { GpuInfo } from './nvidia-smi.js';
import { GPU_ASSIGNMENT_MARKER } from '../exit-codes.js';
import { UUID } from './gpu-identity.js';

/**
 * Does this replica see exactly the GPU the scheduler gave it? The scheduler pins a replica by UUID
 * (`GPUMUX_GPU_UUID`, with `NVIDIA_VISIBLE_DEVICES=GPU-<uuid>` in pinned mode or a DRA claim for that UUID);
 * the NVIDIA runtime then exposes that one card. Where the runtime ignores the variable — the container
 * toolkit with `accept-nvidia-visible-devices-envvar-when-unprivileged = false`, the GPU Operator ≥ 25.10's
 * native CDI, hardened nodes — the container sees no GPU (or, privileged, all of them), and the replica would
 * load onto the wrong card or none. It refuses to start instead, with a message that names the node setting.
 *
 * No-op (stated in `skipped`) for CPU replicas, virtual GPUs and replicas given no UUID (time-slicing: the
 * device plugin picks the card, and the replica reports the UUID it got in /v1/stats).
 */

export type GpuAssignment =
  { ok: true; skipped: string | null; gpu: GpuInfo | null } | { ok: false; message: string };

export const GPU_ASSIGNMENT_FIX =
  'the node must expose the GPU named in NVIDIA_VISIBLE_DEVICES to unprivileged containers: set ' +
  'accept-nvidia-visible-devices-envvar-when-unprivileged = true in /etc/nvidia-container-runtime/config.toml ' +
  '(the container toolkit default; the GPU Operator >= 25.10 turns it off for native CDI), or use ' +
  'scheduler.gpuMode: dra (NVIDIA DRA driver, a ResourceClaim per GPU) on CDI nodes';

export async function checkGpuAssignment(options: {
  deviceKind: 'cpu' | 'cuda';
  env: NodeJS.ProcessEnv;
  /** nvidia-smi's GPUs as this container sees them (createNvidiaSmi().list); throws when none can be read. */
  listGpus: () => Promise<GpuInfo[]>;
}): Promise<GpuAssignment> {
  const { deviceKind, env, listGpus } = options;
  const expected = env.GPUMUX_GPU_UUID?.trim();
  if (deviceKind === 'cpu')
    return { ok: true, skipped: 'CPU replica (virtual or no GPU): nothing to check', gpu: null };
  if (!expected)
    return {
      ok: true,
      skipped: 'no GPU UUID assigned (GPUMUX_GPU_UUID): the device plugin picks',
      gpu: null,
    };
  if (!UUID.test(expected))
    return { ok: false, message: `GPUMUX_GPU_UUID=${expected} is not a GPU UUID (GPU-<hex>)` };
  const node = env.GPUMUX_NODE ? ` on node ${env.GPUMUX_NODE}` : '';
  let gpus: GpuInfo[];
  try {
    gpus = await listGpus();
  } catch (err) {
    return {
      ok: false,
      message: `${GPU_ASSIGNMENT_MARKER}${node}: the container sees no GPU (nvidia-smi: ${(err as Error).message.split('\n')[0]}) but was given ${expected}; ${GPU_ASSIGNMENT_FIX}`,
    };
  }
  const seen = gpus.map((g) => g.uuid ?? `index ${g.index}`).join(', ') || 'none';
  if (gpus.length !== 1 || gpus[0]!.uuid?.toLowerCase() !== expected.toLowerCase())
    return {
      ok: false,
      message: `${GPU_ASSIGNMENT_MARKER}${node}: given ${expected}, the container sees ${gpus.length} GPU(s) (${seen}); ${GPU_ASSIGNMENT_FIX}`,
    };
  return { ok: true, skipped: null, gpu: gpus[0]! };
}
