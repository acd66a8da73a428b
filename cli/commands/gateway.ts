import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { createLogger, type Logger } from '../../common/log.js';
import { loadTokens } from '../../gateway/auth/tokens.js';
import type { GatewayConfig } from '../../gateway/config.js';
import { DEFAULT_REPLICA_SELECTOR, kubernetesDiscovery } from '../../gateway/discovery/kubernetes.js';
import { staticDiscovery } from '../../gateway/discovery/static.js';
import { port } from '../arg-parsers.js';

interface GatewayFlags {
  port: number;
  adminPort: number;
  grpcPort?: number;
  host: string;
  replica: string[];
  discovery: 'static' | 'kubernetes';
  namespace: string;
  selector: string;
  replicaPort: number;
  models?: string;
  pollInterval?: string;
  timeout?: string;
  reserve?: string;
  authTokenFile?: string;
  adminTokenFile?: string;
  schedulerUrl?: string;
  config?: string;
  shutdownDelay?: string;
  shutdownGrace?: string;
  perTryTimeout?: string;
  retryBudget?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * The one configuration the gateway gets: the YAML file with the explicit flags laid over it, validated (a
 * flag that is not given leaves the file's value, else the config's default, which its help text names).
 */
export async function gatewayConfigFrom(
  file: Record<string, unknown>,
  flags: GatewayFlags,
): Promise<GatewayConfig> {
  // Loaded on use, as the gateway itself below: zod would slow every other subcommand's start.
  const { parseGatewayConfig } = await import('../../gateway/config.js');
  const section = (key: string) => (file[key] as Record<string, unknown> | undefined) ?? {};
  const retries = section('retries');
  return parseGatewayConfig({
    ...file,
    ...(flags.pollInterval !== undefined && { pollInterval: flags.pollInterval }),
    ...(flags.timeout !== undefined && { timeout: flags.timeout }),
    ...(flags.reserve !== undefined && { reserve: flags.reserve }),
    shutdown: {
      ...section('shutdown'),
      ...(flags.shutdownDelay !== undefined && { notReadyDelay: flags.shutdownDelay }),
      ...(flags.shutdownGrace !== undefined && { grace: flags.shutdownGrace }),
    },
    retries: {
      ...retries,
      ...(flags.perTryTimeout !== undefined && {
        perTryTimeout: {
          ...(retries.perTryTimeout as Record<string, unknown> | undefined),
          min: flags.perTryTimeout,
        },
      }),
      ...(flags.retryBudget !== undefined && {
        budget: {
          ...(retries.budget as Record<string, unknown> | undefined),
          ratio: Number(flags.retryBudget),
        },
      }),
    },
  });
}

/** `gpumux gateway`: one endpoint over many replicas (docs/gateway.md). */
export function gatewayCommand(): Command {
  const command = new Command('gateway').description(
    'Serve the client API over the replicas, routed by GPU memory headroom and load',
  );
  return withServingOptions(withGatewayOptions(command)).action(runGateway);
}

/** Ports, discovery, models, limits and auth. */
function withGatewayOptions(command: Command): Command {
  return command
    .option('--port <port>', 'client port (0 = any free port)', port, 8080)
    .option(
      '--admin-port <port>',
      'operator port: /v1/cluster, /metrics, /ui (0 = any free port)',
      port,
      8090,
    )
    .option('--grpc-port <port>', 'KServe v2 gRPC + gRPC health port (default: no gRPC)', port)
    .option('--host <host>', 'bind address', '0.0.0.0')
    .option('--replica <url>', 'replica URL for static discovery (repeatable)', collect, [])
    .addOption(
      new Option('--discovery <kind>', 'where replicas come from')
        .choices(['static', 'kubernetes'])
        .default('static'),
    )
    .option(
      '--namespace <ns>',
      'kubernetes: namespace of the replica pods',
      process.env.POD_NAMESPACE ?? 'default',
    )
    .option(
      '--selector <k=v,...>',
      'kubernetes: label selector of the replica pods',
      DEFAULT_REPLICA_SELECTOR,
    )
    .option('--replica-port <port>', "kubernetes: the replicas' port", port, 8081)
    .option('--models <name[:version],...>', 'models /v2/health/ready requires (default: every model seen)')
    .option('--poll-interval <duration>', "how often each replica's /v1/stats is polled (default: 1s)")
    .option(
      '--timeout <duration>',
      "default request deadline; a request's `timeout` header overrides it (default: 30s)",
    )
    .option('--reserve <size>', 'GPU memory kept free per GPU (default: 512MiB)')
    .option(
      '--auth-token-file <path>',
      'bearer tokens for the client API, one per line (or env GPUMUX_AUTH_TOKENS)',
    )
    .option('--admin-token-file <path>', 'bearer tokens for the operator API');
}

/** The plan source, the config file, shutdown and retries. */
function withServingOptions(command: Command): Command {
  return command
    .option('--scheduler-url <url>', 'scheduler to fetch the plan from (<url>/v1/plan)')
    .option('--config <file.yaml>', 'routing weights, limits, retries, ejection (docs/gateway.md)')
    .option(
      '--shutdown-delay <duration>',
      'after SIGTERM, keep serving while reporting not-ready this long, so load balancers stop sending first',
    )
    .option(
      '--shutdown-grace <duration>',
      'the drain deadline: then in-flight requests, connections and gRPC calls are cut and the process exits (default: 30s)',
    )
    .option(
      '--per-try-timeout <duration>',
      "shortest per-try timeout; a try is cut and retried elsewhere past 4x the replica's usual time (default: 1s)",
    )
    .option(
      '--retry-budget <ratio>',
      'retries at most this share of requests per 10 s, per model (default: 0.2)',
    );
}

/** Starts the gateway from the flags and stops it on SIGTERM/SIGINT. */
async function runGateway(flags: GatewayFlags): Promise<void> {
  const logger = createLogger({ component: 'gateway' });
  const file = flags.config
    ? ((parseYaml(readFileSync(flags.config, 'utf8')) as Record<string, unknown> | null) ?? {})
    : {};
  const config = await gatewayConfigFrom(file, flags);
  // Loaded here, not at the top: the gateway's HTTP and metrics stack would slow every other subcommand.
  const { startGateway } = await import('../../gateway/index.js');
  const gateway = await startGateway({
    port: flags.port,
    adminPort: flags.adminPort,
    ...(flags.grpcPort !== undefined && { grpcPort: flags.grpcPort }),
    host: flags.host,
    discovery: discoveryFrom(flags, logger),
    models: flags.models
      ?.split(',')
      .map((m) => m.trim())
      .filter((m) => m !== ''),
    authTokens: loadTokens({ file: flags.authTokenFile, env: process.env.GPUMUX_AUTH_TOKENS }),
    adminTokens: loadTokens({ file: flags.adminTokenFile }),
    ...(flags.schedulerUrl !== undefined && { schedulerUrl: flags.schedulerUrl }),
    config,
    logger,
  });
  const shutdown = (signal: string) => {
    logger.info('shutting down', { signal });
    // close() ends by the drain deadline whatever clients and replicas do (gateway/index.ts).
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

/** Where replicas come from: the pods of a Kubernetes selector, or the --replica URLs. */
function discoveryFrom(flags: GatewayFlags, logger: Logger) {
  if (flags.discovery === 'kubernetes') {
    return kubernetesDiscovery({
      namespace: flags.namespace,
      selector: flags.selector,
      replicaPort: flags.replicaPort,
      logger,
    });
  }
  if (flags.replica.length === 0) throw new Error('static discovery needs at least one --replica <url>');
  return staticDiscovery(flags.replica);
}
