import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawImage, type Rect } from '../helpers/images.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { assertSlowModel, slowShapesModel } from '../helpers/slow-model.js';

/**
 * A real replica process on the stand-in slow model (the shapes detector at ~300 ms per frame, answers
 * exact): the session runs in a worker thread, so probes and stats are answered while a batch runs, and the
 * next batch takes the frames that were decoded during the previous run.
 */

const RUN_MS = 300;
const RED: Rect = { box: [100, 120, 300, 260], color: 'red' };

interface Detected {
  detections: { box: number[]; name: string }[];
  timings: { batchSize: number; inferenceMs: number };
}

let replica: ReplicaProcess;
let image: Buffer;
beforeAll(async () => {
  const model = await slowShapesModel(RUN_MS);
  await assertSlowModel(model, RUN_MS * 0.6); // probes must be measurably shorter than a run
  image = await drawImage({ width: 640, height: 480, rects: [RED] });
  replica = await startReplica({ model, args: ['--max-batch', '4', '--threads', '1'] });
}, 120_000);
afterAll(async () => {
  await replica?.stop();
});

const detect = async (): Promise<Detected> => {
  const res = await fetch(`${replica.url}/v1/models/shapes-slow/detect`, {
    method: 'POST',
    body: image,
    headers: { 'content-type': 'image/jpeg' },
  });
  const body = (await res.json()) as Detected;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
};

const stats = async () =>
  (await (await fetch(`${replica.url}/v1/stats`)).json()) as { inFlight: number; queueLength: number };

/** Resolves once a frame is in the running batch (inFlight counts it, the queue is empty). */
async function untilRunning(): Promise<void> {
  for (;;) {
    const s = await stats();
    if (s.inFlight >= 1 && s.queueLength === 0) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('replica on a model that takes real time (session in a worker thread)', () => {
  it('answers exactly what the shapes model answers', async () => {
    const { detections } = await detect();
    expect(detections.map((d) => d.name)).toEqual(['red']);
    detections[0]!.box.forEach((v, i) => expect(Math.abs(v - RED.box[i]!)).toBeLessThanOrEqual(2));
  });

  it('answers /v2/health/live and /v1/stats while a batch runs', async () => {
    let done = false;
    const running = detect().then((r) => ((done = true), r));
    await untilRunning();
    const probes: { ms: number; beforeAnswer: boolean }[] = [];
    for (const path of ['/v2/health/live', '/v1/stats', '/v2/health/live', '/v1/stats']) {
      const t0 = performance.now();
      const res = await fetch(`${replica.url}${path}`);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      probes.push({ ms: performance.now() - t0, beforeAnswer: !done });
    }
    const result = await running;
    // with the session on the event loop, every probe would wait for the whole run and come after the answer
    expect(
      probes.every((p) => p.beforeAnswer),
      JSON.stringify(probes),
    ).toBe(true);
    expect(Math.max(...probes.map((p) => p.ms))).toBeLessThan(result.timings.inferenceMs / 2);
  });

  it('forms the next batch from the frames decoded while the previous one ran', async () => {
    const first = detect();
    await untilRunning();
    const during = await Promise.all([detect(), detect(), detect()]);
    expect((await first).timings.batchSize).toBe(1);
    expect(during.map((d) => d.timings.batchSize)).toEqual([3, 3, 3]);
  });

  // Last: it stops the replica. A drain must wait for a batch that takes real time, and for the frames queued
  // behind it, before the process exits.
  it('on SIGTERM during a slow batch, answers the running and the queued frames, then exits 0', async () => {
    const first = detect();
    await untilRunning();
    const queued = [detect(), detect()];
    await new Promise((r) => setTimeout(r, 50));
    const exit = replica.stop('SIGTERM', 30_000);
    const answers = await Promise.all([first, ...queued]);
    expect(answers.map((a) => a.detections.map((d) => d.name))).toEqual([['red'], ['red'], ['red']]);
    expect(await exit).toEqual({ code: 0, signal: null });
  });
});
