import type { Filter } from '../types.js';

/** Serves the requested model, and the requested version when one is given. */
export const servesModelFilter: Filter = {
  name: 'serves-model',
  filter(candidates, ctx) {
    return candidates.filter((c) => {
      const s = c.measurement.stats;
      return s !== null && s.model === ctx.model && (ctx.version === null || s.version === ctx.version);
    });
  },
};
