import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { drawPixels } from '../helpers/images.js';
import { REPO_ROOT, startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { gatewayFor } from '../gateway/gateway-harness.js';
import { grpcClients, grpcCode, type TestClients } from './client.js';

/**
 * KServe v2 over gRPC through a real gateway to real replica processes (models/shapes): the same auth,
 * routing, retries and errors as REST; a second model version behind a weighted split; kill -9 of a replica
 * under gRPC load.
 */

const TOKEN = 'grpc-test-token';
const auth = { meta: { authorization: `Bearer ${TOKEN}` } };
let replicas: Record<string, ReplicaProcess> = {};
let gateway: Awaited<ReturnType<typeof gatewayFor>>;
let client: TestClients;
let modelV2Dir: string;

beforeAll(async () => {
  // The same model as version 2: a copy of models/shapes whose manifest says so.
  modelV2Dir = await mkdtemp(path.join(os.tmpdir(), 'gpumux-shapes-v2-'));
  await cp(path.join(REPO_ROOT, 'models/shapes'), modelV2Dir, { recursive: true });
  const manifest = JSON.parse(await readFile(path.join(modelV2Dir, 'manifest.json'), 'utf8')) as object;
  await writeFile(path.join(modelV2Dir, 'manifest.json'), JSON.stringify({ ...manifest, version: '2' }));

  const specs: [string, string, string[]][] = [
    ['a1', 'models/shapes', ['--virtual-gpu', 'node-a:0:24GiB']],
    ['b1', 'models/shapes', ['--virtual-gpu', 'node-a:1:24GiB']],
    ['c2', modelV2Dir, ['--virtual-gpu', 'node-b:0:24GiB']],
  ];
  const started = await Promise.all(
    specs.map(
      async ([id, model, args]) =>
        [id, await startReplica({ model, args: [...args, '--replica-id', id] })] as const,
    ),
  );
  replicas = Object.fromEntries(started);
  gateway = await gatewayFor(
    started.map(([id, r]) => ({ id, url: r.url })),
    {
      grpcPort: 0,
      authTokens: [TOKEN],
      config: {
        timeout: '20s',
        versions: { split: { shapes: { '1': 75, '2': 25 } }, stickyHeader: 'x-client-id' },
      },
    },
  );
  client = grpcClients(gateway.grpcAddress!);
});

afterAll(async () => {
  client?.close();
  await gateway?.close();
  await Promise.all(Object.values(replicas).map((r) => r.stop('SIGKILL')));
  if (modelV2Dir) await rm(modelV2Dir, { recursive: true, force: true });
});

const RED = [100, 120, 300, 260] as const;
const pixels = Buffer.from(drawPixels({ width: 640, height: 480, rects: [{ box: RED, color: 'red' }] }).data);
const inferRequest = (version = '') => ({
  model_name: 'shapes',
  model_version: version,
  inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 480, 640, 3] }],
  raw_input_contents: [pixels],
});

function boxOf(res: Record<string, unknown>): number[] {
  const b = (res.raw_output_contents as Buffer[])[0]!;
  return Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + 16)));
}

describe('gateway over gRPC (real gateway, real replicas, real grpc-js client)', () => {
  it('keeps probes open and everything else behind the bearer token', async () => {
    expect(await client.inference.ServerLive({})).toEqual({ live: true });
    expect(await client.inference.ServerReady({})).toEqual({ ready: true });
    expect(await client.health.Check({ service: 'readiness' })).toEqual({ status: 'SERVING' });
    expect(await grpcCode(client.inference.ModelInfer(inferRequest()))).toBe(status.UNAUTHENTICATED);
    expect(await grpcCode(client.inference.ModelMetadata({ name: 'shapes' }))).toBe(status.UNAUTHENTICATED);
    expect(
      await grpcCode(
        client.inference.ModelMetadata({ name: 'shapes' }, { meta: { authorization: 'Bearer nope' } }),
      ),
    ).toBe(status.UNAUTHENTICATED);
    expect(await client.inference.ModelReady({ name: 'shapes', version: '2' }, auth)).toEqual({
      ready: true,
    });
  });

  it('routes metadata, config and inference to a replica; the drawn box comes back within 2 px', async () => {
    const meta = await client.inference.ModelMetadata({ name: 'shapes', version: '1' }, auth);
    expect(meta).toMatchObject({ name: 'shapes', versions: ['1'] });
    const config = (await client.inference.ModelConfig({ name: 'shapes' }, auth)).config as {
      max_batch_size: number;
    };
    expect(config.max_batch_size).toBe(8);
    const res = await client.inference.ModelInfer(inferRequest('1'), auth);
    expect(res.model_version).toBe('1');
    boxOf(res).forEach((v, i) => expect(Math.abs(v - RED[i]!)).toBeLessThanOrEqual(2));
    const typed = await client.inference.ModelInfer(
      {
        ...inferRequest('2'),
        inputs: [{ ...inferRequest().inputs[0], contents: { uint_contents: Array.from(pixels) } }],
        raw_input_contents: [],
      },
      auth,
    );
    expect(typed.model_version).toBe('2');
    boxOf(typed).forEach((v, i) => expect(Math.abs(v - RED[i]!)).toBeLessThanOrEqual(2));
  });

  it("passes the replicas' errors through the one error table", async () => {
    const wrongShape = {
      ...inferRequest(),
      inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 480, 64, 3] }],
    };
    expect(await grpcCode(client.inference.ModelInfer(wrongShape, auth))).toBe(status.INVALID_ARGUMENT);
    const wrongName = {
      ...inferRequest(),
      inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 480, 640, 3] }],
    };
    expect(await grpcCode(client.inference.ModelInfer(wrongName, auth))).toBe(status.INVALID_ARGUMENT);
    const wrongType = {
      ...inferRequest(),
      inputs: [{ name: 'images', datatype: 'FP32', shape: [1, 480, 640, 3] }],
    };
    expect(await grpcCode(client.inference.ModelInfer(wrongType, auth))).toBe(status.INVALID_ARGUMENT);
    expect(await grpcCode(client.inference.ModelInfer({ ...inferRequest(), model_name: 'nope' }, auth))).toBe(
      status.NOT_FOUND,
    );
    expect(await grpcCode(client.inference.ModelInfer(inferRequest('7'), auth))).toBe(status.NOT_FOUND);
  });

  it('splits unversioned calls by weight and keeps a sticky client on one version', async () => {
    const versions: string[] = [];
    for (let i = 0; i < 20; i++)
      versions.push(String((await client.inference.ModelInfer(inferRequest(), auth)).model_version));
    // smooth weighted round-robin: exactly 3:1 over every 4 calls
    expect(versions.filter((v) => v === '2').length).toBe(5);
    const sticky = { meta: { ...auth.meta, 'x-client-id': 'camera-17' } };
    const pinned = new Set<string>();
    for (let i = 0; i < 8; i++)
      pinned.add(String((await client.inference.ModelInfer(inferRequest(), sticky)).model_version));
    expect(pinned.size).toBe(1);
  });

  it("sums every replica's statistics per version and lists the repository", async () => {
    const stats = (await client.inference.ModelStatistics({ name: 'shapes' }, auth)).model_stats as {
      version: string;
      inference_count: number;
    }[];
    expect(stats.map((s) => s.version)).toEqual(['1', '2']);
    const perReplica = await Promise.all(
      ['a1', 'b1'].map(async (id) => {
        const body = (await (await fetch(`${replicas[id]!.url}/v2/models/stats`)).json()) as {
          model_stats: { inference_count: number }[];
        };
        return body.model_stats[0]!.inference_count;
      }),
    );
    expect(stats[0]!.inference_count).toBe(perReplica[0]! + perReplica[1]!);
    const rest = (await (
      await fetch(`${gateway.url}/v2/models/shapes/versions/2/stats`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).json()) as { model_stats: { version: string; inference_count: number }[] };
    expect(rest.model_stats).toEqual([
      expect.objectContaining({ version: '2', inference_count: stats[1]!.inference_count }),
    ]);
    const index = await client.inference.RepositoryIndex({ ready: true }, auth);
    expect(index.models).toEqual([
      { name: 'shapes', version: '1', state: 'READY', reason: '' },
      { name: 'shapes', version: '2', state: 'READY', reason: '' },
    ]);
  });

  it('kill -9 of one replica under gRPC load: no call fails', async () => {
    const codes: (status | -1)[] = [];
    const until = Date.now() + 4000;
    let killed = false;
    const worker = async () => {
      while (Date.now() < until) {
        codes.push((await grpcCode(client.inference.ModelInfer(inferRequest('1'), auth))) ?? -1);
        if (!killed && codes.length >= 10) {
          killed = true;
          replicas.b1!.process.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    expect(killed).toBe(true);
    expect(codes.length).toBeGreaterThan(20);
    expect(codes.filter((c) => c !== status.OK)).toEqual([]);
  });
});
