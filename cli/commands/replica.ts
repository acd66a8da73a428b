import { Command } from 'commander';

// Placeholder until the replica issue lands; owned by whoever builds replica.
export function replicaCommand(): Command {
  return new Command('replica').description('(not built yet)').action(() => {
    throw new Error('gpumux replica is not built yet');
  });
}
