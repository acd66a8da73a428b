import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseSchedulerConfig } from '../../scheduler/config/load.js';
import { parseGpuSpec } from '../../scheduler/inventory/gpu-spec.js';
import { loadModelByName } from '../../scheduler/models.js';
import { planPlacement } from '../../scheduler/placement/plan.js';
import type { SchedulerConfig } from '../../scheduler/config/schema.js';
import { renderReplicaPod } from '../../scheduler/orchestrators/kubernetes/pod-template.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_DIR, find, helmTemplate, NAMESPACE, RELEASE, VALUE_SETS, type KubeObject } from './chart.js';
import { validateObject } from './kube-validate.js';

/**
 * The chart renders exactly what the scheduler consumes: its ConfigMap key scheduler.yaml goes through the
 * scheduler's own loader, and replica-pod.yaml through renderReplicaPod into the pod it will create — which
 * must be schema-valid and discoverable by the gateway's selector.
 */

const prefix = `${RELEASE}-gpumux`;

function schedulerConfig(objects: KubeObject[]): SchedulerConfig {
  return parseSchedulerConfig(parse(configMapKey(objects, `${prefix}-scheduler`, 'scheduler.yaml')), 'scheduler.yaml');
}

function configMapKey(objects: KubeObject[], name: string, key: string): string {
  const cm = find<{ data: Record<string, string> }>(objects, 'ConfigMap', name);
  const text = cm.data[key];
  if (text === undefined) throw new Error(`${name} has no key ${key}`);
  return text;
}

/** `models` as the chart's values and the value files give it (Helm replaces a list, it does not merge it). */
function valuesModels(files: string[]): { name: string; minReplicas: number; maxReplicas: number }[] {
  type Values = { models?: { name: string; minReplicas: number; maxReplicas: number }[] };
  const read = (f: string): Values => parse(readFileSync(join(CHART_DIR, f), 'utf8')) as Values;
  return ['values.yaml', ...files].map(read).reduce<Values['models']>((m, v) => v.models ?? m, undefined) ?? [];
}

function selectorMatches(selector: string, labels: Record<string, string>): boolean {
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return labels[key!] === value;
  });
}

describe.each(VALUE_SETS)('value set $name', ({ files }) => {
  const objects = helmTemplate(files);

  it('scheduler.yaml parses with the scheduler config schema and names the chart objects', () => {
    const config = schedulerConfig(objects);
    expect(config.orchestrator).toMatchObject({
      kind: 'kubernetes',
      namespace: NAMESPACE,
      release: RELEASE,
      replicaTemplate: '/etc/gpumux/replica-pod.yaml',
      owner: { kind: 'Deployment', name: `${prefix}-scheduler`, apiVersion: 'apps/v1' },
    });
    expect(config.leaderElection.leaseName).toBe(`${prefix}-scheduler`);
    expect(config.profiles.configMap).toBe(`${prefix}-profiles`);
    // The models the values list (a value file's list replaces the chart's), with their replica bounds.
    expect(config.models.map((m) => [m.name, m.minReplicas, m.maxReplicas])).toEqual(
      valuesModels(files).map((m) => [m.name, m.minReplicas, m.maxReplicas]),
    );
    // The names the scheduler will use are the ones RBAC grants.
    const role = JSON.stringify(find(objects, 'Role', `${prefix}-scheduler`));
    expect(role).toContain(config.leaderElection.leaseName);
    expect(role).toContain(config.profiles.configMap);
    // The scheduler Service exposes the port the config serves on.
    const deployment = find<V1Deployment>(objects, 'Deployment', `${prefix}-scheduler`);
    expect(deployment.spec!.template.spec!.containers[0]!.ports![0]!.containerPort).toBe(config.httpPort);
  });

  it('replica-pod.yaml renders through renderReplicaPod into a valid pod the gateway discovers', () => {
    const config = schedulerConfig(objects);
    const template = parse(configMapKey(objects, `${prefix}-replica-pod`, 'replica-pod.yaml')) as V1Pod;
    const gateway = find<V1Deployment>(objects, 'Deployment', `${prefix}-gateway`).spec!.template.spec!.containers[0]!;
    const selector = gateway.args!.find((a) => a.startsWith('--selector='))!.slice('--selector='.length);
    const replicaPortArg = gateway.args!.find((a) => a.startsWith('--replica-port='))!;

    // Set by the chart itself too, so a replica's OOM line reaches the scheduler (pod-state.ts).
    expect(template.spec!.containers.find((c) => c.name === 'replica')!.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    for (const model of config.models) {
      const pod = renderReplicaPod(
        template,
        {
          model: model.name,
          version: '1',
          node: 'gpu-node-3',
          gpuIndex: 2,
          footprintBytes: 10_307_502_080,
          manifest: model.manifest,
          ...(model.onnx ? { onnx: model.onnx } : {}),
          key: `${model.name}/gpu-node-3/2/1`,
        },
        {
          release: config.orchestrator.release,
          namespace: config.orchestrator.namespace,
          gpuMode: config.orchestrator.gpuMode,
          replicaPort: config.orchestrator.replicaPort,
          owner: { apiVersion: 'apps/v1', kind: 'Deployment', name: `${prefix}-scheduler`, uid: '5f0c1c9e-0000-4000-8000-000000000001' },
        },
      );
      expect(validateObject(pod as KubeObject)).toEqual([]);
      expect(pod.metadata!.name).toMatch(new RegExp(`^${RELEASE}-${model.name}-[0-9a-f]{10}$`));
      expect(pod.metadata!.namespace).toBe(NAMESPACE);
      expect(selectorMatches(selector, pod.metadata!.labels!)).toBe(true);
      expect(replicaPortArg).toBe(`--replica-port=${config.orchestrator.replicaPort}`);

      const replica = pod.spec!.containers.find((c) => c.name === 'replica')!;
      expect(replica.args!.slice(0, 3)).toEqual(['replica', '--model', model.manifest]);
      expect(replica.args).toEqual(expect.arrayContaining(['--device', 'cuda:0', '--port', String(config.orchestrator.replicaPort)]));
      const env = Object.fromEntries((replica.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
      expect(env).toMatchObject({ GPUMUX_NODE: 'gpu-node-3', GPUMUX_REPLICA_ID: pod.metadata!.name, NODE_NAME: 'spec.nodeName' });
      expect(pod.spec!.nodeName).toBe('gpu-node-3');
      if (config.orchestrator.gpuMode === 'pinned') {
        expect(env.NVIDIA_VISIBLE_DEVICES).toBe('2');
        expect(env.GPUMUX_GPU_INDEX).toBe('2');
        expect(replica.resources!.limits!['nvidia.com/gpu']).toBeUndefined();
      } else {
        expect(env.NVIDIA_VISIBLE_DEVICES).toBeUndefined();
        expect(replica.resources!.limits!['nvidia.com/gpu']).toBe('1');
      }
      // The ONNX path the replica is told to load is where the fetch initContainer puts it.
      if (model.onnx) {
        const fetch = pod.spec!.initContainers?.find((c) => c.name === 'fetch-model');
        const preloaded = !fetch;
        if (!preloaded) expect(fetch.args).toContain(model.onnx);
        expect(replica.volumeMounts!.some((m) => m.name === 'models' && model.onnx!.startsWith(m.mountPath + '/'))).toBe(true);
      }
    }
  });
});

describe('the 10 × RTX 4090 production values', () => {
  it('start two Co-DETR replicas on every one of the 10 GPUs (no idle card waiting for demand)', async () => {
    const config = schedulerConfig(helmTemplate(['ci/rtx4090-values.yaml']));
    const codetr = config.models.find((m) => m.name === 'codetr')!;
    const { manifest } = await loadModelByName('codetr');
    const plan = planPlacement({
      gpus: parseGpuSpec('10x24564MiB'),
      models: [
        {
          name: 'codetr',
          version: manifest.version,
          footprintBytes: codetr.declaredFootprint ?? manifest.memory.declaredBytes,
          minReplicas: codetr.minReplicas,
          // The scheduler's first plan, before any demand: the minimum.
          desiredReplicas: codetr.minReplicas,
        },
      ],
      policy: config.policy,
      reserveBytes: config.reserve,
      maxReplicasPerGpu: config.maxReplicasPerGpu,
    });
    expect(plan.usage.map((u) => u.replicas)).toEqual(Array(10).fill(2));
    expect(plan.unplaced).toEqual([]);
    expect(plan.memoryUtilization).toBeGreaterThanOrEqual(0.79);
    // Exactly twenty footprints over the ten cards' memory.
    const footprint = plan.replicas[0]!.footprintBytes;
    const total = plan.usage.reduce((sum, u) => sum + u.gpu.memoryBytes, 0);
    expect(plan.replicas.map((r) => r.footprintBytes)).toEqual(Array(20).fill(footprint));
    expect(plan.memoryUtilization).toBeCloseTo((20 * footprint) / total, 12);
  });
});
