import { afterEach, describe, expect, it } from 'vitest';
import { kubernetesDiscovery } from '../../gateway/discovery/kubernetes.js';
import type { ReplicaEndpoint } from '../../gateway/types.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-api-server.js';
import type { KubeObject } from '../helpers/kube-object.js';
import { loadKubeClient } from '../../common/kube-client.js';
import { quietLogger, waitFor } from './gateway-harness.js';

const LABELS = {
  'app.kubernetes.io/component': 'replica',
  'app.kubernetes.io/part-of': 'gpumux',
  'gpumux.io/model': 'shapes',
};
let api: KubeApiServer | undefined;
let stopDiscovery: (() => Promise<void>) | undefined;

afterEach(async () => {
  await stopDiscovery?.();
  await api?.close();
});

function pod(name: string, labels: Record<string, string> = LABELS): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'gpumux', labels },
    spec: { containers: [{ name: 'replica', image: 'x' }] },
  };
}

async function start(): Promise<{ seen: ReplicaEndpoint[][]; latest: () => ReplicaEndpoint[] }> {
  api ??= await startKubeApiServer();
  const seen: ReplicaEndpoint[][] = [];
  const discovery = kubernetesDiscovery({
    namespace: 'gpumux',
    replicaPort: 8081,
    kubeConfig: api.kubeConfig('gpumux'),
    relistDelayMs: 100,
    logger: quietLogger,
  });
  await discovery.start((e) => seen.push(e));
  stopDiscovery = () => discovery.stop();
  return { seen, latest: () => seen.at(-1) ?? [] };
}

describe('kubernetes discovery (real @kubernetes/client-node against an API-shaped server)', () => {
  it('lists, then follows the watch: Running pods with an IP and the replica labels only', async () => {
    api = await startKubeApiServer();
    api.put('pods', pod('replica-a'));
    api.setPodStatus('gpumux', 'replica-a', { phase: 'Running', podIP: '10.0.0.1' });
    api.put('pods', pod('other', { app: 'something-else' }));
    api.setPodStatus('gpumux', 'other', { phase: 'Running', podIP: '10.0.0.9' });
    const { latest } = await start();
    expect(latest()).toEqual([{ id: 'replica-a', url: 'http://10.0.0.1:8081' }]);

    api.put('pods', pod('replica-b')); // Pending, no IP yet: not routable
    api.put('pods', pod('replica-c'));
    api.setPodStatus('gpumux', 'replica-c', { phase: 'Running', podIP: '10.0.0.3' });
    // The watch delivers in order: once replica-c is routable, replica-b's ADDED has been seen (and left out).
    await waitFor(() => latest().length === 2);
    expect(latest().map((e) => e.id)).toEqual(['replica-a', 'replica-c']);
    api.setPodStatus('gpumux', 'replica-b', { phase: 'Running', podIP: 'fd00::2' });
    await waitFor(() => latest().length === 3);
    expect(latest()[1]).toEqual({ id: 'replica-b', url: 'http://[fd00::2]:8081' });

    api.remove('pods', 'gpumux', 'replica-a');
    await waitFor(() => latest().length === 2);
    expect(latest()).toEqual([
      { id: 'replica-b', url: 'http://[fd00::2]:8081' },
      { id: 'replica-c', url: 'http://10.0.0.3:8081' },
    ]);
    const watches = api.requests.filter((r) => r.resource === 'pods' && r.path.includes('watch=true'));
    expect(watches).toHaveLength(1);
    expect(watches[0]!.path).toMatch(/labelSelector=app.kubernetes.io%2Fcomponent%3Dreplica/);
  });

  it('a Terminating pod (deleted with a grace period, still Running) takes no more traffic', async () => {
    api = await startKubeApiServer({ terminationMs: 'manual' });
    for (const [name, ip] of [
      ['replica-a', '10.0.0.1'],
      ['replica-b', '10.0.0.2'],
    ] as const) {
      api.put('pods', {
        ...pod(name),
        spec: { nodeName: 'gpu-1', containers: [{ name: 'replica', image: 'x' }] },
      });
      api.setPodStatus('gpumux', name, { phase: 'Running', podIP: ip });
    }
    const { seen, latest } = await start();
    expect(latest().map((e) => e.id)).toEqual(['replica-a', 'replica-b']);
    const { CoreV1Api } = await loadKubeClient();
    await api.kubeConfig('gpumux').makeApiClient(CoreV1Api).deleteNamespacedPod({
      namespace: 'gpumux',
      name: 'replica-a',
    });
    await waitFor(() => latest().length === 1);
    expect(latest()).toEqual([{ id: 'replica-b', url: 'http://10.0.0.2:8081' }]);
    // Dropped while still Running and listed: before its DELETED event, which changes nothing further.
    expect(api.get('pods', 'gpumux', 'replica-a')?.status?.phase).toBe('Running');
    const published = seen.length;
    expect(api.finishTermination('gpumux', 'replica-a')).toBe(true);
    api.remove('pods', 'gpumux', 'replica-b');
    await waitFor(() => latest().length === 0);
    expect(seen.slice(published)).toEqual([[]]);
  });

  it('keeps trying when the API fails, and serves what it finds once it answers', async () => {
    api = await startKubeApiServer();
    api.put('pods', pod('replica-a'));
    api.setPodStatus('gpumux', 'replica-a', { phase: 'Running', podIP: '10.0.0.1' });
    api.failNext('GET', /\/api\/v1\/namespaces\/gpumux\/pods/, 500);
    const { seen, latest } = await start();
    expect(seen[0]).toEqual([]);
    await waitFor(() => latest().length === 1, 5000);
    expect(latest()[0]!.id).toBe('replica-a');
  });
});

describe('kubernetes discovery: expired and dropped watches', () => {
  const lists = () => api!.requests.filter((r) => r.resource === 'pods' && !r.path.includes('watch=true'));

  it('410 Gone (the resourceVersion expired): lists again and follows the new watch', async () => {
    api = await startKubeApiServer();
    api.put('pods', pod('replica-a'));
    api.setPodStatus('gpumux', 'replica-a', { phase: 'Running', podIP: '10.0.0.1' });
    const { latest } = await start();
    expect(latest().map((e) => e.id)).toEqual(['replica-a']);
    expect(lists()).toHaveLength(1);
    api.expireWatches();
    await waitFor(() => lists().length === 2);
    api.put('pods', pod('replica-b'));
    api.setPodStatus('gpumux', 'replica-b', { phase: 'Running', podIP: '10.0.0.2' });
    await waitFor(() => latest().length === 2);
    expect(latest().map((e) => e.id)).toEqual(['replica-a', 'replica-b']);
  });

  it('a dropped watch is restarted, and what changed meanwhile is not lost', async () => {
    api = await startKubeApiServer();
    api.put('pods', pod('replica-a'));
    api.setPodStatus('gpumux', 'replica-a', { phase: 'Running', podIP: '10.0.0.1' });
    const { latest } = await start();
    const watches = () => api!.requests.filter((r) => r.resource === 'pods' && r.path.includes('watch=true'));
    expect(watches()).toHaveLength(1);
    api.dropWatches();
    api.remove('pods', 'gpumux', 'replica-a'); // while no watch is open
    await waitFor(() => latest().length === 0, 5000);
    expect(watches()).toHaveLength(2);
  });
});
