import { performance } from 'node:perf_hooks';
import { Hono, type Context } from 'hono';
import { GpumuxError } from '../../../common/errors.js';
import type { Engine } from '../../engine/types.js';
import { readBody, type UploadLimits } from '../read-body.js';
import { assertAccepting, type Lifecycle } from '../lifecycle.js';
import type { ReplicaEnv } from '../env.js';
import { assertServedModel } from '../model.js';
import { endpoint } from '../request-tracking.js';
import { HEADER_LENGTH } from '../../../common/http/v2-headers.js';
import { parseInferRequest } from './infer-request.js';
import { encodeInferResponse } from './infer-response.js';
import { toProtocolDatatype } from './tensors.js';

export interface V2RoutesOptions {
  engine: Engine;
  lifecycle: Lifecycle;
  /** gpumux's version for server metadata. */
  serverVersion: string;
  /** Body limit for infer (tensors are bigger than encoded images). */
  maxInferBodyBytes: number;
  /** Minimum upload rate (read-body.ts). */
  uploads?: UploadLimits;
  /** Time spent encoding an infer response (Triton's compute_output; inference-stats.ts `observeOutput`). */
  onOutputEncoded?: (info: { frames: number; seconds: number }) => void;
}

/** Extensions of the Open Inference Protocol this server implements. */
export const V2_EXTENSIONS = ['binary_tensor_data'];

/**
 * KServe v2 / Open Inference Protocol REST routes.
 *
 * @example
 * app.route('/', v2Routes({ engine, serverVersion: '0.1.0', maxInferBodyBytes: 64 << 20 }));
 */
export function v2Routes(options: V2RoutesOptions): Hono<ReplicaEnv> {
  const { engine, lifecycle, serverVersion } = options;
  const app = new Hono<ReplicaEnv>();
  const { manifest } = engine;

  app.get('/v2', endpoint('v2_server_metadata'), (c) =>
    c.json({ name: 'gpumux', version: serverVersion, extensions: V2_EXTENSIONS }),
  );
  app.get('/v2/health/live', endpoint('v2_health'), (c) => c.json({ live: true }));
  app.get('/v2/health/ready', endpoint('v2_health'), (c) => {
    assertAccepting(lifecycle);
    return c.json({ ready: true });
  });

  for (const base of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
    app.get(base, endpoint('v2_model_metadata'), (c) => {
      const { model, version } = modelParams(c);
      assertServedModel(manifest, model, version);
      return c.json(modelMetadata(engine));
    });

    app.get(`${base}/ready`, endpoint('v2_model_ready'), (c) => {
      const { model, version } = modelParams(c);
      assertServedModel(manifest, model, version);
      assertAccepting(lifecycle);
      return c.json({ name: manifest.name, ready: true });
    });

    app.post(`${base}/infer`, endpoint('infer'), (c) => infer(c, options));
  }
  return app;
}

function modelParams(c: Context): { model: string; version: string | undefined } {
  return { model: c.req.param('model') ?? '', version: c.req.param('version') };
}

/** The model's name, version and tensors, in the protocol's datatype spelling. */
function modelMetadata(engine: Engine) {
  const { manifest } = engine;
  const meta = engine.metadata();
  return {
    name: manifest.name,
    versions: [manifest.version],
    platform: 'onnxruntime_onnx',
    inputs: meta.inputs.map((t) => ({ ...t, datatype: toProtocolDatatype(t.datatype) })),
    outputs: meta.outputs.map((t) => ({ ...t, datatype: toProtocolDatatype(t.datatype) })),
  };
}

/** `POST .../infer`: read and parse the body, run it, encode the outputs asked for. */
async function infer(
  c: Context<ReplicaEnv>,
  { engine, lifecycle, maxInferBodyBytes, uploads = {}, onOutputEncoded }: V2RoutesOptions,
): Promise<Response> {
  const { manifest } = engine;
  const { model, version } = modelParams(c);
  assertServedModel(manifest, model, version);
  // Before the session exists the metadata has no outputs to validate against: answer 503, not 400.
  assertAccepting(lifecycle);
  const body = await readBody(c.req.raw, {
    ...uploads,
    maxBytes: maxInferBodyBytes,
    onReady: c.get('takeSlot'),
  });
  if (body.byteLength === 0) throw new GpumuxError('EMPTY_BODY', 'the inference request body is empty');
  const request = parseInferRequest(body, c.req.header(HEADER_LENGTH));
  const outputNames = engine.metadata().outputs.map((o) => o.name);
  const requested = request.outputs ?? outputNames.map((name) => ({ name, binary: request.binaryDefault }));
  // every check of the tensors against the model happens in the engine (the gRPC server shares it)
  const tensors = await engine.infer(request.inputs, {
    signal: c.req.raw.signal,
    outputs: requested.map((o) => o.name),
  });
  const t0 = performance.now();
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const ordered = requested.map((o) => {
    const tensor = byName.get(o.name);
    if (!tensor) throw new GpumuxError('INFERENCE_FAILED', `the model returned no output "${o.name}"`);
    return tensor;
  });
  const encoded = encodeInferResponse({
    modelName: manifest.name,
    modelVersion: manifest.version,
    id: request.id,
    tensors: ordered,
    requested,
  });
  onOutputEncoded?.({ frames: ordered[0]?.shape[0] ?? 0, seconds: (performance.now() - t0) / 1000 });
  return c.body(encoded.body as string, 200, encoded.headers);
}
