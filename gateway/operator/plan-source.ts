import type { Logger } from '../../common/log.js';
import type { PlanView } from './cluster-view.js';
import { parsePlanView } from './plan-schema.js';

/**
 * A plan source that fetches `<schedulerUrl>/v1/plan` (1 s budget); null when it cannot or when the answer
 * is not a plan. An invalid plan is warned about once, until a valid one arrives (the operator view polls).
 */
export function schedulerPlanSource(schedulerUrl: string, logger: Logger): () => Promise<PlanView | null> {
  const url = new URL('/v1/plan', schedulerUrl).toString();
  let warned = false;
  return async function fetchPlan() {
    let body: unknown;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (!res.ok) return null;
      body = await res.json();
    } catch (err) {
      logger.debug('plan fetch failed', { url, err });
      return null;
    }
    const parsed = parsePlanView(body);
    if ('error' in parsed) {
      if (!warned) logger.warn('scheduler plan is invalid; ignored', { url, error: parsed.error });
      warned = true;
      return null;
    }
    warned = false;
    return parsed.plan;
  };
}
