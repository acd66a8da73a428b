import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { PlanView } from '../../gateway/index.js';
import { startFakeReplica } from './fake-replica.js';
import { closedAfterEach, gatewayFor } from './gateway-harness.js';

const plan: PlanView = {
  generatedAt: '2026-01-01T00:00:00.000Z',
  policy: 'binpack',
  memoryUtilization: 0.8,
  actions: [{ type: 'create', model: 'shapes', node: 'n', gpuIndex: 1, replicaId: null, reason: 'demand' }],
};
const { defer } = closedAfterEach();

describe('operator view', () => {
  it('takes the plan from planSource', async () => {
    const a = await startFakeReplica({ id: 'a' });
    defer(() => a.close());
    const gw = await gatewayFor([{ id: 'a', url: a.url }], { planSource: () => Promise.resolve(plan) });
    defer(() => gw.close());
    const view = (await (await fetch(`${gw.adminUrl}/v1/cluster`)).json()) as { plan: PlanView | null };
    expect(view.plan).toEqual(plan);
  });

  it('fetches the plan from --scheduler-url, and lists replicas that never answered as unplaced', async () => {
    const scheduler = createServer((req, res) => {
      if (req.url === '/v1/plan')
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(plan));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => scheduler.listen(0, '127.0.0.1', r));
    defer(() => new Promise((r) => scheduler.close(() => r())));
    const a = await startFakeReplica({ id: 'a' });
    defer(() => a.close());
    const gw = await gatewayFor(
      [
        { id: 'a', url: a.url },
        { id: 'ghost', url: 'http://127.0.0.1:1' },
      ],
      { schedulerUrl: `http://127.0.0.1:${(scheduler.address() as AddressInfo).port}`, readyReplicas: 1 },
    );
    defer(() => gw.close());
    const view = await gw.clusterView();
    expect(view.plan).toEqual(plan);
    expect(view.unplaced).toEqual([
      { id: 'ghost', url: 'http://127.0.0.1:1', state: 'unreachable', lastError: expect.any(String) },
    ]);
    expect(view.totals).toMatchObject({ replicas: 2, readyReplicas: 1 });
  });

  it('shows GPUs from the plan that no replica runs on, all headroom', async () => {
    const GiB = 1024 ** 3;
    const a = await startFakeReplica({ id: 'a', gpu: { node: 'n', index: 0, capacityBytes: 8 * GiB } });
    defer(() => a.close());
    const withGpus: PlanView = {
      ...plan,
      gpus: [0, 1].map((index) => ({
        node: 'n',
        index,
        name: 'virtual',
        memoryTotalBytes: 8 * GiB,
        memoryReservedBytes: GiB / 2,
        virtual: true,
      })),
    };
    const gw = await gatewayFor([{ id: 'a', url: a.url }], { planSource: () => Promise.resolve(withGpus) });
    defer(() => gw.close());
    const view = await gw.clusterView();
    expect(view.gpus.map((g) => [g.node, g.index, g.replicas.length])).toEqual([
      ['n', 0, 1],
      ['n', 1, 0],
    ]);
    expect(view.gpus[1]).toMatchObject({ memoryUsedBytes: 0, memoryHeadroomBytes: 7.5 * GiB, virtual: true });
    expect(view.totals).toMatchObject({ gpus: 2, memoryTotalBytes: 16 * GiB, memoryUsedBytes: 2 * GiB });
  });
});
