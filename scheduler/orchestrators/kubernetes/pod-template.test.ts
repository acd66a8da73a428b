import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { renderReplicaPod, replicaPodName, type ReplicaPodSpec } from './pod-template.js';
import { memoryBudgetFor } from '../../memory-terms.js';

const template: V1Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { labels: { team: 'vision' }, annotations: { note: 'kept' } },
  spec: {
    runtimeClassName: 'nvidia',
    initContainers: [{ name: 'fetch-model', image: 'busybox' }],
    containers: [
      {
        name: 'replica',
        image: 'gpumux:1',
        env: [
          { name: 'NVIDIA_VISIBLE_DEVICES', value: 'all' },
          { name: 'KEEP', value: '1' },
        ],
        resources: { limits: { 'nvidia.com/gpu': '1', memory: '8Gi' }, requests: { 'nvidia.com/gpu': '1' } },
        args: ['--max-batch', '2'],
      },
      { name: 'sidecar', image: 'x' },
    ],
  },
};
const replica: ReplicaPodSpec = {
  model: 'codetr',
  version: '1',
  node: 'gpu-node-3',
  gpuIndex: 2,
  footprintBytes: 10307502080,
  manifest: '/app/models/codetr',
  onnx: '/models/codetr/model.onnx',
  key: 'codetr/gpu-node-3/2/abc',
};
const ctx = { release: 'gpumux', namespace: 'vision', gpuMode: 'pinned' as const, replicaPort: 8081 };

describe('renderReplicaPod', () => {
  it('pinned mode: nodeName, NVIDIA_VISIBLE_DEVICES=<index>, no device-plugin request, labels, args', () => {
    const pod = renderReplicaPod(template, replica, {
      ...ctx,
      owner: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'gpumux-scheduler', uid: 'u-1' },
    });
    expect(pod.metadata?.name).toBe(replicaPodName('gpumux', 'codetr', replica.key));
    expect(pod.metadata?.name).toMatch(/^gpumux-codetr-[0-9a-f]{10}$/);
    expect(pod.metadata?.namespace).toBe('vision');
    expect(pod.metadata?.labels).toEqual({
      team: 'vision',
      'app.kubernetes.io/part-of': 'gpumux',
      'app.kubernetes.io/component': 'replica',
      'app.kubernetes.io/managed-by': 'gpumux-scheduler',
      'app.kubernetes.io/instance': 'gpumux',
      'gpumux.io/model': 'codetr',
      'gpumux.io/version': '1',
      'gpumux.io/node': 'gpu-node-3',
      'gpumux.io/gpu': '2',
    });
    expect(pod.metadata?.annotations).toEqual({
      note: 'kept',
      'gpumux.io/footprint-bytes': '10307502080',
      'gpumux.io/replica-key': replica.key,
    });
    expect(pod.metadata?.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'gpumux-scheduler',
        uid: 'u-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(pod.spec?.nodeName).toBe('gpu-node-3');
    expect(pod.spec?.runtimeClassName).toBe('nvidia');
    expect(pod.spec?.restartPolicy).toBe('Never');
    const c = pod.spec!.containers[0]!;
    expect(c.env).toEqual([
      { name: 'KEEP', value: '1' },
      { name: 'GPUMUX_REPLICA_ID', value: pod.metadata?.name },
      { name: 'GPUMUX_NODE', value: 'gpu-node-3' },
      { name: 'CUDA_DEVICE_ORDER', value: 'PCI_BUS_ID' },
      { name: 'NVIDIA_VISIBLE_DEVICES', value: '2' },
      // inside the container the GPU is cuda:0 and nvidia-smi's 0: the node-level index travels separately
      { name: 'GPUMUX_GPU_INDEX', value: '2' },
    ]);
    // the kubelet keeps the last log lines of an error death: the scheduler reads the OOM from them
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    expect(c.resources).toEqual({ limits: { memory: '8Gi' }, requests: {} });
    expect(c.args).toEqual([
      'replica',
      '--model',
      '/app/models/codetr',
      '--onnx',
      '/models/codetr/model.onnx',
      '--port',
      '8081',
      '--host',
      '0.0.0.0',
      '--device',
      'cuda:0',
      '--memory-budget',
      String(memoryBudgetFor(replica.footprintBytes)),
      '--max-batch',
      '2',
    ]);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8081, protocol: 'TCP' }]);
    expect(pod.spec!.containers[1]).toEqual({ name: 'sidecar', image: 'x' });
    // The template itself is untouched.
    expect(template.spec!.containers[0]!.args).toEqual(['--max-batch', '2']);
  });

  it('puts the max batch the scheduler counted before the template args (a template --max-batch, after, wins)', () => {
    const pod = renderReplicaPod(template, { ...replica, maxBatch: 1 }, ctx);
    const args = pod.spec!.containers[0]!.args!;
    const at = args.indexOf('--max-batch');
    expect(args.slice(at, at + 2)).toEqual(['--max-batch', '1']);
    expect(at).toBeLessThan(args.indexOf('--port'));
    expect(args.slice(-2)).toEqual(['--max-batch', '2']);
  });

  it('time-slicing mode: a device-plugin slice, no NVIDIA_VISIBLE_DEVICES pin', () => {
    const pod = renderReplicaPod(template, replica, { ...ctx, gpuMode: 'time-slicing' });
    const c = pod.spec!.containers[0]!;
    expect(c.resources?.limits?.['nvidia.com/gpu']).toBe('1');
    expect(c.env?.find((e) => e.name === 'NVIDIA_VISIBLE_DEVICES')).toEqual({
      name: 'NVIDIA_VISIBLE_DEVICES',
      value: 'all',
    });
    // the device plugin picks the GPU: no index is claimed (the replica reports nvidia-smi's, and the uuid)
    expect(c.env?.find((e) => e.name === 'GPUMUX_GPU_INDEX')).toBeUndefined();
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    expect(pod.metadata?.ownerReferences).toBeUndefined();
  });

  it('names are deterministic per key and DNS labels even for long names', () => {
    expect(replicaPodName('gpumux', 'codetr', 'k')).toBe(replicaPodName('gpumux', 'codetr', 'k'));
    expect(replicaPodName('gpumux', 'codetr', 'k')).not.toBe(replicaPodName('gpumux', 'codetr', 'k2'));
    const long = replicaPodName(
      'a-very-long-release-name-for-testing',
      'an-even-longer-model-name.with.dots',
      'k',
    );
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
  });

  it('refuses a template without a replica container', () => {
    expect(() => renderReplicaPod({ spec: { containers: [{ name: 'app' }] } }, replica, ctx)).toThrow(
      /container named "replica"/,
    );
  });
});
