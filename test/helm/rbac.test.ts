import path from 'node:path';
import type { V1ClusterRole, V1Pod, V1PolicyRule, V1Role } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createLogger } from '../../common/log.js';
import { kubernetesDiscovery } from '../../gateway/discovery/kubernetes.js';
import { parseSchedulerConfig } from '../../scheduler/config/load.js';
import { createKubernetesStack, type KubernetesStack } from '../../scheduler/kubernetes-stack.js';
import { LABELS, REPLICA_SELECTOR } from '../../scheduler/orchestrators/kubernetes/pod-template.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-api-server.js';
import { uncovered, unused, usedPermissions, type UsedPermission } from '../helpers/rbac-verbs.js';
import { REPO_ROOT } from '../helpers/replica-process.js';
import { until } from '../helpers/until.js';
import { find, helmTemplate, NAMESPACE, RELEASE } from './chart.js';

/**
 * Least privilege, measured: the real scheduler and gateway code (the real @kubernetes/client-node over
 * HTTP) run against the API-shaped server with the names the chart renders; every request they make must be
 * allowed by the chart's Roles, and every verb the Roles grant must have been used — or be listed below with
 * the reason the client never calls it.
 */

const prefix = `${RELEASE}-gpumux`;
const objects = helmTemplate();
const rules = (kind: 'Role' | 'ClusterRole', name: string): V1PolicyRule[] =>
  find<V1Role | V1ClusterRole>(objects, kind, name).rules ?? [];

/** Granted although no client request uses them, each with why. */
const NOT_CALLED_BUT_NEEDED: Record<string, string> = {
  [`apps/deployments/finalizers[${prefix}-scheduler]:update`]:
    'the API server checks it when a pod sets blockOwnerDeletion on its owner reference ' +
    '(OwnerReferencesPermissionEnforcement); the client never calls it',
};

const logger = createLogger({ test: 'rbac' }, () => undefined);
const template: V1Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { labels: { 'app.kubernetes.io/name': 'gpumux' } },
  spec: { containers: [{ name: 'replica', image: 'gpumux:test' }] },
};

describe('chart RBAC = the verbs the code calls', () => {
  let api: KubeApiServer;
  beforeEach(async () => {
    api = await startKubeApiServer();
  });
  afterEach(async () => {
    await api.close();
  });

  it('scheduler: pods, leases, profile ConfigMap and its own Deployment in the namespace; nodes cluster-wide', async () => {
    const gpu = { 'nvidia.com/gpu.count': '1', 'nvidia.com/gpu.memory': '24564', 'nvidia.com/gpu.product': 'RTX' };
    api.addNode('gpu-a', { ...gpu, 'feature.node.kubernetes.io/pci-10de.present': 'true' });
    api.addNode('gpu-b', { ...gpu, 'feature.node.kubernetes.io/pci-10de.present': 'true' });
    api.put('deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `${prefix}-scheduler`, namespace: NAMESPACE },
      spec: {},
    });
    // The configuration the chart renders (names of the lease, profiles ConfigMap and owner included); only
    // the model and the timings change so the scenario runs in seconds.
    const cm = find<{ data: Record<string, string> }>(objects, 'ConfigMap', `${prefix}-scheduler`);
    const rendered = parse(cm.data['scheduler.yaml']!) as Record<string, Record<string, unknown>>;
    const config = parseSchedulerConfig({
      ...rendered,
      policy: 'spread',
      // maxBatch 1: two OOM raises of the batch-1 figure still fit a 24 GiB GPU
      models: [{ name: 'codetr', manifest: path.join(REPO_ROOT, 'models/codetr'), minReplicas: 2, maxReplicas: 2, maxBatch: 1 }],
      demand: { interval: '150ms' },
      orchestrator: { ...rendered.orchestrator, replicaPort: 1, drainTimeout: '1s' },
      leaderElection: { ...rendered.leaderElection, leaseDuration: '3s', renewDeadline: '2s', retryPeriod: '100ms' },
    });
    const stack: KubernetesStack = await createKubernetesStack({
      config,
      kubeConfig: api.kubeConfig(NAMESPACE),
      template,
      identity: 'scheduler-0',
      logger,
    });
    try {
      await stack.start();
      const pods = () => api.list('pods', NAMESPACE, REPLICA_SELECTOR);
      await until('two pods', () => pods().length === 2);
      api.runPods(NAMESPACE, REPLICA_SELECTOR);
      // OOM kills of two replicas: the profile is saved twice (created, then updated).
      const killed = new Set<string>();
      for (const round of [1, 2]) {
        const victim = await until('a fresh running pod', () =>
          pods().find((p) => p.status?.phase === 'Running' && !killed.has(p.metadata.name ?? '')),
        );
        const name = victim.metadata.name!;
        killed.add(name);
        api.setPodStatus(NAMESPACE, name, {
          phase: 'Failed',
          containerStatuses: [
            {
              name: 'replica',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 1, reason: 'Error', message: 'CUDA failure 2: out of memory' } },
            },
          ],
        });
        await until(`profile saved (${round})`, () => {
          const saved = api.get('configmaps', NAMESPACE, `${prefix}-profiles`);
          return saved && (saved.data as Record<string, string>)['profiles.json']!.includes(`"oomEvents": ${round}`);
        });
      }
      // A node that goes away: its replica is drained and deleted.
      const onB = await until('a pod on gpu-b', () => pods().find((p) => p.metadata.labels?.[LABELS.node] === 'gpu-b'));
      api.removeNode('gpu-b');
      await until('deleted', () => api.requests.some((r) => r.method === 'DELETE' && r.name === onB.metadata.name));
    } finally {
      await stack.stop();
    }

    const used = usedPermissions(api.requests);
    const inNamespace = used.filter((p) => p.namespaced);
    const clusterWide = used.filter((p) => !p.namespaced);
    const role = rules('Role', `${prefix}-scheduler`);
    const clusterRole = rules('ClusterRole', `${prefix}-scheduler-${NAMESPACE}`);
    expect(uncovered(role, inNamespace)).toEqual([]);
    expect(uncovered(clusterRole, clusterWide)).toEqual([]);
    expect(unused(role, inNamespace, NOT_CALLED_BUT_NEEDED)).toEqual([]);
    expect(unused(clusterRole, clusterWide)).toEqual([]);
  });

  it('gateway: lists and watches replica pods in its namespace, nothing else', async () => {
    const discovery = kubernetesDiscovery({ namespace: NAMESPACE, kubeConfig: api.kubeConfig(NAMESPACE), logger });
    let seen: string[] = [];
    await discovery.start((endpoints) => (seen = endpoints.map((e) => e.id)));
    try {
      api.put('pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'r-1', namespace: NAMESPACE, labels: { [LABELS.model]: 'codetr', ...labelsOf(REPLICA_SELECTOR) } },
        spec: { containers: [{ name: 'replica', image: 'x' }] },
      });
      api.runPods(NAMESPACE, REPLICA_SELECTOR);
      await until('discovered', () => seen.includes('r-1'));
    } finally {
      await discovery.stop();
    }
    const used: UsedPermission[] = usedPermissions(api.requests);
    const role = rules('Role', `${prefix}-gateway`);
    expect(used.every((p) => p.namespaced)).toBe(true);
    expect(uncovered(role, used)).toEqual([]);
    expect(unused(role, used)).toEqual([]);
  });
});

/** `a=b,c=d` → labels that match it. */
function labelsOf(selector: string): Record<string, string> {
  return Object.fromEntries(selector.split(',').map((term) => term.split('=') as [string, string]));
}
