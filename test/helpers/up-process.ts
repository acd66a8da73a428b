import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './cli-process.js';

export interface UpStack {
  process: ChildProcess;
  /** Everything `up` printed so far (the URLs, the `ready:` line, …). */
  stdout(): string;
  /** The last 20 000 characters of its logs. */
  stderr(): string;
  /** The URL printed after `name:` (`clients`, `operators`, `scheduler`). */
  url(name: string): string;
  /** Removes the profiles folder; stopping the process is the test's (signals differ between tests). */
  cleanup(): Promise<void>;
}

/**
 * `gpumux up` as a real child process on ports 0 with its profiles in a temporary folder, `args` added to the
 * command line; resolves once it printed its `ready:` line.
 *
 * @example
 * const stack = await startUpStack(['--gpus', '1x5GiB', '--models', 'shapes=1']);
 * await fetch(`${stack.url('clients')}/v2/health/ready`);
 */
export async function startUpStack(
  args: string[],
  { env = process.env, timeoutMs = 120_000 }: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<UpStack> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gpumux-up-'));
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', path.join(REPO_ROOT, 'cli/main.ts'), 'up',
      '--port', '0', '--admin-port', '0', '--scheduler-port', '0',
      '--profiles', path.join(dir, 'profiles.json'),
      ...args,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env },
  ); // prettier-ignore
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-20_000)));
  const deadline = Date.now() + timeoutMs;
  while (!stdout.includes('ready:')) {
    if (child.exitCode !== null) throw new Error(`up exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`no ready line: ${stdout}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    url: (name) => /https?:\/\/\S+/.exec(new RegExp(`${name}:\\s+(\\S+)`).exec(stdout)![1]!)![0],
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
