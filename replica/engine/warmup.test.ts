import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/log.js';
import type { Bucket } from '../../models/detr/letterbox.js';
import type { InputSpec } from './infer-validation.js';
import { createWarmupProgress, warmUp, warmupBatchesOf, warmupPlan } from './warmup.js';

const SMALL: Bucket = [720, 1280];
const LARGE: Bucket = [800, 1280];

const keys = (steps: ReturnType<typeof warmupPlan>) => steps.map((s) => `${s.bucket.join('x')}@${s.batch}`);

describe('warmupPlan', () => {
  it('runs the largest bucket at max batch first, then the other buckets at max batch', () => {
    expect(keys(warmupPlan([SMALL, LARGE], 2))).toEqual(['800x1280@2', '720x1280@2']);
  });

  it('with `all`, the smaller batches follow from large to small, largest bucket first each time', () => {
    expect(keys(warmupPlan([SMALL, LARGE], 3, 'all'))).toEqual([
      '800x1280@3',
      '720x1280@3',
      '800x1280@2',
      '720x1280@2',
      '800x1280@1',
      '720x1280@1',
    ]);
  });

  it('reads GPUMUX_WARMUP_BATCHES and refuses anything else', () => {
    expect(warmupBatchesOf(undefined)).toBe('max');
    expect(warmupBatchesOf(' all ')).toBe('all');
    expect(() => warmupBatchesOf('some')).toThrow(/max or all/);
  });
});

describe('warm-up progress', () => {
  it('says which step runs, how long it has run, and estimates the rest from the time per frame', () => {
    let t = 0;
    const steps = warmupPlan([SMALL, LARGE], 2, 'all'); // frames: 2 + 2 + 1 + 1
    const p = createWarmupProgress({ steps, budgetMs: 10_000, now: () => t });
    expect(p.snapshot()).toMatchObject({ done: 0, total: 4, current: null, elapsedMs: 0, etaMs: null });
    p.start();
    p.stepStarted(0);
    t = 500;
    expect(p.snapshot()).toMatchObject({
      done: 0,
      current: { step: 1, bucket: '800x1280', batch: 2, elapsedMs: 500 },
      etaMs: null,
      budgetMs: 10_000,
      finished: false,
    });
    t = 1000;
    expect(p.stepDone()).toBe(1000);
    // 1000 ms for 2 frames: 4 frames left ≈ 2000 ms
    expect(p.snapshot()).toMatchObject({ done: 1, current: null, elapsedMs: 1000, etaMs: 2000 });
    p.stepStarted(1);
    t = 1500;
    expect(p.snapshot().etaMs).toBe(1500);
    for (const i of [1, 2, 3]) {
      if (i > 1) p.stepStarted(i);
      t += 500;
      p.stepDone();
    }
    p.end();
    const end = p.snapshot();
    t += 5000;
    expect(p.snapshot()).toEqual(end); // fixed once it ended
    expect(end).toMatchObject({ done: 4, total: 4, current: null, etaMs: 0, finished: true });
  });
});

describe('warmUp', () => {
  const spec = {
    name: 'images',
    zeros: (b: Bucket) => new Uint8Array(b[0] * b[1]),
  } as unknown as InputSpec;

  it('logs one JSON line per step start and end (bucket, batch, ms, RSS) and warns once past the budget', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    const steps = warmupPlan([SMALL, LARGE], 2, 'all');
    const progress = createWarmupProgress({ steps, budgetMs: 30 });
    const runs: string[] = [];
    await warmUp({
      run: async (bucket, rows) => {
        runs.push(`${bucket.join('x')}@${rows.length}`);
        await new Promise((r) => setTimeout(r, 20));
      },
      steps,
      specs: [spec],
      progress,
      log,
      budgetMs: 30,
      rssBytes: () => 1234,
    });
    expect(runs).toEqual(['800x1280@2', '720x1280@2', '800x1280@1', '720x1280@1']);
    const msgs = lines.map((l) => l.msg);
    expect(msgs.filter((m) => m === 'warm-up step started')).toHaveLength(4);
    expect(msgs.filter((m) => m === 'warm-up step done')).toHaveLength(4);
    expect(msgs[0]).toBe('warm-up started');
    expect(msgs.at(-1)).toBe('warm-up done');
    const firstDone = lines.find((l) => l.msg === 'warm-up step done')!;
    expect(firstDone).toMatchObject({ step: 1, of: 4, bucket: '800x1280', batch: 2, rssBytes: 1234 });
    expect(firstDone.ms).toBeGreaterThanOrEqual(15);
    expect(firstDone.peakRssBytes).toBeGreaterThanOrEqual(1234);
    expect(lines.filter((l) => l.level === 'warn' && String(l.msg).includes('budget'))).toHaveLength(1);
    expect(progress.snapshot()).toMatchObject({ done: 4, finished: true });
  });

  it('stops before the next step once stopped() says so (a drain during a slow warm-up)', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    const steps = warmupPlan([SMALL, LARGE], 2, 'all');
    const progress = createWarmupProgress({ steps });
    let runs = 0;
    const complete = await warmUp({
      run: () => Promise.resolve(void runs++),
      steps,
      specs: [spec],
      progress,
      log,
      stopped: () => runs >= 1,
    });
    expect(complete).toBe(false);
    expect(runs).toBe(1);
    expect(progress.snapshot()).toMatchObject({ done: 1, total: 4, current: null, finished: false });
    expect(lines.at(-1)).toMatchObject({ msg: 'warm-up stopped before its end (draining)', done: 1, of: 4 });
  });

  it('names the step, bucket and batch that failed, keeping the runtime error as its cause', async () => {
    const log = createLogger({}, () => undefined);
    const steps = warmupPlan([SMALL, LARGE], 2, 'max');
    const progress = createWarmupProgress({ steps });
    const ort = new Error(
      '[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions for input: images',
    );
    const failed = warmUp({
      run: (bucket) => (bucket === SMALL ? Promise.reject(ort) : Promise.resolve()),
      steps,
      specs: [spec],
      progress,
      log,
    });
    await expect(failed).rejects.toThrow(
      /step 2 of 2 failed at bucket 720x1280, batch 2: .*invalid dimensions/,
    );
    await expect(failed).rejects.toMatchObject({ cause: ort });
    await expect(failed).rejects.toThrow(/must be in the ONNX file/);
    expect(progress.snapshot()).toMatchObject({ done: 1, current: null, finished: false });

    const arena = new Error('BFCArena::AllocateRawInternal Failed to allocate memory for requested buffer');
    const oom = warmUp({ run: () => Promise.reject(arena), steps, specs: [spec], progress, log });
    await expect(oom).rejects.toThrow(/batch 2: .*\(out of memory at the largest shape/);
  });
});
