import { readFileSync } from 'node:fs';
import { parseManifest } from '../../../models/manifest/load.js';
import { OnnxSource } from '../../../models/manifest/schema.js';
import type ort from 'onnxruntime-node';
import { sessionOptions, type GraphSettings } from '../../../replica/engine/load-session.js';

/**
 * The graph settings a benchmark opens its session with, as the replica would: a manifest's
 * `onnx.graphOptimization` and `onnx.disabledOptimizers` (--manifest), each overridden by its flag
 * (--graph-optimization, --disabled-optimizers A,B; an empty list turns them all back on). Validated by the
 * manifest's own schema: a typo fails here as it would in manifest.json, where ONNX Runtime would ignore it.
 */
export function graphSettingsFromFlags(flags: {
  manifest?: string | undefined;
  graphOptimization?: string | undefined;
  disabledOptimizers?: string | undefined;
}): Required<GraphSettings> {
  const onnx = flags.manifest
    ? parseManifest(JSON.parse(readFileSync(flags.manifest, 'utf8')), flags.manifest).onnx
    : OnnxSource.parse({ file: 'unused.onnx' });
  return {
    graphOptimization: OnnxSource.shape.graphOptimization.parse(
      flags.graphOptimization ?? onnx.graphOptimization,
    ),
    disabledOptimizers:
      flags.disabledOptimizers === undefined
        ? onnx.disabledOptimizers
        : OnnxSource.shape.disabledOptimizers.parse(flags.disabledOptimizers.split(',').filter(Boolean)),
  };
}

/**
 * The replica's CPU session options for `graph`, plus `config` session config entries (`key=value`, e.g.
 * session.disable_prepacking=1) to measure before a manifest has them; `entries` is what was added.
 */
export function benchSessionOptions(
  threads: number,
  graph: GraphSettings,
  config: readonly string[],
): { options: ort.InferenceSession.SessionOptions; entries: Record<string, string> } {
  const replica = sessionOptions({ kind: 'cpu' }, threads, graph);
  const entries = Object.fromEntries(config.map((kv) => kv.split('=', 2) as [string, string]));
  const options = config.length ? { ...replica, extra: { ...replica.extra, ...entries } } : replica;
  return { options, entries };
}
