import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
    if (req.url !== '/codetr.onnx') {
      res.writeHead(404).end('not found');
      return;
    }
    setTimeout(() => res.writeHead(200, { 'content-length': model.length }).end(model), delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let volume = '';
beforeEach(() => {
  volume = mkdtempSync(join(tmpdir(), 'gpumux-models-'));
  requests = 0;
  delayMs = 0;
  return () => rmSync(volume, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script, 'fetch-model', ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stderr });
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
    const [a, b] = await Promise.all([run([dest, `${base}/codetr.onnx`, modelSha]), run([dest, `${base}/codetr.onnx`, modelSha])]);
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

  it('rejects arguments that are not <dest> <url> <sha256> triples', async () => {
    const result = await run([join(volume, 'x'), `${base}/codetr.onnx`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('expected <dest> <url> <sha256> triples, got 2 arguments');
  });
});
