import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/replica-process.js';

/** What the operator-view test runs: `npm start`'s stack with two virtual GPUs and three replicas. */
const UP_ARGS = [
  'up',
  '--gpus', '2x8GiB',
  '--models', 'shapes=3',
  // spread: 2 + 1 replicas, so both GPUs have a replica (the gateway knows GPUs through their replicas)
  '--policy', 'spread',
  '--port', '0',
  '--admin-port', '0',
  '--scheduler-port', '0',
]; // prettier-ignore

export interface Stack {
  /** Client API. */
  url: string;
  /** Operator side: /ui, /v1/cluster. */
  adminUrl: string;
  process: ChildProcess;
  /** Kills the replica process with this id (a child of this stack's `up`) hard. */
  killReplica(id: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Starts `gpumux up` from source as a child process, reads its URLs from stdout and waits for its
 * `ready:` line. Profiles go to a temporary folder, not the user's state directory.
 */
export async function startStack({ timeoutMs = 120_000 } = {}): Promise<Stack> {
  const state = await mkdtemp(path.join(os.tmpdir(), 'gpumux-ui-test-'));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(REPO_ROOT, 'cli', 'main.ts'),
      ...UP_ARGS,
      '--profiles',
      path.join(state, 'profiles.json'),
    ],
    // info: the orchestrator finds each replica's URL in its `listening` log line
    { cwd: REPO_ROOT, env: { ...process.env, GPUMUX_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = once(child, 'exit');
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));

  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM'); // up drains and stops its replicas
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(state, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  while (!/^\s*ready:/m.test(stdout)) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(
        `gpumux up did not get ready (exit ${child.exitCode ?? child.signalCode}).\n${stdout}\n${stderr}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const url = /clients:\s+(\S+)/.exec(stdout)?.[1];
  const adminUrl = /operators:\s+(\S+)/.exec(stdout)?.[1];
  if (!url || !adminUrl) {
    await close();
    throw new Error(`gpumux up printed no URLs:\n${stdout}`);
  }

  return {
    url,
    adminUrl,
    process: child,
    killReplica: async (id) => {
      const pid = await childWithArgs(child.pid!, ['--replica-id', id]);
      if (pid === null) throw new Error(`no replica process ${id} under gpumux up (pid ${child.pid})`);
      process.kill(pid, 'SIGKILL');
      return pid;
    },
    close,
  };
}

/**
 * The direct child of `parent` whose command line holds `args` in a row (Linux /proc). Only children of
 * this test's own `up`: other stacks on the machine may use the same replica ids.
 */
async function childWithArgs(parent: number, args: string[]): Promise<number | null> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      const at = argv.indexOf(args[0]!);
      if (at >= 0 && args.every((a, i) => argv[at + i] === a)) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return null;
}
