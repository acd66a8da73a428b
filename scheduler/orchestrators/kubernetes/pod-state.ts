import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATIONS, LABELS } from './pod-template.js';
import { classifyFailure, type ManagedReplica, type ReplicaFailure, type ReplicaPhase } from '../types.js';
import { podStartFailure, podStartup } from './pod-startup.js';

/** What a pod says about its replica: phase, URL, failure. */
export function podPhase(pod: V1Pod): ReplicaPhase {
  if (pod.metadata?.deletionTimestamp) return 'draining';
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return 'failed';
  if (phase !== 'Running') return 'pending';
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  return ready ? 'ready' : 'starting';
}

/**
 * The replica container's last termination (reason, message, exit code) classified (types.ts
 * classifyFailure: CUDA OOM, host OOMKilled, crash), or a pod that failed before it ran (pod-startup.ts).
 */
export function podFailure(pod: V1Pod): ReplicaFailure | null {
  const early = podStartFailure(pod);
  if (early) return early;
  const status =
    pod.status?.containerStatuses?.find((c) => c.name === 'replica') ?? pod.status?.containerStatuses?.[0];
  const terminated = status?.state?.terminated ?? status?.lastState?.terminated;
  if (!terminated && pod.status?.phase !== 'Failed') return null;
  const text = [terminated?.reason, terminated?.message, pod.status?.reason, pod.status?.message]
    .filter(Boolean)
    .join('\n');
  return classifyFailure(text, terminated?.exitCode ?? null, terminated?.reason);
}

/**
 * A death the kubelet restarted the container from (restartPolicy Always/OnFailure): `lastState.terminated`
 * with the restart count it happened at, so each is reported once. Null when it never restarted.
 */
export function podRestartFailure(pod: V1Pod): { failure: ReplicaFailure; restarts: number } | null {
  const status = pod.status?.containerStatuses?.find((c) => c.name === 'replica');
  const terminated = status?.lastState?.terminated;
  if (!status || !terminated || !status.restartCount) return null;
  const text = [terminated.reason, terminated.message].filter(Boolean).join('\n');
  return {
    failure: classifyFailure(text, terminated.exitCode ?? null, terminated.reason),
    restarts: status.restartCount,
  };
}

/**
 * Which deaths a pod shows that were not reported yet: a failed pod once, and (restartPolicy Always/OnFailure)
 * each container restart the kubelet made once.
 */
export function createDeathReports(): {
  newIn(name: string, pod: V1Pod, replica: ManagedReplica): ReplicaFailure[];
} {
  const reported = new Set<string>();
  const once = (key: string): boolean => !reported.has(key) && Boolean(reported.add(key));
  return {
    newIn(name, pod, r) {
      const deaths: ReplicaFailure[] = [];
      if (r.phase === 'failed' && r.lastFailure && once(name)) deaths.push(r.lastFailure);
      const restarted = r.phase !== 'failed' ? podRestartFailure(pod) : null;
      if (restarted && once(`${name}#${restarted.restarts}`)) deaths.push(restarted.failure);
      return deaths;
    },
  };
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
  const startup = phase === 'pending' || phase === 'starting' ? podStartup(pod) : null;
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
    // the ready timeout counts from the container's start (as the startup probe does), not the pod's creation
    startedAt: startup?.stage === 'warm-up' ? startup.since : created,
    restarts: pod.status?.containerStatuses?.reduce((s, c) => s + (c.restartCount ?? 0), 0) ?? 0,
    lastFailure: phase === 'failed' ? podFailure(pod) : null,
    startup,
    specHash: pod.metadata?.annotations?.[ANNOTATIONS.specHash] ?? '',
  };
}
