/**
 * What the scheduler plans next, as the scheduler publishes it (`GET /v1/plan`, or in process in the local
 * stack) and the gateway shows it in its operator view. It lives in common/ because both read it and
 * neither may import the other (docs/contracts.md §6).
 */
export interface PlanAction {
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
}

export interface PlanView {
  generatedAt: string;
  policy: 'binpack' | 'spread';
  /** Cluster memory utilisation once the plan is applied. */
  memoryUtilization: number;
  actions: PlanAction[];
  /**
   * The scheduler's GPU inventory. The gateway only learns of a GPU from the replicas on it; with this an
   * empty GPU (free headroom the plan can use) still shows in the operator view.
   */
  gpus?: PlanGpu[];
}
