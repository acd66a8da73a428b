import { Command } from 'commander';

// Placeholder until the scheduler issue lands; owned by whoever builds scheduler.
export function schedulerCommand(): Command {
  return new Command('scheduler').description('(not built yet)').action(() => {
    throw new Error('gpumux scheduler is not built yet');
  });
}
