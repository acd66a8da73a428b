import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../common/log.js';
import { drawImage } from '../test/helpers/images.js';
import { ReplicaStats } from './contract.js';
import { engineFactory } from './engine/create-engine.js';
import { sessionOptions, type loadSession } from './engine/load-session.js';
import { openWorkerSession, type WorkerSession } from './engine/worker-session-client.js';
import type { EngineOptions } from './engine/types.js';
import { REPLICA_EXIT_CODES } from './exit-codes.js';
import { startReplicaServer, type RunningReplica } from './server.js';
import { writeTerminationLog } from './fatal.js';
import { createNvidiaSmi } from './telemetry/nvidia-smi.js';

// The real engine and HTTP server on models/shapes with a real onnxruntime session (CPU build here), wrapped to
// stand for a CUDA session: it answers like the real one until told to fail with ONNX Runtime's own CUDA
// out-of-memory message. nvidia-smi is injected (no GPU here).

const BFC_OOM =
  "Non-zero status code returned while running Conv node. Name:'Conv_111' Status Message: " +
  '/onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal' +
  '(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for ' +
  'requested buffer of size 2830172160';

const GPU1 = 'GPU-22b2c6ac-2d49-4863-197c-9c469071178a';
/** Two RTX 4090s as the host's nvidia-smi prints them; `--id=` narrows to one row like the real binary. */
const smi = createNvidiaSmi({
  run: (_file, args) => {
    const id = args.find((a) => a.startsWith('--id='))?.slice(5);
    return Promise.resolve(
      [
        '0, GPU-e18afb8d-1627-f8ff-2ba3-c05c5a8e9e67, NVIDIA GeForce RTX 4090, 24564, 2048, 37',
        `1, ${GPU1}, NVIDIA GeForce RTX 4090, 24564, 12282, 37`,
      ]
        .filter((row) => id === undefined || row.startsWith(`${id},`) || row.includes(` ${id},`))
        .join('\n'),
    );
  },
});

interface Harness {
  replica: RunningReplica;
  logs: string[];
  terminationLog: string;
  runs: () => number;
  fail: (on: boolean) => void;
}

const open: Harness[] = [];
let dir: string | undefined;
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.replica.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function start(engine: Partial<EngineOptions>, failFromStart = false): Promise<Harness> {
  let failing = failFromStart;
  let runs = 0;
  const load: typeof loadSession = async (opts) => {
    const real = await ort.InferenceSession.create(opts.onnxPath, sessionOptions({ kind: 'cpu' }, 1));
    const session = new Proxy(real, {
      get(target, prop) {
        if (prop === 'run')
          return async (feeds: ort.InferenceSession.FeedsType) => {
            runs++;
            if (failing) throw new Error(BFC_OOM);
            return target.run(feeds);
          };
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    return { session, device: opts.device, fellBack: false };
  };
  dir = mkdtempSync(path.join(os.tmpdir(), 'gpumux-termination-'));
  const terminationLog = path.join(dir, 'termination-log');
  writeFileSync(terminationLog, ''); // the kubelet creates the file; the replica only writes into it
  const logs: string[] = [];
  const replica = await startReplicaServer({
    engine: { modelDir: 'models/shapes', device: 'cuda:0', replicaId: 'r-oom', node: 'ws', ...engine },
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({ component: 'replica' }, (line) => logs.push(line)),
    createEngine: engineFactory({
      session: { thread: 'main', load },
      smi,
      env: { CUDA_VISIBLE_DEVICES: '1', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' },
    }),
    terminationLogPath: terminationLog,
  });
  const h: Harness = { replica, logs, terminationLog, runs: () => runs, fail: (on) => void (failing = on) };
  open.push(h);
  return h;
}

async function detect(url: string): Promise<Response> {
  const image = await drawImage({
    width: 320,
    height: 240,
    rects: [{ box: [40, 40, 200, 160], color: 'red' }],
  });
  return fetch(`${url}/v1/models/shapes/detect`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: image,
  });
}

describe('replica GPU identity', () => {
  it('cuda:0 under CUDA_VISIBLE_DEVICES=1 with --gpu-index 1 reports GPU 1 and its memory, not GPU 0', async () => {
    const { replica } = await start({ gpuIndex: 1 });
    await replica.started;
    const stats = ReplicaStats.parse(await (await fetch(`${replica.url}/v1/stats`)).json());
    expect(stats.device).toMatchObject({ kind: 'cuda', node: 'ws', index: 1, uuid: GPU1 });
    expect(stats.device.memoryUsedBytes).toBe(12282 * 1024 ** 2);
  });
});

describe('replica on CUDA out of memory', () => {
  it('while serving: 503 for the batch, failed, logged + termination log, exit code 3, no more session runs', async () => {
    const h = await start({ gpuIndex: 1 });
    await h.replica.started;
    expect((await detect(h.replica.url)).status).toBe(200);
    h.fail(true);
    const res = await detect(h.replica.url);
    expect(res.status).toBe(503); // retryable: the gateway sends it to another replica
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_READY');

    const fatal = await h.replica.fatal;
    expect(fatal.exitCode).toBe(REPLICA_EXIT_CODES.cudaOutOfMemory);
    expect(fatal.message).toMatch(
      /^CUDA out of memory: model shapes:\S+ on cuda:0 \(node ws, GPU 1 GPU-22b2c6ac/,
    );
    expect(fatal.message).toContain('Failed to allocate memory for requested buffer of size 2830172160');
    expect(readFileSync(h.terminationLog, 'utf8')).toBe(fatal.message);
    const line = h.logs
      .map((l) => JSON.parse(l) as { level: string; msg: string; model?: string; device?: string })
      .filter((r) => r.msg.includes('CUDA out of memory'));
    expect(line).toEqual([
      expect.objectContaining({ level: 'error', model: 'shapes', device: expect.stringContaining('cuda:0') }),
    ]);

    const runsAtFailure = h.runs();
    expect(h.replica.state()).toBe('failed');
    expect((await fetch(`${h.replica.url}/v2/health/ready`)).status).toBe(503);
    expect((await detect(h.replica.url)).status).toBe(503);
    expect(h.runs()).toBe(runsAtFailure); // nothing new touched the session
  });

  it('while warming up: start fails, and the fatal error (exit code 3) is known at once', async () => {
    const h = await start({}, true);
    await expect(h.replica.started).rejects.toThrow(/Failed to allocate memory/);
    expect(h.replica.fatalError()).toMatchObject({ exitCode: 3 });
    expect((await h.replica.fatal).message).toMatch(/^CUDA out of memory: model shapes/);
    expect(readFileSync(h.terminationLog, 'utf8')).toMatch(/^CUDA out of memory/);
  });

  it('the same arena message on the CPU is an inference error, not a CUDA OOM: the replica carries on', async () => {
    const h = await start({ device: 'cpu' });
    await h.replica.started;
    h.fail(true);
    expect((await detect(h.replica.url)).status).toBe(500);
    h.fail(false);
    expect((await detect(h.replica.url)).status).toBe(200);
    expect(h.replica.fatalError()).toBeNull();
    expect(readFileSync(h.terminationLog, 'utf8')).toBe('');
  });
});

describe('replica whose session worker dies', () => {
  it('turns failed (not ready, 503), reports it and exits with code 1', async () => {
    let opened: WorkerSession | undefined;
    const replica = await startReplicaServer({
      engine: { modelDir: 'models/shapes', device: 'cpu', replicaId: 'r-worker', node: 'ws', threads: 1 },
      port: 0,
      host: '127.0.0.1',
      logger: createLogger({ component: 'replica' }, () => undefined),
      createEngine: engineFactory({
        session: {
          thread: 'worker',
          open: async (options, hooks) => (opened = await openWorkerSession(options, hooks)),
        },
      }),
      terminationLogPath: path.join(os.tmpdir(), 'gpumux-no-such-termination-log'),
    });
    open.push({ replica } as Harness);
    await replica.started;
    expect((await detect(replica.url)).status).toBe(200);
    expect(replica.engine.stats().processRssBytes).toBeGreaterThan(0);

    await opened!.worker.terminate(); // stands for a native crash inside the worker thread
    const fatal = await replica.fatal;
    expect(fatal.exitCode).toBe(REPLICA_EXIT_CODES.failed);
    expect(fatal.message).toMatch(/^session worker died: model shapes:\S+ on cpu, replica r-worker/);
    expect(replica.state()).toBe('failed');
    expect((await fetch(`${replica.url}/v2/health/ready`)).status).toBe(503);
    expect((await fetch(`${replica.url}/v2/health/live`)).status).toBe(200);
    expect((await detect(replica.url)).status).toBe(503);
  });
});

describe('writeTerminationLog', () => {
  it('writes only into a file that exists (outside a pod there is none to create)', () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'gpumux-tl-'));
    try {
      const file = path.join(d, 'termination-log');
      expect(writeTerminationLog(file, 'x')).toBe(false);
      writeFileSync(file, 'an older, longer message');
      expect(writeTerminationLog(file, 'CUDA out of memory')).toBe(true);
      expect(readFileSync(file, 'utf8')).toBe('CUDA out of memory');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
