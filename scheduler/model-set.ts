import type { BatchFootprint } from '../models/manifest/memory.js';
import type { MaxBatchCandidate } from './placement/max-batch.js';
import { modelLabel, versionedNames } from './types.js';

/** A model the scheduler keeps running. */
export interface SchedulerModel {
  name: string;
  version: string;
  /**
   * Footprint counted per replica until one is measured: what the manifest declares for the max batch its
   * replicas run with (models/manifest/memory.ts; a max batch the scheduler chooses brings its own figure).
   */
  declaredBytes: number;
  /**
   * The manifest's footprint per max batch (memory.byMaxBatch). With it and no `maxBatch`, the scheduler
   * chooses the max batch at its first pass that knows the GPUs (placement/max-batch.ts: the largest
   * that keeps the packing) and keeps it.
   */
  footprintByMaxBatch?: readonly BatchFootprint[];
  /** The max batch replicas run with (`--max-batch`): set by the user or chosen; undefined = the manifest's. */
  maxBatch?: number;
  /** Manifest folder as the replica sees it (inside the image on Kubernetes). */
  manifest: string;
  onnx?: string;
  /** Where its ONNX file is fetched from and its sha256 (the chart's models[].url/sha256): part of the spec hash. */
  url?: string;
  sha256?: string;
  minReplicas: number;
  maxReplicas: number;
  /** Replicas to start with (default minReplicas). */
  initialReplicas?: number;
  targetInFlightPerReplica: number;
  /** Client-side p95 latency (seconds) above which demand adds a replica. */
  targetP95Seconds?: number;
  /**
   * This version's share of the model's unversioned traffic (the gateway's `versions.split` weight): the
   * gateway's queue for the model is split between its versions by these weights when every version has one
   * (else by the split the gateway reports, else equally).
   */
  trafficWeight?: number;
  /**
   * The replica is told its version (`--model-version`) instead of reading the manifest's, and its name
   * carries it: set when the configuration names the version, and for every version of a model planned twice.
   */
  pinVersion?: boolean;
}

/** The max batch chosen for a model (placement/max-batch.ts) and the footprint the manifest declares for it. */
export interface ChosenBatch {
  maxBatch: number;
  declaredBytes: number;
}

/** Chosen max batches by model label: kept by the control loop for its life. */
export type BatchChoices = ReadonlyMap<string, ChosenBatch>;

/** The configured model versions, and how the plan tells them apart. */
export interface ModelSet {
  readonly models: readonly SchedulerModel[];
  /** Names configured with more than one version (types.ts versionedNames). */
  readonly versioned: string[];
  /** `codetr`, or `codetr@2` beside another version (types.ts modelLabel). */
  labelOf(m: { name: string; version: string } | { model: string; version: string }): string;
  /** The configured model a planned replica is of. */
  find(model: string, version: string): SchedulerModel | undefined;
  /** Counted per replica until measured: the chosen max batch's figure, else the configured one. */
  declaredBytes(m: SchedulerModel, choices: BatchChoices): number;
  /** `--max-batch` for its replicas: chosen, else the user's, else undefined (the manifest's). */
  maxBatch(m: SchedulerModel, choices: BatchChoices): number | undefined;
  /** The models whose max batch is still to choose: a footprint table, no max batch set, none chosen yet. */
  maxBatchesToChoose(choices: BatchChoices): MaxBatchCandidate[];
}

export function modelSet(configured: readonly SchedulerModel[]): ModelSet {
  const models = configured.map((m) => ({ ...m }));
  // Each model version is planned on its own: `codetr`, or `codetr@1` and `codetr@2` side by side.
  const versioned = versionedNames(models);
  const labelOf: ModelSet['labelOf'] = (m) =>
    modelLabel('name' in m ? m.name : m.model, m.version, versioned);
  return {
    models,
    versioned,
    labelOf,
    find: (model, version) => models.find((m) => m.name === model && m.version === version),
    declaredBytes: (m, choices) => choices.get(labelOf(m))?.declaredBytes ?? m.declaredBytes,
    maxBatch: (m, choices) => choices.get(labelOf(m))?.maxBatch ?? m.maxBatch,
    maxBatchesToChoose: (choices) =>
      models
        .filter((m) => m.footprintByMaxBatch?.length && m.maxBatch === undefined && !choices.has(labelOf(m)))
        .map((m) => ({ key: labelOf(m), model: m.name, table: m.footprintByMaxBatch! })),
  };
}
