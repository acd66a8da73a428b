import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { loadKubeClient } from '../../common/kube-client.js';
import { createLogger } from '../../common/log.js';
import { SchedulerConfig, type SchedulerConfigInput } from '../../scheduler/config/schema.js';
import { createKubernetesStack, type KubernetesStack } from '../../scheduler/kubernetes-stack.js';
import { LABELS, REPLICA_SELECTOR } from '../../scheduler/orchestrators/kubernetes/pod-template.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-api-server.js';
import type { KubeObject } from '../helpers/kube-object.js';
import { REPO_ROOT } from '../helpers/replica-process.js';
import { until } from '../helpers/until.js';
import { rtx4090, statsFor } from '../gateway/fixtures.js';
import path from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReplicaStats } from '../../replica/contract.js';
import { codetrDeclaredBytes } from '../helpers/codetr-footprint.js';
import { memoryBudgetFor } from '../../scheduler/memory-terms.js';

/** Co-DETR's declared batch-1 footprint (models/codetr/manifest.json): what these tests pack, two per GPU. */
const CODETR_B1 = codetrDeclaredBytes(1);

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
    // maxBatch 1: these tests pack Co-DETR's batch-1 figure (CODETR_B1, two per GPU); left to the scheduler,
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
  return statsFor({
    model: 'codetr',
    device: rtx4090('GPU-1', memoryUsedBytes),
    maxBatch: 2,
    ...rest,
  });
}

/** Two RTX 4090s on gpu-a, one on gpu-b, and a node without GPUs. */
function addNodes(api: KubeApiServer): void {
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
}

/** Reconcile passes the scheduler has completed (its pass-duration histogram's count). */
async function passes(stack: KubernetesStack): Promise<number> {
  const { values } = await stack.scheduler.metrics.reconcileSeconds.get();
  return values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
}

/** Resolves once the scheduler has completed `n` more reconcile passes than now. */
async function morePasses(stack: KubernetesStack, n: number, timeoutMs = 15_000): Promise<void> {
  const target = (await passes(stack)) + n;
  const deadline = Date.now() + timeoutMs;
  while ((await passes(stack)) < target) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} reconcile passes`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const gpuOf = (p: KubeObject): string => `${p.spec?.nodeName}/${p.metadata.labels?.[LABELS.gpu]}`;

describe('scheduler on Kubernetes', () => {
  let api: KubeApiServer;
  const stacks: KubernetesStack[] = [];
  const logger = createLogger({ test: 'kubernetes' }, process.env.DEBUG_K8S ? undefined : () => undefined);

  beforeEach(async () => {
    api = await startKubeApiServer();
    addNodes(api);
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
    const stack = await start(config());
    // Binpack: two on gpu-a/0, one on gpu-a/1; the second on gpu-a/0 waits for the first to be ready.
    await until('first pods', () => pods().length === 2);
    await morePasses(stack, 3); // three passes that each could have created it
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
    expect(pod.metadata.annotations?.['gpumux.io/footprint-bytes']).toBe(String(CODETR_B1));
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
      '--memory-budget',
      String(memoryBudgetFor(CODETR_B1)),
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

  it('a pod deleted with a grace period is replaced while it terminates, its GPU memory still counted', async () => {
    await api.close();
    api = await startKubeApiServer({ terminationMs: 'manual' });
    addNodes(api);
    const stack = await start(config());
    await until('three pods', () => (api.runPods(NS, REPLICA_SELECTOR), pods().length === 3));
    api.runPods(NS, REPLICA_SELECTOR);
    // Binpack: two on gpu-a/0, one on gpu-a/1. Someone else (kubectl delete) deletes one on gpu-a/0.
    const victim = pods().find((p) => gpuOf(p) === 'gpu-a/0')!.metadata.name!;
    const { CoreV1Api } = await loadKubeClient();
    await api.kubeConfig(NS).makeApiClient(CoreV1Api).deleteNamespacedPod({ namespace: NS, name: victim });
    // Terminating is not serving: a replacement comes at once. Its GPU still holds the victim's memory (a third
    // replica of CODETR_B1 does not fit there), so the replacement goes to gpu-a/1.
    await until('a replacement', () => pods().length === 4);
    expect(
      pods()
        .filter((p) => p.metadata.deletionTimestamp)
        .map((p) => p.metadata.name),
    ).toEqual([victim]);
    expect(
      pods()
        .filter((p) => !p.metadata.deletionTimestamp)
        .map(gpuOf)
        .sort(),
    ).toEqual(['gpu-a/0', 'gpu-a/1', 'gpu-a/1']);
    api.runPods(NS, REPLICA_SELECTOR);
    await morePasses(stack, 3);
    // Neither counted nor deleted again while it terminates: the one DELETE is kubectl's.
    expect(pods()).toHaveLength(4);
    expect(api.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
    expect(api.finishTermination(NS, victim)).toBe(true);
    await until('the victim gone', () => stack.orchestrator.replicas().length === 3);
    await morePasses(stack, 3);
    expect(pods().map(gpuOf).sort()).toEqual(['gpu-a/0', 'gpu-a/1', 'gpu-a/1']);
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
    // CODETR_B1 (10834 MiB) × 1.25 = 13543 MiB: two no longer fit a 24564 MiB GPU, so one per GPU.
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
        oomFloorBytes: Math.ceil(CODETR_B1 * 1.25),
      }),
    ]);
    // Once the failed pod is gone: three replicas counted at CODETR_B1 × 1.25 on three 24564 MiB GPUs.
    const raised = Math.ceil(CODETR_B1 * 1.25) / (24564 * 1024 ** 2);
    await until('the plan at the raised footprint', () => {
      const u = stack.scheduler.plan()?.memoryUtilization;
      return u !== undefined && Math.abs(u - raised) < 1e-12;
    });
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
    await until('a leads', () => a.isLeader());
    // b wants a fourth replica: if it acted while following, a fourth pod would show.
    const four = {
      name: 'codetr',
      manifest: path.join(REPO_ROOT, 'models/codetr'),
      minReplicas: 4,
      maxReplicas: 4,
    };
    const b = await start(config({ leaderElection: le, models: [four] }), 'scheduler-b');
    await until('three pods', () => (api.runPods(NS, REPLICA_SELECTOR), pods().length === 3));
    api.runPods(NS, REPLICA_SELECTOR);
    // Three more passes of each with every pod running: b plans its fourth replica and creates nothing.
    await Promise.all([morePasses(a, 3), morePasses(b, 3)]);
    expect(b.isLeader()).toBe(false);
    expect(b.scheduler.plan()!.actions).toEqual([
      expect.objectContaining({
        type: 'create',
        model: 'codetr',
        reason: expect.stringMatching(/^4 wanted/),
      }),
    ]);
    expect(pods()).toHaveLength(3);
    const created = () =>
      api.requests.filter((r) => r.method === 'POST' && r.resource === 'pods' && r.status === 201);
    expect(created()).toHaveLength(3);
    expect(
      (api.get('leases', NS, 'gpumux-scheduler')!.spec as { holderIdentity: string }).holderIdentity,
    ).toBe('scheduler-a');

    await a.stop();
    stacks.splice(stacks.indexOf(a), 1);
    await until('b leads', () => b.isLeader());
    // b's plan now acts: its fourth replica, then a replacement for a pod deleted by someone else.
    await until('four pods', () => (api.runPods(NS, REPLICA_SELECTOR), pods().length === 4));
    expect(created()).toHaveLength(4);
    const victim = pods()[0]!.metadata.name!;
    api.remove('pods', NS, victim);
    await until(
      'replaced by the new leader',
      () => pods().length === 4 && !pods().some((p) => p.metadata.name === victim),
    );
    expect(created()).toHaveLength(5);
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

  it('demand: scales up to max and no further, then drains each surplus pod and deletes it once its own in-flight is 0', async () => {
    // A replica stand-in per pod, each on its own loopback address and the one replicaPort: which pod a stats
    // poll or a drain is for is the address it arrived on. In-flight is what the test sets per pod.
    const ips = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
    const inFlight = new Map(ips.map((ip) => [ip, 5]));
    const draining = new Set<string>();
    /** Per address, what each request saw: drains and stats polls, in arrival order. */
    const log: { ip: string; what: 'drain' | 'stats'; inFlight: number }[] = [];
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      const ip = req.socket.localAddress!.replace(/^::ffff:/, '');
      if (req.method === 'POST' && req.url === '/v1/drain') {
        draining.add(ip);
        // Work the gateway sent before it saw the drain: the first pod drained still has 2 in flight.
        if (draining.size === 1) inFlight.set(ip, 2);
        log.push({ ip, what: 'drain', inFlight: inFlight.get(ip)! });
        res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      log.push({ ip, what: 'stats', inFlight: inFlight.get(ip)! });
      const stats = readyStats({
        memoryUsedBytes: 0,
        footprint: { bytes: 0, method: 'declared', peakBytes: 0 },
        inFlight: inFlight.get(ip)!,
        busyRatio: 1,
      });
      if (draining.has(ip)) Object.assign(stats, { state: 'draining', ready: false });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    };
    const servers: Server[] = [];
    const listen = (ip: string, port: number): Promise<number> => {
      const server = createServer(handler);
      servers.push(server);
      return new Promise((r) => server.listen(port, ip, () => r((server.address() as AddressInfo).port)));
    };
    const port = await listen(ips[0]!, 0);
    for (const ip of ips.slice(1)) await listen(ip, port);
    // Pods are deleted with a grace period: Terminating until the test says their containers are gone. The
    // watch tells the scheduler they are Terminating before its DELETE is answered (either order happens).
    await api.close();
    api = await startKubeApiServer({ terminationMs: 'manual', deleteAnswerDelayMs: 100 });
    addNodes(api);
    try {
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
        orchestrator: { kind: 'kubernetes', namespace: NS, replicaPort: port, drainTimeout: '30s' },
        demand: { interval: '100ms', scaleUpCooldown: '0s', scaleDownCooldown: '300ms' },
      });
      const stack = await start(cfg);
      const ipOf = new Map<string, string>(); // pod name → its address, handed out as pods start
      const runNew = (): void => {
        for (const p of pods().filter((p) => p.status?.phase !== 'Running')) {
          const ip = ips[ipOf.size]!;
          ipOf.set(p.metadata.name!, ip);
          api.setPodStatus(NS, p.metadata.name!, {
            phase: 'Running',
            podIP: ip,
            conditions: [{ type: 'Ready', status: 'True' }],
          });
        }
      };
      await until('scaled up to max', () => (runNew(), pods().length === 3));
      runNew();
      // In-flight 15 asks for 8 replicas; max is 3. Five more passes, each with a demand step: still 3.
      await morePasses(stack, 5);
      const created = api.requests.filter((r) => r.method === 'POST' && r.resource === 'pods');
      expect(created.map((r) => r.status)).toEqual([201, 201, 201]);
      expect(pods()).toHaveLength(3);

      for (const ip of ips) inFlight.set(ip, 0);
      const deletes = () => api.requests.filter((r) => r.method === 'DELETE' && r.resource === 'pods');
      const podAt = (ip: string): string => [...ipOf].find(([, i]) => i === ip)![0];
      await until('two drains', () => draining.size === 2);
      const [held, empty] = log.filter((e) => e.what === 'drain').map((e) => e.ip);
      expect(log.filter((e) => e.what === 'drain')).toEqual([
        { ip: held, what: 'drain', inFlight: 2 },
        { ip: empty, what: 'drain', inFlight: 0 },
      ]);
      // The pod drained with nothing in flight is deleted; the one with 2 is polled and waited for.
      await until('the empty pod deleted', () => deletes().length === 1);
      expect(deletes().map((r) => r.name)).toEqual([podAt(empty!)]);
      await until('three polls of the held pod while it drains', () => {
        const polls = log.filter((e) => e.ip === held && e.what === 'stats');
        return polls.slice(polls.findIndex((e) => e.inFlight === 2)).length >= 3;
      });
      expect(deletes().map((r) => r.name)).toEqual([podAt(empty!)]);
      const released = api.requests.length;
      inFlight.set(held!, 0);
      await until('the held pod deleted', () => deletes().length === 2);
      const heldDelete = api.requests.findIndex((r) => r.method === 'DELETE' && r.name === podAt(held!));
      expect(heldDelete).toBeGreaterThanOrEqual(released);
      expect(deletes().map((r) => r.name)).toEqual([podAt(empty!), podAt(held!)]);
      const kept = podAt(ips.find((ip) => ip !== held && ip !== empty)!);

      // Terminating: still listed, still holding their GPUs' memory; not deleted again, not replaced.
      await morePasses(stack, 3);
      const terminating = [podAt(empty!), podAt(held!)].sort();
      expect(
        pods()
          .filter((p) => p.metadata.deletionTimestamp)
          .map((p) => p.metadata.name)
          .sort(),
      ).toEqual(terminating);
      expect(
        stack.orchestrator
          .replicas()
          .filter((r) => r.phase === 'draining')
          .map((r) => r.id)
          .sort(),
      ).toEqual(terminating);
      const footprint = CODETR_B1;
      const total = 3 * 24564 * 1024 ** 2;
      expect(stack.scheduler.plan()!.memoryUtilization).toBeCloseTo((3 * footprint) / total, 9);
      expect(deletes()).toHaveLength(2);
      expect(api.requests.filter((r) => r.method === 'POST' && r.resource === 'pods')).toHaveLength(3);

      for (const name of terminating) expect(api.finishTermination(NS, name)).toBe(true);
      await until('only the kept pod counted', () => stack.orchestrator.replicas().length === 1);
      expect(pods().map((p) => p.metadata.name)).toEqual([kept]);
      await until('the plan without them', () => {
        const u = stack.scheduler.plan()!.memoryUtilization;
        return Math.abs(u - footprint / total) < 1e-9;
      });
    } finally {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    }
  });
});
