import { createHash } from 'node:crypto';
import type { SchedulerModel } from './model-set.js';

/** JSON with object keys sorted at every depth: the same value always gives the same text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/**
 * What defines a model's replicas, hashed (16 hex digits): the orchestrator's runtime spec (the rendered pod
 * template with image, resources, env, args, init containers; the local launch flags), the model entry
 * (manifest, ONNX path, version, url and sha256 of its file) and the max batch it runs with. Placement (node,
 * GPU, footprint) is not part of it: a replica is outdated when this differs, not when it sits elsewhere.
 */
export function replicaSpecHash(
  runtime: unknown,
  model: Pick<SchedulerModel, 'name' | 'version' | 'manifest' | 'onnx' | 'pinVersion' | 'url' | 'sha256'>,
  maxBatch: number | undefined,
): string {
  const entry = {
    name: model.name,
    version: model.version,
    manifest: model.manifest,
    onnx: model.onnx,
    pinVersion: model.pinVersion,
    url: model.url,
    sha256: model.sha256,
  };
  return createHash('sha256')
    .update(canonical({ runtime: runtime ?? null, model: entry, maxBatch: maxBatch ?? null }))
    .digest('hex')
    .slice(0, 16);
}

/** Today's spec hash per model, worked out once per pass per desired spec (not once per replica). */
export interface SpecHashes {
  /** The hash a replica of this model is created with today. */
  of: (model: SchedulerModel) => string;
  /** A pass begins: the runtime spec is read again, and each model's hash worked out again when first asked. */
  newPass: () => void;
}

/**
 * `runtimeSpec` is the orchestrator's (Orchestrator.runtimeSpec), `maxBatchOf` the max batch a model's
 * replicas run with (chosen or configured): a chosen max batch changes the hash within the pass it is chosen.
 */
export function createSpecHashes(
  runtimeSpec: () => unknown,
  maxBatchOf: (model: SchedulerModel) => number | undefined,
): SpecHashes {
  let runtime: { spec: unknown } | null = null;
  const hashes = new Map<SchedulerModel, Map<number | undefined, string>>();
  return {
    of(model) {
      runtime ??= { spec: runtimeSpec() };
      const maxBatch = maxBatchOf(model);
      const byBatch = hashes.get(model) ?? new Map<number | undefined, string>();
      hashes.set(model, byBatch);
      let hash = byBatch.get(maxBatch);
      if (hash === undefined) byBatch.set(maxBatch, (hash = replicaSpecHash(runtime.spec, model, maxBatch)));
      return hash;
    },
    newPass() {
      runtime = null;
      hashes.clear();
    },
  };
}
