import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseListeningLine } from '../../replica/listening-line.js';
import { REPO_ROOT, spawnCli } from './cli-process.js';

/**
 * Starts a real replica process (`node --import tsx cli/main.ts replica --port 0 ...`) for tests and benches,
 * reads its URL from the `listening` log line and (by default) waits until `GET /v2/health/ready` says 200.
 *
 * @example
 * const replica = await startReplica({ model: 'models/shapes' });
 * const res = await fetch(`${replica.url}/v1/models/shapes/detect`, { method: 'POST', body: jpeg, headers: { 'content-type': 'image/jpeg' } });
 * await replica.stop();
 */

// Many tests and benches import the repository root from here.
export { REPO_ROOT };

export interface StartReplicaOptions {
  /** Model folder, absolute or relative to the repository root. Default `models/shapes`. */
  model?: string;
  /** Extra CLI arguments, e.g. `['--max-batch', '1']` or `['--virtual-gpu', 'node-a:0:24GiB']`. */
  args?: string[];
  /** Extra environment (merged over the parent's; GPUMUX_LOG_LEVEL defaults to `info`). */
  env?: Record<string, string | undefined>;
  /** Wait for `/v2/health/ready` (default true); false returns once it listens. */
  waitForReady?: boolean;
  /** Give up (and kill the process) after this long. Default 60 s. */
  timeoutMs?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ReplicaProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  process: ChildProcess;
  /** Every structured log line the replica wrote to stderr so far (non-JSON lines as `{ raw }`). */
  logs(): Record<string, unknown>[];
  /** Resolves when the process has exited (whoever stopped it). */
  exited: Promise<ExitInfo>;
  /** Sends `signal` (default SIGTERM), waits for exit (SIGKILL after `graceMs`, default 15 s). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitInfo>;
}

const running = new Set<ChildProcess>();
let cleanupInstalled = false;

/** A test that fails half-way must not leave replicas running on a shared machine. */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export async function startReplica({
  model = 'models/shapes',
  args = [],
  env = {},
  waitForReady = true,
  timeoutMs = 60_000,
}: StartReplicaOptions = {}): Promise<ReplicaProcess> {
  installCleanup();
  const modelDir = path.resolve(REPO_ROOT, model);
  const child = spawnCli(['replica', '--model', modelDir, '--port', '0', ...args], env);
  running.add(child);

  const lines: Record<string, unknown>[] = [];
  let listening: ((url: string) => void) | undefined;
  const listeningUrl = new Promise<string>((resolve) => (listening = resolve));
  let buffered = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() === '') continue;
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        record = { raw: line };
      }
      lines.push(record);
      const url = parseListeningLine(line);
      if (url !== undefined) listening?.(url);
    }
  });

  const exited: Promise<ExitInfo> = once(child, 'exit').then(([code, signal]) => {
    running.delete(child);
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });

  const tail = (): string =>
    lines
      .slice(-15)
      .map((l) => JSON.stringify(l))
      .join('\n');

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<ExitInfo> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  const deadline = Date.now() + timeoutMs;
  const fail = async (why: string): Promise<never> => {
    await stop('SIGKILL', 1000);
    throw new Error(`replica (${model}) ${why}; last log lines:\n${tail()}`);
  };

  const first = await Promise.race([
    listeningUrl.then((url) => ({ url })),
    exited.then((info) => ({ exit: info })),
    new Promise<{ timeout: true }>((resolve) =>
      setTimeout(() => resolve({ timeout: true }), timeoutMs).unref(),
    ),
  ]);
  if ('exit' in first)
    return fail(`exited before listening (code ${first.exit.code}, signal ${first.exit.signal})`);
  if ('timeout' in first) return fail(`did not log "listening" within ${timeoutMs} ms`);
  const url = first.url;

  if (waitForReady) {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        return fail(`exited before ready (code ${child.exitCode}, signal ${child.signalCode})`);
      }
      if (Date.now() > deadline) return fail(`not ready within ${timeoutMs} ms`);
      const ready = await fetch(`${url}/v2/health/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return { url, port: Number(new URL(url).port), process: child, logs: () => lines, exited, stop };
}

/** A `<field>: <n> kB` line of /proc/<pid>/status in bytes (Linux); null when the process has gone. */
async function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Resident set size of a process in bytes, from /proc (Linux); null when it has gone. */
export const processRssBytes = (pid: number): Promise<number | null> => procStatusBytes(pid, 'VmRSS');

/** Peak resident set size (VmHWM) of a process in bytes, from /proc (Linux); null when it has gone. */
export const processPeakRssBytes = (pid: number): Promise<number | null> => procStatusBytes(pid, 'VmHWM');
