import type { Logger } from '../../common/log.js';
import type { Gpu } from '../types.js';

/**
 * Nodes the scheduler stops placing on, and why: a replica there exited with REPLICA_EXIT_CODES.gpuAssignment
 * (the container did not see exactly the GPU it was pinned to — the node's runtime ignores the pinning), so
 * every replica placed there would run on a wrong card or none. Kept until the scheduler restarts (fix the
 * node, then restart the scheduler: `kubectl rollout restart deployment/<release>-gpumux-scheduler`).
 */
export interface RefusedNodes {
  refuse(node: string, reason: string): void;
  /** The GPUs of nodes not refused. */
  filter(gpus: Gpu[]): Gpu[];
  list(): { node: string; reason: string; since: string }[];
}

export function createRefusedNodes(options: { logger: Logger; now?: () => number }): RefusedNodes {
  const { logger, now = Date.now } = options;
  const refused = new Map<string, { reason: string; since: string }>();
  return {
    refuse(node, reason) {
      if (refused.has(node)) return;
      refused.set(node, { reason, since: new Date(now()).toISOString() });
      logger.error('node refused: no more replicas are placed on it', { node, reason });
    },
    filter: (gpus) => gpus.filter((g) => !refused.has(g.node)),
    list: () => [...refused].map(([node, r]) => ({ node, ...r })),
  };
}
