import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/log.js';
import { startKubeApiServer, type KubeApiServer } from '../../../test/helpers/kube-api-server.js';
import { until } from '../../../test/helpers/until.js';
import { codetrOnGpu2 } from '../../../test/scheduler/replica-request.js';
import type { Orchestrator } from '../types.js';
import { createKubernetesOrchestrator } from './orchestrator.js';
import { LABELS } from './pod-template.js';

/** The orchestrator's pod list-watch against the Kubernetes-API stand-in: 410 Gone and dropped watches. */
const NS = 'gpumux';
const template: V1Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { labels: {} },
  spec: { containers: [{ name: 'replica', image: 'gpumux:test' }] },
};
let api: KubeApiServer | undefined;
let orchestrator: Orchestrator | undefined;

afterEach(async () => {
  await orchestrator?.stop();
  await api?.close();
});

function orchestratorFor(server: KubeApiServer): Orchestrator {
  orchestrator = createKubernetesOrchestrator({
    kubeConfig: server.kubeConfig(NS),
    namespace: NS,
    template,
    release: 'test',
    gpuMode: 'pinned',
    replicaPort: 8081,
    logger: createLogger({}, () => undefined),
  });
  return orchestrator;
}

async function start(): Promise<Orchestrator> {
  api = await startKubeApiServer();
  const o = orchestratorFor(api);
  await o.start();
  return o;
}

/** A replica pod made by someone else (another scheduler instance, kubectl): only the watch tells. */
function externalPod(name: string) {
  api!.put('pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NS,
      labels: {
        [LABELS.component]: 'replica',
        [LABELS.partOf]: 'gpumux',
        [LABELS.instance]: 'test',
        [LABELS.model]: 'shapes',
        [LABELS.gpu]: '0',
        [LABELS.node]: 'gpu-a',
      },
    },
    spec: { containers: [{ name: 'replica', image: 'gpumux:test' }] },
  });
}

const ids = (o: Orchestrator) => o.replicas().map((r) => r.id);
const podRequests = (watch: boolean) =>
  api!.requests.filter(
    (r) => r.resource === 'pods' && r.method === 'GET' && r.path.includes('watch=true') === watch,
  );

describe('kubernetes orchestrator: the pod list-watch', () => {
  it('410 Gone: lists again and keeps following', async () => {
    const o = await start();
    externalPod('replica-a');
    await until('replica-a listed', () => ids(o).includes('replica-a'));
    api!.expireWatches();
    await until('the re-list', () => podRequests(false).length === 2);
    externalPod('replica-b');
    await until('replica-b watched', () => ids(o).includes('replica-b'));
    expect(ids(o).sort()).toEqual(['replica-a', 'replica-b']);
  });

  it('a dropped watch is restarted; a deletion made meanwhile arrives', async () => {
    const o = await start();
    externalPod('replica-a');
    await until('replica-a listed', () => ids(o).length === 1);
    api!.dropWatches();
    api!.remove('pods', NS, 'replica-a');
    await until('the deletion', () => ids(o).length === 0, 5000);
    expect(podRequests(true)).toHaveLength(2);
  });

  it.each([
    ['the watch reports it Terminating before the DELETE is answered', 100],
    ['the DELETE is answered first', 0],
  ])('a pod it deleted stays, draining, while it terminates: %s', async (_, deleteAnswerDelayMs) => {
    api = await startKubeApiServer({ terminationMs: 'manual', deleteAnswerDelayMs });
    const o = orchestratorFor(api);
    await o.start();
    const created = await o.create(codetrOnGpu2);
    await until('the pod watched', () => ids(o).includes(created.id));
    await o.remove(created.id);
    // Terminating holds its GPU's memory: the scheduler must keep counting it until it is gone.
    await until('Terminating seen', () => api!.get('pods', NS, created.id)?.metadata.deletionTimestamp);
    await until('the watch event applied', () =>
      o.replicas().some((r) => r.id === created.id && r.phase === 'draining' && r.draining),
    );
    expect(o.replicas().map((r) => [r.id, r.phase, r.footprintBytes])).toEqual([
      [created.id, 'draining', created.footprintBytes],
    ]);
    expect(api.finishTermination(NS, created.id)).toBe(true);
    await until('gone once deleted', () => o.replicas().length === 0);
  });

  it('start fails when the pods cannot be listed', async () => {
    api = await startKubeApiServer();
    api.failNext('GET', /\/pods/, 403);
    await expect(orchestratorFor(api).start()).rejects.toThrow(/cannot list replica pods/);
  });
});
