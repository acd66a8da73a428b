import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.js';
import { find, helmTemplate } from './chart.js';
import { replicaTemplate } from './pod-specs.js';

/**
 * The model fetch initContainer's script, taken from the rendered replica template (what ships), run with the
 * machine's POSIX sh against a real HTTP server on port 0.
 */

const objects = helmTemplate(['ci/rtx4090-values.yaml']);
const pod: V1Pod = replicaTemplate(find(objects, 'ConfigMap', 'prod-gpumux-replica-pod'));
const fetchContainer = pod.spec!.initContainers!.find((c) => c.name === 'fetch-model')!;
const script = fetchContainer.command![2]!;

const model = Buffer.from('not really an onnx graph, but bytes with a known sha256\n'.repeat(4096));
const modelSha = createHash('sha256').update(model).digest('hex');

let server: Server;
let base = '';
let requests = 0;
let delayMs = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests += 1;
    if (req.url === '/stall.onnx') {
      // Half the file, then nothing: a download in progress for as long as the client stays.
      res.writeHead(200, { 'content-length': model.length }).write(model.subarray(0, model.length / 2));
      return;
    }
    if (req.url !== '/codetr.onnx') {
      res.writeHead(404).end('not found');
      return;
    }
    setTimeout(() => res.writeHead(200, { 'content-length': model.length }).end(model), delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

let volume = '';
beforeEach(() => {
  volume = mkdtempSync(join(tmpdir(), 'gpumux-models-'));
  requests = 0;
  delayMs = 0;
  return () => rmSync(volume, { recursive: true, force: true });
});

function run(
  args: string[],
  env: Record<string, string> = {},
  started: (child: ChildProcess) => void = () => undefined,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script, 'fetch-model', ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    started(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? (child.signalCode === 'SIGKILL' ? 137 : -1), stderr });
    });
  });
}

const leftovers = (dir: string) => readdirSync(dir).filter((f) => f !== 'model.onnx');

describe('fetch-model initContainer script', () => {
  it('downloads the file, verifies it, and leaves nothing partial behind', async () => {
    const dest = join(volume, 'codetr', 'model.onnx');
    const result = await run([dest, `${base}/codetr.onnx`, modelSha]);
    expect(result.code).toBe(0);
    expect(readFileSync(dest).equals(model)).toBe(true);
    expect(leftovers(join(volume, 'codetr'))).toEqual([]);
    expect(requests).toBe(1);
    expect(result.stderr).toContain('"msg":"downloaded and verified"');
  });

  it('skips the download when the verified file is already there', async () => {
    const dest = join(volume, 'codetr', 'model.onnx');
    expect((await run([dest, `${base}/codetr.onnx`, modelSha])).code).toBe(0);
    const second = await run([dest, `${base}/codetr.onnx`, modelSha]);
    expect(second.code).toBe(0);
    expect(requests).toBe(1);
    expect(second.stderr).toContain('skipping the download');
  });

  it('replaces a file whose sha256 does not match', async () => {
    const dest = join(volume, 'codetr', 'model.onnx');
    mkdirSync(join(volume, 'codetr'));
    writeFileSync(dest, 'truncated');
    expect((await run([dest, `${base}/codetr.onnx`, modelSha])).code).toBe(0);
    expect(readFileSync(dest).equals(model)).toBe(true);
  });

  it('fails loudly on a sha256 mismatch and keeps no file', async () => {
    const dest = join(volume, 'codetr', 'model.onnx');
    const wrong = 'f'.repeat(64);
    const result = await run([dest, `${base}/codetr.onnx`, wrong]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`sha256 mismatch: expected ${wrong}, got ${modelSha}`);
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(join(volume, 'codetr'))).toEqual([]);
  });

  it('fails loudly when the download fails', async () => {
    const dest = join(volume, 'codetr', 'model.onnx');
    const result = await run([dest, `${base}/missing.onnx`, modelSha]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`download failed from ${base}/missing.onnx`);
    expect(readdirSync(join(volume, 'codetr'))).toEqual([]);
  });

  it('downloads once when two pods start together on a shared volume', async () => {
    delayMs = 1500;
    const dest = join(volume, 'codetr', 'model.onnx');
    const env = { LOCK_POLL: '1' };
    const [a, b] = await Promise.all([run([dest, `${base}/codetr.onnx`, modelSha], env), run([dest, `${base}/codetr.onnx`, modelSha], env)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(requests).toBe(1);
    expect(a.stderr + b.stderr).toContain('downloaded by another pod');
    expect(readFileSync(dest).equals(model)).toBe(true);
    expect(leftovers(join(volume, 'codetr'))).toEqual([]);
  });

  it('takes over a lock left by a pod that died', async () => {
    const dest = join(volume, 'codetr', 'model.onnx');
    mkdirSync(`${dest}.lock`, { recursive: true });
    const result = await run([dest, `${base}/codetr.onnx`, modelSha], { LOCK_TIMEOUT: '0' });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('taking it over');
    expect(readFileSync(dest).equals(model)).toBe(true);
  });

  it('takes over a stale lock at once: its age is its mtime, not how long this pod has waited', async () => {
    const dest = join(volume, 'codetr', 'model.onnx');
    mkdirSync(`${dest}.lock`, { recursive: true });
    const hourAgo = Date.now() / 1000 - 3600;
    utimesSync(`${dest}.lock`, hourAgo, hourAgo);
    const t0 = Date.now();
    const result = await run([dest, `${base}/codetr.onnx`, modelSha], { LOCK_TIMEOUT: '1800' });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('taking it over');
    // Waiting LOCK_TIMEOUT from its own start would take 30 minutes (the run is killed after 30 s).
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(leftovers(join(volume, 'codetr'))).toEqual([]);
  });

  it('leaves a live holder alone: the heartbeat keeps its lock fresh past LOCK_TIMEOUT', async () => {
    // Without the heartbeat the waiter would take over after 6 s, while the holder still downloads (9 s);
    // with a 1 s heartbeat the lock is never older than ~1 s, so even a loaded machine keeps a wide margin.
    delayMs = 9000;
    const dest = join(volume, 'codetr', 'model.onnx');
    const holder = run([dest, `${base}/codetr.onnx`, modelSha], { LOCK_HEARTBEAT: '1' });
    await until('the lock file', () => existsSync(`${dest}.lock`), 10_000);
    const waiter = run([dest, `${base}/codetr.onnx`, modelSha], { LOCK_TIMEOUT: '6', LOCK_POLL: '1' });
    const [a, b] = await Promise.all([holder, waiter]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(b.stderr).not.toContain('taking it over');
    expect(b.stderr).toContain('downloaded by another pod');
    expect(requests).toBe(1);
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('removes its lock and partial file when stopped by %s mid-download', async (signal, code) => {
    const dir = join(volume, 'codetr');
    const dest = join(dir, 'model.onnx');
    let child: ChildProcess | undefined;
    const result = run([dest, `${base}/stall.onnx`, modelSha], {}, (c) => (child = c));
    await until('the lock and a partial file', () => existsSync(`${dest}.lock`) && readdirSync(dir).some((f) => f.includes('.partial.')), 10_000);
    child!.kill(signal);
    const { code: exit } = await result;
    expect(exit).toBe(code);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rejects arguments that are not <dest> <url> <sha256> triples', async () => {
    const result = await run([join(volume, 'x'), `${base}/codetr.onnx`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('expected <dest> <url> <sha256> triples, got 2 arguments');
  });
});
