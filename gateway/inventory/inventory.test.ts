import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/log.js';
import { startFakeReplica, type FakeReplica } from '../../test/gateway/fake-replica.js';
import { createInventory, type Inventory } from './inventory.js';

const logger = createLogger({}, () => undefined);
let now = 0;
const clock = { now: () => now };
const fakes: FakeReplica[] = [];
let inventory: Inventory | undefined;

afterEach(async () => {
  await inventory?.stop();
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

function make(ejectAfter = 2): Inventory {
  inventory = createInventory({
    pollIntervalMs: 60_000,
    reserveBytes: 0,
    criticalHeadroomBytes: 0,
    ejection: { consecutiveFailures: ejectAfter, baseMs: 1000, maxMs: 8000, maxEjectionShare: 0.5 },
    clock,
    logger,
  });
  return inventory;
}

describe('inventory', () => {
  it('keeps who exists (discovery) apart from what they report (polls)', async () => {
    const a = await startFakeReplica({
      id: 'a',
      gpu: { node: 'n', index: 0, capacityBytes: 24 * 1024 ** 3 },
    });
    fakes.push(a);
    const inv = make();
    inv.setEndpoints([
      { id: 'a', url: a.url },
      { id: 'dead', url: 'http://127.0.0.1:1' },
    ]);
    await inv.pollOnce();
    const [ra, dead] = [...inv.records()];
    expect(ra!.measurement.stats?.replicaId).toBe('a');
    expect(ra!.gpuKey).toBe('virtual-n-0');
    expect(dead!.measurement.reachable).toBe(false);
    expect(dead!.measurement.lastError).toBe('connect ECONNREFUSED 127.0.0.1:1');
    expect(inv.byModel('shapes')).toEqual([ra]);
    expect(inv.gpus().get('virtual-n-0')?.replicas).toEqual([ra]);

    inv.setEndpoints([{ id: 'a', url: a.url }]);
    expect([...inv.records()].map((r) => r.endpoint.id)).toEqual(['a']);
  });

  it('rejects stats that do not match the contract', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => res.end(JSON.stringify({ replicaId: 'x', model: 'shapes' })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const inv = make();
    inv.setEndpoints([{ id: 'bad', url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }]);
    await inv.pollOnce();
    const [r] = [...inv.records()];
    expect(r!.measurement.reachable).toBe(false);
    expect(r!.measurement.lastError).toMatch(/contract/);
    server.close();
  });

  it('ejects after consecutive failures with exponential backoff; a healthy poll after it re-admits', async () => {
    const a = await startFakeReplica({ id: 'a' });
    const b = await startFakeReplica({ id: 'b' });
    fakes.push(a, b);
    const inv = make(2);
    inv.setEndpoints([
      { id: 'a', url: a.url },
      { id: 'b', url: b.url },
    ]);
    await inv.pollOnce();
    const [r] = [...inv.records()];
    const { outliers } = inv;
    now = 10_000;
    outliers.failure(r!, 'test');
    expect(r!.outlier.ejectedUntil).toBe(0);
    outliers.failure(r!, 'test');
    expect(r!.outlier.ejectedUntil).toBe(11_000);
    // Before the backoff has passed a healthy poll does not re-admit.
    await inv.pollOnce();
    expect(r!.outlier.ejectedUntil).toBe(11_000);
    now = 11_000;
    await inv.pollOnce();
    expect(r!.outlier.ejectedUntil).toBe(0);
    // Failing again right after re-admission doubles the backoff.
    outliers.failure(r!, 'test');
    outliers.failure(r!, 'test');
    expect(r!.outlier.ejectedUntil).toBe(13_000);
    // Not healthy: stays out past its backoff.
    a.mode = 'unhealthy';
    now = 20_000;
    await inv.pollOnce();
    expect(r!.outlier.ejectedUntil).toBe(13_000);
    a.mode = 'ok';
    await inv.pollOnce();
    expect(r!.outlier.ejectedUntil).toBe(0);
    // In for `max` (8 s) since re-admission: the next ejection starts from `base` again.
    now = 28_000;
    outliers.failure(r!, 'test');
    outliers.failure(r!, 'test');
    expect(r!.outlier.ejectedUntil).toBe(29_000);
    inv.recordLatency(r!, 0.5);
    expect(r!.traffic.ewmaSeconds).toBe(0.5);
  });
});
