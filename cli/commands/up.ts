import { Command, Option } from 'commander';
import { parseBytes } from '../../common/bytes.js';
import { createLogger, type Logger } from '../../common/log.js';
import type { LocalStack } from '../local-stack.js';
import { port, replicasPerGpu, wholeSeconds } from '../arg-parsers.js';
import { DEFAULT_LOCAL_GPUS, DEFAULT_LOCAL_MODELS } from '../local-stack-defaults.js';
import { DEFAULT_POLICY, POLICIES, type Policy } from '../../scheduler/placement/policy.js';
import type { ManagedReplica } from '../../scheduler/orchestrators/types.js';
import { versionedNames } from '../../scheduler/types.js';
import { DEFAULT_WARMUP_BUDGET_MS } from '../../scheduler/orchestrators/types.js';

interface UpFlags {
  gpus: string;
  models: string;
  realGpus?: boolean;
  port: number;
  adminPort: number;
  grpcPort?: number;
  grpc: boolean;
  schedulerPort: number;
  host: string;
  policy: Policy;
  reserve: string;
  maxPerGpu: number;
  profiles?: string;
  replicaThreads: string;
  readyTimeout?: number;
  warmupBudget: number;
}

/**
 * `gpumux up` (= `npm start`): the whole stack on this machine. Prints `clients: <url>`, `operators: <url>`,
 * `scheduler: <url>` and, once every replica is ready, a `ready:` line. SIGINT/SIGTERM stop every process.
 */
export function upCommand(): Command {
  const command = new Command('up').description(
    'run the local stack: scheduler + replicas on (virtual) GPUs + gateway',
  );
  return withSchedulingOptions(withListenOptions(withWorkloadOptions(command))).action(runUp);
}

/** What runs: the GPUs and the models. */
function withWorkloadOptions(command: Command): Command {
  return command
    .option(
      '--gpus <spec>',
      'GPUs (virtual unless --real-gpus): 2x5GiB or node-a:2x24GiB,...',
      DEFAULT_LOCAL_GPUS,
    )
    .option(
      '--models <spec>',
      'models: shapes=3 (exactly 3) or shapes (1 up to what fits, following load), comma-separated; ' +
        'shapes@2=1 runs that folder as version 2 beside others',
      DEFAULT_LOCAL_MODELS,
    )
    .option(
      '--real-gpus',
      'start replicas on real GPUs (CUDA_VISIBLE_DEVICES) instead of virtual ones on the CPU',
    );
}

/** Where the stack listens. */
function withListenOptions(command: Command): Command {
  return command
    .option('--port <port>', 'client port (0 = any free port)', port, 8080)
    .option(
      '--admin-port <port>',
      'operator port: /ui, /v1/cluster, /metrics (0 = any free port)',
      port,
      8090,
    )
    .option(
      '--grpc-port <port>',
      "gateway's KServe v2 gRPC port; replicas serve gRPC on ports of their own (default 8001, 0 with --port 0)",
      port,
    )
    .option('--no-grpc', 'no gRPC ports (gateway and replicas)')
    .option(
      '--scheduler-port <port>',
      "scheduler's /v1/plan, /healthz, /metrics (0 = any free port)",
      port,
      8070,
    )
    .option('--host <host>', 'address to bind', '127.0.0.1');
}

/** How replicas are placed, and how long they may take to start. */
function withSchedulingOptions(command: Command): Command {
  return command
    .addOption(new Option('--policy <policy>', 'placement policy').choices(POLICIES).default(DEFAULT_POLICY))
    .option('--reserve <size>', 'memory kept free per GPU', '512MiB')
    .option('--max-per-gpu <n>', 'at most this many replicas per GPU (0 = no cap)', replicasPerGpu, 0)
    .option(
      '--profiles <file>',
      'where measured footprints persist (default $XDG_STATE_HOME/gpumux/profiles.json)',
    )
    .option('--replica-threads <n>', 'ONNX Runtime threads per replica (CPU)', '1')
    .option(
      '--warmup-budget <seconds>',
      'how long one replica may take to load and warm up before it is stopped (Co-DETR on a CPU: minutes)',
      wholeSeconds,
      DEFAULT_WARMUP_BUDGET_MS / 1000,
    )
    .option(
      '--ready-timeout <seconds>',
      'give up when replicas are not ready by then (default: the warm-up budget + 60 s)',
      wholeSeconds,
    );
}

async function runUp(flags: UpFlags): Promise<void> {
  const logger = createLogger({ component: 'up' });
  // Loaded here, not at the top: the whole local stack (gateway included) is only for `gpumux up`.
  const { startLocalStack } = await import('../local-stack.js');
  const stack = await startLocalStack({
    gpus: flags.gpus,
    models: flags.models,
    realGpus: flags.realGpus ?? false,
    port: flags.port,
    adminPort: flags.adminPort,
    // Triton's gRPC port by default; any free one when the client port is "any free port" too.
    grpcPort: flags.grpc ? (flags.grpcPort ?? (flags.port === 0 ? 0 : 8001)) : null,
    host: flags.host,
    schedulerPort: flags.schedulerPort,
    policy: flags.policy,
    reserveBytes: parseBytes(flags.reserve),
    maxReplicasPerGpu: flags.maxPerGpu,
    ...(flags.profiles ? { profilesFile: flags.profiles } : {}),
    replicaArgs: ['--threads', flags.replicaThreads],
    warmupBudgetMs: flags.warmupBudget * 1000,
    logger,
  });
  stopOnSignals(stack, logger);
  process.stdout.write(
    `gpumux up\n  clients:   ${stack.url}\n  operators: ${stack.adminUrl}  (UI: ${stack.adminUrl}/ui)\n`,
  );
  if (stack.grpcAddress) process.stdout.write(`  grpc:      ${stack.grpcAddress}  (KServe v2 gRPC)\n`);
  if (stack.schedulerUrl) process.stdout.write(`  scheduler: ${stack.schedulerUrl}/v1/plan\n`);
  try {
    await stack.ready((flags.readyTimeout ?? flags.warmupBudget + 60) * 1000);
  } catch (err) {
    logger.error('stack not ready', { err });
    await stack.close();
    process.exit(1);
  }
  process.stdout.write(readyLines(stack));
}

/** SIGINT/SIGTERM close the stack; a second one exits at once (the exit hook SIGKILLs every child). */
function stopOnSignals(stack: LocalStack, logger: Logger): void {
  let closing: Promise<void> | null = null;
  const shutdown = (signal: string): void => {
    if (closing) process.exit(130);
    logger.info('stopping', { signal });
    closing = stack.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('stop failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/** The `ready:` line (where each replica runs), each replica's gRPC address, and a `try:` command. */
function readyLines(stack: LocalStack): string {
  // `shapes@local/0`, or `shapes:2@local/0` where versions of one model run side by side
  const versioned = versionedNames(stack.models);
  const where = (r: ManagedReplica): string =>
    `${r.model}${versioned.includes(r.model) ? `:${r.version}` : ''}@${r.node}/${r.gpuIndex}`;
  const placed = stack.orchestrator.replicas().map(where).sort().join(' ');
  const replicaGrpc = stack.orchestrator
    .replicas()
    .filter((r) => r.grpcAddress)
    .map((r) => `${where(r)}=${r.grpcAddress}`)
    .sort()
    .join(' ');
  return (
    `  ready: ${placed}\n` +
    (replicaGrpc ? `  replica grpc: ${replicaGrpc}\n` : '') +
    `  try: curl -s -X POST --data-binary @image.jpg -H 'content-type: image/jpeg' ${stack.url}/v1/models/${stack.models[0]!.name}/detect\n`
  );
}
