/**
 * What the scheduler plans next, as the scheduler publishes it (`GET /v1/plan`, or in process in the local
 * stack) and the gateway shows it in its operator view. It lives in common/ because both read it and
 * neither may import the other (docs/contracts.md §6).
 */
export interface PlanAction {
  /** `move`: a copy is created on node/gpuIndex; the replica `replicaId` is drained once the copy is ready. */
  type: 'create' | 'drain' | 'delete' | 'move';
  model: string;
  node: string;
  gpuIndex: number;
  replicaId: string | null;
  reason: string;
}

/** A GPU the scheduler knows of, with or without replicas. */
export interface PlanGpu {
  node: string;
  index: number;
  name: string | null;
  memoryTotalBytes: number;
  memoryReservedBytes: number;
  virtual: boolean;
  /** Replicas the plan puts here (kept and new), per model: which models fill this GPU. */
  models?: { model: string; replicas: number }[] | undefined;
  /** Measured compute utilisation of what runs here (0..1), null when no replica reports. */
  utilization?: number | null | undefined;
  /** Kept free for a waiting model (see `unplaced`). */
  reservedFor?: string | null | undefined;
}

/** A model the plan could not place in full, and why each GPU refused its next replica. */
export interface PlanUnplaced {
  model: string;
  count: number;
  reason: string;
  gpus: { gpu: string; reason: string }[];
}

/** A model whose replicas are being replaced (scheduler/rollout.ts): "rolling N of M". */
export interface PlanRollout {
  model: string;
  /** `spec changed` (image, resources, args, model url/sha256, max batch…), `node cordoned`, or both. */
  reason: string;
  /** Replicas already on today's spec and schedulable nodes, of `total`. */
  replaced: number;
  total: number;
  /** `rolling <replaced> of <total>` */
  status: string;
  /** The GPU of the step in progress (one GPU at a time), null between steps. */
  step: string | null;
  /** Why no step starts for this model now (no room for a copy, max unavailable reached), else null. */
  waiting: string | null;
}

/** A replica that is not ready yet: the stage it is in, for how long, and the kubelet's reason if stuck. */
export interface PlanStarting {
  replicaId: string;
  model: string;
  node: string;
  gpuIndex: number;
  stage: 'schedule' | 'pull' | 'fetch' | 'warm-up';
  reason: string | null;
  seconds: number;
  /** The stage's bounded wait, seconds: past it the replica is deleted and tried again. */
  limitSeconds: number;
}

/** A replica that never started, recently: what happened, when the model is tried again, the node avoided. */
export interface PlanStartFailure {
  model: string;
  node: string;
  reason: string;
  at: string;
  retryAt: string;
  nodeAvoidedUntil: string | null;
}

/** A replica that died and is being restarted (or has failed), with its own last error. */
export interface PlanFailure {
  replica: string;
  model: string;
  gpu: string;
  kind: 'oom' | 'host-oom' | 'crash' | 'warmup-budget' | 'not-started' | 'gpu-assignment';
  message: string;
  /** What to do about it, where the cause is one an operator fixes (e.g. a missing model file). */
  hint: string | null;
  restarts: number;
}

/**
 * The placement policies' names, here because the gateway reads them in a plan and cannot import the
 * scheduler; the scheduler's registry (scheduler/placement/policy.ts) must hold a policy for exactly these.
 */
export const POLICY_NAMES = ['throughput', 'binpack', 'spread'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export interface PlanView {
  generatedAt: string;
  policy: PolicyName;
  /** Cluster memory utilisation once the plan is applied. */
  memoryUtilization: number;
  actions: PlanAction[];
  /**
   * The scheduler's GPU inventory. The gateway only learns of a GPU from the replicas on it; with this an
   * empty GPU (free headroom the plan can use) still shows in the operator view.
   */
  gpus?: PlanGpu[] | undefined;
  unplaced?: PlanUnplaced[];
  /** Replicas not ready whose last start failed: their own last error, so a crash loop shows its cause. */
  failures?: PlanFailure[];
  /**
   * The seed's setup on these GPUs, for a fair comparison: memory utilisation with one replica per GPU
   * (the largest model first), as the seed ran one Co-DETR per RTX 4090 (40 %).
   */
  seedMemoryUtilization?: number;
  rollouts?: PlanRollout[];
  starting?: PlanStarting[];
  startFailures?: PlanStartFailure[];
}
