import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/log.js';
import { SchedulerConfig } from '../../scheduler/config/schema.js';
import { createKubernetesStack, type KubernetesStack } from '../../scheduler/kubernetes-stack.js';
import { LABELS, REPLICA_SELECTOR } from '../../scheduler/orchestrators/kubernetes/pod-template.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-api-server.js';
import type { KubeObject } from '../helpers/kube-object.js';
import { REPO_ROOT } from '../helpers/replica-process.js';
import { until } from '../helpers/until.js';

// Two versions of one model (a canary) planned by the scheduler against the Kubernetes-API stand-in, through
// the real @kubernetes/client-node: each version gets its own pods, named, labelled and started as that
// version, so the gateway (which reads each replica's version from its /v1/stats) routes the split to them.

const NS = 'gpumux';
const template: V1Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { labels: {} },
  spec: { containers: [{ name: 'replica', image: 'gpumux:test' }] },
};
const manifest = path.join(REPO_ROOT, 'models/codetr');

describe('scheduler on Kubernetes: two versions of one model', () => {
  let api: KubeApiServer;
  let stack: KubernetesStack | undefined;

  beforeEach(async () => {
    api = await startKubeApiServer();
    for (const node of ['gpu-a', 'gpu-b'])
      api.addNode(node, {
        'nvidia.com/gpu.count': '2',
        'nvidia.com/gpu.memory': '24564',
        'nvidia.com/gpu.product': 'NVIDIA-GeForce-RTX-4090',
      });
  });
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
    await api.close();
  });

  it('places replicas of both versions: pod names, version labels and --model-version per version', async () => {
    const config = SchedulerConfig.parse({
      models: [
        { name: 'codetr', version: '1', manifest, minReplicas: 3, maxReplicas: 3, trafficWeight: 90 },
        {
          name: 'codetr',
          version: '2',
          manifest,
          onnx: '/models/codetr/v2/model.onnx',
          minReplicas: 1,
          maxReplicas: 1,
          trafficWeight: 10,
        },
      ],
      orchestrator: { kind: 'kubernetes', namespace: NS, replicaPort: 1, drainTimeout: '1s' },
      leaderElection: { enabled: false },
    });
    stack = await createKubernetesStack({
      config,
      kubeConfig: api.kubeConfig(NS),
      template,
      identity: 'scheduler-a',
      logger: createLogger({}, () => undefined),
    });
    await stack.start();
    const pods = (): KubeObject[] => api.list('pods', NS, REPLICA_SELECTOR);
    await until('four pods', () => pods().length === 4, 5000);

    const ofVersion = (v: string) => pods().filter((p) => p.metadata.labels?.[LABELS.version] === v);
    expect(ofVersion('1')).toHaveLength(3);
    expect(ofVersion('2')).toHaveLength(1);
    for (const v of ['1', '2'])
      for (const pod of ofVersion(v)) {
        expect(pod.metadata.name).toMatch(new RegExp(`^gpumux-codetr-v${v}-[0-9a-f]{10}$`));
        expect(pod.metadata.labels?.[LABELS.model]).toBe('codetr');
        const args = (pod.spec as unknown as V1Pod['spec'])!.containers[0]!.args!;
        expect(args.slice(args.indexOf('--model-version'), args.indexOf('--model-version') + 2)).toEqual([
          '--model-version',
          v,
        ]);
        expect(args.includes('/models/codetr/v2/model.onnx')).toBe(v === '2');
      }
    // Four replicas on four GPUs (the default policy uses every GPU first), whichever version.
    const gpus = pods().map((p) => `${p.spec?.nodeName}/${p.metadata.labels?.[LABELS.gpu]}`);
    expect(new Set(gpus).size).toBe(4);

    // What the scheduler publishes and reads back from the pods: each version apart.
    api.runPods(NS, REPLICA_SELECTOR);
    const view = await stack.scheduler.reconcile();
    expect(view.actions).toEqual([]);
    expect(
      view
        .gpus!.flatMap((g) => g.models ?? [])
        .map((m) => m.model)
        .sort(),
    ).toEqual(['codetr@1', 'codetr@1', 'codetr@1', 'codetr@2']);
    expect(
      stack.orchestrator
        .replicas()
        .map((r) => `${r.model}@${r.version}`)
        .sort(),
    ).toEqual(['codetr@1', 'codetr@1', 'codetr@1', 'codetr@2']);
  });
});
