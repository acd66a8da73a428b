import { Counter, type Registry } from 'prom-client';
import type { ChooseVersion, VersionSplit } from '../routing/version-split.js';

/**
 * Per-version request counts for canaries: `gpumux_version_requests_total{model,version,chosen_by}`, where
 * `chosen_by` is `split` (an unversioned request the weights sent there) or `request` (it named the version).
 * Only models with a configured split are counted, so the labels stay bounded by the config.
 */
export function countedVersionChoice(split: VersionSplit, registry: Registry): ChooseVersion {
  const requests = new Counter({
    name: 'gpumux_version_requests_total',
    help: 'Requests for models with a version split, by the version they went to and what chose it.',
    labelNames: ['model', 'version', 'chosen_by'] as const,
    registers: [registry],
  });
  return (model, version, headers) => {
    if (!split.covers(model)) return version;
    const chosen = split.choose(model, version, split.stickyKey(headers));
    if (chosen !== null) {
      requests.inc({ model, version: chosen, chosen_by: version === null ? 'split' : 'request' });
    }
    return chosen;
  };
}
