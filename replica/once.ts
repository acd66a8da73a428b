import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { createEngine } from './engine/create-engine.js';
import type { EngineOptions } from './engine/types.js';
import type { ReplicaStats } from './contract.js';

/** What `gpumux replica --once` prints: enough to decide whether a model file is ready for the cluster. */
export interface OnceReport {
  ok: boolean;
  /** The manifest's name; the folder given when the manifest could not be read. */
  model: string;
  /** null when the manifest could not be read. */
  version: string | null;
  device: ReplicaStats['device'] | null;
  /** Session load + warm-up (every bucket at max batch), ms. */
  readyMs: number | null;
  /** The one frame, end to end (decode, pre-process, inference, post-process), ms. */
  frameMs: number | null;
  timings: Record<string, number> | null;
  detections: number | null;
  /** What the replica holds for life after warm-up (its method says how it was measured). */
  footprint: ReplicaStats['footprint'] | null;
  maxBatch: number | null;
  error: string | null;
}

/** A grey frame filling the largest bucket (landscape 16:9 when the bucket is), for a run without --image. */
async function syntheticFrame(buckets: [number, number][]): Promise<Buffer> {
  const [h, w] = buckets.reduce((a, b) => (b[0] * b[1] > a[0] * a[1] ? b : a));
  return sharp({ create: { width: w, height: h, channels: 3, background: '#808080' } })
    .jpeg()
    .toBuffer();
}

/**
 * One smoke run of a model file on one device, before it goes to a cluster: load, warm up (the footprint is
 * final then), one frame, footprint and latency. Resolves with the report; never throws.
 */
export async function runOnce(options: EngineOptions, imagePath?: string): Promise<OnceReport> {
  const report: OnceReport = {
    ok: false,
    model: options.modelDir,
    version: options.modelVersion ?? null,
    device: null,
    readyMs: null,
    frameMs: null,
    timings: null,
    detections: null,
    footprint: null,
    maxBatch: null,
    error: null,
  };
  let engine: ReturnType<typeof createEngine>;
  try {
    engine = createEngine(options); // reads and checks the manifest: a bad folder is a report, not a stack trace
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
    return report;
  }
  report.model = engine.manifest.name;
  report.version = options.modelVersion ?? engine.manifest.version;
  const started = performance.now();
  try {
    await engine.start();
    report.readyMs = Math.round(performance.now() - started);
    const image = imagePath
      ? await readFile(imagePath)
      : await syntheticFrame(engine.manifest.preprocess.buckets);
    const t0 = performance.now();
    const result = await engine.detect(image);
    report.frameMs = Math.round(performance.now() - t0);
    report.timings = { ...result.timings };
    report.detections = result.detections.length;
    report.ok = true;
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
  } finally {
    const stats = engine.stats();
    report.device = stats.device;
    report.footprint = stats.footprint;
    report.maxBatch = stats.maxBatch;
    await engine.close().catch(() => undefined);
  }
  return report;
}
