import os from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseBytes } from '../../common/bytes.js';
import { createLogger } from '../../common/log.js';
import { port, positiveInt } from '../arg-parsers.js';
import { formatDevice, parseDevice } from '../../replica/engine/device-request.js';
import type { EngineOptions } from '../../replica/engine/types.js';

/** `--virtual-gpu node-a:1:24GiB` → node, index, capacity (the node name may itself contain colons). */
export function parseVirtualGpu(value: string): { node: string; index: number; capacityBytes: number } {
  const parts = value.split(':');
  if (parts.length < 3)
    throw new InvalidArgumentError('expected <node>:<index>:<capacity>, e.g. node-a:1:24GiB');
  const capacity = parts.pop()!;
  const index = Number(parts.pop());
  const node = parts.join(':');
  if (!node) throw new InvalidArgumentError('the node name is empty');
  if (!Number.isInteger(index) || index < 0)
    throw new InvalidArgumentError('the GPU index must be a whole number ≥ 0');
  return { node, index, capacityBytes: size(capacity) };
}

function size(value: string): number {
  try {
    return parseBytes(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function gpuIndex(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError('expected a GPU index ≥ 0');
  return n;
}

/** `--device`: what the session accepts (cpu, cuda, cuda:<n>), in its canonical spelling. */
function device(value: string): string {
  try {
    return formatDevice(parseDevice(value));
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export interface ReplicaCliOptions {
  model: string;
  onnx?: string;
  modelVersion?: string;
  port: number;
  grpcPort?: number;
  host: string;
  device: string;
  gpuIndex?: number;
  allowCpuFallback?: boolean;
  replicaId?: string;
  node?: string;
  virtualGpu?: { node: string; index: number; capacityBytes: number };
  virtualGpuUsed?: number;
  virtualFootprint?: number;
  maxBatch?: number;
  maxQueue?: number;
  threads?: number;
  memoryBudget?: number;
  warmupBatches?: 'max' | 'all';
  /** Seconds. */
  warmupBudget?: number;
  drainTimeout: number;
  once?: boolean;
  image?: string;
}

/** Flags and env fallbacks (docs/contracts.md §1) → engine options. */
export function engineOptionsFrom(
  opts: ReplicaCliOptions,
  env: NodeJS.ProcessEnv = process.env,
): Omit<EngineOptions, 'hooks'> {
  if (!opts.virtualGpu && (opts.virtualGpuUsed !== undefined || opts.virtualFootprint !== undefined)) {
    throw new InvalidArgumentError('--virtual-gpu-used and --virtual-footprint need --virtual-gpu');
  }
  const replicaId =
    opts.replicaId ?? env.GPUMUX_REPLICA_ID ?? env.POD_NAME ?? `${os.hostname()}-${process.pid}`;
  const node = opts.node ?? env.GPUMUX_NODE ?? env.NODE_NAME ?? os.hostname();
  if (opts.gpuIndex !== undefined && opts.device === 'cpu')
    throw new InvalidArgumentError('--gpu-index is for --device cuda:<n> (CPU replicas use --virtual-gpu)');
  const envGpuIndex = env.GPUMUX_GPU_INDEX?.trim() ? gpuIndex(env.GPUMUX_GPU_INDEX) : undefined;
  const physical = opts.device === 'cpu' ? undefined : (opts.gpuIndex ?? envGpuIndex);
  return {
    modelDir: opts.model,
    ...(opts.onnx ? { onnxPath: opts.onnx } : {}),
    ...(opts.modelVersion ? { modelVersion: opts.modelVersion } : {}),
    device: opts.device,
    ...(physical !== undefined ? { gpuIndex: physical } : {}),
    allowCpuFallback: opts.allowCpuFallback ?? false,
    replicaId,
    node,
    ...(opts.virtualGpu
      ? {
          virtualGpu: {
            ...opts.virtualGpu,
            usedByOthersBytes: opts.virtualGpuUsed ?? 0,
            ...(opts.virtualFootprint !== undefined ? { footprintBytes: opts.virtualFootprint } : {}),
          },
        }
      : {}),
    ...(opts.maxBatch !== undefined ? { maxBatch: opts.maxBatch } : {}),
    ...(opts.maxQueue !== undefined ? { maxQueue: opts.maxQueue } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...memoryBudgetOf(opts, env),
    ...(opts.warmupBatches !== undefined ? { warmupBatches: opts.warmupBatches } : {}),
    ...(opts.warmupBudget !== undefined ? { warmupBudgetMs: opts.warmupBudget * 1000 } : {}),
  };
}

/** `--memory-budget`, else env GPUMUX_MEMORY_BUDGET (a size: 10976MiB, 11GiB, bytes); absent: unbounded. */
function memoryBudgetOf(opts: ReplicaCliOptions, env: NodeJS.ProcessEnv): { memoryBudgetBytes?: number } {
  const text = env.GPUMUX_MEMORY_BUDGET?.trim();
  const bytes = opts.memoryBudget ?? (text ? size(text) : undefined);
  return bytes === undefined ? {} : { memoryBudgetBytes: bytes };
}

export function replicaCommand(): Command {
  const command = new Command('replica').description(
    'Serve one ONNX detector over HTTP (KServe v2, /v1 detect, /v1/stats, /metrics)',
  );
  return [modelOptions, listenOptions, deviceOptions, capacityOptions, lifecycleOptions]
    .reduce((cmd, add) => add(cmd), command)
    .action(runReplica);
}

/** What to serve. */
function modelOptions(command: Command): Command {
  return command
    .requiredOption('--model <dir>', 'model folder with manifest.json (e.g. models/shapes)')
    .option('--onnx <path>', "ONNX file to load instead of the manifest's")
    .option('--model-version <version>', "version to serve and report instead of the manifest's");
}

/** Where to listen. */
function listenOptions(command: Command): Command {
  return command
    .option('--port <port>', 'port to listen on (0 = any free port; the URL is logged)', port, 8081)
    .option(
      '--grpc-port <port>',
      'KServe v2 gRPC + gRPC health on this port (0 = any; default: no gRPC)',
      port,
    )
    .option('--host <host>', 'address to bind', '127.0.0.1');
}

/** Which device it runs on, and who it says it is (real or virtual GPU). */
function deviceOptions(command: Command): Command {
  return command
    .option(
      '--device <device>',
      'cpu, cuda (= cuda:0) or cuda:<index> (the ONNX Runtime device id)',
      device,
      'cpu',
    )
    .option(
      '--gpu-index <n>',
      "the GPU's index on its node, reported in /v1/stats (env GPUMUX_GPU_INDEX; default: nvidia-smi's)",
      gpuIndex,
    )
    .option(
      '--allow-cpu-fallback',
      'run on the CPU when the CUDA provider cannot load (never silently otherwise)',
    )
    .option('--replica-id <id>', 'replica id (env GPUMUX_REPLICA_ID, else POD_NAME, else <host>-<pid>)')
    .option('--node <name>', 'node name (env GPUMUX_NODE, else NODE_NAME, else the host name)')
    .option(
      '--virtual-gpu <node:index:capacity>',
      'CPU only: the GPU this replica stands for, e.g. node-a:1:24GiB',
      parseVirtualGpu,
    )
    .option('--virtual-gpu-used <size>', 'memory others use on that virtual GPU (default 0)', size)
    .option(
      '--virtual-footprint <size>',
      "footprint to report on the virtual GPU (default: the manifest's declared bytes)",
      size,
    );
}

/** Batching, queue, threads, memory and warm-up: how much it takes on. */
function capacityOptions(command: Command): Command {
  return command
    .option('--max-batch <n>', "largest batch (default: the manifest's; 1 turns batching off)", positiveInt)
    .option(
      '--max-queue <n>',
      "frames that may wait (default: the manifest's); beyond, 429 + Retry-After",
      positiveInt,
    )
    .option('--threads <n>', 'ONNX Runtime intra-op threads (CPU)', positiveInt)
    .option(
      '--memory-budget <size>',
      'bound what ONNX Runtime allocates (weights + activations) to this arena; a model needing more exits 4 at ' +
        'warm-up (env GPUMUX_MEMORY_BUDGET; the scheduler sets it; default unbounded)',
      size,
    )
    .addOption(
      new Option(
        '--warmup-batches <which>',
        'warm up every bucket at max batch only, or at every batch size (env GPUMUX_WARMUP_BATCHES; default max)',
      ).choices(['max', 'all']),
    )
    .option(
      '--warmup-budget <seconds>',
      'how long the supervisor lets warm-up take (startup probe); shown in /v1/stats, warned about when exceeded',
      positiveInt,
    );
}

/** Draining, and the `--once` smoke test. */
function lifecycleOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--drain-timeout <seconds>', 'on SIGTERM, longest wait for in-flight requests')
        .argParser(positiveInt)
        .default(30),
    )
    .option(
      '--once',
      'smoke test, no server: load, warm up, run one frame, print footprint and latency as JSON, exit (1 on failure)',
    )
    .option('--image <file>', 'the frame for --once (default: a grey frame of the largest bucket)');
}

async function runReplica(opts: ReplicaCliOptions): Promise<void> {
  if (opts.once) return runOnceAndExit(opts);
  const logger = createLogger({ component: 'replica' });
  // Loaded here, not at the top: onnxruntime-node, sharp and prom-client would slow every other subcommand.
  const { startReplicaServer } = await import('../../replica/server.js');
  const { installSignalHandlers } = await import('../../replica/signals.js');
  // The GPU it was pinned to (by UUID) must be the one it sees, before anything loads onto a wrong card.
  const { refuseWrongGpu } = await import('../../replica/gpu-assignment-exit.js');
  await refuseWrongGpu({ deviceKind: opts.device === 'cpu' ? 'cpu' : 'cuda', logger });
  let replica;
  try {
    const engine = engineOptionsFrom(opts);
    replica = await startReplicaServer({
      engine,
      port: opts.port,
      ...(opts.grpcPort !== undefined ? { grpcPort: opts.grpcPort } : {}),
      host: opts.host,
      logger,
      drainTimeoutMs: opts.drainTimeout * 1000,
    });
  } catch (err) {
    logger.error('replica failed to start', { err });
    process.exit(1);
  }
  const signals = installSignalHandlers(replica, { logger });
  // CUDA out of memory: logged and written to the termination log already; exit with its own code
  void replica.fatal.then(({ exitCode }) => process.exit(exitCode));
  try {
    await replica.started;
  } catch (err) {
    if (signals.stopping()) return; // SIGTERM during load: the signal handler exits 0 once closed
    if (replica.fatalError()) return; // an OOM while loading: `fatal` exits with its code
    // A replica that cannot load must not sit there looking alive.
    logger.error('model failed to load; exiting', { err });
    process.exit(1);
  }
}

/** `--once`: load, warm up, run one frame, print the report, exit (1 on failure). */
async function runOnceAndExit(opts: ReplicaCliOptions): Promise<void> {
  const { runOnce } = await import('../../replica/once.js');
  const report = await runOnce(engineOptionsFrom(opts), opts.image);
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  process.exit(report.ok ? 0 : 1);
}
