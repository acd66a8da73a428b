import { Hono } from 'hono';
import type { Manifest } from '../../../models/manifest/schema.js';
import type { Engine } from '../../engine/types.js';
import type { ReplicaEnv } from '../env.js';
import { assertServedModel } from '../model.js';
import { endpoint } from '../request-tracking.js';
import { toProtocolDatatype } from './tensors.js';

/**
 * Triton's model-configuration extension: `GET /v2/models/{m}[/versions/{v}]/config` answers the model's
 * configuration in Triton's JSON form (model_config.proto's field names) so clients learn what inputs are
 * valid. Triton's `dims` hold one shape (-1 for a variable dimension) and cannot list alternatives, so the
 * inputs' dims keep -1 for height and width and the buckets — the only shapes the model takes — are in
 * `parameters.shape_buckets.string_value`: JSON `{ "<input>": [[dims without batch], ...] }`.
 */

export interface TensorConfig {
  name: string;
  data_type: string;
  dims: number[];
  format?: 'FORMAT_NHWC' | 'FORMAT_NCHW';
}

export interface ModelConfig {
  name: string;
  platform: string;
  backend: string;
  max_batch_size: number;
  input: TensorConfig[];
  output: TensorConfig[];
  dynamic_batching: {
    preferred_batch_size: number[];
    max_queue_delay_microseconds: number;
    default_queue_policy: { max_queue_size: number };
  };
  default_model_filename: string;
  parameters: Record<string, { string_value: string }>;
}

/** `FLOAT32` / `FP32` → `TYPE_FP32`, as model_config.proto's DataType names it. */
export function configDatatype(datatype: string): string {
  return `TYPE_${toProtocolDatatype(datatype)}`;
}

/** Each input's bucket shapes without the batch dimension. */
export function shapeBuckets(manifest: Manifest): Record<string, number[][]> {
  const { image, mask } = manifest.inputs;
  const buckets = manifest.preprocess.buckets;
  const out: Record<string, number[][]> = {
    [image.name]: buckets.map(([h, w]) => (image.layout === 'NHWC' ? [h, w, 3] : [3, h, w])),
  };
  if (mask) out[mask.name] = buckets.map(([h, w]) => [h, w]);
  return out;
}

export function modelConfig(
  engine: Pick<Engine, 'manifest' | 'metadata'>,
  limits: { maxBatch: number; maxQueue: number },
): ModelConfig {
  const { manifest } = engine;
  const meta = engine.metadata();
  const format = manifest.inputs.image.layout === 'NHWC' ? 'FORMAT_NHWC' : 'FORMAT_NCHW';
  const tensor = (t: { name: string; datatype: string; shape: number[] }): TensorConfig => ({
    name: t.name,
    data_type: configDatatype(t.datatype),
    dims: t.shape.slice(1), // the batch dimension is implied by max_batch_size > 0
  });
  return {
    name: manifest.name,
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    max_batch_size: limits.maxBatch,
    input: meta.inputs.map((t) =>
      t.name === manifest.inputs.image.name ? { ...tensor(t), format } : tensor(t),
    ),
    output: meta.outputs.map(tensor),
    // gpumux's batcher never waits for a batch to fill: it takes what is queued when the model is free.
    dynamic_batching: {
      preferred_batch_size: [],
      max_queue_delay_microseconds: 0,
      default_queue_policy: { max_queue_size: limits.maxQueue },
    },
    default_model_filename: manifest.onnx.file,
    parameters: { shape_buckets: { string_value: JSON.stringify(shapeBuckets(manifest)) } },
  };
}

export function configRoutes({
  engine,
  limits,
}: {
  engine: Pick<Engine, 'manifest' | 'metadata'>;
  limits: () => { maxBatch: number; maxQueue: number };
}): Hono<ReplicaEnv> {
  const app = new Hono<ReplicaEnv>();
  for (const path of ['/v2/models/:model/config', '/v2/models/:model/versions/:version/config']) {
    app.get(path, endpoint('v2_model_config'), (c) => {
      assertServedModel(engine.manifest, c.req.param('model') ?? '', c.req.param('version'));
      return c.json(modelConfig(engine, limits()));
    });
  }
  return app;
}
