import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { createLogger } from '../../common/log.js';
import { SchedulerConfig, type SchedulerConfigInput } from '../../scheduler/config/schema.js';
import { createKubernetesStack, type KubernetesStack } from '../../scheduler/kubernetes-stack.js';
import { LABELS, REPLICA_SELECTOR } from '../../scheduler/orchestrators/kubernetes/pod-template.js';
import { startKubeApiServer, type KubeApiServer, type KubeObject } from '../helpers/kube-api-server.js';
import { REPO_ROOT } from '../helpers/replica-process.js';
import { until } from '../helpers/until.js';
import path from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReplicaStats } from '../../replica/contract.js';

// The scheduler against a Kubernetes-API-shaped server, through the real @kubernetes/client-node over HTTP.

const NS = 'gpumux';
const template: V1Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { labels: { 'app.kubernetes.io/name': 'gpumux' } },
  spec: {
    runtimeClassName: 'nvidia',
    containers: [
      {
        name: 'replica',
        image: 'gpumux:test',
        args: ['--max-batch', '2'],
        resources: { limits: { 'nvidia.com/gpu': '1' } },
      },
    ],
  },
};

function config(over: Partial<SchedulerConfigInput> = {}): SchedulerConfig {
  return SchedulerConfig.parse({
    // maxBatch 1: these tests pack Co-DETR's batch-1 figure (9.6 GiB, two per GPU); left to the scheduler,
    // three replicas on three GPUs would run at max batch 2 (scheduler/max-batch.test.ts)
    models: [
      {
        name: 'codetr',
        manifest: path.join(REPO_ROOT, 'models/codetr'),
        minReplicas: 3,
        maxReplicas: 3,
        maxBatch: 1,
      },
    ],
    // Port 1 refuses connections at once: these pods have no replica behind them.
    orchestrator: { kind: 'kubernetes', namespace: NS, replicaPort: 1, drainTimeout: '1s' },
    demand: { interval: '150ms' },
    leaderElection: { enabled: false },
    // These tests follow binpack's packing (two on gpu-a/0 first); the default policy has its own tests.
    policy: 'binpack',
    ...over,
  } satisfies SchedulerConfigInput);
}

/** The last lines a replica that died of CUDA OOM logged (replica/server.ts writes the last one). */
function replicaLogTail(pod: string): string {
  const base = { component: 'replica', model: 'codetr', version: '1', replicaId: pod };
  const device = 'cuda:0 (node gpu-a, GPU 0 GPU-e18afb8d-1627-f8ff-2ba3-c05c5a8e9e67)';
  return [
    { level: 'info', msg: 'ready', ...base, device: 'cuda', footprintBytes: 10307502080 },
    {
      level: 'error',
      msg:
        `CUDA out of memory: model codetr:1 on ${device}, replica ${pod}; exiting with code 3: Non-zero status ` +
        "code returned while running Conv node. Name:'Conv_111' Status Message: /onnxruntime_src/onnxruntime/core/" +
        'framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, ' +
        'onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested ' +
        'buffer of size 2830172160',
      ...base,
      device,
      exitCode: 3,
    },
  ]
    .map((r) => JSON.stringify({ time: '2026-11-25T13:59:03.026Z', ...r }))
    .join('\n');
}

/** What a ready replica stand-in on gpu-a/0 (an RTX 4090) reports on /v1/stats; tests set the measured parts. */
function readyStats(
  measured: Pick<ReplicaStats, 'footprint' | 'inFlight' | 'busyRatio'> & { memoryUsedBytes: number },
): ReplicaStats {
  const { memoryUsedBytes, ...rest } = measured;
  return {
    replicaId: 'x',
    model: 'codetr',
    version: '1',
    state: 'ready',
    ready: true,
    device: {
      kind: 'cuda',
      node: 'gpu-a',
      index: 0,
      uuid: 'GPU-1',
      name: 'NVIDIA GeForce RTX 4090',
      memoryTotalBytes: 24564 * 1024 ** 2,
      memoryUsedBytes,
      virtual: false,
    },
    queueLength: 0,
    queueCapacity: 32,
    maxBatch: 2,
    ewmaServiceSeconds: 0.2,
    processRssBytes: 1,
    startedAt: new Date().toISOString(),
    uptimeSeconds: 1,
    requestsTotal: 0,
    framesTotal: 0,
    errorsTotal: 0,
    ...rest,
  };
}

const gpuOf = (p: KubeObject): string => `${p.spec?.nodeName}/${p.metadata.labels?.[LABELS.gpu]}`;

describe('scheduler on Kubernetes', () => {
  let api: KubeApiServer;
  const stacks: KubernetesStack[] = [];
  const logger = createLogger({ test: 'kubernetes' }, process.env.DEBUG_K8S ? undefined : () => undefined);

  beforeEach(async () => {
    api = await startKubeApiServer();
    api.addNode('gpu-a', {
      'nvidia.com/gpu.count': '2',
      'nvidia.com/gpu.memory': '24564',
      'nvidia.com/gpu.product': 'NVIDIA-GeForce-RTX-4090',
    });
    api.addNode('gpu-b', {
      'nvidia.com/gpu.count': '1',
      'nvidia.com/gpu.memory': '24564',
      'nvidia.com/gpu.product': 'NVIDIA-GeForce-RTX-4090',
    });
    api.addNode('cpu-only', {});
  });
  afterEach(async () => {
    for (const s of stacks.splice(0)) await s.stop();
    await api.close();
  });

  async function start(cfg: SchedulerConfig, identity = 'scheduler-a'): Promise<KubernetesStack> {
    const stack = await createKubernetesStack({
      config: cfg,
      kubeConfig: api.kubeConfig(NS),
      template,
      identity,
      logger,
    });
    stacks.push(stack);
    await stack.start();
    return stack;
  }
  const pods = (): KubeObject[] => api.list('pods', NS, REPLICA_SELECTOR);

  it('creates the pods the plan calls for, one starting replica per GPU at a time', async () => {
    await start(config());
    // Binpack: two on gpu-a/0, one on gpu-a/1; the second on gpu-a/0 waits for the first to be ready.
    await until('first pods', () => pods().length === 2);
    await new Promise((r) => setTimeout(r, 400));
    expect(pods().map(gpuOf).sort()).toEqual(['gpu-a/0', 'gpu-a/1']);
    api.runPods(NS, REPLICA_SELECTOR);
    await until('third pod', () => pods().length === 3);
    expect(pods().map(gpuOf).sort()).toEqual(['gpu-a/0', 'gpu-a/0', 'gpu-a/1']);

    const pod = pods().find((p) => p.metadata.labels?.[LABELS.gpu] === '1')!;
    const container = (pod.spec as unknown as V1Pod['spec'])!.containers[0]!;
    expect(pod.metadata.name).toMatch(/^gpumux-codetr-[0-9a-f]{10}$/);
    expect(pod.metadata.labels).toMatchObject({
      [LABELS.model]: 'codetr',
      [LABELS.version]: '1',
      [LABELS.node]: 'gpu-a',
      'app.kubernetes.io/name': 'gpumux',
    });
    expect(pod.metadata.annotations?.['gpumux.io/footprint-bytes']).toBe(String(9830 * 1024 ** 2));
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'NVIDIA_VISIBLE_DEVICES', value: '1' },
        { name: 'GPUMUX_GPU_INDEX', value: '1' },
        { name: 'GPUMUX_REPLICA_ID', value: pod.metadata.name },
        { name: 'GPUMUX_NODE', value: 'gpu-a' },
      ]),
    );
    expect(container.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    expect(container.resources?.limits?.['nvidia.com/gpu']).toBeUndefined();
    expect(container.args).toEqual([
      'replica',
      '--model',
      path.join(REPO_ROOT, 'models/codetr'),
      '--max-batch',
      '1',
      '--port',
      '1',
      '--host',
      '0.0.0.0',
      '--device',
      'cuda:0',
      '--max-batch',
      '2',
    ]);
  });

  it('notices a deleted pod and replaces it', async () => {
    const cfg = config();
    await start(cfg);
    await until('two pods', () => pods().length === 2);
    api.runPods(NS, REPLICA_SELECTOR);
    await until('three pods', () => pods().length === 3);
    api.runPods(NS, REPLICA_SELECTOR);
    const victim = pods()[0]!.metadata.name!;
    api.remove('pods', NS, victim);
    await until('replacement', () => pods().length === 3 && !pods().some((p) => p.metadata.name === victim));
  });

  it('a node that disappears gets its replicas re-placed', async () => {
    await start(config({ policy: 'spread' }));
    await until('three pods', () => pods().length === 3);
    expect(pods().map(gpuOf).sort()).toEqual(['gpu-a/0', 'gpu-a/1', 'gpu-b/0']);
    api.runPods(NS, REPLICA_SELECTOR);
    api.removeNode('gpu-b');
    await until('re-placed', () => {
      const gpus = pods().map(gpuOf).sort();
      return gpus.length === 3 && !gpus.includes('gpu-b/0') ? gpus : undefined;
    });
  });

  it('OOM feedback: a replica killed by CUDA OOM raises the footprint and the plan spreads out', async () => {
    const stack = await start(config());
    await until('two pods', () => pods().length === 2);
    api.runPods(NS, REPLICA_SELECTOR);
    await until('three pods', () => pods().length === 3);
    api.runPods(NS, REPLICA_SELECTOR);
    const onShared = pods().find((p) => p.metadata.labels?.[LABELS.gpu] === '0')!;
    api.setPodStatus(NS, onShared.metadata.name!, {
      phase: 'Failed',
      containerStatuses: [
        {
          name: 'replica',
          ready: false,
          restartCount: 0,
          // What the kubelet reports with FallbackToLogsOnError when the termination log stayed empty: reason
          // Error, the exit code, and the container's last log lines (JSON, the replica's OOM line last).
          state: {
            terminated: { exitCode: 3, reason: 'Error', message: replicaLogTail(onShared.metadata.name!) },
          },
        },
      ],
    });
    // 9830 MiB × 1.25 = 12288 MiB: two no longer fit a 24564 MiB GPU with the reserve, so one per GPU.
    await until('one per GPU', () => {
      const gpus = pods().map(gpuOf).sort();
      return (
        JSON.stringify(gpus) === JSON.stringify(['gpu-a/0', 'gpu-a/1', 'gpu-b/0']) ||
        (api.runPods(NS, REPLICA_SELECTOR), undefined)
      );
    });
    const cm = await until('profiles saved', () => api.get('configmaps', NS, 'gpumux-profiles'));
    const saved = JSON.parse((cm.data as Record<string, string>)['profiles.json']!) as {
      profiles: { model: string; oomEvents: number; oomFloorBytes: number }[];
    };
    expect(saved.profiles).toEqual([
      expect.objectContaining({
        model: 'codetr',
        oomEvents: 1,
        oomFloorBytes: Math.ceil(9830 * 1024 ** 2 * 1.25),
      }),
    ]);
    expect(stack.scheduler.plan()?.memoryUtilization).toBeLessThan(0.55);
  });

  it('of two scheduler instances only the lease holder acts; the other takes over when it stops', async () => {
    const le = {
      enabled: true,
      leaseName: 'gpumux-scheduler',
      leaseDuration: '3s',
      renewDeadline: '2s',
      retryPeriod: '100ms',
    };
    const a = await start(config({ leaderElection: le }), 'scheduler-a');
    const b = await start(config({ leaderElection: le }), 'scheduler-b');
    await until('a leader', () => a.isLeader() !== b.isLeader());
    for (let i = 0; i < 5; i++) {
      api.runPods(NS, REPLICA_SELECTOR);
      await new Promise((r) => setTimeout(r, 200));
    }
    await until('three pods', () => pods().length === 3);
    await new Promise((r) => setTimeout(r, 500));
    // Never more than the plan: nobody but the leader created pods.
    expect(pods()).toHaveLength(3);
    expect(
      api.requests.filter((r) => r.method === 'POST' && r.resource === 'pods' && r.status === 201),
    ).toHaveLength(3);
    expect([a, b].filter((s) => s.isLeader())).toHaveLength(1);
    const lease = api.get('leases', NS, 'gpumux-scheduler')!;
    const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
    expect((lease.spec as { holderIdentity: string }).holderIdentity).toBe(
      leader === a ? 'scheduler-a' : 'scheduler-b',
    );

    await leader.stop();
    stacks.splice(stacks.indexOf(leader), 1);
    await until('follower leads', () => follower.isLeader());
    const victim = pods()[0]!.metadata.name!;
    api.remove('pods', NS, victim);
    await until(
      'replaced by the new leader',
      () => pods().length === 3 && !pods().some((p) => p.metadata.name === victim),
    );
  });

  it('measured footprints (GPU used-memory delta in /v1/stats) replace the declared one and persist', async () => {
    // A replica stand-in for every pod (all pods get IP 127.0.0.1): reports a warmed-up 6000 MiB footprint.
    const measured = 6000 * 1024 ** 2;
    const stats = readyStats({
      memoryUsedBytes: measured,
      footprint: { bytes: measured, method: 'gpu-used-delta', peakBytes: measured },
      inFlight: 0,
      busyRatio: 0,
    });
    const server: Server = createServer((req, res) => {
      res.writeHead(req.url === '/v1/stats' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(stats));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const cfg = config({
        orchestrator: { kind: 'kubernetes', namespace: NS, replicaPort: port },
        footprintMargin: 0.05,
      });
      const stack = await start(cfg);
      await until('two pods', () => pods().length === 2);
      api.runPods(NS, REPLICA_SELECTOR);
      await until('three pods', () => pods().length === 3);
      api.runPods(NS, REPLICA_SELECTOR);
      const cm = await until('profiles saved', () => api.get('configmaps', NS, 'gpumux-profiles'));
      const saved = JSON.parse((cm.data as Record<string, string>)['profiles.json']!) as {
        profiles: { model: string; product: string; maxObservedBytes: number }[];
      };
      expect(saved.profiles).toEqual([
        expect.objectContaining({
          model: 'codetr',
          product: 'NVIDIA-GeForce-RTX-4090',
          maxObservedBytes: measured,
        }),
      ]);
      // Running replicas stay where they are; what is counted for them is now 6000 MiB × 1.05.
      await until('plan with the measured footprint', () => {
        const u = stack.scheduler.plan()?.memoryUtilization;
        return (
          u !== undefined && Math.abs(u - (3 * Math.ceil(measured * 1.05)) / (3 * 24564 * 1024 ** 2)) < 1e-9
        );
      });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('demand: scales up while replicas report more in-flight than the target, then drains and scales down', async () => {
    // Every pod's replica is this stand-in (pods get IP 127.0.0.1): its in-flight is what the test sets.
    let inFlight = 5;
    const drained: string[] = [];
    const server: Server = createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/v1/drain') {
        drained.push(req.url);
        res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      const stats = readyStats({
        memoryUsedBytes: 0,
        footprint: { bytes: 0, method: 'declared', peakBytes: 0 },
        inFlight,
        busyRatio: 1,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const cfg = config({
        policy: 'spread',
        models: [
          {
            name: 'codetr',
            manifest: path.join(REPO_ROOT, 'models/codetr'),
            minReplicas: 1,
            maxReplicas: 3,
            maxBatch: 1,
            targetInFlightPerReplica: 2,
          },
        ],
        orchestrator: { kind: 'kubernetes', namespace: NS, replicaPort: port, drainTimeout: '2s' },
        demand: { interval: '100ms', scaleUpCooldown: '0s', scaleDownCooldown: '300ms' },
      });
      await start(cfg);
      await until('scaled up to max', () => (api.runPods(NS, REPLICA_SELECTOR), pods().length === 3));
      await new Promise((r) => setTimeout(r, 500));
      expect(pods()).toHaveLength(3); // never above max
      inFlight = 0;
      await until('scaled down to min', () => pods().length === 1);
      expect(drained.length).toBeGreaterThanOrEqual(2); // each removal drained first
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
