import { formatBytes } from '../../common/bytes.js';
import type { Logger } from '../../common/log.js';
import type { BatchFootprint } from '../../models/manifest/memory.js';
import { gpuId, type ModelPlan } from '../types.js';
import { planPlacement, type PlacementInput } from './plan.js';

/**
 * The one place that chooses a replica's max batch. A replica warms up at its max batch, so its footprint for
 * life is that batch's peak: a larger max batch holds more frames per replica but fits fewer replicas per GPU.
 * For a model whose manifest declares its footprint per max batch (memory.byMaxBatch,
 * models/manifest/memory.ts), this plans the cluster once per max batch and picks the largest max batch that
 * still places as many replicas as the densest one (the packing the user asked for: a count, --max-per-gpu,
 * or as many as fit), unless the user names a max batch. `gpumux plan` and the scheduler (once per model, at
 * its first pass that knows the GPUs) both call `chooseMaxBatches`; model-set.ts applies the choices.
 */

export interface TradeoffRow extends BatchFootprint {
  replicas: number;
  /** Most replicas of this model on one GPU. */
  replicasPerGpu: number;
  /** replicas × maxBatch: frames the cluster can hold at once for this model. */
  framesInFlight: number;
  memoryUtilization: number;
}

export interface BatchChoice {
  model: string;
  rows: TradeoffRow[];
  chosen: number;
  reason: string;
}

/** A model whose max batch is to be chosen; `key` names it in the choices (the scheduler: its label). */
export interface MaxBatchCandidate {
  key: string;
  model: string;
  table: readonly BatchFootprint[];
}

/** A choice as the plan counts it: the max batch and the footprint declared for it. */
export interface ChosenMaxBatch extends BatchChoice {
  key: string;
  maxBatch: number;
  declaredBytes: number;
}

/** Chosen max batches by key, as `inputFor` sees them. */
export type MaxBatchChoices = ReadonlyMap<string, { maxBatch: number; declaredBytes: number }>;

export function chooseMaxBatch(
  input: PlacementInput,
  model: string,
  options: readonly BatchFootprint[],
  forced?: number,
): BatchChoice {
  if (options.length === 0) throw new Error(`${model}: no footprint per max batch`);
  const rows = [...options]
    .sort((a, b) => a.maxBatch - b.maxBatch)
    .map((o): TradeoffRow => {
      const models = input.models.map((m): ModelPlan =>
        m.name === model ? { ...m, footprintBytes: o.footprintBytes } : m,
      );
      const result = planPlacement({ ...input, models });
      const mine = result.replicas.filter((r) => r.model === model);
      const perGpu = new Map<string, number>();
      for (const r of mine) perGpu.set(gpuId(r), (perGpu.get(gpuId(r)) ?? 0) + 1);
      return {
        ...o,
        replicas: mine.length,
        replicasPerGpu: Math.max(0, ...perGpu.values()),
        framesInFlight: mine.length * o.maxBatch,
        memoryUtilization: result.memoryUtilization,
      };
    });
  if (forced !== undefined) {
    if (!rows.some((r) => r.maxBatch === forced)) {
      throw new Error(
        `${model}: no footprint declared for max batch ${forced} (declared: ${rows.map((r) => r.maxBatch).join(', ')})`,
      );
    }
    return { model, rows, chosen: forced, reason: `max batch ${forced} as asked (--max-batch)` };
  }
  const target = Math.max(...rows.map((r) => r.replicas));
  const chosen = [...rows].reverse().find((r) => r.replicas >= target)!;
  const larger = rows.find((r) => r.maxBatch > chosen.maxBatch);
  const reason =
    `max batch ${chosen.maxBatch} keeps ${chosen.replicas} replicas` +
    (larger ? ` (max batch ${larger.maxBatch} would place ${larger.replicas})` : '');
  return { model, rows, chosen: chosen.maxBatch, reason };
}

export function formatTradeoff(choice: BatchChoice): string {
  const header = ['max batch', 'footprint', 'replicas', 'per GPU', 'frames in flight', 'util'];
  const rows = choice.rows.map((r) => [
    (r.maxBatch === choice.chosen ? '* ' : '  ') + String(r.maxBatch),
    formatBytes(r.footprintBytes),
    String(r.replicas),
    String(r.replicasPerGpu),
    String(r.framesInFlight),
    `${(r.memoryUtilization * 100).toFixed(1)} %`,
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    `${choice.model}: max batch vs packing (a replica's footprint is its max batch's peak)`,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    `chosen: ${choice.reason}; replicas run with --max-batch ${choice.chosen}`,
  ].join('\n');
}

/**
 * Chooses the max batch of each candidate, in order, each planned with the choices before it (`chosen`, then
 * the fresh ones): `inputFor` builds the plan input those choices give. Returns the fresh choices.
 */
export function chooseMaxBatches(options: {
  candidates: readonly MaxBatchCandidate[];
  inputFor: (choices: MaxBatchChoices) => PlacementInput;
  chosen?: MaxBatchChoices;
  /** The user's `--max-batch`: taken as is (and refused when a table has no entry for it). */
  forced?: number | undefined;
  logger?: Logger;
}): ChosenMaxBatch[] {
  const { candidates, inputFor, chosen = new Map(), forced, logger } = options;
  if (forced !== undefined && candidates.length === 0) {
    throw new Error('--max-batch needs a model whose manifest declares memory.byMaxBatch');
  }
  const fresh: ChosenMaxBatch[] = [];
  for (const { key, model, table } of candidates) {
    const choices = new Map([...chosen, ...fresh.map((c) => [c.key, c] as const)]);
    const choice = chooseMaxBatch(inputFor(choices), model, table, forced);
    const declaredBytes = table.find((t) => t.maxBatch === choice.chosen)!.footprintBytes;
    fresh.push({ ...choice, key, maxBatch: choice.chosen, declaredBytes });
    logger?.info('max batch chosen', {
      model,
      maxBatch: choice.chosen,
      declaredBytes,
      reason: choice.reason,
    });
  }
  return fresh;
}

/** The models with each chosen max batch's declared footprint in place of their own (`gpumux plan`). */
export function withChosenFootprints(models: readonly ModelPlan[], choices: MaxBatchChoices): ModelPlan[] {
  return models.map((m) => {
    const choice = choices.get(m.name);
    return choice ? { ...m, footprintBytes: choice.declaredBytes } : m;
  });
}
