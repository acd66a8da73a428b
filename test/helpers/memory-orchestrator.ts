import type {
  ManagedReplica,
  Orchestrator,
  OrchestratorEvent,
  ReplicaPhase,
  ReplicaRequest,
} from '../../scheduler/orchestrators/types.js';

export interface MemoryOrchestratorOptions {
  /** Replicas running from the start; unset fields: model `model`, version 1, local/0, pending, `virtual`. */
  initial?: Partial<ManagedReplica>[];
  /**
   * The URL of every replica not given one: null (default) means no /v1/stats to read and removal without a
   * drain; `http://127.0.0.1:1` refuses at once (no stats) but makes the scheduler drain before it deletes.
   */
  url?: string | null;
}

/**
 * An orchestrator that keeps replicas in memory, for tests of the scheduler's loop: it records every request
 * and call (`create r0 small@1`, `drain s0`, `remove s0`), created replicas stay pending until the test moves
 * them through their phases (`set`), and `emit` plays an orchestrator event to the listeners.
 */
export function memoryOrchestrator(options: MemoryOrchestratorOptions = {}) {
  const { initial = [], url = null } = options;
  const replicas = new Map<string, ManagedReplica>();
  const listeners = new Set<(e: OrchestratorEvent) => void>();
  const requests: ReplicaRequest[] = [];
  const calls: string[] = [];
  const removed: string[] = [];
  let next = 0;
  const add = (r: Partial<ManagedReplica>): ManagedReplica => {
    const replica: ManagedReplica = {
      id: r.id ?? `r${next++}`,
      model: 'model',
      version: '1',
      node: 'local',
      gpuIndex: 0,
      footprintBytes: 0,
      url,
      phase: 'pending',
      product: 'virtual',
      startedAt: Date.now(),
      restarts: 0,
      lastFailure: null,
      ...r,
    };
    replicas.set(replica.id, replica);
    return replica;
  };
  initial.forEach(add);
  const orchestrator: Orchestrator = {
    kind: 'local',
    start: () => Promise.resolve(),
    replicas: () => [...replicas.values()].map((r) => ({ ...r })),
    create(request) {
      requests.push(request);
      const r = add({
        model: request.model,
        version: request.version,
        node: request.node,
        gpuIndex: request.gpuIndex,
        footprintBytes: request.footprintBytes,
        ...(request.specHash !== undefined ? { specHash: request.specHash } : {}),
      });
      calls.push(`create ${r.id} ${r.model}@${r.gpuIndex}`);
      return Promise.resolve({ ...r });
    },
    drain(id) {
      calls.push(`drain ${id}`);
      const r = replicas.get(id);
      if (r) r.phase = 'draining';
      return Promise.resolve();
    },
    remove(id) {
      calls.push(`remove ${id}`);
      removed.push(id);
      replicas.delete(id);
      return Promise.resolve();
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: () => Promise.resolve(),
  };
  return {
    orchestrator,
    requests,
    calls,
    removed,
    set(id: string, phase: ReplicaPhase): void {
      replicas.get(id)!.phase = phase;
    },
    has: (id: string): boolean => replicas.has(id),
    emit(event: OrchestratorEvent): void {
      for (const l of listeners) l(event);
    },
  };
}

export type MemoryOrchestrator = ReturnType<typeof memoryOrchestrator>;
