import { Command } from 'commander';

// Placeholder until the plan issue lands; owned by whoever builds plan.
export function planCommand(): Command {
  return new Command('plan').description('(not built yet)').action(() => {
    throw new Error('gpumux plan is not built yet');
  });
}
