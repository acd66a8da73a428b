import { describe, expect, it } from 'vitest';
import { GpumuxError } from '../../common/errors.js';
import { createBatcher } from './batcher.js';

/** A runner we control: each call waits until released, and records the batches it saw. */
function controlledRunner() {
  const batches: { key: string; items: number[] }[] = [];
  const gates: (() => void)[] = [];
  const run = async (key: string, items: number[]) => {
    batches.push({ key, items: [...items] });
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((i) => `${key}:${i * 10}`);
  };
  const releaseNext = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
    // the next batch is formed in a setImmediate after the run (I/O due first): let that one pass too
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  };
  return { run, batches, releaseNext };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('createBatcher', () => {
  it('runs a lone frame at once when idle (no added delay)', async () => {
    const runner = controlledRunner();
    const b = createBatcher({ maxBatch: 8, maxQueue: 8, run: runner.run });
    const p = b.submit('a', 1);
    await tick();
    expect(runner.batches).toEqual([{ key: 'a', items: [1] }]);
    await runner.releaseNext();
    await expect(p).resolves.toMatchObject({ result: 'a:10', batchSize: 1 });
  });

  it('batches frames that queued while a batch ran, up to maxBatch, same key as the oldest', async () => {
    const runner = controlledRunner();
    const b = createBatcher({ maxBatch: 3, maxQueue: 16, run: runner.run });
    const first = b.submit('a', 0);
    await tick(); // batch [0] is running
    const queued = [
      b.submit('a', 1),
      b.submit('b', 2),
      b.submit('a', 3),
      b.submit('a', 4),
      b.submit('a', 5),
      b.submit('b', 6),
    ];
    expect(b.queueLength).toBe(6);
    await runner.releaseNext();
    expect(runner.batches[1]).toEqual({ key: 'a', items: [1, 3, 4] });
    await runner.releaseNext();
    expect(runner.batches[2]).toEqual({ key: 'b', items: [2, 6] });
    await runner.releaseNext();
    expect(runner.batches[3]).toEqual({ key: 'a', items: [5] });
    await runner.releaseNext();
    const results = await Promise.all([first, ...queued]);
    // every frame gets its own result, whatever batch it ran in
    expect(results.map((r) => r.result)).toEqual(['a:0', 'a:10', 'b:20', 'a:30', 'a:40', 'a:50', 'b:60']);
    expect(results.map((r) => r.batchSize)).toEqual([1, 3, 2, 3, 3, 1, 2]);
  });

  it('never runs two batches at once', async () => {
    let running = 0;
    let maxRunning = 0;
    const b = createBatcher({
      maxBatch: 2,
      maxQueue: 100,
      run: async (_k, items: number[]) => {
        maxRunning = Math.max(maxRunning, ++running);
        await new Promise((r) => setTimeout(r, 2));
        running--;
        return items;
      },
    });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => b.submit('k', i)));
    expect(results.map((r) => r.result)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(maxRunning).toBe(1);
    expect(Math.max(...results.map((r) => r.batchSize))).toBe(2);
  });

  it('refuses with QUEUE_FULL and a Retry-After estimate when the queue is full', async () => {
    const runner = controlledRunner();
    const b = createBatcher({ maxBatch: 2, maxQueue: 2, run: runner.run });
    const running = b.submit('a', 0);
    await tick();
    const q = [b.submit('a', 1), b.submit('a', 2)];
    const err = await b.submit('a', 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpumuxError);
    expect((err as GpumuxError).code).toBe('QUEUE_FULL');
    // Nothing measured yet: the 50 ms floor × (2 waiting / max batch 2 + the batch running).
    expect((err as GpumuxError).retryAfterSeconds).toBeCloseTo(0.05 * 2, 12);
    await runner.releaseNext();
    await runner.releaseNext();
    await Promise.all([running, ...q]);
  });

  it('removes an aborted queued frame with CLIENT_CLOSED and runs the rest', async () => {
    const runner = controlledRunner();
    const b = createBatcher({ maxBatch: 4, maxQueue: 8, run: runner.run });
    const first = b.submit('a', 0);
    await tick();
    const controller = new AbortController();
    const gone = b.submit('a', 1, controller.signal);
    const kept = b.submit('a', 2);
    controller.abort();
    await expect(gone).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(b.queueLength).toBe(1);
    await runner.releaseNext();
    await runner.releaseNext();
    expect(runner.batches[1]!.items).toEqual([2]);
    await expect(kept).resolves.toMatchObject({ result: 'a:20' });
    await first;
    await expect(b.submit('a', 3, AbortSignal.abort())).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  });

  it('rejects every frame of a failed batch and keeps going', async () => {
    let calls = 0;
    const b = createBatcher({
      maxBatch: 4,
      maxQueue: 8,
      run: (_k, items: number[]) => {
        if (calls++ === 0) return Promise.reject(new GpumuxError('INFERENCE_FAILED', 'boom'));
        return Promise.resolve(items);
      },
    });
    await expect(b.submit('a', 1)).rejects.toMatchObject({ code: 'INFERENCE_FAILED' });
    await expect(b.submit('a', 2)).resolves.toMatchObject({ result: 2 });
  });

  it('treats a wrong number of results as a failure, not a mismatch', async () => {
    const b = createBatcher({ maxBatch: 4, maxQueue: 8, run: () => Promise.resolve([] as number[]) });
    await expect(b.submit('a', 1)).rejects.toMatchObject({ code: 'INFERENCE_FAILED' });
  });

  it('drain() resolves once queued and running frames are done; EWMA and depth hooks observe', async () => {
    const depths: number[] = [];
    let t = 0;
    const runner = controlledRunner();
    const b = createBatcher({
      maxBatch: 2,
      maxQueue: 8,
      run: runner.run,
      onQueueDepth: (d) => depths.push(d),
      now: () => (t += 100),
    });
    const all = [b.submit('a', 1), b.submit('a', 2), b.submit('a', 3)];
    let drained = false;
    const d = b.drain().then(() => (drained = true));
    await runner.releaseNext();
    expect(drained).toBe(false);
    await runner.releaseNext();
    await d;
    expect(drained).toBe(true);
    await Promise.all(all);
    expect(b.ewmaServiceSeconds).toBeGreaterThan(0);
    expect(depths.at(-1)).toBe(0);
    expect(Math.max(...depths)).toBe(3);
  });
});
