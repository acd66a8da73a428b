import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { renderReplicaPod, type RenderContext } from '../../scheduler/orchestrators/kubernetes/pod-template.js';
import { CelError, evaluateCel } from '../helpers/cel.js';
import { gpuClaim } from '../../scheduler/orchestrators/kubernetes/resource-claims.js';
import { CHART_DIR, find, helm, helmTemplate, NAMESPACE, RELEASE, type KubeObject } from './chart.js';
import { validateObject } from './kube-validate.js';
import { replicaTemplate } from './pod-specs.js';

/**
 * The replica-pod ValidatingAdmissionPolicy: its CEL, as rendered, evaluated (test/helpers/cel.ts, a CEL
 * subset with cel-go's semantics; no API server runs here) against the pod the scheduler really creates from
 * the rendered template — admitted — and against pods a compromised scheduler could try — each denied by the
 * validation that names it.
 */

const prefix = `${RELEASE}-gpumux`;
const SCHEDULER = `system:serviceaccount:${NAMESPACE}:${prefix}-scheduler`;

interface Policy {
  spec: {
    matchConditions: { name: string; expression: string }[];
    variables: { name: string; expression: string }[];
    validations: { expression: string; message: string }[];
  };
}

/** What the API server decides: not matched (another user), or the messages of the failed validations. */
function admit(policy: Policy, pod: V1Pod, options: { user?: string; namespace?: string } = {}): 'not matched' | string[] {
  const request = { namespace: options.namespace ?? NAMESPACE, userInfo: { username: options.user ?? SCHEDULER }, operation: 'CREATE' };
  const object = JSON.parse(JSON.stringify(pod)) as unknown; // plain JSON, as the API server sees it
  if (!policy.spec.matchConditions.every((m) => evaluateCel(m.expression, { request, object }) === true)) return 'not matched';
  const variables: Record<string, unknown> = {};
  for (const v of policy.spec.variables) variables[v.name] = evaluateCel(v.expression, { request, object, variables });
  return policy.spec.validations
    .filter((v) => {
      try {
        return evaluateCel(v.expression, { request, object, variables }) !== true;
      } catch (err) {
        if (err instanceof CelError) return true; // an evaluation error denies (failurePolicy: Fail)
        throw err;
      }
    })
    .map((v) => v.message);
}

function setup(files: string[], set: string[] = [], gpuMode: RenderContext['gpuMode'] = 'pinned') {
  const objects = helmTemplate(files, set);
  const policy = find<Policy>(objects, 'ValidatingAdmissionPolicy', `${prefix}-${NAMESPACE}-replica-pods`);
  const template = replicaTemplate(find(objects, 'ConfigMap', `${prefix}-replica-pod`));
  const pod = renderReplicaPod(
    template,
    {
      model: 'codetr',
      version: '1',
      node: 'gpu-1',
      gpuIndex: 0,
      footprintBytes: 11 * 2 ** 30,
      manifest: '/app/models/codetr',
      key: 'codetr/gpu-1/0/a',
      gpuUuid: 'GPU-aaaaaaaa-0000-0000-0000-000000000000',
      ...(gpuMode === 'dra' ? { claimName: 'prod-gpu-0123456789ab' } : {}),
    },
    { release: RELEASE, namespace: NAMESPACE, gpuMode, replicaPort: 8081 },
  );
  return { objects, policy, pod };
}

const replica = (pod: V1Pod): V1Container => pod.spec!.containers.find((c) => c.name === 'replica')!;
const mutate = (pod: V1Pod, change: (p: V1Pod) => void): V1Pod => {
  const copy = structuredClone(pod);
  change(copy);
  return copy;
};

describe('replica-pod admission policy (rtx4090 values: hostPath model volume, fetch initContainer)', () => {
  const { objects, policy, pod } = setup(['ci/rtx4090-values.yaml']);

  it('renders a policy and a Deny binding for it', () => {
    const binding = find<{ spec: { policyName: string; validationActions: string[] } }>(
      objects,
      'ValidatingAdmissionPolicyBinding',
      `${prefix}-${NAMESPACE}-replica-pods`,
    );
    expect(binding.spec).toEqual({ policyName: `${prefix}-${NAMESPACE}-replica-pods`, validationActions: ['Deny'] });
  });

  it('admits the pod the scheduler creates from the rendered template', () => {
    expect(admit(policy, pod)).toEqual([]);
  });

  it('applies only to the scheduler service account', () => {
    const privileged = mutate(pod, (p) => (replica(p).securityContext = { privileged: true }));
    expect(admit(policy, privileged, { user: 'system:serviceaccount:gpumux:someone-else' })).toBe('not matched');
    expect(admit(policy, privileged, { user: 'kubernetes-admin' })).toBe('not matched');
  });

  it.each<[string, (p: V1Pod) => void, RegExp]>([
    ['another namespace', () => undefined, /only in namespace gpumux/],
    ['privileged', (p) => (replica(p).securityContext!.privileged = true), /every container unprivileged/],
    ['privilege escalation', (p) => (replica(p).securityContext!.allowPrivilegeEscalation = true), /every container unprivileged/],
    ['a capability added', (p) => (replica(p).securityContext!.capabilities!.add = ['SYS_ADMIN']), /every container unprivileged/],
    ['root in a container', (p) => (replica(p).securityContext!.runAsUser = 0), /every container unprivileged/],
    ['an init container without a security context', (p) => delete p.spec!.initContainers![0]!.securityContext, /every container unprivileged/],
    ['a pod that may run as root', (p) => (p.spec!.securityContext!.runAsNonRoot = false), /runs as non-root/],
    ['hostNetwork', (p) => (p.spec!.hostNetwork = true), /no hostNetwork, hostPID or hostIPC/],
    ['hostPID', (p) => (p.spec!.hostPID = true), /no hostNetwork, hostPID or hostIPC/],
    ['hostIPC', (p) => (p.spec!.hostIPC = true), /no hostNetwork, hostPID or hostIPC/],
    ['another image', (p) => (replica(p).image = 'docker.io/library/alpine:3'), /only the chart's images/],
    ['another init image', (p) => (p.spec!.initContainers![0]!.image = 'busybox'), /only the chart's images/],
    ['the node root as a hostPath', (p) => p.spec!.volumes!.push({ name: 'root', hostPath: { path: '/' } }), /only hostPath volume is the model volume/],
    ['the model volume pointed elsewhere', (p) => (p.spec!.volumes!.find((v) => v.name === 'models')!.hostPath!.path = '/etc'), /only hostPath volume is the model volume/],
    ['the scheduler service account', (p) => (p.spec!.serviceAccountName = `${prefix}-scheduler`), /no token mounted/],
    ['a mounted token', (p) => (p.spec!.automountServiceAccountToken = true), /no token mounted/],
    ['no replica labels', (p) => (p.metadata!.labels = { app: 'miner' }), /must be a gpumux replica/],
  ])('denies %s', (what, change, message) => {
    const result = admit(policy, mutate(pod, change), what === 'another namespace' ? { namespace: 'kube-system' } : {});
    expect(result).not.toBe('not matched');
    expect(result).toHaveLength(1);
    expect((result as string[])[0]).toMatch(message);
  });
});

describe('with no hostPath model volume (defaults: the model is in the image)', () => {
  const { policy, pod } = setup([]);
  it('admits the replica pod and denies any hostPath', () => {
    expect(admit(policy, pod)).toEqual([]);
    const withHostPath = mutate(pod, (p) => (p.spec!.volumes = [...(p.spec!.volumes ?? []), { name: 'models', hostPath: { path: '/var/lib/gpumux/models' } }]));
    expect(admit(policy, withHostPath)).toEqual(['no hostPath volume']);
  });
  it('can be turned off, and is not rendered before Kubernetes 1.30', () => {
    const kinds = (o: KubeObject[]) => o.filter((x) => x.kind.startsWith('ValidatingAdmissionPolicy'));
    expect(kinds(helmTemplate([], ['admission.enabled=false']))).toEqual([]);
    const old = helm(['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--kube-version', '1.29.0']);
    expect(old.status).toBe(0);
    expect(old.stdout).not.toContain('kind: ValidatingAdmissionPolicy');
  });
});

describe('dra mode in the chart', () => {
  const { policy, pod } = setup([], ['scheduler.gpuMode=dra'], 'dra');
  it('admits the DRA replica pod (claim reference, no nodeName)', () => {
    expect(pod.spec!.resourceClaims).toEqual([{ name: 'gpu', resourceClaimName: 'prod-gpu-0123456789ab' }]);
    expect(pod.spec!.nodeName).toBeUndefined();
    expect(admit(policy, pod)).toEqual([]);
  });
  it('the DRA pod and the GPU ResourceClaim the scheduler creates are valid objects (resource.k8s.io/v1)', () => {
    expect(validateObject(pod as unknown as KubeObject)).toEqual([]);
    const claim = gpuClaim({ name: 'prod-gpu-0123456789ab', namespace: NAMESPACE, release: RELEASE, node: 'gpu-1', gpuIndex: 0, uuid: 'GPU-aaaaaaaa-0000-0000-0000-000000000000' });
    expect(validateObject(claim as unknown as KubeObject)).toEqual([]);
    // the checks bite: a misspelt field and a missing device class
    const broken = structuredClone(claim) as unknown as { spec: { devices: { requests: Record<string, unknown>[] } } };
    broken.spec.devices.requests[0] = { name: 'gpu', exactly: { count: 1, slectors: [] } };
    expect(validateObject(broken as unknown as KubeObject)).toEqual([
      'resource.k8s.io/v1/ResourceClaim prod-gpu-0123456789ab: spec.devices.requests[0].exactly.deviceClassName: required',
      'resource.k8s.io/v1/ResourceClaim prod-gpu-0123456789ab: unknown field /spec/devices/requests/0/exactly/slectors',
    ]);
  });
});
