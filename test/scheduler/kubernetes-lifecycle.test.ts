import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { createLogger } from '../../common/log.js';
import { SchedulerConfig, type SchedulerConfigInput } from '../../scheduler/config/schema.js';
import { createKubernetesStack, type KubernetesStack } from '../../scheduler/kubernetes-stack.js';
import {
  ANNOTATIONS,
  LABELS,
  REPLICA_SELECTOR,
} from '../../scheduler/orchestrators/kubernetes/pod-template.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-api-server.js';
import type { KubeObject } from '../helpers/kube-object.js';
import { standInKubelet, type StandInKubelet } from '../helpers/kubelet.js';
import { REPO_ROOT } from '../helpers/replica-process.js';
import { afterPasses, passesEnded } from '../helpers/scheduler-passes.js';
import { until } from '../helpers/until.js';
import { codetrDeclaredBytes } from '../helpers/codetr-footprint.js';

// Day two on Kubernetes (issue #20): rollouts, failure kinds, pods that never start, node maintenance — the
// scheduler against the Kubernetes-API stand-in through the real @kubernetes/client-node, with the stand-in's
// kubelet (test/helpers/kubelet.ts) reporting pod and node states as a real kubelet does.

const NS = 'gpumux';
const CODETR_B1 = codetrDeclaredBytes(1);

function template(image = 'gpumux:1'): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { labels: { 'app.kubernetes.io/name': 'gpumux' } },
    spec: {
      runtimeClassName: 'nvidia',
      containers: [{ name: 'replica', image, resources: { limits: { memory: '16Gi' } } }],
    },
  };
}

function config(over: Partial<SchedulerConfigInput> = {}, replicas = 3): SchedulerConfig {
  return SchedulerConfig.parse({
    // batch 1: two Co-DETR per 24 GiB GPU (CODETR_B1 each)
    models: [
      {
        name: 'codetr',
        manifest: path.join(REPO_ROOT, 'models/codetr'),
        minReplicas: replicas,
        maxReplicas: replicas,
        maxBatch: 1,
      },
    ],
    // Port 1 refuses connections at once: these pods have no replica behind them.
    orchestrator: { kind: 'kubernetes', namespace: NS, replicaPort: 1, drainTimeout: '1s' },
    demand: { interval: '150ms' },
    leaderElection: { enabled: false },
    policy: 'binpack',
    ...over,
  } satisfies SchedulerConfigInput);
}

const RTX4090 = {
  'nvidia.com/gpu.memory': '24564',
  'nvidia.com/gpu.product': 'NVIDIA-GeForce-RTX-4090',
};

/** Polls an async check every 50 ms until it holds (until() takes synchronous checks). */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once the scheduler has completed `n` more reconcile passes than now. */
const morePasses = (stack: KubernetesStack, n: number): Promise<void> =>
  afterPasses(() => passesEnded(stack.scheduler.metrics), n, 15_000);

/** A pod as the stand-in created it: Pending, nothing reported by a kubelet yet. */
const untouched = (p: KubeObject): boolean =>
  p.status?.phase === 'Pending' &&
  !p.status.containerStatuses &&
  !((p.status.conditions ?? []) as { reason?: string }[]).some((c) => c.reason);

const gpuOf = (p: KubeObject): string => `${p.spec?.nodeName}/${p.metadata.labels?.[LABELS.gpu]}`;
const imageOf = (p: KubeObject): string =>
  ((p.spec?.containers ?? []) as { image: string }[]).find((c) => c)!.image;
const ready = (p: KubeObject): boolean =>
  !p.metadata.deletionTimestamp &&
  ((p.status?.conditions ?? []) as { type: string; status: string }[]).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

describe('scheduler on Kubernetes, day two', () => {
  let api: KubeApiServer;
  let kubelet: StandInKubelet;
  const stacks: KubernetesStack[] = [];
  const logger = createLogger({ test: 'k8s-day-two' }, process.env.DEBUG_K8S ? undefined : () => undefined);

  beforeEach(async () => {
    api = await startKubeApiServer();
    kubelet = standInKubelet(api, NS);
    api.addNode('gpu-a', { 'nvidia.com/gpu.count': '2', ...RTX4090 });
    api.addNode('gpu-b', { 'nvidia.com/gpu.count': '1', ...RTX4090 });
  });
  afterEach(async () => {
    for (const s of stacks.splice(0)) await s.stop();
    await api.close();
  });

  async function start(cfg: SchedulerConfig, pod = template()): Promise<KubernetesStack> {
    const stack = await createKubernetesStack({
      config: cfg,
      kubeConfig: api.kubeConfig(NS),
      template: pod,
      identity: 'scheduler-a',
      logger,
    });
    stacks.push(stack);
    await stack.start();
    return stack;
  }
  async function stop(stack: KubernetesStack): Promise<void> {
    stacks.splice(stacks.indexOf(stack), 1);
    await stack.stop();
  }
  const pods = (): KubeObject[] => api.list('pods', NS, REPLICA_SELECTOR);
  const live = (): KubeObject[] => pods().filter((p) => !p.metadata.deletionTimestamp);
  /** Every pending pod becomes Running and Ready (the kubelet started it and the startup probe passed). */
  const runAll = (): void => {
    for (const p of live())
      if (!ready(p) && p.status?.phase === 'Pending') kubelet.running(p, { ready: true });
  };
  /** Runs new pods until `done`, checking after every step that at least `floor` replicas serve. */
  async function rollUntil(what: string, done: () => boolean, floor: number): Promise<number> {
    let lowest = Infinity;
    await until(
      what,
      () => {
        runAll();
        lowest = Math.min(lowest, live().filter(ready).length);
        expect(live().filter(ready).length).toBeGreaterThanOrEqual(floor);
        return done();
      },
      60_000,
    );
    return lowest;
  }

  it('helm upgrade with a new image: every replica rolled, one GPU at a time, copy first, none lost', async () => {
    const first = await start(config());
    await rollUntil('three ready', () => live().filter(ready).length === 3, 0);
    expect(live().map(gpuOf).sort()).toEqual(['gpu-a/0', 'gpu-a/0', 'gpu-a/1']);
    const oldHash = live()[0]!.metadata.annotations?.[ANNOTATIONS.specHash];
    // helm upgrade: the scheduler restarts (checksum annotation) with the new template.
    await stop(first);
    const second = await start(config(), template('gpumux:2'));
    await until('rolling shown', () => second.scheduler.plan()?.rollouts?.[0]);
    expect(second.scheduler.plan()!.rollouts![0]).toMatchObject({
      model: 'codetr',
      reason: 'spec changed',
      total: 3,
    });
    // Never fewer than three serving: each copy is ready before its original is drained.
    await rollUntil(
      'all on gpumux:2',
      () => live().length === 3 && live().every((p) => imageOf(p) === 'gpumux:2' && ready(p)),
      3,
    );
    const hashes = new Set(live().map((p) => p.metadata.annotations?.[ANNOTATIONS.specHash]));
    expect(hashes.size).toBe(1);
    expect(oldHash).toMatch(/^[0-9a-f]{16}$/);
    expect(hashes.has(oldHash)).toBe(false);
    await until('rollout done', () => second.scheduler.plan()?.rollouts?.length === 0);
  });

  it('no room for a copy: drained first, at most rollout.maxUnavailable of the model at a time', async () => {
    // six on three GPUs fills every one: no copy fits anywhere
    const first = await start(config({}, 6));
    await rollUntil('six ready', () => live().filter(ready).length === 6, 0);
    await stop(first);
    const second = await start(config({ rollout: { maxUnavailable: 1 } }, 6), template('gpumux:2'));
    const lowest = await rollUntil(
      'all on gpumux:2',
      () => live().length === 6 && live().every((p) => imageOf(p) === 'gpumux:2' && ready(p)),
      5,
    );
    expect(lowest).toBe(5);
    expect(second.scheduler.plan()!.rollouts).toEqual([]);
  });

  it('OOMKilled (exit 137) is host memory: counted against replica.resources.limits.memory, footprint unchanged', async () => {
    const stack = await start(config());
    await rollUntil('three ready', () => live().filter(ready).length === 3, 0);
    const victim = live().find((p) => gpuOf(p) === 'gpu-a/0')!;
    kubelet.oomKilled(victim);
    await until(
      'replaced',
      () => live().length === 3 && !pods().some((p) => p.metadata.name === victim.metadata.name),
    );
    runAll();
    const metrics = await stack.scheduler.metrics.registry.metrics();
    expect(metrics).toContain(
      'gpumux_scheduler_replica_host_oom_kills_total{model="codetr",setting="replica.resources.limits.memory"} 1',
    );
    expect(metrics).toContain('gpumux_scheduler_replica_failures_total{model="codetr",kind="host-oom"} 1');
    // still two per GPU: the footprint was not raised (a CUDA OOM would have made it one per GPU)
    await until('three ready again', () => (runAll(), live().filter(ready).length === 3));
    expect(live().map(gpuOf).sort()).toEqual(['gpu-a/0', 'gpu-a/0', 'gpu-a/1']);
    expect(stack.scheduler.plan()!.memoryUtilization).toBeCloseTo(
      (3 * CODETR_B1) / (3 * 24564 * 1024 ** 2),
      9,
    );
    const cm = api.get('configmaps', NS, 'gpumux-profiles');
    expect(cm?.data ? JSON.stringify(cm.data) : '').not.toContain('oomFloorBytes');
  });

  it('a restarted container (restartPolicy Always) that was OOMKilled is reported once, as host memory', async () => {
    const stack = await start(config({}, 1));
    await rollUntil('one ready', () => live().filter(ready).length === 1, 0);
    kubelet.oomKilled(live()[0]!, 'Always');
    await eventually('counted', async () =>
      (await stack.scheduler.metrics.registry.metrics()).includes(
        'gpumux_scheduler_replica_host_oom_kills_total{model="codetr",setting="replica.resources.limits.memory"} 1',
      ),
    );
  });

  it('ImagePullBackOff past its bounded wait: deleted, the node avoided, the model placed on another node', async () => {
    const cfg = config(
      {
        policy: 'spread',
        orchestrator: {
          kind: 'kubernetes',
          namespace: NS,
          replicaPort: 1,
          startup: { stuck: '600ms', backoff: '200ms' },
        },
      },
      1,
    );
    const stack = await start(cfg);
    const firstPod = await until('a pod', () => live()[0]);
    expect(gpuOf(firstPod)).toBe('gpu-a/0');
    kubelet.waiting(firstPod, 'ImagePullBackOff', 'Back-off pulling image "gpumux:1"');
    await until('starting shown', () =>
      stack.scheduler.plan()?.starting?.find((s) => s.reason === 'ImagePullBackOff'),
    );
    expect(stack.scheduler.plan()!.starting![0]).toMatchObject({ stage: 'pull', node: 'gpu-a' });
    const next = await until('a pod on gpu-b', () => live().find((p) => p.spec?.nodeName === 'gpu-b'));
    expect(
      pods().some((p) => p.metadata.name === firstPod.metadata.name && !p.metadata.deletionTimestamp),
    ).toBe(false);
    const failure = stack.scheduler.plan()!.startFailures!.find((f) => f.node === 'gpu-a')!;
    expect(failure.reason).toContain('ImagePullBackOff');
    expect(failure.nodeAvoidedUntil).not.toBeNull();
    kubelet.running(next, { ready: true });
    await until('one ready on gpu-b', () => live().length === 1 && ready(live()[0]!));
  });

  it('Unschedulable, CreateContainerConfigError, a failing model fetch: each recognised, deleted, retried', async () => {
    const cfg = config(
      {
        policy: 'spread',
        orchestrator: {
          kind: 'kubernetes',
          namespace: NS,
          replicaPort: 1,
          startup: { stuck: '400ms', backoff: '100ms' },
        },
      },
      1,
    );
    const stack = await start(cfg);
    const reasons: string[] = [];
    const steps: [string, (p: KubeObject) => void][] = [
      ['Unschedulable', (p) => kubelet.unschedulable(p)],
      [
        'CreateContainerConfigError',
        (p) => kubelet.waiting(p, 'CreateContainerConfigError', 'secret "hf-token" not found'),
      ],
      ['init container fetch-model exited with 1', (p) => kubelet.fetchFailed(p, 1)],
    ];
    for (const [reason, act] of steps) {
      const pod = await until(`a pod for ${reason}`, () => live().find(untouched), 20_000);
      act(pod);
      await until(`${reason} deleted`, () => !live().some((p) => p.metadata.name === pod.metadata.name));
      const f = await until(`${reason} shown`, () =>
        stack.scheduler.plan()?.startFailures?.find((x) => x.reason.includes(reason)),
      );
      reasons.push(f.reason);
    }
    expect(reasons).toHaveLength(3);
  });

  it('the ready timeout counts from the container start, not the pod creation (a slow pull is not cut short)', async () => {
    const stack = await start(
      config({ orchestrator: { kind: 'kubernetes', namespace: NS, replicaPort: 1, readyTimeout: '10m' } }, 2),
    );
    const pod = await until('first pod', () => live()[0]);
    // created 20 minutes ago (the image took 19 to pull); the container started now and is warming up
    api.put('pods', {
      ...api.get('pods', NS, pod.metadata.name!)!,
      metadata: { ...pod.metadata, creationTimestamp: new Date(Date.now() - 20 * 60_000).toISOString() },
    });
    kubelet.running(pod, { ready: false });
    await morePasses(stack, 4);
    // binpack puts both on gpu-a/0: the second waits for the first to be ready
    expect(live()).toHaveLength(1);
    kubelet.running(pod, { ready: true });
    await until('second pod', () => live().length === 2);
  });

  it('cordon: the replica there keeps serving until its replacement elsewhere is ready', async () => {
    api.addNode('gpu-c', { 'nvidia.com/gpu.count': '1', ...RTX4090 });
    await start(config({ policy: 'spread' }));
    await rollUntil('three ready', () => live().filter(ready).length === 3, 0);
    const onB = live().find((p) => p.spec?.nodeName === 'gpu-b');
    const cordoned = onB ? 'gpu-b' : 'gpu-a';
    const there = live().filter((p) => p.spec?.nodeName === cordoned);
    kubelet.cordon(cordoned);
    const copies = await until('a copy elsewhere', () =>
      live().filter((p) => p.spec?.nodeName !== cordoned && !ready(p)).length >= 1 ? live() : undefined,
    );
    // the copy is not ready yet: every cordoned replica still serves
    for (const p of there)
      expect(copies.some((c) => c.metadata.name === p.metadata.name && ready(c))).toBe(true);
    await rollUntil(
      'moved off the cordoned node',
      () => live().length === 3 && live().every((p) => p.spec?.nodeName !== cordoned && ready(p)),
      3,
    );
  });

  it('NotReady: replicas kept through the grace period, replaced after it; a deleted node at once', async () => {
    api.addNode('gpu-c', { 'nvidia.com/gpu.count': '1', ...RTX4090 });
    const stack = await start(config({ policy: 'spread', gpus: { notReadyGrace: '5s' } }));
    await rollUntil('three ready', () => live().filter(ready).length === 3, 0);
    const onB = live().find((p) => p.spec?.nodeName === 'gpu-b')!;
    kubelet.notReady('gpu-b');
    await morePasses(stack, 3);
    expect(live().some((p) => p.metadata.name === onB.metadata.name)).toBe(true);
    expect(api.requests.filter((r) => r.method === 'DELETE')).toHaveLength(0);
    await until(
      'replaced after the grace',
      () => !live().some((p) => p.metadata.name === onB.metadata.name),
      15_000,
    );
    await rollUntil(
      'three ready again',
      () => live().filter(ready).length === 3 && live().every((p) => p.spec?.nodeName !== 'gpu-b'),
      0,
    );
    const onC = live().find((p) => p.spec?.nodeName === 'gpu-c');
    if (onC) {
      api.removeNode('gpu-c');
      await until('gone at once', () => !live().some((p) => p.metadata.name === onC.metadata.name), 5_000);
    }
  });
});
