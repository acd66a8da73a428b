import type { Logger } from '../common/log.js';
import type { RunningReplica } from './server.js';

/**
 * SIGTERM (and SIGINT): drain, close, exit 0. A second signal exits at once with 1. `stopping()` says
 * whether a signal arrived (a load cut short by SIGTERM is not a failed start).
 * Only the CLI installs these; tests drive `drain()` / `close()` directly.
 */
export function installSignalHandlers(
  replica: RunningReplica,
  { logger, exit = (code: number) => process.exit(code) }: { logger: Logger; exit?: (code: number) => void },
): { stopping(): boolean } {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn('second signal: exiting now', { signal });
      exit(1);
      return;
    }
    stopping = true;
    logger.info('signal received: draining', { signal });
    replica.close().then(
      () => exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return { stopping: () => stopping };
}
