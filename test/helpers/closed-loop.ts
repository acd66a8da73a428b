/**
 * Closed-loop clients: each sends its next request as soon as the last one is answered, until `stop()`.
 * Every request's start, duration and outcome is kept, for tests and benches that measure what clients saw.
 *
 * @example
 * const load = closedLoop(4, () => fetch(url, { method: 'POST', body }).then((r) => r.status));
 * await sleep(5000);
 * const samples = await load.stop();
 */
export interface Sample {
  /** ms since the load started. */
  startMs: number;
  durationMs: number;
  /** The HTTP status, or the error's message when the request failed without one. */
  outcome: number | string;
}

export interface ClosedLoop {
  samples: Sample[];
  /** Lets each client finish its request in flight, then resolves with every sample. */
  stop(): Promise<Sample[]>;
}

export function closedLoop(clients: number, send: () => Promise<number>): ClosedLoop {
  const samples: Sample[] = [];
  const t0 = performance.now();
  let running = true;
  async function client(): Promise<void> {
    while (running) {
      const start = performance.now();
      const outcome = await send().catch((err: unknown) =>
        err instanceof Error ? err.message : String(err),
      );
      samples.push({ startMs: start - t0, durationMs: performance.now() - start, outcome });
    }
  }
  const done = Promise.all(Array.from({ length: clients }, client));
  return {
    samples,
    async stop() {
      running = false;
      await done;
      return samples;
    },
  };
}

/** The q-quantile (0..1) of `values`, nearest rank; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
