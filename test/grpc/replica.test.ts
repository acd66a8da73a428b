import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { drawPixels, type Rect } from '../helpers/images.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { grpcClients, grpcCode, type TestClients } from './client.js';
import { grpcAddressOf } from './replica-address.js';

/**
 * KServe v2 over gRPC against a real replica process (models/shapes) with a real grpc-js client built from
 * protos/: health, metadata, infer with raw and typed contents, the error table, config and statistics.
 */

let replica: ReplicaProcess;
let client: TestClients;
beforeAll(async () => {
  // max-batch 1 / max-queue 1: a handful of concurrent calls is enough to overload it.
  replica = await startReplica({ args: ['--grpc-port', '0', '--max-batch', '1', '--max-queue', '1'] });
  client = grpcClients(grpcAddressOf(replica));
});
afterAll(async () => {
  client?.close();
  if (replica) expect((await replica.stop()).code).toBe(0);
});

const RED: Rect = { box: [100, 120, 300, 260], color: 'red' };
const pixels = (): Buffer => Buffer.from(drawPixels({ width: 640, height: 480, rects: [RED] }).data);
const imagesInput = (shape = [1, 480, 640, 3], datatype = 'UINT8', name = 'images') => ({
  name,
  datatype,
  shape,
});

/** The red slot of the shapes model's boxes/scores outputs (raw little-endian FP32). */
function redBox(res: Record<string, unknown>): { box: number[]; score: number } {
  const outputs = res.outputs as { name: string; shape: number[]; datatype: string }[];
  const raw = res.raw_output_contents as Buffer[];
  const f32 = (name: string) => {
    const b = raw[outputs.findIndex((o) => o.name === name)]!;
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  return { box: Array.from(f32('boxes').subarray(0, 4)), score: f32('scores')[0]! };
}

function expectRedFound(res: Record<string, unknown>): void {
  const { box, score } = redBox(res);
  expect(score).toBeGreaterThan(0.5);
  box.forEach((v, i) => expect(Math.abs(v - RED.box[i]!)).toBeLessThanOrEqual(2));
}

describe('replica over gRPC (real process, real grpc-js client)', () => {
  it('answers health, the health-checking protocol and metadata', async () => {
    expect(await client.inference.ServerLive({})).toEqual({ live: true });
    expect(await client.inference.ServerReady({})).toEqual({ ready: true });
    expect(await client.inference.ModelReady({ name: 'shapes', version: '1' })).toEqual({ ready: true });
    expect(await client.health.Check({ service: '' })).toEqual({ status: 'SERVING' });
    expect(await client.health.Check({ service: 'readiness' })).toEqual({ status: 'SERVING' });
    expect(await grpcCode(client.health.Check({ service: 'no-such-service' }))).toBe(status.NOT_FOUND);

    const server = await client.inference.ServerMetadata({});
    expect(server).toMatchObject({ name: 'gpumux', extensions: ['binary_tensor_data'] });
    const meta = await client.inference.ModelMetadata({ name: 'shapes' });
    expect(meta).toMatchObject({ name: 'shapes', versions: ['1'], platform: 'onnxruntime_onnx' });
    expect(meta.inputs).toEqual([{ name: 'images', datatype: 'UINT8', shape: [-1, -1, -1, 3] }]);
    expect((meta.outputs as { name: string }[]).map((o) => o.name)).toEqual(['boxes', 'scores', 'labels']);
  });

  it('infers from raw_input_contents and answers raw_output_contents: the drawn box within 2 px', async () => {
    const res = await client.inference.ModelInfer({
      model_name: 'shapes',
      model_version: '1',
      id: 'req-7',
      inputs: [imagesInput()],
      raw_input_contents: [pixels()],
    });
    expect(res).toMatchObject({ model_name: 'shapes', model_version: '1', id: 'req-7' });
    expect((res.outputs as { name: string; datatype: string; shape: number[] }[])[0]).toMatchObject({
      name: 'boxes',
      datatype: 'FP32',
      shape: [1, 3, 4],
    });
    expectRedFound(res);
  });

  it('infers from typed contents (uint_contents) and honours the requested outputs', async () => {
    const res = await client.inference.ModelInfer({
      model_name: 'shapes',
      inputs: [{ ...imagesInput(), contents: { uint_contents: Array.from(pixels()) } }],
      outputs: [{ name: 'scores' }, { name: 'boxes' }],
    });
    expect((res.outputs as { name: string }[]).map((o) => o.name)).toEqual(['scores', 'boxes']);
    expectRedFound(res);
  });

  it('maps the error table: INVALID_ARGUMENT, NOT_FOUND', async () => {
    const infer = (request: object) =>
      grpcCode(client.inference.ModelInfer({ model_name: 'shapes', ...request }));
    const raw = [pixels()];
    // wrong input name, a shape that is no bucket, a datatype the model does not take
    expect(
      await infer({ inputs: [imagesInput(undefined, undefined, 'pixels')], raw_input_contents: raw }),
    ).toBe(status.INVALID_ARGUMENT);
    expect(
      await infer({
        inputs: [imagesInput([1, 640, 480, 3])],
        raw_input_contents: [Buffer.alloc(640 * 480 * 3)],
      }),
    ).toBe(status.OK); // the other bucket is valid …
    expect(
      await infer({
        inputs: [imagesInput([1, 100, 100, 3])],
        raw_input_contents: [Buffer.alloc(100 * 100 * 3)],
      }),
    ).toBe(status.INVALID_ARGUMENT); // … a shape that is no bucket is not
    expect(
      await infer({
        inputs: [imagesInput(undefined, 'INT32')],
        raw_input_contents: [Buffer.alloc(480 * 640 * 3 * 4)],
      }),
    ).toBe(status.INVALID_ARGUMENT);
    expect(await infer({ inputs: [imagesInput()], raw_input_contents: [raw[0]!.subarray(1)] })).toBe(
      status.INVALID_ARGUMENT,
    );
    expect(
      await grpcCode(
        client.inference.ModelInfer({ model_name: 'nope', inputs: [imagesInput()], raw_input_contents: raw }),
      ),
    ).toBe(status.NOT_FOUND);
    expect(await grpcCode(client.inference.ModelMetadata({ name: 'shapes', version: '9' }))).toBe(
      status.NOT_FOUND,
    );
    const err = await client.inference
      .ModelInfer({ model_name: 'nope', inputs: [] })
      .catch((e: unknown) => e);
    expect((err as { metadata: { get(k: string): unknown[] } }).metadata.get('gpumux-code')).toEqual([
      'MODEL_NOT_FOUND',
    ]);
  });

  it('refuses overload with RESOURCE_EXHAUSTED and a Retry-After', async () => {
    const calls = Array.from({ length: 12 }, () =>
      client.inference
        .ModelInfer({ model_name: 'shapes', inputs: [imagesInput()], raw_input_contents: [pixels()] })
        .then(
          () => ({ code: status.OK, retryAfter: undefined }),
          (e: { code: status; metadata: { get(k: string): unknown[] } }) => ({
            code: e.code,
            retryAfter: e.metadata.get('retry-after')[0],
          }),
        ),
    );
    const results = await Promise.all(calls);
    const refused = results.filter((r) => r.code === status.RESOURCE_EXHAUSTED);
    expect(results.some((r) => r.code === status.OK)).toBe(true);
    expect(refused.length).toBeGreaterThan(0);
    // 1 s from admission, or the engine queue's own estimate (a body takes its admission slot only once
    // read, so under load the queue may be what refuses): whole seconds either way
    expect(refused[0]!.retryAfter).toMatch(/^[1-9]\d*$/);
    expect(results.every((r) => r.code === status.OK || r.code === status.RESOURCE_EXHAUSTED)).toBe(true);
  });

  it('serves Triton model configuration over REST and gRPC, buckets in parameters', async () => {
    const rest = (await (await fetch(`${replica.url}/v2/models/shapes/versions/1/config`)).json()) as Record<
      string,
      unknown
    >;
    expect(rest).toMatchObject({
      name: 'shapes',
      platform: 'onnxruntime_onnx',
      max_batch_size: 1,
      input: [{ name: 'images', data_type: 'TYPE_UINT8', format: 'FORMAT_NHWC', dims: [-1, -1, 3] }],
      dynamic_batching: { max_queue_delay_microseconds: 0, default_queue_policy: { max_queue_size: 1 } },
    });
    const buckets: unknown = JSON.parse(
      (rest.parameters as { shape_buckets: { string_value: string } }).shape_buckets.string_value,
    );
    expect(buckets).toEqual({
      images: [
        [480, 640, 3],
        [640, 480, 3],
      ],
    });
    expect((rest.output as { name: string; dims: number[] }[]).find((o) => o.name === 'boxes')?.dims).toEqual(
      [3, 4],
    );

    const grpc = await client.inference.ModelConfig({ name: 'shapes' });
    const config = grpc.config as Record<string, unknown>;
    expect(config).toMatchObject({
      name: 'shapes',
      max_batch_size: 1,
      scheduling_choice: 'dynamic_batching',
    });
    expect(config.input).toEqual([
      { name: 'images', data_type: 'TYPE_UINT8', format: 'FORMAT_NHWC', dims: [-1, -1, 3], optional: false },
    ]);
    expect((config.parameters as Record<string, { string_value: string }>).shape_buckets!.string_value).toBe(
      JSON.stringify(buckets),
    );
    expect((await fetch(`${replica.url}/v2/models/other/config`)).status).toBe(404);
  });

  it('counts inferences, executions and durations as Triton statistics, and lists the repository', async () => {
    const before = (await client.inference.ModelStatistics({ name: 'shapes' })).model_stats as Stats[];
    for (let i = 0; i < 3; i++)
      await client.inference.ModelInfer({
        model_name: 'shapes',
        inputs: [imagesInput()],
        raw_input_contents: [pixels()],
      });
    const refused = client.inference.ModelInfer({
      model_name: 'shapes',
      inputs: [imagesInput(undefined, undefined, 'pixels')], // no such input: one failed request
      raw_input_contents: [pixels()],
    });
    expect(await grpcCode(refused)).toBe(status.INVALID_ARGUMENT);
    const rest = (await (await fetch(`${replica.url}/v2/models/shapes/versions/1/stats`)).json()) as {
      model_stats: Stats[];
    };
    const all = (await (await fetch(`${replica.url}/v2/models/stats`)).json()) as { model_stats: Stats[] };
    expect(all.model_stats.map((s) => s.name)).toEqual(['shapes']);
    const [b, a] = [before[0]!, rest.model_stats[0]!];
    expect(a.inference_count - b.inference_count).toBe(3);
    expect(a.execution_count - b.execution_count).toBe(3); // max batch 1: one execution per frame
    expect(a.inference_stats.success.count - b.inference_stats.success.count).toBe(3);
    expect(a.inference_stats.compute_infer.ns).toBeGreaterThan(b.inference_stats.compute_infer.ns);
    expect(a.inference_stats.fail.count - b.inference_stats.fail.count).toBe(1);
    expect(a.last_inference).toBeGreaterThan(Date.now() - 60_000);
    expect(a.batch_stats.map((s) => s.batch_size)).toEqual([1]);

    const index = await client.inference.RepositoryIndex({ ready: true });
    expect(index.models).toEqual([{ name: 'shapes', version: '1', state: 'READY', reason: '' }]);
  });
});

interface Stats {
  name: string;
  inference_count: number;
  execution_count: number;
  last_inference: number;
  inference_stats: Record<'success' | 'fail' | 'queue' | 'compute_infer', { count: number; ns: number }>;
  batch_stats: { batch_size: number }[];
}
