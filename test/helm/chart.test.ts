import type { V1Container, V1Deployment, V1Pod, V1PolicyRule, V1Role, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { find, helm, helmLint, helmTemplate, NAMESPACE, RELEASE, VALUE_SETS, type KubeObject, CHART_DIR } from './chart.js';
import { kindKey, validateObject } from './kube-validate.js';
import { allContainers, podSpecs, replicaTemplate } from './pod-specs.js';

const prefix = `${RELEASE}-gpumux`;

/** A Kubernetes quantity (`256Mi`, `6Gi`, `1`) in bytes. */
const bytes = (q: string): number => {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi)?$/.exec(q);
  if (!m) throw new Error(`not a byte quantity: ${q}`);
  return Number(m[1]) * { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[m[2] ?? '']!;
};
const rendered = new Map(VALUE_SETS.map((set) => [set.name, helmTemplate(set.files, [], set.apiVersions)]));
const objectsOf = (name: string): KubeObject[] => rendered.get(name)!;

function container(spec: { containers: V1Container[] }, name: string): V1Container {
  const c = spec.containers.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

function rulesOf(objects: KubeObject[], kind: 'Role' | 'ClusterRole', name: string): string[] {
  const role = find<V1Role>(objects, kind, name);
  return (role.rules ?? []).flatMap((r: V1PolicyRule) =>
    (r.resources ?? []).flatMap((res) =>
      r.verbs.map((v) => `${(r.apiGroups ?? [''])[0] || 'core'}/${res}${r.resourceNames ? `[${r.resourceNames.join(',')}]` : ''}:${v}`),
    ),
  );
}

describe.each(VALUE_SETS)('value set $name', ({ name, files }) => {
  it('passes helm lint --strict', () => {
    const result = helmLint(files);
    expect(result.stderr + result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(result.status).toBe(0);
  });

  it('renders only schema-valid objects with no unknown fields', () => {
    const objects = objectsOf(name);
    expect(objects.length).toBeGreaterThan(10);
    const problems = objects.flatMap(validateObject);
    expect(problems).toEqual([]);
    // The replica template inside its ConfigMap is a Pod and must be valid too.
    const template = replicaTemplate(find(objects, 'ConfigMap', `${prefix}-replica-pod`));
    expect(validateObject(template as unknown as KubeObject)).toEqual([]);
  });

  it('puts every namespaced object in the release namespace', () => {
    for (const o of objectsOf(name)) {
      if (['ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].includes(o.kind))
        expect(o.metadata.namespace).toBeUndefined();
      else if (o.metadata.name.endsWith('-time-slicing')) expect(o.metadata.namespace).toBe('nvidia-device-plugin');
      else expect(o.metadata.namespace, `${kindKey(o)} ${o.metadata.name}`).toBe(NAMESPACE);
    }
  });

  it('hardens every pod and container', () => {
    const specs = podSpecs(objectsOf(name));
    expect(specs.map((s) => s.owner)).toEqual(
      expect.arrayContaining([
        `Deployment/${prefix}-gateway`,
        `Deployment/${prefix}-scheduler`,
        `Pod/${prefix}-test-gateway`,
        `ConfigMap/${prefix}-replica-pod[replica-pod.yaml]`,
      ]),
    );
    for (const { owner, spec } of specs) {
      expect(spec.securityContext?.runAsNonRoot, owner).toBe(true);
      expect(spec.securityContext?.runAsUser, owner).toBe(10001); // securityContext.pod in values.yaml
      expect(spec.securityContext?.seccompProfile?.type, owner).toBe('RuntimeDefault');
      expect(spec.hostNetwork ?? false, owner).toBe(false);
      for (const c of allContainers(spec)) {
        const where = `${owner} container ${c.name}`;
        expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(c.securityContext?.readOnlyRootFilesystem, where).toBe(true);
        expect(c.securityContext?.privileged ?? false, where).toBe(false);
        expect(c.securityContext?.capabilities?.drop, where).toContain('ALL');
        expect(c.securityContext?.capabilities?.add ?? [], where).toEqual([]);
        // Requests for both, a memory limit not below the request (quantities like 500m, 2, 256Mi, 6Gi).
        const { requests = {}, limits = {} } = c.resources ?? {};
        expect(Object.keys(requests).sort(), where).toEqual(['cpu', 'memory']);
        for (const q of [requests.cpu, requests.memory, limits.memory])
          expect(q, where).toMatch(/^\d+(\.\d+)?(m|Ki|Mi|Gi)?$/);
        expect(bytes(limits.memory!), where).toBeGreaterThanOrEqual(bytes(requests.memory!));
        // A read-only root needs a writable /tmp.
        expect(c.volumeMounts?.some((m) => m.mountPath === '/tmp'), where).toBe(true);
      }
    }
  });

  it('gives the gateway probes on the v2 health endpoints, spreading, and a separate admin Service', () => {
    const objects = objectsOf(name);
    const gateway = find<V1Deployment>(objects, 'Deployment', `${prefix}-gateway`);
    const pod = gateway.spec!.template.spec!;
    const c = container(pod, 'gateway');
    expect(c.livenessProbe?.grpc?.service).toBe('liveness'); // grpc.health.v1 (test/helm/grpc.test.ts)
    expect(c.readinessProbe?.httpGet?.path).toBe('/v2/health/ready');
    expect(c.args).toEqual(expect.arrayContaining(['gateway', '--discovery=kubernetes', `--namespace=${NAMESPACE}`]));
    // One gateway per node: required or preferred by the value set, always on the gateway's own pods.
    const anti = pod.affinity?.podAntiAffinity;
    const terms = [
      ...(anti?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(anti?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => t.podAffinityTerm),
    ];
    const gatewayPods = {
      'app.kubernetes.io/name': 'gpumux',
      'app.kubernetes.io/instance': RELEASE,
      'app.kubernetes.io/component': 'gateway',
    };
    expect(terms).toEqual([{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: gatewayPods } }]);
    expect(gateway.spec!.template.metadata!.labels).toMatchObject(gatewayPods);
    expect(pod.serviceAccountName).toBe(`${prefix}-gateway`);

    const client = find<V1Service>(objects, 'Service', `${prefix}-gateway`);
    const admin = find<V1Service>(objects, 'Service', `${prefix}-gateway-admin`);
    expect(client.spec!.ports!.map((p) => p.targetPort)).toEqual(['http', 'grpc']);
    expect(admin.spec!.ports!.map((p) => p.targetPort)).toEqual(['admin']);
    expect(admin.spec!.type).toBe('ClusterIP');
    expect(admin.spec!.selector).toEqual(client.spec!.selector);
    const ports = Object.fromEntries(c.ports!.map((p) => [p.name ?? '', p.containerPort]));
    expect(c.args).toContain(`--port=${ports.http}`);
    expect(c.args).toContain(`--admin-port=${ports.admin}`);
  });

  // rbac.test.ts measures these against the requests the real code makes; this pins them per value set.
  it('grants the least privilege: the gateway reads pods, the scheduler only what it calls', () => {
    const objects = objectsOf(name);
    expect(rulesOf(objects, 'Role', `${prefix}-gateway`).sort()).toEqual(['core/pods:list', 'core/pods:watch']);
    expect(rulesOf(objects, 'Role', `${prefix}-scheduler`).sort()).toEqual(
      [
        'core/pods:create',
        'core/pods:list',
        'core/pods:watch',
        'core/pods:delete',
        'coordination.k8s.io/leases:create',
        `coordination.k8s.io/leases[${prefix}-scheduler]:get`,
        `coordination.k8s.io/leases[${prefix}-scheduler]:update`,
        'core/configmaps:create',
        `core/configmaps[${prefix}-profiles]:get`,
        `core/configmaps[${prefix}-profiles]:update`,
        `apps/deployments[${prefix}-scheduler]:get`,
        `apps/deployments/finalizers[${prefix}-scheduler]:update`,
      ].sort(),
    );
    expect(rulesOf(objects, 'ClusterRole', `${prefix}-scheduler-${NAMESPACE}`).sort()).toEqual(['core/nodes:list']);
    const clusterRoles = objects.filter((o) => o.kind === 'ClusterRole');
    expect(clusterRoles).toHaveLength(1);
    for (const o of objects.filter((x) => x.kind === 'Role' || x.kind === 'ClusterRole')) {
      expect(JSON.stringify(o), o.metadata.name).not.toMatch(/"\*"|secrets/);
    }
  });

  it('runs the scheduler with its config and replica template mounted, probed on /healthz', () => {
    const objects = objectsOf(name);
    const scheduler = find<V1Deployment>(objects, 'Deployment', `${prefix}-scheduler`);
    const pod = scheduler.spec!.template.spec!;
    const c = container(pod, 'scheduler');
    expect(c.args).toEqual(['scheduler', '--config=/etc/gpumux/scheduler.yaml']);
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(c.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/gpumux', readOnly: true });
    const sources = pod.volumes!.find((v) => v.name === 'config')!.projected!.sources!;
    expect(sources.map((s) => `${s.configMap!.name}:${s.configMap!.items![0]!.path}`)).toEqual([
      `${prefix}-scheduler:scheduler.yaml`,
      `${prefix}-replica-pod:replica-pod.yaml`,
    ]);
    expect(scheduler.spec!.template.metadata!.annotations!['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
    expect(pod.serviceAccountName).toBe(`${prefix}-scheduler`);
  });

  it('gives the replica template probes, the downward-API env and a read-only model mount', () => {
    const pod = replicaTemplate(find(objectsOf(name), 'ConfigMap', `${prefix}-replica-pod`));
    const spec = pod.spec!;
    expect(spec.containers).toHaveLength(1);
    const c = container(spec, 'replica');
    expect(c.startupProbe?.httpGet?.path).toBe('/v2/health/ready');
    expect(c.readinessProbe?.httpGet?.path).toBe('/v2/health/ready');
    expect(c.livenessProbe?.httpGet?.path).toBe('/v2/health/live');
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath ?? e.value]));
    expect(env).toMatchObject({ NODE_NAME: 'spec.nodeName', POD_NAME: 'metadata.name' });
    for (const m of c.volumeMounts ?? []) if (m.name === 'models') expect(m.readOnly).toBe(true);
    expect(spec.restartPolicy).toBe('Never');
    expect(spec.automountServiceAccountToken).toBe(false);
  });

  it('ships a helm test hook that checks gateway health and /metrics', () => {
    const test = find<V1Pod>(objectsOf(name), 'Pod', `${prefix}-test-gateway`);
    expect(test.metadata!.annotations!['helm.sh/hook']).toBe('test');
    const script = container(test.spec!, 'check').args!.join('\n');
    expect(script).toContain(`http://${prefix}-gateway.${NAMESPACE}.svc:80`);
    expect(script).toContain('/v2/health/ready');
    expect(script).toContain('$admin/metrics');
    expect(script).toContain('gpumux_gpu_memory_total_bytes');
  });

  it('renders a Grafana dashboard over the gateway metric names when enabled', () => {
    const cm = objectsOf(name).find((o) => o.metadata.name === `${prefix}-dashboard`);
    if (name === 'local') {
      expect(cm).toBeUndefined();
      return;
    }
    const dashboard = JSON.parse((cm as unknown as { data: Record<string, string> }).data['gpumux-packing.json']!) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    for (const metric of [
      'gpumux_gpu_memory_total_bytes',
      'gpumux_gpu_memory_used_bytes',
      'gpumux_gpu_memory_headroom_bytes',
      'gpumux_gpu_replicas',
      'gpumux_cluster_memory_utilization_ratio',
      'gpumux_gateway_request_duration_seconds_bucket',
    ]) {
      expect(exprs).toContain(metric);
    }
    expect(exprs).toMatch(/histogram_quantile\(0\.95, sum by \(model, le\)/);
  });
});

describe('value-set specifics', () => {
  it('defaults: 2 gateways, a PDB, the in-image shapes model, no model volume or download', () => {
    const objects = objectsOf('default');
    expect(find<V1Deployment>(objects, 'Deployment', `${prefix}-gateway`).spec!.replicas).toBe(2);
    expect(find(objects, 'PodDisruptionBudget', `${prefix}-gateway`)).toMatchObject({ spec: { minAvailable: 1 } });
    const spec = replicaTemplate(find(objects, 'ConfigMap', `${prefix}-replica-pod`)).spec!;
    expect(spec.initContainers).toBeUndefined();
    expect(spec.volumes!.map((v) => v.name)).toEqual(['tmp']);
    expect(spec.runtimeClassName).toBe('nvidia');
    expect(objects.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
  });

  it('local: one gateway, no PDB, no runtime class, CPU fallback passed to replicas', () => {
    const objects = objectsOf('local');
    expect(find<V1Deployment>(objects, 'Deployment', `${prefix}-gateway`).spec!.replicas).toBe(1);
    expect(objects.some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
    const spec = replicaTemplate(find(objects, 'ConfigMap', `${prefix}-replica-pod`)).spec!;
    expect(spec.runtimeClassName).toBeUndefined();
    expect(container(spec, 'replica').args).toEqual(['--warmup-budget=60', '--allow-cpu-fallback']);
  });

  it('rtx4090: hard anti-affinity, Ingress, ServiceMonitor, and a fetch initContainer for the hostPath volume', () => {
    const objects = objectsOf('rtx4090');
    const gw = find<V1Deployment>(objects, 'Deployment', `${prefix}-gateway`).spec!.template.spec!;
    expect(gw.affinity!.podAntiAffinity!.requiredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    expect(find(objects, 'Ingress', `${prefix}-gateway`)).toMatchObject({ spec: { ingressClassName: 'traefik' } });
    const monitor = find<{ spec: { endpoints: { port: string; path: string }[] } }>(objects, 'ServiceMonitor', prefix);
    expect(monitor.spec.endpoints).toEqual(expect.arrayContaining([expect.objectContaining({ port: 'admin', path: '/metrics' })]));
    // Replica pods are scraped where they run, selected by the labels renderReplicaPod sets.
    const podMonitor = find<{ spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string }[] } }>(
      objects,
      'PodMonitor',
      `${prefix}-replicas`,
    );
    expect(podMonitor.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/part-of': 'gpumux',
      'app.kubernetes.io/component': 'replica',
      'app.kubernetes.io/instance': RELEASE,
    });
    expect(podMonitor.spec.podMetricsEndpoints[0]!.port).toBe('http');

    const spec = replicaTemplate(find(objects, 'ConfigMap', `${prefix}-replica-pod`)).spec!;
    const fetch = spec.initContainers!.find((c) => c.name === 'fetch-model')!;
    expect(fetch.args).toEqual([
      '/models/codetr/model.onnx',
      'https://models.example.internal/codetr/co_dino_5scale_swin_l_o365tococo.onnx',
      '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
    ]);
    expect(fetch.command!.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(fetch.command![2]).toContain('sha256sum');
    expect(fetch.volumeMounts).toContainEqual({ name: 'models', mountPath: '/models' });
    expect(spec.volumes).toContainEqual({ name: 'models', hostPath: { path: '/var/lib/gpumux/models', type: 'DirectoryOrCreate' } });
    expect(spec.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
    // Pinned mode: the scheduler, not the device plugin, chooses the GPU.
    expect(container(spec, 'replica').resources!.limits!['nvidia.com/gpu']).toBeUndefined();
  });

  it('time-slicing: the device-plugin config, an RWX model PVC kept across uninstalls', () => {
    const objects = objectsOf('time-slicing');
    const cm = find<{ data: Record<string, string> }>(objects, 'ConfigMap', `${prefix}-time-slicing`);
    expect(parse(cm.data.default!)).toEqual({
      version: 'v1',
      flags: { migStrategy: 'none' },
      sharing: {
        timeSlicing: {
          renameByDefault: false,
          failRequestsGreaterThanOne: true,
          resources: [{ name: 'nvidia.com/gpu', replicas: 2 }],
        },
      },
    });
    const pvc = find<{ metadata: { annotations: Record<string, string> }; spec: Record<string, unknown> }>(
      objects,
      'PersistentVolumeClaim',
      `${prefix}-models`,
    );
    expect(pvc.spec).toMatchObject({ accessModes: ['ReadWriteMany'], storageClassName: 'nfs-client', resources: { requests: { storage: '20Gi' } } });
    expect(pvc.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
    const spec = replicaTemplate(find(objects, 'ConfigMap', `${prefix}-replica-pod`)).spec!;
    expect(spec.volumes).toContainEqual({ name: 'models', persistentVolumeClaim: { claimName: `${prefix}-models` } });
    // Only the model that lives on the volume is downloaded.
    expect(spec.initContainers![0]!.args).toHaveLength(3);
  });

  it('NOTES.txt gives a working curl against the gateway Service', () => {
    const result = helm(['install', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--dry-run=client']);
    expect(result.status).toBe(0);
    const notes = result.stdout.slice(result.stdout.indexOf('NOTES:'));
    expect(notes).toContain(`port-forward svc/${prefix}-gateway 8080:80`);
    expect(notes).toContain('http://127.0.0.1:8080/v1/models/shapes/detect');
    expect(notes).toContain(`helm test ${RELEASE}`);
  });
});
