import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { apps, networkingK8sIo, policy, rbacAuthorizationK8sIo, v1 } from 'kubernetes-models';
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

/** Problems with one object; empty when it is valid. */
export function validateObject(o: KubeObject): string[] {
  const key = kindKey(o);
  const entry = MODELS[key];
  if (!entry) return CUSTOM_KINDS.has(key) ? [] : [`${key}: no schema known to the tests`];
  const problems: string[] = [];
  try {
    new entry.model(structuredClone(o) as never).validate();
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
