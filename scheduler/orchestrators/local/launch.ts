import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { parseListeningRecord } from '../../../replica/listening-line.js';
import { clearBudget, trackProcess, untrackProcess, type Child, type LocalContext } from './child.js';
import { onDeath } from './death.js';
import { replicaLaunch } from './replica-args.js';
import { startWarmupBudget, waitReady } from './warm-up.js';

/** Lines of a replica's stderr kept for its death report. */
const LOG_TAIL_LINES = 30;

/** Starts (or restarts) the child's process: `starting` until ready, its death reported and restarted. */
export function launch(ctx: LocalContext, child: Child): void {
  const { args, env } = replicaLaunch(child.request, {
    id: child.replica.id,
    host: ctx.host,
    replicaArgs: ctx.replicaArgs,
    env: { ...process.env, ...ctx.env },
    warmupBudgetSeconds: Math.max(1, Math.ceil(ctx.warmupBudgetMs / 1000)),
  });
  const proc = spawn(ctx.launcher.command, [...ctx.launcher.args, ...args], {
    // `ps` shows `gpumux --import tsx …/cli/main.ts replica --model …` rather than a bare `node`; the
    // arguments stay as they are (process.title would join them into one string)
    argv0: 'gpumux',
    cwd: ctx.launcher.cwd,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  trackProcess(proc);
  child.process = proc;
  child.replica.phase = 'starting';
  child.replica.url = null;
  child.replica.startedAt = Date.now();
  const launchedAt = Date.now();
  startWarmupBudget(ctx, child, proc);
  readLog(proc.stderr, (line) => onLogLine(ctx, child, proc, line));
  child.exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      untrackProcess(proc);
      if (child.process !== proc) return resolve();
      child.process = null;
      clearBudget(child);
      resolve();
      if (child.stopping || ctx.stopped()) return;
      onDeath(ctx, child, { code, signal, launchedAt }, () => launch(ctx, child));
    });
  });
  ctx.emit({ type: 'changed' });
}

/** Calls `onLine` for each non-blank line written to the stream. */
function readLog(stderr: Readable, onLine: (line: string) => void): void {
  let buffered = '';
  stderr.setEncoding('utf8');
  stderr.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim()) onLine(line);
    }
  });
}

/** Keeps the line for the death report; the replica's `listening` line gives its URL and starts the readiness poll. */
function onLogLine(ctx: LocalContext, child: Child, proc: ChildProcess, line: string): void {
  child.logTail.push(line);
  if (child.logTail.length > LOG_TAIL_LINES) child.logTail.shift();
  const listening = child.replica.url === null ? parseListeningRecord(line) : undefined;
  if (!listening) return;
  child.replica.url = listening.url;
  child.replica.grpcAddress = listening.grpc;
  ctx.emit({ type: 'changed' });
  void waitReady(ctx, child, proc);
}
