import { performance } from 'node:perf_hooks';
import { GpumuxError } from '../../common/errors.js';
import { bucketKey } from '../../models/detr/letterbox.js';
import { postprocess } from '../../models/detr/postprocess.js';
import type { Manifest } from '../../models/manifest/schema.js';
import type { PreprocessedFrame } from '../image/preprocess.js';
import type { Batcher } from './batcher.js';
import { toDetrOutputs, type OutputRows, type Rows } from './model-runner.js';
import type { Detection, DetectOptions, EngineHooks, FrameResult } from './types.js';

/**
 * One image to detections: decode and pre-process (libvips, on libuv's pool), one frame in the batcher,
 * DETR post-processing mapped back to the original image. Errors are GpumuxErrors (types.ts `Engine.detect`).
 *
 * @example
 * const detect = createDetect({ manifest, preprocess, batcher, onFrame });
 * const { detections, timings } = await detect(jpeg, { threshold: 0.5 });
 */
export function createDetect(options: {
  manifest: Manifest;
  preprocess: (bytes: Uint8Array) => Promise<PreprocessedFrame>;
  batcher: Batcher<Rows, OutputRows>;
  onFrame?: EngineHooks['onFrame'];
  onOutput?: EngineHooks['onOutput'];
}) {
  const { manifest, preprocess, batcher, onFrame, onOutput } = options;
  return async function detect(image: Uint8Array, detectOptions: DetectOptions = {}): Promise<FrameResult> {
    const { threshold = manifest.postprocess.scoreThreshold, signal } = detectOptions;
    if (!(threshold >= 0 && threshold <= 1))
      throw new GpumuxError('INVALID_PARAMETER', `threshold must be within 0..1, got ${threshold}`);
    const frame = await preprocess(image);
    onFrame?.({
      decodeSeconds: frame.decodeMs / 1000,
      preprocessSeconds: (frame.decodeMs + frame.tensorMs) / 1000,
    });
    const sub = await batcher.submit(bucketKey(frame.letterbox.bucket), frame.rows, signal);
    const t0 = performance.now();
    const boxes = postprocess(toDetrOutputs(manifest.outputs, sub.result), {
      letterbox: frame.letterbox,
      threshold,
      topK: manifest.postprocess.topK,
      nms: manifest.postprocess.nms,
      graphUpscale: manifest.preprocess.graphUpscale,
    });
    const detections: Detection[] = boxes.map((b) => ({
      box: b.box.map((v) => Math.round(v * 100) / 100) as Detection['box'],
      score: b.score,
      label: b.label,
      name: manifest.labels[b.label] ?? String(b.label),
    }));
    const postprocessMs = performance.now() - t0;
    onOutput?.({ frames: 1, seconds: postprocessMs / 1000 });
    return {
      width: frame.width,
      height: frame.height,
      detections,
      timings: {
        decodeMs: frame.decodeMs,
        preprocessMs: frame.tensorMs,
        queueMs: sub.queueMs,
        inferenceMs: sub.runMs,
        postprocessMs,
        batchSize: sub.batchSize,
      },
    };
  };
}
