import type { ReplicaStats } from '../contract.js';
import { processRssBytes } from '../telemetry/rss.js';
import type { Batcher } from './batcher.js';
import type { EngineConfig } from './engine-config.js';
import type { InputSpec } from './infer-validation.js';
import type { ModelSession } from './model-session.js';
import type { EngineLifecycle } from './state.js';
import type { EngineTelemetry } from './telemetry.js';
import { fromOrtType } from './tensors.js';
import type { Engine } from './types.js';
import type { WarmupProgress } from './warmup.js';

/** What `engine.stats()` reads: the engine's parts, each asked at the moment of the call. */
export interface StatsSources {
  replicaId: string;
  config: EngineConfig;
  life: EngineLifecycle;
  telemetry: EngineTelemetry;
  batcher: Pick<Batcher<unknown, unknown>, 'queueLength' | 'running' | 'ewmaServiceSeconds'>;
  busy: { ratio(): number };
  warmup: WarmupProgress;
  startedAt: Date;
}

/** `/v1/stats`: one snapshot of the engine (replica/contract.ts). */
export function engineStats(from: StatsSources): ReplicaStats {
  const { replicaId, config, life, telemetry, batcher, busy, warmup, startedAt } = from;
  const { manifest, maxQueue, maxBatch, maxInferBodyBytes } = config;
  const state = life.current;
  return {
    replicaId,
    model: manifest.name,
    version: manifest.version,
    state,
    ready: state === 'ready',
    device: telemetry.current().device(),
    footprint: telemetry.current().footprint(),
    queueLength: batcher.queueLength,
    queueCapacity: maxQueue,
    inFlight: batcher.queueLength + batcher.running,
    maxBatch,
    warmup: warmup.snapshot(),
    maxBodyBytes: manifest.limits.maxBodyBytes,
    maxInferBodyBytes,
    ewmaServiceSeconds: batcher.ewmaServiceSeconds,
    busyRatio: busy.ratio(),
    processRssBytes: processRssBytes(),
    startedAt: startedAt.toISOString(),
    uptimeSeconds: (Date.now() - startedAt.getTime()) / 1000,
    requestsTotal: life.totals.requests,
    framesTotal: life.totals.frames,
    errorsTotal: life.totals.errors,
  };
}

/** v2 model metadata: the session's inputs and outputs, or before load what the manifest promises. */
export function engineMetadata(
  session: ModelSession | null,
  specs: readonly InputSpec[],
): ReturnType<Engine['metadata']> {
  const describe = (m: ModelSession['inputMetadata']) =>
    m.map((v) => ({
      name: v.name,
      datatype: v.isTensor ? (fromOrtType(v.type) ?? v.type.toUpperCase()) : 'UNKNOWN',
      shape: v.isTensor ? v.shape.map((d) => (typeof d === 'number' ? d : -1)) : [],
    }));
  if (session) return { inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) };
  // before load: dims unknown until the session says
  return {
    inputs: specs.map((s) => ({ name: s.name, datatype: s.datatype, shape: [-1, ...s.rowShape([-1, -1])] })),
    outputs: [],
  };
}
