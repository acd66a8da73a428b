import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { ReplicaStats } from '../../replica/contract.js';
import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/log.js';
import { REPLICA_EXIT_CODES } from '../../replica/exit-codes.js';
import { SchedulerConfig, type SchedulerConfigInput } from '../../scheduler/config/schema.js';
import { GPU_UUIDS_ANNOTATION } from '../../scheduler/inventory/gpu-uuids.js';
import { createKubernetesStack, type KubernetesStack } from '../../scheduler/kubernetes-stack.js';
import { LABELS, REPLICA_SELECTOR } from '../../scheduler/orchestrators/kubernetes/pod-template.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-api-server.js';
import type { KubeObject } from '../helpers/kube-object.js';
import { REPO_ROOT } from '../helpers/replica-process.js';
import { afterPasses, passesEnded } from '../helpers/scheduler-passes.js';
import { until } from '../helpers/until.js';
import { rtx4090, statsFor } from '../gateway/fixtures.js';
import { createKubernetesOrchestrator } from '../../scheduler/orchestrators/kubernetes/orchestrator.js';
import {
  createGpuClaims,
  gpuClaim,
  type GpuClaims,
} from '../../scheduler/orchestrators/kubernetes/resource-claims.js';
import type { ReplicaRequest } from '../../scheduler/orchestrators/types.js';

/**
 * GPU claims that do not rest on the NVIDIA runtime honouring NVIDIA_VISIBLE_DEVICES from unprivileged pods:
 * pinning by UUID, a node whose runtime ignores the pinning refused, and DRA mode's ResourceClaims — the
 * scheduler against the Kubernetes-API stand-in (its DRA part: test/helpers/kube-resource-claims.ts).
 */

const NS = 'gpumux';
const UUID = {
  a0: 'GPU-aaaaaaaa-0000-0000-0000-000000000000',
  a1: 'GPU-aaaaaaaa-1111-1111-1111-111111111111',
  b0: 'GPU-bbbbbbbb-0000-0000-0000-000000000000',
};
const template: V1Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { labels: {} },
  spec: {
    containers: [
      { name: 'replica', image: 'gpumux:test', env: [{ name: 'NVIDIA_VISIBLE_DEVICES', value: 'all' }] },
    ],
  },
};

function config(over: Partial<SchedulerConfigInput['orchestrator']> = {}, min = 2): SchedulerConfig {
  return SchedulerConfig.parse({
    models: [
      { name: 'shapes', manifest: path.join(REPO_ROOT, 'models/shapes'), minReplicas: min, maxReplicas: min },
    ],
    orchestrator: { kind: 'kubernetes', namespace: NS, replicaPort: 1, drainTimeout: '1s', ...over },
    demand: { interval: '150ms' },
    leaderElection: { enabled: false },
    policy: 'spread',
  } satisfies SchedulerConfigInput);
}

const gfd = (count: number) => ({
  'nvidia.com/gpu.count': String(count),
  'nvidia.com/gpu.memory': '24564',
  'nvidia.com/gpu.product': 'NVIDIA-GeForce-RTX-4090',
});
function addNode(api: KubeApiServer, name: string, count: number, uuids?: string[]): void {
  api.put('nodes', {
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, ...gfd(count) },
      ...(uuids ? { annotations: { [GPU_UUIDS_ANNOTATION]: uuids.join(',') } } : {}),
    },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  });
}

/** NVIDIA's DRA driver's ResourceSlice for a node: one device per GPU with its uuid (and pciBusID). */
function addSlice(api: KubeApiServer, node: string, uuids: string[]): void {
  api.put('resourceslices', {
    metadata: { name: `${node}-gpu.nvidia.com` },
    spec: {
      driver: 'gpu.nvidia.com',
      nodeName: node,
      pool: { name: node, generation: 1, resourceSliceCount: 1 },
      devices: uuids.map((uuid, i) => ({
        name: `gpu-${i}`,
        attributes: {
          type: { string: 'gpu' },
          uuid: { string: uuid },
          productName: { string: 'NVIDIA GeForce RTX 4090' },
          pciBusID: { string: `0000:0${i + 1}:00.0` },
        },
      })),
    },
  });
}

const shapesRequest: ReplicaRequest = {
  model: 'shapes',
  version: '1',
  node: 'gpu-a',
  gpuIndex: 0,
  footprintBytes: 2 ** 30,
  manifest: '/app/models/shapes',
  gpuMemoryBytes: 24564 * 2 ** 20,
};

/** A ready replica's /v1/stats on gpu-a (what the tests change: the device). */
function readyStats(): ReplicaStats {
  return statsFor({
    device: rtx4090(UUID.a0, 2 ** 30),
    footprint: { bytes: 2 ** 30, peakBytes: 2 ** 30, method: 'declared' },
    maxBatch: 2,
  });
}

const env = (pod: KubeObject): Record<string, string> =>
  Object.fromEntries(
    ((pod.spec as unknown as V1Pod['spec'])!.containers[0]!.env ?? []).map((e) => [e.name, e.value ?? '']),
  );

describe('GPU claims on Kubernetes', () => {
  let api: KubeApiServer;
  const stacks: KubernetesStack[] = [];
  const logger = createLogger({ test: 'gpu-claims' }, process.env.DEBUG_K8S ? undefined : () => undefined);
  beforeEach(async () => {
    api = await startKubeApiServer();
  });
  afterEach(async () => {
    for (const s of stacks.splice(0)) await s.stop();
    await api.close();
  });
  async function start(cfg: SchedulerConfig): Promise<KubernetesStack> {
    const stack = await createKubernetesStack({
      config: cfg,
      kubeConfig: api.kubeConfig(NS),
      template,
      logger,
    });
    stacks.push(stack);
    await stack.start();
    return stack;
  }
  const pods = (): KubeObject[] => api.list('pods', NS, REPLICA_SELECTOR);

  it('pinned: NVIDIA_VISIBLE_DEVICES names the GPU by UUID (node annotation), and the replica is told it', async () => {
    addNode(api, 'gpu-a', 2, [UUID.a0, UUID.a1]);
    await start(config());
    await until('two pods', () => pods().length === 2);
    const byGpu = Object.fromEntries(pods().map((p) => [p.metadata.labels![LABELS.gpu]!, env(p)]));
    expect(byGpu['0']).toMatchObject({
      NVIDIA_VISIBLE_DEVICES: UUID.a0,
      GPUMUX_GPU_UUID: UUID.a0,
      GPUMUX_GPU_INDEX: '0',
    });
    expect(byGpu['1']).toMatchObject({
      NVIDIA_VISIBLE_DEVICES: UUID.a1,
      GPUMUX_GPU_UUID: UUID.a1,
      GPUMUX_GPU_INDEX: '1',
    });
  });

  it('a replica that did not see its GPU (exit 5) takes its node out of placement, and says why', async () => {
    addNode(api, 'gpu-a', 1, [UUID.a0]);
    addNode(api, 'gpu-b', 1, [UUID.b0]);
    const stack = await start(config({}, 1));
    const first = await until('a pod', () => pods()[0]);
    const node = first.spec!.nodeName!;
    const message = `GPU assignment refused on node ${node}: the container sees no GPU (nvidia-smi: spawn nvidia-smi ENOENT) but was given ...`;
    api.setPodStatus(NS, first.metadata.name!, {
      phase: 'Failed',
      containerStatuses: [
        {
          name: 'replica',
          ready: false,
          restartCount: 0,
          image: 'gpumux',
          imageID: '',
          state: { terminated: { exitCode: REPLICA_EXIT_CODES.gpuAssignment, reason: 'Error', message } },
        },
      ],
    });
    const other = node === 'gpu-a' ? 'gpu-b' : 'gpu-a';
    await until('the replacement on the other node', () =>
      pods().some((p) => p.spec?.nodeName === other && !p.metadata.deletionTimestamp),
    );
    expect(stack.refusedNodes.list()).toEqual([
      { node, reason: expect.stringContaining('GPU assignment refused'), since: expect.any(String) },
    ]);
    await afterPasses(() => passesEnded(stack.scheduler.metrics)); // nothing new goes to the refused node
    expect(
      pods().filter((p) => p.spec?.nodeName === node && p.metadata.name !== first.metadata.name),
    ).toEqual([]);
  });

  it('dra: one ResourceClaim per GPU selecting its UUID, created before the first pod, shared by its replicas, allocated', async () => {
    addNode(api, 'gpu-a', 1);
    addSlice(api, 'gpu-a', [UUID.a0]);
    await start(config({ gpuMode: 'dra' }, 2));
    await until('first pod', () => pods().length >= 1);
    api.runPods(NS, REPLICA_SELECTOR);
    await until('second pod', () => pods().length === 2);
    const claims = api.list('resourceclaims', NS);
    expect(claims).toHaveLength(1);
    const claim = claims[0]!;
    const claimName = claim.metadata.name!;
    expect((claim.spec as { devices: { requests: unknown[] } }).devices.requests).toEqual([
      {
        name: 'gpu',
        exactly: {
          deviceClassName: 'gpu.nvidia.com',
          allocationMode: 'ExactCount',
          count: 1,
          selectors: [{ cel: { expression: `device.attributes["gpu.nvidia.com"].uuid == "${UUID.a0}"` } }],
        },
      },
    ]);
    // created before the first pod that uses it
    const posts = api.requests.filter((r) => r.method === 'POST').map((r) => r.resource);
    expect(posts.indexOf('resourceclaims')).toBeLessThan(posts.indexOf('pods'));
    // allocated by the (stand-in) kube-scheduler to the device with that uuid, reserved for both pods
    const status = claim.status as {
      allocation: { devices: { results: unknown[] } };
      reservedFor: { name: string }[];
    };
    expect(status.allocation.devices.results).toEqual([
      { request: 'gpu', driver: 'gpu.nvidia.com', pool: 'gpu-a', device: 'gpu-0' },
    ]);
    expect(status.reservedFor.map((r) => r.name).sort()).toEqual(
      pods()
        .map((p) => p.metadata.name)
        .sort(),
    );
    for (const pod of pods()) {
      const spec = pod.spec as unknown as NonNullable<V1Pod['spec']>;
      expect(spec.resourceClaims).toEqual([{ name: 'gpu', resourceClaimName: claimName }]);
      expect(spec.containers[0]!.resources?.claims).toEqual([{ name: 'gpu' }]);
      expect(spec.nodeName).toBe('gpu-a'); // bound by the scheduler with the claim, not by gpumux
      expect(env(pod).NVIDIA_VISIBLE_DEVICES).toBeUndefined();
      expect(env(pod).GPUMUX_GPU_UUID).toBe(UUID.a0);
    }
  });

  it('dra: the claim outlives all but the last of its pods; a claim left without pods is collected at start', async () => {
    addSlice(api, 'gpu-a', [UUID.a0, UUID.a1]);
    const leftover = gpuClaim({
      name: 'gpumux-gpu-leftover',
      namespace: NS,
      release: 'gpumux',
      node: 'gpu-a',
      gpuIndex: 1,
      uuid: UUID.a1,
    });
    api.put('resourceclaims', leftover as unknown as KubeObject);
    // the real claims, counting each collection once it is done: the proof that a deletion was looked at
    const claims = createGpuClaims({
      kubeConfig: api.kubeConfig(NS),
      namespace: NS,
      release: 'gpumux',
      logger,
    });
    let collections = 0;
    const countedClaims: GpuClaims = {
      ...claims,
      collect: (inUse) => claims.collect(inUse).finally(() => (collections += 1)),
    };
    const orchestrator = createKubernetesOrchestrator({
      kubeConfig: api.kubeConfig(NS),
      namespace: NS,
      template,
      release: 'gpumux',
      gpuMode: 'dra',
      replicaPort: 1,
      gpuUuidOf: (node, index) => (node === 'gpu-a' ? [UUID.a0, UUID.a1][index] : undefined),
      claims: countedClaims,
      logger,
    });
    await orchestrator.start();
    try {
      await until('leftover claim collected', () => !api.get('resourceclaims', NS, 'gpumux-gpu-leftover'));
      await until('the collection at start done', () => collections >= 1);
      const request = { ...shapesRequest, node: 'gpu-a', gpuIndex: 0 };
      const one = await orchestrator.create(request);
      const two = await orchestrator.create(request);
      const [claim] = api.list('resourceclaims', NS);
      expect(api.list('resourceclaims', NS)).toHaveLength(1);
      await orchestrator.remove(one.id);
      await until('first pod gone', () => !api.get('pods', NS, one.id));
      await until("the first pod's deletion looked at the claims", () => collections >= 2);
      expect(api.get('resourceclaims', NS, claim!.metadata.name!)).toBeDefined();
      const claimDeletes = (): number =>
        api.requests.filter((r) => r.method === 'DELETE' && r.name === claim!.metadata.name).length;
      expect(claimDeletes()).toBe(0); // not asked to go (a reserved claim would linger even if it were)
      await orchestrator.remove(two.id);
      await until('claim deleted after its last pod', () => api.list('resourceclaims', NS).length === 0);
    } finally {
      await orchestrator.stop();
    }
  });

  it('dra: a GPU with no UUID gets no pod (the claim could not select it)', async () => {
    const orchestrator = createKubernetesOrchestrator({
      kubeConfig: api.kubeConfig(NS),
      namespace: NS,
      template,
      release: 'gpumux',
      gpuMode: 'dra',
      replicaPort: 1,
      logger,
    });
    await orchestrator.start();
    try {
      await expect(orchestrator.create({ ...shapesRequest, node: 'gpu-a', gpuIndex: 0 })).rejects.toThrow(
        /gpuMode dra needs the GPU's UUID and claim \(gpu-a\/0 has none\)/,
      );
      expect(pods()).toEqual([]);
    } finally {
      await orchestrator.stop();
    }
  });

  it("time-slicing: the GPU the device plugin gave (the replica's stats UUID) replaces the planned one", async () => {
    // a replica answering /v1/stats as one the plugin put on gpu-a's second card
    const stats = { ...readyStats(), device: { ...readyStats().device, index: 1, uuid: UUID.a1 } };
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/v1/stats' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(stats));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const orchestrator = createKubernetesOrchestrator({
      kubeConfig: api.kubeConfig(NS),
      namespace: NS,
      template,
      release: 'gpumux',
      gpuMode: 'time-slicing',
      replicaPort: (server.address() as AddressInfo).port,
      nodeGpuUuidsOf: (node) => (node === 'gpu-a' ? [UUID.a0, UUID.a1] : []),
      logger,
    });
    await orchestrator.start();
    try {
      const created = await orchestrator.create({ ...shapesRequest, node: 'gpu-a', gpuIndex: 0 });
      expect(created.gpuIndex).toBe(0); // the plan's guess until the replica answers
      const pod = api.get('pods', NS, created.id)!;
      expect(env(pod).GPUMUX_NODE_GPU_UUIDS).toBe(`${UUID.a0},${UUID.a1}`);
      expect(env(pod).GPUMUX_GPU_UUID).toBeUndefined();
      api.runPods(NS, REPLICA_SELECTOR, '127.0.0.1');
      await until('the real GPU learnt', () => orchestrator.replicas()[0]?.gpuIndex === 1);
    } finally {
      await orchestrator.stop();
      server.close();
    }
  });
});
