import type { Logger } from '../common/log.js';
import { gpuUtilization } from '../common/gpu-utilization.js';
import type { ReplicaStats } from '../replica/contract.js';
import type { SchedulerMetrics } from './metrics.js';
import type { BatchChoices, ModelSet } from './model-set.js';
import { fetchReplicaStats } from './orchestrators/replica-stats.js';
import { failureHint } from './orchestrators/failure-cause.js';
import {
  HOST_MEMORY_SETTING,
  type ManagedReplica,
  type OrchestratorEvent,
  type ReplicaFailure,
} from './orchestrators/types.js';
import type { MeasuredUtilization } from './placement/plan.js';
import type { Observation } from './observation.js';
import type { ProfileStore } from './profiles/store.js';
import { nonArenaBytes } from './memory-terms.js';
import { gpuId } from './types.js';

/**
 * Failure feedback for GPUs: a GPU whose replicas crash repeatedly (not OOM — that raises the model's
 * footprint instead) is cordoned for a while: it takes no new replicas, and the plan places them elsewhere.
 */
export interface GpuHealthOptions {
  /** Crashes within `windowMs` that cordon a GPU. */
  crashThreshold?: number;
  windowMs?: number;
  cordonMs?: number;
  now?: () => number;
}

export interface GpuHealth {
  recordFailure(gpu: string, failure: ReplicaFailure): boolean;
  cordoned(): string[];
}

export function createGpuHealth(options: GpuHealthOptions = {}): GpuHealth {
  const { crashThreshold = 3, windowMs = 5 * 60_000, cordonMs = 10 * 60_000, now = Date.now } = options;
  const crashes = new Map<string, number[]>();
  const until = new Map<string, number>();
  return {
    recordFailure(gpu, failure) {
      if (failure.kind !== 'crash') return false;
      const t = now();
      const recent = [...(crashes.get(gpu) ?? []).filter((x) => t - x < windowMs), t];
      crashes.set(gpu, recent);
      if (recent.length < crashThreshold) return false;
      until.set(gpu, t + cordonMs);
      crashes.set(gpu, []);
      return true;
    },
    cordoned() {
      const t = now();
      return [...until]
        .filter(([, u]) => u > t)
        .map(([g]) => g)
        .sort();
    },
  };
}

/** A model version as feedback needs it. */
export interface FeedbackModel {
  name: string;
  version: string;
  /** Its key in profiles and demand: `codetr`, or `codetr@2` beside other versions (types.ts modelLabel). */
  label: string;
  declaredBytes: number;
}

/** The configured models as feedback sees them; `declaredBytes` read when used (a chosen max batch changes it). */
export function feedbackModelsOf(set: ModelSet, batches: BatchChoices): FeedbackModel[] {
  return set.models.map((m) => ({
    name: m.name,
    version: m.version,
    label: set.labelOf(m),
    get declaredBytes() {
      return set.declaredBytes(m, batches);
    },
  }));
}

/** The configured model version a replica runs; by name alone when only one version of it is configured. */
function modelOf(
  models: FeedbackModel[],
  replica: { model: string; version: string },
): FeedbackModel | undefined {
  const named = models.filter((m) => m.name === replica.model);
  return named.length === 1 ? named[0] : named.find((m) => m.version === replica.version);
}

/**
 * Failure feedback, as an orchestrator listener: a CUDA OOM death raises the model's footprint on that GPU
 * product (every instance learns; only the leader persists — one writer for the ConfigMap); a host OOM kill
 * (OOMKilled, exit 137) is the container's memory limit, never the footprint: logged and counted with the
 * setting to raise; other deaths count towards cordoning the GPU.
 */
export function failureFeedback(options: {
  models: FeedbackModel[];
  profiles: ProfileStore;
  gpuHealth: GpuHealth;
  metrics: SchedulerMetrics;
  isLeader: () => boolean;
  logger: Logger;
}): (event: OrchestratorEvent) => void {
  const { models, profiles, gpuHealth, metrics, isLeader, logger } = options;
  return function onFailure(event) {
    if (event.type !== 'failed') return;
    const { replica, failure } = event;
    const model = modelOf(models, replica);
    const label = model?.label ?? replica.model;
    metrics.failures.inc({ model: label, kind: failure.kind });
    const gpu = gpuId(replica);
    if (failure.kind === 'host-oom') {
      metrics.hostOomKills.inc({ model: label, setting: HOST_MEMORY_SETTING });
      logger.warn(`replica OOMKilled for host memory: raise ${HOST_MEMORY_SETTING}`, {
        replica: replica.id,
        model: label,
        node: replica.node,
        exitCode: failure.exitCode,
        setting: HOST_MEMORY_SETTING,
      });
    } else if (failure.kind === 'oom') {
      const counted = model
        ? profiles.footprint(label, replica.product, model.declaredBytes)
        : replica.footprintBytes;
      // a budget refusal says what the arena needed at least: the footprint is that plus what CUDA keeps outside
      const needed =
        failure.neededBytes === undefined
          ? 0
          : failure.neededBytes + nonArenaBytes({ virtual: replica.product === 'virtual' });
      const raised = profiles.recordOom(label, replica.product, Math.max(counted, needed));
      logger.warn('replica died of out-of-memory: footprint raised', {
        replica: replica.id,
        model: label,
        product: replica.product,
        footprintBytes: raised,
      });
      if (isLeader())
        void profiles.flush().catch((err: unknown) => logger.warn('profile save failed', { err }));
    } else if (gpuHealth.recordFailure(gpu, failure)) {
      const hint = failureHint(failure.message);
      // the last crash's own words: a cordon after a model that cannot load is not the GPU's fault
      logger.warn('GPU cordoned after repeated crashes', {
        gpu,
        model: label,
        lastError: failure.message,
        ...(hint ? { hint } : {}),
      });
    }
  };
}

/**
 * Polls every ready or starting replica's /v1/stats: measured footprints (`gpu-used-delta`) go to the
 * profiles, in-flight to demand, busy shares (or nvidia-smi's utilisation) per GPU to placement.
 */
export async function observeReplicas(
  replicas: ManagedReplica[],
  options: { models: FeedbackModel[]; profiles: ProfileStore; logger: Logger },
): Promise<Observation> {
  const { models, profiles, logger } = options;
  const load = new Map(models.map((m) => [m.label, { inFlight: 0, ready: 0 }]));
  const measured = replicas.filter((r) => r.url && (r.phase === 'ready' || r.phase === 'starting'));
  const stats = await Promise.all(measured.map((r) => fetchReplicaStats(r.url!, 1500)));
  const perGpu = new Map<string, ReplicaStats[]>();
  const busy = new Map<string, number[]>();
  measured.forEach((r, i) => {
    const s = stats[i];
    if (!s) return;
    const label = modelOf(models, r)?.label ?? r.model;
    if (s.ready && s.footprint.method === 'gpu-used-delta') {
      if (profiles.observe(label, r.product, Math.max(s.footprint.bytes, s.footprint.peakBytes))) {
        logger.info('measured footprint', {
          model: label,
          product: r.product,
          bytes: s.footprint.bytes,
          peakBytes: s.footprint.peakBytes,
        });
      }
    }
    const l = load.get(label);
    if (l && s.ready && s.state === 'ready') {
      l.ready += 1;
      l.inFlight += s.inFlight;
      const gpu = gpuId(r);
      perGpu.set(gpu, [...(perGpu.get(gpu) ?? []), s]);
      busy.set(label, [...(busy.get(label) ?? []), s.busyRatio]);
    }
  });
  const modelBusy = new Map([...busy].map(([m, xs]) => [m, xs.reduce((a, b) => a + b, 0) / xs.length]));
  const utilization: MeasuredUtilization = new Map();
  const utilizationSources: Observation['utilizationSources'] = [];
  for (const [gpu, samples] of perGpu) {
    const u = gpuUtilization(samples);
    if (!u) continue;
    utilization.set(gpu, { ratio: u.ratio, replicas: samples.length });
    utilizationSources.push({ gpu, ratio: u.ratio, source: u.source });
  }
  return {
    load,
    utilization,
    modelBusy,
    utilizationSources: utilizationSources.sort((a, b) => (a.gpu < b.gpu ? -1 : 1)),
  };
}
