import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { upCommand } from './up.js';

/** Parses `gpumux up` flags only: every case here is rejected before the stack would start. */
async function parseError(args: string[]): Promise<string> {
  let stderr = '';
  const command = upCommand()
    .exitOverride()
    .configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => undefined });
  try {
    await command.parseAsync(args, { from: 'user' });
  } catch (err) {
    expect(err).toBeInstanceOf(CommanderError);
    return stderr;
  }
  throw new Error(`accepted ${args.join(' ')}`);
}

describe('gpumux up flags', () => {
  it.each(['-1', '2.5', 'two', ''])('rejects --max-per-gpu %j with a clear message', async (value) => {
    expect(await parseError(['--max-per-gpu', value])).toMatch(
      /--max-per-gpu <n>' argument '.*' is invalid\. expected a whole number ≥ 0 \(0 = no cap\)/,
    );
  });
});
