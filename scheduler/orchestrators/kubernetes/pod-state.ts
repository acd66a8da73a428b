import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATIONS, LABELS } from './pod-template.js';
import { classifyFailure, type ManagedReplica, type ReplicaFailure, type ReplicaPhase } from '../types.js';

/** What a pod says about its replica: phase, URL, failure. */
export function podPhase(pod: V1Pod): ReplicaPhase {
  if (pod.metadata?.deletionTimestamp) return 'draining';
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return 'failed';
  if (phase !== 'Running') return 'pending';
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  return ready ? 'ready' : 'starting';
}

/** The replica container's last termination (reason, message, exit code) classified as oom or crash. */
export function podFailure(pod: V1Pod): ReplicaFailure | null {
  const status =
    pod.status?.containerStatuses?.find((c) => c.name === 'replica') ?? pod.status?.containerStatuses?.[0];
  const terminated = status?.state?.terminated ?? status?.lastState?.terminated;
  if (!terminated && pod.status?.phase !== 'Failed') return null;
  const text = [terminated?.reason, terminated?.message, pod.status?.reason, pod.status?.message]
    .filter(Boolean)
    .join('\n');
  return classifyFailure(text, terminated?.exitCode ?? null);
}

export function podToReplica(
  pod: V1Pod,
  replicaPort: number,
  productOf: (node: string) => string,
): ManagedReplica | null {
  const labels = pod.metadata?.labels ?? {};
  const name = pod.metadata?.name;
  const model = labels[LABELS.model];
  const gpu = Number(labels[LABELS.gpu]);
  const node = pod.spec?.nodeName ?? labels[LABELS.node];
  if (!name || !model || !node || !Number.isInteger(gpu)) return null;
  const phase = podPhase(pod);
  const created = pod.metadata?.creationTimestamp
    ? new Date(pod.metadata.creationTimestamp).getTime()
    : Date.now();
  return {
    id: name,
    model,
    version: labels[LABELS.version] ?? '',
    node,
    gpuIndex: gpu,
    footprintBytes: Number(pod.metadata?.annotations?.[ANNOTATIONS.footprintBytes] ?? 0),
    draining: phase === 'draining',
    url: pod.status?.podIP ? `http://${pod.status.podIP}:${replicaPort}` : null,
    phase,
    product: productOf(node),
    startedAt: created,
    restarts: pod.status?.containerStatuses?.reduce((s, c) => s + (c.restartCount ?? 0), 0) ?? 0,
    lastFailure: phase === 'failed' ? podFailure(pod) : null,
  };
}
