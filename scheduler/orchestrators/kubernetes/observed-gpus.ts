import type { ReplicaStats } from '../../../replica/contract.js';
import { fetchReplicaStats } from '../replica-stats.js';

/**
 * time-slicing: the NVIDIA device plugin, not the scheduler, picks each replica's card, so the GPU in the pod's
 * label is only the scheduler's guess. Once a replica answers, its /v1/stats `device.uuid` says which card it
 * got; mapped to the node's index through the inventory's UUIDs, that becomes the replica's GPU in the
 * scheduler's view (placement, per-GPU accounting). Replicas whose card is not known yet keep the guess.
 */
export interface ObservedGpus {
  /** The index the replica really runs on, when learnt. */
  indexOf(replica: string): number | undefined;
  /** Asks a running replica once for its GPU (again after a failed try); resolves true when something was learnt. */
  learn(replica: string, node: string, url: string): Promise<boolean>;
  forget(replica: string): void;
}

export function createObservedGpus(options: {
  /** The index of the GPU with this UUID on that node (inventory), if known. */
  indexOfUuid: (node: string, uuid: string) => number | undefined;
  fetchStats?: (url: string) => Promise<ReplicaStats | null>;
}): ObservedGpus {
  const { indexOfUuid, fetchStats = (url) => fetchReplicaStats(url, 1500) } = options;
  const learnt = new Map<string, number>();
  const asking = new Set<string>();
  return {
    indexOf: (replica) => learnt.get(replica),
    async learn(replica, node, url) {
      if (learnt.has(replica) || asking.has(replica)) return false;
      asking.add(replica);
      try {
        const uuid = (await fetchStats(url))?.device.uuid;
        const index = uuid ? indexOfUuid(node, uuid) : undefined;
        if (index === undefined) return false;
        learnt.set(replica, index);
        return true;
      } finally {
        asking.delete(replica);
      }
    },
    forget: (replica) => void learnt.delete(replica),
  };
}
