import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicaStats } from '../../replica/contract.js';
import { grpcClients } from '../grpc/client.js';
import { grpcAddressOf } from '../grpc/replica-address.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { assertSlowModel, slowShapesModel } from '../helpers/slow-model.js';

/**
 * A real replica process warming up a model that takes real time (the stand-in slow model at ~300 ms per
 * frame, 2 buckets, max batch 2, every batch size: 4 steps, ~1.8 s): while it warms, /v1/stats shows the
 * progress, liveness (HTTP and gRPC health) answers at once, readiness says no; readiness turns yes only when
 * the last step is done, and every step left a start and an end line in the log.
 */

const RUN_MS = 300;

interface Sample {
  at: number;
  stats: ReplicaStats;
  liveMs: number;
  liveStatus: number;
  grpcLiveMs: number;
  grpcLive: unknown;
  ready: number;
  grpcReady: unknown;
}

let replica: ReplicaProcess | undefined;
let model: string;
// generated and calibrated in onnxruntime before the tests' own time starts; the steps must take visible time
beforeAll(async () => {
  model = await slowShapesModel(RUN_MS);
  await assertSlowModel(model, RUN_MS * 0.6);
});
afterAll(async () => {
  await replica?.stop();
});

describe('warm-up of a slow graph (real replica process)', () => {
  it('reports progress, stays live, and turns ready only at the end', async () => {
    replica = await startReplica({
      model,
      args: ['--max-batch', '2', '--threads', '1', '--warmup-batches', 'all', '--grpc-port', '0'],
      waitForReady: false,
    });
    const r = replica;
    const grpc = grpcClients(grpcAddressOf(r));
    const samples: Sample[] = [];
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const t0 = performance.now();
        const live = await fetch(`${r.url}/v2/health/live`);
        await live.arrayBuffer();
        const liveMs = performance.now() - t0;
        const t1 = performance.now();
        const grpcLive = await grpc.health.Check({ service: 'liveness' }, { deadlineMs: 1000 });
        const grpcLiveMs = performance.now() - t1;
        const grpcReady = await grpc.health.Check({ service: 'readiness' }, { deadlineMs: 1000 });
        const stats = (await (await fetch(`${r.url}/v1/stats`)).json()) as ReplicaStats;
        const ready = await fetch(`${r.url}/v2/health/ready`);
        await ready.arrayBuffer();
        samples.push({
          at: Date.now(),
          stats,
          liveMs,
          liveStatus: live.status,
          grpcLiveMs,
          grpcLive: grpcLive.status,
          ready: ready.status,
          grpcReady: grpcReady.status,
        });
        if (ready.status === 200) break;
        if (Date.now() > deadline) throw new Error('not ready within 60 s');
        await new Promise((res) => setTimeout(res, 50));
      }
    } finally {
      grpc.close();
    }

    const warming = samples.filter((s) => s.stats.state === 'warming');
    expect(warming.length, 'samples taken while warming').toBeGreaterThanOrEqual(3);
    // progress moved while we watched: a step running, and at least one sample part-way through
    expect(warming.some((s) => s.stats.warmup?.current !== null)).toBe(true);
    expect(warming.some((s) => (s.stats.warmup?.done ?? 0) > 0 && s.stats.warmup!.done < 4)).toBe(true);
    for (const s of warming) {
      expect(s.stats.warmup).toMatchObject({ total: 4, finished: false });
      expect(s.ready).toBe(503);
      expect(s.grpcReady).toBe('NOT_SERVING');
      expect(s.stats.ready).toBe(false);
    }
    const part = warming.find((s) => (s.stats.warmup?.done ?? 0) > 0)!;
    expect(part.stats.warmup!.etaMs).not.toBeNull();
    // liveness answers at once during the whole warm-up, over HTTP and gRPC health
    for (const s of samples) {
      expect(s.liveStatus).toBe(200);
      expect(s.grpcLive).toBe('SERVING');
    }
    expect(Math.max(...samples.map((s) => s.liveMs))).toBeLessThan(1000);
    expect(Math.max(...samples.map((s) => s.grpcLiveMs))).toBeLessThan(1000);
    // ready only at the end
    const last = samples.at(-1)!;
    expect(last.stats.warmup).toMatchObject({ done: 4, total: 4, current: null, finished: true });
    expect(last.stats.state).toBe('ready');

    // the log: a start and an end line per step, largest batch first, with ms and RSS; then ready
    const logs = r.logs();
    const done = logs.filter((l) => l.msg === 'warm-up step done');
    expect(done.map((l) => [l.step, l.of, l.batch])).toEqual([
      [1, 4, 2],
      [2, 4, 2],
      [3, 4, 1],
      [4, 4, 1],
    ]);
    for (const l of done) {
      expect(l.rssBytes).toBeGreaterThan(0);
      expect(l.peakRssBytes as number).toBeGreaterThanOrEqual(l.rssBytes as number);
      expect(l.ms as number).toBeGreaterThan(((l.batch as number) * RUN_MS) / 4); // the model really ran
    }
    expect(logs.filter((l) => l.msg === 'warm-up step started')).toHaveLength(4);
    const msgs = logs.map((l) => l.msg);
    expect(msgs.indexOf('warm-up done')).toBeGreaterThan(msgs.lastIndexOf('warm-up step done'));
    expect(msgs.indexOf('ready')).toBeGreaterThan(msgs.indexOf('warm-up done'));
  }, 120_000);

  it('SIGTERM during warm-up ends it after the running step and exits 0, never ready', async () => {
    const r = await startReplica({
      model,
      args: ['--max-batch', '2', '--threads', '1', '--warmup-batches', 'all'],
      waitForReady: false,
    });
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const s = (await (await fetch(`${r.url}/v1/stats`)).json()) as ReplicaStats;
        // before the last step: on a loaded machine the first stats answer can come late, and a signal during
        // the last step could not show "stopped before its end"
        if (s.state === 'warming' && s.warmup?.current && s.warmup.done < s.warmup.total - 1) break;
        if (Date.now() > deadline) throw new Error('never saw a warm-up step running');
        await new Promise((res) => setTimeout(res, 20));
      }
      const t0 = performance.now();
      const exit = await r.stop('SIGTERM', 15_000);
      const ms = performance.now() - t0;
      expect(exit).toEqual({ code: 0, signal: null });
      // at most the running step (600 ms at batch 2) plus shutdown, not the rest of the warm-up's 1.8 s
      expect(ms).toBeLessThan(5000);
      const msgs = r.logs().map((l) => l.msg);
      expect(msgs).toContain('warm-up stopped before its end (draining)');
      expect(msgs).not.toContain('warm-up done');
      expect(msgs).not.toContain('ready');
      expect(r.logs().filter((l) => l.msg === 'warm-up step done').length).toBeLessThan(4);
    } finally {
      await r.stop('SIGKILL', 1000);
    }
  }, 120_000);
});
