/**
 * How much memory creating an ONNX Runtime session costs, and how much of it stays (CPU EP): loads --onnx with
 * the replica's session options (--manifest's graph settings, --level and --disabled-optimizers over them,
 * plus --config key=value session config entries), prints the process's RSS and high-water mark after
 * creation, then after one zero run of --shape if given. Not CI: for big graphs.
 *   npx tsx bench/codetr/verify/session-memory.ts --onnx out/model.onnx [--disabled-optimizers ConstantFolding]
 *     [--config session.disable_prepacking=1] [--shape 1x720x1280]
 */
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { benchSessionOptions, graphSettingsFromFlags } from './graph-flags.js';

const { values } = parseArgs({
  options: {
    onnx: { type: 'string' },
    config: { type: 'string', multiple: true, default: [] },
    shape: { type: 'string' },
    threads: { type: 'string', default: '2' },
    /** graphOptimizationLevel instead of the manifest's (to see what the optimiser adds). */
    level: { type: 'string' },
    /** The manifest's `onnx.disabledOptimizers`, comma-separated ('' for none); default: --manifest's. */
    'disabled-optimizers': { type: 'string' },
    /** A manifest.json whose `onnx` graph settings to use (default: ONNX Runtime's `all`, nothing disabled). */
    manifest: { type: 'string' },
  },
});
if (!values.onnx) {
  console.error('usage: session-memory.ts --onnx model.onnx [--config key=value ...] [--shape NxHxW]');
  process.exit(2);
}
const GiB = 2 ** 30;
const report = (event: string, extra: Record<string, unknown> = {}) =>
  console.log(
    JSON.stringify({
      event,
      rssGiB: +(process.memoryUsage.rss() / GiB).toFixed(2),
      peakRssGiB: +((process.resourceUsage().maxRSS * 1024) / GiB).toFixed(2),
      ...extra,
    }),
  );
const graph = graphSettingsFromFlags({
  manifest: values.manifest,
  graphOptimization: values.level,
  disabledOptimizers: values['disabled-optimizers'],
});
const { options, entries } = benchSessionOptions(Number(values.threads), graph, values.config);
let t = performance.now();
const session = await ort.InferenceSession.create(values.onnx, options);
report('created', {
  s: +((performance.now() - t) / 1000).toFixed(1),
  config: entries,
  level: graph.graphOptimization,
  disabledOptimizers: graph.disabledOptimizers,
});
if (values.shape) {
  const dims = values.shape.split('x').map(Number);
  const [n, h, w] = dims as [number, number, number];
  const images = new ort.Tensor('uint8', new Uint8Array(n * h * w * 3), [n, h, w, 3]);
  t = performance.now();
  await session.run({ images });
  report('ran', { shape: values.shape, s: +((performance.now() - t) / 1000).toFixed(1) });
}
await session.release();
