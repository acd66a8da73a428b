import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { loadKubeClient } from '../../common/kube-client.js';

const { CoordinationV1Api, CoreV1Api, Watch } = await loadKubeClient();
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-api-server.js';
import { until } from '../helpers/until.js';

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

  it('a DELETE with a grace period makes a scheduled pod Terminating; it goes when the kubelet is done', async () => {
    await api.close();
    api = await startKubeApiServer({ terminationMs: 'manual' });
    const kc = api.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const scheduled = (name: string): V1Pod => ({
      ...pod(name, { app: 'x' }),
      spec: { nodeName: 'gpu-1', containers: [{ name: 'replica', image: 'gpumux' }] },
    });
    await core.createNamespacedPod({ namespace: 'ns', body: scheduled('t') });
    await core.createNamespacedPod({ namespace: 'ns', body: scheduled('now') });
    await core.createNamespacedPod({ namespace: 'ns', body: pod('unscheduled', { app: 'x' }) });
    const events: string[] = [];
    const ctrl = await new Watch(kc).watch(
      '/api/v1/namespaces/ns/pods',
      { labelSelector: 'app=x' },
      (type, obj: V1Pod) => {
        const terminating = type !== 'DELETED' && obj.metadata?.deletionTimestamp;
        events.push(`${type} ${obj.metadata?.name}${terminating ? ' Terminating' : ''}`);
      },
      () => undefined,
    );
    const before = Date.now();
    const answered = await core.deleteNamespacedPod({ namespace: 'ns', name: 't', gracePeriodSeconds: 20 });
    expect(answered.metadata?.deletionGracePeriodSeconds).toBe(20);
    const deadline = new Date(answered.metadata!.deletionTimestamp!).getTime();
    expect(deadline).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 20_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 20_000);
    // Still there, Terminating; a second DELETE answers it as it is.
    expect(
      (await core.readNamespacedPod({ namespace: 'ns', name: 't' })).metadata?.deletionTimestamp,
    ).toEqual(answered.metadata?.deletionTimestamp);
    await core.deleteNamespacedPod({ namespace: 'ns', name: 't' });
    // Grace 0, or a pod no kubelet runs: gone at once.
    await core.deleteNamespacedPod({ namespace: 'ns', name: 'now', gracePeriodSeconds: 0 });
    await core.deleteNamespacedPod({ namespace: 'ns', name: 'unscheduled' });
    expect(api.list('pods', 'ns').map((p) => p.metadata.name)).toEqual(['t']);
    expect(api.finishTermination('ns', 'now')).toBe(false);
    expect(api.finishTermination('ns', 't')).toBe(true);
    await expect(core.readNamespacedPod({ namespace: 'ns', name: 't' })).rejects.toMatchObject({ code: 404 });
    await until('the DELETED event', () => events.length === 7);
    ctrl.abort();
    expect(events).toEqual([
      'ADDED now',
      'ADDED t',
      'ADDED unscheduled',
      'MODIFIED t Terminating',
      'DELETED now',
      'DELETED unscheduled',
      'DELETED t',
    ]);
  });

  it('a pod deleted with a grace period goes by itself after terminationMs', async () => {
    await api.close();
    api = await startKubeApiServer({ terminationMs: 50 });
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace: 'ns',
      body: {
        ...pod('t', {}),
        spec: { nodeName: 'gpu-1', containers: [{ name: 'replica', image: 'gpumux' }] },
      },
    });
    await core.deleteNamespacedPod({ namespace: 'ns', name: 't' });
    expect(api.get('pods', 'ns', 't')?.metadata.deletionGracePeriodSeconds).toBe(30);
    await until('removed', () => api.get('pods', 'ns', 't') === undefined, 5000);
  });

  it('lists nodes with their labels', async () => {
    api.addNode('gpu-1', { 'nvidia.com/gpu.count': '2' });
    const nodes = await api.kubeConfig().makeApiClient(CoreV1Api).listNode();
    expect(nodes.items.map((n) => [n.metadata?.name, n.metadata?.labels?.['nvidia.com/gpu.count']])).toEqual([
      ['gpu-1', '2'],
    ]);
  });
});
