import { memoryBudgetFor } from '../../memory-terms.js';
import type { ReplicaRequest } from '../types.js';

/**
 * The command line and environment of one local replica child (`gpumux replica ...`):
 * - virtual GPU: the CPU execution provider standing for `--virtual-gpu node:index:capacity`;
 * - real GPU: `CUDA_VISIBLE_DEVICES=<index>` with `CUDA_DEVICE_ORDER=PCI_BUS_ID` (so CUDA numbers GPUs the way
 *   nvidia-smi does), `--device cuda:0` (the only GPU ONNX Runtime sees) and `--gpu-index <index>` (what the
 *   replica reports, and where its telemetry looks: nvidia-smi ignores CUDA_VISIBLE_DEVICES).
 */
export function replicaLaunch(
  request: ReplicaRequest,
  options: {
    id: string;
    host: string;
    /** Extra replica flags (e.g. ['--threads', '1']), last. */
    replicaArgs?: readonly string[];
    /** The child's environment before GPU selection (the parent's plus the orchestrator's extras). */
    env: NodeJS.ProcessEnv;
    /** The launch-to-ready budget the orchestrator allows (`--warmup-budget`, reported by the replica). */
    warmupBudgetSeconds?: number;
  },
): { args: string[]; env: NodeJS.ProcessEnv } {
  const r = request;
  const args = ['replica', '--model', r.manifest, '--port', '0', '--host', options.host];
  args.push('--replica-id', options.id, '--node', r.node);
  if (r.onnx) args.push('--onnx', r.onnx);
  if (r.pinVersion) args.push('--model-version', r.version);
  if (r.maxBatch !== undefined) args.push('--max-batch', String(r.maxBatch));
  if (options.warmupBudgetSeconds !== undefined)
    args.push('--warmup-budget', String(options.warmupBudgetSeconds));
  const env: NodeJS.ProcessEnv = { ...options.env };
  if (r.virtual) {
    // `--virtual-gpu-used` is memory held by something other than gpumux replicas (none here): the
    // gateway adds up the footprints of the replicas it sees on a GPU itself (docs/contracts.md §1).
    args.push('--device', 'cpu', '--virtual-gpu', `${r.node}:${r.gpuIndex}:${r.gpuMemoryBytes}`);
    args.push('--virtual-footprint', String(r.footprintBytes));
  } else {
    env.CUDA_DEVICE_ORDER = 'PCI_BUS_ID';
    env.CUDA_VISIBLE_DEVICES = String(r.gpuIndex);
    args.push('--device', 'cuda:0', '--gpu-index', String(r.gpuIndex));
  }
  // ONNX Runtime holds it to its planned footprint (less what CUDA keeps outside the arena)
  args.push('--memory-budget', String(memoryBudgetFor(r.footprintBytes, { virtual: r.virtual === true })));
  return { args: [...args, ...(options.replicaArgs ?? [])], env };
}
