import type { V1Container, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { KubeObject } from './chart.js';

/** Every pod spec the chart produces — workloads, the helm test pod and the replica template — by owner. */
export function podSpecs(objects: KubeObject[]): { owner: string; spec: V1PodSpec }[] {
  const out: { owner: string; spec: V1PodSpec }[] = [];
  for (const o of objects) {
    const name = `${o.kind}/${o.metadata.name}`;
    if (o.kind === 'Deployment') {
      const spec = (o as unknown as { spec: { template: { spec: V1PodSpec } } }).spec.template.spec;
      out.push({ owner: name, spec });
    } else if (o.kind === 'Pod') {
      out.push({ owner: name, spec: (o as unknown as V1Pod).spec! });
    } else if (o.kind === 'ConfigMap' && (o as { data?: Record<string, string> }).data?.['replica-pod.yaml']) {
      out.push({ owner: `${name}[replica-pod.yaml]`, spec: replicaTemplate(o).spec! });
    }
  }
  return out;
}

export function replicaTemplate(configMap: KubeObject): V1Pod {
  const text = (configMap as unknown as { data: Record<string, string> }).data['replica-pod.yaml'];
  if (!text) throw new Error(`${configMap.metadata.name} has no replica-pod.yaml`);
  return parse(text) as V1Pod;
}

export function allContainers(spec: V1PodSpec): V1Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}
