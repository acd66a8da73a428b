import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { spawnCli } from '../helpers/cli-process.js';

export interface GatewayProcess {
  url: string;
  adminUrl: string;
  /** `host:port` of the gateway's gRPC server, when started with `--grpc-port`. */
  grpcAddress?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Runs `gpumux gateway` as its own process (the CLI as users run it), on ports 0; resolves once it listens. */
export function startGatewayProcess(
  args: string[],
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const child = spawnCli(
    ['gateway', '--port', '0', '--admin-port', '0', '--host', '127.0.0.1', ...args],
    env,
  );
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  return new Promise((resolve, reject) => {
    const tail: string[] = [];
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`gateway did not start:\n${tail.join('\n')}`));
    }, 30_000);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      try {
        const record = JSON.parse(line) as { msg?: string; url?: string; adminUrl?: string; grpc?: string };
        if (record.msg === 'gateway listening' && record.url && record.adminUrl) {
          clearTimeout(timer);
          const grpc = record.grpc ? { grpcAddress: record.grpc } : {};
          resolve({ url: record.url, adminUrl: record.adminUrl, ...grpc, process: child, stop });
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${tail.join('\n')}`));
    });
  });
}
