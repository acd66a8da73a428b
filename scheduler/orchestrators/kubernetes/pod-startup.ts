import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { ReplicaFailure, StartupState } from '../types.js';
import { REPLICA_CONTAINER } from './pod-template.js';

/**
 * Where a replica pod that is not ready stands, read the way the kubelet reports it:
 * - `schedule`: not bound or not yet taken up by its node's kubelet (no container statuses), or
 *   `PodScheduled=False` (reason `Unschedulable`…);
 * - `fetch`: an init container (the model fetch) is running or waiting;
 * - `pull`: the replica container is waiting to be created (`ContainerCreating`, `ErrImagePull`,
 *   `ImagePullBackOff`, `CreateContainerConfigError`…);
 * - `warm-up`: the replica container runs (since its `state.running.startedAt`) and is not ready yet.
 */

/** Waiting reasons that are errors (the kubelet retries, but something is wrong with the node or the spec). */
export const STUCK_REASONS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'Unschedulable',
]);

const time = (t: Date | string | undefined): number | null => (t ? new Date(t).getTime() : null);

function replicaStatus(pod: V1Pod): V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === REPLICA_CONTAINER);
}

/** The startup stage of a Pending or Running-but-not-ready pod; null once ready or finished. */
export function podStartup(pod: V1Pod): StartupState | null {
  const created = time(pod.metadata?.creationTimestamp) ?? Date.now();
  const phase = pod.status?.phase;
  const conditions = pod.status?.conditions ?? [];
  if (phase === 'Running') {
    if (conditions.find((c) => c.type === 'Ready')?.status === 'True') return null;
    const running = replicaStatus(pod)?.state?.running;
    const since = time(running?.startedAt) ?? time(pod.status?.startTime) ?? created;
    return { stage: 'warm-up', since, reason: null };
  }
  if (phase !== 'Pending' && phase !== undefined) return null;
  const scheduled = conditions.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False')
    return {
      stage: 'schedule',
      since: time(scheduled.lastTransitionTime) ?? created,
      reason: scheduled.reason ?? null,
      ...(scheduled.message ? { message: scheduled.message } : {}),
    };
  const scheduledAt = time(scheduled?.lastTransitionTime) ?? created;
  const inits = pod.status?.initContainerStatuses ?? [];
  const initPending = inits.find((c) => !(c.state?.terminated?.exitCode === 0));
  if (initPending) {
    const waiting = initPending.state?.waiting;
    const pulling = waiting && waiting.reason !== 'PodInitializing';
    return {
      stage: pulling ? 'pull' : 'fetch',
      since: time(initPending.state?.running?.startedAt) ?? scheduledAt,
      reason: waiting?.reason && STUCK_REASONS.has(waiting.reason) ? waiting.reason : null,
      ...(waiting?.message ? { message: waiting.message } : {}),
    };
  }
  const container = replicaStatus(pod);
  if (!container) return { stage: 'schedule', since: created, reason: null };
  const waiting = container.state?.waiting;
  const initDone = Math.max(0, ...inits.map((c) => time(c.state?.terminated?.finishedAt) ?? 0));
  return {
    stage: 'pull',
    since: initDone || scheduledAt,
    reason: waiting?.reason && STUCK_REASONS.has(waiting.reason) ? waiting.reason : null,
    ...(waiting?.message ? { message: waiting.message } : {}),
  };
}

/**
 * A pod that failed before its replica container ever ran: an init container (the model fetch) exited
 * non-zero (restartPolicy Never makes the pod Failed), or the kubelet refused it (`OutOfcpu`,
 * `UnexpectedAdmissionError`…). Null when the replica container ran (its own failure) or nothing failed.
 */
export function podStartFailure(pod: V1Pod): ReplicaFailure | null {
  if (pod.status?.phase !== 'Failed') return null;
  const container = replicaStatus(pod);
  if (container?.state?.terminated?.startedAt || container?.lastState?.terminated) return null;
  if (container?.state?.terminated && !pod.status?.initContainerStatuses?.length) return null;
  const init = pod.status?.initContainerStatuses?.find(
    (c) => (c.state?.terminated?.exitCode ?? 0) !== 0 || (c.lastState?.terminated?.exitCode ?? 0) !== 0,
  );
  const terminated = init?.state?.terminated ?? init?.lastState?.terminated;
  if (init && terminated) {
    const detail = terminated.message?.trim().split('\n').slice(-2).join(' | ').slice(0, 400);
    return {
      kind: 'not-started',
      message: `init container ${init.name} exited with ${terminated.exitCode}${detail ? `: ${detail}` : ''}`,
      exitCode: terminated.exitCode ?? null,
      stage: 'fetch',
    };
  }
  if (container?.state?.terminated) return null;
  const reason = [pod.status?.reason, pod.status?.message].filter(Boolean).join(': ');
  return {
    kind: 'not-started',
    message: reason || 'pod failed before it started',
    exitCode: null,
    stage: 'schedule',
  };
}
