import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/log.js';
import type { OrchestratorEvent, ReplicaFailure } from '../types.js';
import { codetrOnGpu2 } from '../../../test/scheduler/replica-request.js';
import { createLocalOrchestrator } from './orchestrator.js';
import type { ReplicaStats } from '../../../replica/contract.js';
import { reportedDevice } from '../../../test/gateway/fake-replica.js';

const request = codetrOnGpu2;

describe('local orchestrator failure classification (real child processes)', () => {
  /** A child that dies as a replica does on CUDA OOM: its log line on stderr (maybe), then exit code 3. */
  async function deathOf(script: string): Promise<ReplicaFailure> {
    const orchestrator = createLocalOrchestrator({
      logger: createLogger({}, () => undefined),
      launcher: { command: process.execPath, args: ['-e', script], cwd: process.cwd() },
      restartBaseMs: 60_000, // no restart within the test
    });
    try {
      const failed = new Promise<ReplicaFailure>((resolve) =>
        orchestrator.on((e: OrchestratorEvent) => e.type === 'failed' && resolve(e.failure)),
      );
      await orchestrator.create({ ...request, virtual: true });
      return await failed;
    } finally {
      await orchestrator.stop();
    }
  }

  it("the replica's `CUDA out of memory` line and exit code 3 are an OOM", async () => {
    const line = JSON.stringify({
      level: 'error',
      msg: 'CUDA out of memory: model codetr:1 on cuda:0 (node ws, GPU 2); exiting with code 3: ...',
    });
    const failure = await deathOf(`process.stderr.write(${JSON.stringify(line + '\n')}); process.exit(3)`);
    expect(failure).toMatchObject({ kind: 'oom', exitCode: 3 });
    expect(failure.message).toContain('CUDA out of memory');
  });

  it('starts replicas as `gpumux …` in ps, their arguments intact', async () => {
    const script =
      "process.stderr.write(JSON.stringify({ level: 'error', msg: require('node:fs').readFileSync('/proc/self/cmdline', 'utf8').split('\\0').slice(0, 2).join(' ') }) + '\\n'); process.exit(1)";
    await expect(deathOf(script)).resolves.toMatchObject({ message: 'gpumux -e' });
  });

  it('exit code 3 with nothing logged is still an OOM; exit code 1 is a crash', async () => {
    await expect(deathOf('process.exit(3)')).resolves.toMatchObject({ kind: 'oom', exitCode: 3 });
    await expect(deathOf('process.exit(1)')).resolves.toMatchObject({ kind: 'crash', exitCode: 1 });
  });
});

describe('local orchestrator and a replica whose model file is missing (a real gpumux replica)', () => {
  it("reports the replica's own last error and a pointer to the export guide", async () => {
    const lines: Record<string, unknown>[] = [];
    const orchestrator = createLocalOrchestrator({
      logger: createLogger({}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
      restartBaseMs: 60_000, // no restart within the test
    });
    try {
      const failed = new Promise<ReplicaFailure>((resolve) =>
        orchestrator.on((e: OrchestratorEvent) => e.type === 'failed' && resolve(e.failure)),
      );
      // models/codetr ships its manifest but not its 900 MB model.onnx: what `gpumux up --models codetr` meets
      await orchestrator.create({ ...request, virtual: true });
      const failure = await failed;
      expect(failure).toMatchObject({ kind: 'crash', exitCode: 1 });
      expect(failure.message).toMatch(/^model failed to load; exiting: .*model\.onnx.*File doesn't exist/);
      expect(lines.find((l) => l.msg === 'replica died; restarting')).toMatchObject({
        error: failure.message,
        hint: expect.stringMatching(/export the model \(models\/codetr\/README\.md/),
      });
      expect(orchestrator.replicas()[0]?.lastFailure?.message).toBe(failure.message);
    } finally {
      await orchestrator.stop();
    }
  }, 60_000);
});

describe('local orchestrator and a replica that takes long to warm up (real child processes)', () => {
  /**
   * A stand-in replica: listens at once (the `listening` line), reports warm-up progress in /v1/stats and turns
   * ready after FAKE_WARM_MS, as a replica of a slow graph does (Co-DETR on a CPU: minutes).
   */
  const FAKE_REPLICA = `
    const http = require('node:http');
    const warmMs = Number(process.env.FAKE_WARM_MS);
    const budget = process.argv[process.argv.indexOf('--warmup-budget') + 1];
    if (process.env.FAKE_BUDGET && budget !== process.env.FAKE_BUDGET) process.exit(9);
    const t0 = Date.now();
    const server = http.createServer((req, res) => {
      const elapsedMs = Date.now() - t0;
      if (req.url === '/v2/health/ready') return res.writeHead(elapsedMs >= warmMs ? 200 : 503).end();
      if (req.url === '/v1/stats') {
        const done = Math.min(4, Math.floor((elapsedMs / warmMs) * 4));
        const current = done < 4 ? { step: done + 1, bucket: '800x1280', batch: 2, elapsedMs: 0 } : null;
        const warmup = { done, total: 4, current, elapsedMs, etaMs: null, finished: done === 4 };
        const stats = { ...JSON.parse(process.env.FAKE_STATS), warmup, state: done === 4 ? 'ready' : 'warming' };
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
      }
      res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1', () => {
      const url = 'http://127.0.0.1:' + server.address().port;
      process.stderr.write(JSON.stringify({ level: 'info', msg: 'listening', url, budget }) + '\\n');
    });
    process.on('SIGTERM', () => process.exit(0));
  `;

  /** The rest of its /v1/stats: the orchestrator reads them with the replica contract's parser. */
  const WARMING: ReplicaStats = {
    replicaId: 'slow',
    model: 'codetr',
    version: '1',
    state: 'warming',
    ready: false,
    device: reportedDevice(null, 0),
    footprint: { bytes: 0, method: 'rss', peakBytes: 0 },
    queueLength: 0,
    queueCapacity: 8,
    inFlight: 0,
    maxBatch: 2,
    ewmaServiceSeconds: 0,
    busyRatio: 0,
    processRssBytes: 1e9,
    startedAt: new Date().toISOString(),
    uptimeSeconds: 1,
    requestsTotal: 0,
    framesTotal: 0,
    errorsTotal: 0,
  };

  async function warmingReplica(warmMs: number, budgetMs: number, expectBudgetArg = '') {
    const logs: Record<string, unknown>[] = [];
    const events: OrchestratorEvent[] = [];
    const orchestrator = createLocalOrchestrator({
      logger: createLogger({}, (line) => logs.push(JSON.parse(line) as Record<string, unknown>)),
      launcher: { command: process.execPath, args: ['-e', FAKE_REPLICA], cwd: process.cwd() },
      env: {
        FAKE_WARM_MS: String(warmMs),
        FAKE_BUDGET: expectBudgetArg,
        FAKE_STATS: JSON.stringify(WARMING),
      },
      restartBaseMs: 60_000, // no restart within the test
      stopGraceMs: 2000,
      warmupBudgetMs: budgetMs,
      progressEveryMs: 100,
    });
    orchestrator.on((e) => events.push(e));
    const created = await orchestrator.create({ ...request, virtual: true });
    return { orchestrator, logs, events, id: created.id };
  }

  const until = async (what: () => boolean, ms: number): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!what()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('leaves a replica warming for seconds alone while its budget allows it, logging its progress', async () => {
    // The limits that used to end a slow start lived outside the orchestrator (the local stack's 120 s
    // `readyTimeoutMs`, `gpumux up --ready-timeout 180`); both follow the warm-up budget now. Scaled down here:
    // a 3 s warm-up under a 6 s budget.
    const { orchestrator, logs, events, id } = await warmingReplica(3000, 6000);
    try {
      const phase = () => orchestrator.replicas().find((r) => r.id === id)?.phase;
      await until(() => phase() === 'ready', 10_000);
      expect(events.filter((e) => e.type === 'failed')).toEqual([]);
      const listening = orchestrator.replicas().find((r) => r.id === id)!;
      expect(listening.restarts).toBe(0);
      const warming = logs.filter((l) => l.msg === 'replica warming');
      expect(warming.length).toBeGreaterThanOrEqual(2);
      expect(warming.map((l) => l.done)).toEqual([...warming.map((l) => l.done)].sort());
      expect(warming[0]).toMatchObject({ replica: id, total: 4, budgetMs: 6000 });
      expect(logs.some((l) => l.msg === 'replica not ready within its warm-up budget; stopping it')).toBe(
        false,
      );
    } finally {
      await orchestrator.stop();
    }
  }, 20_000);

  it('stops a replica still not ready when its budget ran out and reports why', async () => {
    const { orchestrator, events, id } = await warmingReplica(60_000, 1500);
    try {
      await until(() => events.some((e) => e.type === 'failed'), 10_000);
      const failed = events.find((e) => e.type === 'failed')!;
      if (failed.type !== 'failed') throw new Error('unreachable');
      expect(failed.replica.id).toBe(id);
      expect(failed.failure.kind).toBe('warmup-budget'); // not a crash: the GPU is not cordoned for it
      expect(failed.failure.message).toMatch(
        /^not ready within its warm-up budget of 2 s \(warm-up 0\/4 after/,
      );
    } finally {
      await orchestrator.stop();
    }
  }, 20_000);

  it('passes the budget to the replica as --warmup-budget (seconds, rounded up)', async () => {
    // the stand-in exits 9 unless it got `--warmup-budget 5`
    const { orchestrator, events, id } = await warmingReplica(100, 4500, '5');
    try {
      await until(() => orchestrator.replicas().find((r) => r.id === id)?.phase === 'ready', 10_000);
      expect(events.filter((e) => e.type === 'failed')).toEqual([]);
    } finally {
      await orchestrator.stop();
    }
  }, 20_000);
});
