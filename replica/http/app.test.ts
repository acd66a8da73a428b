import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { GpumuxError } from '../../common/errors.js';
import { createLogger } from '../../common/log.js';
import { binaryInferRequest, readBinaryInferResponse } from '../../test/helpers/v2-binary.js';
import { parseManifest } from '../../models/manifest/load.js';
import { ReplicaStats } from '../contract.js';
import type { DetectOptions, Engine, EngineState, FrameResult, RawTensor } from '../engine/types.js';
import { createReplicaMetrics } from '../metrics/replica-metrics.js';
import { createReplicaApp } from './app.js';
import type { Lifecycle } from './lifecycle.js';

/** The plain lifecycle for these tests: the engine's own state and stats (the server adds its HTTP drain). */
function engineLifecycle(engine: {
  readonly state: EngineState;
  stats(): ReplicaStats;
  drain(): Promise<void>;
}): Lifecycle {
  return {
    state: () => engine.state,
    stats: () => engine.stats(),
    drain: () => void engine.drain(),
  };
}

/**
 * Unit tests of the HTTP layer with no open port (`app.request`). The engine here is a small hand-written
 * test double for the real one (tested in test/replica against real processes): it answers from the bytes
 * it is given so each assertion can tell which request produced which answer.
 */

const manifest = parseManifest(
  JSON.parse(readFileSync(new URL('../../models/shapes/manifest.json', import.meta.url), 'utf8')),
);

interface FakeEngine extends Engine {
  setState(s: EngineState): void;
  detectCalls: { bytes: Uint8Array; options: DetectOptions | undefined }[];
  inferCalls: { inputs: RawTensor[]; outputs: string[] | undefined }[];
  /** Errors the next detect calls throw, in order. */
  failNext: GpumuxError[];
}

function fakeEngine(): FakeEngine {
  let state: EngineState = 'ready';
  const engine: FakeEngine = {
    manifest,
    get state() {
      return state;
    },
    setState(s) {
      state = s;
    },
    detectCalls: [],
    inferCalls: [],
    failNext: [],
    async start() {},
    detect(bytes, options) {
      engine.detectCalls.push({ bytes, options });
      const fail = engine.failNext.shift();
      if (fail) return Promise.reject(fail);
      if (new TextDecoder().decode(bytes.subarray(0, 3)) === 'bad')
        return Promise.reject(new GpumuxError('INVALID_IMAGE', 'not an image'));
      // width = first byte, so a test can tell frames apart
      const result: FrameResult = {
        width: bytes[0]!,
        height: bytes.byteLength,
        detections: [{ box: [1, 2, 3, 4], score: 0.9, label: 0, name: 'red' }],
        timings: { decodeMs: 1, preprocessMs: 1, queueMs: 0, inferenceMs: 1, postprocessMs: 0, batchSize: 1 },
      };
      return Promise.resolve(result);
    },
    infer(inputs, options) {
      engine.inferCalls.push({ inputs, outputs: options?.outputs });
      const batch = inputs[0]!.shape[0]!;
      const all: RawTensor[] = [
        {
          name: 'boxes',
          datatype: 'FLOAT32',
          shape: [batch, 3, 4],
          data: Float32Array.from({ length: batch * 12 }, (_, i) => i + 0.5),
        },
        {
          name: 'scores',
          datatype: 'FLOAT32',
          shape: [batch, 3],
          data: Float32Array.from({ length: batch * 3 }, (_, i) => i / 4),
        },
        {
          name: 'labels',
          datatype: 'INT64',
          shape: [batch, 3],
          data: BigInt64Array.from({ length: batch * 3 }, (_, i) => BigInt(i % 3)),
        },
      ];
      const wanted = options?.outputs ?? all.map((t) => t.name);
      return Promise.resolve(wanted.map((n) => all.find((t) => t.name === n)!));
    },
    metadata() {
      return {
        inputs: [{ name: 'images', datatype: 'UINT8', shape: [-1, -1, -1, 3] }],
        outputs: [
          { name: 'boxes', datatype: 'FLOAT32', shape: [-1, 3, 4] },
          { name: 'scores', datatype: 'FLOAT32', shape: [-1, 3] },
          { name: 'labels', datatype: 'INT64', shape: [-1, 3] },
        ],
      };
    },
    stats() {
      return ReplicaStats.parse({
        replicaId: 'r1',
        model: 'shapes',
        version: '1',
        state,
        ready: state === 'ready',
        device: {
          kind: 'cpu',
          node: 'n',
          index: null,
          uuid: null,
          name: null,
          memoryTotalBytes: null,
          memoryUsedBytes: null,
          virtual: false,
        },
        footprint: { bytes: 100, method: 'rss', peakBytes: 100 },
        queueLength: 0,
        queueCapacity: 64,
        inFlight: 0,
        maxBatch: 8,
        ewmaServiceSeconds: 0,
        busyRatio: 0,
        processRssBytes: 1,
        startedAt: new Date(0).toISOString(),
        uptimeSeconds: 1,
        requestsTotal: 0,
        framesTotal: 0,
        errorsTotal: 0,
      });
    },
    drain() {
      state = 'draining';
      return Promise.resolve();
    },
    async close() {},
  };
  return engine;
}

let engine: FakeEngine;
let lifecycle: Lifecycle;
let app: ReturnType<typeof createReplicaApp>['app'];
let metrics: ReturnType<typeof createReplicaMetrics>;

beforeEach(() => {
  engine = fakeEngine();
  lifecycle = engineLifecycle(engine);
  metrics = createReplicaMetrics({ model: 'shapes', version: '1', maxBatch: 8, defaultMetrics: false });
  metrics.bindStats(() => lifecycle.stats());
  ({ app } = createReplicaApp({
    engine,
    metrics,
    lifecycle,
    logger: createLogger({}, () => undefined),
    serverVersion: '9.9.9',
  }));
});

const jpegHeaders = { 'content-type': 'image/jpeg' };

describe('KServe v2 metadata and health', () => {
  it('describes the server with the binary tensor extension', async () => {
    const res = await app.request('/v2');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: 'gpumux',
      version: '9.9.9',
      extensions: ['binary_tensor_data'],
    });
  });

  it('is live while warming but ready only when the engine is', async () => {
    engine.setState('warming');
    expect((await app.request('/v2/health/live')).status).toBe(200);
    const notReady = await app.request('/v2/health/ready');
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get('retry-after')).toBe('1');
    expect(await notReady.json()).toMatchObject({ code: 'NOT_READY' });
    expect((await app.request('/v2/models/shapes/ready')).status).toBe(503);
    engine.setState('ready');
    expect((await app.request('/v2/health/ready')).status).toBe(200);
    expect((await app.request('/v2/models/shapes/versions/1/ready')).status).toBe(200);
  });

  it('returns model metadata and 404s for other models and versions in the v2 error shape', async () => {
    const meta = await app.request('/v2/models/shapes/versions/1');
    expect(await meta.json()).toMatchObject({
      name: 'shapes',
      versions: ['1'],
      inputs: [{ name: 'images', datatype: 'UINT8' }],
      outputs: [
        { name: 'boxes', datatype: 'FP32' },
        { name: 'scores', datatype: 'FP32' },
        { name: 'labels', datatype: 'INT64' },
      ],
    });
    const other = await app.request('/v2/models/cats');
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ error: expect.stringContaining('cats'), code: 'MODEL_NOT_FOUND' });
    const version = await app.request('/v2/models/shapes/versions/7/ready');
    expect(version.status).toBe(404);
    expect(await version.json()).toMatchObject({ code: 'VERSION_NOT_FOUND' });
  });

  it('answers unknown paths with NOT_FOUND', async () => {
    const res = await app.request('/v1/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});

describe('POST /v1/models/{m}/detect', () => {
  it('detects one raw image and passes the threshold and the request signal', async () => {
    const res = await app.request('/v1/models/shapes/detect?threshold=0.25', {
      method: 'POST',
      body: new Uint8Array([7, 1, 2]),
      headers: jpegHeaders,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      width: 7,
      height: 3,
      detections: [{ name: 'red' }],
      timings: { batchSize: 1 },
    });
    expect(engine.detectCalls[0]!.options!.threshold).toBe(0.25);
    expect(engine.detectCalls[0]!.options!.signal).toBeInstanceOf(AbortSignal);
  });

  it('rejects bad thresholds, unknown models and versions before reading the image', async () => {
    for (const t of ['2', '-0.1', 'abc', '']) {
      const res = await app.request(`/v1/models/shapes/detect?threshold=${t}`, {
        method: 'POST',
        body: 'x',
        headers: jpegHeaders,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'INVALID_PARAMETER' } });
    }
    const model = await app.request('/v1/models/cats/detect', {
      method: 'POST',
      body: 'x',
      headers: jpegHeaders,
    });
    expect([model.status, ((await model.json()) as { error: { code: string } }).error.code]).toEqual([
      404,
      'MODEL_NOT_FOUND',
    ]);
    const version = await app.request('/v1/models/shapes/versions/2/detect', {
      method: 'POST',
      body: 'x',
      headers: jpegHeaders,
    });
    expect(version.status).toBe(404);
    expect(engine.detectCalls).toHaveLength(0);
  });

  it('answers 415 for other content types and 400 EMPTY_BODY for an empty body', async () => {
    const text = await app.request('/v1/models/shapes/detect', {
      method: 'POST',
      body: 'hi',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    const empty = await app.request('/v1/models/shapes/detect', {
      method: 'POST',
      body: new Uint8Array(0),
      headers: jpegHeaders,
    });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ error: { code: 'EMPTY_BODY' } });
  });

  it('refuses a body over the manifest limit from its Content-Length', async () => {
    const res = await app.request('/v1/models/shapes/detect', {
      method: 'POST',
      body: new Uint8Array(manifest.limits.maxBodyBytes + 1),
      headers: { ...jpegHeaders, 'content-length': String(manifest.limits.maxBodyBytes + 1) },
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('runs every multipart image on its own and fails only the bad one, in order', async () => {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array([1, 0])]), 'a.jpg');
    form.append('image', new Blob(['bad!']), 'b.jpg');
    form.append('image', new Blob([new Uint8Array([3, 0, 0])]), 'c.jpg');
    const res = await app.request('/v1/models/shapes/detect', { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: Record<string, unknown>[] };
    expect(body.results).toHaveLength(3);
    expect(body.results[0]).toMatchObject({ width: 1, height: 2 });
    expect(body.results[1]).toEqual({ error: { code: 'INVALID_IMAGE', message: 'not an image' } });
    expect(body.results[2]).toMatchObject({ width: 3, height: 3 });
  });

  it('fails the whole request with 429 and Retry-After when every frame was refused for back-pressure', async () => {
    engine.failNext = [1, 2].map(
      () => new GpumuxError('QUEUE_FULL', 'queue is full', { retryAfterSeconds: 2.2 }),
    );
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array([1])]));
    form.append('image', new Blob([new Uint8Array([2])]));
    const res = await app.request('/v1/models/shapes/detect', { method: 'POST', body: form });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(await res.json()).toMatchObject({ error: { code: 'QUEUE_FULL' } });
  });

  it('fails the whole request with 504 when every frame ran out of time (the rule the gateway applies too)', async () => {
    engine.failNext = [1, 2].map(() => new GpumuxError('DEADLINE_EXCEEDED', 'deadline passed'));
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array([1])]));
    form.append('image', new Blob([new Uint8Array([2])]));
    const res = await app.request('/v1/models/shapes/detect', { method: 'POST', body: form });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: { code: 'DEADLINE_EXCEEDED' } });
  });

  it('answers a multipart body without image fields with EMPTY_BODY', async () => {
    const form = new FormData();
    form.append('picture', new Blob([new Uint8Array([1])]));
    const res = await app.request('/v1/models/shapes/detect', { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'EMPTY_BODY' } });
  });
});

describe('draining', () => {
  it('refuses new work with 503 DRAINING and reports it in stats and readiness', async () => {
    const drainingLifecycle: Lifecycle = {
      state: () => 'draining',
      stats: () => ({ ...engine.stats(), state: 'draining', ready: false }),
      drain: () => undefined,
    };
    const { app: drainingApp } = createReplicaApp({
      engine,
      metrics,
      lifecycle: drainingLifecycle,
      logger: createLogger({}, () => undefined),
    });
    const res = await drainingApp.request('/v1/models/shapes/detect', {
      method: 'POST',
      body: 'x',
      headers: jpegHeaders,
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toMatchObject({ error: { code: 'DRAINING' } });
    expect((await drainingApp.request('/v2/health/ready')).status).toBe(503);
    expect(ReplicaStats.parse(await (await drainingApp.request('/v1/stats')).json()).state).toBe('draining');
    expect(engine.detectCalls).toHaveLength(0);
  });

  it('POST /v1/drain starts a drain and answers 202', async () => {
    const res = await app.request('/v1/drain', { method: 'POST' });
    expect(res.status).toBe(202);
    expect(engine.state).toBe('draining');
  });
});

describe('POST /v2/models/{m}/infer', () => {
  const url = '/v2/models/shapes/infer';

  it('takes nested JSON data, echoes the id and answers JSON outputs (INT64 as numbers)', async () => {
    const data = Array.from({ length: 2 }, () =>
      Array.from({ length: 2 }, () => [
        [1, 2, 3],
        [4, 5, 6],
      ]),
    );
    const res = await app.request(url, {
      method: 'POST',
      body: JSON.stringify({
        id: 'req-1',
        inputs: [{ name: 'images', datatype: 'UINT8', shape: [2, 2, 2, 3], data }],
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      id: string;
      model_name: string;
      outputs: { name: string; shape: number[]; data: number[] }[];
    };
    expect(body.id).toBe('req-1');
    expect(body.model_name).toBe('shapes');
    expect(body.outputs.map((o) => o.name)).toEqual(['boxes', 'scores', 'labels']);
    expect(body.outputs[2]).toMatchObject({ datatype: 'INT64', shape: [2, 3], data: [0, 1, 2, 0, 1, 2] });
    const input = engine.inferCalls[0]!.inputs[0]!;
    expect(input.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(input.data as Uint8Array).slice(0, 6)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('takes binary inputs and returns the outputs asked for as binary (binary tensor extension)', async () => {
    const pixels = Uint8Array.from({ length: 1 * 2 * 2 * 3 }, (_, i) => i * 10);
    const request = binaryInferRequest(
      {
        inputs: [
          {
            name: 'images',
            datatype: 'UINT8',
            shape: [1, 2, 2, 3],
            parameters: { binary_data_size: pixels.byteLength },
          },
        ],
        outputs: [{ name: 'scores', parameters: { binary_data: true } }, { name: 'labels' }],
      },
      pixels,
    );
    const res = await app.request(url, request);
    expect(res.status).toBe(200);
    expect(Array.from(engine.inferCalls[0]!.inputs[0]!.data as Uint8Array)).toEqual(Array.from(pixels));
    expect(engine.inferCalls[0]!.outputs).toEqual(['scores', 'labels']);
    const { json, jsonLength, raw } = await readBinaryInferResponse<{
      outputs: { name: string; parameters?: { binary_data_size: number }; data?: number[] }[];
    }>(res);
    expect(json.outputs[0]).toMatchObject({
      name: 'scores',
      datatype: 'FP32',
      parameters: { binary_data_size: 12 },
    });
    expect(json.outputs[1]).toMatchObject({ name: 'labels', data: [0, 1, 2] });
    const scores = new Float32Array(
      raw.subarray(jsonLength).buffer.slice(raw.byteOffset + jsonLength, raw.byteOffset + jsonLength + 12),
    );
    expect(Array.from(scores)).toEqual([0, 0.25, 0.5]);
  });

  it('returns every output as binary with binary_data_output unless an output says otherwise', async () => {
    const res = await app.request(url, {
      method: 'POST',
      body: JSON.stringify({
        parameters: { binary_data_output: true },
        inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 1, 1, 3], data: [1, 2, 3] }],
        outputs: [{ name: 'boxes' }, { name: 'labels', parameters: { binary_data: false } }],
      }),
    });
    const { json, jsonLength, raw } = await readBinaryInferResponse<{
      outputs: { parameters?: unknown; data?: unknown }[];
    }>(res);
    expect(raw.byteLength).toBe(jsonLength + 12 * 4);
    expect(json.outputs[0]!.parameters).toEqual({ binary_data_size: 48 });
    expect(json.outputs[1]!.data).toEqual([0, 1, 2]);
  });

  const SHORT_BINARY_HEADER = JSON.stringify({
    inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 1, 1, 3], parameters: { binary_data_size: 3 } }],
  });
  const bad: [string, RequestInit, number, string][] = [
    ['malformed JSON', { body: '{"inputs": [' }, 400, 'INVALID_JSON'],
    ['no inputs', { body: '{"inputs": []}' }, 400, 'BAD_REQUEST'],
    [
      'an unsupported datatype',
      { body: JSON.stringify({ inputs: [{ name: 'images', datatype: 'BYTES', shape: [1], data: ['a'] }] }) },
      400,
      'INVALID_TENSOR',
    ],
    [
      'data that does not fill the shape',
      {
        body: JSON.stringify({
          inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 2, 2, 3], data: [1, 2, 3] }],
        }),
      },
      400,
      'INVALID_TENSOR',
    ],
    [
      'a value out of range',
      {
        body: JSON.stringify({
          inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 1, 1, 3], data: [1, 2, 300] }],
        }),
      },
      400,
      'INVALID_TENSOR',
    ],
    [
      'shared memory',
      {
        body: JSON.stringify({
          inputs: [
            {
              name: 'images',
              datatype: 'UINT8',
              shape: [1, 1, 1, 3],
              parameters: { shared_memory_region: 'r' },
            },
          ],
        }),
      },
      400,
      'INVALID_PARAMETER',
    ],
    [
      'a header length past the body',
      { body: '{}', headers: { 'inference-header-content-length': '99' } },
      400,
      'BAD_REQUEST',
    ],
    [
      'binary data shorter than declared',
      {
        body: Buffer.concat([Buffer.from(SHORT_BINARY_HEADER), Buffer.from([1, 2])]),
        headers: { 'inference-header-content-length': String(Buffer.byteLength(SHORT_BINARY_HEADER)) },
      },
      400,
      'INVALID_TENSOR',
    ],
    ['an empty body', { body: '' }, 400, 'EMPTY_BODY'],
  ];
  for (const [what, init, status, code] of bad) {
    it(`answers ${what} with ${status} ${code} in the v2 error shape`, async () => {
      const res = await app.request(url, { method: 'POST', ...init });
      expect(res.status).toBe(status);
      const body = (await res.json()) as { error: unknown; code: unknown };
      expect(typeof body.error).toBe('string');
      expect(body.code).toBe(code);
      expect(engine.inferCalls).toHaveLength(0);
    });
  }

  it('refuses work with 503 while the model warms up', async () => {
    engine.setState('warming');
    const res = await app.request(url, { method: 'POST', body: '{}' });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'NOT_READY' });
  });
});

describe('GET /metrics and /v1/stats', () => {
  it('counts requests by endpoint and status code', async () => {
    await app.request('/v1/models/shapes/detect', {
      method: 'POST',
      body: new Uint8Array([1]),
      headers: jpegHeaders,
    });
    await app.request('/v1/models/shapes/detect', {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain('gpumux_requests_total{model="shapes",endpoint="detect",code="200"} 1');
    expect(text).toContain('gpumux_requests_total{model="shapes",endpoint="detect",code="415"} 1');
    expect(text).toContain('gpumux_replica_ready{model="shapes",version="1"} 1');
  });

  it('serves stats that parse as ReplicaStats', async () => {
    const res = await app.request('/v1/stats');
    expect(ReplicaStats.safeParse(await res.json()).success).toBe(true);
  });
});
