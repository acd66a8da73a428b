import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { loadKubeClient } from '../../common/kube-client.js';

const { CoordinationV1Api, CoreV1Api, Watch } = await loadKubeClient();
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-api-server.js';

// The API-shaped server is itself test infrastructure others rely on: check it with the real client.
describe('kube-api-server with @kubernetes/client-node', () => {
  let api: KubeApiServer;
  beforeEach(async () => {
    api = await startKubeApiServer();
  });
  afterEach(async () => {
    await api.close();
  });

  const pod = (name: string, labels: Record<string, string>): V1Pod => ({
    metadata: { name, labels },
    spec: { containers: [{ name: 'replica', image: 'gpumux' }] },
  });

  it('creates, lists by label selector, gets and deletes pods', async () => {
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedPod({ namespace: 'ns', body: pod('a', { app: 'x', tier: 'gpu' }) });
    await core.createNamespacedPod({ namespace: 'ns', body: pod('b', { app: 'y' }) });
    await expect(core.createNamespacedPod({ namespace: 'ns', body: pod('a', {}) })).rejects.toMatchObject({
      code: 409,
    });
    const list = await core.listNamespacedPod({ namespace: 'ns', labelSelector: 'app in (x,z),tier' });
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['a']);
    expect(
      (await core.listNamespacedPod({ namespace: 'ns', labelSelector: 'app!=x' })).items.map(
        (p) => p.metadata?.name,
      ),
    ).toEqual(['b']);
    const got = await core.readNamespacedPod({ namespace: 'ns', name: 'a' });
    expect(got.status?.phase).toBe('Pending');
    await core.deleteNamespacedPod({ namespace: 'ns', name: 'a' });
    await expect(core.readNamespacedPod({ namespace: 'ns', name: 'a' })).rejects.toMatchObject({ code: 404 });
  });

  it('streams watch events with resource versions and label selectors', async () => {
    const kc = api.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({ namespace: 'ns', body: pod('before', { app: 'x' }) });
    const events: string[] = [];
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const ctrl = await new Watch(kc).watch(
      '/api/v1/namespaces/ns/pods',
      { labelSelector: 'app=x' },
      (type, obj: V1Pod) => {
        events.push(`${type} ${obj.metadata?.name} ${obj.status?.phase ?? ''}`.trim());
        if (type === 'DELETED') resolveDone();
      },
      () => undefined,
    );
    await core.createNamespacedPod({ namespace: 'ns', body: pod('other', { app: 'y' }) });
    await core.createNamespacedPod({ namespace: 'ns', body: pod('c', { app: 'x' }) });
    api.runPods('ns', 'app=x', '10.0.0.7');
    await core.deleteNamespacedPod({ namespace: 'ns', name: 'c' });
    await done;
    ctrl.abort();
    expect(events).toEqual([
      'ADDED before Pending',
      'ADDED c Pending',
      'MODIFIED before Running',
      'MODIFIED c Running',
      'DELETED c Running',
    ]);
  });

  it('guards lease updates by resourceVersion (409 on a stale one)', async () => {
    const coord = api.kubeConfig().makeApiClient(CoordinationV1Api);
    const created = await coord.createNamespacedLease({
      namespace: 'ns',
      body: { metadata: { name: 'leader' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } },
    });
    const updated = await coord.replaceNamespacedLease({
      namespace: 'ns',
      name: 'leader',
      body: { ...created, spec: { ...created.spec, holderIdentity: 'b' } },
    });
    expect(updated.spec?.holderIdentity).toBe('b');
    await expect(
      coord.replaceNamespacedLease({
        namespace: 'ns',
        name: 'leader',
        body: { ...created, spec: { holderIdentity: 'c' } },
      }),
    ).rejects.toMatchObject({ code: 409 });
    expect((await coord.readNamespacedLease({ namespace: 'ns', name: 'leader' })).spec?.holderIdentity).toBe(
      'b',
    );
  });

  it('lists nodes with their labels', async () => {
    api.addNode('gpu-1', { 'nvidia.com/gpu.count': '2' });
    const nodes = await api.kubeConfig().makeApiClient(CoreV1Api).listNode();
    expect(nodes.items.map((n) => [n.metadata?.name, n.metadata?.labels?.['nvidia.com/gpu.count']])).toEqual([
      ['gpu-1', '2'],
    ]);
  });
});
