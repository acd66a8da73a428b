/**
 * A retry budget per model (Envoy's and Finagle's idea): over a sliding window, retries may add at most
 * `ratio` of the requests as extra tries, and at least `min` — so a cluster-wide slowdown is not doubled by
 * retries, while a trickle of traffic can still retry a dead replica. The window moves in tenths.
 */
export interface RetryBudgetOptions {
  ratio: number;
  min: number;
  windowMs: number;
  /** Monotonic milliseconds (injectable for tests). */
  now?: () => number;
}

export interface RetryBudget {
  /** A request's first try: it adds `ratio` of a retry to the model's budget. */
  request(model: string): void;
  /** Whether a retry would be allowed now (nothing taken). */
  allows(model: string): boolean;
  /** Takes one retry from the budget; false (nothing taken) when it is spent. */
  withdraw(model: string): boolean;
}

const SLOTS = 10;

interface Window {
  requests: number[];
  retries: number[];
  /** Index (now / slotMs) of the newest slot. */
  head: number;
}

export function createRetryBudget({
  ratio,
  min,
  windowMs,
  now = () => performance.now(),
}: RetryBudgetOptions): RetryBudget {
  const slotMs = Math.max(1, windowMs / SLOTS);
  const windows = new Map<string, Window>();

  /** The model's window, its expired slots emptied. */
  function current(model: string): Window {
    const head = Math.floor(now() / slotMs);
    let w = windows.get(model);
    if (!w) {
      w = { requests: new Array<number>(SLOTS).fill(0), retries: new Array<number>(SLOTS).fill(0), head };
      windows.set(model, w);
    }
    for (let i = w.head + 1; i <= Math.min(head, w.head + SLOTS); i++) {
      w.requests[i % SLOTS] = 0;
      w.retries[i % SLOTS] = 0;
    }
    w.head = Math.max(w.head, head);
    return w;
  }

  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const allows = (w: Window) => sum(w.retries) < Math.max(min, Math.floor(ratio * sum(w.requests)));

  return {
    request(model) {
      const w = current(model);
      w.requests[w.head % SLOTS]!++;
    },
    allows: (model) => allows(current(model)),
    withdraw(model) {
      const w = current(model);
      if (!allows(w)) return false;
      w.retries[w.head % SLOTS]!++;
      return true;
    },
  };
}
