import type { Inventory } from '../inventory/inventory.js';
import { servable } from '../inventory/records.js';

export function modelReady(inventory: Inventory, model: string, version: string | null): boolean {
  for (const r of inventory.byModel(model)) {
    if (servable(r) && (version === null || r.measurement.stats?.version === version)) return true;
  }
  return false;
}

/**
 * Models that are not ready: of the configured ones (`name` or `name:version`), else of every model any
 * replica reports. With nothing configured and nothing seen, the gateway is not ready either.
 */
export function notReadyModels(
  inventory: Inventory,
  configured: readonly string[] | undefined,
): string[] | null {
  let required: string[];
  if (configured && configured.length > 0) required = [...configured];
  else {
    const seen = new Set<string>();
    for (const r of inventory.records()) if (r.measurement.stats) seen.add(r.measurement.stats.model);
    if (seen.size === 0) return null;
    required = [...seen];
  }
  return required.filter((spec) => {
    const [name, version] = spec.split(':');
    return !modelReady(inventory, name!, version ?? null);
  });
}
