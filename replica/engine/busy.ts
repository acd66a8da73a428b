import { performance } from 'node:perf_hooks';

/**
 * Share of a sliding window the model spent running. Keeps the run intervals that overlap the window.
 * @example
 * const busy = createBusyTracker({ windowMs: 10_000 });
 * busy.start(); await run(); busy.stop(); busy.ratio(); // 0..1
 */
export function createBusyTracker(options: { windowMs?: number; now?: () => number } = {}) {
  const { windowMs = 10_000, now = () => performance.now() } = options;
  const done: [number, number][] = [];
  let runningSince: number | null = null;

  const prune = (from: number) => {
    while (done.length > 0 && done[0]![1] <= from) done.shift();
  };

  return {
    start() {
      runningSince ??= now();
    },
    stop() {
      if (runningSince === null) return;
      done.push([runningSince, now()]);
      runningSince = null;
      prune(now() - windowMs);
    },
    ratio(): number {
      const t = now();
      const from = t - windowMs;
      prune(from);
      let busy = 0;
      for (const [a, b] of done) busy += Math.max(0, b - Math.max(a, from));
      if (runningSince !== null) busy += t - Math.max(runningSince, from);
      return Math.min(1, Math.max(0, busy / windowMs));
    },
  };
}
