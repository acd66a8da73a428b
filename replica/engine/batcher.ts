import { performance } from 'node:perf_hooks';
import { GpumuxError } from '../../common/errors.js';

/**
 * Dynamic batching that never waits when idle: a frame arriving at an idle runner runs at once (next
 * microtask, so frames submitted in the same tick share a batch); frames arriving while a batch runs queue,
 * and the next batch — formed once the I/O already due has been handled — takes up to `maxBatch` queued frames
 * of the oldest frame's key (shape bucket).
 * One batch at a time: ONNX Runtime's session.run is not something to overlap on one GPU stream.
 */

export interface BatchInfo {
  key: string;
  size: number;
  runSeconds: number;
}

export interface BatcherOptions<I, O> {
  maxBatch: number;
  maxQueue: number;
  /** Runs one batch; must return one result per item, in order. */
  run: (key: string, items: I[]) => Promise<O[]>;
  /** Called with the queue length whenever it changes. */
  onQueueDepth?: (depth: number) => void;
  onBatch?: (info: BatchInfo) => void;
  /** Smoothing of the service-time EWMA (weight of the newest batch). */
  ewmaAlpha?: number;
  now?: () => number;
}

export interface Submitted<O> {
  result: O;
  batchSize: number;
  queueMs: number;
  runMs: number;
}

interface Pending<I, O> {
  key: string;
  item: I;
  enqueuedAt: number;
  resolve: (value: Submitted<O>) => void;
  reject: (err: unknown) => void;
  detach: () => void;
}

export interface Batcher<I, O> {
  submit(key: string, item: I, signal?: AbortSignal): Promise<Submitted<O>>;
  /** Frames waiting (not in the running batch). */
  readonly queueLength: number;
  /** Frames in the running batch. */
  readonly running: number;
  /** EWMA of one batch's run time, seconds; 0 before the first batch. */
  readonly ewmaServiceSeconds: number;
  /** Resolves when nothing is queued or running. */
  drain(): Promise<void>;
}

/**
 * One closure: submit, pump and drain share the queue, the running count and the EWMA; each stays short.
 *
 * @example
 * const batcher = createBatcher({ maxBatch: 8, maxQueue: 64, run: async (bucket, rows) => session.runRows(bucket, rows) });
 * const { result, batchSize } = await batcher.submit('480x640', row);
 */
export function createBatcher<I, O>(options: BatcherOptions<I, O>): Batcher<I, O> {
  const {
    maxBatch,
    maxQueue,
    run,
    onQueueDepth,
    onBatch,
    ewmaAlpha = 0.2,
    now = () => performance.now(),
  } = options;
  if (!(maxBatch >= 1)) throw new RangeError('maxBatch must be ≥ 1');
  const queue: Pending<I, O>[] = [];
  let running = 0;
  let scheduled = false;
  let ewma = 0;
  let idleWaiters: (() => void)[] = [];

  const depthChanged = () => {
    try {
      onQueueDepth?.(queue.length);
    } catch {
      // hooks observe; they never break batching
    }
  };

  const settleIdle = () => {
    if (running > 0 || queue.length > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  /**
   * Idle: the next microtask (frames submitted in the same tick share the batch; nothing waits on a timer).
   * After a run: setImmediate, so the I/O callbacks already due — decodes that finished while the model ran —
   * queue their frames first and the next batch takes them.
   */
  const schedule = (afterRun = false) => {
    if (scheduled || running > 0 || queue.length === 0) return;
    scheduled = true;
    const go = () => {
      scheduled = false;
      void pump();
    };
    if (afterRun) setImmediate(go);
    else queueMicrotask(go);
  };

  async function pump(): Promise<void> {
    if (running > 0 || queue.length === 0) return;
    const key = queue[0]!.key;
    const batch = takeBatch(queue, key, maxBatch);
    for (const p of batch) p.detach();
    running = batch.length;
    depthChanged();
    const started = now();
    const outcome = await runBatch(run, key, batch);
    const runMs = now() - started;
    ewma = ewma === 0 ? runMs / 1000 : ewma + ewmaAlpha * (runMs / 1000 - ewma);
    try {
      onBatch?.({ key, size: batch.length, runSeconds: runMs / 1000 });
    } catch {
      // hooks observe only
    }
    running = 0;
    settleBatch(batch, outcome, started, runMs);
    schedule(true);
    settleIdle();
  }

  return {
    submit(key, item, signal) {
      if (signal?.aborted)
        return Promise.reject(new GpumuxError('CLIENT_CLOSED', 'client closed the request'));
      if (queue.length >= maxQueue) return Promise.reject(queueFull(queue.length, ewma, maxBatch));
      return new Promise<Submitted<O>>((resolve, reject) => {
        const pending: Pending<I, O> = { key, item, enqueuedAt: now(), resolve, reject, detach: () => {} };
        if (signal) {
          const onAbort = () => {
            const at = queue.indexOf(pending);
            if (at < 0) return; // already running: its result is simply not wanted
            queue.splice(at, 1);
            depthChanged();
            reject(new GpumuxError('CLIENT_CLOSED', 'client closed the request'));
            settleIdle();
          };
          signal.addEventListener('abort', onAbort, { once: true });
          pending.detach = () => signal.removeEventListener('abort', onAbort);
        }
        queue.push(pending);
        depthChanged();
        schedule();
      });
    },
    get queueLength() {
      return queue.length;
    },
    get running() {
      return running;
    },
    get ewmaServiceSeconds() {
      return ewma;
    },
    drain() {
      if (running === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}

/** Removes and returns up to `maxBatch` queued frames of `key`, oldest first. */
function takeBatch<I, O>(queue: Pending<I, O>[], key: string, maxBatch: number): Pending<I, O>[] {
  const batch: Pending<I, O>[] = [];
  for (let i = 0; i < queue.length && batch.length < maxBatch;) {
    if (queue[i]!.key === key) batch.push(...queue.splice(i, 1));
    else i++;
  }
  return batch;
}

type BatchOutcome<O> = { results: O[] } | { failure: unknown };

/** Runs one batch; a throw, or not one result per frame, is the batch's failure. */
async function runBatch<I, O>(
  run: BatcherOptions<I, O>['run'],
  key: string,
  batch: Pending<I, O>[],
): Promise<BatchOutcome<O>> {
  try {
    const results = await run(
      key,
      batch.map((p) => p.item),
    );
    if (!Array.isArray(results) || results.length !== batch.length) {
      throw new GpumuxError(
        'INFERENCE_FAILED',
        `batch of ${batch.length} returned ${(results as O[] | undefined)?.length ?? 'no'} results`,
      );
    }
    return { results };
  } catch (err) {
    return { failure: err };
  }
}

/** Each frame gets its own result (with the batch's size and timings), or the batch's failure. */
function settleBatch<I, O>(
  batch: Pending<I, O>[],
  outcome: BatchOutcome<O>,
  started: number,
  runMs: number,
): void {
  batch.forEach((p, i) => {
    if ('failure' in outcome) p.reject(outcome.failure);
    else
      p.resolve({
        result: outcome.results[i]!,
        batchSize: batch.length,
        queueMs: started - p.enqueuedAt,
        runMs,
      });
  });
}

/** 429 with a Retry-After from the service time and the frames ahead. */
function queueFull(waiting: number, ewmaSeconds: number, maxBatch: number): GpumuxError {
  const waitSeconds = Math.max(ewmaSeconds, 0.05) * (waiting / maxBatch + 1);
  return new GpumuxError('QUEUE_FULL', `queue is full (${waiting} frames waiting)`, {
    retryAfterSeconds: waitSeconds,
  });
}
