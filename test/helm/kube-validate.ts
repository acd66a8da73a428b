import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { admissionregistrationK8sIo, apps, networkingK8sIo, policy, rbacAuthorizationK8sIo, v1 } from 'kubernetes-models';
import type { KubeObject } from './chart.js';

/**
 * Validates a rendered object two ways: kubernetes-models checks it against the Kubernetes OpenAPI schemas
 * (types, required fields, enums, quantities), and a round trip through @kubernetes/client-node's typed
 * serializer finds fields the API does not know (a misspelt key that the schemas' open objects let pass,
 * and that the API server would silently drop).
 */

interface Validatable {
  validate(): void;
}
type ModelConstructor = new (data: never) => Validatable;

const MODELS: Record<string, { model: ModelConstructor; type: string }> = {
  'v1/ConfigMap': { model: v1.ConfigMap, type: 'V1ConfigMap' },
  'v1/Service': { model: v1.Service, type: 'V1Service' },
  'v1/ServiceAccount': { model: v1.ServiceAccount, type: 'V1ServiceAccount' },
  'v1/Pod': { model: v1.Pod, type: 'V1Pod' },
  'v1/PersistentVolumeClaim': { model: v1.PersistentVolumeClaim, type: 'V1PersistentVolumeClaim' },
  'apps/v1/Deployment': { model: apps.v1.Deployment, type: 'V1Deployment' },
  'policy/v1/PodDisruptionBudget': { model: policy.v1.PodDisruptionBudget, type: 'V1PodDisruptionBudget' },
  'networking.k8s.io/v1/Ingress': { model: networkingK8sIo.v1.Ingress, type: 'V1Ingress' },
  'rbac.authorization.k8s.io/v1/Role': { model: rbacAuthorizationK8sIo.v1.Role, type: 'V1Role' },
  'rbac.authorization.k8s.io/v1/RoleBinding': { model: rbacAuthorizationK8sIo.v1.RoleBinding, type: 'V1RoleBinding' },
  'rbac.authorization.k8s.io/v1/ClusterRole': { model: rbacAuthorizationK8sIo.v1.ClusterRole, type: 'V1ClusterRole' },
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': {
    model: admissionregistrationK8sIo.v1.ValidatingAdmissionPolicy,
    type: 'V1ValidatingAdmissionPolicy',
  },
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': {
    model: admissionregistrationK8sIo.v1.ValidatingAdmissionPolicyBinding,
    type: 'V1ValidatingAdmissionPolicyBinding',
  },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    model: rbacAuthorizationK8sIo.v1.ClusterRoleBinding,
    type: 'V1ClusterRoleBinding',
  },
};

/** Kinds from CRDs that kubernetes-models does not ship; the chart tests check their fields directly. */
const CUSTOM_KINDS = new Set(['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PodMonitor']);

export function kindKey(o: { apiVersion: string; kind: string }): string {
  return `${o.apiVersion}/${o.kind}`;
}

/** Paths present in `original` but missing from `roundTripped`. */
function droppedPaths(original: unknown, roundTripped: unknown, path: string, out: string[]): void {
  if (Array.isArray(original)) {
    const other = Array.isArray(roundTripped) ? roundTripped : [];
    original.forEach((item, i) => droppedPaths(item, other[i], `${path}/${i}`, out));
    return;
  }
  if (original !== null && typeof original === 'object') {
    const other = (roundTripped ?? {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(original)) {
      if (value === null || value === undefined) continue;
      if (!(key in other)) out.push(`${path}/${key}`);
      else droppedPaths(value, other[key], `${path}/${key}`, out);
    }
  }
}

/**
 * resource.k8s.io/v1 (Kubernetes 1.34) is newer than kubernetes-models 4 (kubernetes-models 5 needs Node ≥ 22):
 * its objects get the typed round trip (unknown fields) and these required fields and formats, copied from
 * the API reference (ResourceClaimSpec, DeviceRequest, ExactDeviceRequest, DeviceSelector, CELDeviceSelector).
 */
function resourceClaimProblems(o: KubeObject): string[] {
  const problems: string[] = [];
  const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
  const spec = o.spec as { devices?: { requests?: Record<string, unknown>[] } } | undefined;
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(o.metadata.name)) problems.push('metadata.name: not a DNS subdomain');
  if (!spec) problems.push('spec: required');
  for (const [i, r] of (spec?.devices?.requests ?? []).entries()) {
    const at = `spec.devices.requests[${i}]`;
    if (typeof r.name !== 'string' || !dnsLabel.test(r.name)) problems.push(`${at}.name: a DNS label is required`);
    const exactly = r.exactly as Record<string, unknown> | undefined;
    if (!exactly === !r.firstAvailable) problems.push(`${at}: exactly one of exactly, firstAvailable`);
    if (!exactly) continue;
    if (typeof exactly.deviceClassName !== 'string' || !exactly.deviceClassName)
      problems.push(`${at}.exactly.deviceClassName: required`);
    if (exactly.allocationMode !== undefined && !['ExactCount', 'All'].includes(exactly.allocationMode as string))
      problems.push(`${at}.exactly.allocationMode: ExactCount or All`);
    if (exactly.count !== undefined && (!Number.isInteger(exactly.count) || (exactly.count as number) < 1))
      problems.push(`${at}.exactly.count: an integer ≥ 1`);
    for (const [j, s] of ((exactly.selectors as { cel?: { expression?: unknown } }[] | undefined) ?? []).entries()) {
      const expr = s.cel?.expression;
      if (typeof expr !== 'string' || expr.length === 0 || expr.length > 10 * 1024)
        problems.push(`${at}.exactly.selectors[${j}].cel.expression: required, at most 10 KiB`);
    }
  }
  return problems.map((p) => `${kindKey(o)} ${o.metadata.name}: ${p}`);
}

/** Kinds kubernetes-models does not ship but @kubernetes/client-node does: serializer round trip + own checks. */
const CLIENT_ONLY: Record<string, { type: string; check: (o: KubeObject) => string[] }> = {
  'resource.k8s.io/v1/ResourceClaim': { type: 'ResourceV1ResourceClaim', check: resourceClaimProblems },
};

/** Problems with one object; empty when it is valid. */
export function validateObject(o: KubeObject): string[] {
  const key = kindKey(o);
  const entry = MODELS[key] ?? CLIENT_ONLY[key];
  if (!entry) return CUSTOM_KINDS.has(key) ? [] : [`${key}: no schema known to the tests`];
  const problems: string[] = [];
  try {
    if ('model' in entry) new entry.model(structuredClone(o) as never).validate();
    else problems.push(...entry.check(o));
  } catch (err) {
    problems.push(`${key} ${o.metadata.name}: ${(err as Error).message}`);
  }
  const typed: unknown = ObjectSerializer.deserialize(structuredClone(o), entry.type, '');
  const back: unknown = ObjectSerializer.serialize(typed, entry.type, '');
  const dropped: string[] = [];
  droppedPaths(o, back, '', dropped);
  for (const path of dropped) problems.push(`${key} ${o.metadata.name}: unknown field ${path}`);
  return problems;
}
