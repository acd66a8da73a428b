import { describe, expect, it } from 'vitest';
import type { ReplicaStats } from '../contract.js';
import { onlyFamilies, promtoolCheck, sampleValue } from '../../test/helpers/prometheus.js';
import { batchSizeBuckets } from './event-metrics.js';
import { createReplicaMetrics } from './replica-metrics.js';
import { deviceLabel } from './stats-gauges.js';

const virtualStats: ReplicaStats = {
  replicaId: 'r1',
  model: 'shapes',
  version: '1',
  state: 'ready',
  ready: true,
  device: {
    kind: 'virtual',
    node: 'node-a',
    index: 1,
    uuid: 'virtual-node-a-1',
    name: 'virtual',
    memoryTotalBytes: 24 * 2 ** 30,
    memoryUsedBytes: 4 * 2 ** 30,
    virtual: true,
  },
  footprint: { bytes: 2 * 2 ** 30, method: 'configured', peakBytes: 2 * 2 ** 30 },
  queueLength: 3,
  queueCapacity: 64,
  inFlight: 5,
  maxBatch: 8,
  ewmaServiceSeconds: 0.01,
  busyRatio: 0.5,
  processRssBytes: 1e8,
  startedAt: new Date().toISOString(),
  uptimeSeconds: 3,
  requestsTotal: 1,
  framesTotal: 1,
  errorsTotal: 0,
};

describe('replica metrics', () => {
  it('makes batch-size buckets that end at max batch', () => {
    expect(batchSizeBuckets(1)).toEqual([1]);
    expect(batchSizeBuckets(8)).toEqual([1, 2, 3, 4, 6, 8]);
    expect(batchSizeBuckets(10)).toEqual([1, 2, 3, 4, 6, 8, 10]);
  });

  it('labels devices stably', () => {
    expect(deviceLabel(virtualStats.device)).toBe('virtual:node-a:1');
    expect(deviceLabel({ ...virtualStats.device, kind: 'cuda', index: 3 })).toBe('cuda:3');
    expect(deviceLabel({ ...virtualStats.device, kind: 'cpu', index: null })).toBe('cpu');
  });

  it('reads gauges from stats at scrape time and marks virtual devices', async () => {
    const metrics = createReplicaMetrics({
      model: 'shapes',
      version: '1',
      maxBatch: 8,
      defaultMetrics: false,
    });
    metrics.bindStats(() => virtualStats);
    metrics.hooks.onBatch!({ size: 4, bucket: '480x640', inferenceSeconds: 0.02 });
    metrics.hooks.onFrame!({ decodeSeconds: 0.003, preprocessSeconds: 0.004 });
    metrics.observeRequest({ endpoint: 'detect', status: 200, seconds: 0.03 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('gpumux_in_flight{model="shapes"} 5');
    expect(text).toContain('gpumux_queue_depth{model="shapes"} 3');
    expect(text).toContain(
      `gpumux_replica_footprint_bytes{model="shapes",device="virtual:node-a:1",virtual="true",method="configured"} ${2 * 2 ** 30}`,
    );
    expect(text).toContain('gpumux_batch_size_bucket{le="4",model="shapes"} 1');
    expect(text).toContain('gpumux_batch_size_bucket{le="3",model="shapes"} 0');
    expect(text).toContain('gpumux_inference_duration_seconds_count{model="shapes",bucket="480x640"} 1');
    expect(text).toContain('gpumux_requests_total{model="shapes",endpoint="detect",code="200"} 1');
    expect(sampleValue(text, 'gpumux_batch_size_sum', { model: 'shapes' })).toBe(4);
  });

  it('exports warm-up progress (steps done of total) when the stats carry it', async () => {
    const metrics = createReplicaMetrics({ model: 'shapes', version: '1', maxBatch: 8 });
    const warmup = { done: 1, total: 4, current: null, elapsedMs: 10, etaMs: 30, finished: false };
    metrics.bindStats(() => ({ ...virtualStats, warmup }));
    const text = await metrics.registry.metrics();
    expect(text).toContain('gpumux_replica_warmup_steps{model="shapes",state="done"} 1');
    expect(text).toContain('gpumux_replica_warmup_steps{model="shapes",state="total"} 4');
  });

  it('passes promtool check metrics (default Node.js metrics left out: exempt)', async () => {
    const metrics = createReplicaMetrics({ model: 'shapes', version: '1', maxBatch: 8 });
    const warmup = { done: 4, total: 4, current: null, elapsedMs: 10, etaMs: 0, finished: true };
    metrics.bindStats(() => ({ ...virtualStats, warmup }));
    metrics.hooks.onBatch!({ size: 2, bucket: '480x640', inferenceSeconds: 0.02 });
    metrics.hooks.onFrame!({ decodeSeconds: 0.003, preprocessSeconds: 0.004 });
    metrics.observeRequest({ endpoint: 'infer', status: 400, seconds: 0.001 });
    const all = await metrics.registry.metrics();
    expect(all).toContain('gpumux_replica_warmup_steps');
    expect(all).toContain('process_cpu_user_seconds_total'); // default metrics are there, unprefixed
    const ours = onlyFamilies(all);
    expect(ours).toContain('gpumux_replica_ready');
    expect(ours).not.toContain('nodejs_');
    expect(promtoolCheck(ours)).toEqual({ output: '', status: 0 });
  });

  it('fails promtool on a badly named metric (the check can fail)', () => {
    const bad =
      '# HELP gpumux_requests A counter without _total.\n# TYPE gpumux_requests counter\ngpumux_requests 1\n';
    expect(promtoolCheck(bad).output).toMatch(/_total/);
  });
});
