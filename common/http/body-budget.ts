/**
 * A process-wide cap on request-body bytes held at once (the gateway's and the replica's, one policy).
 * Without it, memory is connections × the largest body; with it, a body that would push the total over the
 * cap is refused (429 OVERLOADED) before it is held. One body always fits an empty budget: else a body as
 * large as the cap could never be served, and the route's own body limit is what bounds a single body.
 */
export interface BodyBudget {
  /** Takes `bytes` if they fit; false (nothing taken) when they do not. */
  take(bytes: number): boolean;
  give(bytes: number): void;
  /** Bytes held now (for tests and metrics). */
  held(): number;
  readonly limit: number;
}

export function createBodyBudget(limit: number): BodyBudget {
  let held = 0;
  return {
    limit,
    take(bytes) {
      if (held > 0 && held + bytes > limit) return false;
      held += bytes;
      return true;
    },
    give(bytes) {
      held = Math.max(0, held - bytes);
    },
    held: () => held,
  };
}

/** No cap (unit tests of the body alone). */
export const unlimitedBodyBudget: BodyBudget = createBodyBudget(Number.POSITIVE_INFINITY);
