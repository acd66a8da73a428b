import { Command } from 'commander';

// Placeholder until the gateway issue lands; owned by whoever builds gateway.
export function gatewayCommand(): Command {
  return new Command('gateway').description('(not built yet)').action(() => {
    throw new Error('gpumux gateway is not built yet');
  });
}
