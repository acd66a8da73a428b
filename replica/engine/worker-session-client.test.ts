import { describe, expect, it } from 'vitest';
import type { NamedTensor } from './model-session.js';
import { openWorkerSession } from './worker-session-client.js';

// The real session worker (a worker thread with a real onnxruntime-node CPU session on models/shapes).

const SHAPES = {
  onnxPath: 'models/shapes/model.onnx',
  device: { kind: 'cpu' as const },
  allowCpuFallback: false,
  threads: 1,
};

/** One 480×640 frame with a red rectangle at x 100..300, y 120..260. */
function redFrame(): NamedTensor {
  const [h, w] = [480, 640];
  const data = new Uint8Array(h * w * 3);
  for (let y = 120; y < 260; y++) for (let x = 100; x < 300; x++) data[(y * w + x) * 3] = 255;
  return { name: 'images', type: 'uint8', dims: [1, h, w, 3], data };
}

describe('openWorkerSession', () => {
  it('runs the model in a worker: the feeds move there without a copy, the outputs come back', async () => {
    const session = await openWorkerSession(SHAPES);
    try {
      expect(session.inputNames).toEqual(['images']);
      expect(session.outputNames).toEqual(['boxes', 'scores', 'labels']);
      expect(session.inputMetadata[0]).toMatchObject({ name: 'images', isTensor: true, type: 'uint8' });
      const feed = redFrame();
      const [boxes, scores] = await session.run([feed]);
      expect(feed.data.byteLength).toBe(0); // transferred (detached here), not copied
      expect(boxes).toMatchObject({ name: 'boxes', type: 'float32', dims: [1, 3, 4] });
      expect(Array.from(boxes!.data.subarray(0, 4) as Float32Array)).toEqual([100, 120, 300, 260]);
      expect((scores!.data as Float32Array)[0]).toBeCloseTo(1, 5);
    } finally {
      await session.release();
    }
  });

  it('rejects a load failure with ONNX Runtime’s message, and the worker ends', async () => {
    await expect(openWorkerSession({ ...SHAPES, onnxPath: 'models/shapes/missing.onnx' })).rejects.toThrow(
      /missing\.onnx|No such file|Load model/i,
    );
  });

  it('a worker that dies rejects the run in flight and reports the death once', async () => {
    const deaths: Error[] = [];
    const session = await openWorkerSession(SHAPES, { onExit: (e) => deaths.push(e) });
    const run = session.run([redFrame()]);
    await session.worker.terminate();
    await expect(run).rejects.toThrow(/session worker exited/);
    await expect(session.run([redFrame()])).rejects.toThrow(/session worker exited/);
    expect(deaths).toHaveLength(1);
  });
});
