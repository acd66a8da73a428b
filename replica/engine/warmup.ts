import { performance } from 'node:perf_hooks';
import type { Logger } from '../../common/log.js';
import { bucketKey, largestBucket, type Bucket } from '../../models/detr/letterbox.js';
import { isCudaOutOfMemory } from './cuda-oom.js';
import type { WarmupStats } from '../contract.js';
import { processRssBytes } from '../telemetry/rss.js';
import type { InputSpec } from './infer-validation.js';
import type { Rows } from './model-runner.js';
import type { WarmupBatches } from './types.js';

/**
 * Warm-up: one zero batch per step before the replica reports ready, with its progress in the logs (one JSON
 * line as each step starts and ends: bucket, batch, ms, RSS) and in /v1/stats (`warmup`). For a graph like
 * Co-DETR on a CPU a step takes minutes, so the progress is what tells an operator (and the probes' budget)
 * that the replica is working, not stuck.
 */

export interface WarmupStep {
  bucket: Bucket;
  batch: number;
}

/**
 * The steps, in the order they run. The largest bucket at max batch comes first: it is the peak (ONNX
 * Runtime's arena grows to its final size there and never beyond), so the footprint is known after the first
 * step and a replica that does not fit fails (out of memory) after one step, not after a whole warm-up of a
 * slow graph. The other buckets at max batch follow (each can add its own buffers), then, with `all`, the
 * smaller batches from large to small: they fit inside the arena already grown and only initialise per-shape
 * state (cuDNN algorithm search, a per-batch graph in a merged file) that a first request would otherwise pay.
 */
export function warmupPlan(
  buckets: readonly Bucket[],
  maxBatch: number,
  batches: WarmupBatches = 'max',
): WarmupStep[] {
  if (buckets.length === 0) return [];
  const largest = largestBucket(buckets);
  const ordered = [largest, ...buckets.filter((b) => b !== largest)];
  const sizes = batches === 'all' ? Array.from({ length: maxBatch }, (_, i) => maxBatch - i) : [maxBatch];
  return sizes.flatMap((batch) => ordered.map((bucket) => ({ bucket, batch })));
}

/** `batches` option, else GPUMUX_WARMUP_BATCHES (`max` | `all`), else `max`. */
export function warmupBatchesOf(value: string | undefined): WarmupBatches {
  const v = value?.trim() || 'max';
  if (v !== 'max' && v !== 'all') throw new Error(`GPUMUX_WARMUP_BATCHES must be max or all, got "${v}"`);
  return v;
}

/**
 * Progress of one warm-up, readable at any time (`snapshot()` goes into /v1/stats). Times come from `now`
 * (performance.now by default) so tests can drive it. One closure: each short method reads or moves the same
 * counters.
 */
export function createWarmupProgress(options: {
  steps: readonly WarmupStep[];
  budgetMs?: number;
  now?: () => number;
}) {
  const { steps, budgetMs, now = () => performance.now() } = options;
  let startedAt: number | null = null;
  let endedAt: number | null = null;
  let current: { index: number; startedAt: number } | null = null;
  let done = 0;
  let framesDone = 0;
  let msDone = 0;
  const frames = (list: readonly WarmupStep[]) => list.reduce((n, s) => n + s.batch, 0);
  const totalFrames = frames(steps);

  return {
    start() {
      startedAt = now();
    },
    stepStarted(index: number) {
      current = { index, startedAt: now() };
    },
    /** Marks the running step done and returns its duration (ms). */
    stepDone(): number {
      const ms = current ? now() - current.startedAt : 0;
      if (current) {
        framesDone += steps[current.index]!.batch;
        msDone += ms;
        done += 1;
      }
      current = null;
      return ms;
    },
    end() {
      current = null;
      endedAt ??= now();
    },
    /** Milliseconds still to go, from the time per frame so far (null before a step has finished). */
    etaMs(): number | null {
      if (done === 0 || framesDone === 0) return null;
      const perFrame = msDone / framesDone;
      const left = (totalFrames - framesDone) * perFrame;
      const running = current ? now() - current.startedAt : 0;
      return Math.max(0, Math.round(left - running));
    },
    snapshot(): WarmupStats {
      const t = now();
      const step = current ? steps[current.index]! : null;
      const eta = endedAt === null ? this.etaMs() : 0;
      return {
        done,
        total: steps.length,
        current: step && current ? runningStep(step, current, t) : null,
        elapsedMs: startedAt === null ? 0 : Math.round((endedAt ?? t) - startedAt),
        etaMs: eta,
        ...(budgetMs !== undefined ? { budgetMs } : {}),
        finished: endedAt !== null && done === steps.length,
      };
    },
  };
}

export type WarmupProgress = ReturnType<typeof createWarmupProgress>;

/** The step running, as /v1/stats shows it. */
function runningStep(
  step: WarmupStep,
  current: { index: number; startedAt: number },
  t: number,
): NonNullable<WarmupStats['current']> {
  return {
    step: current.index + 1,
    bucket: bucketKey(step.bucket),
    batch: step.batch,
    elapsedMs: Math.round(t - current.startedAt),
  };
}

/**
 * Runs the plan's steps in order (one zero batch each), logging each step's start and end as JSON (bucket,
 * batch, ms, RSS and its peak) and updating `progress`; stops early once `stopped()` says so. Warns once when the time so far plus the estimate
 * for the rest passes the budget (the startup probe would kill the replica before it is ready).
 */
export async function warmUp(options: {
  run: (bucket: Bucket, rows: Rows[]) => Promise<unknown>;
  steps: readonly WarmupStep[];
  specs: readonly InputSpec[];
  progress: WarmupProgress;
  log: Logger;
  budgetMs?: number;
  rssBytes?: () => number;
  /**
   * Checked before each step: true ends the warm-up there (a drain or SIGTERM during a slow warm-up waits for
   * the step running, not for the whole warm-up). Returns whether every step ran.
   */
  stopped?: () => boolean;
}): Promise<boolean> {
  const { run, steps, specs, progress, log, budgetMs, rssBytes = processRssBytes, stopped } = options;
  const t0 = performance.now();
  const rss = createRssWatch(rssBytes);
  const warnOverBudget = budgetWarning(log, budgetMs, t0);
  progress.start();
  log.info('warm-up started', {
    steps: steps.length,
    order: steps.map((s) => `${bucketKey(s.bucket)}x${s.batch}`),
    ...(budgetMs !== undefined ? { budgetMs } : {}),
    rssBytes: rss.peak(),
  });
  for (const [i, step] of steps.entries()) {
    const where = { step: i + 1, of: steps.length, bucket: bucketKey(step.bucket), batch: step.batch };
    if (stopped?.()) {
      progress.end();
      log.info('warm-up stopped before its end (draining)', { done: i, of: steps.length });
      return false;
    }
    progress.stepStarted(i);
    log.info('warm-up step started', where);
    try {
      await runZeroBatch(run, specs, step);
    } catch (err) {
      progress.end();
      throw stepFailure(err, where);
    }
    const ms = progress.stepDone();
    const rssNow = rssBytes();
    const peakRss = rss.update();
    const etaMs = progress.etaMs();
    log.info('warm-up step done', {
      ...where,
      ms: Math.round(ms),
      rssBytes: rssNow,
      peakRssBytes: peakRss,
      ...(etaMs !== null && i + 1 < steps.length ? { etaMs } : {}),
    });
    warnOverBudget(etaMs);
  }
  progress.end();
  log.info('warm-up done', {
    steps: steps.length,
    ms: Math.round(performance.now() - t0),
    rssBytes: rssBytes(),
    peakRssBytes: Math.max(rss.peak(), rss.sample()),
  });
  return true;
}

/** The process's high-water mark (session creation and each run's transient peak included), not a sample. */
function createRssWatch(rssBytes: () => number) {
  const sample = () => Math.max(rssBytes(), process.resourceUsage().maxRSS * 1024);
  let peak = sample();
  return {
    sample,
    peak: () => peak,
    /** Samples, keeps the highest, returns it. */
    update: () => (peak = Math.max(peak, sample())),
  };
}

/** One zero batch of the step's bucket and size. */
async function runZeroBatch(
  run: (bucket: Bucket, rows: Rows[]) => Promise<unknown>,
  specs: readonly InputSpec[],
  step: WarmupStep,
): Promise<void> {
  const row: Rows = {};
  for (const spec of specs) row[spec.name] = spec.zeros(step.bucket);
  await run(
    step.bucket,
    Array.from({ length: step.batch }, () => row),
  );
}

/** ONNX Runtime's own words name a node, not the shape: say which step, and the usual cause. */
function stepFailure(
  err: unknown,
  where: { step: number; of: number; bucket: string; batch: number },
): Error {
  const message = err instanceof Error ? err.message : String(err);
  const hint = isCudaOutOfMemory(err)
    ? 'out of memory at the largest shape: the replica needs this peak for life'
    : 'every manifest bucket × the max batch must be in the ONNX file: a graph exported for fewer shapes ' +
      "fails here; export those shapes, or list only the graph's buckets in preprocess.buckets";
  return new Error(
    `warm-up step ${where.step} of ${where.of} failed at bucket ${where.bucket}, batch ${where.batch}: ` +
      `${message} (${hint})`,
    { cause: err }, // kept: a CUDA out-of-memory is still recognised through it
  );
}

/** Warns once when the time so far plus the estimate for the rest passes the budget. */
function budgetWarning(log: Logger, budgetMs: number | undefined, t0: number) {
  let warned = false;
  return (etaMs: number | null): void => {
    const elapsed = performance.now() - t0;
    if (!warned && budgetMs !== undefined && etaMs !== null && elapsed + etaMs > budgetMs) {
      warned = true;
      log.warn('warm-up will likely exceed its budget; raise the budget (startup probe) or warm up less', {
        elapsedMs: Math.round(elapsed),
        etaMs,
        budgetMs,
      });
    }
  };
}
