import { Command } from 'commander';

// Placeholder until the up issue lands; owned by whoever builds up.
export function upCommand(): Command {
  return new Command('up').description('(not built yet)').action(() => {
    throw new Error('gpumux up is not built yet');
  });
}
