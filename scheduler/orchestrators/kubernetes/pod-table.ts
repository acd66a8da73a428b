import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../../common/log.js';
import type { ManagedReplica, OrchestratorEvent } from '../types.js';
import type { ObservedGpus } from './observed-gpus.js';
import { createDeathReports, podToReplica } from './pod-state.js';
import { GPU_CLAIM } from './pod-template.js';

/**
 * The replica pods as the list-watch last reported them, which of them are draining, and the events that
 * tell the scheduler something changed. Fed by the orchestrator's watch and its own create/delete answers.
 */
export interface PodTable {
  /** A pod seen (created, updated) or gone (deleted). */
  update(pod: V1Pod, deleted?: boolean): void;
  get(name: string): V1Pod | undefined;
  has(name: string): boolean;
  /** Forgets a pod the API no longer has (a 404 on delete). */
  forget(name: string): void;
  /** Marks a pod draining (it stays in the table, and holds its GPU, until the watch reports it gone). */
  markDraining(name: string): void;
  toReplica(pod: V1Pod): ManagedReplica | null;
  replicas(): ManagedReplica[];
  /** Whether a pod in the table uses this dra claim. */
  usesClaim(name: string): boolean;
  on(listener: (e: OrchestratorEvent) => void): () => boolean;
  emit(e: OrchestratorEvent): void;
}

export interface PodTableOptions {
  replicaPort: number;
  productOf: (node: string) => string;
  /** time-slicing: the card each replica got, learnt from its stats; null in other modes. */
  observed: ObservedGpus | null;
  /** A pod that used a dra claim is gone: its claim may be collected now. */
  onClaimGone: () => void;
  logger: Logger;
}

/** One closure: the pods, the draining set and the listeners are state its short methods share. */
export function createPodTable(options: PodTableOptions): PodTable {
  const { replicaPort, productOf, observed, onClaimGone, logger } = options;
  const pods = new Map<string, V1Pod>();
  const draining = new Set<string>();
  const listeners = new Set<(e: OrchestratorEvent) => void>();
  const deaths = createDeathReports();

  const toReplica = (pod: V1Pod): ManagedReplica | null => {
    const found = podToReplica(pod, replicaPort, productOf);
    const actual = found && observed?.indexOf(found.id);
    const r = found && actual !== undefined && actual !== null ? { ...found, gpuIndex: actual } : found;
    if (r && draining.has(r.id)) return { ...r, phase: 'draining', draining: true };
    return r;
  };
  const table: PodTable = {
    update(pod, deleted = false) {
      const name = pod.metadata?.name;
      if (!name) return;
      if (deleted) {
        pods.delete(name);
        draining.delete(name);
        observed?.forget(name);
        if (claimOf(pod)) onClaimGone();
      } else pods.set(name, pod);
      const r = deleted ? null : toReplica(pod);
      if (observed && r?.url && (r.phase === 'ready' || r.phase === 'starting'))
        void learnGpu(observed, r, logger).then((learnt) => learnt && table.emit({ type: 'changed' }));
      if (r)
        for (const failure of deaths.newIn(name, pod, r)) table.emit({ type: 'failed', replica: r, failure });
      table.emit({ type: 'changed' });
    },
    get: (name) => pods.get(name),
    has: (name) => pods.has(name),
    forget(name) {
      pods.delete(name);
      draining.delete(name);
    },
    markDraining: (name) => void draining.add(name),
    toReplica,
    replicas: () => [...pods.values()].map(toReplica).filter((r): r is ManagedReplica => r !== null),
    usesClaim: (name) => [...pods.values()].some((p) => claimOf(p) === name),
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(e) {
      for (const l of listeners) l(e);
    },
  };
  return table;
}

/** dra: the name of the GPU's ResourceClaim a pod uses. */
export function claimOf(pod: V1Pod): string | undefined {
  return pod.spec?.resourceClaims?.find((c) => c.name === GPU_CLAIM)?.resourceClaimName ?? undefined;
}

/** time-slicing: asks a running replica which card it got; true (and logged) when that was learnt now. */
async function learnGpu(observed: ObservedGpus, r: ManagedReplica, logger: Logger): Promise<boolean> {
  if (!(await observed.learn(r.id, r.node, r.url!))) return false;
  logger.info('replica GPU learnt from its stats', { pod: r.id, node: r.node, gpu: observed.indexOf(r.id) });
  return true;
}
