import { onlyFamilies } from '../helpers/prometheus.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeReplica, type FakeReplica } from './fake-replica.js';
import { gatewayFor } from './gateway-harness.js';

const GiB = 1024 ** 3;
const PROMTOOL = '/usr/bin/promtool';
let replicas: FakeReplica[] = [];
let gateway: Awaited<ReturnType<typeof gatewayFor>>;

beforeAll(async () => {
  replicas = await Promise.all([
    startFakeReplica({ id: 'a', gpu: { node: 'n', index: 0, capacityBytes: 24 * GiB } }),
    startFakeReplica({ id: 'b', gpu: { node: 'n', index: 0, capacityBytes: 24 * GiB } }),
    startFakeReplica({ id: 'c', gpu: { node: 'n', index: 1, capacityBytes: 24 * GiB, usedBytes: 10 * GiB } }),
  ]);
  gateway = await gatewayFor(
    replicas.map((r) => ({ id: r.id, url: r.url })),
    { config: { reserve: GiB } },
  );
  for (let i = 0; i < 5; i++)
    await (await fetch(`${gateway.url}/v2/models/shapes/infer`, { method: 'POST', body: 'x' })).arrayBuffer();
  await (await fetch(`${gateway.url}/v2/models/nope/infer`, { method: 'POST', body: 'x' })).arrayBuffer();
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all(replicas.map((r) => r.close()));
});

/** Keeps only gpumux's own families: prom-client's Node.js process metrics carry lint warnings of their own. */
/** gpumux's own families; prom-client's default Node.js metrics are exempt from the lint. */
const ownFamilies = (text: string): string => onlyFamilies(text, 'gpumux_');

describe('gateway /metrics', () => {
  it('shows per-GPU memory, headroom, replicas and cluster utilisation', async () => {
    const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
    const value = (name: string, gpu: string) =>
      Number(new RegExp(`^${name}\\{gpu="${gpu}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('gpumux_gpu_memory_total_bytes', 'virtual-n-0')).toBe(24 * GiB);
    expect(value('gpumux_gpu_memory_used_bytes', 'virtual-n-0')).toBe(4 * GiB);
    expect(value('gpumux_gpu_memory_headroom_bytes', 'virtual-n-0')).toBe(19 * GiB);
    expect(value('gpumux_gpu_memory_used_bytes', 'virtual-n-1')).toBe(12 * GiB);
    expect(value('gpumux_gpu_replicas', 'virtual-n-0')).toBe(2);
    expect(Number(/^gpumux_cluster_memory_utilization_ratio (\S+)$/m.exec(text)?.[1])).toBeCloseTo(16 / 48);
    expect(text).toMatch(/gpumux_gateway_request_duration_seconds_count\{model="shapes",code="200"\} 5/);
    // Unknown model names never become label values.
    expect(text).toMatch(/gpumux_gateway_request_duration_seconds_count\{model="_unknown",code="404"\} 1/);
    // prom-client's default Node.js metrics, unprefixed: they are not gpumux's and not linted as such.
    expect(text).toMatch(/^process_cpu_seconds_total/m);
  });

  // CI installs promtool (scripts/system-deps.sh): there a missing promtool fails instead of skipping.
  it.skipIf(!existsSync(PROMTOOL) && !process.env.CI)(
    'gpumux families pass promtool check metrics',
    async () => {
      const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
      const own = ownFamilies(text);
      expect(own).toMatch(/gpumux_gpu_memory_headroom_bytes/);
      const result = spawnSync(PROMTOOL, ['check', 'metrics'], { input: own, encoding: 'utf8' });
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
      // And the check is real: a counter without _total is flagged.
      const bad = spawnSync(PROMTOOL, ['check', 'metrics'], {
        input: '# HELP x_requests r\n# TYPE x_requests counter\nx_requests 1\n',
        encoding: 'utf8',
      });
      expect(bad.status).not.toBe(0);
    },
  );

  it('GET /v1/cluster: GPUs with capacity, used, headroom and their replicas; totals; models', async () => {
    const view = await gateway.clusterView();
    const http = await (await fetch(`${gateway.adminUrl}/v1/cluster`)).json();
    expect(http).toMatchObject({ totals: view.totals });
    expect(view.totals).toMatchObject({
      gpus: 2,
      replicas: 3,
      readyReplicas: 3,
      memoryTotalBytes: 48 * GiB,
      memoryUsedBytes: 16 * GiB,
    });
    expect(view.gpus.map((g) => [g.id, g.replicas.map((r) => r.id)])).toEqual([
      ['virtual-n-0', ['a', 'b']],
      ['virtual-n-1', ['c']],
    ]);
    expect(view.gpus[1]).toMatchObject({
      memoryReservedBytes: GiB,
      memoryHeadroomBytes: 11 * GiB,
      memoryUtilization: 0.5,
    });
    expect(view.models).toEqual([
      expect.objectContaining({ name: 'shapes', version: '1', replicas: 3, readyReplicas: 3, errorRate: 0 }),
    ]);
    expect(view.models[0]!.requestRate).toBeGreaterThan(0);
    expect(view.plan).toBeNull();
  });

  it('mounts the operator UI on the admin port only', async () => {
    expect((await fetch(`${gateway.adminUrl}/ui`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/ui`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/metrics`)).status).toBe(404);
  });
});
