import { describe, expect, it } from 'vitest';
import { CHART_DIR, helm, helmTemplate, NAMESPACE, RELEASE } from './chart.js';

/**
 * ServiceMonitor/PodMonitor are CRDs of the Prometheus operator: on a stock k3s `helm install` of values that
 * enable them failed with "no matches for kind". They render only where the API is served.
 */

const RTX4090 = ['ci/rtx4090-values.yaml'];
const MONITORING_API = 'monitoring.coreos.com/v1';
const monitoringKinds = (objects: { kind: string }[]): string[] =>
  objects.filter((o) => o.kind === 'ServiceMonitor' || o.kind === 'PodMonitor').map((o) => o.kind);

describe('monitoring objects follow the cluster API', () => {
  it('a cluster without monitoring.coreos.com/v1 gets none, and the install render succeeds with a note', () => {
    expect(monitoringKinds(helmTemplate(RTX4090))).toEqual([]);
    const install = helm(['install', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--dry-run=client', '-f', `${CHART_DIR}/${RTX4090[0]}`]);
    expect(install.stderr).toBe('');
    expect(install.status).toBe(0);
    expect(install.stdout).not.toMatch(/kind: (ServiceMonitor|PodMonitor)/);
    expect(install.stdout).toContain('No ServiceMonitor/PodMonitor rendered: this cluster serves no monitoring.coreos.com/v1 API');
  });

  it('a cluster with the Prometheus operator gets both', () => {
    // (helm install has no --api-versions; template stands for the API discovery an install does)
    expect(monitoringKinds(helmTemplate(RTX4090, [], [MONITORING_API])).sort()).toEqual(['PodMonitor', 'ServiceMonitor']);
  });
});
