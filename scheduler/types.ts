/** The scheduler's own vocabulary, shared by inventory, placement, demand and the orchestrators. */

/** One physical (or virtual) GPU: the unit of accounting (HAMi's DeviceUsage idea). */
export interface Gpu {
  node: string;
  index: number;
  memoryBytes: number;
  product: string;
  /** True for virtual GPUs (CPU replicas standing for a configured capacity). */
  virtual?: boolean;
  /**
   * Takes no new replicas: its node is cordoned (its replicas are replaced elsewhere, copy first) or NotReady
   * within the grace period (its replicas are kept, not replaced, until the grace runs out).
   */
  unschedulable?: 'cordoned' | 'not-ready';
  /** `GPU-<uuid>` where known (inventory/gpu-uuids.ts): replicas are pinned by it, not by the index. */
  uuid?: string;
}

/** `<node>/<index>`, of a GPU or of the GPU a replica is on (`gpuIndex`). */
export function gpuId(at: { node: string; index: number } | { node: string; gpuIndex: number }): string {
  return `${at.node}/${'index' in at ? at.index : at.gpuIndex}`;
}

/** Sorts GPUs by node, then index: the order every deterministic tie-break falls back to. */
export function compareGpus(a: { node: string; index: number }, b: { node: string; index: number }): number {
  return a.node < b.node ? -1 : a.node > b.node ? 1 : a.index - b.index;
}

/** A model as the planner sees it: footprint to count and how many replicas are wanted. */
export interface ModelPlan {
  name: string;
  version: string;
  /** Bytes to count per replica (declared, or measured × (1 + margin)), possibly per GPU product. */
  footprintBytes: number | ((gpu: Gpu) => number);
  minReplicas: number;
  /** Wanted replicas; Infinity = as many as fit (plan's fill mode). Clamped to [min, max] by the caller. */
  desiredReplicas: number;
  /**
   * GPU compute one replica takes (0..1), as its replicas' `busyRatio` measures it; the throughput policy
   * counts it for replicas no GPU measurement covers. Unknown: the mean measured share, else 1.
   */
  busyPerReplica?: number;
}

/** A replica that exists (running, starting or pending) as the orchestrator reports it. */
export interface ExistingReplica {
  id: string;
  model: string;
  version: string;
  node: string;
  gpuIndex: number;
  footprintBytes: number;
  /** Draining replicas are on their way out: they still hold memory but are not counted as wanted. */
  draining?: boolean;
  /** Serving (default true). A move's new copy must be ready before the replica it replaces is drained. */
  ready?: boolean;
  /** Set on a move's new copy: the id of the replica it replaces (drained once this one is ready). */
  replaces?: string | null;
  /** Created from a spec that is no longer today's (scheduler/rollout.ts): removed first when surplus. */
  outdated?: boolean;
}

/** One replica in the desired state: kept (existingId set) or to be created. */
export interface PlacedReplica {
  model: string;
  version: string;
  node: string;
  gpuIndex: number;
  footprintBytes: number;
  existingId: string | null;
  /** Why this GPU (new replicas): the policy's pick, in words. */
  reason?: string;
  /** A move's new copy: the id of the existing replica it replaces. */
  moveOf?: string;
}

/**
 * How a model is told apart in a plan: by name (`codetr`), or by name and version (`codetr@2`) when several
 * versions of that name are planned side by side. Demand, profiles, metrics labels and the plan's rows use it.
 */
export function modelLabel(name: string, version: string, versioned: Iterable<string>): string {
  for (const v of versioned) if (v === name) return `${name}@${version}`;
  return name;
}

/** Names that appear with more than one version (sorted). */
export function versionedNames(models: Iterable<{ name: string; version: string }>): string[] {
  const versions = new Map<string, Set<string>>();
  for (const m of models) versions.set(m.name, (versions.get(m.name) ?? new Set()).add(m.version));
  return [...versions]
    .filter(([, vs]) => vs.size > 1)
    .map(([n]) => n)
    .sort();
}
