import { formatBytes } from '../../common/bytes.js';
import type { ModelPlan } from '../types.js';
import { planPlacement, type PlacementInput } from './plan.js';

/**
 * Max batch vs packing. A replica warms up at its max batch, so its footprint for life is that batch's peak:
 * a larger max batch holds more frames per replica but fits fewer replicas per GPU. For a model whose
 * manifest declares its footprint per max batch (memory.byMaxBatch), this plans the cluster once per max
 * batch and picks the largest max batch that still places as many replicas as the densest one (the packing
 * the user asked for: a count, --max-per-gpu, or as many as fit), unless the user names a max batch.
 */

export interface BatchFootprint {
  maxBatch: number;
  footprintBytes: number;
}

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
      for (const r of mine)
        perGpu.set(`${r.node}/${r.gpuIndex}`, (perGpu.get(`${r.node}/${r.gpuIndex}`) ?? 0) + 1);
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

/** A manifest's footprints per max batch: memory.byMaxBatch, or its one declared size at batching.maxBatch. */
export function declaredByMaxBatch(
  memory: { declaredBytes: number; byMaxBatch?: { maxBatch: number; declaredBytes: number }[] | undefined },
  maxBatch: number,
): BatchFootprint[] {
  const table = memory.byMaxBatch ?? [{ maxBatch, declaredBytes: memory.declaredBytes }];
  return table.map((e) => ({ maxBatch: e.maxBatch, footprintBytes: e.declaredBytes }));
}

/**
 * chooseMaxBatch for each model with a footprint table, in order; replaces that model's footprint in
 * input.models (in place) with the chosen max batch's, so the caller's final plan uses it.
 */
export function applyBatchTradeoff(
  input: PlacementInput,
  tables: ReadonlyMap<string, readonly BatchFootprint[]>,
  forced?: number,
): BatchChoice[] {
  if (forced !== undefined && tables.size === 0) {
    throw new Error('--max-batch needs a model whose manifest declares memory.byMaxBatch');
  }
  const choices: BatchChoice[] = [];
  for (const [name, table] of tables) {
    const choice = chooseMaxBatch(input, name, table, forced);
    const i = input.models.findIndex((m) => m.name === name);
    const bytes = table.find((t) => t.maxBatch === choice.chosen)!.footprintBytes;
    input.models[i] = { ...input.models[i]!, footprintBytes: bytes };
    choices.push(choice);
  }
  return choices;
}
