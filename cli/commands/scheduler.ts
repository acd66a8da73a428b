import { Command } from 'commander';
import { createLogger } from '../../common/log.js';
import { port } from '../arg-parsers.js';

/**
 * `gpumux scheduler --config scheduler.yaml`: the scheduler on a cluster (orchestrator kubernetes):
 * GPU inventory from node labels, replica pods from the template, leader election through a Lease,
 * `GET /v1/plan`, `/healthz`, `/metrics` on --http-port. For a local stack use `gpumux up`.
 */
export function schedulerCommand(): Command {
  return new Command('scheduler')
    .description('run the scheduler on Kubernetes: pack replica pods onto GPUs by measured footprint')
    .requiredOption('--config <file>', 'scheduler YAML (docs/contracts.md §4)', '/etc/gpumux/scheduler.yaml')
    .option(
      '--http-port <port>',
      "port of /v1/plan, /healthz, /metrics (default: the config's httpPort, 8070)",
      port,
    )
    .option('--host <host>', 'address to bind', '0.0.0.0')
    .action(async (flags: { config: string; httpPort?: number; host: string }) => {
      const logger = createLogger({ component: 'scheduler' });
      // Loaded here, not at the top, so other subcommands do not pay for the scheduler's HTTP stack.
      const [{ loadSchedulerConfig }, { schedulerApp }, { listenApp }, { createKubernetesStack }] =
        await Promise.all([
          import('../../scheduler/config/load.js'),
          import('../../scheduler/http.js'),
          import('../../common/http/listen.js'),
          import('../../scheduler/kubernetes-stack.js'),
        ]);
      const config = await loadSchedulerConfig(flags.config);
      if (config.orchestrator.kind !== 'kubernetes') {
        throw new Error(
          'gpumux scheduler runs the kubernetes orchestrator; for local replicas use `gpumux up`',
        );
      }
      const stack = await createKubernetesStack({ config, logger });
      const http = await listenApp(
        schedulerApp({ scheduler: stack.scheduler, isLeader: stack.isLeader }),
        flags.httpPort ?? config.httpPort,
        flags.host,
      );
      logger.info('scheduler listening', {
        url: http.url,
        namespace: config.orchestrator.namespace,
        policy: config.policy,
      });
      await stack.start();
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) process.exit(130);
        stopping = true;
        logger.info('stopping', { signal });
        // Stopping releases the lease so a standby takes over at once.
        void Promise.all([stack.stop(), http.close()]).then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}
