import { describe, expect, it } from 'vitest';
import { createInferenceStats } from './inference-stats.js';

describe('Triton statistics from engine hooks', () => {
  it('integrates the queue depth into queue time, charges each frame its batch run, counts outcomes', () => {
    let t = 0;
    const stats = createInferenceStats({ model: 'm', version: '1', now: () => t, wallClock: () => 1234 });
    stats.hooks.onQueueDepth!(2); // two frames wait 10 ms …
    t = 10;
    stats.hooks.onQueueDepth!(0); // … then run as one batch of 2 for 50 ms
    stats.hooks.onBatch!({ size: 2, bucket: '480x640', inferenceSeconds: 0.05 });
    stats.hooks.onFrame!({ preprocessSeconds: 0.002, decodeSeconds: 0.001 });
    stats.observeRequest({ endpoint: 'infer', status: 200, seconds: 0.07 });
    stats.observeRequest({ endpoint: 'infer', status: 400, seconds: 0.001 });
    stats.observeRequest({ endpoint: 'v2_health', status: 200, seconds: 0.001 });
    const s = stats.snapshot();
    expect(s).toMatchObject({
      name: 'm',
      version: '1',
      inference_count: 2,
      execution_count: 1,
      last_inference: 1234,
    });
    expect(s.inference_stats.queue).toEqual({ count: 2, ns: 20_000_000 });
    expect(s.inference_stats.compute_infer).toEqual({ count: 2, ns: 100_000_000 });
    expect(s.inference_stats.compute_input).toEqual({ count: 1, ns: 2_000_000 });
    expect(s.inference_stats.success).toEqual({ count: 1, ns: 70_000_000 });
    expect(s.inference_stats.fail).toEqual({ count: 1, ns: 1_000_000 });
    expect(s.batch_stats).toEqual([
      {
        batch_size: 2,
        compute_input: { count: 0, ns: 0 },
        compute_infer: { count: 1, ns: 50_000_000 },
        compute_output: { count: 0, ns: 0 },
      },
    ]);
  });

  it("compute_output: the engine's output work counts the frames, the response encoding adds its time", () => {
    const stats = createInferenceStats({ model: 'm', version: '1' });
    stats.hooks.onOutput!({ frames: 1, seconds: 0.003 }); // a detect's post-processing
    stats.hooks.onOutput!({ frames: 4, seconds: 0.001 }); // a v2 infer of 4 rows joined back
    stats.observeOutput({ frames: 4, seconds: 0.002 }); // … and its response encoded
    expect(stats.snapshot().inference_stats.compute_output).toEqual({ count: 5, ns: 6_000_000 });
  });
});
