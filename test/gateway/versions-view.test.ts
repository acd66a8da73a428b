import { describe, expect, it } from 'vitest';
import { startFakeReplica } from './fake-replica.js';
import { closedAfterEach, gatewayFor } from './gateway-harness.js';

const { defer } = closedAfterEach();

// The operator view (/v1/cluster, drawn by the page) with two versions of one model and a configured split.
describe('operator view: versions and their split', () => {
  it('a row per version with its replicas, split weight and share; a split version with no replica shows too', async () => {
    const v1 = await startFakeReplica({ id: 'v1', model: 'codetr', version: '1' });
    defer(() => v1.close());
    const v2 = await startFakeReplica({ id: 'v2', model: 'codetr', version: '2' });
    defer(() => v2.close());
    const gw = await gatewayFor(
      [
        { id: 'v1', url: v1.url },
        { id: 'v2', url: v2.url },
      ],
      { config: { versions: { split: { codetr: { '1': 80, '2': 15, '3': 5 } } } } },
    );
    defer(() => gw.close());
    const view = await gw.clusterView();
    expect(
      view.models.map(({ name, version, replicas, readyReplicas, splitWeight, splitShare }) => ({
        name,
        version,
        replicas,
        readyReplicas,
        splitWeight,
        splitShare,
      })),
    ).toEqual([
      { name: 'codetr', version: '1', replicas: 1, readyReplicas: 1, splitWeight: 80, splitShare: 0.8 },
      { name: 'codetr', version: '2', replicas: 1, readyReplicas: 1, splitWeight: 15, splitShare: 0.15 },
      { name: 'codetr', version: '3', replicas: 0, readyReplicas: 0, splitWeight: 5, splitShare: 0.05 },
    ]);
  });

  it('without a split: no weights', async () => {
    const a = await startFakeReplica({ id: 'a' });
    defer(() => a.close());
    const gw = await gatewayFor([{ id: 'a', url: a.url }]);
    defer(() => gw.close());
    const [model] = (await gw.clusterView()).models;
    expect(model).not.toHaveProperty('splitWeight');
    expect(model).not.toHaveProperty('splitShare');
  });
});
