import path from 'node:path';
import type { V1ClusterRole, V1Pod, V1PolicyRule, V1Role } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createLogger } from '../../common/log.js';
import { parseSchedulerConfig } from '../../scheduler/config/load.js';
import { createKubernetesStack } from '../../scheduler/kubernetes-stack.js';
import { REPLICA_SELECTOR } from '../../scheduler/orchestrators/kubernetes/pod-template.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-api-server.js';
import { uncovered, unused, usedPermissions } from '../helpers/rbac-verbs.js';
import { REPO_ROOT } from '../helpers/replica-process.js';
import { until } from '../helpers/until.js';
import { find, helmTemplate, NAMESPACE, RELEASE } from './chart.js';

/**
 * DRA mode's extra RBAC, measured as rbac.test.ts measures the rest: the scheduler with the chart's
 * `gpuMode: dra` config creates, lists and deletes ResourceClaims and lists ResourceSlices against the API
 * stand-in; the chart's resource.k8s.io rules must allow exactly that.
 */

const prefix = `${RELEASE}-gpumux`;
const objects = helmTemplate([], ['scheduler.gpuMode=dra']);
const draRules = (kind: 'Role' | 'ClusterRole', name: string): V1PolicyRule[] =>
  (find<V1Role | V1ClusterRole>(objects, kind, name).rules ?? []).filter((r) => r.apiGroups?.includes('resource.k8s.io'));
const template: V1Pod = { apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: { containers: [{ name: 'replica', image: 'gpumux:test' }] } };

describe('chart RBAC in dra mode = the resource.k8s.io verbs the scheduler calls', () => {
  let api: KubeApiServer;
  beforeEach(async () => {
    api = await startKubeApiServer();
  });
  afterEach(async () => {
    await api.close();
  });

  it('resourceclaims create/list/delete in the namespace, resourceslices list', async () => {
    for (const [node, uuid] of [
      ['gpu-a', 'GPU-aaaaaaaa-0000-0000-0000-000000000000'],
      ['gpu-b', 'GPU-bbbbbbbb-0000-0000-0000-000000000000'],
    ] as const) {
      api.addNode(node, { 'nvidia.com/gpu.count': '1', 'nvidia.com/gpu.memory': '24564', 'feature.node.kubernetes.io/pci-10de.present': 'true' });
      api.put('resourceslices', {
        metadata: { name: `${node}-gpu` },
        spec: { driver: 'gpu.nvidia.com', nodeName: node, pool: { name: node, generation: 1, resourceSliceCount: 1 }, devices: [{ name: 'gpu-0', attributes: { uuid: { string: uuid } } }] },
      });
    }
    const cm = find<{ data: Record<string, string> }>(objects, 'ConfigMap', `${prefix}-scheduler`);
    const rendered = parse(cm.data['scheduler.yaml']!) as Record<string, Record<string, unknown>>;
    expect(rendered.orchestrator!.gpuMode).toBe('dra');
    const config = parseSchedulerConfig({
      ...rendered,
      policy: 'spread',
      models: [{ name: 'shapes', manifest: path.join(REPO_ROOT, 'models/shapes'), minReplicas: 2, maxReplicas: 2 }],
      demand: { interval: '150ms' },
      orchestrator: { ...rendered.orchestrator, replicaPort: 1, drainTimeout: '1s', owner: null },
      leaderElection: { enabled: false },
    });
    const stack = await createKubernetesStack({ config, kubeConfig: api.kubeConfig(NAMESPACE), template, logger: createLogger({}, () => undefined) });
    try {
      await stack.start();
      await until('two pods, two claims', () => api.list('pods', NAMESPACE, REPLICA_SELECTOR).length === 2 && api.list('resourceclaims', NAMESPACE).length === 2);
      api.removeNode('gpu-b'); // its replica goes, and then its GPU's claim
      await until('a claim deleted', () => api.requests.some((r) => r.method === 'DELETE' && r.resource === 'resourceclaims'));
    } finally {
      await stack.stop();
    }
    const used = usedPermissions(api.requests).filter((p) => p.group === 'resource.k8s.io');
    const role = draRules('Role', `${prefix}-scheduler`);
    const clusterRole = draRules('ClusterRole', `${prefix}-scheduler-${NAMESPACE}`);
    expect(uncovered(role, used.filter((p) => p.namespaced))).toEqual([]);
    expect(uncovered(clusterRole, used.filter((p) => !p.namespaced))).toEqual([]);
    expect(unused(role, used.filter((p) => p.namespaced))).toEqual([]);
    expect(unused(clusterRole, used.filter((p) => !p.namespaced))).toEqual([]);
  });
});
