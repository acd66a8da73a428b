/**
 * Runs an exported Co-DETR model.onnx in onnxruntime-node (what gpumux serves with) on the inputs that
 * export_onnx.py --reference-dir saved, and compares with PyTorch's outputs (compare-outputs.ts). Prints one
 * JSON line per shape and a summary; exit status 1 when any row fails. Also the memory probe: session create
 * time, run time and the process's peak RSS, so run it once per shape for a per-shape peak.
 *
 *   npx tsx bench/codetr/verify/verify-ort.ts --onnx out/model.onnx --ref-dir ref [--shapes 1x720x1280,...]
 *     [--threads 2] [--runs 1] [--expect-detections] [--report report.json] [--graph-optimization all]
 *     [--manifest models/codetr/manifest.json] [--disabled-optimizers ConstantFolding] [--config key=value ...]
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { benchSessionOptions, graphSettingsFromFlags } from './graph-flags.js';
import { compareOutputs, DEFAULT_CRITERION, type Agreement } from './compare-outputs.js';

interface ReferenceInfo {
  shape: [number, number, number];
  rows: string[];
}

const { values } = parseArgs({
  options: {
    onnx: { type: 'string' },
    'ref-dir': { type: 'string' },
    shapes: { type: 'string' },
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '1' },
    'expect-detections': { type: 'boolean', default: false },
    report: { type: 'string' },
    /** ONNX Runtime's graph optimisation level, as the manifest's `onnx.graphOptimization` sets it. */
    'graph-optimization': { type: 'string' },
    /** The manifest's `onnx.disabledOptimizers`, comma-separated ('' for none); default: --manifest's. */
    'disabled-optimizers': { type: 'string' },
    /** A manifest.json whose `onnx` graph settings to use (default: ONNX Runtime's `all`, nothing disabled). */
    manifest: { type: 'string' },
    /** More session config entries (key=value), e.g. session.disable_prepacking=1, to measure before a manifest has them. */
    config: { type: 'string', multiple: true, default: [] },
  },
});
if (!values.onnx || !values['ref-dir']) {
  console.error('usage: verify-ort.ts --onnx model.onnx --ref-dir DIR [--shapes NxHxW,...] [--threads N]');
  process.exit(2);
}
const refDir = values['ref-dir'];

function peakRssGiB(): number {
  return process.resourceUsage().maxRSS / 2 ** 20; // KiB
}

function readF32(file: string): Float32Array {
  const buf = readFileSync(file);
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
}

function log(fields: Record<string, unknown>): void {
  console.log(
    JSON.stringify({ t: new Date().toISOString(), peakRssGiB: +peakRssGiB().toFixed(2), ...fields }),
  );
}

const available = readdirSync(refDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(path.join(refDir, f), 'utf8')) as ReferenceInfo);
const wanted = values.shapes?.split(',');
const shapes = available
  .filter((r) => !wanted || wanted.includes(r.shape.join('x')))
  // largest first, as the replica warms up: the first run sets the arena's peak and the smaller ones reuse
  // its chunks (smallest first, each larger shape would extend the arena beside the chunks it cannot reuse)
  .sort((a, b) => b.shape.reduce((x, y) => x * y, 1) - a.shape.reduce((x, y) => x * y, 1));
if (shapes.length === 0) {
  console.error(`no reference outputs in ${refDir} for ${wanted?.join(',') ?? 'any shape'}`);
  process.exit(2);
}

let started = performance.now();
// the replica's own session options: what is verified is what is served
const graph = graphSettingsFromFlags({
  manifest: values.manifest,
  graphOptimization: values['graph-optimization'],
  disabledOptimizers: values['disabled-optimizers'],
});
const { options, entries } = benchSessionOptions(Number(values.threads), graph, values.config);
const session = await ort.InferenceSession.create(values.onnx, options);
const createS = (performance.now() - started) / 1000;
log({
  event: 'session',
  onnx: values.onnx,
  createS,
  threads: Number(values.threads),
  ...graph,
  config: entries,
});

const results: Array<Record<string, unknown>> = [];
let failed = false;
for (const ref of shapes) {
  const stem = path.join(refDir, ref.shape.join('x'));
  const [n, h, w] = ref.shape;
  const pixels = readFileSync(`${stem}.images.u8`);
  const images = new ort.Tensor('uint8', new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.length), [
    n,
    h,
    w,
    3,
  ]);
  const torchLogits = readF32(`${stem}.torch.pred_logits.f32`);
  const torchBoxes = readF32(`${stem}.torch.pred_boxes.f32`);
  const runS: number[] = [];
  let out: ort.InferenceSession.ReturnType | undefined;
  for (let r = 0; r < Number(values.runs); r++) {
    started = performance.now();
    out = await session.run({ images });
    runS.push((performance.now() - started) / 1000);
    log({ event: 'run', shape: ref.shape.join('x'), run: r, runS: runS[r] });
  }
  const logits = out!.pred_logits!.data as Float32Array;
  const boxes = out!.pred_boxes!.data as Float32Array;
  const rows: Array<Agreement & { input: string }> = [];
  // queries and classes from the graph's own output (900 x 80 for the shipped model; a team's own differs)
  const [, numQueries = 0, numClasses = 0] = out!.pred_logits!.dims;
  for (let i = 0; i < n; i++) {
    const l = numQueries * numClasses;
    const b = numQueries * 4;
    const agreement = compareOutputs(
      {
        logits: torchLogits.subarray(i * l, (i + 1) * l),
        boxes: torchBoxes.subarray(i * b, (i + 1) * b),
      },
      { logits: logits.subarray(i * l, (i + 1) * l), boxes: boxes.subarray(i * b, (i + 1) * b) },
      {
        ...DEFAULT_CRITERION,
        numQueries,
        numClasses,
        expectDetections: values['expect-detections'],
      },
    );
    rows.push({ input: ref.rows[i] ?? `row ${i}`, ...agreement });
    failed ||= !agreement.pass;
  }
  const result = { event: 'shape', shape: ref.shape.join('x'), runS, rows };
  log(result);
  results.push(result);
}
const summary = {
  event: 'summary',
  onnx: values.onnx,
  createS,
  peakRssGiB: peakRssGiB(),
  pass: !failed,
  results,
};
if (values.report) writeFileSync(values.report, JSON.stringify(summary, null, 2));
log({ event: 'summary', createS, pass: !failed });
process.exit(failed ? 1 : 0);
