import { Command } from 'commander';
import { replicaCommand } from './commands/replica.js';
import { gatewayCommand } from './commands/gateway.js';
import { schedulerCommand } from './commands/scheduler.js';
import { planCommand } from './commands/plan.js';
import { upCommand } from './commands/up.js';
import { packageVersion } from '../common/http/package-version.js';

const program = new Command()
  .name('gpumux')
  .description('GPU multiplexing gateway: replicas, gateway, scheduler and the local stack')
  .version(packageVersion(), '-V, --version', 'print the gpumux version')
  .showHelpAfterError()
  .addCommand(replicaCommand())
  .addCommand(gatewayCommand())
  .addCommand(schedulerCommand())
  .addCommand(planCommand())
  .addCommand(upCommand());

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`gpumux: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
