import type { Logger } from '../common/log.js';
import type { BatchChoices, ChosenBatch, ModelSet } from './model-set.js';
import { chooseMaxBatch } from './placement/batch-tradeoff.js';
import type { PlacementInput } from './placement/plan.js';

/**
 * Picks the max batch of every model that declares its footprint per max batch and has none set or chosen:
 * the largest max batch that still places as many replicas as the densest one (batch-tradeoff.ts), with
 * `inputFor` planning each model at its maxReplicas — the packing the user asked for (a fixed count, or as
 * many as demand may want), not the demand of the moment. Models are chosen in order, each planned with the
 * choices before it. Returns the new choices; the control loop keeps them for its life (its replicas run with
 * `--max-batch` that and count that batch's declared footprint until one has measured itself): changing one
 * would mean restarting every replica of the model.
 */
export function chooseBatches(options: {
  set: ModelSet;
  chosen: BatchChoices;
  inputFor: (choices: BatchChoices) => PlacementInput;
  logger: Logger;
}): Map<string, ChosenBatch> {
  const { set, chosen, inputFor, logger } = options;
  const fresh = new Map<string, ChosenBatch>();
  for (const m of set.models) {
    const table = m.footprintByMaxBatch;
    const label = set.labelOf(m);
    if (!table?.length || m.maxBatch !== undefined || chosen.has(label)) continue;
    const choice = chooseMaxBatch(inputFor(new Map([...chosen, ...fresh])), m.name, table);
    const declaredBytes = table.find((t) => t.maxBatch === choice.chosen)!.footprintBytes;
    fresh.set(label, { maxBatch: choice.chosen, declaredBytes });
    logger.info('max batch chosen', {
      model: m.name,
      maxBatch: choice.chosen,
      declaredBytes,
      reason: choice.reason,
    });
  }
  return fresh;
}
