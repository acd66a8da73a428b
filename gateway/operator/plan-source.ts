import type { Logger } from '../../common/log.js';
import type { PlanView } from './cluster-view.js';

/** A plan source that fetches `<schedulerUrl>/v1/plan` (1 s budget); null when it cannot. */
export function schedulerPlanSource(schedulerUrl: string, logger: Logger): () => Promise<PlanView | null> {
  const url = new URL('/v1/plan', schedulerUrl).toString();
  return async function fetchPlan() {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (!res.ok) return null;
      return (await res.json()) as PlanView;
    } catch (err) {
      logger.debug('plan fetch failed', { url, err });
      return null;
    }
  };
}
