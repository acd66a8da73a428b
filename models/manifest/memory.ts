import type { Manifest } from './schema.js';

/**
 * The footprint a manifest declares for one max batch, before any replica has measured one. A replica warms
 * up at its max batch and keeps that peak for life, so the figure to count is the one for the max batch the
 * replica runs with — the manifest's `batching.maxBatch`, a replica's `--max-batch`, or the one the scheduler
 * chose (scheduler/placement/max-batch.ts) — never simply `memory.declaredBytes`.
 */
export interface DeclaredFootprint {
  bytes: number;
  maxBatch: number;
  /** How the figure was obtained, for logs and operators. */
  source: string;
  /** Declared for exactly this max batch (false: bounded or extrapolated from other entries). */
  exact: boolean;
}

/**
 * `memory.byMaxBatch[maxBatch]` when the table has that entry; else the smallest larger entry (an upper
 * bound: memory never shrinks with the batch, which the schema enforces); past the last entry, a straight
 * line through the last two (activations grow linearly with the batch), or the last entry when it is the
 * only one. Without a table: `memory.declaredBytes`, which holds for `batching.maxBatch`.
 */
export function declaredFootprintAt(
  manifest: Pick<Manifest, 'memory' | 'batching'>,
  maxBatch: number = manifest.batching.maxBatch,
): DeclaredFootprint {
  const { memory } = manifest;
  const table = [...(memory.byMaxBatch ?? [])].sort((a, b) => a.maxBatch - b.maxBatch);
  if (table.length === 0) {
    const exact = maxBatch === manifest.batching.maxBatch;
    return {
      bytes: memory.declaredBytes,
      maxBatch,
      exact,
      source: exact
        ? 'memory.declaredBytes'
        : `memory.declaredBytes (declared for max batch ${manifest.batching.maxBatch}; no memory.byMaxBatch)`,
    };
  }
  const hit = table.find((e) => e.maxBatch === maxBatch);
  if (hit)
    return { bytes: hit.declaredBytes, maxBatch, exact: true, source: `memory.byMaxBatch[${maxBatch}]` };
  const above = table.find((e) => e.maxBatch > maxBatch);
  if (above) {
    return {
      bytes: above.declaredBytes,
      maxBatch,
      exact: false,
      source: `memory.byMaxBatch[${above.maxBatch}] (no entry for ${maxBatch}: the next larger one, an upper bound)`,
    };
  }
  const last = table.at(-1)!;
  const prev = table.at(-2);
  if (!prev) {
    return {
      bytes: last.declaredBytes,
      maxBatch,
      exact: false,
      source: `memory.byMaxBatch[${last.maxBatch}] (the only entry; nothing declared for ${maxBatch})`,
    };
  }
  const perFrame = (last.declaredBytes - prev.declaredBytes) / (last.maxBatch - prev.maxBatch);
  return {
    bytes: Math.ceil(last.declaredBytes + perFrame * (maxBatch - last.maxBatch)),
    maxBatch,
    exact: false,
    source: `extrapolated from memory.byMaxBatch[${prev.maxBatch}] and [${last.maxBatch}] (linear in the batch)`,
  };
}

/** One entry of a manifest's footprint table: the bytes declared for a max batch. */
export interface BatchFootprint {
  maxBatch: number;
  footprintBytes: number;
}

/** A manifest's footprints per max batch: memory.byMaxBatch, or its one declared size at batching.maxBatch. */
export function declaredByMaxBatch(
  memory: { declaredBytes: number; byMaxBatch?: { maxBatch: number; declaredBytes: number }[] | undefined },
  maxBatch: number,
): BatchFootprint[] {
  const table = memory.byMaxBatch ?? [{ maxBatch, declaredBytes: memory.declaredBytes }];
  return table.map((e) => ({ maxBatch: e.maxBatch, footprintBytes: e.declaredBytes }));
}
